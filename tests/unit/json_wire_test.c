/* json_wire_test.c - out_json_wire_framed (JSON straight from the wire bytes, the
 * fast path of `ami tail-events --format json`) against the slow path it
 * must equal: parse the message, then out_msg. Fixed cases pin what it
 * takes and what it leaves to the parser; then random messages built from
 * the bytes that matter (colons, parentheses, CR, LF, quotes, backslashes,
 * control bytes, UTF-8 and invalid bytes) must come out byte for byte the
 * same whenever the fast path takes them.
 * Ends with "N passed, N failed"; exit status 1 when anything failed. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_compare.h"

/* Reports go to stderr: stdout is where the output under test goes. */
#define CHECK_OUT stderr
#include "check.h"

static char fast_out[1 << 17], slow_out[1 << 17];

/* m takes the fast path and gives json exactly. */
static int takes(const char *m, const char *json)
{
	size_t n;
	int rc = fast(m, strlen(m), fast_out, sizeof fast_out, &n);
	if (rc == RC_OK && strcmp(fast_out, json) == 0)
		return 1;
	fprintf(stderr, "  rc %d, got   %s  wanted %s", rc, fast_out, json);
	return 0;
}

static int declines(const char *m)
{
	size_t n;
	return fast(m, strlen(m), fast_out, sizeof fast_out, &n) == OUT_DECLINED && n == 0;
}

static void test_fixed(void)
{
	CHECK(takes("Event: Hangup\r\nChannel: PJSIP/100-00000001\r\nCause: 16\r\n",
		    "{\"Event\":\"Hangup\",\"Channel\":\"PJSIP/100-00000001\",\"Cause\":\"16\"}\n"));
	CHECK(takes("Event: X\r\nAccountCode: \r\nEmpty:\r\n",
		    "{\"Event\":\"X\",\"AccountCode\":\"\",\"Empty\":\"\"}\n"));
	CHECK(takes("Event: X\r\nAddress: 198.51.100.23:5060\r\nTwo:  spaces\r\n",
		    "{\"Event\":\"X\",\"Address\":\"198.51.100.23:5060\",\"Two\":\" spaces\"}\n"));
	CHECK(takes("Event: X\r\nAppData: say \"hi\" \\ (x)\r\n",
		    "{\"Event\":\"X\",\"AppData\":\"say \\\"hi\\\" \\\\ (x)\"}\n"));
	CHECK(takes("Event: X\r\nV: a\tb\x01\x7f\r\n",
		    "{\"Event\":\"X\",\"V\":\"a\\tb\\u0001\\u007f\"}\n"));
	CHECK(takes("Event: X\r\nV: caf\xc3\xa9 \xff\r\n",
		    "{\"Event\":\"X\",\"V\":\"caf\xc3\xa9 \\u00ff\"}\n"));
	CHECK(takes("Event: X\r\nV: lone\rcr\r\n",
		    "{\"Event\":\"X\",\"V\":\"lone\\rcr\"}\n"));
	CHECK(takes("Event: X\r\nA very long header name, longer than sixteen: v\r\n",
		    "{\"Event\":\"X\",\"A very long header name, longer than sixteen\":\"v\"}\n"));
	CHECK(takes(": no name\r\n", "{\"\":\"no name\"}\n"));
	/* Left to the parser: */
	CHECK(declines("Event: X\r\nno colon here\r\n"));
	CHECK(declines("Event: X\r\nChanVariable(SIP/a:5060): x=y\r\n"));
	CHECK(declines("Event: X\r\nVar: a\r\nvar: b\r\n"));         /* repeated, any case */
	CHECK(declines("Event: X\nBare: lf\n"));
	CHECK(declines("Event: X\r\nN\xc3\xa9: v\r\n"));
	CHECK(declines("Event: X\r\nN\"q: v\r\n"));
	{
		char big[8192] = "Event: Many\r\n";
		for (int i = 0; i < 64; i++)
			sprintf(big + strlen(big), "H%d: %d\r\n", i, i);
		CHECK(declines(big));
	}
	{
		size_t n = 20000;
		char *huge = malloc(n + 32);
		memcpy(huge, "Event: X\r\nV: ", 13);
		memset(huge + 13, 'v', n);
		memcpy(huge + 13 + n, "\r\n", 3);
		CHECK(declines(huge));
		free(huge);
	}
}

/* xorshift: the same random messages on every run. */
static unsigned long long rng = 88172645463325252ULL;
static unsigned rnd(unsigned n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng % n);
}

static size_t random_message(char *m)
{
	static const char *const pieces[] = {
		"a", "Event", "Channel", "e", "Z", "0", " ", ":", ": ", "(", ")", "\"", "\\", "\t",
		"\r", "\n", "\r\n", "\x01", "\x7f", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
		"\xff", "\xc3", "\x80", "\xed\xa0\x80", "0123456789abcdefghij", "x", "\0",
	};
	size_t len = 0, lines = 1 + rnd(12);

	for (size_t l = 0; l < lines; l++) {
		size_t k = rnd(4) ? 0 : 1 + rnd(3);
		/* mostly "Name: value" lines, with random pieces in both */
		for (size_t i = 0; i < k; i++) {
			const char *p = pieces[rnd(sizeof pieces / sizeof *pieces)];
			size_t n = *p ? strlen(p) : 1;
			memcpy(m + len, p, n);
			len += n;
		}
		if (rnd(8))
			len += (size_t)sprintf(m + len, "H%u: ", rnd(40));
		k = rnd(3) ? rnd(4) : rnd(12);
		for (size_t i = 0; i < k; i++) {
			const char *p = pieces[rnd(sizeof pieces / sizeof *pieces)];
			size_t n = *p ? strlen(p) : 1;
			memcpy(m + len, p, n);
			len += n;
		}
		memcpy(m + len, rnd(64) ? "\r\n" : "\n", 2);
		len += m[len] == '\r' ? 2 : 1;
	}
	return len;
}

static void test_random(void)
{
	char m[4096];
	size_t taken = 0, differ = 0, runs = 200000;

	for (size_t r = 0; r < runs; r++) {
		size_t len = random_message(m), fn, sn, nmsgs;
		if (fast(m, len, fast_out, sizeof fast_out, &fn) != RC_OK)
			continue;
		taken++;
		sn = slow(m, len, slow_out, sizeof slow_out, &nmsgs);
		if (nmsgs == 1 && fn == sn && memcmp(fast_out, slow_out, fn) == 0)
			continue;
		if (differ++ < 3) {
			fprintf(stderr, "  differs on %zu bytes: ", len);
			for (size_t i = 0; i < len; i++)
				fprintf(stderr, m[i] >= 0x20 && m[i] < 0x7f ? "%c" : "\\x%02x", (unsigned char)m[i]);
			fprintf(stderr, "\n  fast %s  slow %s", fast_out, slow_out);
		}
	}
	fprintf(stderr, "# %zu random messages, %zu taken by the fast path (%zu bytes to read ahead)\n",
		runs, taken, read_ahead);
	CHECK(differ == 0);
	CHECK(taken > runs / 20);       /* the comparison did happen */
}

/* Framed: what it takes is the first message, with its blank line, made
 * as the parser would; a message cut anywhere before its blank line ends
 * is never taken, whatever bytes follow in the buffer. */
static void test_framed(void)
{
	char m[4200 + 64], tail[4096];
	size_t taken = 0, differ = 0, cut_taken = 0, runs = 20000;

	for (size_t r = 0; r < runs; r++) {
		size_t len = random_message(m), used, fn, sn, nmsgs, k;
		size_t tl = random_message(tail) % 64;     /* a piece of the next message */
		memcpy(m + len, "\r\n", 2);
		memcpy(m + len + 2, tail, tl);
		if (fast_framed(m, len + 2 + tl, &used, fast_out, sizeof fast_out, &fn) != RC_OK)
			continue;
		taken++;
		sn = slow(m, used - 2, slow_out, sizeof slow_out, &nmsgs);
		if (used < 2 || nmsgs != 1 || fn != sn || memcmp(fast_out, slow_out, fn) != 0) {
			if (differ++ < 3)
				fprintf(stderr, "  framed differs: fast %s  slow %s", fast_out, slow_out);
			continue;
		}
		for (k = 0; k < used; k++)
			if (fast_framed(m, k, &used, fast_out, sizeof fast_out, &fn) != OUT_DECLINED)
				cut_taken++;
	}
	fprintf(stderr, "# %zu framed messages, %zu taken (%zu bytes to read ahead)\n", runs, taken,
		read_ahead);
	CHECK(differ == 0);
	CHECK(cut_taken == 0);
	CHECK(taken > runs / 20);
}

int main(void)
{
	if (capture_stdout() != 0)
		return 1;
	for (read_ahead = 0; read_ahead <= 512; read_ahead += 64) {
		test_fixed();
		if (read_ahead % 256 == 0) {
			test_random();
			test_framed();
		}
	}
	return check_summary();
}
