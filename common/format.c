/* format.c - what a message looks like on stdout: text (aligned "Key:
 * Value" blocks), raw (the AMI wire block) and json (one compact object
 * per line), for messages and views; the JSON string escaping, and the
 * one-pass JSON of a view from the wire. It writes through the sink
 * (output.c): out_write, or straight into its buffer between out_reserve
 * and out_commit. */
#include "format.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "output.h"
#include "term_safe.h"
#include "util.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* The most escaping can make of len bytes, plus two quotes and the 32
 * bytes copy_plain and short_header may write past its end. */
#define JSON_ROOM(len) (6 * (size_t)(len) + 34)
#define OUT_BUF_SIZE (64 * 1024)    /* the sink's buffer: a field bigger than
				     * half of it goes the long way */

static enum out_format format = OUT_TEXT;

const char *const format_words[] = { "text", "raw", "json", NULL };

int out_parse_format(const char *s, enum out_format *f)
{
	int i = word_index(s, format_words);

	if (i < 0)
		return -1;
	*f = (enum out_format)i;
	return 0;
}

void out_set_format(enum out_format f) { format = f; }
enum out_format out_get_format(void) { return format; }

/* ---------- JSON ---------- */

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0. */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
	size_t len;
	unsigned c = s[0];

	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	if (c == 0xe0 && s[1] < 0xa0)
		return 0;   /* overlong */
	if (c == 0xed && s[1] > 0x9f)
		return 0;   /* surrogate */
	if (c == 0xf0 && s[1] < 0x90)
		return 0;
	if (c == 0xf4 && s[1] > 0x8f)
		return 0;
	return len;
}

size_t out_utf8_len(const char *s, size_t n)
{
	return utf8_seq_len((const unsigned char *)s, n);
}

/* Writes the escaped form of one byte (or UTF-8 sequence) at s[*i] to o;
 * at most 6 bytes per input byte. Returns the new end of o. s[*i] must be
 * a byte copy_plain stops at in a value (is_special(c, 0): below 0x20,
 * from 0x7f, '"' or '\\'), which is where both callers call it: other
 * printable ASCII is copied before and has no case here (it would come
 * out as \u00XX). */
static char *escape_one(char *o, const unsigned char *s, size_t len, size_t *i)
{
	static const char hex[] = "0123456789abcdef";
	unsigned c = s[*i];

	if (c >= 0x80) {
		size_t sl = utf8_seq_len(s + *i, len - *i);
		if (sl) {
			memcpy(o, s + *i, sl);
			*i += sl;
			return o + sl;
		}
	}
	(*i)++;
	if (c == '"' || c == '\\') {
		o[0] = '\\';
		o[1] = (char)c;
		return o + 2;
	}
	if (c == '\n' || c == '\r' || c == '\t') {
		o[0] = '\\';
		o[1] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
		return o + 2;
	}
	/* Control bytes, DEL and invalid UTF-8 (read as Latin-1). */
	memcpy(o, "\\u00", 4);
	o[4] = hex[c >> 4];
	o[5] = hex[c & 15];
	return o + 6;
}

#if defined(__SSE2__)
/* Bytes of v a JSON string cannot hold as they are: below 0x20 or from 0x80
 * (below 0x20 as signed bytes), '"', '\\' and DEL; in a name (name set)
 * also ':', where it ends, and '(', which the parser reads its own way. */
static inline unsigned special_mask(__m128i v, int name)
{
	/* v + 1 below 0x21 as signed bytes: below 0x20, DEL and from 0x80 */
	__m128i bad = _mm_or_si128(_mm_cmplt_epi8(_mm_add_epi8(v, _mm_set1_epi8(1)), _mm_set1_epi8(0x21)),
		_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))));
	if (name)
		bad = _mm_or_si128(bad, _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8(':')),
						     _mm_cmpeq_epi8(v, _mm_set1_epi8('('))));
	return (unsigned)_mm_movemask_epi8(bad);
}
#endif

static inline int is_special(unsigned char c, int name)
{
	return c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || (name && (c == ':' || c == '('));
}

/* Copies m[*pos, end) to *o up to the first byte that is special (see
 * special_mask), which it leaves at m[*pos]; *pos == end when there is
 * none. 16 bytes are looked at once while that stays below lim, the end of
 * the memory m lives in (so a short run costs one look); the rest one at a
 * time. */
static inline void copy_plain(char **o, const char *m, size_t *pos, const char *lim, int name,
			      size_t end)
{
	size_t p = *pos;
	char *out = *o;

#if defined(__SSE2__)
	while (m + p + 16 <= lim) {
		__m128i v = _mm_loadu_si128((const __m128i *)(m + p));
		unsigned mask = special_mask(v, name);
		if (end - p < 16)
			mask |= ~0u << (end - p);       /* end stops it too */
		_mm_storeu_si128((__m128i *)out, v);   /* room: JSON_ROOM has 16 to spare */
		if (mask) {
			size_t k = (size_t)__builtin_ctz(mask);
			*o = out + k;
			*pos = p + k;
			return;
		}
		out += 16;
		p += 16;
	}
#endif
	while (p < end && !is_special((unsigned char)m[p], name))
		*out++ = m[p++];
	*o = out;
	*pos = p;
}

/* The JSON string body of str (no quotes) at o, which has room for
 * JSON_ROOM(len) bytes; str may be read up to lim. */
static char *escape_into(char *o, const char *str, size_t len, const char *lim)
{
	size_t i = 0;

	for (;;) {
		copy_plain(&o, str, &i, lim, 0, len);
		if (i == len)
			return o;
		o = escape_one(o, (const unsigned char *)str, len, &i);
	}
}

/* escape_into for a header's name or value: the usual short field with
 * nothing to escape (it is read 32 bytes at once, ahead of its end when
 * shorter) is stored in two moves; anything else takes escape_into. */
static inline char *json_field(char *o, const char *str, size_t len, const char *lim)
{
#if defined(__SSE2__)
	if (len <= 32 && str + 32 <= lim) {
		__m128i a = _mm_loadu_si128((const __m128i *)str);
		__m128i b = _mm_loadu_si128((const __m128i *)(str + 16));
		uint32_t bad = special_mask(a, 0) | special_mask(b, 0) << 16;
		if (!(bad & (len >= 32 ? ~0u : (1u << len) - 1))) {
			_mm_storeu_si128((__m128i *)o, a);     /* room: JSON_ROOM(0) is 34 */
			_mm_storeu_si128((__m128i *)(o + 16), b);
			return o + len;
		}
	}
#endif
	return escape_into(o, str, len, lim);
}

/* Strings longer than this go through out_json_string's smaller steps. */
#define JSON_DIRECT_MAX (OUT_BUF_SIZE / 16)

int out_json_string(const char *str, size_t len)
{
	size_t i = 0;

	if (len <= JSON_DIRECT_MAX) {
		char *o = out_reserve(JSON_ROOM(len));
		if (!o)
			return RC_IO;
		*o++ = '"';
		o = escape_into(o, str, len, str + len);
		*o++ = '"';
		out_commit(o);
		return RC_OK;
	}
	if (out_write("\"", 1) != RC_OK)
		return RC_IO;
	while (i < len) {
		size_t step = len - i < JSON_DIRECT_MAX ? len - i : JSON_DIRECT_MAX;
		/* Do not cut a UTF-8 sequence in two. */
		while (step < len - i && step > 0 && ((unsigned char)str[i + step] & 0xc0) == 0x80)
			step--;
		if (step == 0)
			step = len - i < JSON_DIRECT_MAX ? len - i : JSON_DIRECT_MAX;
		char *o = out_reserve(JSON_ROOM(step));
		if (!o)
			return RC_IO;
		out_commit(escape_into(o, str + i, step, str + i + step));
		i += step;
	}
	return out_write("\"", 1);
}

/* ---------- messages ---------- */

/* A header with an empty name is a line without a colon (text an old
 * server sends), or one that started with its colon: written as it was
 * read when its value is empty or has a colon (":", ": a: b"), which it
 * needs to be read back the same; as the bare value otherwise. */
static int out_raw(const struct ami_view *m)
{
	for (size_t i = 0; i < m->n; i++) {
		const struct ami_header *h = &m->h[i];
		const char *name = m->base + h->name, *value = m->base + h->value;
		int colon = h->name_len || !h->value_len || memchr(value, ':', h->value_len);
		size_t need = (size_t)h->name_len + h->value_len + 4;
		char *o;

		if (need > OUT_BUF_SIZE / 2) {  /* a huge line: the slow way */
			out_write(name, h->name_len);
			if (colon)
				out_write(": ", 2);
			out_write(value, h->value_len);
			if (out_write("\r\n", 2) != RC_OK)
				return RC_IO;
			continue;
		}
		if (!(o = out_reserve(need)))
			return RC_IO;
		memcpy(o, name, h->name_len);
		o += h->name_len;
		if (colon) {
			*o++ = ':';
			*o++ = ' ';
		}
		memcpy(o, value, h->value_len);
		o += h->value_len;
		*o++ = '\r';
		*o++ = '\n';
		out_commit(o);
	}
	return out_write("\r\n", 2);
}

/* For people: what the server sent goes through term_safe. */
static int out_text(const struct ami_view *m)
{
	size_t width = 0;

	for (size_t i = 0; i < m->n; i++)
		if (m->h[i].name_len > width)
			width = m->h[i].name_len;
	if (width > 24)
		width = 24;     /* one very long name should not push every value right */
	for (size_t i = 0; i < m->n; i++) {
		const struct ami_header *h = &m->h[i];
		if (h->name_len) {
			term_safe_out((m->base + m->h[i].name), h->name_len);
			out_write(":", 1);
			for (size_t pad = h->name_len; pad < width + 1; pad++)
				out_write(" ", 1);
		}
		term_safe_out((m->base + m->h[i].value), h->value_len);
		if (out_write("\n", 1) != RC_OK)
			return RC_IO;
	}
	return out_write("\n", 1);
}

static int same_name(const struct ami_view *m, size_t a, size_t b)
{
	return m->h[a].name_len == m->h[b].name_len &&
	       strncasecmp((m->base + m->h[a].name), (m->base + m->h[b].name), m->h[a].name_len) == 0;
}

static int out_json_big(const struct ami_view *m);

/* Repeated names (any case) are found with a 256-bit map of a small hash
 * of each name (its length and first and last bytes, of any case):
 * a typical event costs a few operations per header, and only a name whose
 * bit was set already is compared with the names before it. */
#define REPEAT_MAX 64
struct name_set {
	unsigned n;
	uint64_t bits[4];
	const char *name[REPEAT_MAX];
	size_t len[REPEAT_MAX];
};

static void name_set_init(struct name_set *set)
{
	set->n = 0;
	set->bits[0] = set->bits[1] = set->bits[2] = set->bits[3] = 0;
}

/* a[0, len) and b[0, len) are the same but for the case of ASCII letters
 * (strncasecmp, without its call: names that collide differ early). */
static inline int same_letters(const char *a, const char *b, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];
		if (x != y && ((x | 0x20) != (y | 0x20) || (unsigned char)((x | 0x20) - 'a') > 25))
			return 0;
	}
	return 1;
}

/* Adds a name to the set (which has room); 1 when it was there already. */
static inline int name_seen(struct name_set *set, const char *name, size_t len)
{
	unsigned h = (unsigned)len, i = set->n;
	uint64_t *word, bit;

	if (len)            /* & 0x1f: a letter's case is the bit above */
		h = h << 4 ^ ((unsigned)name[0] & 0x1f) << 3 ^ ((unsigned)name[len - 1] & 0x1f);
	h &= 255;
	word = &set->bits[h >> 6];
	bit = (uint64_t)1 << (h & 63);
	if (*word & bit)
		for (unsigned j = 0; j < i; j++)
			if (set->len[j] == len && same_letters(set->name[j], name, len))
				return 1;
	*word |= bit;
	set->name[i] = name;
	set->len[i] = len;
	set->n++;
	return 0;
}

/* Whether two headers share a name (any case). */
static int has_repeats(const struct ami_view *m)
{
	struct name_set set;

	if (m->n > REPEAT_MAX)
		return 1;   /* rare: let the exact quadratic path decide */
	name_set_init(&set);
	for (size_t i = 0; i < m->n; i++)
		if (name_seen(&set, (m->base + m->h[i].name), m->h[i].name_len))
			return 1;
	return 0;
}

/* The common case: every name once, so each header is "name":"value".
 * Room for the whole object is made once; a message too big for that goes
 * header by header. */
static int out_json_flat(const struct ami_view *m)
{
	const char *lim = m->lim;    /* json_field may read up to here */
	size_t need = 4;
	char *o;

	for (size_t i = 0; i < m->n; i++)
		need += JSON_ROOM(m->h[i].name_len) + JSON_ROOM(m->h[i].value_len);
	if (need > OUT_BUF_SIZE / 2)
		return out_json_big(m);
	if (!(o = out_reserve(need)))
		return RC_IO;
	*o++ = '{';
	for (size_t i = 0; i < m->n; i++) {
		const struct ami_header *h = &m->h[i];
		if (i)
			*o++ = ',';
		*o++ = '"';
		o = json_field(o, m->base + h->name, h->name_len, lim);
		memcpy(o, "\":\"", 3);
		o = json_field(o + 3, m->base + h->value, h->value_len, lim);
		*o++ = '"';
	}
	*o++ = '}';
	*o++ = '\n';
	out_commit(o);
	return RC_OK;
}

/* One compact object; a repeated header becomes an array at the place of
 * its first occurrence, so keys stay in wire order. */
static int out_json_big(const struct ami_view *m)
{
	out_write("{", 1);
	int first = 1;
	for (size_t i = 0; i < m->n; i++) {
		size_t j, count = 1;
		for (j = 0; j < i && !same_name(m, i, j); j++)
			;
		if (j < i)
			continue;   /* already printed with its first occurrence */
		for (j = i + 1; j < m->n; j++)
			count += same_name(m, i, j);
		if (!first)
			out_write(",", 1);
		first = 0;
		out_json_string((m->base + m->h[i].name), m->h[i].name_len);
		out_write(":", 1);
		if (count == 1) {
			out_json_string((m->base + m->h[i].value), m->h[i].value_len);
			continue;
		}
		out_write("[", 1);
		for (j = i; j < m->n; j++) {
			if (!same_name(m, i, j))
				continue;
			if (j > i)
				out_write(",", 1);
			out_json_string((m->base + m->h[j].value), m->h[j].value_len);
		}
		out_write("]", 1);
	}
	return out_write("}\n", 2);
}

static int out_json(const struct ami_view *m)
{
	return has_repeats(m) ? out_json_big(m) : out_json_flat(m);
}

/* ---------- JSON straight from the wire ----------
 * out_json_wire makes the line out_view makes of a view, in one pass over
 * its bytes as received, without splitting them first (the parser has
 * framed the message): a short line is looked at 32 bytes at once and
 * stored in two moves (short_header); a longer one in 16-byte steps that
 * both copy and look for the end of the name, the end of the line and
 * what needs escaping (wire_header). Whatever is unusual is left to the
 * split view and out_view (declined). */

#if defined(__SSE2__)
/* The first ':' or '(' of the 32 bytes in a, b, as bits. */
static inline uint32_t name_ends32(__m128i a, __m128i b)
{
	__m128i colon = _mm_set1_epi8(':'), paren = _mm_set1_epi8('(');
	return (uint32_t)_mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(a, colon), _mm_cmpeq_epi8(a, paren))) |
	       (uint32_t)_mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(b, colon), _mm_cmpeq_epi8(b, paren)))
	       << 16;
}

/* The usual line, "Name: value\r\n" in at most 32 bytes with nothing to
 * escape, without a loop: its 32 bytes are looked at once, then stored
 * twice (name, value) at their places. Its first special byte must be the
 * '\r' of its "\r\n", and the first ':' or '(' a colon before it. NULL
 * when the line is not one. */
static inline char *short_header(char *o, const char *m, size_t *pos, const char *lim,
				 const char **name, size_t *name_len)
{
	const char *s = m + *pos;

	if (s + 64 > lim)
		return NULL;
	__m128i a = _mm_loadu_si128((const __m128i *)s);
	__m128i b = _mm_loadu_si128((const __m128i *)(s + 16));
	uint32_t bad = (uint32_t)special_mask(a, 0) | (uint32_t)special_mask(b, 0) << 16;
	uint32_t ends = name_ends32(a, b);
	if (!bad || !ends)
		return NULL;
	unsigned e = (unsigned)__builtin_ctz(bad), c = (unsigned)__builtin_ctz(ends);
	if (c > e || s[c] != ':' || s[e] != '\r' || s[e + 1] != '\n')
		return NULL;
	unsigned v = c + 1 + (s[c + 1] == ' ');
	*o = '"';
	_mm_storeu_si128((__m128i *)(o + 1), a);
	_mm_storeu_si128((__m128i *)(o + 17), b);
	o += 1 + c;
	memcpy(o, "\":\"", 3);
	o += 3;
	_mm_storeu_si128((__m128i *)o, _mm_loadu_si128((const __m128i *)(s + v)));
	_mm_storeu_si128((__m128i *)(o + 16), _mm_loadu_si128((const __m128i *)(s + v + 16)));
	o += e - v;
	*o++ = '"';
	*name = s;
	*name_len = c;
	*pos += e + 2;
	return o;
}
#endif

/* One "Name":"value" pair from the line at m[*pos], which must end before
 * m + len; *pos moves past its line end. NULL: declined (see
 * out_json_wire). */
static char *wire_header(char *o, const char *m, size_t len, size_t *pos, const char *lim,
			 const char **name, size_t *name_len)
{
	size_t p = *pos;

	*name = m + p;
	*o++ = '"';
	copy_plain(&o, m, &p, lim, 1, len);
	if (p >= len || m[p] != ':')
		return NULL;    /* no colon, a name with bytes to escape, or one with
				 * '(' (ChanVariable(...): the parser's rule) */
	*name_len = (size_t)(m + p - *name);
	memcpy(o, "\":\"", 3);
	o += 3;
	p += 1 + (p + 1 < len && m[p + 1] == ' ');
	for (;;) {
		copy_plain(&o, m, &p, lim, 0, len);
		if (p + 1 >= len || m[p] == '\n')
			return NULL;        /* a bare "\n" line end */
		if (m[p] == '\r' && m[p + 1] == '\n')
			break;
		o = escape_one(o, (const unsigned char *)m, len, &p);
	}
	*o++ = '"';
	*pos = p + 2;
	return o;
}

/* The object of the header lines m[0, body), at o. NULL: declined (see
 * out_json_wire). */
static char *wire_object(char *o, const char *m, size_t body, const char *lim)
{
	struct name_set set;
	size_t pos = 0, name_len;
	const char *name;

	name_set_init(&set);
	*o++ = '{';
	while (pos < body) {
		if (set.n == REPEAT_MAX)
			return NULL;
		if (set.n)
			*o++ = ',';
#if defined(__SSE2__)
		char *next = short_header(o, m, &pos, lim, &name, &name_len);
		o = next ? next : wire_header(o, m, body, &pos, lim, &name, &name_len);
#else
		o = wire_header(o, m, body, &pos, lim, &name, &name_len);
#endif
		if (!o || name_seen(&set, name, name_len))
			return NULL;
	}
	*o++ = '}';
	*o++ = '\n';
	return o;
}

int out_json_wire(const struct ami_view *v)
{
	char *o;

	if (format != OUT_JSON || !v->wire || v->body > WIRE_JSON_MAX)
		return RC_CONTINUE;
	if (!(o = out_reserve(JSON_ROOM(v->body))))
		return RC_IO;
	if (!(o = wire_object(o, v->wire, v->body, v->lim)))
		return RC_CONTINUE;
	out_commit(o);
	return RC_OK;
}

int out_view(const struct ami_view *v)
{
	switch (format) {
	case OUT_RAW:
		return v->wire ? out_write(v->wire, v->wire_len) : out_raw(v);
	case OUT_JSON:
		return out_json(v);
	default:
		return out_text(v);
	}
}

int out_msg(const struct ami_msg *m)
{
	struct ami_view v;

	ami_view_of_msg(&v, m);
	return out_view(&v);
}

