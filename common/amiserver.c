/* amiserver.c - the server side of AMI as Asterisk 22 answers it (see
 * amiserver.h). The rules, quirks included, are those of main/manager.c;
 * the answers are byte for byte those of tests/captures/asterisk-22. */
#include "amiserver.h"

#include <ctype.h>
#include <limits.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "md5.h"

#define LINE_ROOM 1024          /* inbuf[1025] less the byte for the NUL */
#define MAX_HEADERS 128         /* AST_MAX_MANHEADERS */

enum match { M_REGEX, M_EXACT, M_STARTS_WITH, M_ENDS_WITH, M_CONTAINS, M_NONE };
static const char *const match_names[] = {
	"regex", "exact", "starts_with", "ends_with", "contains", "none", NULL
};

struct filter {
	enum match how;
	regex_t *re;                /* M_REGEX with a pattern */
	char *text;                 /* the other methods' pattern */
	char *name;                 /* name(): only this event; NULL: any */
	char *header;               /* header(): "Name:" to look in; NULL: the whole event */
	struct filter *next;
};

struct amis_session {
	const struct amis_config *cfg;
	struct strbuf fed;          /* bytes fed, from fed_off on not yet framed */
	size_t fed_off;
	char inbuf[LINE_ROOM];      /* get_input's buffer */
	size_t inlen;
	size_t scanned;             /* inbuf[0, scanned) holds no line end */
	int line_too_long;          /* s->parsing: sticks until a request reports it */
	struct strbuf lines;        /* the request being framed: NUL-ended lines */
	uint32_t line_at[MAX_HEADERS];
	size_t nlines;
	int too_many;               /* hdr_loss */
	int authenticated;
	char challenge[16];
	int mask;                   /* send_events: -1 (every class) until changed */
	struct filter *include, *exclude;
	size_t regex_atoms;             /* the size of their regexes (regex_size) */
	uint64_t rng;
	struct strbuf scratch;      /* an event or a line, NUL-terminated, for matching */
};

/* ---------- the request being framed ---------- */

/* One line into line[], as get_input() reads it: ended by CRLF or a bare
 * LF; when LINE_ROOM bytes hold no line end, all but the last byte are
 * dropped and the request will be refused as "line too long". */
static int get_line(struct amis_session *s, char line[LINE_ROOM + 1])
{
	for (;;) {
		for (size_t x = s->scanned; x < s->inlen; x++) {
			size_t end;
			if (s->inbuf[x] == '\r' && x + 1 < s->inlen && s->inbuf[x + 1] == '\n')
				end = 2;
			else if (s->inbuf[x] == '\n')
				end = 1;
			else
				continue;
			memcpy(line, s->inbuf, x);
			line[x] = '\0';
			s->inlen -= x + end;
			memmove(s->inbuf, s->inbuf + x + end, s->inlen);
			s->scanned = 0;
			return 1;
		}
		/* A CR last may yet be followed by its LF. */
		s->scanned = s->inlen ? s->inlen - 1 : 0;
		if (s->inlen >= LINE_ROOM) {
			s->inbuf[0] = s->inbuf[s->inlen - 1];
			s->inlen = 1;
			s->scanned = 0;
			s->line_too_long = 1;
		}
		size_t avail = s->fed.len - s->fed_off;
		if (avail == 0) {
			s->fed.len = s->fed_off = 0;
			return 0;
		}
		size_t take = LINE_ROOM - s->inlen < avail ? LINE_ROOM - s->inlen : avail;
		memcpy(s->inbuf + s->inlen, s->fed.p + s->fed_off, take);
		s->inlen += take;
		s->fed_off += take;
	}
}

static void add_line(struct amis_session *s, const char *line)
{
	if (s->nlines == MAX_HEADERS) {
		s->too_many = 1;
		return;
	}
	s->line_at[s->nlines++] = (uint32_t)s->lines.len;
	/* Asterisk keeps the line as a C string: a NUL ends it. */
	strbuf_add(&s->lines, line, strlen(line) + 1);
}

static void end_request(struct amis_session *s)
{
	s->lines.len = 0;
	s->nlines = 0;
	s->too_many = 0;
}

/* ast_skip_blanks: every byte below '!' is a blank. */
static const char *skip_blanks(const char *p)
{
	while (*p && (unsigned char)*p < 33)
		p++;
	return p;
}

/* astman_get_header: the name in any case with a colon right after it; the
 * first such line wins, or with skip_empty the first with a value. "" when
 * there is none. */
static const char *header(const struct amis_session *s, const char *name, int skip_empty)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < s->nlines; i++) {
		const char *h = s->lines.p + s->line_at[i];
		if (strncasecmp(name, h, n) || h[n] != ':')
			continue;
		const char *v = skip_blanks(h + n + 1);
		if (*v || !skip_empty)
			return v;
	}
	return "";
}

/* ---------- answers ---------- */

static void put(struct strbuf *out, const char *s) { strbuf_add(out, s, strlen(s)); }

/* "Response: X" and the request's ActionID, if it has one. */
static void start_response(const struct amis_session *s, struct strbuf *out, const char *resp)
{
	const char *id = header(s, "ActionID", 0);

	put(out, "Response: ");
	put(out, resp);
	put(out, "\r\n");
	if (*id) {
		put(out, "ActionID: ");
		put(out, id);
		put(out, "\r\n");
	}
}

static void respond(const struct amis_session *s, struct strbuf *out, const char *resp,
		    const char *message)
{
	start_response(s, out, resp);
	put(out, "Message: ");
	put(out, message);
	put(out, "\r\n\r\n");
}

static void send_error(const struct amis_session *s, struct strbuf *out, const char *message)
{
	respond(s, out, "Error", message);
}

/* ---------- event classes and masks ---------- */

static const struct { const char *label; int bits; } perms[] = {
	{ "system", 1 << 0 }, { "call", 1 << 1 }, { "log", 1 << 2 }, { "verbose", 1 << 3 },
	{ "command", 1 << 4 }, { "agent", 1 << 5 }, { "user", 1 << 6 }, { "config", 1 << 7 },
	{ "dtmf", 1 << 8 }, { "reporting", 1 << 9 }, { "cdr", 1 << 10 }, { "dialplan", 1 << 11 },
	{ "originate", 1 << 12 }, { "agi", 1 << 13 }, { "cc", 1 << 15 }, { "aoc", 1 << 16 },
	{ "test", 1 << 17 }, { "security", 1 << 18 }, { "message", 1 << 19 },
	{ "all", INT_MAX }, { "none", 0 },
};

unsigned amis_class_of(const char *p, size_t len)
{
	unsigned cls = 0;
	size_t i = 0;

	while (i < len) {
		size_t j = i;
		while (j < len && p[j] != ',')
			j++;
		for (size_t k = 0; k + 2 < ARRAY_LEN(perms); k++)    /* not all, none */
			if (strlen(perms[k].label) == j - i && !strncasecmp(perms[k].label, p + i, j - i))
				cls |= (unsigned)perms[k].bits;
		i = j + 1;
	}
	return cls;
}

/* ast_instring(big, small, ','): a token before a comma need only be a
 * prefix of small (an empty one matches anything), the last one must be
 * equal; a trailing comma ends the list. */
static int instring(const char *big, const char *small)
{
	const char *val = big;

	for (;;) {
		const char *next = strchr(val, ',');
		if (!next)
			return !strcmp(small, val);
		if (!strncmp(val, small, (size_t)(next - val)))
			return 1;
		val = next + 1;
		if (!*val)
			return 0;
	}
}

static int is_word(const char *s, const char *const words[])
{
	for (size_t i = 0; words[i]; i++)
		if (!strcasecmp(s, words[i]))
			return 1;
	return 0;
}

/* strings_to_mask: digits are a bitmask (as atoi reads them), a false word
 * none, a true word all, anything else the classes it names by
 * ast_instring's rules (so a bogus word gives 0). -1 for an empty string. */
static int strings_to_mask(const char *s)
{
	static const char *const yes[] = { "yes", "true", "y", "t", "1", "on", NULL };
	static const char *const no[] = { "no", "false", "n", "f", "0", "off", NULL };
	const char *p = s;
	int mask = 0;

	if (!*s)
		return -1;
	while (*p >= '0' && *p <= '9')
		p++;
	if (!*p)
		return (int)strtol(s, NULL, 10);
	if (is_word(s, no))
		return 0;
	if (is_word(s, yes))
		return INT_MAX;
	for (size_t k = 0; k < ARRAY_LEN(perms); k++)
		if (instring(s, perms[k].label))
			mask |= perms[k].bits;
	return mask;
}

/* set_eventmask: a mask that is not >= 0 leaves the old one. */
static int set_mask(struct amis_session *s, const char *text)
{
	int mask = strings_to_mask(text);

	if (mask >= 0)
		s->mask = mask;
	return mask;
}

/* ---------- filters (manager_add_filter, should_send_event) ---------- */

enum { FILTER_OK, FILTER_FORMAT, FILTER_COMPILE };

static void filter_free(struct filter *f)
{
	if (f->re) {
		regfree(f->re);
		free(f->re);
	}
	free(f->text);
	free(f->name);
	free(f->header);
	free(f);
}

static int ends_with(const char *s, size_t n, const char *suffix)
{
	size_t k = strlen(suffix);
	return k <= n && !memcmp(s + n - k, suffix, k);
}

/* ast_strip: blanks (below '!') off both ends, in place. */
static char *strip(char *s)
{
	size_t n;

	s = (char *)skip_blanks(s);
	n = strlen(s);
	while (n && (unsigned char)s[n - 1] < 33)
		s[--n] = '\0';
	return s;
}

/* What follows the '(' of an option such as "name(Newchannel", stripped;
 * NULL when there is no '(' or nothing after it. (Asterisk itself only
 * checks "action(" for the '(' and would crash on "name" without one.) */
static char *option_value(char *option)
{
	char *open = strchr(option, '(');
	if (!open)
		return NULL;
	open = strip(open + 1);
	return *open ? open : NULL;
}

/* The method called v (case counts), or -1. */
static int method_of(const char *v)
{
	for (int i = 0; match_names[i]; i++)
		if (!strcmp(v, match_names[i]))
			return i;
	return -1;
}

/* The options of MatchCriteria, in any order, as manager_add_filter reads
 * them: split at blanks, commas and ')', each known by its first letters. */
static int parse_criteria(struct filter *f, int *exclude, const char *criteria)
{
	enum { ACTION = 1, NAME = 2, HEADER = 4, METHOD = 8 };
	char *copy = xasprintf("%s)", criteria);
	char *temp = strip(copy), *save = NULL, *opt, *v;
	int found = 0, rc = FILTER_FORMAT;

	f->how = M_NONE;
	if (!*temp || !ends_with(temp, strlen(temp), ")"))
		goto out;
	for (; (opt = strtok_r(temp, " ,)", &save)); temp = NULL) {
		v = option_value(opt);
		if (!strncmp(opt, "action", 6)) {
			if (!v || (strcmp(v, "include") && strcmp(v, "exclude")))
				goto out;
			*exclude = !strcmp(v, "exclude");
			found |= ACTION;
		} else if (!strncmp(opt, "name", 4) && v) {
			free(f->name);
			f->name = xstrdup(v);
			found |= NAME;
		} else if (!strncmp(opt, "header", 6) && v) {
			free(f->header);
			f->header = ends_with(v, strlen(v), ":") ? xstrdup(v) : xasprintf("%s:", v);
			found |= HEADER;
		} else if (!strncmp(opt, "method", 6) && v && method_of(v) >= 0) {
			f->how = (enum match)method_of(v);
			found |= METHOD;
		} else {
			goto out;
		}
	}
	if (found && ((found & (NAME | HEADER)) || f->how != M_NONE))
		rc = FILTER_OK;
out:
	free(copy);
	return rc;
}

/* Regex size: how many copies of its atoms glibc's regcomp may build for an
 * ERE. Bounded repetition copies its operand, so nested bounds multiply:
 * "a{255}{255}{255}" is 16 million copies and gigabytes of memory, and the
 * memory grows faster than the copies ("(x*){0,3000}": 9,000 copies, 250
 * MB). A client of `ami serve` must not get that far: a session's filters
 * may have REGEX_MAX_ATOMS in all (about 15 MB at worst), where a real
 * filter has a few dozen. Sums saturate at REGEX_MAX_ATOMS + 1. */
#define REGEX_MAX_ATOMS 2000

static size_t capped(unsigned long long n)
{
	return n > REGEX_MAX_ATOMS ? REGEX_MAX_ATOMS + 1 : (size_t)n;
}

/* The bracket expression at *p ("[...]"): skipped whole. */
static void skip_bracket(const char **p)
{
	const char *q = *p + 1;

	if (*q == '^')
		q++;
	if (*q == ']')
		q++;
	for (; *q && *q != ']'; q++)
		if (*q == '[' && (q[1] == ':' || q[1] == '.' || q[1] == '=')) {
			const char *end = strchr(q + 2, q[1]);
			if (end && end[1] == ']')
				q = end + 1;
		}
	*p = *q ? q + 1 : q;
}

/* How many times the operators after an atom may copy it. */
static unsigned long long repeat_of(const char **p)
{
	unsigned long long times = 1;

	for (;;) {
		if (**p == '*' || **p == '+' || **p == '?') {
			times *= 2;
			(*p)++;
		} else if (**p == '{' && (isdigit((unsigned char)(*p)[1]) ||
					  ((*p)[1] == ',' && isdigit((unsigned char)(*p)[2])))) {
			/* {n}, {n,}, {n,m}, and glibc's {,m} */
			char *end;
			unsigned long long n = strtoull(*p + 1, &end, 10);
			if (*end == ',' && isdigit((unsigned char)end[1])) {
				unsigned long long m = strtoull(end + 1, &end, 10);
				n = m > n ? m : n;
			}
			times *= (n > REGEX_MAX_ATOMS ? REGEX_MAX_ATOMS : n) + 1;
			*p = *end == '}' ? end + 1 : end;
		} else {
			return times;
		}
		if (times > REGEX_MAX_ATOMS)
			times = REGEX_MAX_ATOMS + 1;
	}
}

/* The atoms of the alternatives from *p to its ')' or the end. */
static size_t regex_atoms(const char **p, int depth)
{
	size_t total = 0;

	while (**p && **p != ')' && total <= REGEX_MAX_ATOMS) {
		size_t atom = 1;
		if (**p == '|') {
			(*p)++;
			continue;
		}
		if (**p == '(' && depth < 100) {
			(*p)++;
			atom = regex_atoms(p, depth + 1) + 1;
			if (**p == ')')
				(*p)++;
		} else if (**p == '[') {
			skip_bracket(p);
		} else if (**p == '\\' && (*p)[1] >= '1' && (*p)[1] <= '9') {
			return REGEX_MAX_ATOMS + 1;     /* a back-reference: regexec
							 * may take hours */
		} else {
			*p += **p == '\\' && (*p)[1] ? 2 : 1;
		}
		total = capped((unsigned long long)total + capped((unsigned long long)atom * repeat_of(p)));
	}
	return total;
}

static size_t regex_size(const char *pattern)
{
	size_t atoms = 0;

	while (*pattern && atoms <= REGEX_MAX_ATOMS) {
		atoms = capped((unsigned long long)atoms + regex_atoms(&pattern, 0));
		if (*pattern == ')') {  /* an unmatched ')': glibc's literal */
			pattern++;
			atoms = capped((unsigned long long)atoms + repeat_of(&pattern));
		}
	}
	return atoms;
}

static int add_filter(struct amis_session *s, const char *criteria, const char *pattern)
{
	struct filter *f = xcalloc(1, sizeof *f), **tail;
	int exclude = 0, rc = FILTER_OK;

	if (pattern[0] == '!') {
		exclude = 1;
		pattern++;
	}
	f->how = M_REGEX;
	if (!*criteria && !*pattern)
		rc = FILTER_FORMAT;
	else if (*criteria)
		rc = parse_criteria(f, &exclude, criteria);
	/* A method needs a pattern, and "none" must have none. */
	if (rc == FILTER_OK && *criteria && !*pattern != (f->how == M_NONE))
		rc = FILTER_FORMAT;
	if (rc == FILTER_OK && *pattern && f->how == M_REGEX) {
		size_t atoms = regex_size(pattern);
		f->re = xmalloc(sizeof *f->re);
		if (atoms > REGEX_MAX_ATOMS - s->regex_atoms ||
		    regcomp(f->re, pattern, REG_EXTENDED | REG_NOSUB)) {
			free(f->re);
			f->re = NULL;
			rc = FILTER_COMPILE;
		} else {
			s->regex_atoms += atoms;
		}
	} else if (rc == FILTER_OK && *pattern) {
		f->text = xstrdup(pattern);
	}
	if (rc != FILTER_OK) {
		filter_free(f);
		return rc;
	}
	for (tail = exclude ? &s->exclude : &s->include; *tail; tail = &(*tail)->next)
		;
	*tail = f;
	return FILTER_OK;
}

/* match_eventdata, on t[0, n) (NUL-terminated at n). */
static int match_text(const struct filter *f, const char *t, size_t n)
{
	switch (f->how) {
	case M_REGEX: return !regexec(f->re, t, 0, NULL, 0);
	case M_EXACT: return !strcmp(t, f->text);
	case M_STARTS_WITH: return !strncmp(t, f->text, strlen(f->text));
	case M_ENDS_WITH: return ends_with(t, n, f->text);
	case M_CONTAINS: return strstr(t, f->text) != NULL;
	case M_NONE: return 1;
	}
	return 0;
}

/* filter_cmp_fn: ev is the event as a C string. With header(), each line
 * that starts with "Name:" (case counts) and has a value is tried. */
static int filter_hits(const struct filter *f, char *ev, size_t len, const char *name,
		       size_t name_len)
{
	if (f->name && (strlen(f->name) != name_len || memcmp(f->name, name, name_len)))
		return 0;
	if (!f->header)
		return match_text(f, ev, len);
	size_t hlen = strlen(f->header);
	for (char *line = ev; *line;) {
		char *nl = strchr(line, '\n');
		size_t n = nl ? (size_t)(nl - line) : strlen(line);
		char *next = nl ? nl + 1 : line + n;
		char saved;
		int hit = 0;

		if (n && line[n - 1] == '\r')
			n--;
		saved = line[n];
		line[n] = '\0';        /* the line alone, as ast_read_line_from_buffer makes it */
		if (!strncmp(line, f->header, hlen)) {
			const char *v = skip_blanks(line + hlen);
			hit = *v && match_text(f, v, strlen(v));
		}
		line[n] = saved;
		if (hit)
			return 1;
		line = next;
	}
	return 0;
}

static int any_hits(const struct filter *f, char *ev, size_t len, const char *name, size_t nlen)
{
	for (; f; f = f->next)
		if (filter_hits(f, ev, len, name, nlen))
			return 1;
	return 0;
}

int amis_wants(struct amis_session *s, const char *ev, size_t len, const char *name,
	       size_t name_len, unsigned cls)
{
	unsigned mask = (unsigned)s->mask;

	if (cls ? (mask & cls) != cls : s->mask == 0)
		return 0;
	if (!s->include && !s->exclude)
		return 1;
	/* Asterisk matches the event as a C string: it ends at a NUL. */
	len = strnlen(ev, len);
	s->scratch.len = 0;
	strbuf_add(&s->scratch, ev, len);
	char *text = s->scratch.p;
	/* Includes first (none: everything is in), then excludes. */
	if (s->include && !any_hits(s->include, text, len, name, name_len))
		return 0;
	return !any_hits(s->exclude, text, len, name, name_len);
}

/* ---------- actions ---------- */

static enum amis_result act_challenge(struct amis_session *s, struct strbuf *out)
{
	if (strcasecmp(header(s, "AuthType", 0), "MD5")) {
		send_error(s, out, "Must specify AuthType");
		return AMIS_DONE;
	}
	if (!s->challenge[0]) {
		/* ast_random(): a non-negative long, the same for the whole session. */
		s->rng ^= s->rng << 13;
		s->rng ^= s->rng >> 7;
		s->rng ^= s->rng << 17;
		snprintf(s->challenge, sizeof s->challenge, "%ld", (long)(s->rng % 2147483648u));
	}
	start_response(s, out, "Success");
	put(out, "Challenge: ");
	put(out, s->challenge);
	put(out, "\r\n\r\n");
	return AMIS_DONE;
}

static int authenticate(struct amis_session *s)
{
	const char *user = header(s, "Username", 0);
	const char *secret = s->cfg->secret;

	if (!*user || strcasecmp(user, s->cfg->user))
		return 0;
	if (!strcasecmp(header(s, "AuthType", 0), "MD5")) {
		const char *key = header(s, "Key", 0);
		char want[33];
		int ok;

		if (!*key || !s->challenge[0])
			return 0;
		md5_challenge_key(s->challenge, secret, want);
		ok = !strcmp(want, key);
		secret_wipe(want, sizeof want);
		return ok;
	}
	return !strcmp(header(s, "Secret", 0), secret);
}

static enum amis_result act_login(struct amis_session *s, struct strbuf *out)
{
	if (s->authenticated) {
		respond(s, out, "Success", "Already authenticated");
		return AMIS_DONE;
	}
	if (!authenticate(s)) {
		send_error(s, out, "Authentication failed");
		return AMIS_REJECT;
	}
	set_mask(s, header(s, "Events", 0));
	s->authenticated = 1;
	respond(s, out, "Success", "Authentication accepted");
	return AMIS_LOGIN;
}

static enum amis_result act_logoff(struct amis_session *s, struct strbuf *out)
{
	respond(s, out, "Goodbye", "Thanks for all the fish.");
	return AMIS_CLOSE;
}

static enum amis_result act_ping(struct amis_session *s, struct strbuf *out)
{
	struct timespec now;
	char line[64];

	clock_gettime(CLOCK_REALTIME, &now);
	snprintf(line, sizeof line, "Ping: Pong\r\nTimestamp: %lld.%06ld\r\n\r\n",
		 (long long)now.tv_sec, now.tv_nsec / 1000);
	start_response(s, out, "Success");
	put(out, line);
	return AMIS_DONE;
}

static enum amis_result act_events(struct amis_session *s, struct strbuf *out)
{
	int mask = set_mask(s, header(s, "EventMask", 0));
	char id[256];

	if (mask < 0) {
		send_error(s, out, "Invalid event mask");
		return AMIS_DONE;
	}
	/* action_events formats the ActionID line into 256 bytes: a longer
	 * one is cut there, line end and all. */
	id[0] = '\0';
	if (*header(s, "ActionID", 0))
		snprintf(id, sizeof id, "ActionID: %s\r\n", header(s, "ActionID", 0));
	put(out, "Response: Success\r\n");
	put(out, id);
	put(out, mask > 0 ? "Events: On\r\n\r\n" : "Events: Off\r\n\r\n");
	return AMIS_DONE;
}

static enum amis_result act_filter(struct amis_session *s, struct strbuf *out)
{
	if (strcasecmp(header(s, "Operation", 0), "Add")) {
		send_error(s, out, "Unknown operation");
		return AMIS_DONE;
	}
	switch (add_filter(s, header(s, "MatchCriteria", 0), header(s, "Filter", 0))) {
	case FILTER_OK:
		respond(s, out, "Success", "Success");
		break;
	case FILTER_COMPILE:
		send_error(s, out, "Filter did not compile.  Check the syntax of the filter given.");
		break;
	default:
		send_error(s, out, "Filter was formatted incorrectly.  Check the syntax of the filter given.");
	}
	return AMIS_DONE;
}

static enum amis_result act_listcommands(struct amis_session *s, struct strbuf *out);

/* The actions served, sorted as Asterisk lists them, with its synopses. */
static const struct action {
	const char *name;
	enum amis_result (*run)(struct amis_session *s, struct strbuf *out);
	const char *listed;         /* its ListCommands line */
} actions[] = {
	{ "Challenge", act_challenge, "Challenge: Generate Challenge for MD5 Auth.  (Priv: <none>)" },
	{ "Events", act_events, "Events: Control Event Flow.  (Priv: <none>)" },
	{ "Filter", act_filter,
	  "Filter: Dynamically add filters for the current manager session.  (Priv: system,all)" },
	{ "ListCommands", act_listcommands, "ListCommands: List available manager commands.  (Priv: <none>)" },
	{ "Login", act_login, "Login: Login Manager.  (Priv: <none>)" },
	{ "Logoff", act_logoff, "Logoff: Logoff Manager.  (Priv: <none>)" },
	{ "Ping", act_ping, "Ping: Keepalive command.  (Priv: <none>)" },
};

static enum amis_result act_listcommands(struct amis_session *s, struct strbuf *out)
{
	start_response(s, out, "Success");
	for (size_t i = 0; i < ARRAY_LEN(actions); i++) {
		put(out, actions[i].listed);
		put(out, "\r\n");
	}
	put(out, "\r\n");
	return AMIS_DONE;
}

/* process_message: the checks in Asterisk's order, then the action. */
static enum amis_result process(struct amis_session *s, struct strbuf *out)
{
	const char *action = header(s, "Action", 1);
	char msg[512];

	if (!*action) {
		send_error(s, out, "Missing action in request");
		return AMIS_DONE;
	}
	if (!s->authenticated && strcasecmp(action, "Login") && strcasecmp(action, "Logoff") &&
	    strcasecmp(action, "Challenge")) {
		send_error(s, out, "Permission denied");
		return AMIS_DONE;
	}
	for (size_t i = 0; i < ARRAY_LEN(actions); i++)
		if (!strcasecmp(action, actions[i].name))
			return actions[i].run(s, out);
	snprintf(msg, sizeof msg,
		 "Invalid/unknown command: %s. Use Action: ListCommands to show available commands.",
		 action);
	send_error(s, out, msg);
	return AMIS_DONE;
}

/* ---------- the session ---------- */

struct amis_session *amis_new(const struct amis_config *cfg)
{
	struct amis_session *s = xcalloc(1, sizeof *s);

	s->cfg = cfg;
	s->mask = -1;
	s->rng = cfg->seed | 1;
	return s;
}

static void free_filters(struct filter *f)
{
	while (f) {
		struct filter *next = f->next;
		filter_free(f);
		f = next;
	}
}

void amis_free(struct amis_session *s)
{
	if (!s)
		return;
	free_filters(s->include);
	free_filters(s->exclude);
	strbuf_free(&s->fed);       /* it may hold a secret or a Key */
	strbuf_free(&s->lines);
	strbuf_free(&s->scratch);
	secret_wipe(s->inbuf, sizeof s->inbuf);
	free(s);
}

void amis_feed(struct amis_session *s, const char *buf, size_t len)
{
	strbuf_add(&s->fed, buf, len);
}

size_t amis_unread(const struct amis_session *s)
{
	return s->fed.len - s->fed_off + s->inlen;
}

enum amis_result amis_next(struct amis_session *s, struct strbuf *out)
{
	char line[LINE_ROOM + 1];
	enum amis_result r = AMIS_DONE;

	while (get_line(s, line)) {
		if (line[0]) {
			add_line(s, line);
			continue;
		}
		/* A blank line (or one that starts with a NUL) ends the request. */
		if (s->too_many) {
			send_error(s, out, "Too many lines in message or allocation failure");
		} else if (s->line_too_long) {
			send_error(s, out, "Failed to parse message: line too long");
			s->line_too_long = 0;
		} else {
			r = process(s, out);
		}
		/* The request may have held a Secret or a Key: its lines are
		 * wiped, and line[] as far as the longest of them reached. */
		secret_wipe(line, s->lines.len < sizeof line ? s->lines.len : sizeof line);
		secret_wipe(s->lines.p, s->lines.len);
		end_request(s);
		return r;
	}
	return AMIS_NONE;
}

int amis_logged_in(const struct amis_session *s) { return s->authenticated; }
unsigned amis_event_mask(const struct amis_session *s) { return (unsigned)s->mask; }
int amis_filtering(const struct amis_session *s) { return s->include || s->exclude; }
