/* glob_test.c - unit tests for common/glob.c: the case-insensitive globs of
 * --event, --match KEY=GLOB and the shell's `events on GLOB`, on names that
 * need not end in NUL. Ends with "N passed, N failed"; exits 1 when
 * anything failed. */
#include <string.h>

#include "check.h"
#include "glob.h"

/* The whole of s (a NUL-terminated literal) against pattern p. */
static int match(const char *p, const char *s)
{
	return glob_match(p, s, strlen(s));
}

static void test_plain(void)
{
	CHECK(match("Newchannel", "Newchannel"));
	CHECK(match("newchannel", "NewChannel"));           /* ASCII case ignored */
	CHECK(!match("Newchannel", "Newchannels"));
	CHECK(!match("Newchannels", "Newchannel"));
	CHECK(match("", ""));
	CHECK(!match("", "x"));
	CHECK(!match("\xc9v", "\xe9v"));                    /* no case outside ASCII */
}

static void test_wildcards(void)
{
	CHECK(match("*", ""));
	CHECK(match("*", "Hangup"));
	CHECK(match("New*", "Newchannel"));
	CHECK(match("New*", "New"));
	CHECK(match("*hangup", "SoftHangupRequest") == 0);
	CHECK(match("*Hangup*", "SoftHangupRequest"));
	CHECK(match("Dial*End", "DialEnd"));
	CHECK(match("Dial*End", "DialBeginEnd"));
	CHECK(!match("Dial*End", "DialEnding"));
	CHECK(match("*a*b", "xaxxb"));                      /* backtracking */
	CHECK(!match("*a*b", "xaxxbc"));
	CHECK(match("a**b", "ab"));
	CHECK(match("Hangu?", "Hangup"));
	CHECK(!match("Hangu?", "Hangu"));
	CHECK(match("?", "\xe9"));                          /* one byte */
}

static void test_classes(void)
{
	CHECK(match("[abc]x", "bx"));
	CHECK(match("[abc]x", "Bx"));                       /* case ignored in classes */
	CHECK(!match("[abc]x", "dx"));
	CHECK(match("[a-c]", "B"));
	CHECK(match("[A-C]", "b"));
	CHECK(!match("[a-c]", "d"));
	CHECK(match("[!a-c]", "d"));
	CHECK(match("[^a-c]", "d"));
	CHECK(!match("[!a-c]", "A"));
	CHECK(match("[]a]", "]"));                          /* ']' first is a member */
	CHECK(match("[a-]", "-"));                          /* '-' last too */
	CHECK(match("[\\]]", "]"));
	CHECK(match("a[", "a["));                           /* not closed: a plain '[' */
	CHECK(!match("a[", "ab"));
	CHECK(match("[\x80-\xff]", "\xe9"));                /* bytes above 127 */
}

static void test_escapes(void)
{
	CHECK(match("a\\*", "a*"));
	CHECK(!match("a\\*", "ab"));
	CHECK(match("\\?", "?"));
	CHECK(match("\\A", "a"));                           /* escaped letters fold too */
	CHECK(match("a\\", "a\\"));                         /* a trailing backslash is itself */
}

/* The name ends at n, even though more bytes follow in the buffer. */
static void test_length(void)
{
	const char buf[] = "HangupRequest\r\nChannel: x";

	CHECK(glob_match("Hangup", buf, 6));
	CHECK(glob_match("Hang*", buf, 6));
	CHECK(!glob_match("Hangup*R*", buf, 6));
	CHECK(glob_match("*Request", buf, 13));
	CHECK(!glob_match("*Request?", buf, 13));
	CHECK(glob_match("*", buf, 0));
	CHECK(!glob_match("?", buf, 0));
}

static void test_pat(void)
{
	struct pat p;

	pat_init(&p, "Hangup");
	CHECK(p.literal);
	CHECK(pat_match(&p, "HANGUP", 6));
	CHECK(!pat_match(&p, "HangupRequest", 13));
	CHECK(pat_match(&p, "HangupRequest", 6));
	CHECK(!pat_match(&p, "Hangu", 5));
	pat_init(&p, "Hangup*");
	CHECK(!p.literal);
	CHECK(pat_match(&p, "hangupRequest", 13));
	pat_init(&p, "a\\b");
	CHECK(!p.literal);                                  /* a backslash is a pattern */
	CHECK(pat_match(&p, "ab", 2));
	pat_init(&p, "[x]");
	CHECK(!p.literal);
	CHECK(pat_match(&p, "X", 1));
}

int main(void)
{
	test_plain();
	test_wildcards();
	test_classes();
	test_escapes();
	test_length();
	test_pat();
	return check_summary();
}
