/* format.h - what a message looks like on stdout (text, raw, json),
 * written through the sink (output.h). */
#ifndef AMI_FORMAT_H
#define AMI_FORMAT_H

#include <stddef.h>
#include "msg.h"

enum out_format { OUT_TEXT, OUT_RAW, OUT_JSON };

/* Its words, in enum order (as config.h's): how --format and .format name
 * it; out_parse_format reads one, ASCII case ignored. */
extern const char *const format_words[];
int out_parse_format(const char *s, enum out_format *f);   /* 0 ok, -1 bad */
void out_set_format(enum out_format f);
enum out_format out_get_format(void);

/* A message: raw = AMI wire block, text = aligned "Key: Value" block
 * followed by a blank line (control bytes and invalid UTF-8 shown as \xNN,
 * see term_safe.h), json = one compact object and a newline. */
int out_msg(const struct ami_msg *m);
/* The same for a view, which must be split (ami_parser_split), except for
 * raw output of a view from the wire: its bytes as received. */
int out_view(const struct ami_view *v);
/* json of a view from the wire (split or not) in one pass over its bytes:
 * what out_view makes of it. RC_OK, RC_IO, or RC_CONTINUE (nothing
 * written: go on with out_view) when the format is not json or the
 * message has what this fast path leaves to out_view: a line without a
 * colon, a name with '(' or a byte to escape, a bare "\n" line end, a
 * repeated name, more than 64 headers, more than WIRE_JSON_MAX bytes. */
#define WIRE_JSON_MAX 2048
int out_json_wire(const struct ami_view *v);
/* Appends s as a JSON string literal (quotes included). Invalid UTF-8 bytes
 * are written as \u00XX (their Latin-1 reading), so nothing is dropped. */
int out_json_string(const char *s, size_t len);
/* Length of the valid multi-byte UTF-8 sequence at s (at most n bytes),
 * or 0 (ASCII, or not valid UTF-8). */
size_t out_utf8_len(const char *s, size_t n);

#endif
