/* fuzz_recording.c - libFuzzer target for the recording reader
 * (common/recording.c). For any input, raw or json, fed at once and in
 * pieces, the same events come out with the same times and offsets, and
 * the same error (at the same byte) when there is one; every event is
 * whole: its headers and Event value lie within its bytes, its raw bytes
 * parse back into the same headers, and no ReceivedAt that was taken out
 * is left in it. ASan and LeakSanitizer do the rest.
 *
 * data[0] seeds the piece sizes (1..32, varying).
 *
 *   make fuzz        (builds every tests/fuzz/fuzz_*.c target with clang) */
#include "msg.h"
#include "recording.h"
#include "util.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) abort(); } while (0)

/* The raw bytes of a view parse back, alone, into the same headers. */
static void check_wire(const struct ami_view *v)
{
	struct ami_parser *p = ami_parser_new(NULL, 0);
	struct ami_msg m;

	ami_msg_init(&m);
	CHECK(ami_parser_feed(p, v->wire, v->wire_len) == 0);
	CHECK(ami_parser_next(p, &m) == 1);
	CHECK(m.n == v->n);
	for (size_t i = 0; i < m.n; i++) {
		CHECK(m.h[i].name_len == v->h[i].name_len && m.h[i].value_len == v->h[i].value_len);
		CHECK(!memcmp(ami_msg_name(&m, i), v->base + v->h[i].name, v->h[i].name_len));
		CHECK(!memcmp(ami_msg_value(&m, i), v->base + v->h[i].value, v->h[i].value_len));
	}
	CHECK(ami_parser_pending(p) == 0);
	ami_msg_free(&m);
	ami_parser_free(p);
}

static void check_event(const struct rec_event *ev, struct strbuf *log)
{
	const struct ami_view *v = &ev->v;
	char head[96];

	CHECK(v->event && v->h);
	for (size_t i = 0; i < v->n; i++) {
		const struct ami_header *h = &v->h[i];
		if (v->wire)
			CHECK(h->value + (size_t)h->value_len <= v->body &&
			      h->name + (size_t)h->name_len <= v->body);
		strbuf_add(log, v->base + h->name, h->name_len);
		strbuf_add(log, "=", 1);
		strbuf_add(log, v->base + h->value, h->value_len);
		strbuf_add(log, "\n", 1);
	}
	if (v->wire) {
		CHECK(v->event >= v->wire && v->event + v->event_len <= v->wire + v->body);
		CHECK(v->lim >= v->wire + v->wire_len);
		check_wire(v);
	}
	if (ev->at_text) {
		int64_t ms;
		int tz;
		CHECK(rec_parse_time(ev->at_text, strlen(ev->at_text), &ms, &tz) == 0);
		CHECK(ms == ev->at && tz == ev->tz);
	}
	snprintf(head, sizeof head, "@%llu %lld %d\n", (unsigned long long)ev->offset,
		 (long long)ev->at, ev->tz);
	strbuf_adds(log, head);
}

/* Every event and the error, fed in pieces (seed 0: at once). */
static void run(const char *in, size_t len, unsigned seed, struct strbuf *log)
{
	struct rec_reader *r = rec_new();
	struct rec_event ev;
	size_t at = 0;
	int got;

	for (;;) {
		while ((got = rec_next(r, &ev)) > 0)
			check_event(&ev, log);
		if (got < 0)
			break;
		if (at == len) {
			rec_eof(r);
			while ((got = rec_next(r, &ev)) > 0)
				check_event(&ev, log);
			CHECK(got < 0 || rec_done(r));
			break;
		}
		size_t n = seed ? 1 + (seed + at * 7) % 32 : len;
		n = n < len - at ? n : len - at;
		rec_feed(r, in + at, n);
		at += n;
	}
	strbuf_adds(log, "error: ");
	strbuf_adds(log, rec_error(r));
	rec_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct strbuf whole = { 0 }, pieces = { 0 };

	if (size < 1 || size > 65536)
		return 0;
	run((const char *)data + 1, size - 1, 0, &whole);
	run((const char *)data + 1, size - 1, data[0] | 1u, &pieces);
	CHECK(whole.len == pieces.len && !memcmp(whole.p, pieces.p, whole.len));
	strbuf_free(&whole);
	strbuf_free(&pieces);
	return 0;
}
