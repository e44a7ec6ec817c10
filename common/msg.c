/* msg.c - AMI messages: an I/O-free incremental parser and a safe builder.
 *
 * The parser consumes complete lines as soon as they arrive and copies each
 * one into the message being built, so the input buffer only ever holds a
 * partial line plus what the caller has not asked for yet, and no byte is
 * scanned twice. Finished messages are swapped into the caller's struct, so
 * the two arenas take turns and steady-state parsing allocates nothing. */
#define _POSIX_C_SOURCE 200809L
#include "msg.h"
#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct ami_limits ami_default_limits = {
	.max_line = 65536,
	.max_headers = 20000,
	.max_msg = 16u << 20,
};

/* ---------- messages ---------- */

void ami_msg_init(struct ami_msg *m)
{
	memset(m, 0, sizeof *m);
}

void ami_msg_free(struct ami_msg *m)
{
	free(m->arena);
	free(m->h);
	ami_msg_init(m);
}

void ami_msg_clear(struct ami_msg *m)
{
	m->used = 0;
	m->n = 0;
}

/* Header positions are 32-bit offsets, so an arena stays below 4 GiB. */
static int arena_reserve(struct ami_msg *m, size_t need)
{
	size_t cap;

	if (m->cap - m->used >= need)
		return 0;
	if (need > UINT32_MAX - m->used)
		return -1;
	cap = m->cap ? m->cap : 512;
	while (cap - m->used < need)
		cap *= 2;
	m->arena = xrealloc(m->arena, cap);
	m->cap = cap;
	return 0;
}

static struct ami_header *header_slot(struct ami_msg *m)
{
	if (m->n == m->hcap) {
		m->hcap = m->hcap ? m->hcap * 2 : 32;
		m->h = xrealloc(m->h, m->hcap * sizeof *m->h);
	}
	return &m->h[m->n++];
}

/* Where p sits in the arena, or -1: a caller may pass a value it got from
 * this very message, and growing the arena would move it. */
static long arena_offset(const struct ami_msg *m, const char *p)
{
	uintptr_t a = (uintptr_t)m->arena, x = (uintptr_t)p;

	return m->arena && x >= a && x < a + m->cap ? (long)(x - a) : -1;
}

/* Copies len bytes plus a NUL to the end of the arena (room reserved). */
static uint32_t arena_put(struct ami_msg *m, const char *s, size_t len)
{
	uint32_t off = (uint32_t)m->used;

	if (len)
		memcpy(m->arena + off, s, len);
	m->arena[off + len] = '\0';
	m->used += len + 1;
	return off;
}

/* Appends a header with no checks: the parser keeps whatever the server
 * sent, including NUL bytes, since names and values are length-counted. */
static int push(struct ami_msg *m, const char *name, size_t nlen, const char *value, size_t vlen)
{
	long noff = arena_offset(m, name), voff = arena_offset(m, value);
	struct ami_header *h;

	if (nlen > UINT32_MAX / 2 || vlen > UINT32_MAX / 2 || arena_reserve(m, nlen + vlen + 2) < 0)
		return -1;
	if (noff >= 0)
		name = m->arena + noff;
	if (voff >= 0)
		value = m->arena + voff;
	h = header_slot(m);
	h->name_len = (uint32_t)nlen;
	h->value_len = (uint32_t)vlen;
	h->name = arena_put(m, name, nlen);
	h->value = arena_put(m, value, vlen);
	return 0;
}

int ami_msg_addn(struct ami_msg *m, const char *name, size_t nlen, const char *value, size_t vlen)
{
	if (bad_char_name(name, nlen) || bad_char_name(value, vlen))
		return -1;
	return push(m, name, nlen, value, vlen);
}

int ami_msg_add(struct ami_msg *m, const char *name, const char *value)
{
	return ami_msg_addn(m, name, strlen(name), value, strlen(value));
}

static int lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* ASCII-only, so the result does not depend on the locale. */
static int same_name(const char *a, const char *b, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
			return 0;
	return 1;
}

static int is_named(const struct ami_msg *m, size_t i, const char *name, size_t len)
{
	return m->h[i].name_len == len && same_name(m->arena + m->h[i].name, name, len);
}

static long find(const struct ami_msg *m, const char *name)
{
	size_t len = strlen(name);

	for (size_t i = 0; i < m->n; i++)
		if (is_named(m, i, name, len))
			return (long)i;
	return -1;
}

const char *ami_msg_get(const struct ami_msg *m, const char *name)
{
	long i = find(m, name);

	return i < 0 ? NULL : ami_value(m, (size_t)i);
}

size_t ami_msg_count(const struct ami_msg *m, const char *name)
{
	size_t len = strlen(name), k = 0;

	for (size_t i = 0; i < m->n; i++)
		k += is_named(m, i, name, len);
	return k;
}

int ami_msg_is_event(const struct ami_msg *m)
{
	return find(m, "Event") >= 0;
}

/* Replaces the first header of that name and drops any later ones, so the
 * message says one thing whichever copy a reader looks at. */
int ami_msg_set(struct ami_msg *m, const char *name, const char *value)
{
	size_t nlen = strlen(name), vlen = strlen(value), j;
	long i = find(m, name), voff = arena_offset(m, value);

	if (bad_char_name(name, nlen))
		return -1;
	if (i < 0)
		return ami_msg_add(m, name, value);
	if (bad_char_name(value, vlen) || vlen > UINT32_MAX / 2 || arena_reserve(m, vlen + 1) < 0)
		return -1;
	if (voff >= 0)
		value = m->arena + voff;
	name = ami_name(m, (size_t)i);      /* the caller's copy may have moved with the arena */
	m->h[i].value = arena_put(m, value, vlen);
	m->h[i].value_len = (uint32_t)vlen;
	j = (size_t)i + 1;
	for (size_t k = j; k < m->n; k++)
		if (!is_named(m, k, name, nlen))
			m->h[j++] = m->h[k];
	m->n = j;
	return 0;
}

void ami_msg_copy(struct ami_msg *dst, const struct ami_msg *src)
{
	if (dst == src)
		return;
	ami_msg_clear(dst);
	if (arena_reserve(dst, src->used) < 0)
		return;     /* cannot happen: src itself fits */
	if (src->used)
		memcpy(dst->arena, src->arena, src->used);
	dst->used = src->used;
	if (dst->hcap < src->n) {
		dst->hcap = src->n;
		dst->h = xrealloc(dst->h, dst->hcap * sizeof *dst->h);
	}
	if (src->n)
		memcpy(dst->h, src->h, src->n * sizeof *src->h);
	dst->n = src->n;
}

/* ---------- sending ---------- */

/* The header name for an error text: short, and with control bytes shown
 * as '?', since the name itself may be the bad input. */
static const char *shown_name(const char *s, size_t len, char *buf, size_t size)
{
	size_t i, max = size - 4;

	for (i = 0; i < len && i < max; i++)
		buf[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	if (len > max) {
		memcpy(buf + i, "...", 3);
		i += 3;
	}
	buf[i] = '\0';
	return buf;
}

/* Asterisk finds a header by its name directly followed by ':', so a name
 * with a colon or a blank in it could never be matched as intended. */
static const char *name_problem(const char *name, size_t len)
{
	const char *bad = bad_char_name(name, len);

	if (bad)
		return bad;
	if (memchr(name, ':', len))
		return "a colon";
	if (memchr(name, ' ', len))
		return "a space";
	if (memchr(name, '\t', len))
		return "a tab";
	return NULL;
}

int ami_msg_check_send(const struct ami_msg *m, char *err, size_t errlen)
{
	char shown[48];

	if (errlen)
		err[0] = '\0';
	if (m->n > AMI_MAX_SEND_HEADERS) {
		snprintf(err, errlen, "%zu headers, Asterisk accepts at most %d", m->n,
			 AMI_MAX_SEND_HEADERS);
		return -1;
	}
	for (size_t i = 0; i < m->n; i++) {
		const struct ami_header *h = &m->h[i];
		const char *bad;
		/* manager.c get_input() keeps a line only if it and its CRLF fit in
		 * inbuf[1025] minus the NUL; a longer one drops the whole action. */
		size_t line = (size_t)h->name_len + 2 + h->value_len + 2;

		if (h->name_len == 0) {
			snprintf(err, errlen, "header %zu has an empty name", i + 1);
			return -1;
		}
		shown_name(ami_name(m, i), h->name_len, shown, sizeof shown);
		if ((bad = name_problem(ami_name(m, i), h->name_len))) {
			snprintf(err, errlen, "header \"%s\": name contains %s", shown, bad);
			return -1;
		}
		if ((bad = bad_char_name(ami_value(m, i), h->value_len))) {
			snprintf(err, errlen, "header \"%s\": value contains %s", shown, bad);
			return -1;
		}
		if (line > AMI_MAX_SEND_LINE) {
			snprintf(err, errlen,
				 "header \"%s\": line is %zu bytes with CRLF, Asterisk accepts at most %d",
				 shown, line, AMI_MAX_SEND_LINE);
			return -1;
		}
	}
	return 0;
}

size_t ami_msg_format(const struct ami_msg *m, char **out)
{
	size_t len = 2, o = 0;
	char *s;

	for (size_t i = 0; i < m->n; i++)
		len += (size_t)m->h[i].name_len + m->h[i].value_len + 4;
	s = xmalloc(len + 1);
	for (size_t i = 0; i < m->n; i++) {
		memcpy(s + o, ami_name(m, i), m->h[i].name_len);
		o += m->h[i].name_len;
		memcpy(s + o, ": ", 2);
		o += 2;
		memcpy(s + o, ami_value(m, i), m->h[i].value_len);
		o += m->h[i].value_len;
		memcpy(s + o, "\r\n", 2);
		o += 2;
	}
	memcpy(s + o, "\r\n", 3);
	*out = s;
	return len;
}

/* ---------- parser ---------- */

enum pstate {
	ST_BANNER,      /* the next line is the greeting */
	ST_HEAD,        /* ordinary "Name: value" lines */
	ST_CMD_HEAD,    /* after "Response: Follows": Privilege/ActionID lines */
	ST_CMD_BODY,    /* raw CLI text until "--END COMMAND--" */
};

#define BUF_START (64 * 1024)
#define READ_ROOM 4096
#define END_COMMAND "--END COMMAND--"
#define END_COMMAND_LEN (sizeof END_COMMAND - 1)

struct ami_parser {
	char *buf;
	size_t cap, start, scan, end;   /* unparsed bytes: [start, end); no '\n' in [start, scan) */
	struct ami_limits lim;
	struct ami_msg cur;             /* the message being read */
	size_t msg_bytes;               /* wire bytes of cur so far */
	enum pstate state;
	int bare_lf;                    /* cur's last line ended with "\n" alone */
	int failed;
	char *banner;
	char err[96];
};

struct ami_parser *ami_parser_new(const struct ami_limits *lim, int expect_banner)
{
	struct ami_parser *p = xcalloc(1, sizeof *p);

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
	ami_parser_reset(p, expect_banner);
	return p;
}

void ami_parser_free(struct ami_parser *p)
{
	if (!p)
		return;
	free(p->buf);
	free(p->banner);
	ami_msg_free(&p->cur);
	free(p);
}

void ami_parser_reset(struct ami_parser *p, int expect_banner)
{
	p->start = p->scan = p->end = 0;
	ami_msg_clear(&p->cur);
	p->msg_bytes = 0;
	p->state = expect_banner ? ST_BANNER : ST_HEAD;
	p->bare_lf = 0;
	p->failed = 0;
	free(p->banner);
	p->banner = NULL;
	p->err[0] = '\0';
}

__attribute__((format(printf, 2, 3)))
static int fail(struct ami_parser *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->err, sizeof p->err, fmt, ap);
	va_end(ap);
	p->failed = 1;
	return -1;
}

/* Moves the unparsed bytes to the front of the buffer. */
static void compact(struct ami_parser *p)
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
static int ensure_room(struct ami_parser *p, size_t need)
{
	size_t pend = p->end - p->start, want, cap;
	char *nb;

	if (p->start > 0 && pend <= p->start)
		compact(p);
	if (p->cap - p->end >= need)
		return 0;
	if (need > SIZE_MAX / 4 - pend)
		return fail(p, "%zu bytes fed at once", need);
	want = 2 * (pend + need);
	if (want <= p->cap) {
		compact(p);
		return 0;
	}
	cap = p->cap ? p->cap : BUF_START;
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

int ami_parser_feed(struct ami_parser *p, const char *buf, size_t len)
{
	if (p->failed || ensure_room(p, len) < 0)
		return -1;
	if (len)
		memcpy(p->buf + p->end, buf, len);
	p->end += len;
	return 0;
}

char *ami_parser_space(struct ami_parser *p, size_t *room)
{
	ensure_room(p, READ_ROOM);      /* cannot fail for a small size */
	*room = p->cap - p->end;
	return p->buf + p->end;
}

void ami_parser_commit(struct ami_parser *p, size_t len)
{
	if (len > p->cap - p->end)
		len = p->cap - p->end;     /* a caller bug; never run past the buffer */
	p->end += len;
}

size_t ami_parser_pending(const struct ami_parser *p)
{
	return p->end - p->start;
}

const char *ami_parser_banner(const struct ami_parser *p)
{
	return p->banner;
}

const char *ami_parser_error(const struct ami_parser *p)
{
	return p->err;
}

/* The colon that ends the name. A name with '(' runs to the matching ')'
 * first: "ChanVariable(IAX2/10.0.0.1:4569-1): x=y". Returns len if none.
 * Eight bytes at a time: this loop is most of the cost of a header. */
size_t ami_header_name_end(const char *s, size_t len)
{
	const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
	size_t i = 0;

	for (;;) {
		uint64_t w, a, b, hit;
		if (len - i < 8 || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__)
			break;
		memcpy(&w, s + i, 8);
		a = w ^ (ones * ':');
		b = w ^ (ones * '(');
		/* a byte of a or b is zero where w holds ':' or '(' */
		hit = ((a - ones) & ~a & highs) | ((b - ones) & ~b & highs);
		if (hit) {
			i += (size_t)__builtin_ctzll(hit) / 8;  /* little-endian: first byte */
			break;
		}
		i += 8;
	}
	for (; i < len; i++) {
		if (s[i] == ':')
			return i;
		if (s[i] == '(') {
			size_t depth = 0, j;
			for (j = i; j < len; j++) {
				depth += s[j] == '(';
				depth -= s[j] == ')';
				if (!depth)
					break;
			}
			if (j == len) {     /* unbalanced: fall back to the first colon */
				const char *c = memchr(s + i, ':', len - i);
				return c ? (size_t)(c - s) : len;
			}
			i = j;
		}
	}
	return len;
}

/* Stores one header line with a single copy: "Name\0value\0" in place, or
 * "\0line\0" (empty name) for a line without a colon. */
static int store_line(struct ami_msg *m, const char *s, size_t len)
{
	size_t c = ami_header_name_end(s, len), v = c + 1;
	char *a;
	struct ami_header *h;

	if (m->cap - m->used < len + 2 && arena_reserve(m, len + 2) < 0)
		return -1;
	a = m->arena + m->used;
	h = header_slot(m);
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

static int header_is(const struct ami_msg *m, size_t i, const char *name, const char *value)
{
	size_t vlen = strlen(value);

	return is_named(m, i, name, strlen(name)) && m->h[i].value_len == vlen &&
	       same_name(ami_value(m, i), value, vlen);
}

/* Accounts one more line of the current message against the limits. */
static int count_line(struct ami_parser *p, size_t raw, int adds_header)
{
	p->msg_bytes += raw;
	if (p->msg_bytes > p->lim.max_msg)
		return fail(p, "message larger than %zu bytes", p->lim.max_msg);
	if (adds_header && p->cur.n >= p->lim.max_headers)
		return fail(p, "more than %zu headers in one message", p->lim.max_headers);
	return 0;
}

/* Old Command output (Asterisk <= 13): raw text up to "--END COMMAND--",
 * turned into Output headers like the format of Asterisk >= 14. */
static int command_line(struct ami_parser *p, const char *s, size_t len, size_t raw)
{
	int end = len >= END_COMMAND_LEN && !memcmp(s + len - END_COMMAND_LEN, END_COMMAND,
						     END_COMMAND_LEN);

	if (end)
		len -= END_COMMAND_LEN;
	if (p->state == ST_CMD_HEAD && !end) {
		size_t c;
		if (len == 0)       /* some 11.x send a blank line after ActionID */
			return count_line(p, raw, 0);
		c = ami_header_name_end(s, len);
		if ((c == 9 && same_name(s, "Privilege", 9)) || (c == 8 && same_name(s, "ActionID", 8))) {
			if (count_line(p, raw, 1) < 0)
				return -1;
			return store_line(&p->cur, s, len) < 0 ? fail(p, "out of memory") : 0;
		}
		p->state = ST_CMD_BODY;
	}
	if (len > 0 || !end) {
		if (count_line(p, raw, 1) < 0)
			return -1;
		if (push(&p->cur, "Output", 6, s, len) < 0)
			return fail(p, "out of memory");
	}
	return end;
}

/* Handles one line (without its line end). Returns 1 when it ends a
 * message, 0 to go on, -1 on error. */
static int parse_line(struct ami_parser *p, const char *s, size_t len, size_t raw, int crlf)
{
	if (p->state == ST_HEAD) {
		if (len == 0) {
			if (p->cur.n == 0)
				return 0;       /* blank lines between messages */
			if (crlf && p->bare_lf) {
				/* "Message: text\n\r\n": Asterisk's own line end
				 * after a text that already ended in "\n". */
				p->bare_lf = 0;
				return count_line(p, raw, 0);
			}
			return 1;
		}
		if (count_line(p, raw, 1) < 0)
			return -1;
		if (store_line(&p->cur, s, len) < 0)
			return fail(p, "out of memory");   /* not with max_msg capped */
		p->bare_lf = !crlf;
		if (p->cur.n == 1 && header_is(&p->cur, 0, "Response", "Follows"))
			p->state = ST_CMD_HEAD;
		return 0;
	}
	if (p->state == ST_BANNER) {
		p->banner = xstrndup(s, len);
		p->state = ST_HEAD;
		return 0;
	}
	return command_line(p, s, len, raw);
}

static void finish(struct ami_parser *p, struct ami_msg *out)
{
	struct ami_msg done = p->cur;

	p->cur = *out;
	*out = done;
	ami_msg_clear(&p->cur);
	p->msg_bytes = 0;
	p->state = ST_HEAD;
	p->bare_lf = 0;
}

int ami_parser_next(struct ami_parser *p, struct ami_msg *out)
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
				return fail(p, "line longer than %zu bytes", p->lim.max_line);
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
			return fail(p, "line longer than %zu bytes", p->lim.max_line);
		r = parse_line(p, s, len, raw, crlf);
		if (r > 0)
			finish(p, out);
		if (r)
			return r;
	}
}
