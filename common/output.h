/* output.h - the only code that writes to stdout.
 * Output is buffered in memory and written with write(2); callers flush
 * before they wait, so a pipe sees every message as soon as it is complete
 * while a busy stream still goes out in large writes. */
#ifndef AMI_OUTPUT_H
#define AMI_OUTPUT_H

#include <stddef.h>
#include "msg.h"

enum out_format { OUT_TEXT, OUT_RAW, OUT_JSON };

int out_parse_format(const char *s, enum out_format *f);   /* 0 ok, -1 bad */
void out_set_format(enum out_format f);
enum out_format out_get_format(void);

/* A message: raw = AMI wire block, text = aligned "Key: Value" block
 * followed by a blank line, json = one compact object and a newline. */
int out_msg(const struct ami_msg *m);
/* The same for a view, which must be split (ami_parser_split), except for
 * raw output of a view from the wire: its bytes as received. */
int out_view(const struct ami_view *v);
/* json of a view from the wire (split or not) in one pass over its bytes:
 * what out_view makes of it. RC_OK, RC_IO, or OUT_DECLINED (nothing
 * written) when the format is not json or the message has what this fast
 * path leaves to out_view: a line without a colon, a name with '(' or a
 * byte to escape, a bare "\n" line end, a repeated name, more than 64
 * headers, more than WIRE_JSON_MAX bytes. */
#define OUT_DECLINED (-1)
#define WIRE_JSON_MAX 2048
int out_json_wire(const struct ami_view *v);
int out_write(const char *buf, size_t len);
int out_puts(const char *s);
int out_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Appends s as a JSON string literal (quotes included). Invalid UTF-8 bytes
 * are written as \u00XX (their Latin-1 reading), so nothing is dropped. */
int out_json_string(const char *s, size_t len);
/* Length of the valid multi-byte UTF-8 sequence at s (at most n bytes),
 * or 0 (ASCII, or not valid UTF-8). */
size_t out_utf8_len(const char *s, size_t n);
/* Writes everything buffered. RC_OK or RC_IO (message printed once). */
int out_flush(void);
size_t out_buffered(void);
/* True once a write failed with EPIPE: main() then dies of SIGPIPE quietly. */
int out_broken_pipe(void);
/* Flush and report a failed stdout; returns rc, or RC_IO if output failed. */
int out_finish(int rc);

/* Streaming to a reader that may be slower than the input (tail-events).
 * When stdout is a pipe, socket or terminal, it is made non-blocking and
 * output that cannot be written yet waits in a queue of at most max_bytes:
 * out_write never blocks, out_flush writes what stdout takes. Each record
 * (one formatted event) must be closed with out_record_end. When the queue
 * overflows, the oldest whole records not yet started are dropped and
 * on_drop(arg, n, total) is called to format a marker in their place (with
 * out_msg/out_write only). Returns 1 in that mode, 0 when stdout is a file
 * or /dev/null (plain blocking writes; the other calls then do little). */
typedef void out_drop_fn(void *arg, unsigned long n, unsigned long total);
int out_stream_begin(size_t max_bytes, out_drop_fn *on_drop, void *arg);
/* Ends a record; is_event = 0 for a marker that must never be dropped. */
void out_record_end(int is_event);
int out_streaming(void);
/* Output waits to be written (poll stdout for POLLOUT). */
int out_stream_pending(void);
/* The reader is gone (POLLERR/POLLHUP on stdout): end quietly, as on EPIPE. */
void out_reader_gone(void);
/* Writes the rest, waiting at most timeout_ms (-1: no limit) for stdout to
 * take anything, restores stdout's flags and leaves streaming mode.
 * RC_OK, RC_IO, or RC_TIMEOUT when it gave up (the rest counts as dropped). */
int out_stream_end(int timeout_ms);
/* Events dropped so far by the bounded queue; the most bytes that waited. */
unsigned long out_dropped(void);
size_t out_queue_peak(void);

#endif
