/* mxml.c - decode Asterisk's /mxml XML into AMI wire text (see mxml.h).
 *
 * The input is what xml_translate() writes, but it comes from the network:
 * the scanner accepts any well-nested-enough tag soup, never reads past the
 * end, and never lets CR, LF or NUL from a value break the AMI framing of
 * its output. */
#include "mxml.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"

#define MAX_NAME 256

/* Header names seen from Asterisk 22 (the captures) and common events,
 * for undoing the lower-casing; only those the default rule (the first
 * letter upper case: "Channel", "Uniqueid") would get wrong. One
 * lower-case form has two spellings in Asterisk (BridgeId in
 * CoreShowChannel, BridgeID in Status); the first wins. Keep sorted by
 * the escaped form only for readability. */
static const char *const known_names[] = {
	"AccountCode", "AccountID", "ActionID", "AMIversion", "AnsweredTime", "AOR", "AppData",
	"ApplicationData", "AsteriskVersion", "AuthType", "BridgeCreator", "BridgeId",
	"BridgeName", "BridgeNumChannels", "BridgeTechnology", "BridgeType", "BridgeUniqueid",
	"BridgeVideoSourceMode", "CallerID", "CallerIDName", "CallerIDNum", "CallsTaken",
	"Cause-txt", "ChannelId", "ChannelState", "ChannelStateDesc", "ChanVariable",
	"CID-CallingPres", "ConnectedLineName", "ConnectedLineNum", "CoreCDRenabled",
	"CoreCurrentCalls", "CoreHTTPenabled", "CoreMaxCalls", "CoreMaxFilehandles",
	"CoreMaxLoadAvg", "CoreProcessedCalls", "CoreRealTimeEnabled", "CoreReloadDate",
	"CoreReloadTime", "CoreRunGroup", "CoreRunUser", "CoreStartupDate", "CoreStartupTime",
	"DestAccountCode", "DestBridgeUniqueid", "DestCallerIDName", "DestCallerIDNum",
	"DestChannel", "DestChannelState", "DestChannelStateDesc", "DestConnectedLineName",
	"DestConnectedLineNum", "DestContext", "DestExten", "DestLanguage", "DestLinkedid",
	"DestPriority", "DestUniqueid", "DialStatus", "DialString", "DNID", "DurationMs",
	"EarlyMedia", "EffectiveConnectedLineName", "EffectiveConnectedLineNum", "EndMarked",
	"EndMarkedAny", "EventList", "EventTV", "EventVersion", "ExtraChannel", "ExtraContext",
	"ExtraExten", "ExtraPriority", "InCall", "LastCall", "LastReload", "ListItems",
	"LocalAddress", "LocalOneAccountCode", "LocalOneCallerIDName", "LocalOneCallerIDNum",
	"LocalOneChannel", "LocalOneChannelState", "LocalOneChannelStateDesc",
	"LocalOneConnectedLineName", "LocalOneConnectedLineNum", "LocalOneContext",
	"LocalOneExten", "LocalOneLanguage", "LocalOneLinkedid", "LocalOnePriority",
	"LocalOneUniqueid", "LocalOptimization", "LocalTwoAccountCode", "LocalTwoCallerIDName",
	"LocalTwoCallerIDNum", "LocalTwoChannel", "LocalTwoChannelState",
	"LocalTwoChannelStateDesc", "LocalTwoConnectedLineName", "LocalTwoConnectedLineNum",
	"LocalTwoContext", "LocalTwoExten", "LocalTwoLanguage", "LocalTwoLinkedid",
	"LocalTwoPriority", "LocalTwoUniqueid", "MarkedUser", "MemberName", "ModuleLoadStatus",
	"NewMessages", "ObjectName", "ObjectType", "OldMessages", "Opaque-data",
	"OtherChannelId", "PausedReason", "PeerStatus", "RemoteAddress", "RequestType",
	"ServiceLevel", "ServicelevelPerf", "SessionID", "SessionTV", "SoundsSearchCustomDir",
	"StateInterface", "StatusText", "SystemName", "TalkTime", "TargetChannel",
	"TimeToHangup", "UserEvent", "UsingPassword", "WaitEvent", "WaitMarked",
};

/* Asterisk's escaping of a name: lower case, non-alphanumerics -> '_'. */
static int escaped_char(unsigned char c)
{
	return isalnum(c) ? tolower(c) : '_';
}

static int matches_escaped(const char *known, const char *attr, size_t len)
{
	size_t i;

	for (i = 0; i < len && known[i]; i++)
		if (escaped_char((unsigned char)known[i]) != (unsigned char)attr[i])
			return 0;
	return i == len && !known[i];
}

/* Length of the name without a "-N" repeat suffix. Escaped names never
 * contain '-', so a '-' followed only by digits can only be the suffix. */
static size_t base_len(const char *attr, size_t len)
{
	const char *dash = memchr(attr, '-', len);
	size_t i;

	if (!dash || dash + 1 == attr + len)
		return len;
	for (i = (size_t)(dash - attr) + 1; i < len; i++)
		if (!isdigit((unsigned char)attr[i]))
			return len;
	return (size_t)(dash - attr);
}

size_t mxml_header_name(const char *attr, size_t len, char *name, size_t cap)
{
	size_t n = base_len(attr, len);

	if (cap == 0)
		return 0;
	for (size_t i = 0; i < ARRAY_LEN(known_names); i++) {
		if (matches_escaped(known_names[i], attr, n)) {
			snprintf(name, cap, "%s", known_names[i]);
			return strlen(name);
		}
	}
	if (n >= cap)
		n = cap - 1;
	memcpy(name, attr, n);
	name[n] = '\0';
	if (n)
		name[0] = (char)toupper((unsigned char)name[0]);
	return n;
}

/* ---------- values ---------- */

static size_t utf8_encode(unsigned long cp, char *out)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xC0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xE0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	out[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

static int digit_value(unsigned char c, int hex)
{
	if (isdigit(c))
		return c - '0';
	if (hex && isxdigit(c))
		return tolower(c) - 'a' + 10;
	return -1;
}

/* "#60" / "#x3c" (the text between '&' and ';'): the code point, or 0 when
 * it is not one a value may carry. */
static unsigned long char_ref(const char *s, size_t n)
{
	int hex = n > 1 && (s[1] == 'x' || s[1] == 'X');
	size_t i = hex ? 2 : 1;
	unsigned long cp = 0;

	if (i >= n)
		return 0;
	for (; i < n; i++) {
		int d = digit_value((unsigned char)s[i], hex);
		if (d < 0)
			return 0;
		cp = cp * (hex ? 16 : 10) + (unsigned long)d;
		if (cp > 0x10FFFF)
			return 0;
	}
	return cp >= 0xD800 && cp <= 0xDFFF ? 0 : cp;
}

/* Decodes one entity at s ("&...;" within n bytes). Returns the bytes
 * consumed (0: not an entity, copy the '&' as it is). */
static size_t entity(const char *s, size_t n, struct strbuf *o)
{
	static const struct { const char *name; char c; } named[] = {
		{ "lt", '<' }, { "gt", '>' }, { "amp", '&' }, { "quot", '"' }, { "apos", '\'' },
	};
	const char *semi = memchr(s, ';', n < 12 ? n : 12);
	size_t len;

	if (!semi)
		return 0;
	len = (size_t)(semi - s) - 1;       /* between '&' and ';' */
	for (size_t i = 0; i < ARRAY_LEN(named); i++) {
		if (strlen(named[i].name) == len && !memcmp(s + 1, named[i].name, len)) {
			strbuf_add(o, &named[i].c, 1);
			return len + 2;
		}
	}
	if (len > 1 && s[1] == '#') {
		unsigned long cp = char_ref(s + 1, len);
		char u[4];
		if (cp) {
			strbuf_add(o, u, utf8_encode(cp, u));
			return len + 2;
		}
	}
	return 0;
}

/* The attribute value with entities decoded. */
static void decode_value(const char *s, size_t n, struct strbuf *o)
{
	o->len = 0;
	strbuf_add(o, "", 0);
	for (size_t i = 0; i < n;) {
		const char *amp = memchr(s + i, '&', n - i);
		size_t plain = amp ? (size_t)(amp - (s + i)) : n - i;
		strbuf_add(o, s + i, plain);
		i += plain;
		if (i < n) {
			size_t used = entity(s + i, n - i, o);
			if (!used) {
				strbuf_add(o, "&", 1);
				used = 1;
			}
			i += used;
		}
	}
}

/* CR, LF and NUL cannot be inside an AMI line: a value carrying one from
 * the XML gets a space instead, so it cannot end a line or a message. */
static void put_line_text(struct strbuf *o, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = s[i] == '\r' || s[i] == '\n' || s[i] == '\0' ? ' ' : s[i];
		strbuf_add(o, &c, 1);
	}
}

/* Opaque data (lines of a message that had no "Name:") comes back as the
 * lines it was, one per '\n'; empty ones are dropped, as an empty line
 * would end the message. */
static void put_opaque(struct strbuf *o, const char *s, size_t n)
{
	size_t start = 0;

	for (size_t i = 0; i <= n; i++) {
		if (i < n && s[i] != '\n')
			continue;
		size_t len = i - start;
		if (len && s[start + len - 1] == '\r')
			len--;
		if (len) {
			put_line_text(o, s + start, len);
			strbuf_add(o, "\r\n", 2);
		}
		start = i + 1;
	}
}

/* ---------- the scanner ---------- */

struct scan {
	const char *s;
	size_t n, pos;
	char *err;
	size_t errlen;
	struct strbuf val;            /* scratch for decoded values */
};

__attribute__((format(printf, 2, 3)))
static int fail(struct scan *sc, const char *fmt, ...)
{
	va_list ap;
	int len;

	len = snprintf(sc->err, sc->errlen, "mxml: ");
	va_start(ap, fmt);
	if (len >= 0 && (size_t)len < sc->errlen)
		vsnprintf(sc->err + len, sc->errlen - (size_t)len, fmt, ap);
	va_end(ap);
	return -1;
}

static void skip_space(struct scan *sc)
{
	while (sc->pos < sc->n && isspace((unsigned char)sc->s[sc->pos]))
		sc->pos++;
}

/* Moves past the next occurrence of end, or fails. */
static int skip_past(struct scan *sc, const char *end, const char *what)
{
	size_t elen = strlen(end);

	for (size_t i = sc->pos; i + elen <= sc->n; i++) {
		if (!memcmp(sc->s + i, end, elen)) {
			sc->pos = i + elen;
			return 0;
		}
	}
	return fail(sc, "unterminated %s", what);
}

static int name_char(unsigned char c)
{
	return c > ' ' && c != '=' && c != '/' && c != '>' && c != '<' && c != '\'' &&
	       c != '"' && c != ':' && c != 0x7f;
}

static size_t scan_name(struct scan *sc)
{
	size_t start = sc->pos;

	while (sc->pos < sc->n && name_char((unsigned char)sc->s[sc->pos]))
		sc->pos++;
	return sc->pos - start;
}

/* One attribute: name='value' or name="value"; vs and vn: the raw value. */
static int scan_attr(struct scan *sc, size_t *nlen, const char **vs, size_t *vn)
{
	size_t start = sc->pos;
	char quote;
	const char *end;

	*nlen = scan_name(sc);
	if (*nlen == 0)
		return fail(sc, "bad character 0x%02x in a tag at byte %zu",
			    (unsigned char)sc->s[sc->pos], sc->pos);
	if (*nlen > MAX_NAME)
		return fail(sc, "attribute name longer than %d bytes", MAX_NAME);
	skip_space(sc);
	if (sc->pos >= sc->n || sc->s[sc->pos] != '=')
		return fail(sc, "attribute \"%.*s\" has no value", (int)*nlen, sc->s + start);
	sc->pos++;
	skip_space(sc);
	if (sc->pos >= sc->n || (sc->s[sc->pos] != '\'' && sc->s[sc->pos] != '"'))
		return fail(sc, "attribute \"%.*s\" has an unquoted value", (int)*nlen,
			    sc->s + start);
	quote = sc->s[sc->pos++];
	end = memchr(sc->s + sc->pos, quote, sc->n - sc->pos);
	if (!end)
		return fail(sc, "unterminated attribute value");
	*vs = sc->s + sc->pos;
	*vn = (size_t)(end - *vs);
	sc->pos = (size_t)(end - sc->s) + 1;
	return 0;
}

/* Writes one attribute as an AMI header line (or opaque lines). */
static void put_attr(struct scan *sc, struct strbuf *o, const char *name, size_t nlen,
		     const char *vs, size_t vn)
{
	char hname[MAX_NAME + 1];

	mxml_header_name(name, nlen, hname, sizeof hname);
	decode_value(vs, vn, &sc->val);
	if (!strcmp(hname, "Opaque-data")) {
		put_opaque(o, sc->val.p, sc->val.len);
		return;
	}
	strbuf_adds(o, hname);
	strbuf_add(o, ": ", 2);
	put_line_text(o, sc->val.p, sc->val.len);
	strbuf_add(o, "\r\n", 2);
}

static int is_container(const char *name, size_t n)
{
	return (n == 13 && !strncasecmp(name, "ajax-response", 13)) ||
	       (n == 8 && !strncasecmp(name, "response", 8));
}

/* A start tag (sc->pos just after '<'). Elements other than the
 * <ajax-response> and <response> wrappers are messages. */
static int scan_element(struct scan *sc, struct strbuf *o)
{
	const char *name = sc->s + sc->pos;
	size_t nlen = scan_name(sc), before = o->len;
	int message;

	if (nlen == 0)
		return fail(sc, "bad tag at byte %zu", sc->pos);
	message = !is_container(name, nlen);
	for (;;) {
		const char *vs = NULL;      /* set by scan_attr; gcc -O2 cannot tell */
		size_t an = 0, vn = 0;

		skip_space(sc);
		if (sc->pos >= sc->n)
			return fail(sc, "unterminated tag <%.*s", (int)(nlen < 40 ? nlen : 40), name);
		if (sc->s[sc->pos] == '>' ||
		    (sc->s[sc->pos] == '/' && sc->pos + 1 < sc->n && sc->s[sc->pos + 1] == '>'))
			break;
		const char *aname = sc->s + sc->pos;
		if (scan_attr(sc, &an, &vs, &vn) < 0)
			return -1;
		if (message)
			put_attr(sc, o, aname, an, vs, vn);
	}
	sc->pos += sc->s[sc->pos] == '/' ? 2 : 1;
	if (message && o->len > before)
		strbuf_add(o, "\r\n", 2);
	return 0;
}

static int scan_markup(struct scan *sc, struct strbuf *o)
{
	const char *p = sc->s + sc->pos;
	size_t left = sc->n - sc->pos;

	if (left >= 2 && p[1] == '?') {
		sc->pos += 2;
		return skip_past(sc, "?>", "processing instruction");
	}
	if (left >= 4 && !memcmp(p, "<!--", 4)) {
		sc->pos += 4;
		return skip_past(sc, "-->", "comment");
	}
	if (left >= 2 && (p[1] == '!' || p[1] == '/')) {
		sc->pos += 2;
		return skip_past(sc, ">", "tag");
	}
	sc->pos++;
	return scan_element(sc, o);
}

int mxml_decode(const char *xml, size_t len, char **out, size_t *outlen, char *err,
		size_t errlen)
{
	struct scan sc = { .s = xml, .n = len, .err = err, .errlen = errlen };
	struct strbuf o = { 0 };
	int rc = 0;

	*out = NULL;
	*outlen = 0;
	skip_space(&sc);
	if (sc.pos < sc.n && xml[sc.pos] != '<')
		rc = fail(&sc, "the body is not XML (it does not start with '<')");
	while (rc == 0 && sc.pos < sc.n) {
		const char *lt = memchr(xml + sc.pos, '<', sc.n - sc.pos);
		if (!lt)
			break;          /* text between elements carries nothing */
		sc.pos = (size_t)(lt - xml);
		rc = scan_markup(&sc, &o);
	}
	free(sc.val.p);
	if (rc < 0) {
		free(o.p);
		return -1;
	}
	strbuf_add(&o, "", 0);             /* a NUL-terminated buffer even when empty */
	*out = o.p;
	*outlen = o.len;
	return 0;
}
