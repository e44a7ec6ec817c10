/* term_safe_test.c - the one escaping of server text for a terminal: C0
 * controls but TAB, DEL, the C1 controls (U+0080..U+009F in UTF-8) and
 * invalid UTF-8 come out as \xNN per byte; printable ASCII, TAB and valid
 * UTF-8 pass unchanged; a failing writer stops it. Then every byte value
 * alone, and random strings: the output never holds a byte a terminal
 * could read as a control, and undoing the escapes gives the input back.
 * Ends with "N passed, N failed"; exit status 1 when anything failed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "term_safe.h"
#include "util.h"

/* The escaped form of s[0, len) as a NUL-terminated string (malloc'd). */
static char *escaped(const char *s, size_t len)
{
	struct strbuf b = { 0 };

	term_safe_buf(&b, s, len);
	return b.p ? b.p : xstrdup("");
}

static void check_escaped(const char *s, size_t len, const char *want, int line)
{
	char *got = escaped(s, len);

	check_at(__FILE__, line, !strcmp(got, want), "escaped \"%s\", want \"%s\"", got, want);
	free(got);
}

#define ESCAPES(lit, want) check_escaped(lit, sizeof lit - 1, want, __LINE__)

static void test_fixed(void)
{
	ESCAPES("", "");
	ESCAPES("plain text: 1 2 3", "plain text: 1 2 3");
	ESCAPES("a\tb", "a\tb");                                 /* TAB passes */
	ESCAPES("\x1b]0;title\x07\x1b[2J", "\\x1b]0;title\\x07\\x1b[2J");
	ESCAPES("cr\rlf\nnul\0end", "cr\\x0dlf\\x0anul\\x00end");
	ESCAPES("del\x7f", "del\\x7f");
	ESCAPES("\x01\x1f ~", "\\x01\\x1f ~");
	/* C1 controls as UTF-8: CSI U+009B, NEL U+0085, U+0080, U+009F */
	ESCAPES("\xc2\x9b" "31m", "\\xc2\\x9b31m");
	ESCAPES("\xc2\x85\xc2\x80\xc2\x9f", "\\xc2\\x85\\xc2\\x80\\xc2\\x9f");
	/* valid UTF-8 passes: U+00A0, é, €, 😀 */
	ESCAPES("\xc2\xa0 caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
		"\xc2\xa0 caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	/* invalid UTF-8: a lone C1 byte, Latin-1, a cut sequence, overlong,
	 * a surrogate, above U+10FFFF */
	ESCAPES("\x9b", "\\x9b");
	ESCAPES("caf\xe9", "caf\\xe9");
	ESCAPES("\xe2\x82", "\\xe2\\x82");
	ESCAPES("\xc0\xaf", "\\xc0\\xaf");
	ESCAPES("\xed\xa0\x80", "\\xed\\xa0\\x80");
	ESCAPES("\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80");
	ESCAPES("\xc2", "\\xc2");                               /* cut at the end */
	ESCAPES("\xff\xfe", "\\xff\\xfe");
}

static void test_plain_len(void)
{
	CHECK_INT(term_plain_len("a", 1), 1);
	CHECK_INT(term_plain_len("\t", 1), 1);
	CHECK_INT(term_plain_len("\x1b", 1), 0);
	CHECK_INT(term_plain_len("\x7f", 1), 0);
	CHECK_INT(term_plain_len("\xc3\xa9x", 3), 2);
	CHECK_INT(term_plain_len("\xc2\x9b", 2), 0);
	CHECK_INT(term_plain_len("\xe2\x82\xac", 3), 3);
	CHECK_INT(term_plain_len("\xe2\x82\xac", 2), 0);      /* cut short */
}

/* A writer that fails on its second call. */
static int calls;
static int put_fails_second(void *arg, const char *s, size_t n)
{
	(void)arg, (void)s, (void)n;
	return ++calls == 2 ? -7 : 0;
}

static void test_writer_error(void)
{
	calls = 0;
	CHECK_INT(term_safe("ab\x1b" "cd\x1b" "ef", 8, put_fails_second, NULL), -7);
	CHECK_INT(calls, 2);
	char *d = term_safe_dup("x\x1by");
	CHECK_STR(d, "x\\x1by");
	free(d);
}

static int hexval(char c)
{
	return c <= '9' ? c - '0' : c - 'a' + 10;
}

/* Undoes the escapes; only "\x" + two lower-case hex digits are made. */
static size_t unescape(const char *s, char *out)
{
	size_t n = 0;

	while (*s) {
		if (s[0] == '\\' && s[1] == 'x') {
			out[n++] = (char)(hexval(s[2]) << 4 | hexval(s[3]));
			s += 4;
		} else {
			out[n++] = *s++;
		}
	}
	return n;
}

/* Nothing left that a terminal reads as a control: every remaining byte
 * is printable ASCII, TAB, or part of valid UTF-8 that is not C1. */
static int harmless(const char *s)
{
	size_t n = strlen(s), k;

	for (size_t i = 0; i < n; i += k)
		if ((k = term_plain_len(s + i, n - i)) == 0)
			return 0;
	return 1;
}

static void test_every_byte_and_random(void)
{
	char in[64], back[64 * 4];
	int bad = 0;

	for (int c = 0; c < 256; c++) {
		in[0] = (char)c;
		char *e = escaped(in, 1);
		int plain = (c >= 0x20 && c < 0x7f) || c == '\t';
		bad += strlen(e) != (plain ? 1u : 4u) || !harmless(e);
		free(e);
	}
	CHECKF(bad == 0, "%d single bytes escaped wrongly", bad);
	/* Bytes that matter: controls, DEL, the C1 lead 0xc2, continuation
	 * and lead bytes, invalid ones, plain ASCII (no backslash, so that
	 * unescape can undo the escapes). */
	static const unsigned char pool[] = { 0x00, 0x07, 0x09, 0x0a, 0x0d, 0x1b, 0x20, 'a',
		'[', ']', 0x7f, 0x80, 0x85, 0x9b, 0x9f, 0xa0, 0xa9, 0xbf, 0xc2, 0xc3, 0xe2,
		0x82, 0xac, 0xed, 0xf0, 0x9f, 0x98, 0xf4, 0xff };
	srand(11);
	bad = 0;
	for (int t = 0; t < 20000; t++) {
		size_t len = (size_t)(rand() % (int)sizeof in);
		for (size_t i = 0; i < len; i++)
			in[i] = (char)pool[rand() % (int)sizeof pool];
		char *e = escaped(in, len);
		bad += !harmless(e) || unescape(e, back) != len || memcmp(back, in, len);
		free(e);
	}
	CHECKF(bad == 0, "%d of 20000 random strings escaped wrongly", bad);
}

/* Long ASCII runs are scanned eight bytes at a time: one odd byte at every
 * place of a 40-byte line must still be found, and the edges of the
 * printable range (0x20, 0x7e) must pass. */
static void test_long_runs(void)
{
	static const unsigned char odd[] = { 0x00, 0x01, 0x09, 0x1b, 0x1f, 0x7f, 0x80, 0x9b,
		0xc2, 0xff };
	char line[40], want[48];
	int bad = 0;

	for (size_t k = 0; k < sizeof odd; k++) {
		for (size_t at = 0; at < sizeof line; at++) {
			memset(line, at % 2 ? 0x7e : 0x20, sizeof line);
			line[at] = (char)odd[k];
			char *e = escaped(line, sizeof line);
			if (odd[k] == '\t') {
				bad += strlen(e) != sizeof line || memcmp(e, line, sizeof line);
			} else {
				memcpy(want, line, at);
				snprintf(want + at, 5, "\\x%02x", odd[k]);
				memcpy(want + at + 4, line + at + 1, sizeof line - at - 1);
				want[sizeof line + 3] = '\0';
				bad += strcmp(e, want) != 0;
			}
			free(e);
		}
	}
	CHECKF(bad == 0, "%d odd bytes in long ASCII runs escaped wrongly", bad);
	memset(line, 'x', sizeof line);
	char *e = escaped(line, sizeof line);
	CHECK(strlen(e) == sizeof line && !memcmp(e, line, sizeof line));
	free(e);
}

int main(void)
{
	test_fixed();
	test_plain_len();
	test_writer_error();
	test_every_byte_and_random();
	test_long_runs();
	return check_summary();
}
