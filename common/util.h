/* util.h - exit codes, diagnostics, allocation, number parsing, clocks.
 * Nothing here calls exit(): every fallible function returns an RC_* code. */
#ifndef AMI_UTIL_H
#define AMI_UTIL_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

/* Exit codes: a contract with scripts (see ami(1) EXIT STATUS). */
enum rc {
	RC_OK = 0,          /* success */
	RC_ACTION = 1,      /* Asterisk answered Response: Error, or the check failed */
	RC_USAGE = 2,       /* bad option, bad argument, unknown command */
	RC_CONFIG = 3,      /* config unreadable, invalid or insecure; no secret */
	RC_AUTH = 4,        /* Login rejected */
	RC_CONNECT = 5,     /* resolve, connect, TLS or HTTP failure, connection lost */
	RC_TIMEOUT = 6,     /* a deadline passed */
	RC_PROTOCOL = 7,    /* the server's data is not valid AMI */
	RC_IO = 8,          /* a local write failed */
	RC_INTERRUPTED = 130,
	RC_TERMINATED = 143,
	/* Not an exit code, never returned by a command: nothing to report,
	 * go on (an option was taken, a line ran nothing, a stream goes on). */
	RC_CONTINUE = -1,
	RC_FANOUT = 1001,   /* not an exit code either: the profile names several
	                     * PBXes (cmd/parts/fanout.c runs one ami each) */
};

extern int verbosity;                       /* -1 quiet, 0 normal, 1 -v, 2 -vv */
extern volatile sig_atomic_t interrupted;   /* signal number that asked us to stop, or 0 */

void log_prog(const char *name);            /* prefix for diagnostics, e.g. "ami ping" */
const char *log_progname(void);
/* A format ending in ':' appends ": strerror(errno)". */
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));   /* hidden by -q */
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));   /* -v */
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));  /* -vv */
/* While b is not NULL, log_error and log_warn append their line to b
 * (without the program name, "\n"-terminated) instead of printing it, -q
 * or not: ami doctor reports what the layers it calls found. log_info and
 * log_debug still go to stderr. NULL prints again. */
struct strbuf;
void log_divert(struct strbuf *b);
/* Prints "ami CMD: message" and usage_hint(); returns RC_USAGE. */
int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "Try 'ami CMD --help'" on stderr, after a usage error said what was wrong. */
void usage_hint(void);

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

int parse_seconds(const char *s, int *ms);  /* "2.5" -> 2500; 0 ok, -1 bad */
int parse_uint(const char *s, unsigned long max, unsigned long *out);   /* 0 ok, -1 bad */
int64_t now_ms(void);                       /* CLOCK_MONOTONIC in milliseconds */
struct tm;
/* The UTC offset of tm as ISO 8601 wants it, "+hh:mm" (strftime's %z
 * gives "+hhmm"). */
void utc_offset_iso(const struct tm *tm, char out[8]);
double now_wall(void);                      /* CLOCK_REALTIME in seconds */
int ms_left(int64_t deadline);              /* ms until deadline (>= 0); -1 if deadline < 0 */
/* Waits for time alone, reading and writing nothing: ms milliseconds, or
 * until deadline (-1: none) if that is sooner. A signal that sets
 * `interrupted` ends it early with RC_INTERRUPTED; else RC_OK. */
int sleep_ms(int ms, int64_t deadline);
/* How long to wait before reconnection attempt n (1, 2, ...): 0.5 s doubling
 * up to 30 s, a random wait in [d/2, d] so that the clients of one server
 * that went away do not all come back at once. *rng: the caller's seed. */
int backoff_ms(unsigned attempt, unsigned *rng);
/* Writes all n bytes to fd, through EINTR and short writes (and, for a
 * non-blocking fd, EAGAIN). 0, or -1 with errno set. */
int full_write(int fd, const void *p, size_t n);

/* Zeroes a secret in a way the compiler may not remove, then frees it. */
void secret_free(char *s);
void secret_wipe(void *p, size_t n);

/* Whether needle occurs in hay, ASCII case ignored (strcasestr is a GNU
 * extension). */
int contains_nocase(const char *hay, const char *needle);

/* The words of an enum, in enum order and NULL-terminated, are how its
 * values are written (words[v]) and read: the index of s among them, ASCII
 * case ignored, or -1. */
int word_index(const char *s, const char *const words[]);

/* Names the first CR, LF or NUL in s (NULL when clean): user input must not
 * reach the wire with one, or it could smuggle headers or whole actions. */
const char *bad_char_name(const char *s, size_t len);

/* Makes the missing directories above the file path (mode, e.g. 0700).
 * 0, or -1 with errno set. */
int mkdir_parents(char *path, unsigned mode);
/* $XDG_STATE_HOME/ami/NAME, else ~/.local/state/ami/NAME, its directories
 * made 0700; malloc'd. NULL (after a warning) when there is no such place. */
char *state_file_path(const char *name);

/* A growable byte string, always NUL-terminated (p is NULL while empty). */
struct strbuf {
	char *p;
	size_t len, cap;
};
void strbuf_add(struct strbuf *b, const char *s, size_t n);
void strbuf_adds(struct strbuf *b, const char *s);
/* Zeroes the whole allocation (it may have held a secret) and empties b,
 * keeping the memory for reuse. */
void strbuf_wipe(struct strbuf *b);
/* strbuf_wipe, then frees it. */
void strbuf_free(struct strbuf *b);

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
