/* fuzz_mxml.c - libFuzzer target for the /mxml decoder (common/mxml.c).
 *
 * Whatever the server sends, the decoder must either fail cleanly or give
 * AMI wire text that cannot break the session's framing: no NUL, every CR
 * followed by LF and every LF preceded by CR, and text the AMI parser reads
 * to the end. mxml_header_name must stay within its buffer.
 *
 *   make fuzz        (builds every tests/fuzz/fuzz_*.c target with clang)
 *   tests/fuzz/out/fuzz_mxml -max_total_time=30 tests/fuzz/corpus/mxml */
#include "mxml.h"
#include "msg.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_framing(const char *out, size_t len)
{
	if (strlen(out) != len)
		abort();
	for (size_t i = 0; i < len; i++) {
		if (out[i] == '\r' && (i + 1 == len || out[i + 1] != '\n'))
			abort();
		if (out[i] == '\n' && (i == 0 || out[i - 1] != '\r'))
			abort();
	}
	if (len && (len < 4 || memcmp(out + len - 4, "\r\n\r\n", 4)))
		abort();            /* every message ends with its blank line */
}

static void parse_all(const char *out, size_t len)
{
	struct ami_parser *p = ami_parser_new(NULL, 0);
	struct ami_msg m;

	ami_msg_init(&m);
	if (ami_parser_feed(p, out, len) == 0)
		while (ami_parser_next(p, &m) > 0)
			ami_msg_get(&m, "Response");
	ami_msg_free(&m);
	ami_parser_free(p);
}

static void check_names(const uint8_t *data, size_t size)
{
	char name[8];
	size_t n = mxml_header_name((const char *)data, strnlen((const char *)data, size), name,
				    sizeof name);

	if (n >= sizeof name || strlen(name) != n)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *out, err[200];
	size_t len;

	check_names(data, size < 64 ? size : 64);
	if (mxml_decode((const char *)data, size, &out, &len, err, sizeof err) < 0) {
		if (out || !err[0])
			abort();
		return 0;
	}
	check_framing(out, len);
	parse_all(out, len);
	free(out);
	return 0;
}
