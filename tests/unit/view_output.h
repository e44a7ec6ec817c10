/* view_output.h - for the tests of the two ways a message reaches stdout
 * (view_output_test.c, fuzz_view.c): the parser's path (ami_parser_next,
 * a NUL-terminated copy, out_msg) and the view path of `ami tail-events`
 * (ami_parser_next_view, split at once or afterwards, out_view, headers
 * read in place with the formatters reading ahead of the data; json by
 * out_json_wire in one pass over the bytes whenever it takes them). For any
 * byte stream, fed in any pieces, both must accept or refuse it alike and
 * print the same bytes: json and text the same lines; raw on the view path
 * the bytes as received, which must parse back, message by message, into
 * what the parser's path has.
 * stdout is made a memfd so that what a path printed can be read back. */
#ifndef VIEW_OUTPUT_H
#define VIEW_OUTPUT_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "msg.h"
#include "format.h"
#include "output.h"
#include "util.h"

static int sink;

static int capture_stdout(void)
{
	int fd = memfd_create("view_output", 0);
	if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0)
		return -1;
	close(fd);
	sink = STDOUT_FILENO;
	return 0;
}

/* What was printed since the last call (malloc'd, NUL-terminated). */
static char *take_output(size_t *len)
{
	off_t n;
	char *out;

	out_flush();
	n = lseek(sink, 0, SEEK_CUR);
	out = malloc((size_t)(n > 0 ? n : 0) + 1);
	if (!out || n < 0 || pread(sink, out, (size_t)n, 0) != n)
		abort();
	if (ftruncate(sink, 0) != 0 || lseek(sink, 0, SEEK_SET) != 0)
		abort();
	out[n] = '\0';
	*len = (size_t)n;
	return out;
}

struct path_out {
	char *out;          /* what was printed */
	size_t len;
	int rc;             /* 0: all parsed; -1: refused */
	size_t msgs;
	char err[96];
};

/* Raw output of a view from the wire is its bytes as received: they must
 * parse, alone, into the message the view is. Prints that message as json
 * (a view of a copy, such as old Command output, is json already). */
static void raw_as_json(const struct ami_view *v)
{
	struct ami_parser *p;
	struct ami_msg m;
	size_t len;
	off_t at;
	char *raw;

	out_set_format(OUT_JSON);
	if (!v->wire) {
		out_view(v);
		out_set_format(OUT_RAW);
		return;
	}
	out_flush();
	at = lseek(sink, 0, SEEK_CUR);
	out_set_format(OUT_RAW);
	out_view(v);
	out_flush();
	len = (size_t)(lseek(sink, 0, SEEK_CUR) - at);
	raw = malloc(len + 1);
	if (!raw || pread(sink, raw, len, at) != (ssize_t)len || ftruncate(sink, at) != 0 ||
	    lseek(sink, at, SEEK_SET) != at)
		abort();
	p = ami_parser_new(NULL, 0);
	ami_msg_init(&m);
	out_set_format(OUT_JSON);
	if (ami_parser_feed(p, raw, len) != 0 || ami_parser_next(p, &m) != 1 ||
	    ami_parser_next(p, &m) != 0 || ami_parser_pending(p) != 0)
		out_puts("raw output that does not parse back\n");
	else
		out_msg(&m);
	out_set_format(OUT_RAW);
	ami_msg_free(&m);
	ami_parser_free(p);
	free(raw);
}

/* Feeds d[0, len) in pieces of 1..maxpiece bytes (seed picks them; 0: one
 * feed) through space/commit, printing every message as it comes: by the
 * parser's path (views 0) or by the view path. In raw the parser's path
 * prints json, the view path its raw output parsed back, as json. */
static void run_path(struct path_out *r, const char *d, size_t len, int views, int banner,
		     const struct ami_limits *lim, uint32_t seed, size_t maxpiece)
{
	struct ami_parser *p = ami_parser_new(lim, banner);
	struct ami_msg m;
	size_t pos = 0;
	int x = 0, raw = out_get_format() == OUT_RAW;

	ami_msg_init(&m);
	memset(r, 0, sizeof *r);
	while (pos < len && x >= 0) {
		size_t room, n = len - pos;
		char *dst = ami_parser_space(p, &room);
		if (seed) {
			seed = seed * 1103515245u + 12345u;
			n = 1 + (seed >> 8) % maxpiece;
		}
		if (n > len - pos)
			n = len - pos;
		if (n > room)
			n = room;
		memcpy(dst, d + pos, n);
		ami_parser_commit(p, n);
		pos += n;
		if (views) {
			struct ami_view v;
			while ((x = ami_parser_next_view(p, &v, (int)(seed & 1))) > 0) {
				r->msgs++;
				/* json as tail-events makes it: in one pass over
				 * the bytes when out_json_wire takes them */
				if (!((seed >> 2) & 1) && out_json_wire(&v) != RC_CONTINUE)
					continue;
				if ((seed >> 1) & 1 || !raw)
					ami_parser_split(p, &v);
				if (raw)
					raw_as_json(&v);
				else
					out_view(&v);
			}
		} else {
			if (raw)
				out_set_format(OUT_JSON);
			while ((x = ami_parser_next(p, &m)) > 0) {
				out_msg(&m);
				r->msgs++;
			}
			if (raw)
				out_set_format(OUT_RAW);
		}
	}
	r->rc = x < 0 ? -1 : 0;
	if (x < 0)
		snprintf(r->err, sizeof r->err, "%s", ami_parser_error(p));
	r->out = take_output(&r->len);
	ami_msg_free(&m);
	ami_parser_free(p);
}

/* Both paths on d in format f: 1 when they agree (see the top). */
static int paths_agree(const char *d, size_t len, enum out_format f, int banner,
		       const struct ami_limits *lim, uint32_t seed, size_t maxpiece)
{
	struct path_out a, b;
	int same;

	out_set_format(f);
	run_path(&a, d, len, 0, banner, lim, seed, maxpiece);
	run_path(&b, d, len, 1, banner, lim, seed ? seed * 7 + 1 : 0, maxpiece);
	same = a.rc == b.rc && a.msgs == b.msgs && !strcmp(a.err, b.err) && a.len == b.len &&
	       !memcmp(a.out, b.out, a.len);
	free(a.out);
	free(b.out);
	return same;
}

#endif
