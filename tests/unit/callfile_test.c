/* callfile_test.c - the call-file builder, checker and time parsers.
 * Ends with "N passed, N failed"; exit status 1 when anything failed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "callfile.h"
#include "check.h"

static char *build(const struct callfile *cf, char *err, size_t errsz)
{
	size_t len;
	char *s = callfile_build(cf, &len, err, errsz);
	if (s && strlen(s) != len)          /* counted only when it fails */
		CHECK(strlen(s) == len);
	return s;
}

/* The problem messages joined, for substring checks. */
static char *report_text(const struct cf_report *r)
{
	size_t n = 1;
	char *s;

	for (size_t i = 0; i < r->n; i++)
		n += strlen(r->p[i].msg) + 32;
	s = calloc(1, n);
	for (size_t i = 0; i < r->n; i++)
		sprintf(s + strlen(s), "%u:%s:%s\n", r->p[i].line,
			r->p[i].sev == CF_ERROR ? "error" : "warning", r->p[i].msg);
	return s;
}

static int has(const char *text, const char *needle)
{
	int ok = strstr(text, needle) != NULL;
	if (!ok)
		printf("  missing \"%s\" in:\n%s", needle, text);
	return ok;
}

static void test_build_app(void)
{
	struct callfile cf;
	char err[256], *s;
	const char *vars[] = { "A=1", "CDR(userfield)=x;y" };

	callfile_init(&cf);
	cf.channel = "SIP/100";
	cf.app = "Playback";
	cf.data = "wakeup";
	s = build(&cf, err, sizeof err);
	CHECK(s && !strcmp(s, "Channel: SIP/100\nApplication: Playback\nData: wakeup\n"));
	free(s);

	cf.callerid = "\"Wake\" <100>";
	cf.wait_time = 30;
	cf.max_retries = 2;
	cf.retry_time = 60;
	cf.account = "acct";
	cf.vars = vars;
	cf.nvars = 2;
	cf.codecs = "alaw,ulaw";
	cf.archive = 1;
	cf.always_delete = 0;
	s = build(&cf, err, sizeof err);
	CHECK(s && !strcmp(s, "Channel: SIP/100\nCallerID: \"Wake\" <100>\nWaitTime: 30\n"
			   "MaxRetries: 2\nRetryTime: 60\nAccount: acct\nApplication: Playback\n"
			   "Data: wakeup\nSetvar: A=1\nSetvar: CDR(userfield)=x\\;y\n"
			   "Codecs: alaw,ulaw\nArchive: yes\nAlwaysDelete: no\n"));
	free(s);
}

static void test_build_exten(void)
{
	struct callfile cf;
	char err[256], *s;

	callfile_init(&cf);
	cf.channel = "PJSIP/200";
	cf.context = "default";
	cf.exten = "100";
	cf.early_media = 1;
	s = build(&cf, err, sizeof err);
	CHECK(s && !strcmp(s, "Channel: PJSIP/200\nContext: default\nExtension: 100\n"
			   "Priority: 1\nearly_media: yes\n"));
	free(s);
	cf.priority = 3;
	s = build(&cf, err, sizeof err);
	CHECK(s && strstr(s, "Priority: 3\n"));
	free(s);
}

static void expect_refused(struct callfile *cf, const char *needle)
{
	char err[512] = "";
	char *s = build(cf, err, sizeof err);

	CHECK(s == NULL);
	CHECK(has(err, needle));
	free(s);
}

static void test_build_refusals(void)
{
	struct callfile cf;
	char big[1100];
	const char *badvar[] = { "NOEQUALS" };
	const char *emptyname[] = { "=x" };

	callfile_init(&cf);
	cf.app = "Playback";
	expect_refused(&cf, "no channel");
	cf.channel = "SIP100";
	expect_refused(&cf, "not Tech/Dest");
	cf.channel = "SIP/";
	expect_refused(&cf, "not Tech/Dest");
	cf.channel = "SIP/100";
	cf.context = "c";
	cf.exten = "e";
	expect_refused(&cf, "not both");
	cf.app = NULL;
	cf.context = NULL;
	expect_refused(&cf, "go together");
	cf.exten = NULL;
	expect_refused(&cf, "no target");
	cf.app = "Playback";
	cf.data = "a\nChannel: evil/1";
	expect_refused(&cf, "line feed");
	cf.data = "a\rb";
	expect_refused(&cf, "carriage return");
	cf.data = " lead";
	expect_refused(&cf, "starts with a blank");
	cf.data = "trail ";
	expect_refused(&cf, "ends with a blank");
	cf.data = "x #y";
	expect_refused(&cf, "comment");
	cf.data = "#y";
	expect_refused(&cf, "comment");
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	cf.data = big;
	expect_refused(&cf, "1024");
	cf.data = "ok";
	cf.vars = badvar;
	cf.nvars = 1;
	expect_refused(&cf, "NAME=VALUE");
	cf.vars = emptyname;
	expect_refused(&cf, "NAME=VALUE");
	cf.nvars = 0;
	cf.priority = 2;
	expect_refused(&cf, "--priority needs");
	cf.priority = -1;
	cf.wait_time = 0;
	expect_refused(&cf, "--wait-time");
}

/* The longest line Asterisk keeps: 1023 bytes with its newline. */
static void test_line_limit(void)
{
	struct callfile cf;
	char data[1100], err[256], *s;
	size_t room = CALLFILE_LINE_MAX - 1 - strlen("Data: \n");

	callfile_init(&cf);
	cf.channel = "SIP/1";
	cf.app = "Noop";
	memset(data, 'd', room);
	data[room] = '\0';
	cf.data = data;
	s = build(&cf, err, sizeof err);
	CHECK(s != NULL);
	free(s);
	data[room] = 'd';
	data[room + 1] = '\0';
	s = build(&cf, err, sizeof err);
	CHECK(s == NULL);
	free(s);
}

/* What the builder writes, the checker reads back unchanged and clean. */
static void test_round_trip(void)
{
	struct callfile cf;
	struct cf_report r;
	char err[256], *s, *t;
	const char *vars[] = { "V=a;b\\;c" };

	callfile_init(&cf);
	cf.channel = "Local/100@test";
	cf.app = "Dial";
	cf.data = "SIP/1;x#y,,tT";
	cf.vars = vars;
	cf.nvars = 1;
	cf.archive = 1;
	cf.max_retries = 3;
	s = build(&cf, err, sizeof err);
	CHECK(s != NULL);
	if (!s)
		return;
	callfile_check(s, strlen(s), &r);
	t = report_text(&r);
	CHECK(r.n == 0);
	if (r.n)
		printf("%s", t);
	CHECK(r.s.tech && !strcmp(r.s.tech, "Local"));
	CHECK(r.s.dest && !strcmp(r.s.dest, "100@test"));
	CHECK(r.s.app && !strcmp(r.s.app, "Dial"));
	CHECK(r.s.data && !strcmp(r.s.data, "SIP/1;x#y,,tT"));
	CHECK(r.s.archive == 1 && r.s.max_retries == 3 && r.s.priority == 1);
	free(t);
	free(s);
	cf_report_free(&r);
}

static struct cf_report check_text(const char *text)
{
	struct cf_report r;
	callfile_check(text, strlen(text), &r);
	return r;
}

/* The three files of captures/asterisk-22/callfile-malformed.txt. */
static void test_captured_malformed(void)
{
	struct cf_report r = check_text("Application: Wait\nData: 5\n");
	char *t = report_text(&r);
	CHECK(r.errors == 1 && has(t, "0:error:no Channel line"));
	free(t);
	cf_report_free(&r);

	r = check_text("this is not a call file\n:::\nChannel: nonsense\nApplication: Wait\n");
	t = report_text(&r);
	CHECK(has(t, "1:warning:syntax error"));
	CHECK(has(t, "2:warning:unknown key ''"));
	CHECK(has(t, "3:warning:Channel \"nonsense\" should be Tech/Dest"));
	CHECK(has(t, "3:error:the Channel is not Tech/Dest"));
	free(t);
	cf_report_free(&r);

	r = check_text("Channel: Local/wait20@test\nMaxRetries: 0\n");
	t = report_text(&r);
	CHECK(r.errors == 1 && has(t, "0:error:no target"));
	free(t);
	cf_report_free(&r);
}

static void test_check_rules(void)
{
	struct cf_report r;
	char *t, big[1200];

	r = check_text("# comment\nchannel: SIP/1 ; trailing comment\n"
		       "APPLICATION:Playback\ndata: a\\;b #c\n\n");
	CHECK(r.n == 0 && r.s.data && !strcmp(r.s.data, "a;b"));
	CHECK(r.s.tech && !strcmp(r.s.dest, "1"));
	cf_report_free(&r);

	r = check_text("Channel: SIP/1\r\nApplication: Wait\r\nData: 1\r\n");
	CHECK(r.n == 0 && !strcmp(r.s.data, "1"));     /* CRLF: CR trimmed as a blank */
	cf_report_free(&r);

	r = check_text("Channel: SIP/1\nContext: c\nExtension: 1\nPriority: start\n"
		       "EarlyMedia: yes\nWaitTime: soon\nRetryTime: 5x\nSetvar: NOVALUE\n"
		       "Archive: maybe\nApplication: Wait\n Channel: SIP/2\n");
	t = report_text(&r);
	CHECK(has(t, "4:error:Priority \"start\" is not a number"));
	CHECK(has(t, "5:warning:unknown key 'EarlyMedia'") && has(t, "early_media"));
	CHECK(has(t, "6:warning:WaitTime \"soon\""));
	CHECK(has(t, "7:warning:RetryTime \"5x\": Asterisk reads only the number 5"));
	CHECK(has(t, "8:warning:malformed Setvar"));
	CHECK(has(t, "9:warning:Archive \"maybe\""));
	CHECK(has(t, "11:warning:unknown key ' Channel': Asterisk does not trim"));
	CHECK(has(t, "3:error:both Application and Extension"));
	CHECK(r.s.priority == 1 && r.s.wait_time == 45 && r.s.retry_time == 5);
	free(t);
	cf_report_free(&r);

	memset(big, 'x', sizeof big);
	memcpy(big, "Data: ", 6);
	big[1100] = '\n';
	big[1101] = '\0';
	{
		char *text = malloc(2000);
		sprintf(text, "Channel: SIP/1\nApplication: Wait\n%s", big);
		r = check_text(text);
		t = report_text(&r);
		CHECK(has(t, "3:warning:line is 1101 bytes long"));
		CHECK(r.s.data == NULL);
		free(t);
		free(text);
		cf_report_free(&r);
	}

	r = check_text("Channel: SIP/1\nChannel: SIP/2\nApplication: Wait\nData: 1\n"
		       "Context: x\nearly_media: yes\n");
	t = report_text(&r);
	CHECK(has(t, "2:warning:Channel repeats line 1"));
	CHECK(has(t, "5:warning:Context/Priority without an Extension"));
	CHECK(has(t, "6:warning:early_media applies to extension calls only"));
	CHECK(!strcmp(r.s.dest, "2"));
	free(t);
	cf_report_free(&r);

	/* An archived file: Asterisk's own lines, and the Status it appends. */
	r = check_text("Channel: Local/short@test\nApplication: Wait\nData: 1\nArchive: yes\n\n"
		       "StartRetry: 26519 1 (1795674780)\nStatus: Completed\n");
	CHECK(r.n == 1 && r.s.status && !strcmp(r.s.status, "Completed"));
	cf_report_free(&r);

	r = check_text("Channel: SIP/1\nContext: c\nExtension: s\nPriority: 2\n"
		       "EndRetry: 1 1 (2)\nRetry: 1\n");
	CHECK(r.n == 0 && r.s.retries == 2 && r.s.priority == 2);
	t = cf_target(&r.s);
	CHECK(t && !strcmp(t, "s@c:2"));
	free(t);
	cf_report_free(&r);

	r = check_text("");
	CHECK(r.errors == 2);
	cf_report_free(&r);

	{
		const char nul[] = "Channel: SIP/1\nApplication: Wait\0junk\n";
		callfile_check(nul, sizeof nul - 1, &r);
		t = report_text(&r);
		CHECK(has(t, "2:warning:NUL byte"));
		CHECK(r.s.app && !strcmp(r.s.app, "Wait"));
		free(t);
		cf_report_free(&r);
	}
}

static void test_durations(void)
{
	long s;

	CHECK(cf_parse_duration("90s", &s) == 0 && s == 90);
	CHECK(cf_parse_duration("15m", &s) == 0 && s == 900);
	CHECK(cf_parse_duration("2h", &s) == 0 && s == 7200);
	CHECK(cf_parse_duration("1d", &s) == 0 && s == 86400);
	CHECK(cf_parse_duration("1w", &s) == 0 && s == 604800);
	CHECK(cf_parse_duration("1h30m", &s) == 0 && s == 5400);
	CHECK(cf_parse_duration("45", &s) == 0 && s == 45);
	CHECK(cf_parse_duration("", &s) != 0);
	CHECK(cf_parse_duration("1h30", &s) != 0);
	CHECK(cf_parse_duration("-5m", &s) != 0);
	CHECK(cf_parse_duration("5 m", &s) != 0);
	CHECK(cf_parse_duration("3y", &s) != 0);
	CHECK(cf_parse_duration("99999999999d", &s) != 0);
}

static void test_times(void)
{
	char err[256];
	time_t t;

	setenv("TZ", "UTC", 1);
	tzset();
	CHECK(cf_parse_at("2026-12-01 07:00", &t, err, sizeof err) == 0 && t == 1796108400);
	CHECK(cf_parse_at("2026-12-01 07:00:30", &t, err, sizeof err) == 0 && t == 1796108430);
	CHECK(cf_parse_at("2026-12-01T07:00:30Z", &t, err, sizeof err) == 0 && t == 1796108430);
	CHECK(cf_parse_at("2026-12-01T08:00:30+01:00", &t, err, sizeof err) == 0 &&
	      t == 1796108430);
	CHECK(cf_parse_at("2026-12-01T02:00:30-0500", &t, err, sizeof err) == 0 &&
	      t == 1796108430);
	CHECK(cf_parse_at("2026-12-01T07:00:30.75", &t, err, sizeof err) == 0 && t == 1796108430);
	CHECK(cf_parse_at("@1796108430", &t, err, sizeof err) == 0 && t == 1796108430);
	CHECK(cf_parse_at("2026-02-30 07:00", &t, err, sizeof err) != 0);
	CHECK(cf_parse_at("2026-12-01", &t, err, sizeof err) != 0);
	CHECK(cf_parse_at("2026-12-01 25:00", &t, err, sizeof err) != 0);
	CHECK(cf_parse_at("tomorrow", &t, err, sizeof err) != 0 && has(err, "YYYY-MM-DD"));
	CHECK(cf_parse_at("2026-12-01 07:00 junk", &t, err, sizeof err) != 0);

	setenv("TZ", "Europe/Paris", 1);
	tzset();
	CHECK(cf_parse_at("2026-12-01 08:00", &t, err, sizeof err) == 0 && t == 1796108400);
	/* 2026-03-29 02:30 does not exist in Paris (clocks go 02:00 -> 03:00). */
	if (cf_parse_at("2026-01-01 00:00", &t, err, sizeof err) == 0 && t == 1767222000)
		CHECK(cf_parse_at("2026-03-29 02:30", &t, err, sizeof err) != 0 &&
		      has(err, "daylight"));
}

int main(void)
{
	test_build_app();
	test_build_exten();
	test_build_refusals();
	test_line_limit();
	test_round_trip();
	test_captured_malformed();
	test_check_rules();
	test_durations();
	test_times();
	return check_summary();
}
