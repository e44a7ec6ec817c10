/* term_safe.h - text from the server made harmless for a terminal.
 *
 * A server controls the bytes of its messages, and a terminal obeys escape
 * sequences: a Message holding "ESC ] 0 ; title BEL ESC [ 2 J" would
 * retitle and clear the user's screen. Everything shown in a human format
 * (diagnostics, traces, text output) goes through term_safe, which, like
 * git for "remote:" lines, shows C0 controls but TAB, DEL and the C1
 * controls (U+0080..U+009F) as \xNN per byte, and each byte that is not
 * valid UTF-8 as \xNN. Valid UTF-8 and TAB pass. */
#ifndef AMI_TERM_SAFE_H
#define AMI_TERM_SAFE_H

#include <stdio.h>
#include <stddef.h>

struct strbuf;

/* The length of the valid UTF-8 sequence at s[0, n) when it is not a C1
 * control, else 0 (see term_plain_len). */
size_t term_plain_utf8_len(const char *s, size_t n);

/* How many bytes at s[0, n) go to a terminal as they are: 1 for printable
 * ASCII and TAB, the length of a valid UTF-8 sequence that is not a C1
 * control; 0 for a byte term_safe shows as \xNN. n must be > 0. Inline:
 * text formats call it for every byte. */
static inline size_t term_plain_len(const char *s, size_t n)
{
	unsigned char c = (unsigned char)s[0];

	if (c < 0x80)
		return (c >= 0x20 && c != 0x7f) || c == '\t';
	return term_plain_utf8_len(s, n);
}

/* Passes s[0, len) to put in pieces, escaped as above: runs of plain bytes
 * whole, each other byte as "\xNN". Stops at the first put that does not
 * return 0 and returns its value; 0 when all went. */
typedef int term_put_fn(void *arg, const char *s, size_t n);
int term_safe(const char *s, size_t len, term_put_fn *put, void *arg);

/* term_safe into a string buffer, to a stdio stream, to standard output
 * (output.h; RC_OK or RC_IO), or as a malloc'd string. */
void term_safe_buf(struct strbuf *b, const char *s, size_t len);
void term_safe_file(FILE *f, const char *s, size_t len);
int term_safe_out(const char *s, size_t len);
char *term_safe_dup(const char *s);

#endif
