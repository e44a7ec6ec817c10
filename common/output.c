/* output.c - every byte that goes to stdout goes through here: the sink.
 * What the bytes are (text, raw, json) is format.c's business; it writes
 * through out_write, or formats straight into the buffer between
 * out_reserve and out_commit.
 *
 * We keep our own buffer and write(2) it, instead of stdio, so that a
 * streaming command can decide when to flush: before it waits for more
 * input. A pipe then sees each message as soon as it is complete, while a
 * burst of events still leaves in a few large writes.
 *
 * Streaming mode (out_stream_begin) is for `ami tail-events` writing to a
 * pipe, socket or terminal whose reader may be slower than Asterisk: stdout
 * becomes non-blocking and what it cannot take yet waits in a queue of
 * blocks. A block only ever holds whole records (one record = one event as
 * formatted), so when the queue is over its bound we can drop the oldest
 * blocks that have not started to leave, count the events in them, and put
 * a marker in their place. The message being formatted always sits at the
 * end of the last block, which is what obuf/olen/ocap point at. */
#include "output.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

#define OUT_BUF_SIZE (64 * 1024)
#if defined(__linux__) && !defined(F_SETPIPE_SZ)
#define F_SETPIPE_SZ 1031           /* <fcntl.h> hides it without _GNU_SOURCE */
#endif

static char static_buf[OUT_BUF_SIZE];
static char *obuf = static_buf;     /* where the next bytes go */
static size_t olen, ocap = OUT_BUF_SIZE;
static int broken_pipe, write_failed;

struct block {
	struct block *next;
	char *data;
	size_t len, cap, off;       /* data[off, len) is still to be written */
	unsigned long events;       /* event records in this block */
	unsigned long notes;        /* other records (never dropped) */
	unsigned long marker;       /* a drop marker: the count it reports */
};

static struct {
	int on;
	int saved_flags;            /* stdout's file status flags before, or */
	int saved_fd;               /* ... stdout itself (>= 0) when we reopened it */
	size_t max, target;         /* queue bound; size at which a block is closed */
	size_t block_cap;           /* a new block: target, and room past it for the
				     * biggest usual reserve (a JSON event's) */
	struct block *head, *tail, *spare;
	size_t closed;              /* unwritten bytes in blocks before the tail */
	size_t rec_start;           /* start of the record being formatted (tail) */
	unsigned long dropped;
	size_t peak;                /* most bytes that waited at once */
	out_drop_fn *on_drop;
	void *drop_arg;             /* on_drop's first argument */
} q;

int out_broken_pipe(void) { return broken_pipe; }

void out_forget(void)
{
	olen = 0;
	broken_pipe = write_failed = 0;
}
size_t out_buffered(void) { return q.on ? q.closed + olen - q.tail->off : olen; }
unsigned long out_dropped(void) { return q.dropped; }
size_t out_queue_peak(void) { return q.peak; }
int out_streaming(void) { return q.on; }

/* Remembers why stdout failed: EPIPE ends us quietly, anything else is an
 * error reported once. */
static int write_error(void)
{
	if (errno == EPIPE) {
		broken_pipe = 1;    /* the reader went away: end quietly */
	} else {
		write_failed = 1;
		log_error("write error on standard output:");
	}
	return RC_IO;
}

/* ---------- streaming queue ---------- */

static struct block *block_new(size_t cap)
{
	struct block *b = q.spare;

	if (b && b->cap >= cap) {
		q.spare = NULL;
	} else {
		b = xcalloc(1, sizeof *b);
		b->data = xmalloc(cap);
		b->cap = cap;
	}
	b->next = NULL;
	b->len = b->off = 0;
	b->events = b->notes = b->marker = 0;
	return b;
}

/* Keeps one block for reuse, so a steady stream does not call malloc. */
static void block_free(struct block *b)
{
	if (!q.spare && b->cap <= 2 * q.block_cap) {
		q.spare = b;
		return;
	}
	free(b->data);
	free(b);
}

static void set_target(struct block *b)
{
	obuf = b->data;
	olen = b->len;
	ocap = b->cap;
}

/* Appends a block after the tail and formats into it from now on. */
static void push_tail(struct block *b)
{
	q.tail->len = olen;
	q.closed += q.tail->len - q.tail->off;
	q.tail->next = b;
	q.tail = b;
	q.rec_start = 0;
	set_target(b);
}

static void discard_queue(void)
{
	struct block *b = q.head;

	while (b) {
		struct block *next = b->next;
		if (b != q.tail)
			block_free(b);
		b = next;
	}
	q.head = q.tail;
	q.tail->off = 0;
	q.closed = 0;
	olen = q.rec_start = 0;
	q.tail->events = q.tail->notes = 0;
}

/* Writes what stdout takes without blocking: whole blocks, and the finished
 * records of the last one. */
static int queue_write(void)
{
	while (q.head) {
		struct block *b = q.head;
		int last = b == q.tail;
		size_t end = last ? q.rec_start : b->len;

		while (b->off < end) {
			ssize_t w = write(STDOUT_FILENO, b->data + b->off, end - b->off);
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				return RC_OK;
			if (w < 0) {
				write_error();
				discard_queue();
				return RC_IO;
			}
			b->off += (size_t)w;
			if (!last)
				q.closed -= (size_t)w;
		}
		if (last) {
			if (olen == q.rec_start) {  /* all written: start over */
				olen = q.rec_start = b->off = 0;
				b->events = b->notes = 0;
			}
			return RC_OK;
		}
		q.head = b->next;
		block_free(b);
	}
	return RC_OK;
}

/* Room for n more bytes while streaming: a full block is closed at the last
 * record boundary (the unfinished record moves on to a new block); a block
 * holding a single record, or a drop marker, grows. */
static char *queue_reserve(size_t n)
{
	int at_tail = obuf == q.tail->data;

	if (at_tail && q.rec_start > 0) {
		size_t part = olen - q.rec_start, cap = q.block_cap;
		struct block *b = block_new(cap > part + n ? cap : part + n);
		memcpy(b->data, obuf + q.rec_start, part);
		b->len = part;
		olen = q.rec_start;
		push_tail(b);
		if (queue_write() != RC_OK)
			return NULL;
		if (ocap - olen >= n)
			return obuf + olen;
	}
	size_t cap = ocap * 2 > olen + n ? ocap * 2 : olen + n;
	obuf = xrealloc(obuf, cap);
	ocap = cap;
	if (at_tail) {
		q.tail->data = obuf;
		q.tail->cap = cap;
	}
	return obuf + olen;
}

/* Makes room for n more bytes in the buffer (flushing if needed). */
char *out_reserve(size_t n)
{
	if (broken_pipe || write_failed)
		return NULL;
	if (ocap - olen >= n)
		return obuf + olen;
	if (q.on)
		return queue_reserve(n);
	if (out_flush() != RC_OK || n > ocap)
		return NULL;
	return obuf;
}

void out_commit(const char *end)
{
	olen = (size_t)(end - obuf);
}

static size_t queued_bytes(void)
{
	return q.closed + olen - q.tail->off;
}

/* Formats the drop marker of n events into its own block. */
static struct block *make_marker(unsigned long n)
{
	struct block *b = xcalloc(1, sizeof *b);
	char *save_buf = obuf;
	size_t save_len = olen, save_cap = ocap;

	b->cap = 1024;
	b->data = xmalloc(b->cap);
	b->marker = n;
	set_target(b);
	if (q.on_drop)
		q.on_drop(q.drop_arg, n, q.dropped);
	b->data = obuf;     /* it may have grown */
	b->cap = ocap;
	b->len = olen;
	obuf = save_buf;
	olen = save_len;
	ocap = save_cap;
	return b;
}

/* The queue is over its bound: drops the oldest blocks that have not
 * started to leave (a block half written must be finished, or the reader
 * would get half a record), down to 3/4 of the bound, and puts one marker
 * where they were. An earlier marker met on the way is merged into it. */
static void queue_drop(void)
{
	struct block **pp = &q.head, *b;
	unsigned long events = 0, merged = 0;
	size_t goal = q.max - q.max / 4;

	if (q.head->off > 0 && q.head != q.tail)
		pp = &q.head->next;
	while ((b = *pp) != q.tail && queued_bytes() > goal) {
		if (b->notes) {     /* a reconnect marker: keep it */
			pp = &b->next;
			continue;
		}
		events += b->events;
		merged += b->marker;
		q.closed -= b->len - b->off;
		*pp = b->next;
		if (b->marker) {
			free(b->data);
			free(b);
		} else {
			block_free(b);
		}
	}
	if (events + merged == 0)
		return;
	q.dropped += events;
	b = make_marker(events + merged);
	b->next = *pp;
	*pp = b;
	q.closed += b->len;
}

/* O_NONBLOCK belongs to the open file description, which stdout shares
 * with stderr after 2>&1 and with the shell on a terminal: set there, a
 * warning could fail with EAGAIN, and the shell would find its terminal
 * non-blocking if we died. So on Linux stdout is opened again through
 * /proc (a pipe or a terminal can be) and only that new description is
 * made non-blocking; elsewhere, or for a socket, the flag is set on the
 * shared one and restored at the end. */
static int nonblocking_stdout(void)
{
	int fd = -1, flags;

	q.saved_fd = -1;
#ifdef __linux__
	fd = open("/proc/self/fd/1", O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
#endif
	if (fd >= 0) {
		q.saved_fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
		if (q.saved_fd >= 0 && dup2(fd, STDOUT_FILENO) >= 0) {
			close(fd);
			return 0;
		}
		if (q.saved_fd >= 0)
			close(q.saved_fd);
		close(fd);
		q.saved_fd = -1;
	}
	if ((flags = fcntl(STDOUT_FILENO, F_GETFL)) < 0 ||
	    fcntl(STDOUT_FILENO, F_SETFL, flags | O_NONBLOCK) < 0)
		return -1;
	q.saved_flags = flags;
	return 0;
}

static void restore_stdout(void)
{
	if (q.saved_fd >= 0) {
		dup2(q.saved_fd, STDOUT_FILENO);
		close(q.saved_fd);
		q.saved_fd = -1;
	} else {
		fcntl(STDOUT_FILENO, F_SETFL, q.saved_flags);
	}
}

int out_stream_begin(size_t max_bytes, out_drop_fn *on_drop, void *arg)
{
	struct stat st;

	if (q.on || fstat(STDOUT_FILENO, &st) != 0)
		return q.on;
	/* Files and /dev/null never keep us waiting for long: write directly. */
	if (!S_ISFIFO(st.st_mode) && !S_ISSOCK(st.st_mode) && !isatty(STDOUT_FILENO))
		return 0;
	if (out_flush() != RC_OK || nonblocking_stdout() != 0)
		return 0;
#ifdef F_SETPIPE_SZ
	/* A bigger pipe lets a fast reader take a burst in fewer wake-ups. */
	if (S_ISFIFO(st.st_mode))
		fcntl(STDOUT_FILENO, F_SETPIPE_SZ, 1 << 20);
#endif
	q.max = max_bytes;
	q.target = max_bytes / 8 < OUT_BUF_SIZE ? max_bytes / 8 : OUT_BUF_SIZE;
	if (q.target < 4096)
		q.target = 4096;
	q.on_drop = on_drop;
	q.drop_arg = arg;
	q.block_cap = q.target + (q.target / 4 > OUT_USUAL_RESERVE ? q.target / 4 : OUT_USUAL_RESERVE);
	q.head = q.tail = block_new(q.block_cap);
	q.closed = q.rec_start = 0;
	set_target(q.tail);
	q.on = 1;
	return 1;
}

void out_record_end(int is_event)
{
	if (!q.on)
		return;
	if (is_event)
		q.tail->events++;
	else
		q.tail->notes++;
	q.rec_start = olen;
	if (olen >= q.target) {
		push_tail(block_new(q.block_cap));
		queue_write();
	}
	size_t queued = queued_bytes();
	if (queued > q.peak)
		q.peak = queued;
	if (queued > q.max)
		queue_drop();
}

int out_stream_pending(void)
{
	if (!q.on)
		return olen > 0;
	return q.head != q.tail || q.rec_start > q.tail->off;
}

void out_reader_gone(void)
{
	broken_pipe = 1;
	if (q.on)
		discard_queue();
	olen = 0;
}

/* Waits until stdout can take more; -1 when it made no progress in time. */
static int wait_writable(int timeout_ms)
{
	struct pollfd pfd = { .fd = STDOUT_FILENO, .events = POLLOUT };
	int r = poll(&pfd, 1, timeout_ms);

	return r > 0 || (r < 0 && errno == EINTR) ? 0 : -1;
}

int out_stream_end(int timeout_ms)
{
	int rc = RC_OK;

	if (!q.on)
		return out_flush();
	q.rec_start = olen;     /* whatever was formatted is complete */
	while (!broken_pipe && !write_failed && out_stream_pending()) {
		size_t before = queued_bytes();
		if ((rc = queue_write()) != RC_OK)
			break;
		if (queued_bytes() == before && wait_writable(timeout_ms) < 0) {
			unsigned long lost = 0;
			for (struct block *b = q.head; b; b = b->next)
				lost += b->events;
			q.dropped += lost;
			log_warn("gave up writing %lu queued events: the reader took nothing for %.1f s",
				 lost, timeout_ms / 1000.0);
			rc = RC_TIMEOUT;
			break;
		}
	}
	discard_queue();
	restore_stdout();
	q.on = 0;
	block_free(q.tail);
	if (q.spare) {
		free(q.spare->data);
		free(q.spare);
	}
	q.head = q.tail = q.spare = NULL;
	obuf = static_buf;
	ocap = OUT_BUF_SIZE;
	olen = 0;
	return broken_pipe || write_failed ? RC_IO : rc;
}

/* ---------- plain output ---------- */

int out_flush(void)
{
	if (broken_pipe || write_failed) {
		if (q.on)
			discard_queue();
		olen = 0;
		return RC_IO;
	}
	if (q.on)
		return queue_write();
	if (olen == 0)
		return RC_OK;
	if (full_write(STDOUT_FILENO, obuf, olen) < 0) {
		olen = 0;
		return write_error();
	}
	olen = 0;
	return RC_OK;
}

int out_write(const char *buf, size_t len)
{
	char *o;

	if (broken_pipe || write_failed)
		return RC_IO;
	if (!q.on && len > ocap - olen && len > ocap) {
		/* Larger than the buffer: no point copying it through. */
		if (out_flush() != RC_OK)
			return RC_IO;
		return full_write(STDOUT_FILENO, buf, len) == 0 ? RC_OK : write_error();
	}
	if (!(o = out_reserve(len)))
		return RC_IO;
	memcpy(o, buf, len);
	olen += len;
	return RC_OK;
}

int out_puts(const char *s) { return out_write(s, strlen(s)); }

int out_printf(const char *fmt, ...)
{
	char small[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof small, fmt, ap);
	va_end(ap);
	if (n < 0)
		return RC_IO;
	if ((size_t)n < sizeof small)
		return out_write(small, (size_t)n);
	char *big = xmalloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	int rc = out_write(big, (size_t)n);
	free(big);
	return rc;
}

int out_finish(int rc)
{
	int frc = q.on ? out_stream_end(-1) : out_flush();

	if (frc != RC_OK && rc == RC_OK && !broken_pipe)
		return RC_IO;
	return rc;
}
