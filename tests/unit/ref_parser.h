/* ref_parser.h - the line-by-line AMI parser common/msg.c had before it
 * framed whole messages in place (views), kept as a test oracle: the parser
 * of today must split every byte stream, cut anywhere, into the same
 * messages, banner and error as this one did (tests/unit/msg_test.c,
 * tests/fuzz/fuzz_msg.c). Test code only; the names start with ref_. */
#ifndef AMI_REF_PARSER_H
#define AMI_REF_PARSER_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "util.h"

static int ref_lower(int c) { return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c; }

static int ref_same_name(const char *a, const char *b, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (ref_lower((unsigned char)a[i]) != ref_lower((unsigned char)b[i]))
			return 0;
	return 1;
}

static int ref_is_named(const struct ami_msg *m, size_t i, const char *name, size_t len)
{
	return m->h[i].name_len == len && ref_same_name(m->arena + m->h[i].name, name, len);
}

static int ref_arena_reserve(struct ami_msg *m, size_t need)
{
	size_t cap;

	if (m->cap - m->used >= need)
		return 0;
	cap = m->cap ? m->cap : 512;
	while (cap - m->used < need)
		cap *= 2;
	m->arena = realloc(m->arena, cap);
	if (!m->arena)
		abort();
	m->cap = cap;
	return 0;
}

static struct ami_header *ref_header_slot(struct ami_msg *m)
{
	if (m->n == m->hcap) {
		m->hcap = m->hcap ? m->hcap * 2 : 32;
		m->h = realloc(m->h, m->hcap * sizeof *m->h);
		if (!m->h)
			abort();
	}
	return &m->h[m->n++];
}

static uint32_t ref_arena_put(struct ami_msg *m, const char *s, size_t len)
{
	uint32_t off = (uint32_t)m->used;

	if (len)
		memcpy(m->arena + off, s, len);
	m->arena[off + len] = '\0';
	m->used += len + 1;
	return off;
}

static int ref_push(struct ami_msg *m, const char *name, size_t nlen, const char *value, size_t vlen)
{
	struct ami_header *h;

	ref_arena_reserve(m, nlen + vlen + 2);
	h = ref_header_slot(m);
	h->name_len = (uint32_t)nlen;
	h->value_len = (uint32_t)vlen;
	h->name = ref_arena_put(m, name, nlen);
	h->value = ref_arena_put(m, value, vlen);
	return 0;
}

enum ref_pstate {
	REF_ST_BANNER,      /* the next line is the greeting */
	REF_ST_HEAD,        /* ordinary "Name: value" lines */
	REF_ST_CMD_HEAD,    /* after "Response: Follows": Privilege/ActionID lines */
	REF_ST_CMD_BODY,    /* raw CLI text until "--END COMMAND--" */
};

#define REF_BUF_START (64 * 1024)
#define REF_END_COMMAND "--END COMMAND--"
#define REF_END_COMMAND_LEN (sizeof REF_END_COMMAND - 1)

struct ref_parser {
	char *buf;
	size_t cap, start, scan, end;   /* unparsed bytes: [start, end); no '\n' in [start, scan) */
	struct ami_limits lim;
	struct ami_msg cur;             /* the message being read */
	size_t msg_bytes;               /* wire bytes of cur so far */
	enum ref_pstate state;
	int bare_lf;                    /* cur's last line ended with "\n" alone */
	int failed;
	char *banner;
	char err[96];
};

static void ref_parser_reset(struct ref_parser *p, int expect_banner);

static struct ref_parser *ref_parser_new(const struct ami_limits *lim, int expect_banner)
{
	struct ref_parser *p = xcalloc(1, sizeof *p);

	p->lim = lim ? *lim : ami_default_limits;
	if (!p->lim.max_line)
		p->lim.max_line = ami_default_limits.max_line;
	if (!p->lim.max_headers)
		p->lim.max_headers = ami_default_limits.max_headers;
	if (!p->lim.max_msg)
		p->lim.max_msg = ami_default_limits.max_msg;
	/* An arena holds at most 8 bytes per wire byte (a blank Output line
	 * "\n" becomes "Output\0\0") and must stay below 4 GiB. */
	if (p->lim.max_msg > UINT32_MAX / 16)
		p->lim.max_msg = UINT32_MAX / 16;
	if (p->lim.max_line > p->lim.max_msg)
		p->lim.max_line = p->lim.max_msg;
	ami_msg_init(&p->cur);
	ref_parser_reset(p, expect_banner);
	return p;
}

static void ref_parser_free(struct ref_parser *p)
{
	if (!p)
		return;
	free(p->buf);
	free(p->banner);
	ami_msg_free(&p->cur);
	free(p);
}

static void ref_parser_reset(struct ref_parser *p, int expect_banner)
{
	p->start = p->scan = p->end = 0;
	ami_msg_clear(&p->cur);
	p->msg_bytes = 0;
	p->state = expect_banner ? REF_ST_BANNER : REF_ST_HEAD;
	p->bare_lf = 0;
	p->failed = 0;
	free(p->banner);
	p->banner = NULL;
	p->err[0] = '\0';
}

__attribute__((format(printf, 2, 3)))
static int ref_fail(struct ref_parser *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->err, sizeof p->err, fmt, ap);
	va_end(ap);
	p->failed = 1;
	return -1;
}

/* Moves the unparsed bytes to the front of the buffer. */
static void ref_compact(struct ref_parser *p)
{
	size_t pend = p->end - p->start;

	if (pend)
		memmove(p->buf, p->buf + p->start, pend);
	p->scan -= p->start;
	p->end = pend;
	p->start = 0;
}

/* Makes room for need more bytes. Compacting costs at most the bytes parsed
 * since the last time, and after a growth at least half the buffer is free,
 * so the cost per byte stays constant however the input is split. */
static int ref_ensure_room(struct ref_parser *p, size_t need)
{
	size_t pend = p->end - p->start, want, cap;
	char *nb;

	if (p->start > 0 && pend <= p->start)
		ref_compact(p);
	if (p->cap - p->end >= need)
		return 0;
	if (need > SIZE_MAX / 4 - pend)
		return ref_fail(p, "%zu bytes fed at once", need);
	want = 2 * (pend + need);
	if (want <= p->cap) {
		ref_compact(p);
		return 0;
	}
	cap = p->cap ? p->cap : REF_BUF_START;
	while (cap < want)
		cap *= 2;
	nb = xmalloc(cap);
	if (pend)
		memcpy(nb, p->buf + p->start, pend);
	free(p->buf);
	p->buf = nb;
	p->cap = cap;
	p->scan -= p->start;
	p->end = pend;
	p->start = 0;
	return 0;
}

static int ref_parser_feed(struct ref_parser *p, const char *buf, size_t len)
{
	if (p->failed || ref_ensure_room(p, len) < 0)
		return -1;
	if (len)
		memcpy(p->buf + p->end, buf, len);
	p->end += len;
	return 0;
}

static const char *ref_parser_banner(const struct ref_parser *p)
{
	return p->banner;
}

static const char *ref_parser_error(const struct ref_parser *p)
{
	return p->err;
}

/* Stores one header line with a single copy: "Name\0value\0" in place, or
 * "\0line\0" (empty name) for a line without a colon. */
static int ref_store_line(struct ami_msg *m, const char *s, size_t len)
{
	size_t c = ami_header_name_end(s, len), v = c + 1;
	char *a;
	struct ami_header *h;

	if (m->cap - m->used < len + 2 && ref_arena_reserve(m, len + 2) < 0)
		return -1;
	a = m->arena + m->used;
	h = ref_header_slot(m);
	if (c == len) {
		a[0] = '\0';
		memcpy(a + 1, s, len);
		a[len + 1] = '\0';
		h->name = (uint32_t)m->used;
		h->name_len = 0;
		h->value = (uint32_t)m->used + 1;
		h->value_len = (uint32_t)len;
		m->used += len + 2;
		return 0;
	}
	memcpy(a, s, len);
	a[c] = '\0';
	a[len] = '\0';
	if (v < len && s[v] == ' ')
		v++;
	h->name = (uint32_t)m->used;
	h->name_len = (uint32_t)c;
	h->value = (uint32_t)(m->used + v);
	h->value_len = (uint32_t)(len - v);
	m->used += len + 1;
	return 0;
}

static int ref_header_is(const struct ami_msg *m, size_t i, const char *name, const char *value)
{
	size_t vlen = strlen(value);

	return ref_is_named(m, i, name, strlen(name)) && m->h[i].value_len == vlen &&
	       ref_same_name(ami_msg_value(m, i), value, vlen);
}

/* Accounts one more line of the current message against the limits. */
static int ref_count_line(struct ref_parser *p, size_t raw, int adds_header)
{
	p->msg_bytes += raw;
	if (p->msg_bytes > p->lim.max_msg)
		return ref_fail(p, "message larger than %zu bytes", p->lim.max_msg);
	if (adds_header && p->cur.n >= p->lim.max_headers)
		return ref_fail(p, "more than %zu headers in one message", p->lim.max_headers);
	return 0;
}

/* Old Command output (Asterisk <= 13): raw text up to "--END COMMAND--",
 * turned into Output headers like the format of Asterisk >= 14. */
static int ref_command_line(struct ref_parser *p, const char *s, size_t len, size_t raw)
{
	int end = len >= REF_END_COMMAND_LEN && !memcmp(s + len - REF_END_COMMAND_LEN, REF_END_COMMAND,
						     REF_END_COMMAND_LEN);

	if (end)
		len -= REF_END_COMMAND_LEN;
	if (p->state == REF_ST_CMD_HEAD && !end) {
		size_t c;
		if (len == 0)       /* some 11.x send a blank line after ActionID */
			return ref_count_line(p, raw, 0);
		c = ami_header_name_end(s, len);
		if ((c == 9 && ref_same_name(s, "Privilege", 9)) || (c == 8 && ref_same_name(s, "ActionID", 8))) {
			if (ref_count_line(p, raw, 1) < 0)
				return -1;
			return ref_store_line(&p->cur, s, len) < 0 ? ref_fail(p, "out of memory") : 0;
		}
		p->state = REF_ST_CMD_BODY;
	}
	if (len > 0 || !end) {
		if (ref_count_line(p, raw, 1) < 0)
			return -1;
		if (ref_push(&p->cur, "Output", 6, s, len) < 0)
			return ref_fail(p, "out of memory");
	}
	return end;
}

/* Handles one line (without its line end). Returns 1 when it ends a
 * message, 0 to go on, -1 on error. */
static int ref_parse_line(struct ref_parser *p, const char *s, size_t len, size_t raw, int crlf)
{
	if (p->state == REF_ST_HEAD) {
		if (len == 0) {
			if (p->cur.n == 0)
				return 0;       /* blank lines between messages */
			if (crlf && p->bare_lf) {
				/* "Message: text\n\r\n": Asterisk's own line end
				 * after a text that already ended in "\n". */
				p->bare_lf = 0;
				return ref_count_line(p, raw, 0);
			}
			return 1;
		}
		if (ref_count_line(p, raw, 1) < 0)
			return -1;
		if (ref_store_line(&p->cur, s, len) < 0)
			return ref_fail(p, "out of memory");   /* not with max_msg capped */
		p->bare_lf = !crlf;
		if (p->cur.n == 1 && ref_header_is(&p->cur, 0, "Response", "Follows"))
			p->state = REF_ST_CMD_HEAD;
		return 0;
	}
	if (p->state == REF_ST_BANNER) {
		p->banner = xstrndup(s, len);
		p->state = REF_ST_HEAD;
		return 0;
	}
	return ref_command_line(p, s, len, raw);
}

static void ref_finish(struct ref_parser *p, struct ami_msg *out)
{
	struct ami_msg done = p->cur;

	p->cur = *out;
	*out = done;
	ami_msg_clear(&p->cur);
	p->msg_bytes = 0;
	p->state = REF_ST_HEAD;
	p->bare_lf = 0;
}

static int ref_parser_next(struct ref_parser *p, struct ami_msg *out)
{
	if (p->failed)
		return -1;
	for (;;) {
		const char *s, *nl;
		size_t len, raw;
		int crlf, r;

		nl = p->scan < p->end ? memchr(p->buf + p->scan, '\n', p->end - p->scan) : NULL;
		if (!nl) {
			p->scan = p->end;
			/* +1: the last byte may be the '\r' of a line that fits */
			if (p->end - p->start > p->lim.max_line + 1)
				return ref_fail(p, "line longer than %zu bytes", p->lim.max_line);
			return 0;
		}
		s = p->buf + p->start;
		raw = (size_t)(nl - s) + 1;
		len = raw - 1;
		crlf = len > 0 && s[len - 1] == '\r';
		len -= (size_t)crlf;
		p->start += raw;
		p->scan = p->start;
		if (len > p->lim.max_line)
			return ref_fail(p, "line longer than %zu bytes", p->lim.max_line);
		r = ref_parse_line(p, s, len, raw, crlf);
		if (r > 0)
			ref_finish(p, out);
		if (r)
			return r;
	}
}

#endif
