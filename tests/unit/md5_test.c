/* md5_test.c - unit tests for common/md5.c: RFC 1321's vectors, feeding
 * in pieces, and the Key of an AMI challenge login as Asterisk checks it.
 * Ends with "N passed, N failed"; exits 1 when anything failed. */
#include <string.h>

#include "check.h"
#include "md5.h"
#include "util.h"

static void test_md5(void)
{
	static const char *const vec[][2] = {     /* RFC 1321, appendix A.5 */
		{ "", "d41d8cd98f00b204e9800998ecf8427e" },
		{ "a", "0cc175b9c0f1b6a831c399e269772661" },
		{ "abc", "900150983cd24fb0d6963f7d28e17f72" },
		{ "message digest", "f96b697d7cb7938d525a2f31aaf161d0" },
		{ "abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b" },
		{ "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
		  "d174ab98d277d9f5a5611c2c9f419d9f" },
		{ "1234567890123456789012345678901234567890"
		  "1234567890123456789012345678901234567890",
		  "57edf4a22be3c955ac49da2e2107b67a" },
	};
	static const size_t steps[] = { 1, 3, 55, 56, 63, 64, 65, 100 };
	char hex[33];

	for (size_t i = 0; i < ARRAY_LEN(vec); i++) {
		md5_hex(vec[i][0], strlen(vec[i][0]), hex);
		CHECK_STR(hex, vec[i][1]);
	}
	/* Incremental feeding in odd pieces gives the same digest. */
	for (size_t s = 0; s < ARRAY_LEN(steps); s++) {
		const char *m = vec[6][0];
		size_t len = strlen(m);
		struct md5_ctx c;

		md5_init(&c);
		for (size_t off = 0; off < len; off += steps[s])
			md5_update(&c, m + off, len - off < steps[s] ? len - off : steps[s]);
		md5_final_hex(&c, hex);
		CHECK_STR(hex, vec[6][1]);
	}
	/* Asterisk's challenge login: md5(challenge + secret). */
	struct md5_ctx c;
	md5_init(&c);
	md5_update(&c, "12345", 5);
	md5_update(&c, "678", 3);
	md5_final_hex(&c, hex);
	CHECK_STR(hex, "25d55ad283aa400af464c76d713c07ad");   /* md5("12345678") */
	unsigned char raw[16];
	md5_init(&c);
	md5_update(&c, "abc", 3);
	md5_final(&c, raw);
	CHECK(raw[0] == 0x90 && raw[15] == 0x72);
}

/* The Key Asterisk 22 accepted in tests/captures/asterisk-22/
 * tcp-challenge-md5.txt: Challenge 263227237, secret "world". */
static void test_challenge_key(void)
{
	char key[33];

	md5_challenge_key("263227237", "world", key);
	CHECK_STR(key, "f02410639afe3b9c933e685b8c3f12a9");
	md5_challenge_key("263227237", NULL, key);          /* no secret: md5(challenge) */
	CHECK_STR(key, "e873445b8e530d6fe459fd7b6ce2b90a");
}

int main(void)
{
	test_md5();
	test_challenge_key();
	return check_summary();
}
