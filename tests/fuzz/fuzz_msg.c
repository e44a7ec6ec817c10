/* fuzz_msg.c - libFuzzer target for the AMI parser (common/msg.c).
 *
 * data[0] is a control byte: bit 0 = expect a banner, bit 1 = tiny limits
 * (so the error paths run), bits 2-7 seed the sizes of the pieces the rest
 * is fed in. The input is parsed in one feed and again in those pieces
 * (alternating ami_parser_feed and space/commit), once through the copying
 * call (ami_parser_next), once through views (ami_parser_next_view, split
 * now or later, then copied), and once by the line-by-line parser msg.c had
 * before views (tests/unit/ref_parser.h, the oracle): every run must give
 * the same messages, banner and error. Each message must also survive
 * ami_msg_format + a re-parse.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address -Icommon tests/fuzz/fuzz_msg.c \
 *       common/msg.c common/util.c -o fuzz_msg
 *   ./fuzz_msg -max_total_time=30 tests/fuzz/corpus/msg */
#include "msg.h"
#include "../unit/ref_parser.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct run {
	struct ami_msg *m;
	size_t n, cap;
	int rc;
	char err[128];
	char banner[256];
	int has_banner;
};

static void run_free(struct run *r)
{
	for (size_t i = 0; i < r->n; i++)
		ami_msg_free(&r->m[i]);
	free(r->m);
}

/* Appends a copy of m to the run. */
static void keep(struct run *r, const struct ami_msg *m)
{
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 8;
		r->m = realloc(r->m, r->cap * sizeof *r->m);
		if (!r->m)
			abort();
	}
	ami_msg_init(&r->m[r->n]);
	ami_msg_copy(&r->m[r->n++], m);
}

static int drain(struct ami_parser *p, struct run *r, struct ami_msg *tmp)
{
	int x;

	while ((x = ami_parser_next(p, tmp)) > 0) {
		keep(r, tmp);
	}
	return x;
}

static uint32_t next_rand(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

enum way { BY_COPY, BY_VIEW, BY_REF };

/* Takes every complete message: copies (way BY_COPY), or views split at
 * once or afterwards, then copied (BY_VIEW; x picks which). */
static int drain_views(struct ami_parser *p, struct run *r, struct ami_msg *tmp, uint32_t x)
{
	struct ami_view v;
	int k;

	while ((k = ami_parser_next_view(p, &v, (x = x * 1103515245u + 12345u) >> 31)) > 0) {
		if ((v.event != NULL) != (v.n ? ami_view_get(&v, "Event", &(size_t){ 0 }) != NULL : 1))
			abort();        /* a view is an event exactly when it has Event: */
		ami_parser_split(p, &v);
		ami_msg_from_view(tmp, &v);
		keep(r, tmp);
	}
	return k;
}

static int drain_ref(struct ref_parser *p, struct run *r, struct ami_msg *tmp)
{
	int x;

	while ((x = ref_parser_next(p, tmp)) > 0) {
		keep(r, tmp);
	}
	return x;
}

/* The oracle: the same stream through the old parser. */
static void parse_ref(struct run *r, const char *d, size_t len, int banner,
		      const struct ami_limits *lim, uint32_t seed)
{
	struct ref_parser *p = ref_parser_new(lim, banner);
	struct ami_msg tmp;
	size_t pos = 0, maxchunk = (size_t)1 << (seed % 9);

	memset(r, 0, sizeof *r);
	ami_msg_init(&tmp);
	while (pos < len && r->rc == 0) {
		uint32_t x = seed ? next_rand(&seed) : 0;
		size_t n = seed ? 1 + x % maxchunk : len;
		if (n > len - pos)
			n = len - pos;
		ref_parser_feed(p, d + pos, n);
		pos += n;
		r->rc = drain_ref(p, r, &tmp);
	}
	if (r->rc < 0)
		snprintf(r->err, sizeof r->err, "%s", ref_parser_error(p));
	if (ref_parser_banner(p)) {
		r->has_banner = 1;
		snprintf(r->banner, sizeof r->banner, "%s", ref_parser_banner(p));
	}
	ami_msg_free(&tmp);
	ref_parser_free(p);
}

/* seed 0: one feed; otherwise pieces of 1..2^k bytes. */
static void parse_way(struct run *r, const char *d, size_t len, int banner,
		      const struct ami_limits *lim, uint32_t seed, enum way way)
{
	struct ami_parser *p;
	struct ami_msg tmp;
	size_t pos = 0, maxchunk = (size_t)1 << (seed % 9);

	if (way == BY_REF) {
		parse_ref(r, d, len, banner, lim, seed);
		return;
	}
	p = ami_parser_new(lim, banner);
	memset(r, 0, sizeof *r);
	ami_msg_init(&tmp);
	while (pos < len && r->rc == 0) {
		uint32_t x = seed ? next_rand(&seed) : 0;
		size_t n = seed ? 1 + x % maxchunk : len, room;
		if (n > len - pos)
			n = len - pos;
		if (x & 0x80000000u) {
			char *dst = ami_parser_space(p, &room);
			if (n > room)
				n = room;
			memcpy(dst, d + pos, n);
			ami_parser_commit(p, n);
		} else {
			ami_parser_feed(p, d + pos, n);
		}
		pos += n;
		r->rc = way == BY_VIEW ? drain_views(p, r, &tmp, x) : drain(p, r, &tmp);
	}
	if (r->rc < 0)
		snprintf(r->err, sizeof r->err, "%s", ami_parser_error(p));
	if (ami_parser_banner(p)) {
		r->has_banner = 1;
		snprintf(r->banner, sizeof r->banner, "%s", ami_parser_banner(p));
	}
	ami_msg_free(&tmp);
	ami_parser_free(p);
}

static void parse(struct run *r, const char *d, size_t len, int banner,
		  const struct ami_limits *lim, uint32_t seed)
{
	parse_way(r, d, len, banner, lim, seed, BY_COPY);
}

static int msg_equal(const struct ami_msg *a, const struct ami_msg *b)
{
	if (a->n != b->n)
		return 0;
	for (size_t i = 0; i < a->n; i++) {
		const struct ami_header *x = &a->h[i], *y = &b->h[i];
		if (x->name_len != y->name_len || x->value_len != y->value_len ||
		    memcmp(ami_msg_name(a, i), ami_msg_name(b, i), x->name_len) ||
		    memcmp(ami_msg_value(a, i), ami_msg_value(b, i), x->value_len) ||
		    ami_msg_name(a, i)[x->name_len] || ami_msg_value(a, i)[x->value_len])
			return 0;
	}
	return 1;
}

static void same_runs(const struct run *a, const struct run *b)
{
	if (a->n != b->n || a->rc != b->rc || strcmp(a->err, b->err) ||
	    a->has_banner != b->has_banner || strcmp(a->banner, b->banner))
		abort();
	for (size_t i = 0; i < a->n; i++)
		if (!msg_equal(&a->m[i], &b->m[i]))
			abort();
}

/* Old-format Command replies ("Response: Follows") are read differently on
 * purpose, so only the others must come back unchanged. */
static void round_trip(const struct ami_msg *m)
{
	struct run back;
	char *wire;
	size_t len;

	if (m->n && m->h[0].name_len == 8 && m->h[0].value_len == 7 &&
	    !strcasecmp(ami_msg_name(m, 0), "Response") && !strcasecmp(ami_msg_value(m, 0), "Follows"))
		return;
	len = ami_msg_format(m, &wire);
	parse(&back, wire, len, 0, NULL, 0);
	if (back.n != 1 || back.rc != 0 || !msg_equal(&back.m[0], m))
		abort();
	run_free(&back);
	free(wire);
}

/* The lookups and the send check must cope with any parsed bytes. */
static void builder(const struct ami_msg *m)
{
	struct ami_msg c;
	char err[160];

	ami_msg_init(&c);
	ami_msg_copy(&c, m);
	if (c.n) {
		ami_msg_get(&c, ami_msg_name(&c, c.n - 1));
		ami_msg_count(&c, ami_msg_name(&c, 0));
		ami_msg_set(&c, ami_msg_name(&c, 0), ami_msg_value(&c, c.n - 1));
	}
	ami_msg_is_event(&c);
	ami_msg_check_send(&c, err, sizeof err);
	ami_msg_free(&c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct ami_limits tiny = { .max_line = 40, .max_headers = 6, .max_msg = 200 };
	const struct ami_limits *lim;
	struct run one, pieces;
	const char *d = (const char *)data + 1;
	int banner;

	if (size < 1)
		return 0;
	banner = data[0] & 1;
	lim = data[0] & 2 ? &tiny : NULL;
	parse(&one, d, size - 1, banner, lim, 0);
	for (enum way w = BY_COPY; w <= BY_REF; w++) {
		parse_way(&pieces, d, size - 1, banner, lim, (uint32_t)(data[0] >> 2) + 1, w);
		same_runs(&one, &pieces);
		run_free(&pieces);
		parse_way(&pieces, d, size - 1, banner, lim, 0, w);
		same_runs(&one, &pieces);
		if (w != BY_REF)
			run_free(&pieces);
	}
	for (size_t i = 0; i < one.n; i++) {
		round_trip(&one.m[i]);
		builder(&one.m[i]);
	}
	run_free(&one);
	run_free(&pieces);
	return 0;
}
