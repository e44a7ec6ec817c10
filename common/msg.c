/* msg.c - AMI messages: an I/O-free incremental parser and a safe builder.
 *
 * The parser frames each message in place: its bytes stay in the input
 * buffer until its blank line has come, every '\n' is found 16 bytes at a
 * time and no byte is scanned twice, and the one set of rules and limits
 * decides where every message ends, whoever reads it. A finished message is
 * handed out as a view (header offsets into the buffer, valid until the
 * next call), or copied: the header lines in one move, with a NUL written
 * where each name and value ends, so the offsets stay as they are and
 * steady-state parsing allocates nothing. */
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

	return i < 0 ? NULL : ami_msg_value(m, (size_t)i);
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
	name = ami_msg_name(m, (size_t)i);      /* the caller's copy may have moved with the arena */
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
		shown_name(ami_msg_name(m, i), h->name_len, shown, sizeof shown);
		if ((bad = name_problem(ami_msg_name(m, i), h->name_len))) {
			snprintf(err, errlen, "header \"%s\": name contains %s", shown, bad);
			return -1;
		}
		if ((bad = bad_char_name(ami_msg_value(m, i), h->value_len))) {
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
		memcpy(s + o, ami_msg_name(m, i), m->h[i].name_len);
		o += m->h[i].name_len;
		memcpy(s + o, ": ", 2);
		o += 2;
		memcpy(s + o, ami_msg_value(m, i), m->h[i].value_len);
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

/* 128 KiB, as the old direct path read: half the recv calls of 64 KiB, which
 * cost raw output 6% more CPU (200,000 events: 1,084 calls against 544). */
#define BUF_START (128 * 1024)
#define READ_ROOM 4096
#define END_COMMAND "--END COMMAND--"
#define END_COMMAND_LEN (sizeof END_COMMAND - 1)

/* The message being framed starts at buf[start] (blank lines before it are
 * consumed) and stays there, byte for byte, until it is complete: a view
 * then points into it. Offsets below are relative to start, so moving the
 * unparsed bytes (compact, growth) changes nothing. */
struct ami_parser {
	char *buf;                      /* zeroed when allocated: formatters read ahead */
	size_t cap, start, end;         /* unparsed bytes: [start, end) */
	size_t pos;                     /* the next line starts at start + pos */
	size_t scan;                    /* no '\n' in [start + pos, start + scan) */
	struct ami_limits lim;
	size_t lines;                   /* header lines of the message so far */
	int bare_lf;                    /* its last line ended with "\n" alone */
	int split;                      /* its headers are recorded in h as framed */
	size_t ev, ev_len;              /* its "Event:" value when that is its first line */
	int ev_first;
	struct ami_header *h;           /* its headers, offsets relative to start */
	size_t nh, hcap;
	enum pstate state;
	struct ami_msg cur;             /* old Command output, built line by line */
	size_t msg_bytes;               /* wire bytes of cur so far */
	size_t body;                    /* a complete message's blank line starts here */
	size_t done;                    /* bytes of the message returned last */
	int returned;                   /* one was: forget it at the next call */
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
	/* Offsets are 32-bit, and a copy of a message (an arena) holds at
	 * most 8 bytes per wire byte (a blank Output line "\n" of old Command
	 * output becomes "Output\0\0"). */
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
	free(p->h);
	ami_msg_free(&p->cur);
	free(p);
}

/* Forgets the message being framed (its bytes stay unparsed). */
static void new_message(struct ami_parser *p)
{
	p->pos = p->scan = 0;
	p->lines = 0;
	p->bare_lf = 0;
	p->nh = 0;
	p->ev_first = 0;
	p->msg_bytes = 0;
	ami_msg_clear(&p->cur);
}

void ami_parser_reset(struct ami_parser *p, int expect_banner)
{
	p->start = p->end = p->done = 0;
	p->returned = 0;
	new_message(p);
	p->state = expect_banner ? ST_BANNER : ST_HEAD;
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

/* Forgets the message returned last: its view ends with this call. */
static void release_done(struct ami_parser *p)
{
	if (!p->returned)
		return;
	p->start += p->done;
	p->done = 0;
	p->returned = 0;
	new_message(p);
}

/* Moves the unparsed bytes to the front of the buffer. */
static void compact(struct ami_parser *p)
{
	size_t pend = p->end - p->start;

	if (pend)
		memmove(p->buf, p->buf + p->start, pend);
	p->end = pend;
	p->start = 0;
}

/* Makes room for need more bytes. Compacting costs at most the bytes parsed
 * since the last time, and after a growth at least half the buffer is free,
 * so the cost per byte stays constant however the input is split. A new
 * buffer is zeroed: views let formatters read ahead of the data. */
static int ensure_room(struct ami_parser *p, size_t need)
{
	size_t pend, want, cap;
	char *nb;

	release_done(p);
	pend = p->end - p->start;
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
	nb = xcalloc(1, cap);
	if (pend)
		memcpy(nb, p->buf + p->start, pend);
	free(p->buf);
	p->buf = nb;
	p->cap = cap;
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
	return p->end - p->start - p->done;
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

#if defined(__SSE2__)
#include <emmintrin.h>

/* The bits of the 32 bytes at s equal to c. */
static inline uint32_t bits32(const char *s, char c)
{
	__m128i k = _mm_set1_epi8(c);
	return (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)s), k)) |
	       (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(
		       _mm_loadu_si128((const __m128i *)(s + 16)), k)) << 16;
}
#endif

/* ami_header_name_end for a line whose first 32 bytes may be read (ahead
 * of its end, when it is shorter): one look at them settles nearly every
 * line; a '(' first, or no colon in a longer line, takes the long way. */
static inline size_t name_end_ahead(const char *s, size_t len)
{
#if defined(__SSE2__)
	uint32_t in = len >= 32 ? ~0u : (1u << len) - 1;
	uint32_t colon = bits32(s, ':') & in, first = (colon | bits32(s, '(')) & in;

	if (first & colon & -first)
		return (size_t)__builtin_ctz(first);
	if (!first && len < 32)
		return len;
#endif
	return ami_header_name_end(s, len);
}

/* The header of the line s[off, off + len): "Name: value" split at the end
 * of the name with one blank skipped; a line without a colon is a value
 * with an empty name, whose offset is then that of the line's end (where a
 * copy puts the value's NUL, so the name reads as ""). ahead: its first 32
 * bytes may be read, past its end too. */
static inline void header_of_line(struct ami_header *h, const char *s, size_t off, size_t len,
				  int ahead)
{
	size_t c = ahead ? name_end_ahead(s + off, len) : ami_header_name_end(s + off, len);
	size_t v = c + 1;

	if (c == len) {
		h->value = (uint32_t)off;
		h->value_len = (uint32_t)len;
		h->name = (uint32_t)(off + len);
		h->name_len = 0;
		return;
	}
	v += v < len && s[off + v] == ' ';
	h->name = (uint32_t)off;
	h->name_len = (uint32_t)c;
	h->value = (uint32_t)(off + v);
	h->value_len = (uint32_t)(len - v);
}

static inline struct ami_header *next_slot(struct ami_parser *p)
{
	if (p->nh == p->hcap) {
		p->hcap = p->hcap ? p->hcap * 2 : 64;
		p->h = xrealloc(p->h, p->hcap * sizeof *p->h);
	}
	return &p->h[p->nh++];
}

/* a[0, alen) is the word lit (letters only), in any case: one OR per byte
 * (0x20 makes an ASCII letter lower case, and nothing else it could match
 * becomes a letter). */
static inline int is_word(const char *a, size_t alen, const char *lit, size_t litlen)
{
	if (alen != litlen)
		return 0;
	for (size_t i = 0; i < litlen; i++)
		if ((a[i] | 0x20) != lit[i])
			return 0;
	return 1;
}
#define IS_WORD(a, alen, lit) is_word(a, alen, lit, sizeof lit - 1)

/* Appends one line of old Command output to cur. */
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
 * turned into Output headers like the format of Asterisk >= 14, in cur.
 * Returns 1 at its end, 0 to go on, -1 on error. */
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
			struct ami_header h;
			if (count_line(p, raw, 1) < 0)
				return -1;
			header_of_line(&h, s, 0, len, 0);
			return push(&p->cur, s, h.name_len, s + h.value, h.value_len) < 0 ?
			       fail(p, "out of memory") : 0;
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

/* The first line of a message, split: its Event: value is kept (a view can
 * be judged by its name without splitting the rest), and "Response:
 * Follows" starts old Command output, read line by line into cur. */
static void first_line(struct ami_parser *p, const char *s, size_t len, int split)
{
	struct ami_header h;

	if (len >= 6 && IS_WORD(s, 5, "event") && s[5] == ':') {      /* as events start */
		size_t v = 6 + (len > 6 && s[6] == ' ');
		p->ev_first = 1;
		p->ev = v;
		p->ev_len = len - v;
		p->split = split;
		return;
	}
	header_of_line(&h, s, 0, len, p->start + 32 <= p->cap);
	p->ev_first = IS_WORD(s, h.name_len, "event");
	p->ev = h.value;
	p->ev_len = h.value_len;
	p->split = split || !p->ev_first;       /* not an event: always split */
	if (!p->ev_first && IS_WORD(s, h.name_len, "response") &&
	    IS_WORD(s + h.value, h.value_len, "follows")) {
		p->state = ST_CMD_HEAD;
		p->msg_bytes = p->pos;
		push(&p->cur, s, h.name_len, s + h.value, h.value_len);
	}
}

enum { LINE_GO_ON, LINE_END, LINE_AGAIN = 2, LINE_ERROR = -1 };

/* One line of the stream that is not an ordinary header line: the banner,
 * a blank line before a message, old Command output. They are consumed at
 * once (LINE_AGAIN: the message now starts elsewhere), except the line
 * that ends old Command output (LINE_END: the message is cur). */
static int other_line(struct ami_parser *p, const char *s, size_t len, size_t raw)
{
	int r = 0;

	if (p->state == ST_BANNER) {
		p->banner = xstrndup(s, len);
		p->state = ST_HEAD;
	} else if (p->state != ST_HEAD) {
		r = command_line(p, s, len, raw);
	}
	if (r < 0)
		return LINE_ERROR;
	p->start += p->pos;
	p->pos = p->scan = 0;
	if (r > 0) {
		p->state = ST_HEAD;
		return LINE_END;
	}
	return LINE_AGAIN;
}

/* The line buf[start + pos, start + q) has ended (a '\n' at q): applies the
 * framing rules to it. The same rules for every reader: a blank line ends a
 * message, except "\r\n" right after a line that ended in a bare "\n"
 * ("Message: text\n\r\n", Asterisk's own line end after a text that had
 * one); blank lines between messages are skipped; limits are checked line
 * by line, so a stream is refused at the same byte whoever reads it. */
static int end_line(struct ami_parser *p, size_t q, int split)
{
	const char *s = p->buf + p->start;
	size_t ls = p->pos, len = q - ls;
	int crlf = len > 0 && s[q - 1] == '\r';

	len -= (size_t)crlf;
	p->pos = p->scan = q + 1;
	if (len > p->lim.max_line)
		return fail(p, "line longer than %zu bytes", p->lim.max_line);
	if (p->state != ST_HEAD || (len == 0 && p->lines == 0))
		return other_line(p, s + ls, len, q + 1 - ls);
	if (len == 0) {
		if (!(crlf && p->bare_lf)) {
			p->body = ls;
			return LINE_END;
		}
		p->bare_lf = 0;     /* the stray "\r\n": part of the message */
		return q + 1 > p->lim.max_msg ? fail(p, "message larger than %zu bytes",
						     p->lim.max_msg) : LINE_GO_ON;
	}
	if (q + 1 > p->lim.max_msg)
		return fail(p, "message larger than %zu bytes", p->lim.max_msg);
	if (p->lines >= p->lim.max_headers)
		return fail(p, "more than %zu headers in one message", p->lim.max_headers);
	p->bare_lf = !crlf;
	if (p->lines++ == 0) {
		first_line(p, s, len, split);
		if (p->state != ST_HEAD) {      /* old Command output from here on */
			p->start += p->pos;
			p->pos = p->scan = 0;
			return LINE_AGAIN;
		}
	}
	if (p->split)
		header_of_line(next_slot(p), s, ls, len, 0);
	return LINE_GO_ON;
}

/* The '\n's of buf[at, at + 16) as bits (at + 16 must be within cap). */
static inline unsigned nl_bits(const char *b)
{
#if defined(__SSE2__)
	__m128i v = _mm_loadu_si128((const __m128i *)b);
	return (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('\n')));
#else
	unsigned m = 0;
	for (int k = 0; k < 16; k++)
		m |= (unsigned)(b[k] == '\n') << k;
	return m;
#endif
}

/* The '\n's of the 16 bytes at s that a blank line follows, or the stray
 * "\r\n": those followed by a byte of 13 or less ('\n', '\r'; TAB and other
 * controls are weeded out by the caller). s[0, 17) is read. */
static inline unsigned blank_candidates(const char *s)
{
#if defined(__SSE2__)
	__m128i a = _mm_loadu_si128((const __m128i *)s), b = _mm_loadu_si128((const __m128i *)(s + 1));
	__m128i low = _mm_cmpeq_epi8(_mm_min_epu8(b, _mm_set1_epi8(13)), b);
	return (unsigned)_mm_movemask_epi8(_mm_and_si128(_mm_cmpeq_epi8(a, _mm_set1_epi8('\n')), low));
#else
	unsigned m = 0;
	for (int k = 0; k < 16; k++)
		m |= (unsigned)(s[k] == '\n' && (unsigned char)s[k + 1] <= 13) << k;
	return m;
#endif
}

/* The end of an event found by blank_candidates: the blank line at
 * s[j + 1] ends it when it is "\n", or "\r\n" after a line that ended in
 * "\r\n" (else it is the stray "\r\n" end_line skips). Returns where the
 * event ends; 0 when the line at j + 1 is not blank or not its end, or
 * (*more set) when the bytes to tell are not there yet. */
static inline size_t blank_end(const char *s, size_t j, size_t n, int *more)
{
	if (j + 1 >= n || (s[j + 1] == '\r' && j + 2 >= n)) {
		*more = 1;
		return 0;
	}
	if (s[j + 1] == '\n')
		return j + 2;
	if (s[j + 1] == '\r' && s[j + 2] == '\n' && s[j - 1] == '\r')
		return j + 3;
	return 0;
}

/* Looks for the end of the event s[0, n) from its first line's '\n' at
 * first on, 32 bytes at a time: only the '\n's a byte of 13 or less
 * follows are looked at. Returns where it ends, or 0 (not yet). */
static size_t event_end(const char *s, size_t first, size_t n, size_t readable, size_t *body)
{
	int more = 0;

	for (size_t i = first; i < n; i += 32) {
		uint32_t m = 0;
		if (i + 33 <= readable)
			m = blank_candidates(s + i) | (uint32_t)blank_candidates(s + i + 16) << 16;
		else
			for (size_t k = 0; k < 32 && i + k + 1 < n; k++)
				m |= (uint32_t)(s[i + k] == '\n' && (unsigned char)s[i + k + 1] <= 13) << k;
		for (; m; m &= m - 1) {
			size_t j = i + (size_t)__builtin_ctz(m), end = blank_end(s, j, n, &more);
			if (more)
				return 0;
			if (end) {
				*body = j + 1;
				return end;
			}
		}
	}
	return 0;
}

/* The same for an event to be split: every line is a header, recorded in
 * p->h as end_line would (the '\n's found 16 bytes at a time). */
static size_t event_end_split(struct ami_parser *p, const char *s, size_t n, size_t readable,
			      size_t *body)
{
	size_t ls = 0;
	int bare = 0;

	for (size_t i = 0; i < n; i += 16) {
		unsigned m;
		if (i + 16 <= readable) {
			m = nl_bits(s + i);
		} else {
			m = 0;
			for (size_t k = 0; k < 16 && i + k < n; k++)
				m |= (unsigned)(s[i + k] == '\n') << k;
		}
		for (; m; m &= m - 1) {
			size_t q = i + (size_t)__builtin_ctz(m), len = q - ls;
			int crlf = len > 0 && s[q - 1] == '\r';
			if (q >= n)
				return 0;
			len -= (size_t)crlf;
			if (len == 0 && !(crlf && bare)) {
				*body = ls;
				return q + 1;
			}
			if (len > 0)
				header_of_line(next_slot(p), s, ls, len, ls + 32 <= readable);
			bare = len > 0 && !crlf;
			ls = q + 1;
		}
	}
	return 0;
}

/* The quick way to frame an event as Asterisk sends them: it starts with
 * its "Event:" line and is too short to break a limit (no line or message
 * longer than it, and no more lines than half its bytes), so only its end
 * matters, and its headers when it is to be split. LINE_END with the
 * message framed as end_line would; LINE_GO_ON leaves it to the line by
 * line loop (not such an event, or not whole). */
static int frame_event(struct ami_parser *p, int split)
{
	const char *s = p->buf + p->start, *eol;
	size_t n = p->end - p->start, readable = p->cap - p->start;
	size_t bound = p->lim.max_line < p->lim.max_msg ? p->lim.max_line : p->lim.max_msg;
	size_t first, len, body = 0, end;

	if (bound / 2 > p->lim.max_headers)
		bound = 2 * p->lim.max_headers;
	if (n > bound)
		n = bound;
	if (n < 8 || !IS_WORD(s, 5, "event") || s[5] != ':' || !(eol = memchr(s, '\n', n)))
		return LINE_GO_ON;
	first = (size_t)(eol - s);
	end = split ? event_end_split(p, s, n, readable, &body) : event_end(s, first, n, readable, &body);
	if (!end) {
		p->nh = 0;
		return LINE_GO_ON;
	}
	len = first - (s[first - 1] == '\r');
	p->ev_first = 1;
	p->ev = 6 + (len > 6 && s[6] == ' ');
	p->ev_len = len - p->ev;
	p->split = split;
	p->body = body;
	p->pos = end;
	return LINE_END;
}

/* Frames the message at start: LINE_END when it is complete (its blank line
 * ends at start + pos), LINE_GO_ON when more bytes are needed, LINE_ERROR.
 * Every '\n' is found 16 bytes at a time; nothing is scanned twice. The
 * ordinary line of a message (not its first, 2 bytes or more before its
 * '\n', within every limit) is handled in the loop itself, with what it
 * needs kept in locals; any other line goes through end_line, the rules in
 * full. */
static int frame(struct ami_parser *p, int split)
{
	const size_t max_line = p->lim.max_line, max_msg = p->lim.max_msg;
	const size_t max_h = p->lim.max_headers;

	if (!p->buf)
		return LINE_GO_ON;      /* nothing fed yet (and NULL + 0 is undefined) */
	for (;;) {
		const char *s = p->buf + p->start;
		const size_t n = p->end - p->start, readable = p->cap - p->start;
		size_t i = p->scan, ls = p->pos, lines = p->lines;
		int r = LINE_GO_ON, bare = p->bare_lf;
		int head = p->state == ST_HEAD, rec = p->split && lines > 0;

		if (head && p->pos == 0 && p->scan == 0 && frame_event(p, split) == LINE_END)
			return LINE_END;

		while (i < n) {
			unsigned m;
			size_t step = 16;
			int fast;
			if (i + 16 <= n && i + 16 <= readable) {
				m = nl_bits(s + i);
			} else if (i + 16 <= readable) {
				step = n - i;
				m = nl_bits(s + i) & ((1u << step) - 1);
			} else {            /* the last bytes of the buffer */
				const char *nl = memchr(s + i, '\n', n - i);
				m = nl ? 1u : 0;        /* bit 0: the '\n' at the new i */
				step = nl ? 1 : n - i;
				i = nl ? (size_t)(nl - s) : i;
			}
			/* When no line of this chunk (at most 16) can reach the
			 * message and header limits, only a line's length is
			 * checked per line. */
			fast = head && lines > 0 && i + 16 < max_msg && lines + 16 < max_h;
			for (; m; m &= m - 1) {
				size_t q = i + (size_t)__builtin_ctz(m), d = q - ls;
				if (fast && d - 2 < max_line - 1) {
					lines++;
					bare = s[q - 1] != '\r';
					if (rec)
						header_of_line(next_slot(p), s, ls, d - !bare,
							       ls + 32 <= readable);
					ls = q + 1;
					continue;
				}
				p->pos = ls;
				p->lines = lines;
				p->bare_lf = bare;
				r = end_line(p, q, split);
				if (r != LINE_GO_ON)
					goto out;
				lines = p->lines;
				bare = p->bare_lf;
				head = p->state == ST_HEAD;
				rec = p->split;
				fast = head && lines > 0 && i + 16 < max_msg && lines + 16 < max_h;
				ls = q + 1;
			}
			i += step;
		}
out:
		if (r == LINE_AGAIN)
			continue;       /* the message starts elsewhere now */
		if (r != LINE_GO_ON)
			return r;
		p->pos = ls;
		p->lines = lines;
		p->bare_lf = bare;
		p->scan = n;
		/* +1: the last byte may be the '\r' of a line that fits */
		if (n - ls > max_line + 1)
			return fail(p, "line longer than %zu bytes", max_line);
		return LINE_GO_ON;
	}
}

/* The value of the first header called name (any case), or NULL. */
const char *ami_view_get(const struct ami_view *v, const char *name, size_t *len)
{
	size_t nlen = strlen(name);

	for (size_t i = 0; i < v->n; i++) {
		if (v->h[i].name_len == nlen && same_name(v->base + v->h[i].name, name, nlen)) {
			*len = v->h[i].value_len;
			return v->base + v->h[i].value;
		}
	}
	*len = 0;
	return NULL;
}

static void view_note_event(struct ami_view *v)
{
	v->event = ami_view_get(v, "Event", &v->event_len);
}

void ami_view_of_msg(struct ami_view *v, const struct ami_msg *m)
{
	memset(v, 0, sizeof *v);
	v->base = m->arena;
	v->h = m->h;
	v->n = m->n;
	v->lim = m->arena + m->cap;
	v->msg = m;
	view_note_event(v);
}

int ami_parser_next_view(struct ami_parser *p, struct ami_view *v, int split)
{
	int r;

	if (p->failed)
		return -1;
	release_done(p);
	r = frame(p, split);
	if (r == LINE_ERROR)
		return -1;
	if (r == LINE_GO_ON)
		return 0;
	p->returned = 1;
	if (p->cur.n) {                 /* old Command output, already consumed */
		ami_view_of_msg(v, &p->cur);
		return 1;
	}
	memset(v, 0, sizeof *v);
	v->base = v->wire = p->buf + p->start;
	v->wire_len = p->done = p->pos;
	v->body = p->body;
	v->lim = p->buf + p->cap;
	if (p->split) {
		v->h = p->h;
		v->n = p->nh;
	}
	if (p->ev_first) {
		v->event = v->base + p->ev;
		v->event_len = p->ev_len;
	} else if (p->split) {
		view_note_event(v);
	}
	return 1;
}

void ami_parser_split(struct ami_parser *p, struct ami_view *v)
{
	size_t ls = 0;

	if (v->h || !v->wire)
		return;
	p->nh = 0;
	while (ls < v->body) {
		const char *nl = memchr(v->wire + ls, '\n', v->body - ls);
		size_t q = (size_t)(nl - v->wire), len = q - ls;
		len -= len > 0 && v->wire[q - 1] == '\r';
		if (len > 0)    /* inside a message, only the stray "\r\n" is blank */
			header_of_line(next_slot(p), v->wire, ls, len, v->wire + ls + 32 <= v->lim);
		ls = q + 1;
	}
	v->h = p->h;
	v->n = p->nh;
}

/* A copy of the wire bytes with a NUL after every name and value (where the
 * colon and the line end were): the header offsets stay as they are. */
static void copy_wire(struct ami_msg *out, const struct ami_view *v)
{
	ami_msg_clear(out);
	arena_reserve(out, v->body + 1);        /* cannot fail: body <= max_msg */
	memcpy(out->arena, v->base, v->body);
	out->arena[v->body] = '\0';
	out->used = v->body + 1;
	if (out->hcap < v->n) {
		out->hcap = v->n;
		out->h = xrealloc(out->h, out->hcap * sizeof *out->h);
	}
	if (v->n)
		memcpy(out->h, v->h, v->n * sizeof *v->h);
	out->n = v->n;
	for (size_t i = 0; i < v->n; i++) {
		out->arena[v->h[i].name + v->h[i].name_len] = '\0';
		out->arena[v->h[i].value + v->h[i].value_len] = '\0';
	}
}

void ami_msg_from_view(struct ami_msg *out, const struct ami_view *v)
{
	if (v->msg)
		ami_msg_copy(out, v->msg);
	else
		copy_wire(out, v);
}

int ami_parser_next(struct ami_parser *p, struct ami_msg *out)
{
	struct ami_view v;
	int r = ami_parser_next_view(p, &v, 1);

	if (r <= 0)
		return r;
	if (v.msg == &p->cur) {         /* hand cur over, take out's memory */
		struct ami_msg t = p->cur;
		p->cur = *out;
		*out = t;
		ami_msg_clear(&p->cur);
		return 1;
	}
	copy_wire(out, &v);
	return 1;
}
