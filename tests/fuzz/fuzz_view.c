/* fuzz_view.c - libFuzzer target for the two ways a message reaches stdout
 * (tests/unit/view_output.h): the parser's path (a copy, out_msg) and the
 * view path of `ami tail-events` (headers read in place, out_view). For any
 * byte stream, in one feed or in pieces, both must accept or refuse it
 * alike and print the same json and text; raw output must mean the same.
 *
 * data[0]: bit 0 = expect a banner, bit 1 = tiny limits (the error paths),
 * bits 2-3 = format (text, raw, json), bits 4-7 seed the piece sizes.
 *
 *   make fuzz FUZZ_SECONDS=60       (builds every tests/fuzz/fuzz_*.c) */
#define _GNU_SOURCE
#include <stdint.h>

#include "../unit/view_output.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
	static const struct ami_limits tiny = { .max_line = 40, .max_headers = 6, .max_msg = 200 };
	static const enum out_format formats[] = { OUT_TEXT, OUT_RAW, OUT_JSON, OUT_JSON };
	const struct ami_limits *lim;
	enum out_format f;
	const char *d = (const char *)data + 1;

	if (size < 1 || size > 16384)
		return 0;
	lim = data[0] & 2 ? &tiny : NULL;
	f = formats[(data[0] >> 2) & 3];
	if (!paths_agree(d, size - 1, f, data[0] & 1, lim, 0, 0) ||
	    !paths_agree(d, size - 1, f, data[0] & 1, lim, (uint32_t)(data[0] >> 4) + 1,
			 1 + (data[0] >> 4) * 8))
		abort();
	return 0;
}
