/* msg_bench.c - parser throughput: replays an event corpus (blocks separated
 * by blank lines, sent with CRLF the way the shared benchmark's amiblast does) through
 * ami_parser_space/commit in 64 KiB reads, as `ami tail-events` would.
 *
 *   msg_bench [CORPUS [EVENTS [ROUNDS]]]
 * defaults: bench/corpus.txt (a copy of the shared benchmark's corpus: 21
 * events modelled on Asterisk 20), 200000 events, 5 rounds (best kept).
 * Built and run by `make bench`. */
#define _POSIX_C_SOURCE 200809L
#include "msg.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	size_t cap = 1 << 16, n = 0, r;
	char *b;

	if (!f)
		return NULL;
	b = xmalloc(cap);
	while ((r = fread(b + n, 1, cap - n, f)) > 0) {
		n += r;
		if (n == cap)
			b = xrealloc(b, cap *= 2);
	}
	fclose(f);
	*len = n;
	return b;
}

/* Rewrites the corpus with CRLF line ends and one blank line per event. */
static char *normalize(const char *in, size_t inlen, size_t *outlen, size_t *nev)
{
	char *out = xmalloc(inlen * 2 + 4);
	size_t o = 0, p = 0;
	int inblock = 0;

	*nev = 0;
	while (p < inlen) {
		const char *nl = memchr(in + p, '\n', inlen - p);
		size_t e = nl ? (size_t)(nl - in) : inlen, l = e - p;

		if (l && in[p + l - 1] == '\r')
			l--;
		if (l) {
			memcpy(out + o, in + p, l);
			o += l;
			inblock = 1;
		}
		if (l || inblock) {
			memcpy(out + o, "\r\n", 2);
			o += 2;
		}
		if (!l && inblock) {
			inblock = 0;
			(*nev)++;
		}
		p = e + 1;
	}
	if (inblock) {
		memcpy(out + o, "\r\n", 2);
		o += 2;
		(*nev)++;
	}
	*outlen = o;
	return out;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Parses nev events from the replay buffer; returns seconds, or -1. */
static double run(const char *rep, size_t replen, size_t rep_nev, size_t nev, size_t *headers)
{
	struct ami_parser *p = ami_parser_new(NULL, 1);
	struct ami_msg m;
	size_t got = 0, off = 0, cycles = (nev + rep_nev - 1) / rep_nev, done = 0;
	const char banner[] = "Asterisk Call Manager/7.0.3\r\n";
	double t0 = now();

	ami_msg_init(&m);
	*headers = 0;
	ami_parser_feed(p, banner, sizeof banner - 1);
	while (done < cycles) {
		size_t room, n;
		char *dst = ami_parser_space(p, &room);
		int r;

		n = replen - off < room ? replen - off : room;
		if (n > 65536)
			n = 65536;
		memcpy(dst, rep + off, n);     /* stands in for read() */
		ami_parser_commit(p, n);
		off += n;
		if (off == replen) {
			off = 0;
			done++;
		}
		while ((r = ami_parser_next(p, &m)) > 0) {
			got++;
			*headers += m.n;
		}
		if (r < 0) {
			fprintf(stderr, "parse error: %s\n", ami_parser_error(p));
			return -1;
		}
	}
	t0 = now() - t0;
	if (got != cycles * rep_nev) {
		fprintf(stderr, "parsed %zu events, expected %zu\n", got, cycles * rep_nev);
		t0 = -1;
	}
	ami_msg_free(&m);
	ami_parser_free(p);
	return t0;
}

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "bench/corpus.txt";
	size_t want = argc > 2 ? strtoul(argv[2], NULL, 10) : 200000;
	int rounds = argc > 3 ? atoi(argv[3]) : 5;
	size_t rawlen, clen, cnev, k, replen = 0, hdrs = 0;
	char *raw = slurp(path, &rawlen), *c, *rep;
	double best = 1e9;

	if (!raw) {
		perror(path);
		return 1;
	}
	c = normalize(raw, rawlen, &clen, &cnev);
	if (!cnev) {
		fprintf(stderr, "%s: no events\n", path);
		return 1;
	}
	k = (256 * 1024 + clen - 1) / clen;      /* ~256 KiB of whole cycles */
	rep = xmalloc(k * clen);
	for (size_t i = 0; i < k; i++, replen += clen)
		memcpy(rep + replen, c, clen);
	for (int i = 0; i < rounds; i++) {
		double t = run(rep, replen, k * cnev, want, &hdrs);
		if (t < 0)
			return 1;
		if (t < best)
			best = t;
	}
	want = ((want + k * cnev - 1) / (k * cnev)) * k * cnev;
	printf("%zu events (%zu B avg, %zu headers), best of %d: %.3f s, %.2f M events/s, %.0f MB/s\n",
	       want, clen / cnev, hdrs, rounds, best, want / best / 1e6,
	       (double)want * clen / cnev / best / 1e6);
	free(rep);
	free(c);
	free(raw);
	return 0;
}
