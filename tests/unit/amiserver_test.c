/* amiserver_test.c - unit tests for common/amiserver.c (the server side of
 * AMI) and common/replay.c (a recording held for replay).
 *
 *   tests/unit/amiserver_test [CAPTURE_DIR]   (default tests/captures/asterisk-22)
 *
 * Every TCP capture of Asterisk 22 is played to a session: each request
 * the client sent whose action the session serves (or any request before
 * Login) must get exactly the bytes Asterisk answered, events aside, with
 * Timestamp and Challenge numbers compared as numbers (and an MD5 Key
 * recomputed for the session's own challenge). Then framing, masks,
 * filters and the replay store case by case.
 * Ends with "N passed, N failed"; exits 1 when anything failed. */
#include <ctype.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "amiserver.h"
#include "check.h"
#include "md5.h"
#include "replay.h"
#include "util.h"

/* ---------- helpers ---------- */

struct run {
	struct amis_config cfg;
	struct amis_session *s;
	struct strbuf out;
	enum amis_result last;
};

static void run_open(struct run *r, const char *user, const char *secret)
{
	memset(r, 0, sizeof *r);
	r->cfg.user = user;
	r->cfg.secret = secret;
	r->cfg.seed = 42;
	r->s = amis_new(&r->cfg);
}

static void run_close(struct run *r)
{
	amis_free(r->s);
	strbuf_free(&r->out);
}

/* Feeds text and answers every complete request; returns the answers
 * (valid until the next call). */
static const char *say(struct run *r, const char *text, size_t len)
{
	enum amis_result res;

	r->out.len = 0;
	if (r->out.p)
		r->out.p[0] = '\0';
	amis_feed(r->s, text, len);
	while ((res = amis_next(r->s, &r->out)) != AMIS_NONE)
		r->last = res;
	return r->out.p ? r->out.p : "";
}

static const char *says(struct run *r, const char *text)
{
	return say(r, text, strlen(text));
}

static char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct strbuf b = { 0 };
	char buf[65536];
	size_t n;

	*len = 0;
	if (!f)
		return NULL;
	while ((n = fread(buf, 1, sizeof buf, f)) > 0)
		strbuf_add(&b, buf, n);
	fclose(f);
	*len = b.len;
	return b.p ? b.p : xstrdup("");
}

/* ---------- the captures ---------- */

struct segment {
	int client;                 /* sent by the client (else by Asterisk) */
	struct strbuf bytes;
};

/* Splits an annotated transcript into its verbatim client and server
 * parts ("#### >>> C->S" / "#### <<< S->C" switch; other "#### " lines are
 * notes). */
static size_t split_transcript(const char *t, size_t len, struct segment *seg, size_t max)
{
	size_t n = 0, i = 0;
	int dir = -1;

	while (i < len) {
		const char *nl = memchr(t + i, '\n', len - i);
		size_t end = nl ? (size_t)(nl - t) + 1 : len;
		if (!strncmp(t + i, "#### ", 5)) {
			int d = !strncmp(t + i, "#### >>> C->S", 13) ? 1 :
				!strncmp(t + i, "#### <<< S->C", 13) ? 0 : -1;
			if (d >= 0 && n < max) {
				dir = d;
				seg[n].client = d;
				memset(&seg[n].bytes, 0, sizeof seg[n].bytes);
				n++;
			}
		} else if (dir >= 0) {
			strbuf_add(&seg[n - 1].bytes, t + i, end - i);
		}
		i = end;
	}
	return n;
}

/* Asterisk's answers without its events, and with the numbers of
 * Timestamp: and Challenge: lines replaced by N. */
static void normalize(const char *in, struct strbuf *out)
{
	const char *p = in;

	out->len = 0;
	strbuf_add(out, "", 0);
	while (*p) {
		const char *end = strstr(p, "\r\n\r\n");
		size_t n = end ? (size_t)(end - p) + 4 : strlen(p);
		if (strncmp(p, "Event: ", 7)) {
			for (size_t i = 0; i < n;) {
				const char *nl = memchr(p + i, '\n', n - i);
				size_t e = nl ? (size_t)(nl - p) + 1 : n;
				if (!strncmp(p + i, "Timestamp: ", 11) || !strncmp(p + i, "Challenge: ", 11)) {
					strbuf_add(out, p + i, 11);
					strbuf_adds(out, "N\r\n");
				} else {
					strbuf_add(out, p + i, e - i);
				}
				i = e;
			}
		}
		p += n;
	}
}

/* The Action of a request, lower-cased, or "" (a request with none). */
static void action_of(const char *req, char *out, size_t max)
{
	const char *p = req;

	out[0] = '\0';
	while (p && *p) {
		if (!strncasecmp(p, "action:", 7)) {
			size_t i = 0;
			p += 7;
			while (*p == ' ')
				p++;
			while (i + 1 < max && *p && *p != '\r' && *p != '\n')
				out[i++] = (char)tolower((unsigned char)*p++);
			out[i] = '\0';
			return;
		}
		p = strchr(p, '\n');
		p = p ? p + 1 : NULL;
	}
}

static int served(const char *action)
{
	static const char *const ours[] = { "", "challenge", "events", "filter", "listcommands",
					    "login", "logoff", "ping", NULL };
	for (size_t i = 0; ours[i]; i++)
		if (!strcmp(action, ours[i]))
			return 1;
	return 0;
}

/* A Login with the right Key for Asterisk's challenge gets the right Key
 * for the session's own challenge instead (a wrong one stays wrong). */
static void rekey(struct strbuf *req, const char *theirs, const char *ours, const char *secret)
{
	char *k = strstr(req->p, "Key: ");
	char key[33];

	if (!k || strspn(k + 5, "0123456789abcdef") != 32)
		return;
	md5_challenge_key(theirs, secret, key);
	if (memcmp(k + 5, key, 32))
		return;
	md5_challenge_key(ours, secret, key);
	memcpy(k + 5, key, 32);
}

static void remember_challenge(const char *out, char *challenge, size_t max)
{
	const char *c = strstr(out, "Challenge: ");
	size_t i = 0;

	if (!c)
		return;
	for (c += 11; i + 1 < max && isdigit((unsigned char)*c); c++)
		challenge[i++] = *c;
	challenge[i] = '\0';
}

/* ListCommands: Asterisk lists 112 actions, we list ours, each line as
 * Asterisk writes it. */
static void check_listed(const char *got, const char *want)
{
	const char *p = strstr(got, "\r\n") + 2;      /* after Response: */

	if (!strncmp(p, "ActionID: ", 10))
		p = strstr(p, "\r\n") + 2;
	CHECK(!strncmp(want, got, (size_t)(p - got)));
	for (int n = 0; strncmp(p, "\r\n", 2); n++) {
		const char *e = strstr(p, "\r\n");
		char *line = xstrndup(p, (size_t)(e - p) + 2);
		CHECKF(strstr(want, line) != NULL, "ListCommands line %d not Asterisk's: %s", n, line);
		free(line);
		p = e + 2;
	}
}

static void play_capture(const char *dir, const char *name)
{
	char *path = xasprintf("%s/%s", dir, name);
	size_t len, nseg, checked = 0;
	char *text = read_all(path, &len);
	struct segment seg[256];
	struct strbuf want = { 0 }, got = { 0 }, raw_want = { 0 };
	char challenge[32] = "", theirs[32] = "";
	struct run r;

	if (!CHECKF(text != NULL, "cannot read %s", path)) {
		free(path);
		return;
	}
	nseg = split_transcript(text, len, seg, ARRAY_LEN(seg));
	int limited = strstr(text, "Username: limited") != NULL;
	run_open(&r, limited ? "limited" : "hello", limited ? "limited" : "world");
	for (size_t i = 0; i < nseg; i++) {
		char action[64];
		if (!seg[i].client || r.last == AMIS_REJECT || r.last == AMIS_CLOSE)
			continue;
		action_of(seg[i].bytes.p, action, sizeof action);
		if (amis_logged_in(r.s) && !served(action))
			continue;       /* an action ami serve does not have */
		rekey(&seg[i].bytes, theirs, challenge, r.cfg.secret);
		normalize(say(&r, seg[i].bytes.p, seg[i].bytes.len), &got);
		remember_challenge(r.out.p ? r.out.p : "", challenge, sizeof challenge);
		want.len = raw_want.len = 0;
		strbuf_add(&want, "", 0);
		strbuf_add(&raw_want, "", 0);
		for (size_t j = i + 1; j < nseg && !seg[j].client; j++) {
			struct strbuf part = { 0 };
			const char *raw = seg[j].bytes.p ? seg[j].bytes.p : "";
			remember_challenge(raw, theirs, sizeof theirs);
			strbuf_adds(&raw_want, raw);
			normalize(raw, &part);
			strbuf_add(&want, part.p, part.len);
			strbuf_free(&part);
		}
		if (!strcmp(action, "listcommands"))
			check_listed(r.out.p, raw_want.p);
		else
			CHECKF(!strcmp(got.p, want.p), "%s, request %zu (%s):\ngot:\n%s\nwant:\n%s", name,
			       i, action, got.p, want.p);
		checked++;
	}
	CHECKF(checked > 0, "%s: no request checked", name);
	for (size_t i = 0; i < nseg; i++)
		strbuf_free(&seg[i].bytes);
	strbuf_free(&want);
	strbuf_free(&raw_want);
	strbuf_free(&got);
	run_close(&r);
	free(text);
	free(path);
}

static void test_captures(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!CHECKF(d != NULL, "cannot open %s", dir))
		return;
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);
		if (strncmp(e->d_name, "tcp-", 4) || l < 5 || strcmp(e->d_name + l - 4, ".txt"))
			continue;
		play_capture(dir, e->d_name);
		n++;
	}
	closedir(d);
	CHECKF(n >= 20, "only %d tcp captures in %s", n, dir);
}


/* ---------- framing and answers ---------- */

#define LOGIN "Action: Login\r\nUsername: hello\r\nSecret: world\r\n\r\n"

static void login(struct run *r)
{
	run_open(r, "hello", "world");
	says(r, LOGIN);
}

static void test_framing(void)
{
	struct run r;
	struct strbuf big = { 0 };

	login(&r);
	CHECK_INT(r.last, AMIS_LOGIN);
	/* A bare LF ends lines too; "action:" in any case, no space needed. */
	CHECK(strstr(says(&r, "action:Ping\nActionID: lf\n\n"), "ActionID: lf\r\nPing: Pong\r\n"));
	/* "Action :" is not the Action header. */
	CHECK_STR(says(&r, "Action : Ping\r\n\r\n"),
		  "Response: Error\r\nMessage: Missing action in request\r\n\r\n");
	/* An empty Action is skipped for the next one; an empty ActionID
	 * first wins over a later one. */
	CHECK(!strncmp(says(&r, "Action: \r\nActionID: \r\nActionID: b\r\nAction: Ping\r\n\r\n"),
		       "Response: Success\r\nPing: Pong\r\n", 30));
	/* A NUL ends a line there; a line that starts with one ends the request. */
	CHECK(strstr(say(&r, "Action: Ping\r\nActionID: ab\0cd\r\n\r\n", 33), "ActionID: ab\r\n"));
	CHECK(strstr(say(&r, "Action: Ping\r\n\0junk\r\n", 21), "Ping: Pong"));
	/* 1024 bytes with the line end: the longest line taken. */
	strbuf_adds(&big, "Action: Ping\r\nActionID: ");
	for (int i = 0; i < 1022 - 10; i++)
		strbuf_adds(&big, "x");
	strbuf_adds(&big, "\r\n\r\n");
	CHECK(strstr(says(&r, big.p), "Ping: Pong"));
	/* One more byte: refused, then the blank line is a request of its own. */
	big.len = 0;
	strbuf_adds(&big, "Action: Ping\r\nActionID: y\r\nPad: ");
	for (int i = 0; i < 1023 - 5; i++)
		strbuf_adds(&big, "z");
	strbuf_adds(&big, "\r\n\r\n");
	CHECK_STR(says(&r, big.p),
		  "Response: Error\r\nActionID: y\r\nMessage: Failed to parse message: line too long\r\n\r\n"
		  "Response: Error\r\nMessage: Missing action in request\r\n\r\n");
	CHECK(strstr(says(&r, "Action: Ping\r\n\r\n"), "Ping: Pong"));
	/* 128 lines are taken, 129 are too many. */
	big.len = 0;
	strbuf_adds(&big, "Action: Ping\r\nActionID: many\r\n");
	for (int i = 0; i < 126; i++)
		strbuf_adds(&big, "X: y\r\n");
	strbuf_adds(&big, "\r\n");
	CHECK(strstr(says(&r, big.p), "Ping: Pong"));
	big.p[big.len - 2] = '\0';
	big.len -= 2;
	strbuf_adds(&big, "X: y\r\n\r\n");
	CHECK_STR(says(&r, big.p), "Response: Error\r\nActionID: many\r\n"
		  "Message: Too many lines in message or allocation failure\r\n\r\n");
	strbuf_free(&big);
	run_close(&r);
}

static void test_login(void)
{
	struct run r;
	char msg[700], want[900];

	run_open(&r, "hello", "world");
	CHECK_STR(says(&r, "Action: Ping\r\nActionID: 1\r\n\r\n"),
		  "Response: Error\r\nActionID: 1\r\nMessage: Permission denied\r\n\r\n");
	CHECK_STR(says(&r, "Action: FooBar\r\n\r\n"), "Response: Error\r\nMessage: Permission denied\r\n\r\n");
	CHECK_STR(says(&r, "Action: Login\r\nUsername: hello\r\nSecret: wrong\r\n\r\n"),
		  "Response: Error\r\nMessage: Authentication failed\r\n\r\n");
	CHECK_INT(r.last, AMIS_REJECT);
	CHECK(!amis_logged_in(r.s));
	run_close(&r);

	/* The user name is compared ignoring case, the secret exactly. */
	run_open(&r, "hello", "world");
	says(&r, "Action: Login\r\nUsername: HELLO\r\nSecret: world\r\nEvents: call\r\n\r\n");
	CHECK_INT(r.last, AMIS_LOGIN);
	CHECK_INT(amis_event_mask(r.s), 2);
	CHECK_STR(says(&r, LOGIN), "Response: Success\r\nMessage: Already authenticated\r\n\r\n");
	CHECK_INT(r.last, AMIS_DONE);
	/* Invalid/unknown command, its message cut at 511 bytes as Asterisk's is. */
	memset(msg, 'A', 600);
	msg[600] = '\0';
	snprintf(want, sizeof want, "Action: %s\r\n\r\n", msg);
	const char *got = says(&r, want);
	CHECK(!strncmp(got, "Response: Error\r\nMessage: Invalid/unknown command: AAAA", 54));
	CHECK_INT(strlen(got), strlen("Response: Error\r\nMessage: \r\n\r\n") + 511);
	CHECK_STR(says(&r, "Action: Logoff\r\nActionID: bye\r\n\r\n"),
		  "Response: Goodbye\r\nActionID: bye\r\nMessage: Thanks for all the fish.\r\n\r\n");
	CHECK_INT(r.last, AMIS_CLOSE);
	run_close(&r);

	/* MD5: no Challenge first, or an upper-case Key, fails. */
	char key[33], req[200];
	run_open(&r, "hello", "world");
	says(&r, "Action: Login\r\nAuthType: MD5\r\nUsername: hello\r\nKey: 0123\r\n\r\n");
	CHECK_INT(r.last, AMIS_REJECT);
	run_close(&r);
	run_open(&r, "hello", "world");
	const char *ch = strstr(says(&r, "Action: Challenge\r\nAuthType: md5\r\n\r\n"), "Challenge: ");
	char challenge[16] = "";
	if (CHECK(ch != NULL))
		sscanf(ch + 11, "%15[0-9]", challenge);
	CHECK(strstr(says(&r, "Action: Challenge\r\nAuthType: MD5\r\n\r\n"), challenge));
	md5_challenge_key(challenge, "world", key);
	for (char *k = key; *k; k++)
		*k = (char)toupper((unsigned char)*k);
	snprintf(req, sizeof req, "Action: Login\r\nAuthType: MD5\r\nUsername: hello\r\nKey: %s\r\n\r\n", key);
	says(&r, req);
	CHECK_INT(r.last, AMIS_REJECT);
	run_close(&r);
	run_open(&r, "hello", "world");
	ch = strstr(says(&r, "Action: Challenge\r\nAuthType: MD5\r\n\r\n"), "Challenge: ");
	sscanf(ch ? ch + 11 : "", "%15[0-9]", challenge);
	md5_challenge_key(challenge, "world", key);
	snprintf(req, sizeof req, "Action: Login\r\nAuthType: MD5\r\nUsername: hello\r\nKey: %s\r\n\r\n", key);
	CHECK_STR(says(&r, req), "Response: Success\r\nMessage: Authentication accepted\r\n\r\n");
	CHECK_INT(r.last, AMIS_LOGIN);
	run_close(&r);
}

/* ---------- event masks ---------- */

static unsigned mask_after(const char *events)
{
	struct run r;
	char req[200];
	unsigned m;

	run_open(&r, "hello", "world");
	snprintf(req, sizeof req, "Action: Login\r\nUsername: hello\r\nSecret: world\r\nEvents: %s\r\n\r\n",
		 events);
	says(&r, req);
	m = amis_event_mask(r.s);
	run_close(&r);
	return m;
}

static void test_masks(void)
{
	struct run r;
	char req[600];

	CHECK_INT(mask_after("on"), 0x7fffffff);
	CHECK_INT(mask_after("off"), 0);
	CHECK_INT(mask_after("1"), 1);              /* digits are a bitmask */
	CHECK_INT(mask_after("system,call"), 3);
	CHECK_INT(mask_after("sys,call"), 3);       /* a token before a comma is a prefix */
	CHECK_INT(mask_after("system,cal"), 1);     /* the last one must be whole */
	CHECK_INT(mask_after("sys,"), 1);           /* a trailing comma ends the list */
	CHECK_INT(mask_after("system,,call"), 0x7fffffff);  /* an empty token is everything */
	CHECK_INT(mask_after("bogus"), 0);
	CHECK_INT(mask_after(""), 0xffffffff);      /* empty: unchanged, every class */

	login(&r);
	CHECK_STR(says(&r, "Action: Events\r\nEventMask: bogus\r\nActionID: e\r\n\r\n"),
		  "Response: Success\r\nActionID: e\r\nEvents: Off\r\n\r\n");
	CHECK_STR(says(&r, "Action: Events\r\nEventMask: call\r\n\r\n"),
		  "Response: Success\r\nEvents: On\r\n\r\n");
	CHECK_STR(says(&r, "Action: Events\r\n\r\n"),
		  "Response: Error\r\nMessage: Invalid event mask\r\n\r\n");
	CHECK_INT(amis_event_mask(r.s), 2);
	/* The ActionID line of an Events answer is cut at 255 bytes. */
	memset(req, 0, sizeof req);
	strcpy(req, "Action: Events\r\nEventMask: on\r\nActionID: ");
	memset(req + strlen(req), 'i', 300);
	strcat(req, "\r\n\r\n");
	const char *got = says(&r, req);
	CHECK(!strncmp(got + strlen("Response: Success\r\n") + 255, "Events: On\r\n\r\n", 14));
	run_close(&r);

	CHECK_INT(amis_class_of("call,all", 8), 2);
	CHECK_INT(amis_class_of("system,call,all", 15), 3);
	CHECK_INT(amis_class_of("Call", 4), 2);
	CHECK_INT(amis_class_of("all", 3), 0);
	CHECK_INT(amis_class_of("bogus,dialplan", 14), 1 << 11);
	CHECK_INT(amis_class_of("", 0), 0);
}

/* ---------- filters ---------- */

static const char *const events[][2] = {
	{ "Newchannel", "Event: Newchannel\r\nPrivilege: call,all\r\nChannel: PJSIP/100-0001\r\n"
			"Uniqueid: 1.1\r\n\r\n" },
	{ "VarSet", "Event: VarSet\r\nPrivilege: dialplan,all\r\nChannel: Local/x@y-01;1\r\n"
		    "Variable: A\r\nValue: \r\n\r\n" },
	{ "Hangup", "Event: Hangup\r\nPrivilege: call,all\r\nChannel: PJSIP/100-0001\r\nCause: 16\r\n\r\n" },
};

/* "NVH" with '-' for each event the session does not get. */
static const char *which(struct run *r)
{
	static char out[4];

	for (size_t i = 0; i < 3; i++) {
		const char *e = events[i][1];
		unsigned cls = amis_class_of(strstr(e, "Privilege: ") + 11,
					     strcspn(strstr(e, "Privilege: ") + 11, "\r"));
		out[i] = amis_wants(r->s, e, strlen(e), events[i][0], strlen(events[i][0]), cls) ?
			 "NVH"[i] : '-';
	}
	out[3] = '\0';
	return out;
}

/* Adds filters "criteria|pattern" (criteria may be empty) and returns
 * which events pass; each Filter answer must be as good. */
static const char *filtered(const char *f1, const char *f2)
{
	static char got[4];
	const char *filters[] = { f1, f2 };
	struct run r;
	char req[300];

	login(&r);
	for (int i = 0; i < 2 && filters[i]; i++) {
		const char *bar = strchr(filters[i], '|');
		snprintf(req, sizeof req, "Action: Filter\r\nOperation: Add\r\nMatchCriteria: %.*s\r\n"
			 "Filter: %s\r\n\r\n", (int)(bar - filters[i]), filters[i], bar + 1);
		CHECKF(!strcmp(says(&r, req), "Response: Success\r\nMessage: Success\r\n\r\n"),
		       "Filter %s: %s", filters[i], r.out.p);
	}
	strcpy(got, which(&r));
	run_close(&r);
	return got;
}

static const char *filter_error(const char *criteria, const char *pattern)
{
	static char got[200];
	struct run r;
	char req[300];

	login(&r);
	snprintf(req, sizeof req, "Action: Filter\r\nOperation: Add\r\nMatchCriteria: %s\r\nFilter: %s\r\n\r\n",
		 criteria, pattern);
	snprintf(got, sizeof got, "%s", says(&r, req));
	CHECKF(!strcmp(which(&r), "NVH"), "a refused filter changed nothing: %s %s", criteria, pattern);
	run_close(&r);
	return got;
}

static void test_filters(void)
{
	static const char format[] = "Response: Error\r\nMessage: Filter was formatted incorrectly.  "
				     "Check the syntax of the filter given.\r\n\r\n";
	static const char compile[] = "Response: Error\r\nMessage: Filter did not compile.  "
				      "Check the syntax of the filter given.\r\n\r\n";
	struct run r;

	login(&r);
	CHECK_STR(which(&r), "NVH");
	CHECK_STR(says(&r, "Action: Filter\r\nOperation: Remove\r\nFilter: x\r\n\r\n"),
		  "Response: Error\r\nMessage: Unknown operation\r\n\r\n");
	says(&r, "Action: Events\r\nEventMask: dialplan\r\n\r\n");
	CHECK_STR(which(&r), "-V-");                /* the mask first */
	says(&r, "Action: Events\r\nEventMask: off\r\n\r\n");
	CHECK_STR(which(&r), "---");
	CHECK(!amis_wants(r.s, "Event: X\r\n\r\n", 12, "X", 1, 0));   /* even without Privilege */
	says(&r, "Action: Events\r\nEventMask: on\r\n\r\n");
	CHECK(amis_wants(r.s, "Event: X\r\n\r\n", 12, "X", 1, 0));
	run_close(&r);

	/* The legacy form: a regular expression on the whole event; '!' excludes. */
	CHECK_STR(filtered("|Event: Hangup", NULL), "--H");
	CHECK_STR(filtered("|!Event: VarSet", NULL), "N-H");
	CHECK_STR(filtered("|Channel: PJSIP", "|!Event: Hangup"), "N--");   /* includes, then excludes */
	CHECK_STR(filtered("|^Event: (Newchannel|Hangup)", NULL), "N-H");
	/* MatchCriteria: name, header (case counts in both), method. */
	CHECK_STR(filtered("name(VarSet),method(none)|", NULL), "-V-");
	CHECK_STR(filtered("name(varset),method(none)|", NULL), "---");
	CHECK_STR(filtered("action(exclude),name(VarSet),method(none)|", NULL), "N-H");
	CHECK_STR(filtered("header(Channel),method(starts_with)|Local/", NULL), "-V-");
	CHECK_STR(filtered("header(channel),method(starts_with)|Local/", NULL), "---");
	CHECK_STR(filtered("header(Channel:),method(ends_with)|0001", NULL), "N-H");
	CHECK_STR(filtered("method(exact),header(Cause)|16", NULL), "--H");
	CHECK_STR(filtered("name(Newchannel),header(Channel),method(contains)|100", NULL), "N--");
	CHECK_STR(filtered("name(Hangup),method(regex)|Cause: 1[0-9]", NULL), "--H");
	CHECK_STR(filtered("header(Value),method(none)|", NULL), "---");    /* empty values never match */
	/* ends_with on the whole event sees its blank line. */
	CHECK_STR(filtered("name(Hangup),method(ends_with)|16", NULL), "---");
	/* '!' excludes unless action() says otherwise. */
	CHECK_STR(filtered("name(Hangup),header(Cause),method(exact)|!16", NULL), "NV-");
	CHECK_STR(filtered("action(include),header(Cause),method(exact)|!16", NULL), "--H");
	/* What Asterisk refuses. */
	CHECK_STR(filter_error("name(Newchannel),method(sideways)", "x"), format);
	CHECK_STR(filter_error("name(Newchannel)", "x"), format);      /* a pattern needs a method */
	CHECK_STR(filter_error("name(Newchannel),method(exact)", ""), format);
	CHECK_STR(filter_error("action(maybe),name(X)", ""), format);
	CHECK_STR(filter_error("method(none)", ""), format);            /* neither name nor header */
	CHECK_STR(filter_error("name(X),method(EXACT)", "y"), format);
	CHECK_STR(filter_error("name", "x"), format);
	CHECK_STR(filter_error("", ""), format);
	CHECK_STR(filter_error("", "!"), format);
	CHECK_STR(filter_error("", "Event: (Hangup"), compile);
	/* Nested bounds would make regcomp build millions of copies (gigabytes):
	 * refused as not compiled, while a long flat pattern is fine. */
	CHECK_STR(filter_error("", "a{255}{255}{255}"), compile);
	CHECK_STR(filter_error("", "(x(a{50}){50}){2}"), compile);
	CHECK_STR(filter_error("", "[[:digit:]{]{200}{200}"), compile);
	CHECK_STR(filtered("|^Event: (Newchannel|Hangup){1,3}[0-9]{0,40}", NULL), "N-H");
	CHECK_STR(filtered("|(a{40}){40}|Event: Hangup", NULL), "--H");
	CHECK_STR(filter_error("", "(x*){0,3000}"), compile);   /* 250 MB */
	CHECK_STR(filter_error("", "a){25555}{255}"), compile);  /* ')' alone is a literal */
	CHECK_STR(filter_error("", "a{,255}{,255}{,255}"), compile);
	CHECK_STR(filter_error("", "(.*)(.*)\\2\\1x"), compile);   /* back-references: slow */
	/* The regexes of one session share the budget. */
	login(&r);
	CHECK_STR(says(&r, "Action: Filter\r\nOperation: Add\r\nFilter: (a{31}){31}\r\n\r\n"),
		  "Response: Success\r\nMessage: Success\r\n\r\n");
	CHECK_STR(says(&r, "Action: Filter\r\nOperation: Add\r\nFilter: (b{31}){31}\r\n\r\n"), compile);
	run_close(&r);
}

/* ---------- the replay store ---------- */

static void test_replay(void)
{
	struct replay r;
	const char *a = "Event: Newchannel\r\nPrivilege: call,all\r\nChannel: X\r\n"
			"ReceivedAt: 2026-12-06T10:00:00.000+00:00\r\n\r\n";
	const char *b = "Response: Success\r\nMessage: x\r\n\r\n";
	const char *c = "Event: Hangup\r\nPrivilege: call,all\r\n\r\n";
	struct ami_msg m;

	replay_init(&r);
	CHECK_INT(replay_add_wire(&r, a, strlen(a), 100.0), 1);
	CHECK_INT(replay_add_wire(&r, b, strlen(b), 101.0), 0);     /* not an event */
	CHECK_INT(replay_add_wire(&r, c, strlen(c), 102.5), 1);
	CHECK_INT(replay_add_wire(&r, c, strlen(c), 101.0), 1);     /* back in time: kept in order */
	CHECK_INT(replay_add_wire(&r, c, strlen(c), NAN), 1);
	CHECK_INT(r.n, 4);
	static const char kept[] = "Event: Newchannel\r\nPrivilege: call,all\r\nChannel: X\r\n\r\nEvent: Hangup";
	CHECK(!memcmp(r.buf, kept, sizeof kept - 1));
	CHECK_INT(r.ev[0].at_us, 0);
	CHECK_INT(r.ev[1].at_us, 2500000);
	CHECK_INT(r.ev[2].at_us, 2500000);
	CHECK_INT(r.ev[3].at_us, 2500000);
	CHECK_INT(r.ev[0].cls, 2);
	CHECK(!memcmp(r.buf + r.ev[1].off + r.ev[1].name_off, "Hangup", 6) && r.ev[1].name_len == 6);
	CHECK_INT(replay_period_us(&r), 2500000 + 2500000 / 3);
	replay_free(&r);

	/* From a message: a line without a name comes back as it was. */
	replay_init(&r);
	ami_msg_init(&m);
	ami_msg_add(&m, "Event", "UserEvent");
	ami_msg_add(&m, "", "free text");
	ami_msg_add(&m, "ReceivedAt", "2026-12-06T10:00:00.000+00:00");
	CHECK_INT(replay_add_msg(&r, &m, NAN), 1);
	CHECK(r.len == 31 && !memcmp(r.buf, "Event: UserEvent\r\nfree text\r\n\r\n", 31));
	CHECK_INT(r.ev[0].cls, 0);
	CHECK_INT(replay_period_us(&r), 1000000);
	ami_msg_free(&m);
	replay_free(&r);
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "tests/captures/asterisk-22";

	test_captures(dir);
	test_framing();
	test_login();
	test_masks();
	test_filters();
	test_replay();
	return check_summary();
}
