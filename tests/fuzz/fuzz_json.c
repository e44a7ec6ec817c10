/* fuzz_json.c - libFuzzer target for out_json_wire_framed (common/output.c),
 * the one-pass JSON writer of `ami tail-events`: whenever it takes a
 * message, its line must be byte for byte what the parser and out_msg make
 * of it, and it must never take a message cut before its blank line ends.
 *
 * data[0] sets how many bytes after the data it may read ahead (its
 * short-line steps need 64); the rest, ended with "\r\n" if it does not end
 * with "\n", then a blank line, is the data.
 *
 *   make fuzz FUZZ_SECONDS=60       (builds every tests/fuzz/fuzz_*.c) */
#define _GNU_SOURCE
#include <stdint.h>

#include "../unit/json_compare.h"

static char fast_out[1 << 18], slow_out[1 << 18];

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The fast output just made (fn bytes) is what the parser's path makes of
 * m[0, len). */
static void same_as_parser(const char *m, size_t len, size_t fn)
{
	size_t sn, nmsgs;

	sn = slow(m, len, slow_out, sizeof slow_out, &nmsgs);
	if (nmsgs != 1 || fn != sn || memcmp(fast_out, slow_out, fn) != 0) {
		fprintf(stderr, "fast: %s\nslow: %s\n", fast_out, slow_out);
		abort();
	}
}

/* The framed path on m[0, n): what it takes is the first message as the
 * parser sees it, and no cut of it before its end is taken. */
static void check_framed(const char *m, size_t n)
{
	size_t used, fn, k;

	if (fast_framed(m, n, &used, fast_out, sizeof fast_out, &fn) != RC_OK)
		return;
	if (used < 2 || used > n)
		abort();
	same_as_parser(m, used - 2, fn);
	for (k = used > 600 ? used - 600 : 0; k < used; k++)
		if (fast_framed(m, k, &used, fast_out, sizeof fast_out, &fn) != OUT_DECLINED)
			abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (capture_stdout() != 0)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t len;
	char *m;

	if (size < 1 || size > 8192)
		return 0;
	read_ahead = data[0];
	m = malloc(size + 2);
	len = size - 1;
	memcpy(m, data + 1, len);
	if (!len || m[len - 1] != '\n') {
		memcpy(m + len, "\r\n", 2);
		len += 2;
	}
	m = realloc(m, len + 2);
	memcpy(m + len, "\r\n", 2);
	check_framed(m, len + 2);
	free(m);
	return 0;
}
