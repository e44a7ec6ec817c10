/* output.h - the sink: the only code that writes to stdout.
 * Output is buffered in memory and written with write(2); callers flush
 * before they wait, so a pipe sees every message as soon as it is complete
 * while a busy stream still goes out in large writes. What the bytes look
 * like is format.h's business. */
#ifndef AMI_OUTPUT_H
#define AMI_OUTPUT_H

#include <stddef.h>

int out_write(const char *buf, size_t len);
/* Room for n bytes to format into directly: write there, then say where
 * the bytes end with out_commit. NULL once output has failed. */
char *out_reserve(size_t n);
void out_commit(const char *end);
/* What a formatter may reserve at once for a usual record (the JSON of 2
 * KiB of headers): a streaming block keeps that much room past its target. */
#define OUT_USUAL_RESERVE (6 * 2048 + 34)
int out_puts(const char *s);
int out_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Writes everything buffered. RC_OK or RC_IO (message printed once). */
int out_flush(void);
size_t out_buffered(void);
/* True once a write failed with EPIPE: main() then dies of SIGPIPE quietly. */
int out_broken_pipe(void);
/* Flush and report a failed stdout; returns rc, or RC_IO if output failed. */
int out_finish(int rc);
/* In a child forked without exec: what the parent had buffered is the
 * parent's to write, and the child starts as a new process would (not in
 * streaming mode, which a forking parent never is). */
void out_forget(void);

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
