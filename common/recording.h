/* recording.h - reading an event recording: what `ami tail-events
 * --timestamp` writes with --format raw (AMI wire blocks, each with a
 * "ReceivedAt:" header) or --format json (NDJSON: one object per event,
 * repeated headers as arrays, "ReceivedAt" among the keys).
 *
 * The format is told by the first byte that is not blank ('{': json). Raw
 * input goes through the AMI parser (common/msg.c), so a recording is
 * framed by the same rules and limits as a live stream; a greeting line
 * ("Asterisk Call Manager/...", as in a capture of a whole session) is
 * read as the banner, and responses are skipped: only events come out.
 *
 * Each event comes as a view (split: its headers are there) without its
 * ReceivedAt header, which is handed out apart as a time. A raw event keeps
 * its wire bytes (the ReceivedAt line taken out), so it can be written
 * back as it was received. Memory is bounded by the largest event, whatever
 * the length of the recording.
 *
 * The reader does no I/O of its own (rec_space/rec_commit/rec_eof, then
 * rec_next), except in the two helpers at the end, which read a file
 * descriptor. Damage (a truncated or corrupt recording) is an error that
 * names its byte offset; every event before it has come out. */
#ifndef AMI_RECORDING_H
#define AMI_RECORDING_H

#include <stddef.h>
#include <stdint.h>

#include "msg.h"

enum rec_format { REC_UNKNOWN, REC_RAW, REC_JSON };

struct rec_event {
	struct ami_view v;          /* the event, split; valid until the next rec_next */
	int64_t at;                 /* ReceivedAt, ms since the epoch; 0: it had none */
	int tz;                     /* ReceivedAt's UTC offset, minutes east */
	const char *at_text;        /* ReceivedAt as written (NUL-terminated), or NULL */
	uint64_t offset;            /* where the event starts in the input */
};

struct rec_reader;

struct rec_reader *rec_new(void);
void rec_free(struct rec_reader *r);

/* A place for up to *room (> 0) more bytes of input; rec_commit says how
 * many were put there. rec_feed copies len bytes in. */
char *rec_space(struct rec_reader *r, size_t *room);
void rec_commit(struct rec_reader *r, size_t len);
void rec_feed(struct rec_reader *r, const char *buf, size_t len);
/* No more input will come. */
void rec_eof(struct rec_reader *r);

/* 1: the next event is in ev; 0: none yet (feed more), or none any more
 * (rec_done); -1: the recording is damaged here (rec_error). */
int rec_next(struct rec_reader *r, struct rec_event *ev);
int rec_done(const struct rec_reader *r);
/* "byte 1234: ..." (without a program name), or "" */
const char *rec_error(const struct rec_reader *r);
enum rec_format rec_format(const struct rec_reader *r);
/* Bytes taken in so far; messages skipped (responses). */
uint64_t rec_bytes(const struct rec_reader *r);
unsigned long rec_skipped(const struct rec_reader *r);

/* Parses an ISO 8601 time with a UTC offset, as ReceivedAt carries it
 * ("2026-12-06T12:56:14.725+00:00"; 'Z', "+hhmm", a blank instead of 'T'
 * and any number of fraction digits are read too). 0, or -1 when s is not
 * such a time. */
int rec_parse_time(const char *s, size_t len, int64_t *ms, int *tz);

/* ---------- reading a file descriptor ---------- */

/* Reads once from fd into r (rec_eof at its end). Bytes read, 0 at the
 * end, -1 on a read error (the reader is failed, unless errno is EINTR:
 * then nothing happened and it may be called again). */
long rec_read(struct rec_reader *r, int fd);
/* rec_next, reading fd whenever more input is needed: 1 an event, 0 the
 * end of the recording, -1 damage or a read error (rec_error; rec_rc tells
 * which), REC_EINTR when a signal interrupted a read. */
#define REC_EINTR (-2)
int rec_next_fd(struct rec_reader *r, int fd, struct rec_event *ev);
/* After -1: RC_PROTOCOL (damage) or RC_IO (read error). */
int rec_rc(const struct rec_reader *r);

#endif
