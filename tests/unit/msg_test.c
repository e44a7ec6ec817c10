/* msg_test.c - unit tests for common/msg.c: every framing quirk, the limits,
 * the builder, and every *.recv.raw capture parsed in one feed, in two feeds
 * split at every byte, and one byte at a time.
 *
 *   tests/unit/msg_test [CAPTURE_DIR]     (default tests/captures/asterisk-22,
 *                                          relative to the repo root)
 * Files over 64 KiB are cut in a window around each cut, in linear time;
 * MSG_TEST_FULL=1 re-parses the whole file for every cut (~20 s).
 * Prints one line per failed check, then "N passed, N failed"; exit 1 on failure. */
#define _POSIX_C_SOURCE 200809L
#include "check.h"
#include "msg.h"
#include "ref_parser.h"
#include "util.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHECK_PARSE(lit, banner, want) \
	check_parse(lit, sizeof(lit) - 1, banner, NULL, want, __LINE__)
#define CHECK_PARSE_LIM(lit, lim, want) \
	check_parse(lit, sizeof(lit) - 1, 0, lim, want, __LINE__)

/* ---------- a growing string ---------- */

struct sb {
	char *s;
	size_t n, cap;
};

static void sb_add(struct sb *b, const char *s, size_t len)
{
	if (b->cap - b->n < len + 1) {
		while (b->cap - b->n < len + 1)
			b->cap = b->cap ? b->cap * 2 : 256;
		b->s = xrealloc(b->s, b->cap);
	}
	memcpy(b->s + b->n, s, len);
	b->n += len;
	b->s[b->n] = '\0';
}

static void sb_str(struct sb *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

/* Bytes a test would not see otherwise are shown as \xNN. */
static void sb_escaped(struct sb *b, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		char hex[8];
		if (c < 0x20 || c >= 0x7f || c == '|' || c == '\\') {
			snprintf(hex, sizeof hex, "\\x%02x", c);
			sb_str(b, hex);
		} else {
			sb_add(b, s + i, 1);
		}
	}
}

/* "Name=value|Name=value" */
static void render_msg(struct sb *b, const struct ami_msg *m)
{
	for (size_t i = 0; i < m->n; i++) {
		if (i)
			sb_str(b, "|");
		sb_escaped(b, ami_msg_name(m, i), m->h[i].name_len);
		sb_str(b, "=");
		sb_escaped(b, ami_msg_value(m, i), m->h[i].value_len);
	}
}

/* ---------- parsing in pieces ---------- */

struct run {
	struct ami_msg *m;
	size_t n, cap;
	int rc;             /* last ami_parser_next(): 0 or -1 */
	char err[128];
	char *banner;
	size_t *end;        /* ref_split: where each message's blank line ends */
};

static void run_free(struct run *r)
{
	for (size_t i = 0; i < r->n; i++)
		ami_msg_free(&r->m[i]);
	free(r->m);
	free(r->banner);
	free(r->end);
	memset(r, 0, sizeof *r);
}

/* Appends a copy of m to the run. */
static void keep(struct run *r, const struct ami_msg *m)
{
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 16;
		r->m = xrealloc(r->m, r->cap * sizeof *r->m);
	}
	ami_msg_init(&r->m[r->n]);
	ami_msg_copy(&r->m[r->n++], m);
}

static int drain(struct ami_parser *p, struct run *r, struct ami_msg *tmp)
{
	int x;

	while ((x = ami_parser_next(p, tmp)) > 0) {
		keep(r, tmp);
	}
	if (x < 0)
		snprintf(r->err, sizeof r->err, "%s", ami_parser_error(p));
	return x;
}

/* Feeds d in pieces: the first cut bytes then the rest (step 0, with
 * ami_parser_feed), or step bytes at a time through space/commit. */
static void run_parse(struct run *r, const char *d, size_t len, int banner,
		      const struct ami_limits *lim, size_t cut, size_t step)
{
	struct ami_parser *p = ami_parser_new(lim, banner);
	struct ami_msg tmp;
	size_t pos = 0;

	memset(r, 0, sizeof *r);
	ami_msg_init(&tmp);
	while (pos < len && r->rc == 0) {
		size_t n = step ? step : (pos == 0 && cut ? cut : len - pos), room;
		if (n > len - pos)
			n = len - pos;
		if (step) {
			char *dst = ami_parser_space(p, &room);
			if (n > room)
				n = room;
			memcpy(dst, d + pos, n);
			ami_parser_commit(p, n);
		} else if (ami_parser_feed(p, d + pos, n) < 0) {
			r->rc = -1;
			snprintf(r->err, sizeof r->err, "%s", ami_parser_error(p));
			break;
		}
		pos += n;
		r->rc = drain(p, r, &tmp);
	}
	if (len == 0)
		r->rc = drain(p, r, &tmp);
	if (ami_parser_banner(p))
		r->banner = xstrdup(ami_parser_banner(p));
	ami_msg_free(&tmp);
	ami_parser_free(p);
}

/* The same through the old line-by-line parser (ref_parser.h), in pieces
 * of step bytes (0: one feed). */
static void run_ref(struct run *r, const char *d, size_t len, int banner,
		    const struct ami_limits *lim, size_t step)
{
	struct ref_parser *p = ref_parser_new(lim, banner);
	struct ami_msg tmp;
	size_t pos = 0;
	int x = 0;

	memset(r, 0, sizeof *r);
	ami_msg_init(&tmp);
	while ((pos < len || (len == 0 && pos == 0)) && x == 0) {
		size_t n = step && step < len - pos ? step : len - pos;
		ref_parser_feed(p, d + pos, n);
		pos += n;
		while ((x = ref_parser_next(p, &tmp)) > 0) {
			keep(r, &tmp);
		}
		if (len == 0)
			break;
	}
	r->rc = x;
	if (x < 0)
		snprintf(r->err, sizeof r->err, "%s", ref_parser_error(p));
	if (ref_parser_banner(p))
		r->banner = xstrdup(ref_parser_banner(p));
	ami_msg_free(&tmp);
	ref_parser_free(p);
}

/* Views taken one by one, split at once or later (alternating), copied. */
static void run_views(struct run *r, const char *d, size_t len, int banner,
		      const struct ami_limits *lim, size_t step)
{
	struct ami_parser *p = ami_parser_new(lim, banner);
	struct ami_msg tmp;
	struct ami_view v;
	size_t pos = 0;
	int x = 0, k = 0;

	memset(r, 0, sizeof *r);
	ami_msg_init(&tmp);
	while ((pos < len || (len == 0 && pos == 0)) && x == 0) {
		size_t n = step && step < len - pos ? step : len - pos;
		ami_parser_feed(p, d + pos, n);
		pos += n;
		while ((x = ami_parser_next_view(p, &v, k++ & 1)) > 0) {
			ami_parser_split(p, &v);
			ami_msg_from_view(&tmp, &v);
			keep(r, &tmp);
		}
		if (len == 0)
			break;
	}
	r->rc = x;
	if (x < 0)
		snprintf(r->err, sizeof r->err, "%s", ami_parser_error(p));
	if (ami_parser_banner(p))
		r->banner = xstrdup(ami_parser_banner(p));
	ami_msg_free(&tmp);
	ami_parser_free(p);
}

static char *render_run(const struct run *r)
{
	struct sb b = { 0 };

	sb_str(&b, "");
	for (size_t i = 0; i < r->n; i++) {
		if (i)
			sb_str(&b, "\n");
		render_msg(&b, &r->m[i]);
	}
	if (r->rc < 0) {
		sb_str(&b, b.n ? "\nERROR: " : "ERROR: ");
		sb_str(&b, r->err);
	}
	return b.s;
}

/* Parses in one feed, in two feeds split at every byte, and one byte at a
 * time; all must render the same, and that must be want. */
static void check_parse(const char *d, size_t len, int banner, const struct ami_limits *lim,
			const char *want, int line)
{
	struct run r;
	char *one, *other;

	run_parse(&r, d, len, banner, lim, 0, 0);
	one = render_run(&r);
	run_free(&r);
	check_str_at(__FILE__, line, one, want, "one feed");
	for (size_t cut = 1; cut <= len; cut++) {
		run_parse(&r, d, len, banner, lim, cut, cut == len ? 1 : 0);
		other = render_run(&r);
		run_free(&r);
		if (!check_at(__FILE__, line, !strcmp(one, other),
			      "split at %zu%s gives \"%s\", one feed \"%s\"", cut,
			      cut == len ? " (byte by byte)" : "", other, one)) {
			free(other);
			break;
		}
		free(other);
	}
	free(one);
}

/* ---------- framing quirks ---------- */

static void test_banner(void)
{
	struct ami_parser *p = ami_parser_new(NULL, 1);
	struct ami_msg m;
	struct run r;

	ami_msg_init(&m);
	ami_parser_feed(p, "Asterisk Call", 13);
	CHECK(ami_parser_next(p, &m) == 0);
	CHECK(ami_parser_banner(p) == NULL);
	ami_parser_feed(p, " Manager/11.0.0\r\nResponse: Success\r\n", 36);
	CHECK(ami_parser_next(p, &m) == 0);
	CHECK_STR(ami_parser_banner(p), "Asterisk Call Manager/11.0.0");
	ami_parser_feed(p, "\r\n", 2);
	CHECK(ami_parser_next(p, &m) == 1);
	CHECK_STR(ami_msg_get(&m, "Response"), "Success");
	ami_msg_free(&m);
	ami_parser_free(p);

	CHECK_PARSE("Asterisk Call Manager/11.0.0\r\nResponse: Success\r\nMessage: Authentication "
		    "accepted\r\n\r\n", 1, "Response=Success|Message=Authentication accepted");
	CHECK_PARSE("Asterisk Call Manager/1.1\nEvent: X\n\n", 1, "Event=X");
	CHECK_PARSE("Asterisk Call Manager/11.0.0\r\n", 1, "");
	/* No banner expected (HTTP bodies): the first line is a header. */
	CHECK_PARSE("Asterisk Call Manager/11.0.0\r\nA: b\r\n\r\n", 0,
		    "=Asterisk Call Manager/11.0.0|A=b");
	/* Any first line is kept as-is; the session layer judges it. */
	run_parse(&r, "SSH-2.0-OpenSSH_9.2\r\n", 21, 1, NULL, 0, 0);
	CHECK_STR(r.banner, "SSH-2.0-OpenSSH_9.2");
	CHECK(r.n == 0);
	run_free(&r);
	run_parse(&r, "Asterisk Call Manager/11.0.0\n", 29, 1, NULL, 0, 1);
	CHECK_STR(r.banner, "Asterisk Call Manager/11.0.0");
	run_free(&r);
}

static void test_line_ends(void)
{
	CHECK_PARSE("Action: Ping\nActionID: x\n\n", 0, "Action=Ping|ActionID=x");
	CHECK_PARSE("A: 1\r\nB: 2\nC: 3\r\n\r\nD: 4\n\n", 0, "A=1|B=2|C=3\nD=4");
	/* Asterisk's astman_send_error(..."text\n"): "Message: text\n\r\n\r\n". */
	CHECK_PARSE("Response: Error\r\nActionID: 7\r\nMessage: CoreShowChannelMap requires a "
		    "channel.\n\r\n\r\nResponse: Success\r\nActionID: 8\r\n\r\n", 0,
		    "Response=Error|ActionID=7|Message=CoreShowChannelMap requires a channel.\n"
		    "Response=Success|ActionID=8");
	/* The stray "\r\n" is no separator even when a header follows it. */
	CHECK_PARSE("Response: Success\r\nMessage: Message move failed\n\r\nFoo: bar\r\n\r\n", 0,
		    "Response=Success|Message=Message move failed|Foo=bar");
	/* Only one "\r\n" is swallowed; the next one ends the message. */
	CHECK_PARSE("A: 1\n\r\n\r\nB: 2\r\n\r\n", 0, "A=1\nB=2");
	/* A bare "\n" blank line does end it, even after a bare-LF line. */
	CHECK_PARSE("A: 1\n\nB: 2\r\n\r\n", 0, "A=1\nB=2");
	/* "\r\n\n" endings (asterisk/asterisk#761). */
	CHECK_PARSE("Event: CoreShowChannelMap\r\nA: 1\r\n\nEvent: B\r\n\r\n", 0,
		    "Event=CoreShowChannelMap|A=1\nEvent=B");
	/* Runs of blank lines are one separator; leading blanks are skipped. */
	CHECK_PARSE("\r\n\r\n\nEvent: A\r\n\r\n\r\n\n\r\n\nEvent: B\r\n\r\n\r\n", 0,
		    "Event=A\nEvent=B");
	/* Incomplete message: nothing yet. */
	CHECK_PARSE("Event: A\r\nB: c\r\n", 0, "");
	/* A stray CR before CRLF stays in the value. */
	CHECK_PARSE("A: b\r\r\n\r\n", 0, "A=b\\x0d");
	CHECK_PARSE("A: b\rc\r\n\r\n", 0, "A=b\\x0dc");
}

static void test_headers(void)
{
	CHECK_PARSE("AppData: TestEvent,Foo: bar\r\nRequestType: Action: FooBar\r\n\r\n", 0,
		    "AppData=TestEvent,Foo: bar|RequestType=Action: FooBar");
	/* One space is the separator; more are part of the value. */
	CHECK_PARSE("Output:     indented\r\nA:  two\r\n\r\n", 0, "Output=    indented|A= two");
	CHECK_PARSE("Key:value\r\nReportBlock:\r\nAccountCode: \r\n\r\n", 0,
		    "Key=value|ReportBlock=|AccountCode=");
	CHECK_PARSE("ChanVariable(Local/a-0001;1): x=y\r\n\r\n", 0,
		    "ChanVariable(Local/a-0001;1)=x=y");
	CHECK_PARSE("ChanVariable(IAX2/127.0.0.1:4569-9904): CDR(x)=1:2\r\n\r\n", 0,
		    "ChanVariable(IAX2/127.0.0.1:4569-9904)=CDR(x)=1:2");
	CHECK_PARSE("F(a(b:c)d:e): v\r\n\r\n", 0, "F(a(b:c)d:e)=v");
	CHECK_PARSE("Unbalanced(x: y\r\n\r\n", 0, "Unbalanced(x=y");
	CHECK_PARSE("Channel: IAX2/127.0.0.1:4569-9904\r\n\r\n", 0,
		    "Channel=IAX2/127.0.0.1:4569-9904");
	CHECK_PARSE("No queues have been created.\r\n\r\n", 0, "=No queues have been created.");
	CHECK_PARSE(": value\r\n A: b\r\n\r\n", 0, "=value| A=b");
	CHECK_PARSE("Variable: a=1\r\nVariable: b=2\r\nvariable: c\r\n\r\n", 0,
		    "Variable=a=1|Variable=b=2|variable=c");
	CHECK_PARSE("CallerIDName: \xe9t\xe9 \xd0\r\n\r\n", 0, "CallerIDName=\\xe9t\\xe9 \\xd0");
	CHECK_PARSE("A: x\0y\r\nB\0C: z\r\n\r\n", 0, "A=x\\x00y|B\\x00C=z");
	/* The name scan goes 8 bytes at a time: colons at and around 8, 16. */
	CHECK_PARSE("ABCDEFG: 7\r\nABCDEFGH: 8\r\nABCDEFGHI: 9\r\nABCDEFGHIJKLMNOP: 16\r\n"
		    "ABCDEFGHIJKLMNO:15\r\nABCDEFGHIJKLMNOPQRSTU(x:y)VW: 1\r\n\r\n", 0,
		    "ABCDEFG=7|ABCDEFGH=8|ABCDEFGHI=9|ABCDEFGHIJKLMNOP=16|ABCDEFGHIJKLMNO=15|"
		    "ABCDEFGHIJKLMNOPQRSTU(x:y)VW=1");
	/* ':' and '(' with the high bit set are not ':' and '('. */
	CHECK_PARSE("\xba\xa8\xba\xa8\xba\xa8\xba\xa8\xba\xa8: v\r\n\r\n", 0,
		    "\\xba\\xa8\\xba\\xa8\\xba\\xa8\\xba\\xa8\\xba\\xa8=v");
}

static void test_lookup(void)
{
	struct run r;
	const struct ami_msg *m;
	static const char in[] = "Event: VarSet\r\nVariable: a\r\nVARIABLE: b\r\nAccountCode: \r\n"
				 "X: a\0b\r\n\r\n";

	run_parse(&r, in, sizeof in - 1, 0, NULL, 0, 0);
	CHECK(r.n == 1);
	if (r.n != 1)
		return;
	m = &r.m[0];
	CHECK_STR(ami_msg_get(m, "variable"), "a");
	CHECK(ami_msg_count(m, "Variable") == 2);
	CHECK(ami_msg_count(m, "Nope") == 0);
	CHECK(ami_msg_get(m, "Nope") == NULL);
	CHECK_STR(ami_msg_get(m, "accountcode"), "");
	CHECK(m->h[4].value_len == 3 && !memcmp(ami_msg_value(m, 4), "a\0b", 4));
	CHECK(ami_msg_name(m, 0)[m->h[0].name_len] == '\0');
	CHECK(ami_msg_is_event(m));
	run_free(&r);
}

static void test_is_event(void)
{
	struct ami_msg m;

	ami_msg_init(&m);
	ami_msg_add(&m, "Response", "Success");
	CHECK(!ami_msg_is_event(&m));
	ami_msg_clear(&m);
	ami_msg_add(&m, "Response", "Failure");
	ami_msg_add(&m, "Event", "OriginateResponse");
	CHECK(ami_msg_is_event(&m));
	ami_msg_clear(&m);
	ami_msg_add(&m, "event", "x");
	CHECK(ami_msg_is_event(&m));
	ami_msg_free(&m);
}

/* ---------- old Command format (Asterisk <= 13) ---------- */

static void test_command(void)
{
	CHECK_PARSE("Response: Follows\r\nPrivilege: Command\r\nActionID: 42\r\n"
		    "Asterisk 11.25.3 built by root\nline: with colon\n\n  indented\n"
		    "Response: Success\n--END COMMAND--\r\n\r\nResponse: Success\r\nActionID: 43\r\n\r\n",
		    0, "Response=Follows|Privilege=Command|ActionID=42|Output=Asterisk 11.25.3 built by "
		    "root|Output=line: with colon|Output=|Output=  indented|Output=Response: Success\n"
		    "Response=Success|ActionID=43");
	/* No ActionID; the marker ends the last output line. */
	CHECK_PARSE("Response: Follows\r\nPrivilege: Command\r\nfoo\nbar--END COMMAND--\r\n\r\n", 0,
		    "Response=Follows|Privilege=Command|Output=foo|Output=bar");
	/* Blank lines after ActionID (PAMI#88) are dropped. */
	CHECK_PARSE("Response: Follows\r\nPrivilege: Command\r\nActionID: 1\r\n\r\n\nNo such command "
		    "'x'\n--END COMMAND--\r\n\r\n", 0,
		    "Response=Follows|Privilege=Command|ActionID=1|Output=No such command 'x'");
	/* Empty output. */
	CHECK_PARSE("Response: Follows\r\nPrivilege: Command\r\nActionID: 1\r\n--END COMMAND--\r\n\r\n",
		    0, "Response=Follows|Privilege=Command|ActionID=1");
	/* The next message may follow the marker at once; case does not matter. */
	CHECK_PARSE("response: follows\r\nprivilege: Command\r\nx\r\n\r\ny\r\n--END COMMAND--\r\n"
		    "Event: X\r\n\r\n", 0,
		    "response=follows|privilege=Command|Output=x|Output=|Output=y\nEvent=X");
	/* With a banner in front, and fed in pieces (check_parse does every split). */
	CHECK_PARSE("Asterisk Call Manager/1.3\r\nResponse: Follows\r\nPrivilege: Command\r\n"
		    "a: b\n--END COMMAND--\r\n\r\n", 1,
		    "Response=Follows|Privilege=Command|Output=a: b");
	/* Response: Follows that is not first is an ordinary header. */
	CHECK_PARSE("Event: X\r\nResponse: Follows\r\nA: b\r\n\r\n", 0,
		    "Event=X|Response=Follows|A=b");
}

/* ---------- limits ---------- */

static void test_limits(void)
{
	struct ami_limits small = { .max_line = 16, .max_headers = 3, .max_msg = 64 };
	struct ami_parser *p;
	struct ami_msg m;
	char *big;
	size_t n;

	CHECK_PARSE_LIM("A: 0123456789abc\r\n\r\n", &small, "A=0123456789abc");
	CHECK_PARSE_LIM("A: 0123456789abcd\r\n\r\n", &small, "ERROR: line longer than 16 bytes");
	CHECK_PARSE_LIM("E: 1\r\n\r\nA: 0123456789abcdefghij", &small,
			"E=1\nERROR: line longer than 16 bytes");
	/* 17 bytes ending in '\r' may still be a 16-byte line. */
	CHECK_PARSE_LIM("A: 0123456789abc\r", &small, "");
	CHECK_PARSE_LIM("A: 1\r\nB: 2\r\nC: 3\r\n\r\n", &small, "A=1|B=2|C=3");
	small.max_line = 32;
	CHECK_PARSE_LIM("A: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n", &small,
			"ERROR: more than 3 headers in one message");
	CHECK_PARSE_LIM("Response: Follows\r\nPrivilege: Command\r\n1\n2\n--END COMMAND--\r\n\r\n",
			&small, "ERROR: more than 3 headers in one message");
	small.max_headers = 100;
	CHECK_PARSE_LIM("A: 0123456789\r\nB: 0123456789\r\nC: 0123456789\r\nD: 0123456789\r\n"
			"E: 0123456789\r\n\r\n", &small, "ERROR: message larger than 64 bytes");
	CHECK_PARSE_LIM("Response: Follows\r\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n"
			"\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n", &small,
			"ERROR: message larger than 64 bytes");

	/* Default limits, and what happens after an error. */
	p = ami_parser_new(NULL, 0);
	ami_msg_init(&m);
	n = 65537;
	big = xmalloc(n + 2);
	memset(big, 'x', n);
	memcpy(big, "A: ", 3);
	memcpy(big + n, "\r\n", 2);
	CHECK(ami_parser_feed(p, big, n) == 0);
	CHECK(ami_parser_next(p, &m) == 0);
	ami_parser_feed(p, big + n, 2);
	CHECK(ami_parser_next(p, &m) == -1);
	CHECK_STR(ami_parser_error(p), "line longer than 65536 bytes");
	CHECK(ami_parser_next(p, &m) == -1);
	CHECK(ami_parser_feed(p, "\r\n", 2) == -1);
	ami_parser_reset(p, 0);
	CHECK_STR(ami_parser_error(p), "");
	ami_parser_feed(p, "A: b\r\n\r\n", 8);
	CHECK(ami_parser_next(p, &m) == 1 && m.n == 1);
	free(big);

	big = xmalloc(20001 * 6 + 2);
	for (size_t i = 0; i < 20001; i++)
		memcpy(big + i * 6, "A: b\r\n", 6);
	ami_parser_feed(p, big, 20000 * 6);
	CHECK(ami_parser_next(p, &m) == 0);
	memcpy(big + 20001 * 6, "\r\n", 2);
	ami_parser_feed(p, big + 20000 * 6, 8);
	CHECK(ami_parser_next(p, &m) == -1);
	CHECK_STR(ami_parser_error(p), "more than 20000 headers in one message");
	free(big);
	ami_msg_free(&m);
	ami_parser_free(p);

	/* 16 MiB: a long CLI output in the old format. */
	p = ami_parser_new(NULL, 0);
	ami_msg_init(&m);
	ami_parser_feed(p, "Response: Follows\r\nPrivilege: Command\r\n", 40);
	big = xmalloc(1 << 20);
	memset(big, 'y', 1 << 20);
	for (size_t i = 1023; i < 1 << 20; i += 1024)
		big[i] = '\n';
	n = 0;
	for (int i = 0; i < 20 && n == 0; i++) {
		ami_parser_feed(p, big, 1 << 20);
		n = ami_parser_next(p, &m) < 0;
	}
	CHECK(n == 1);
	CHECK_STR(ami_parser_error(p), "message larger than 16777216 bytes");
	free(big);
	ami_msg_free(&m);
	ami_parser_free(p);
}

/* ---------- feeding ---------- */

static double seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A 4 MiB line fed a byte at a time must not be re-scanned each time
 * (that would take minutes; give up after 10 s). */
static void test_linear(void)
{
	struct ami_limits lim = { .max_line = 8 << 20, .max_headers = 10, .max_msg = 16 << 20 };
	struct ami_parser *p = ami_parser_new(&lim, 0);
	struct ami_msg m;
	size_t n = 4 << 20, i, room;
	double t = seconds();
	int r = 0;

	ami_msg_init(&m);
	ami_parser_feed(p, "A: ", 3);
	for (i = 0; i < n && r == 0; i++) {
		char *dst = ami_parser_space(p, &room);
		*dst = 'z';
		ami_parser_commit(p, 1);
		r = ami_parser_next(p, &m);
		if (i % 65536 == 0 && seconds() - t > 10)
			break;
	}
	ami_parser_feed(p, "\r\n\r\n", 4);
	r = ami_parser_next(p, &m);
	t = seconds() - t;
	CHECK(r == 1 && m.n == 1 && m.h[0].value_len == n);
	CHECKF(t < 5, "%zu bytes fed byte by byte took %.1f s", i, t);
	CHECK(ami_parser_pending(p) == 0);
	ami_msg_free(&m);
	ami_parser_free(p);
}

/* A long stream read through space/commit keeps a fixed-size buffer. */
static void test_bounded(void)
{
	struct ami_parser *p = ami_parser_new(NULL, 0);
	struct ami_msg m;
	static const char ev[] = "Event: UserEvent\r\nUserEvent: Flood\r\nData: 0123456789\r\n\r\n";
	size_t off = 0, msgs = 0, maxroom = 0, room, total = 0;

	ami_msg_init(&m);
	while (total < (32u << 20)) {
		char *dst = ami_parser_space(p, &room);
		size_t n = room < 1500 ? room : 1500;      /* like TCP segments */
		if (room > maxroom)
			maxroom = room;
		for (size_t i = 0; i < n; i++) {
			dst[i] = ev[off++];
			off %= sizeof ev - 1;
		}
		ami_parser_commit(p, n);
		total += n;
		while (ami_parser_next(p, &m) > 0)
			msgs++;
	}
	CHECK(msgs == total / (sizeof ev - 1));
	CHECKF(maxroom <= 256 * 1024, "the input buffer grew to %zu bytes", maxroom);
	ami_msg_free(&m);
	ami_parser_free(p);
}

static void test_space_commit(void)
{
	struct ami_parser *p = ami_parser_new(NULL, 1);
	struct ami_msg m;
	const char *in = "Asterisk Call Manager/11.0.0\r\nEvent: A\r\n\r\nEvent: B\r\nX";
	size_t room;
	char *dst = ami_parser_space(p, &room);

	ami_msg_init(&m);
	ami_msg_add(&m, "Old", "content");
	CHECK(dst != NULL && room >= 4096);
	memcpy(dst, in, strlen(in));
	ami_parser_commit(p, strlen(in));
	CHECK(ami_parser_pending(p) == strlen(in));
	CHECK(ami_parser_next(p, &m) == 1);
	CHECK(m.n == 1 && !strcmp(ami_msg_name(&m, 0), "Event") && !strcmp(ami_msg_value(&m, 0), "A"));
	CHECK(ami_parser_next(p, &m) == 0);
	/* An unfinished message keeps its bytes (a view will point at them):
	 * "Event: B\r\n" and the "X" of an unfinished line. */
	CHECK(ami_parser_pending(p) == 11);
	dst = ami_parser_space(p, &room);
	memcpy(dst, ": y\r\n\r\n", 7);
	ami_parser_commit(p, 7);
	CHECK(ami_parser_next(p, &m) == 1);
	CHECK(m.n == 2);
	CHECK_STR(ami_msg_get(&m, "x"), "y");
	CHECK(ami_parser_pending(p) == 0);
	ami_msg_free(&m);
	ami_parser_free(p);
}

/* Steady state: the parser and the caller trade two arenas, nothing else. */
static void test_no_alloc(void)
{
	struct ami_parser *p = ami_parser_new(NULL, 0);
	struct ami_msg m;
	static const char ev[] = "Event: Newchannel\r\nChannel: Local/a-00000001;1\r\nA: 1\r\nB: 2\r\n"
				 "AccountCode: \r\n\r\n";
	const char *seen[4] = { 0 };
	size_t nseen = 0, msgs = 0;
	int extra = 0;

	ami_msg_init(&m);
	for (int round = 0; round < 200; round++) {
		for (int i = 0; i < 50; i++)
			ami_parser_feed(p, ev, sizeof ev - 1);
		while (ami_parser_next(p, &m) > 0) {
			size_t k;
			msgs++;
			if (round < 2)
				continue;
			for (k = 0; k < nseen && seen[k] != m.arena; k++)
				;
			if (k == nseen) {
				if (nseen < 4)
					seen[nseen++] = m.arena;
				extra += nseen > 2;
			}
		}
	}
	CHECK(msgs == 200 * 50);
	CHECKF(nseen <= 2 && !extra, "%zu different arenas in steady state", nseen);
	ami_msg_free(&m);
	ami_parser_free(p);
}

/* ---------- builder ---------- */

static void test_builder(void)
{
	struct ami_msg m, c;
	char err[200], *wire;
	char *big = xmalloc(1100);
	size_t len;

	ami_msg_init(&m);
	ami_msg_init(&c);
	CHECK(ami_msg_add(&m, "Action", "Originate") == 0);
	CHECK(ami_msg_add(&m, "Variable", "a=1\r\nAction: Hangup") == -1);
	CHECK(ami_msg_add(&m, "Variable", "a=1\nx") == -1);
	CHECK(ami_msg_add(&m, "Vari\rable", "a") == -1);
	CHECK(ami_msg_addn(&m, "Variable", 8, "a\0b", 3) == -1);
	CHECK(ami_msg_addn(&m, "Var\0", 4, "ab", 2) == -1);
	CHECK(ami_msg_addn(&m, "Variablexx", 8, "a=1zz", 3) == 0);
	CHECK(m.n == 2);
	CHECK_STR(ami_msg_get(&m, "VARIABLE"), "a=1");
	CHECK(ami_msg_add(&m, "Variable", "b=2") == 0);
	CHECK(ami_msg_check_send(&m, err, sizeof err) == 0 && err[0] == '\0');
	len = ami_msg_format(&m, &wire);
	CHECK_STR(wire, "Action: Originate\r\nVariable: a=1\r\nVariable: b=2\r\n\r\n");
	CHECK(len == strlen(wire));
	free(wire);

	/* set: replace the first, drop later ones, or add; a value taken
	 * from the message itself survives the arena growing. */
	CHECK(ami_msg_set(&m, "variable", "c=3") == 0);
	CHECK(m.n == 2 && ami_msg_count(&m, "Variable") == 1);
	CHECK_STR(ami_msg_get(&m, "Variable"), "c=3");
	CHECK(ami_msg_set(&m, "ActionID", "x1") == 0);
	CHECK(ami_msg_set(&m, "ActionID", "x\n") == -1);
	CHECK_STR(ami_msg_get(&m, "ActionID"), "x1");
	for (int i = 0; i < 200; i++)
		ami_msg_set(&m, "Copy", ami_msg_get(&m, "Action"));
	CHECK_STR(ami_msg_get(&m, "Copy"), "Originate");
	for (int i = 0; i < 200; i++)       /* the name, too, from the arena */
		ami_msg_set(&m, ami_msg_name(&m, 0), ami_msg_value(&m, m.n - 1));
	CHECK_STR(ami_msg_get(&m, "Action"), "Originate");
	CHECK(m.n == 4);
	ami_msg_add(&m, ami_msg_name(&m, 0), ami_msg_value(&m, 0));
	CHECK(ami_msg_count(&m, "action") == 2);
	CHECK_STR(ami_msg_name(&m, m.n - 1), "Action");

	ami_msg_copy(&c, &m);
	CHECK(c.n == m.n && c.arena != m.arena);
	CHECK_STR(ami_msg_get(&c, "Copy"), "Originate");
	ami_msg_copy(&c, &c);
	CHECK(c.n == m.n);

	/* check_send: names, bad bytes, line length, header count */
	ami_msg_clear(&m);
	ami_msg_add(&m, "Action", "Setvar");
	memset(big, 'v', 1100);
	ami_msg_addn(&m, "Data", 4, big, 1018);      /* 4+2+1018+2 = 1026 */
	CHECK(ami_msg_check_send(&m, err, sizeof err) == -1);
	CHECK_STR(err, "header \"Data\": line is 1026 bytes with CRLF, Asterisk accepts at most 1024");
	ami_msg_clear(&m);
	ami_msg_addn(&m, "Data", 4, big, 1017);
	CHECK(ami_msg_check_send(&m, err, sizeof err) == -1);
	CHECK_STR(err, "header \"Data\": line is 1025 bytes with CRLF, Asterisk accepts at most 1024");
	ami_msg_clear(&m);
	ami_msg_addn(&m, "Data", 4, big, 1016);      /* exactly 1024 */
	CHECK(ami_msg_check_send(&m, err, sizeof err) == 0);
	ami_msg_clear(&m);
	ami_msg_add(&m, "Bad Name", "x");
	CHECK(ami_msg_check_send(&m, err, sizeof err) == -1);
	CHECK_STR(err, "header \"Bad Name\": name contains a space");
	ami_msg_clear(&m);
	ami_msg_add(&m, "Bad:Name", "x");
	CHECK(ami_msg_check_send(&m, err, sizeof err) == -1);
	CHECK_STR(err, "header \"Bad:Name\": name contains a colon");
	ami_msg_clear(&m);
	ami_msg_add(&m, "Action", "Ping");
	ami_msg_add(&m, "", "x");
	CHECK(ami_msg_check_send(&m, err, sizeof err) == -1);
	CHECK_STR(err, "header 2 has an empty name");

	/* A parsed message may hold what the builder refuses. */
	{
		struct run r;
		static const char in[] = "Variable: a\0b\r\nV\0x: y\r\n\r\n";
		run_parse(&r, in, sizeof in - 1, 0, NULL, 0, 0);
		CHECK(r.n == 1);
		if (r.n == 1) {
			CHECK(ami_msg_check_send(&r.m[0], err, sizeof err) == -1);
			CHECK_STR(err, "header \"Variable\": value contains a NUL byte");
			r.m[0].h[0].value_len = 1;
			CHECK(ami_msg_check_send(&r.m[0], err, sizeof err) == -1);
			CHECK_STR(err, "header \"V?x\": name contains a NUL byte");
			r.m[0].arena[r.m[0].h[0].value] = '\n';
			r.m[0].n = 1;
			CHECK(ami_msg_check_send(&r.m[0], err, sizeof err) == -1);
			CHECK_STR(err, "header \"Variable\": value contains a line feed (LF)");
		}
		run_free(&r);
	}

	ami_msg_clear(&m);
	for (int i = 0; i < AMI_MAX_SEND_HEADERS; i++)
		ami_msg_add(&m, "Variable", "x=1");
	CHECK(ami_msg_check_send(&m, err, sizeof err) == 0);
	ami_msg_add(&m, "Variable", "x=1");
	CHECK(ami_msg_check_send(&m, err, sizeof err) == -1);
	CHECK_STR(err, "129 headers, Asterisk accepts at most 128");

	ami_msg_clear(&m);
	len = ami_msg_format(&m, &wire);
	CHECK(len == 2 && !strcmp(wire, "\r\n"));
	free(wire);
	free(big);
	ami_msg_free(&m);
	ami_msg_free(&c);
}

/* ---------- captures ---------- */

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	size_t cap = 1 << 16, n = 0, r;
	char *b;

	if (!f)
		return NULL;
	b = xmalloc(cap);
	while ((r = fread(b + n, 1, cap - n, f)) > 0) {
		n += r;
		if (n == cap)
			b = xrealloc(b, cap *= 2);
	}
	fclose(f);
	*len = n;
	return b;
}

static int msg_equal(const struct ami_msg *a, const struct ami_msg *b)
{
	if (a->n != b->n)
		return 0;
	for (size_t i = 0; i < a->n; i++) {
		const struct ami_header *x = &a->h[i], *y = &b->h[i];
		if (x->name_len != y->name_len || x->value_len != y->value_len ||
		    memcmp(ami_msg_name(a, i), ami_msg_name(b, i), x->name_len) ||
		    memcmp(ami_msg_value(a, i), ami_msg_value(b, i), x->value_len))
			return 0;
	}
	return 1;
}

/* The simplest splitter that fits a clean capture: skip the banner line,
 * cut at CRLF, a blank line ends a message, a header splits at its first
 * colon, and a "\n" just before a line's CRLF is Asterisk's stray line end
 * ("Message: text\n\r\n", quirk 2), not part of the value. It shares no
 * code with the parser. */
static size_t ref_split(const char *d, size_t len, struct run *r)
{
	const char *e = d + len, *s = strstr(d, "\r\n"), *nl, *vend;
	struct ami_msg cur;

	memset(r, 0, sizeof *r);
	ami_msg_init(&cur);
	for (s = s ? s + 2 : e; s < e; s = nl + 2) {
		const char *colon;
		for (nl = s; nl + 1 < e && !(nl[0] == '\r' && nl[1] == '\n'); nl++)
			;
		if (nl + 1 >= e)
			break;
		if (nl == s) {
			if (cur.n) {
				if (r->n == r->cap) {
					r->cap = r->cap ? 2 * r->cap : 64;
					r->m = xrealloc(r->m, r->cap * sizeof *r->m);
					r->end = xrealloc(r->end, r->cap * sizeof *r->end);
				}
				r->end[r->n] = (size_t)(nl + 2 - d);
				r->m[r->n++] = cur;
				ami_msg_init(&cur);
			}
			continue;
		}
		vend = nl > s && nl[-1] == '\n' ? nl - 1 : nl;     /* the stray "\n" */
		colon = memchr(s, ':', (size_t)(vend - s));
		if (!colon) {
			ami_msg_addn(&cur, "", 0, s, (size_t)(vend - s));
			continue;
		}
		ami_msg_addn(&cur, s, (size_t)(colon - s), colon + 1 + (colon[1] == ' '),
			     (size_t)(vend - colon - 1 - (colon[1] == ' ')));
	}
	ami_msg_free(&cur);
	return r->n;
}

/* Feeds d[from, cut) then d[cut, to) and expects exactly want->m[first..]
 * up to `to`. Each message is compared as it comes. */
static int two_feeds(struct ami_parser *p, struct ami_msg *m, const char *d, size_t from,
		     size_t cut, size_t to, const struct run *want, size_t first, size_t last)
{
	size_t got = first;
	int x = 0;

	ami_parser_reset(p, from == 0);
	for (int part = 0; part < 2 && x >= 0; part++) {
		ami_parser_feed(p, part ? d + cut : d + from, part ? to - cut : cut - from);
		while ((x = ami_parser_next(p, m)) > 0)
			if (got >= last || !msg_equal(m, &want->m[got++]))
				x = -1;
	}
	if (x < 0 || got != last)
		return 0;
	return from > 0 || (ami_parser_banner(p) && !strcmp(ami_parser_banner(p), want->banner));
}

/* Two feeds cut at every byte boundary. full: each cut parses the whole
 * file (quadratic). Otherwise a cut inside message i parses from the end of
 * message i-1 (a fresh parser there is in the same state as one that has
 * just returned message i-1) through message i+1, which covers the same
 * boundaries in linear time. Returns the first bad cut, or 0. */
static size_t every_cut(const char *d, size_t len, const struct run *want,
			const struct run *ref, int full)
{
	struct ami_parser *p = ami_parser_new(NULL, 1);
	struct ami_msg m;
	size_t bad = 0, i = 0;

	ami_msg_init(&m);
	for (size_t cut = 1; cut < len && !bad; cut++) {
		size_t from, to, last;
		while (i + 1 < ref->n && cut > ref->end[i])
			i++;
		from = full || i == 0 ? 0 : ref->end[i - 1];
		to = full || i + 2 >= ref->n ? len : ref->end[i + 1];
		last = full || i + 2 >= ref->n ? want->n : i + 2;
		if (!two_feeds(p, &m, d, from, cut, to, want, full ? 0 : i, last))
			bad = cut;
	}
	ami_msg_free(&m);
	ami_parser_free(p);
	return bad;
}

static int runs_equal(const struct run *a, const struct run *b)
{
	if (a->n != b->n || a->rc != b->rc)
		return 0;
	for (size_t i = 0; i < a->n; i++)
		if (!msg_equal(&a->m[i], &b->m[i]))
			return 0;
	return 1;
}

/* Formats each message and parses it back. */
static size_t round_trip(const struct run *r)
{
	size_t bad = 0;

	for (size_t i = 0; i < r->n && !bad; i++) {
		struct run back;
		char *wire;
		size_t len = ami_msg_format(&r->m[i], &wire);
		run_parse(&back, wire, len, 0, NULL, 0, 0);
		if (back.n != 1 || back.rc != 0 || !msg_equal(&back.m[0], &r->m[i]))
			bad = i + 1;
		run_free(&back);
		free(wire);
	}
	return bad;
}

static void test_capture(const char *dir, const char *name, int full_every_cut)
{
	char path[4096];
	size_t len = 0, bad;
	char *d;
	struct run one, ref, bytes;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	d = slurp(path, &len);
	if (!CHECKF(d != NULL, "%s: cannot read", path))
		return;
	d = xrealloc(d, len + 1);
	d[len] = '\0';
	run_parse(&one, d, len, 1, NULL, 0, 0);
	ref_split(d, len, &ref);
	CHECKF(one.rc == 0, "%s: %s", name, one.err);
	check_str_at(__FILE__, __LINE__, one.banner, "Asterisk Call Manager/11.0.0", name);
	CHECKF(one.n == ref.n && one.n > 0, "%s: %zu messages, the simple splitter finds %zu",
	       name, one.n, ref.n);
	CHECKF(runs_equal(&one, &ref), "%s: headers differ from the simple splitter", name);
	run_parse(&bytes, d, len, 1, NULL, 0, 1);
	CHECKF(runs_equal(&one, &bytes), "%s: byte by byte differs", name);
	run_free(&bytes);
	run_parse(&bytes, d, len, 1, NULL, 0, 4093);
	CHECKF(runs_equal(&one, &bytes), "%s: 4093-byte reads differ", name);
	run_free(&bytes);
	run_ref(&bytes, d, len, 1, NULL, 0);
	CHECKF(runs_equal(&one, &bytes), "%s: the old parser (ref_parser.h) differs", name);
	run_free(&bytes);
	run_views(&bytes, d, len, 1, NULL, 997);
	CHECKF(runs_equal(&one, &bytes), "%s: views in 997-byte reads differ", name);
	run_free(&bytes);
	if (one.banner && runs_equal(&one, &ref)) {
		bad = every_cut(d, len, &one, &ref, full_every_cut || len <= 64 * 1024);
		CHECKF(bad == 0, "%s: two feeds cut at %zu differ", name, bad);
	}
	bad = round_trip(&one);
	CHECKF(bad == 0, "%s: message %zu does not survive format + parse", name, bad);
	run_free(&one);
	run_free(&ref);
	free(d);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_captures(const char *dir)
{
	DIR *dp = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, cap = 0;
	const char *full = getenv("MSG_TEST_FULL");

	if (!CHECKF(dp != NULL, "cannot open capture directory %s", dir))
		return;
	while ((e = readdir(dp))) {
		size_t l = strlen(e->d_name);
		if (l < 9 || strcmp(e->d_name + l - 9, ".recv.raw"))
			continue;
		if (n == cap)
			names = xrealloc(names, (cap = cap ? cap * 2 : 64) * sizeof *names);
		names[n++] = xstrdup(e->d_name);
	}
	closedir(dp);
	CHECKF(n > 0, "no *.recv.raw in %s", dir);
	qsort(names, n, sizeof *names, by_name);
	for (size_t i = 0; i < n; i++) {
		test_capture(dir, names[i], full && *full);
		free(names[i]);
	}
	free(names);
}

/* A socket read fills all the room the parser offers, so messages end
 * anywhere, also in the last bytes of its buffer: a long stream read that
 * way (and in reads of 1 to 64 bytes less than the room) must give what one
 * feed gives. */
static void test_full_reads(const char *dir)
{
	char path[4096];
	size_t len = 0, total = 0, bad = 0;
	char *cap, *d;
	struct run one, reads;

	snprintf(path, sizeof path, "%s/events-stream.recv.raw", dir);
	cap = slurp(path, &len);
	if (!CHECKF(cap != NULL, "%s: cannot read", path))
		return;
	d = xmalloc(len * 12);
	for (int k = 0; k < 12; k++) {     /* the events, not the banner, again and again */
		const char *body = k ? memchr(cap, '\n', len) + 1 : cap;
		memcpy(d + total, body, len - (size_t)(body - cap));
		total += len - (size_t)(body - cap);
	}
	run_parse(&one, d, total, 1, NULL, 0, 0);
	for (size_t less = 0; less <= 64 && !bad; less += 7) {
		struct ami_parser *p = ami_parser_new(NULL, 1);
		struct ami_msg tmp;
		size_t pos = 0;
		memset(&reads, 0, sizeof reads);
		ami_msg_init(&tmp);
		while (pos < total && reads.rc == 0) {
			size_t room, n;
			char *dst = ami_parser_space(p, &room);
			n = room > less ? room - less : room;
			if (n > total - pos)
				n = total - pos;
			memcpy(dst, d + pos, n);
			ami_parser_commit(p, n);
			pos += n;
			reads.rc = drain(p, &reads, &tmp);
		}
		if (!runs_equal(&one, &reads))
			bad = less + 1;
		run_free(&reads);
		ami_msg_free(&tmp);
		ami_parser_free(p);
	}
	CHECKF(one.n > 5000 && bad == 0, "full-room reads (%zu less) differ from one feed", bad - 1);
	run_free(&one);
	free(d);
	free(cap);
}

/* Long events of short lines, framed without being split (past the quick
 * path of short events, line by line), with a special line (a stray "\r\n", a bare "\n" end, a
 * lone "\r" line, a 1-byte line) or a long line at every offset: the views,
 * the copies and the old parser agree. */
static void test_skim(void)
{
	static const char *const special[] = { "Message: x\n\r\n", "B: lf\n", "\r\n", "x\r\n",
					       "y\n", "\r\r\n" };
	char buf[4096];
	size_t bad = 0;

	for (size_t k = 0; k < ARRAY_LEN(special) && !bad; k++) {
		for (size_t off = 0; off < 70 && !bad; off++) {
			struct run a, b;
			size_t len = (size_t)sprintf(buf, "Event: Skim\r\nPad: %.*s\r\n", (int)off,
				"0123456789012345678901234567890123456789012345678901234567890123456789");
			for (int i = 0; i < 12; i++)
				len += (size_t)sprintf(buf + len, "H%d: v%d\r\n", i, i * 7);
			len += (size_t)sprintf(buf + len, "%s", special[k]);
			for (int i = 0; i < 12; i++)
				len += (size_t)sprintf(buf + len, "L%d: %.*s\r\n", i, i * 9,
					"abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij");
			len += (size_t)sprintf(buf + len, "\r\nEvent: Next\r\n\r\n");
			run_views(&a, buf, len, 0, NULL, 0);
			run_ref(&b, buf, len, 0, NULL, 0);
			if (!runs_equal(&a, &b) || strcmp(a.err, b.err))
				bad = k * 100 + off + 1;
			run_free(&a);
			run_free(&b);
		}
	}
	CHECKF(bad == 0, "skimmed event %zu: views and the old parser differ", bad - 1);
}

/* Random streams of AMI-like pieces (line ends of every kind, colons,
 * parentheses, old Command output, long runs), read with small limits in
 * random pieces: the parser, its views and the old parser (the oracle)
 * must agree on every message, the banner and the error. */
static void test_against_ref(void)
{
	static const char *const piece[] = {
		"Event: ", "Response: ", "Follows", "Success", "ActionID: 1", "Message: x",
		"\r\n", "\n", "\r", "\r\n\r\n", "\n\r\n", ":", " ", "(", ")", "a", "Key:v",
		"--END COMMAND--", "Privilege: Command", "\0", "\xff", "ChanVariable(IAX2/1:2): x=y",
		"0123456789abcdef0123456789", "Output: ", "\r\r\n",
	};
	static const struct ami_limits small[] = {
		{ .max_line = 24, .max_headers = 4, .max_msg = 96 },
		{ .max_line = 64, .max_headers = 40, .max_msg = 4096 },
		{ 0, 0, 0 },
	};
	uint32_t seed = 12345;
	char buf[600];
	size_t bad = 0;

	for (int i = 0; i < 20000 && !bad; i++) {
		struct run a, b, c;
		size_t len = 0, step;
		int banner = i & 1;
		const struct ami_limits *lim = &small[(i >> 1) % 3];

		while (len < sizeof buf - 40) {
			seed = seed * 1103515245u + 12345u;
			if ((seed >> 16) % 23 == 0)
				break;
			const char *pc = piece[(seed >> 8) % ARRAY_LEN(piece)];
			size_t pl = strlen(pc) + (*pc == '\0');
			memcpy(buf + len, pc, pl);
			len += pl;
		}
		step = 1 + (seed >> 4) % 40;
		run_parse(&a, buf, len, banner, lim, 0, step);
		run_ref(&b, buf, len, banner, lim, step);
		run_views(&c, buf, len, banner, lim, 1 + (seed >> 12) % 17);
		if (!runs_equal(&a, &b) || strcmp(a.err, b.err) || !runs_equal(&a, &c) ||
		    strcmp(a.err, c.err) || !a.banner != !b.banner ||
		    (a.banner && strcmp(a.banner, b.banner)))
			bad = (size_t)i + 1;
		run_free(&a);
		run_free(&b);
		run_free(&c);
	}
	CHECKF(bad == 0, "random stream %zu: the parser, its views and the old parser differ", bad);
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "tests/captures/asterisk-22";

	setvbuf(stdout, NULL, _IOLBF, 0);
	test_banner();
	test_line_ends();
	test_headers();
	test_lookup();
	test_is_event();
	test_command();
	test_limits();
	test_linear();
	test_bounded();
	test_space_commit();
	test_no_alloc();
	test_builder();
	test_against_ref();
	test_skim();
	test_full_reads(dir);
	test_captures(dir);
	return check_summary();
}
