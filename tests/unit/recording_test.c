/* recording_test.c - unit tests for common/recording.c: raw and json
 * recordings as tail-events --timestamp writes them, fed whole and in
 * pieces of every size, ReceivedAt taken out and read as a time, captures
 * of whole sessions (banner, responses skipped), damage (truncation, junk,
 * bad times, long lines) reported at its byte offset after every event
 * before it, and reading from a file descriptor.
 *
 *   tests/unit/recording_test [CAPTURE_DIR]   (default tests/captures/asterisk-22)
 * Prints one line per failed check, then "N passed, N failed". */
#define _POSIX_C_SOURCE 200809L
#include "check.h"
#include "msg.h"
#include "recording.h"
#include "util.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *capdir = "tests/captures/asterisk-22";

/* ---------- helpers ---------- */

/* What came out of a recording, as text: one line per event,
 * "offset at tz [ReceivedAt] | Name=Value | ..." and, for a raw event, its
 * wire bytes after "wire:" (CR and LF shown as \r \n). */
struct result {
	struct strbuf out;
	size_t events;
	int rc;                     /* 0 the end, -1 damage */
	char err[200];
};

static void put_escaped(struct strbuf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\r')
			strbuf_adds(b, "\\r");
		else if (s[i] == '\n')
			strbuf_adds(b, "\\n");
		else
			strbuf_add(b, s + i, 1);
	}
}

static void describe(struct strbuf *b, const struct rec_event *ev)
{
	char head[128];
	const struct ami_view *v = &ev->v;

	snprintf(head, sizeof head, "%llu %lld %d [%s]", (unsigned long long)ev->offset,
		 (long long)ev->at, ev->tz, ev->at_text ? ev->at_text : "-");
	strbuf_adds(b, head);
	for (size_t i = 0; i < v->n; i++) {
		strbuf_adds(b, " | ");
		put_escaped(b, v->base + v->h[i].name, v->h[i].name_len);
		strbuf_adds(b, "=");
		put_escaped(b, v->base + v->h[i].value, v->h[i].value_len);
	}
	if (v->wire) {
		strbuf_adds(b, " wire:");
		put_escaped(b, v->wire, v->wire_len);
		/* the body ends where the blank line starts */
		CHECK(v->body < v->wire_len && (v->wire[v->body] == '\r' || v->wire[v->body] == '\n'));
	}
	strbuf_adds(b, "\n");
	CHECK(v->event && v->event_len == 0 ? 1 : v->event != NULL);
}

/* Reads input fed in pieces of `piece` bytes (0: at once). */
static void read_pieces(struct result *res, const char *in, size_t len, size_t piece)
{
	struct rec_reader *r = rec_new();
	struct rec_event ev;
	size_t at = 0;
	int got;

	memset(res, 0, sizeof *res);
	for (;;) {
		while ((got = rec_next(r, &ev)) > 0) {
			describe(&res->out, &ev);
			res->events++;
		}
		if (got < 0 || at == len)
			break;
		size_t n = piece && len - at > piece ? piece : len - at;
		rec_feed(r, in + at, n);
		at += n;
	}
	if (got == 0) {
		rec_eof(r);
		while ((got = rec_next(r, &ev)) > 0) {
			describe(&res->out, &ev);
			res->events++;
		}
	}
	res->rc = got;
	snprintf(res->err, sizeof res->err, "%s", rec_error(r));
	CHECKF(got < 0 || rec_done(r), "not done after the end: %s", rec_error(r));
	rec_free(r);
}

static void result_free(struct result *res)
{
	strbuf_free(&res->out);
}

static const char *text(const struct result *res)
{
	return res->out.p ? res->out.p : "";
}

/* Fed whole, and in pieces of every size up to max: the same events. */
static void check_pieces(const char *in, size_t len, size_t max)
{
	struct result whole, part;

	read_pieces(&whole, in, len, 0);
	for (size_t piece = 1; piece <= max && piece < len; piece++) {
		read_pieces(&part, in, len, piece);
		CHECKF(!strcmp(text(&whole), text(&part)) && whole.rc == part.rc &&
		       !strcmp(whole.err, part.err), "pieces of %zu differ:\n%s%s\nvs\n%s%s", piece,
		       text(&whole), whole.err, text(&part), part.err);
		result_free(&part);
	}
	result_free(&whole);
}

static char *load(const char *name, size_t *len)
{
	char path[512];
	FILE *f;
	char *buf = NULL;
	size_t cap = 0, n = 0, got;

	snprintf(path, sizeof path, "%s/%s", capdir, name);
	if (!(f = fopen(path, "rb"))) {
		CHECKF(0, "cannot open %s", path);
		*len = 0;
		return xstrdup("");
	}
	do {
		if (cap - n < 4096)
			buf = xrealloc(buf, cap = cap * 2 + 4096);
		got = fread(buf + n, 1, cap - n - 1, f);
		n += got;
	} while (got > 0);
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* ---------- raw ---------- */

#define EV1 "Event: Newchannel\r\nPrivilege: call,all\r\nChannel: PJSIP/100-00000001\r\n"
#define EV2 "Event: Hangup\r\nChannel: PJSIP/100-00000001\r\nCause: 16\r\n"
#define AT1 "ReceivedAt: 2026-12-06T12:56:14.725+01:00\r\n"
#define AT2 "ReceivedAt: 2026-12-06T12:56:15.001-05:30\r\n"

static void test_raw(void)
{
	static const char rec[] = EV1 AT1 "\r\n" EV2 AT2 "\r\n";
	struct result res;

	read_pieces(&res, rec, sizeof rec - 1, 0);
	CHECK_INT(res.rc, 0);
	CHECK_INT(res.events, 2);
	/* 2026-12-06T11:56:14.725Z and 2026-12-06T18:26:15.001Z */
	CHECK_STR(text(&res),
		  "0 1796558174725 60 [2026-12-06T12:56:14.725+01:00] | Event=Newchannel | "
		  "Privilege=call,all | Channel=PJSIP/100-00000001 wire:Event: Newchannel\\r\\n"
		  "Privilege: call,all\\r\\nChannel: PJSIP/100-00000001\\r\\n\\r\\n\n"
		  "114 1796581575001 -330 [2026-12-06T12:56:15.001-05:30] | Event=Hangup | "
		  "Channel=PJSIP/100-00000001 | Cause=16 wire:Event: Hangup\\r\\n"
		  "Channel: PJSIP/100-00000001\\r\\nCause: 16\\r\\n\\r\\n\n");
	result_free(&res);
	check_pieces(rec, sizeof rec - 1, sizeof rec);
}

/* ReceivedAt where another writer put it: first, in the middle; the last
 * one counts; a header of the event itself may share the name. */
static void test_raw_placement(void)
{
	static const char first[] = "Event: A\r\nReceivedAt: 2026-01-01T00:00:00.000Z\r\nX: 1\r\n\r\n";
	static const char two[] = "Event: A\r\nReceivedAt: mine\r\nX: 1\r\n"
				  "receivedat: 2026-01-01T00:00:01Z\r\n\r\n";
	struct result res;

	read_pieces(&res, first, sizeof first - 1, 0);
	CHECK_STR(text(&res), "0 1767225600000 0 [2026-01-01T00:00:00.000Z] | Event=A | X=1 "
		  "wire:Event: A\\r\\nX: 1\\r\\n\\r\\n\n");
	result_free(&res);
	read_pieces(&res, two, sizeof two - 1, 0);
	CHECK_STR(text(&res), "0 1767225601000 0 [2026-01-01T00:00:01Z] | Event=A | "
		  "ReceivedAt=mine | X=1 wire:Event: A\\r\\nReceivedAt: mine\\r\\nX: 1\\r\\n\\r\\n\n");
	result_free(&res);
	check_pieces(two, sizeof two - 1, sizeof two);
	/* without the line, a CRLF blank line after a bare "\n" line would not
	 * end the message: the event comes without wire bytes */
	static const char stray[] = "Event: A\nReceivedAt: 2026-01-01T00:00:00Z\r\n\r\n";
	read_pieces(&res, stray, sizeof stray - 1, 0);
	CHECK_STR(text(&res), "0 1767225600000 0 [2026-01-01T00:00:00Z] | Event=A\n");
	result_free(&res);
}

/* No ReceivedAt (a recording made without --timestamp): the events as they
 * are, time unknown; bare "\n" line ends and blank lines between events. */
static void test_raw_untimed(void)
{
	static const char rec[] = "\r\n\nEvent: A\nX: 1\n\n\r\n\r\nEvent: B\r\n\r\n";
	struct result res;

	read_pieces(&res, rec, sizeof rec - 1, 0);
	CHECK_INT(res.rc, 0);
	CHECK_STR(text(&res), "3 0 0 [-] | Event=A | X=1 wire:Event: A\\nX: 1\\n\\n\n"
		  "22 0 0 [-] | Event=B wire:Event: B\\r\\n\\r\\n\n");
	result_free(&res);
	check_pieces(rec, sizeof rec - 1, sizeof rec);
}

/* A capture of a whole session: the banner is read as such, responses are
 * skipped, every event comes out as the parser frames it. */
static void test_capture(const char *name)
{
	size_t len, want = 0;
	char *in = load(name, &len);
	struct ami_parser *p = ami_parser_new(NULL, 1);
	struct ami_msg m;
	struct result res;

	ami_msg_init(&m);
	ami_parser_feed(p, in, len);
	while (ami_parser_next(p, &m) > 0)
		want += ami_msg_is_event(&m);
	read_pieces(&res, in, len, 0);
	CHECKF(res.rc == 0, "%s: %s", name, res.err);
	CHECKF(res.events == want && want > 10, "%s: %zu events, the parser finds %zu", name,
	       res.events, want);
	CHECK(!strstr(text(&res), "Asterisk Call Manager"));
	result_free(&res);
	check_pieces(in, len < 3000 ? len : 3000, 40);
	ami_msg_free(&m);
	ami_parser_free(p);
	free(in);
}

/* ---------- json ---------- */

static void test_json(void)
{
	static const char rec[] =
		"{\"Event\":\"VarSet\",\"Variable\":[\"a=1\",\"b=2\"],\"Cause\":16,\"Empty\":\"\","
		"\"City\":\"Z\\u00fcrich\",\"Q\":\"say \\\"hi\\\"\","
		"\"ReceivedAt\":\"2026-12-06T12:56:14.725+00:00\"}\n"
		"\n  \r\n"
		"{\"Response\":\"Success\",\"ActionID\":\"1\"}\r\n"
		"{\"Event\":\"Hangup\",\"Ratio\":0.5}";     /* the last line without its '\n' */
	struct result res;

	read_pieces(&res, rec, sizeof rec - 1, 0);
	CHECKF(res.rc == 0, "%s", res.err);
	CHECK_STR(text(&res),
		  "0 1796561774725 0 [2026-12-06T12:56:14.725+00:00] | Event=VarSet | Variable=a=1 | "
		  "Variable=b=2 | Cause=16 | Empty= | City=Z\xc3\xbcrich | Q=say \"hi\"\n"
		  "193 0 0 [-] | Event=Hangup | Ratio=0.5\n");
	result_free(&res);
	check_pieces(rec, sizeof rec - 1, sizeof rec);
}

/* ---------- damage ---------- */

/* Everything before the damage comes out, then an error naming its byte. */
#define DAMAGE(what, lit, events, err) check_damage(what, lit, sizeof lit - 1, events, err)
static void check_damage(const char *what, const char *in, size_t len, size_t events,
			 const char *err)
{
	struct result res;

	for (size_t piece = 0; piece < 8; piece += 7) {
		read_pieces(&res, in, len, piece);
		CHECKF(res.rc == -1 && res.events == events && strstr(res.err, err),
		       "%s (pieces %zu): rc %d, %zu events, error \"%s\"; want %zu events, \"%s\"",
		       what, piece, res.rc, res.events, res.err, events, err);
		result_free(&res);
	}
}

static void test_damage(void)
{
	static const char rec[] = EV1 AT1 "\r\n" EV2 AT2 "\r\n";
	const size_t second = sizeof EV1 AT1 "\r\n" - 1;  /* where the second event starts */
	char buf[512], *big;

	/* truncated anywhere inside the second event: the first one comes out */
	for (size_t cut = second + 1; cut < sizeof rec - 1; cut++) {
		snprintf(buf, sizeof buf, "%.*s", (int)cut, rec);
		check_damage("raw truncated", buf, cut, 1, "byte 114: the recording ends inside");
	}
	/* cut right after an event's blank line, or after blanks: no damage */
	for (size_t cut = second; cut <= second + 1; cut++) {
		struct result res;
		snprintf(buf, sizeof buf, "%.*s%s", (int)second, rec, cut > second ? "\r" : "");
		read_pieces(&res, buf, cut, 0);
		CHECKF(res.rc == 0 && res.events == 1, "cut at %zu: %s", cut, res.err);
		result_free(&res);
	}
	DAMAGE("raw junk block", EV1 AT1 "\r\n" "garbage here\r\n\r\n", 1,
		     "byte 114: not an AMI event");
	DAMAGE("raw bad time", EV1 "ReceivedAt: yesterday\r\n\r\n", 0,
		     "byte 0: ReceivedAt is not a time with a UTC offset: \"yesterday\"");
	DAMAGE("raw long time", EV1 "ReceivedAt: 2026-12-06T12:56:14.725000000000000000000000000000000"
	       "000000000000000000000000000000+00:00\r\n\r\n", 0, "byte 0: ReceivedAt is not a time");
	DAMAGE("raw no offset", EV1 "ReceivedAt: 2026-12-06T12:56:14.725\r\n\r\n", 0,
		     "byte 0: ReceivedAt is not a time");
	big = xmalloc(70000 + 200);
	size_t n = (size_t)snprintf(big, 200, "%s", EV1 AT1 "\r\nEvent: Long\r\nX: ");
	memset(big + n, 'x', 70000);
	memcpy(big + n + 70000, "\r\n\r\n", 4);
	check_damage("raw long line", big, n + 70004, 1, "byte 114: line longer than");
	free(big);

	static const char json[] = "{\"Event\":\"A\"}\n{\"Event\":\"B\",\"X\":\"1\"}\n"
				   "{\"Event\":\"C\",\"X\":\"1\"\n";
	DAMAGE("json truncated", json, 2,
		     "byte 36: the line ends inside a JSON object");
	DAMAGE("json junk", "{\"Event\":\"A\"}\n{\"Event\":\"B\"} x\n", 1,
	       "byte 28: more after the JSON object");
	DAMAGE("json invalid", "{\"Event\":\"A\"}\n{\"Event\": nope}\n", 1,
	       "byte 24: not valid JSON");
	DAMAGE("json array", "[1,2]\n", 0, "byte 0: not a JSON object");
	DAMAGE("json nested", "{\"Event\":\"A\",\"X\":{\"y\":1}}\n", 0,
	       "byte 0: \"X\" is not a string");
	DAMAGE("json CR in a value", "{\"Event\":\"A\",\"X\":\"a\\r\\nAction: Originate\"}\n",
	       0, "byte 0: \"X\" is not a string");
	DAMAGE("json no event", "{\"Foo\":\"A\"}\n", 0, "not an AMI event");
	DAMAGE("json bad time", "{\"Event\":\"A\",\"ReceivedAt\":\"2026-13-01T00:00:00Z\"}\n",
	       0, "ReceivedAt is not a time");
	DAMAGE("json time not a string", "{\"Event\":\"A\",\"ReceivedAt\":5}\n", 0,
	       "ReceivedAt is not a string");
	DAMAGE("raw then json", EV1 "\r\n{\"Event\":\"A\"}\n\n", 1, "byte 71: not an AMI event");
}

/* ---------- times ---------- */

static void check_time(const char *s, int ok, long long want, int want_tz)
{
	int64_t ms = -1;
	int tz = 999, r = rec_parse_time(s, strlen(s), &ms, &tz);

	if (!ok) {
		CHECKF(r == -1, "\"%s\" taken as a time", s);
		return;
	}
	CHECKF(r == 0 && ms == want && tz == want_tz, "\"%s\": %d %lld %d, want %lld %d", s, r,
	       (long long)ms, tz, want, want_tz);
}

static void test_times(void)
{
	check_time("1970-01-01T00:00:00Z", 1, 0, 0);
	check_time("1970-01-01T01:00:00+01:00", 1, 0, 60);
	check_time("1969-12-31T23:59:59.999Z", 1, -1, 0);
	check_time("2000-02-29T12:00:00.5+0000", 1, 951825600500LL, 0);
	check_time("2026-12-06 12:56:14.725123-05:30", 1, 1796581574725LL, -330);
	check_time("2026-12-06T12:56:14,7z", 1, 1796561774700LL, 0);
	check_time("2026-12-06T12:56:14.725", 0, 0, 0);
	check_time("2026-12-06T12:56:14.+00:00", 0, 0, 0);
	check_time("2026-12-06T24:00:00Z", 0, 0, 0);
	check_time("2026-00-06T12:00:00Z", 0, 0, 0);
	check_time("2026-12-06T12:00:00+24:00", 0, 0, 0);
	check_time("2026-12-06T12:00:00+01:00x", 0, 0, 0);
	check_time("2026-12-06", 0, 0, 0);
	check_time("", 0, 0, 0);
	check_time("2026-12-06T12:00:00+1", 0, 0, 0);
}

/* ---------- a file descriptor ---------- */

static void test_fd(void)
{
	char path[] = "/tmp/recording_test.XXXXXX";
	int fd = mkstemp(path);
	struct rec_reader *r = rec_new();
	struct rec_event ev;
	size_t n = 0;
	int got;

	/* 3000 events: many reads, the parser's buffer reused */
	for (int i = 0; i < 3000; i++) {
		char e[160];
		int len = snprintf(e, sizeof e, "Event: E%d\r\nReceivedAt: 2026-01-01T00:00:%02d.%03dZ\r\n\r\n",
				   i, i / 1000, i % 1000);
		CHECK(write(fd, e, (size_t)len) == len);
	}
	lseek(fd, 0, SEEK_SET);
	while ((got = rec_next_fd(r, fd, &ev)) > 0) {
		char want[16];
		snprintf(want, sizeof want, "E%zu", n);
		if (!CHECKF(ev.v.event_len == strlen(want) && !memcmp(ev.v.event, want, strlen(want)) &&
			    ev.at == 1767225600000LL + (int64_t)n, "event %zu", n))
			break;
		n++;
	}
	CHECK_INT(got, 0);
	CHECK_INT(n, 3000);
	CHECK(rec_done(r));
	CHECK_INT(rec_format(r), REC_RAW);
	rec_free(r);
	close(fd);
	unlink(path);

	r = rec_new();      /* a read error: RC_IO */
	CHECK_INT(rec_next_fd(r, -1, &ev), -1);
	CHECK_INT(rec_rc(r), RC_IO);
	CHECK(strstr(rec_error(r), "read error") != NULL);
	rec_free(r);

	r = rec_new();      /* an empty recording: no events, no error */
	fd = open("/dev/null", O_RDONLY);
	CHECK_INT(rec_next_fd(r, fd, &ev), 0);
	close(fd);
	rec_free(r);
}

int main(int argc, char **argv)
{
	if (argc > 1)
		capdir = argv[1];
	test_raw();
	test_raw_placement();
	test_raw_untimed();
	test_capture("events-call-bridged.recv.raw");
	test_capture("events-stream.recv.raw");
	test_json();
	test_damage();
	test_times();
	test_fd();
	return check_summary();
}
