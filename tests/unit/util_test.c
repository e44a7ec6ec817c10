/* util_test.c - unit tests for common/util.c: the number parsers behind
 * every option and config value (parse_uint, parse_seconds), enum words,
 * control characters, deadlines, sleep_ms and full_write.
 * Ends with "N passed, N failed"; exits 1 when anything failed. */
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "util.h"

static void test_parse_uint(void)
{
	static const char *const bad[] = {
		"", "-1", "+1", " 1", "1 ", "1x", "0x10", "1.0", "65536", "99999999999999999999999",
	};
	unsigned long v = 42;

	CHECK_INT(parse_uint("0", 65535, &v), 0);
	CHECK_INT(v, 0);
	CHECK_INT(parse_uint("65535", 65535, &v), 0);
	CHECK_INT(v, 65535);
	CHECK_INT(parse_uint("007", 65535, &v), 0);         /* decimal, not octal */
	CHECK_INT(v, 7);
	CHECK_INT(parse_uint("2147483647", 2147483647UL, &v), 0);
	CHECK_INT(v, 2147483647);
	CHECK_INT(parse_uint("2147483648", 2147483647UL, &v), -1);
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		v = 42;
		CHECKF(parse_uint(bad[i], 65535, &v) == -1 && v == 42, "parse_uint(\"%s\")", bad[i]);
	}
	CHECK_INT(parse_uint(NULL, 65535, &v), -1);
}

static void test_parse_seconds(void)
{
	static const struct { const char *s; int ms; } good[] = {
		{ "0", 0 }, { "10", 10000 }, { "2.5", 2500 }, { ".5", 500 }, { "0.25", 250 },
		{ "0.0004", 0 }, { "0.0005", 1 },               /* rounded to the millisecond */
		{ "2000000", 2000000000 },                      /* the largest: fits an int */
	};
	static const char *const bad[] = {
		"", "-1", "+1", " 1", "1 ", "1s", "2.5.1", "nan", "inf", "2000000.1", "1e10",
	};
	int ms;

	for (size_t i = 0; i < ARRAY_LEN(good); i++) {
		ms = -7;
		CHECKF(parse_seconds(good[i].s, &ms) == 0 && ms == good[i].ms,
		       "parse_seconds(\"%s\"): %d ms, want %d", good[i].s, ms, good[i].ms);
	}
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		ms = -7;
		CHECKF(parse_seconds(bad[i], &ms) == -1 && ms == -7, "parse_seconds(\"%s\")", bad[i]);
	}
	CHECK_INT(parse_seconds(NULL, &ms), -1);
}

static void test_words(void)
{
	static const char *const words[] = { "plain", "md5", NULL };

	CHECK_INT(word_index("plain", words), 0);
	CHECK_INT(word_index("MD5", words), 1);
	CHECK_INT(word_index("md", words), -1);
	CHECK_INT(word_index("", words), -1);
}

static void test_bad_chars(void)
{
	CHECK(bad_char_name("Local/100@default", 17) == NULL);
	CHECK_STR(bad_char_name("a\rb", 3), "a carriage return (CR)");
	CHECK_STR(bad_char_name("a\nb", 3), "a line feed (LF)");
	CHECK_STR(bad_char_name("a\0b", 3), "a NUL byte");
	CHECK(bad_char_name("a\r", 1) == NULL);             /* only the first len bytes */
	CHECK(contains_nocase("Action: LOGIN", "login"));
	CHECK(!contains_nocase("Action: Ping", "login"));
}

static void test_time(void)
{
	int64_t start;

	CHECK_INT(ms_left(-1), -1);
	CHECK_INT(ms_left(now_ms() - 5), 0);
	CHECK(ms_left(now_ms() + 60000) > 50000);
	start = now_ms();
	CHECK_INT(sleep_ms(30, -1), RC_OK);
	CHECK(now_ms() - start >= 30);
	start = now_ms();
	CHECK_INT(sleep_ms(60000, now_ms() + 20), RC_OK);  /* the deadline comes first */
	CHECK(now_ms() - start >= 20 && now_ms() - start < 10000);
	interrupted = 2;
	start = now_ms();
	CHECK_INT(sleep_ms(60000, -1), RC_INTERRUPTED);
	CHECK(now_ms() - start < 10000);
	interrupted = 0;
}

/* Through a non-blocking pipe much larger than its buffer, to a slow reader. */
static void test_full_write(void)
{
	size_t n = 1 << 20;
	char *buf = xmalloc(n);
	int fds[2], status = -1;
	pid_t pid;

	for (size_t i = 0; i < n; i++)
		buf[i] = (char)(i * 7);
	if (pipe(fds) < 0 || (pid = fork()) < 0) {
		CHECK(!"pipe or fork");
		free(buf);
		return;
	}
	if (pid == 0) {                 /* the reader: exit 0 when every byte is right */
		char chunk[4096];
		size_t got = 0;
		ssize_t r;
		close(fds[1]);
		usleep(20000);
		while ((r = read(fds[0], chunk, sizeof chunk)) > 0)
			for (ssize_t i = 0; i < r; i++, got++)
				if (chunk[i] != (char)(got * 7))
					_exit(2);
		_exit(got == n ? 0 : 1);
	}
	close(fds[0]);
	fcntl(fds[1], F_SETFL, O_NONBLOCK);
	CHECK_INT(full_write(fds[1], buf, n), 0);
	close(fds[1]);
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK_INT(full_write(-1, "x", 1), -1);
	free(buf);
}

/* Reconnection waits: 0.5 s doubling to a 30 s cap, each in [d/2, d]. */
static void test_backoff(void)
{
	unsigned rng = 12345;
	static const int full[] = { 500, 1000, 2000, 4000, 8000, 16000, 30000, 30000 };

	for (int round = 0; round < 50; round++)
		for (unsigned n = 1; n <= 8; n++) {
			int w = backoff_ms(n, &rng), d = full[n - 1];
			CHECKF(w >= d / 2 && w <= d, "attempt %u waited %d ms, not in [%d, %d]", n, w,
			       d / 2, d);
		}
	CHECK(backoff_ms(1000, &rng) <= 30000);
}

int main(void)
{
	test_parse_uint();
	test_parse_seconds();
	test_words();
	test_bad_chars();
	test_time();
	test_full_write();
	test_backoff();
	return check_summary();
}
