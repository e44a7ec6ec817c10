/* term_safe.c - text from the server made harmless for a terminal. */
#include "term_safe.h"

#include <stdint.h>
#include <string.h>

#include "format.h"
#include "output.h"
#include "util.h"

size_t term_plain_utf8_len(const char *s, size_t n)
{
	/* U+0080..U+009F: 0xc2 then 0x80..0x9f; CSI (U+009B) starts a
	 * sequence on terminals that read C1 controls. */
	if ((unsigned char)s[0] == 0xc2 && n > 1 && (unsigned char)s[1] < 0xa0)
		return 0;
	return out_utf8_len(s, n);
}

/* Whether the bytes of w are all printable ASCII (0x20..0x7e): a byte
 * below 0x20 sets the high bit of w - 0x20, DEL that of w + 1, and 0x80 and
 * up their own. A borrow or carry between bytes only starts at a byte that
 * is already out of the run, so a word that passes has none. */
static inline int printable8(uint64_t w)
{
	const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;

	return !(((w - ones * 0x20) | w | (w + ones)) & highs);
}

static inline int printable4(uint32_t w)
{
	const uint32_t ones = 0x01010101u, highs = 0x80808080u;

	return !(((w - ones * 0x20) | w | (w + ones)) & highs);
}

/* Where the run of printable ASCII that starts at s[i] ends, eight bytes
 * at a time; the last bytes of a run are taken as the word (of 8 or 4)
 * that ends at len, which overlaps the bytes already looked at. */
static size_t ascii_run(const char *s, size_t i, size_t len)
{
	uint64_t w;
	uint32_t h;

	while (len - i >= 8) {
		memcpy(&w, s + i, 8);
		if (!printable8(w))
			goto bytes;
		i += 8;
	}
	if (len >= 8) {
		memcpy(&w, s + len - 8, 8);
		if (printable8(w))
			return len;
	} else if (len - i >= 4) {
		memcpy(&h, s + i, 4);
		if (printable4(h)) {
			memcpy(&h, s + len - 4, 4);
			if (printable4(h))
				return len;
		}
	}
bytes:
	while (i < len && (unsigned char)s[i] >= 0x20 && (unsigned char)s[i] < 0x7f)
		i++;
	return i;
}

int term_safe(const char *s, size_t len, term_put_fn *put, void *arg)
{
	static const char hex[] = "0123456789abcdef";
	size_t i = 0, start = 0, k;
	int rc;

	while ((i = ascii_run(s, i, len)) < len) {
		if ((k = term_plain_len(s + i, len - i)) > 0) {
			i += k;
			continue;
		}
		unsigned char c = (unsigned char)s[i];
		char esc[4] = { '\\', 'x', hex[c >> 4], hex[c & 15] };
		if ((i > start && (rc = put(arg, s + start, i - start)) != 0) ||
		    (rc = put(arg, esc, sizeof esc)) != 0)
			return rc;
		start = ++i;
	}
	return i > start ? put(arg, s + start, i - start) : 0;
}

static int put_buf(void *arg, const char *s, size_t n)
{
	strbuf_add(arg, s, n);
	return 0;
}

static int put_file(void *arg, const char *s, size_t n)
{
	return fwrite(s, 1, n, arg) == n ? 0 : -1;
}

static int put_out(void *arg, const char *s, size_t n)
{
	(void)arg;
	return out_write(s, n);
}

void term_safe_buf(struct strbuf *b, const char *s, size_t len)
{
	term_safe(s, len, put_buf, b);
}

void term_safe_file(FILE *f, const char *s, size_t len)
{
	term_safe(s, len, put_file, f);
}

int term_safe_out(const char *s, size_t len)
{
	if (ascii_run(s, 0, len) == len)
		return out_write(s, len);       /* the usual case, in one call */
	return term_safe(s, len, put_out, NULL);
}

char *term_safe_dup(const char *s)
{
	struct strbuf b = { 0 };

	term_safe_buf(&b, s, strlen(s));
	return b.p ? b.p : xstrdup("");
}
