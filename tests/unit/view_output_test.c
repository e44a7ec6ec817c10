/* view_output_test.c - the view path of `ami tail-events` (a message read
 * in place, out_view) against the parser's path (a copy, out_msg), which
 * it must equal (tests/unit/view_output.h): fixed cases pin the JSON of
 * the usual and the odd messages; then random streams built from the
 * bytes that matter (colons, parentheses, CR, LF, quotes, backslashes,
 * control bytes, UTF-8 and invalid bytes, the stray "\n\r\n", old Command
 * output), in every format, with small and default limits, fed in random
 * pieces, must be accepted or refused alike and printed byte for byte the
 * same. Ends with "N passed, N failed"; exit status 1 when anything failed. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "view_output.h"

/* Reports go to stderr: stdout is where the output under test goes. */
#define CHECK_OUT stderr
#include "check.h"

/* The message m (its blank line added if it has none) through the view
 * path as json (out_json_wire, or out_view where it declines):
 * exactly json, and the same as the parser's path. */
static int gives(const char *m, const char *json)
{
	size_t n = strlen(m);
	char *buf = malloc(n + 2);
	struct path_out r;
	int ok;

	memcpy(buf, m, n);
	memcpy(buf + n, "\r\n", 2);      /* its blank line, unless it has one */
	n += n < 2 || strcmp(m + n - 2, "\n\n") ? 2 : 0;
	out_set_format(OUT_JSON);
	run_path(&r, buf, n, 1, 0, NULL, 0, 0);
	ok = r.rc == 0 && r.msgs == 1 && !strcmp(r.out, json) &&
	     paths_agree(buf, n, OUT_JSON, 0, NULL, 0, 0);
	if (!ok)
		fprintf(stderr, "  got    %s  wanted %s", r.out, json);
	free(r.out);
	free(buf);
	return ok;
}

static void test_fixed(void)
{
	CHECK(gives("Event: Hangup\r\nChannel: PJSIP/100-00000001\r\nCause: 16\r\n",
		    "{\"Event\":\"Hangup\",\"Channel\":\"PJSIP/100-00000001\",\"Cause\":\"16\"}\n"));
	CHECK(gives("Event: X\r\nAccountCode: \r\nEmpty:\r\n",
		    "{\"Event\":\"X\",\"AccountCode\":\"\",\"Empty\":\"\"}\n"));
	CHECK(gives("Event: X\r\nAddress: 198.51.100.23:5060\r\nTwo:  spaces\r\n",
		    "{\"Event\":\"X\",\"Address\":\"198.51.100.23:5060\",\"Two\":\" spaces\"}\n"));
	CHECK(gives("Event: X\r\nAppData: say \"hi\" \\ (x)\r\n",
		    "{\"Event\":\"X\",\"AppData\":\"say \\\"hi\\\" \\\\ (x)\"}\n"));
	CHECK(gives("Event: X\r\nV: a\tb\x01\x7f\r\n",
		    "{\"Event\":\"X\",\"V\":\"a\\tb\\u0001\\u007f\"}\n"));
	CHECK(gives("Event: X\r\nV: caf\xc3\xa9 \xff\r\n",
		    "{\"Event\":\"X\",\"V\":\"caf\xc3\xa9 \\u00ff\"}\n"));
	CHECK(gives("Event: X\r\nV: lone\rcr\r\n",
		    "{\"Event\":\"X\",\"V\":\"lone\\rcr\"}\n"));
	CHECK(gives("Event: X\r\nA very long header name, longer than sixteen: v\r\n",
		    "{\"Event\":\"X\",\"A very long header name, longer than sixteen\":\"v\"}\n"));
	CHECK(gives(": no name\r\n", "{\"\":\"no name\"}\n"));
	CHECK(gives("Event: X\r\nno colon here\r\n", "{\"Event\":\"X\",\"\":\"no colon here\"}\n"));
	CHECK(gives("Event: X\r\nChanVariable(SIP/a:5060): x=y\r\n",
		    "{\"Event\":\"X\",\"ChanVariable(SIP/a:5060)\":\"x=y\"}\n"));
	CHECK(gives("Event: X\r\nVar: a\r\nvar: b\r\n", "{\"Event\":\"X\",\"Var\":[\"a\",\"b\"]}\n"));
	CHECK(gives("Event: X\nBare: lf\n\n", "{\"Event\":\"X\",\"Bare\":\"lf\"}\n"));
	CHECK(gives("Response: Error\r\nMessage: text\n\r\n",
		    "{\"Response\":\"Error\",\"Message\":\"text\"}\n"));
	CHECK(gives("Event: X\r\nN\xc3\xa9: v\r\n", "{\"Event\":\"X\",\"N\xc3\xa9\":\"v\"}\n"));
	CHECK(gives("Event: X\r\nN\"q: v\r\n", "{\"Event\":\"X\",\"N\\\"q\":\"v\"}\n"));
	CHECK(gives("Response: Follows\r\nPrivilege: Command\r\nline 1\nline: 2\n--END COMMAND--",
		    "{\"Response\":\"Follows\",\"Privilege\":\"Command\",\"Output\":[\"line 1\","
		    "\"line: 2\"]}\n"));
}

/* xorshift: the same random streams on every run. */
static unsigned long long rng = 88172645463325252ULL;
static unsigned rnd(unsigned n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng % n);
}

/* A stream of 1 to 4 messages: mostly "Name: value" lines with random
 * pieces in both, the odd line end, a blank line after each. */
static size_t random_stream(char *m)
{
	static const char *const pieces[] = {
		"a", "Event", "Channel", "e", "Z", "0", " ", ":", ": ", "(", ")", "\"", "\\", "\t",
		"\r", "\n", "\r\n", "\x01", "\x7f", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
		"\xff", "\xc3", "\x80", "\xed\xa0\x80", "0123456789abcdefghij", "x", "\0",
		"Event: ", "Response: Follows\r\n", "--END COMMAND--", "\n\r\n",
	};
	size_t len = 0, msgs = 1 + rnd(4);

	for (size_t k = 0; k < msgs; k++) {
		size_t lines = 1 + rnd(12);
		for (size_t l = 0; l < lines; l++) {
			size_t n = rnd(4) ? 0 : 1 + rnd(3);
			for (size_t i = 0; i < n; i++) {
				const char *p = pieces[rnd(sizeof pieces / sizeof *pieces)];
				size_t pl = *p ? strlen(p) : 1;
				memcpy(m + len, p, pl);
				len += pl;
			}
			if (rnd(8))
				len += (size_t)sprintf(m + len, "H%u: ", rnd(40));
			n = rnd(3) ? rnd(4) : rnd(12);
			for (size_t i = 0; i < n; i++) {
				const char *p = pieces[rnd(sizeof pieces / sizeof *pieces)];
				size_t pl = *p ? strlen(p) : 1;
				memcpy(m + len, p, pl);
				len += pl;
			}
			memcpy(m + len, rnd(64) ? "\r\n" : "\n", 2);
			len += m[len] == '\r' ? 2 : 1;
		}
		memcpy(m + len, "\r\n", 2);
		len += 2;
	}
	return len;
}

/* out_json_wire takes the usual event, and leaves what it must to out_view. */
static int wire_takes(const char *m)
{
	struct ami_parser *p = ami_parser_new(NULL, 0);
	struct ami_view v;
	size_t n;
	int rc = RC_CONTINUE;

	out_set_format(OUT_JSON);
	if (ami_parser_feed(p, m, strlen(m)) == 0 && ami_parser_next_view(p, &v, 0) > 0)
		rc = out_json_wire(&v);
	free(take_output(&n));
	ami_parser_free(p);
	return rc == RC_OK;
}

static void test_wire_json(void)
{
	CHECK(wire_takes("Event: Hangup\r\nChannel: PJSIP/100-00000001\r\nCause: 16\r\n\r\n"));
	CHECK(wire_takes("Event: X\r\nAppData: say \"hi\" \\ (x)\r\nV: caf\xc3\xa9 \xff\r\n\r\n"));
	CHECK(!wire_takes("Event: X\r\nno colon here\r\n\r\n"));
	CHECK(!wire_takes("Event: X\r\nChanVariable(SIP/a:5060): x=y\r\n\r\n"));
	CHECK(!wire_takes("Event: X\r\nVar: a\r\nvar: b\r\n\r\n"));
	CHECK(!wire_takes("Event: X\nBare: lf\n\n"));
	CHECK(!wire_takes("Event: X\r\nN\xc3\xa9: v\r\n\r\n"));
}

static void test_random(void)
{
	static const struct ami_limits small = { .max_line = 48, .max_headers = 8, .max_msg = 256 };
	static const enum out_format formats[] = { OUT_JSON, OUT_TEXT, OUT_RAW };
	char m[4 * 4096];
	size_t differ = 0, runs = 60000;

	for (size_t r = 0; r < runs; r++) {
		size_t len = random_stream(m);
		enum out_format f = formats[r % 3];
		const struct ami_limits *lim = r % 5 == 0 ? &small : NULL;
		uint32_t seed = (uint32_t)r + 1;
		if (paths_agree(m, len, f, (int)(r / 3 % 2), lim, r % 4 ? seed : 0, 1 + r % 61))
			continue;
		if (differ++ < 3) {
			fprintf(stderr, "  paths differ on %zu bytes (format %d): ", len, f);
			for (size_t i = 0; i < len; i++)
				fprintf(stderr, m[i] >= 0x20 && m[i] < 0x7f ? "%c" : "\\x%02x",
					(unsigned char)m[i]);
			fprintf(stderr, "\n");
		}
	}
	fprintf(stderr, "# %zu random streams in json, text and raw\n", runs);
	CHECK(differ == 0);
}

/* --format and .format read the enum's own words, case ignored. */
static void test_format_words(void)
{
	enum out_format f = OUT_RAW;

	CHECK(out_parse_format("json", &f) == 0 && f == OUT_JSON);
	CHECK(out_parse_format("Text", &f) == 0 && f == OUT_TEXT);
	CHECK(out_parse_format("RAW", &f) == 0 && f == OUT_RAW);
	CHECK(out_parse_format("xml", &f) == -1 && f == OUT_RAW);
	CHECK(out_parse_format("", &f) == -1);
	CHECK(!strcmp(format_words[OUT_JSON], "json") && !format_words[OUT_JSON + 1]);
}

int main(void)
{
	if (capture_stdout() != 0)
		return 1;
	test_fixed();
	test_wire_json();
	test_format_words();
	test_random();
	return check_summary();
}
