/* filter.c - the event filters tail-events asks Asterisk for (see filter.h).
 *
 * A glob of ami (glob.c: '*', '?', '[...]', '\x', ASCII case ignored) is
 * cut into tokens: literal bytes and wildcards. From them come
 *   - the MatchCriteria literal methods, for a single literal run that has
 *     no letter (case cannot matter), no byte below 33 (Asterisk strips
 *     those at the start of a value) and no leading '!' (Asterisk takes it
 *     for "exclude" and removes it);
 *   - otherwise a POSIX ERE made only of what every regex library and
 *     locale reads alike: "[Xx]" for a letter, "\." for a special, "[ ]"
 *     for a blank, ".*" for a wildcard ('?' and classes too: wider, as one
 *     byte is not one character in a UTF-8 locale), "[[:cntrl:]]" for a
 *     line end (a Filter cannot hold CR or LF).
 * Names and header names go in name() and header() only when Asterisk is
 * known to spell them the way they were typed (the tables below): a name
 * typed in another case, or one not in the tables, is matched by a regex
 * on the event text instead. */
#include "filter.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "format.h"
#include "glob.h"
#include "msg.h"

/* Longest MatchCriteria or Filter value that fits Asterisk's 1024-byte
 * request line with the header's name, ": " and CRLF. */
#define MAX_VALUE (AMI_MAX_SEND_LINE - 19)

/* ---------- versions ---------- */

int asterisk_version_parse(const char *s, int v[3])
{
	int n;

	v[0] = v[1] = v[2] = 0;
	if (!s)
		return 0;
	s += strcspn(s, "0123456789");
	n = sscanf(s, "%d.%d.%d", &v[0], &v[1], &v[2]);
	if (n < 2 || v[0] <= 0) {
		v[0] = v[1] = v[2] = 0;
		return 0;
	}
	return 1;
}

enum match_criteria asterisk_match_criteria(const int v[3])
{
	static const int first_minor[][2] = { { 20, 11 }, { 21, 6 }, { 22, 1 } };

	if (v[0] <= 0)
		return MC_UNKNOWN;
	if (v[0] >= 23)
		return MC_YES;
	for (size_t i = 0; i < ARRAY_LEN(first_minor); i++)
		if (v[0] == first_minor[i][0])
			return v[1] >= first_minor[i][1] ? MC_YES : MC_NO;
	return v[0] == 18 && v[1] >= 26 ? MC_UNKNOWN : MC_NO;
}

/* ---------- what Asterisk 22 is known to spell one way ---------- */

/* Event names as Asterisk 22 raises them (its AMI event documentation and
 * the captures). Only a name typed exactly like one of these goes to
 * name(): the client ignores case, Asterisk does not. */
static const char *const event_names[] = {
	"AGIExecEnd", "AGIExecStart", "AOC-D", "AOC-E", "AOC-S", "AgentCalled", "AgentComplete",
	"AgentConnect", "AgentDump", "AgentLogin", "AgentLogoff", "AgentRingNoAnswer", "Alarm",
	"AlarmClear", "AsyncAGIEnd", "AsyncAGIExec", "AsyncAGIStart", "AttendedTransfer",
	"AuthMethodNotAllowed", "BlindTransfer", "BridgeCreate", "BridgeDestroy", "BridgeEnter",
	"BridgeLeave", "BridgeMerge", "BridgeVideoSourceUpdate", "CEL", "Cdr", "ChanSpyStart",
	"ChanSpyStop", "ChallengeResponseFailed", "ChallengeSent", "ChannelTalkingStart",
	"ChannelTalkingStop", "ConfbridgeEnd", "ConfbridgeJoin", "ConfbridgeLeave", "ConfbridgeMute",
	"ConfbridgeRecord", "ConfbridgeStart", "ConfbridgeStopRecord", "ConfbridgeTalking",
	"ConfbridgeUnmute", "ContactStatus", "DAHDIChannel", "DNDState", "DTMFBegin", "DTMFEnd",
	"DeviceStateChange", "DialBegin", "DialEnd", "DialState", "ExtensionStatus", "FAXStatus",
	"FailedACL", "FullyBooted", "Hangup", "HangupHandlerPop", "HangupHandlerPush",
	"HangupHandlerRun", "HangupRequest", "Hold", "InvalidAccountID", "InvalidPassword",
	"InvalidTransport", "LoadAverageLimit", "LocalBridge", "LocalOptimizationBegin",
	"LocalOptimizationEnd", "MCID", "MemoryLimit", "MessageWaiting", "MixMonitorMute",
	"MixMonitorStart", "MixMonitorStop", "MusicOnHoldStart", "MusicOnHoldStop",
	"NewAccountCode", "NewCallerid", "NewConnectedLine", "Newchannel", "Newexten", "Newstate",
	"OriginateResponse", "ParkedCall", "ParkedCallGiveUp", "ParkedCallSwap",
	"ParkedCallTimeOut", "PeerStatus", "Pickup", "PresenceStateChange", "PresenceStatus",
	"QueueCallerAbandon", "QueueCallerJoin", "QueueCallerLeave", "QueueMemberAdded",
	"QueueMemberPause", "QueueMemberPenalty", "QueueMemberRemoved", "QueueMemberRinginuse",
	"QueueMemberStatus", "RTCPReceived", "RTCPSent", "ReceiveFAX", "Registry", "Reload",
	"RequestBadFormat", "RequestNotAllowed", "RequestNotSupported", "SendFAX", "SessionLimit",
	"SessionTimeout", "Shutdown", "SoftHangupRequest", "SpanAlarm", "SpanAlarmClear",
	"SuccessfulAuth", "UnParkedCall", "UnexpectedAddress", "Unhold", "UserEvent", "VarSet",
	"VoicemailPasswordChange",
};

/* Header names that Asterisk 22 spells one way in every event: those its
 * channel and bridge snapshots write (one function each, with these
 * prefixes), and common ones seen in the captures. Not here: names Asterisk
 * also writes in another case (BridgeId and BridgeID, HoldTime and
 * Holdtime), which header() would miss one of. */
static const char *const snapshot_fields[] = {
	"Channel", "ChannelState", "ChannelStateDesc", "CallerIDNum", "CallerIDName",
	"ConnectedLineNum", "ConnectedLineName", "Language", "AccountCode", "Context", "Exten",
	"Priority", "Uniqueid", "Linkedid",
};
static const char *const snapshot_prefixes[] = { "", "Dest", "LocalOne", "LocalTwo" };
static const char *const header_names[] = {
	"AppData", "Application", "BridgeCreator", "BridgeName", "BridgeNumChannels",
	"BridgeTechnology", "BridgeType", "BridgeUniqueid", "BridgeVideoSourceMode", "Cause",
	"Cause-txt", "Conference", "Device", "DialStatus", "DialString", "Event", "Hint",
	"Interface", "MemberName", "Privilege", "Queue", "State", "StateInterface", "Status",
	"StatusText", "UserEvent", "Value", "Variable",
};

static int in_list(const char *const *list, size_t n, const char *s, size_t len, int nocase)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(list[i]) == len &&
		    !(nocase ? strncasecmp(list[i], s, len) : strncmp(list[i], s, len)))
			return 1;
	return 0;
}

static const char *known_event(const char *s, size_t len, int nocase)
{
	for (size_t i = 0; i < ARRAY_LEN(event_names); i++)
		if (in_list(&event_names[i], 1, s, len, nocase))
			return event_names[i];
	return NULL;
}

static int known_header(const char *s, size_t len)
{
	if (in_list(header_names, ARRAY_LEN(header_names), s, len, 0))
		return 1;
	for (size_t p = 0; p < ARRAY_LEN(snapshot_prefixes); p++) {
		size_t plen = strlen(snapshot_prefixes[p]);
		if (len > plen && !strncmp(s, snapshot_prefixes[p], plen) &&
		    in_list(snapshot_fields, ARRAY_LEN(snapshot_fields), s + plen, len - plen, 0))
			return 1;
	}
	return 0;
}

/* What name() and header() can hold: strtok_r(" ,)") cuts the criteria,
 * and the first '(' starts the value. */
static int criteria_word(const char *s, size_t len)
{
	if (!len)
		return 0;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f || strchr(",()", s[i]))
			return 0;
	return 1;
}

/* ---------- globs as tokens ---------- */

enum tok { T_LIT, T_STAR, T_ANY, T_CLASS };    /* T_ANY: '?' */

struct gtok {
	enum tok t;
	unsigned char c;            /* T_LIT */
};

struct glob_toks {
	struct gtok *v;
	size_t n;
	int exact;                  /* only literals and '*' */
	int solid;                  /* a literal byte above 32: a matching value is
				     * never empty once Asterisk strips its blanks */
};

/* Past the class that starts after '[' at p, or NULL when it is not closed
 * (then '[' is a plain byte): glob.c's rule. */
static const char *class_end(const char *p)
{
	const char *first;

	if (*p == '!' || *p == '^')
		p++;
	first = p;
	while (*p && (*p != ']' || p == first)) {
		int lo = (unsigned char)*p++;
		if (lo == '\\' && *p)
			p++;
		if (p[0] == '-' && p[1] && p[1] != ']') {
			int hi = (unsigned char)p[1];
			p += 2;
			if (hi == '\\' && *p)
				p++;
		}
	}
	return *p == ']' ? p + 1 : NULL;
}

/* A byte above 0x7f that is not part of a whole UTF-8 sequence of
 * literals becomes a wildcard: a regex in a UTF-8 locale cannot match half
 * a character, as a glob, which works on bytes, can. */
static void utf8_wildcards(struct glob_toks *k)
{
	for (size_t i = 0; i < k->n; i++) {
		char seq[4];
		size_t len = 0, ok;
		if (k->v[i].t != T_LIT || k->v[i].c < 0x80)
			continue;
		while (len < 4 && i + len < k->n && k->v[i + len].t == T_LIT)
			seq[len] = (char)k->v[i + len].c, len++;
		if ((ok = out_utf8_len(seq, len)) > 0) {
			i += ok - 1;
			continue;
		}
		k->v[i].t = T_ANY;
	}
}

static void glob_tokens(const char *g, struct glob_toks *out)
{
	size_t n = 0;

	memset(out, 0, sizeof *out);
	out->v = xmalloc((strlen(g) + 1) * sizeof *out->v);
	out->exact = 1;
	while (*g) {
		struct gtok k = { T_LIT, (unsigned char)*g };
		const char *end = NULL;
		if (*g == '*') {
			k.t = T_STAR;
			g++;
		} else if (*g == '?') {
			k.t = T_ANY;
			g++;
		} else if (*g == '[' && (end = class_end(g + 1))) {
			k.t = T_CLASS;
			g = end;
		} else if (*g == '\\' && g[1]) {
			k.c = (unsigned char)g[1];
			g += 2;
		} else {
			g++;
		}
		if (k.t == T_STAR && n && out->v[n - 1].t == T_STAR)
			continue;
		out->v[n++] = k;
	}
	out->n = n;
	utf8_wildcards(out);
	for (size_t i = 0; i < n; i++) {
		out->exact &= out->v[i].t == T_LIT || out->v[i].t == T_STAR;
		out->solid |= out->v[i].t == T_LIT && out->v[i].c > ' ';
	}
}

/* The literal bytes of tokens [from, to) as a string. */
static char *tok_string(const struct glob_toks *k, size_t from, size_t to)
{
	char *s = xmalloc(to - from + 1);

	for (size_t i = from; i < to; i++)
		s[i - from] = (char)k->v[i].c;
	s[to - from] = '\0';
	return s;
}

/* The literal run a regex stands on, [*from, *to), with where it must sit
 * (*start: at the start of the value, *end: at its end). Exact (1) when
 * the glob is that run between optional '*'s; else the run is one the
 * value must contain where it says (wider): the first or last, when the
 * glob starts or ends with it, or the one with most solid bytes. A regex
 * never spans a wildcard: in a UTF-8 locale "." does not match a byte
 * that is not UTF-8 (a Latin-1 caller ID), where a glob's '*' does. */
static size_t solid_bytes(const struct glob_toks *k, size_t from, size_t to)
{
	size_t solid = 0;

	for (size_t i = from; i < to; i++)
		solid += k->v[i].c > ' ';
	return solid;
}

static int pick_run(const struct glob_toks *k, size_t *from, size_t *to, int *start, int *end)
{
	size_t n = k->n, runs = 0, first[2] = { 0, 0 }, last[2] = { 0, 0 }, best[2] = { 0, 0 };
	int exact = 1;

	for (size_t i = 0; i < n;) {
		size_t j = i;
		exact &= k->v[i].t == T_LIT || k->v[i].t == T_STAR;
		if (k->v[i].t != T_LIT) {
			i++;
			continue;
		}
		while (j < n && k->v[j].t == T_LIT)
			j++;
		if (!runs++)
			first[0] = i, first[1] = j;
		last[0] = i, last[1] = j;
		if (solid_bytes(k, i, j) > solid_bytes(k, best[0], best[1]) || best[0] == best[1])
			best[0] = i, best[1] = j;
		i = j;
	}
	*start = runs && k->v[0].t == T_LIT;
	*end = runs && k->v[n - 1].t == T_LIT;
	if (*start && (!*end || solid_bytes(k, first[0], first[1]) >=
		       solid_bytes(k, last[0], last[1]))) {
		*from = first[0], *to = first[1];
		*end = *end && runs == 1;
	} else if (*end) {
		*from = last[0], *to = last[1];
		*start = 0;
	} else {
		*from = best[0], *to = best[1];
	}
	return exact && runs <= 1;
}

/* ---------- regular expressions ---------- */

/* What an excluded name's '*' and '?' may stand for: spelled out, as some
 * libraries read a range by the locale's collation. */
#define NAME_CHARS "[ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-]"

/* Appends byte c to an ERE: a letter in either case, a special escaped, a
 * blank, control byte or '!' (which would make the Filter an exclude if it
 * came first) in brackets. */
static void re_byte(struct strbuf *b, unsigned char c)
{
	char tmp[5];

	if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')
		snprintf(tmp, sizeof tmp, "[%c%c]", c & ~0x20, c | 0x20);
	else if (strchr(".[\\()*+?{|^$", c))
		snprintf(tmp, sizeof tmp, "\\%c", c);
	else if (c <= ' ' || c == 0x7f || c == '!')
		snprintf(tmp, sizeof tmp, "[%c]", c);
	else
		snprintf(tmp, sizeof tmp, "%c", c);
	strbuf_adds(b, tmp);
}

/* The run [from, to) of literals as an ERE. blank_opt: a byte below 33
 * may be missing (Asterisk strips those at the start of a header's value). */
static void re_run(struct strbuf *b, const struct glob_toks *k, size_t from, size_t to,
		   int blank_opt)
{
	for (size_t i = from; i < to; i++) {
		re_byte(b, k->v[i].c);
		if (blank_opt && k->v[i].c <= ' ')
			strbuf_adds(b, "?");
	}
}

static char *take(struct strbuf *b)
{
	char *s = b->p ? b->p : xstrdup("");

	b->p = NULL;
	b->len = b->cap = 0;
	return s;
}

/* ---------- conditions: one side of a filter ---------- */

enum cond_kind { C_NONE, C_NAME, C_HEADER, C_TEXT };

struct cond {
	enum cond_kind kind;
	char *name;         /* C_NAME: name(); C_HEADER: header() */
	const char *method; /* C_HEADER: a literal method, or "regex" */
	char *value;        /* C_HEADER: the Filter; C_TEXT: a regex on the event text */
	int score;          /* the narrower the higher (to pick one --match) */
	int wider;          /* lets more through than the option does */
};

static void cond_free(struct cond *c)
{
	free(c->name);
	free(c->value);
	memset(c, 0, sizeof *c);
}

/* An --event or --until name glob, to let its events through: name() for
 * a name of Asterisk's spelled its way, else a regex on the "Event:" line,
 * wildcards as ".*" (names are ASCII). */
static struct cond name_include(const char *g)
{
	struct cond c = { 0 };
	struct glob_toks k;
	struct strbuf b = { 0 };
	size_t from, to, end;
	int start, last;

	glob_tokens(g, &k);
	if (pick_run(&k, &from, &to, &start, &last) && start && last) {
		char *lit = tok_string(&k, 0, k.n);
		if (known_event(lit, k.n, 0) && criteria_word(lit, k.n)) {
			c.kind = C_NAME;
			c.name = lit;
			free(k.v);
			return c;
		}
		free(lit);
	}
	strbuf_adds(&b, "^Event: ");
	for (end = k.n; end && k.v[end - 1].t != T_LIT; end--)
		;
	for (size_t i = 0; i < end; i++) {
		if (k.v[i].t == T_LIT)
			re_byte(&b, k.v[i].c);
		else if (!i || k.v[i - 1].t == T_LIT)
			strbuf_adds(&b, ".*");
	}
	/* Names hold no control byte: the first one after the name is the CR
	 * that ends its line. */
	if (end && end == k.n)
		strbuf_adds(&b, "[[:cntrl:]]");
	c.kind = C_TEXT;
	c.value = take(&b);
	c.wider = !k.exact;
	free(k.v);
	return c;
}

/* An --exclude-event glob: a filter that never hides an event the option
 * does not (C_NONE when there is none: a class). */
static struct cond name_exclude(const char *g)
{
	struct cond c = { 0 };
	struct glob_toks k;
	struct strbuf b = { 0 };
	size_t from, to;
	int start, end;

	glob_tokens(g, &k);
	if (pick_run(&k, &from, &to, &start, &end) && start && end) {
		char *lit = tok_string(&k, 0, k.n);
		/* Any spelling hides no more than the client does; Asterisk's is
		 * the one that hides something. */
		const char *known = known_event(lit, k.n, 1);
		if (criteria_word(lit, k.n)) {
			c.kind = C_NAME;
			c.name = known ? xstrdup(known) : lit;
			if (known)
				free(lit);
			free(k.v);
			return c;
		}
		free(lit);
	}
	for (size_t i = 0; i < k.n; i++)
		if (k.v[i].t == T_CLASS) {
			free(k.v);
			return c;
		}
	strbuf_adds(&b, "^Event: ");
	for (size_t i = 0; i < k.n; i++) {
		if (k.v[i].t == T_LIT)
			re_byte(&b, k.v[i].c);
		else
			strbuf_adds(&b, k.v[i].t == T_STAR ? NAME_CHARS "*" : NAME_CHARS);
	}
	strbuf_adds(&b, "[[:cntrl:]]");
	c.kind = C_TEXT;
	c.value = take(&b);
	free(k.v);
	return c;
}

/* Whether the run [from, to) can go in a literal method: case cannot
 * matter (no letter), no blank (Asterisk strips those at a value's start)
 * and no '!' first (Asterisk takes it for "exclude" and drops it). */
static int literal_ok(const struct glob_toks *k, size_t from, size_t to)
{
	if (from == to || k->v[from].c == '!')
		return 0;
	for (size_t i = from; i < to; i++) {
		unsigned c = k->v[i].c;
		if (c <= ' ' || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z'))
			return 0;
	}
	return 1;
}

/* The run and its anchors in a header's value, as header() takes it. */
static void header_value(struct cond *c, const struct glob_toks *k, size_t from, size_t to,
			 int start, int end)
{
	struct strbuf b = { 0 };

	if (literal_ok(k, from, to)) {
		c->method = start && end ? "exact" : start ? "starts_with" : end ? "ends_with"
						: "contains";
		c->value = tok_string(k, from, to);
		return;
	}
	c->method = "regex";
	if (start)
		strbuf_adds(&b, "^");
	re_run(&b, k, from, to, 1);
	if (end)
		strbuf_adds(&b, "$");
	c->value = take(&b);
}

/* The same on the event text, for a header name not known to be spelled
 * that way: the line "KEY: value", the value after one blank as the client
 * reads it; where the run is not at the start, only the run (a regex
 * cannot step over the bytes before it, see pick_run). */
static void text_value(struct cond *c, const struct sf_match *m, const struct glob_toks *k,
		       size_t from, size_t to, int start, int end)
{
	struct strbuf b = { 0 };

	if (start || from == to) {
		strbuf_adds(&b, "(^|[[:cntrl:]])");
		for (size_t i = 0; i < m->klen; i++)
			re_byte(&b, (unsigned char)m->key[i]);
		strbuf_adds(&b, ":");
		if (start || !k->n)
			strbuf_adds(&b, " ?");
	}
	re_run(&b, k, from, to, 0);
	if (end || !k->n)
		strbuf_adds(&b, "[[:cntrl:]]");
	c->value = take(&b);
}

/* A --match KEY=GLOB, to let its events through (C_NONE: KEY~REGEX, which
 * two regex libraries or locales may read differently). */
static struct cond header_include(const struct sf_match *m)
{
	struct cond c = { 0 };
	struct glob_toks k;
	size_t from, to;
	int start, end, exact;

	if (!m->glob || bad_char_name(m->key, m->klen) || bad_char_name(m->glob, strlen(m->glob)))
		return c;
	for (size_t i = 0; i < m->klen; i++)
		if ((unsigned char)m->key[i] >= 0x80)
			return c;
	glob_tokens(m->glob, &k);
	exact = pick_run(&k, &from, &to, &start, &end);
	if (known_header(m->key, m->klen) && criteria_word(m->key, m->klen) && k.solid) {
		c.kind = C_HEADER;
		c.name = xstrndup(m->key, m->klen);
		header_value(&c, &k, from, to, start, end);
		c.score = 2000;
	} else {
		c.kind = C_TEXT;
		text_value(&c, m, &k, from, to, start, end);
		c.score = start || from == to ? 1000 : 0;
	}
	/* A long literal narrows most; where it must sit, a little more. */
	c.wider = !exact || c.kind == C_TEXT;
	c.score += 4 * (int)(solid_bytes(&k, from, to) < 99 ? solid_bytes(&k, from, to) : 99);
	c.score += 2 * start + 2 * end + exact;
	free(k.v);
	return c;
}

/* ---------- the plan ---------- */

static void sf_filter_free(struct sf_filter *f)
{
	free(f->criteria);
	free(f->filter);
	free(f->origin);
}

static void note(struct sf_plan *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(struct sf_plan *p, const char *fmt, ...)
{
	char line[600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	strbuf_adds(&p->notes, line);
	strbuf_adds(&p->notes, "\n");
}

static int same(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

/* Adds a filter (criteria and filter taken over) unless it is there
 * already; 0 when a value is too long for Asterisk's request line. */
static int add(struct sf_plan *p, int include, char *criteria, char *filter, const char *origin)
{
	if ((criteria && strlen(criteria) > MAX_VALUE) || (filter && strlen(filter) > MAX_VALUE)) {
		free(criteria);
		free(filter);
		return 0;
	}
	for (size_t i = 0; i < p->n; i++) {
		if (p->f[i].include == include && same(p->f[i].criteria, criteria) &&
		    same(p->f[i].filter, filter)) {
			free(criteria);
			free(filter);
			return 1;
		}
	}
	if (p->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 8;
		p->f = xrealloc(p->f, p->cap * sizeof *p->f);
	}
	p->f[p->n++] = (struct sf_filter){ criteria, filter, include, xstrdup(origin) };
	return 1;
}

/* One include: events that pass the name condition and the header one. */
static int add_include(struct sf_plan *p, const struct cond *name, const struct cond *hdr,
		       const char *origin)
{
	const char *n = name->kind == C_NAME ? name->name : NULL;

	if (hdr->kind == C_HEADER)
		return add(p, 1, n ? xasprintf("action(include),name(%s),header(%s),method(%s)", n,
						hdr->name, hdr->method)
				   : xasprintf("action(include),header(%s),method(%s)", hdr->name,
					       hdr->method), xstrdup(hdr->value), origin);
	if (hdr->kind == C_TEXT)
		return add(p, 1, n ? xasprintf("action(include),name(%s),method(regex)", n)
				   : xstrdup("action(include),method(regex)"), xstrdup(hdr->value),
			   origin);
	if (n)
		return add(p, 1, xasprintf("action(include),name(%s)", n), NULL, origin);
	if (name->kind == C_TEXT)
		return add(p, 1, xstrdup("action(include),method(regex)"), xstrdup(name->value),
			   origin);
	return 0;
}

static void match_text(char *out, size_t cap, const struct sf_match *m)
{
	snprintf(out, cap, "%s", m->text);
}

/* The --match that narrows best (all must match: one is enough for
 * Asterisk, which takes one header per filter). */
static struct cond best_match(struct sf_plan *p, const struct sf_options *o, size_t *which)
{
	struct cond best = { 0 };
	char text[300];

	for (size_t i = 0; i < o->nmatches; i++) {
		struct cond c = header_include(&o->matches[i]);
		match_text(text, sizeof text, &o->matches[i]);
		if (c.kind == C_NONE)
			note(p, "--match %s: checked here only (a regular expression is not sent: "
			     "Asterisk's regex library may read it otherwise)", text);
		if (c.kind != C_NONE && c.score > best.score) {
			cond_free(&best);
			best = c;
			*which = i;
		} else {
			cond_free(&c);
		}
	}
	for (size_t i = 0; i < o->nmatches && best.kind != C_NONE; i++) {
		match_text(text, sizeof text, &o->matches[i]);
		if (i != *which && o->matches[i].glob)
			note(p, "--match %s: checked here only (Asterisk takes one header per filter)",
			     text);
	}
	return best;
}

/* The includes: one per --event (or a header condition alone), one per
 * --until. All or none: a missing one would hide its events. */
static void plan_includes(struct sf_plan *p, const struct sf_options *o)
{
	size_t which = 0, before = p->n;
	struct cond hdr = best_match(p, o, &which);
	char origin[600], mtext[300] = "";
	int ok = 1;

	if (!o->nevents && hdr.kind == C_NONE)
		return;         /* every event name and header is wanted */
	if (hdr.kind != C_NONE) {
		match_text(mtext, sizeof mtext, &o->matches[which]);
		if (hdr.wider)
			note(p, "--match %s: Asterisk is asked for more, checked here", mtext);
	}
	for (size_t i = 0; ok && i < (o->nevents ? o->nevents : 1); i++) {
		struct cond name = { 0 };
		if (o->nevents)
			name = name_include(o->events[i]);
		snprintf(origin, sizeof origin, "%s%s%s%s", o->nevents ? "--event " : "",
			 o->nevents ? o->events[i] : "", *mtext && o->nevents ? ", " : "",
			 *mtext ? "--match " : "");
		strncat(origin, mtext, sizeof origin - strlen(origin) - 1);
		if (name.kind == C_TEXT && hdr.kind != C_NONE)
			note(p, "--event %s: the name is checked here (Asterisk matches one header "
			     "per filter, or a name it spells that way)", o->events[i]);
		else if (name.kind == C_TEXT)
			note(p, "--event %s: sent as a regular expression on the event's name (only "
			     "names of Asterisk's, spelled its way, go in name())", o->events[i]);
		ok = add_include(p, &name, &hdr, origin);
		cond_free(&name);
	}
	for (size_t i = 0; ok && i < o->nuntils; i++) {
		const struct sf_until *u = &o->untils[i];
		struct cond name = name_include(u->event), uh = { 0 };
		if (u->m)
			uh = header_include(u->m);
		snprintf(origin, sizeof origin, "--until %s", u->event);
		if (u->m) {
			match_text(mtext, sizeof mtext, u->m);
			strncat(origin, ":", sizeof origin - strlen(origin) - 1);
			strncat(origin, mtext, sizeof origin - strlen(origin) - 1);
		}
		ok = add_include(p, &name, &uh, origin);
		cond_free(&name);
		cond_free(&uh);
	}
	cond_free(&hdr);
	if (!ok) {
		while (p->n > before)
			sf_filter_free(&p->f[--p->n]);
		note(p, "no include is sent: one would not fit Asterisk's line, so every event is "
		     "asked for and filtered here");
	}
}

/* Whether an --until could stop on an event the exclude would hide. */
static int hides_until(const struct sf_options *o, const struct cond *x)
{
	for (size_t i = 0; i < o->nuntils; i++) {
		struct pat u;
		pat_init(&u, o->untils[i].event);
		if (x->kind != C_NAME || pat_match(&u, x->name, strlen(x->name)))
			return 1;
	}
	return 0;
}

static void plan_excludes(struct sf_plan *p, const struct sf_options *o)
{
	char origin[300];

	for (size_t i = 0; i < o->nexcludes; i++) {
		struct cond x = name_exclude(o->excludes[i]);
		snprintf(origin, sizeof origin, "--exclude-event %s", o->excludes[i]);
		if (x.kind == C_NONE)
			note(p, "%s: checked here only (a class [...] cannot be sent exactly)", origin);
		else if (hides_until(o, &x))
			note(p, "%s: checked here only (it could hide an --until event)", origin);
		else if (!add(p, 0, x.kind == C_NAME ? xasprintf("action(exclude),name(%s)", x.name)
				  : xstrdup("action(exclude),method(regex)"),
			      x.kind == C_TEXT ? xstrdup(x.value) : NULL, origin))
			note(p, "%s: checked here only (too long for Asterisk's line)", origin);
		cond_free(&x);
	}
}

/* The legacy form (no MatchCriteria): a regex that matches the start of
 * the event text ("Event: Name\r\n...") when Name matches glob g. For an
 * include '*' is ".*" (it may match more: the client decides), for an
 * exclude it stays within the name, so it never hides an event we want.
 * NULL for a class [...]. */
static char *legacy_regex(const char *g, int exclude)
{
	struct glob_toks k;
	struct strbuf b = { 0 };

	glob_tokens(g, &k);
	strbuf_adds(&b, exclude ? "!^Event: " : "^Event: ");
	for (size_t i = 0; i < k.n && b.p; i++) {
		if (k.v[i].t == T_CLASS)
			strbuf_free(&b);
		else if (k.v[i].t == T_LIT)
			re_byte(&b, k.v[i].c);
		else if (exclude)
			strbuf_adds(&b, k.v[i].t == T_STAR ? NAME_CHARS "*" : NAME_CHARS);
		else
			strbuf_adds(&b, k.v[i].t == T_STAR ? ".*" : ".");
	}
	free(k.v);
	if (!b.p)
		return NULL;
	strbuf_adds(&b, "[^ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-]");
	return take(&b);
}

/* What every version with Filter takes: the names of --event and --until
 * (all or none), and --exclude-event when there is no --until. */
static void plan_legacy(struct sf_plan *p, const struct sf_options *o)
{
	char origin[300];
	size_t i;

	for (i = 0; o->nevents && i < o->nevents + o->nuntils; i++) {
		const char *g = i < o->nevents ? o->events[i] : o->untils[i - o->nevents].event;
		char *re = legacy_regex(g, 0);
		snprintf(origin, sizeof origin, "%s %s", i < o->nevents ? "--event" : "--until", g);
		if (!re || !add(p, 1, NULL, re, origin)) {
			while (p->n)
				sf_filter_free(&p->f[--p->n]);
			note(p, "%s: no include is sent (a class [...] cannot be sent, or it is too "
			     "long): every event is asked for and filtered here", origin);
			break;
		}
	}
	for (i = 0; i < o->nexcludes; i++) {
		char *re = o->nuntils ? NULL : legacy_regex(o->excludes[i], 1);
		snprintf(origin, sizeof origin, "--exclude-event %s", o->excludes[i]);
		if (!re || !add(p, 0, NULL, re, origin))
			note(p, "%s: checked here only%s", origin,
			     o->nuntils ? " (it could hide an --until event)" : "");
	}
	for (i = 0; i < o->nmatches; i++) {
		char text[300];
		match_text(text, sizeof text, &o->matches[i]);
		note(p, "--match %s: checked here only (this Asterisk takes no MatchCriteria)", text);
	}
}

void sf_plan(struct sf_plan *p, const struct sf_options *o, int criteria)
{
	memset(p, 0, sizeof *p);
	if (!criteria) {
		plan_legacy(p, o);
		return;
	}
	plan_includes(p, o);
	plan_excludes(p, o);
}

void sf_plan_free(struct sf_plan *p)
{
	for (size_t i = 0; i < p->n; i++)
		sf_filter_free(&p->f[i]);
	free(p->f);
	strbuf_free(&p->notes);
	memset(p, 0, sizeof *p);
}

char *sf_describe(const struct sf_filter *f)
{
	if (!f->criteria)
		return xasprintf("Filter: %s", f->filter ? f->filter : "");
	return xasprintf("MatchCriteria: %s%s%s", f->criteria, f->filter ? ", Filter: " : "",
			 f->filter ? f->filter : "");
}
