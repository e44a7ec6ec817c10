/* json_compare.h - for the tests of out_json_wire_framed (json_wire_test.c and
 * fuzz_json.c): its output next to the parser's path on the same message,
 * both read back from stdout, which is made a memfd. */
#ifndef JSON_COMPARE_H
#define JSON_COMPARE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "msg.h"
#include "output.h"
#include "util.h"

/* stdout is a memfd: what a call printed is read back from it. */
static int sink;

static int capture_stdout(void)
{
	int fd = memfd_create("json_compare", 0);
	if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0)
		return -1;
	close(fd);
	sink = STDOUT_FILENO;
	out_set_format(OUT_JSON);
	return 0;
}

static size_t take_output(char *out, size_t cap)
{
	out_flush();
	off_t n = lseek(sink, 0, SEEK_CUR);
	if (n < 0 || (size_t)n >= cap)
		n = 0;
	if (pread(sink, out, (size_t)n, 0) != n)
		n = 0;
	if (ftruncate(sink, 0) != 0 || lseek(sink, 0, SEEK_SET) != 0)
		abort();
	out[n] = '\0';
	return (size_t)n;
}

/* Bytes after the message that the fast path may read: with little room
 * it takes its careful steps, with much its 32- and 64-byte ones. */
static size_t read_ahead = 64;

/* The framed fast path on m[0, n) (a message, its blank line, and maybe
 * more), with the bytes after n up to the read-ahead room set to tricky
 * junk (line ends, colons, blank lines), as a reused buffer holds: its
 * rc, *used, and its output in out. */
static int fast_framed(const char *m, size_t n, size_t *used, char *out, size_t cap,
		       size_t *outlen)
{
	static const char junk[] = "\r\n\r\nA: b\r\n:\r\n\r\n";
	size_t room = n + read_ahead;
	char *buf = malloc(room ? room : 1);    /* exactly: ASan sees a read past it */
	memcpy(buf, m, n);
	for (size_t i = n; i < room; i++)
		buf[i] = junk[(i - n) % (sizeof junk - 1)];
	*used = 0;
	int rc = out_json_wire_framed(buf, n, buf + room, used);
	*outlen = take_output(out, cap);
	free(buf);
	return rc;
}

/* The fast path on the message whose header lines are m[0, len) (its
 * blank line is added): its rc, RC_OK only when it took exactly those
 * lines, and its output in out. */
static int fast(const char *m, size_t len, char *out, size_t cap, size_t *outlen)
{
	char *buf = malloc(len + 2);
	size_t used;

	memcpy(buf, m, len);
	memcpy(buf + len, "\r\n", 2);
	int rc = fast_framed(buf, len + 2, &used, out, cap, outlen);
	free(buf);
	return rc == RC_OK && used != len + 2 ? OUT_DECLINED : rc;
}

/* The slow path: the parser (the message plus its blank line), out_msg. */
static size_t slow(const char *m, size_t len, char *out, size_t cap, size_t *nmsgs)
{
	struct ami_parser *p = ami_parser_new(NULL, 0);
	struct ami_msg msg;

	*nmsgs = 0;
	ami_msg_init(&msg);
	if (ami_parser_feed(p, m, len) == 0 && ami_parser_feed(p, "\r\n", 2) == 0)
		while (ami_parser_next(p, &msg) > 0) {
			out_msg(&msg);
			(*nmsgs)++;
		}
	ami_msg_free(&msg);
	ami_parser_free(p);
	return take_output(out, cap);
}

#endif
