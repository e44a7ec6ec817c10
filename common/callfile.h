/* callfile.h - Asterisk call files (pbx_spool): build one, check one, and
 * parse the times that schedule one. Nothing here touches a file or a
 * socket, so the checker can be unit-tested and fuzzed on raw bytes.
 *
 * The rules follow Asterisk's spool reader (pbx/pbx_spool.c apply_outgoing):
 * "Key: value" split at the first ':', keys case-insensitive, blanks after
 * the ':' and at the end of the line dropped, '#' starts a comment at the
 * start of a line or after a blank, ';' starts one unless written "\;",
 * and lines of CALLFILE_LINE_MAX bytes or more are skipped. */
#ifndef AMI_CALLFILE_H
#define AMI_CALLFILE_H

#include <stddef.h>
#include <time.h>

/* A line this long (its newline included) is skipped by Asterisk. */
#define CALLFILE_LINE_MAX 1024

/* What `ami callfile` writes. NULL strings and -1 numbers are left out. */
struct callfile {
	const char *channel;            /* Tech/Dest */
	const char *callerid, *account, *codecs;
	const char *app, *data;         /* either app (+data) ... */
	const char *context, *exten;    /* ... or context + exten (+priority) */
	long priority;                  /* -1: not given (written as 1) */
	long wait_time, max_retries, retry_time;
	int archive, early_media;       /* 1: write "yes" */
	int always_delete;              /* -1 not given, 0 no, 1 yes */
	const char *const *vars;        /* "NAME=VALUE", written as Setvar lines */
	size_t nvars;
};

void callfile_init(struct callfile *cf);

/* Where a new call goes, as the command line gives it: an application
 * (--app, --data) or a dialplan place (--context, --exten, --priority),
 * exactly one. The rule of Originate and of call files alike; redirect
 * uses it for its place (no_app). */
struct call_target {
	const char *app, *data, *context, *exten;
	int has_priority;
	int no_app;                     /* only a dialplan place is possible */
};
/* What is wrong with it, worded for the command line; NULL when nothing. */
const char *call_target_problem(const struct call_target *t);

/* Checks every field and renders the file. Returns a malloc'd text and its
 * length, or NULL with the reason in err (a usage error for the caller). */
char *callfile_build(const struct callfile *cf, size_t *len, char *err, size_t errsz);

enum cf_severity { CF_WARNING, CF_ERROR };

struct cf_problem {
	unsigned line;                  /* 1-based; 0 = the file as a whole */
	enum cf_severity sev;           /* error: Asterisk will not place the call */
	char *msg;
};

/* What Asterisk would take from the file (the last line wins, as there). */
struct cf_summary {
	char *tech, *dest;              /* NULL unless a valid Channel line */
	char *app, *data, *context, *exten;
	int priority, max_retries, retry_time, wait_time;
	int archive, always_delete, early_media;
	int retries;                    /* attempts Asterisk has recorded */
	char *status;                   /* "Status:" of an archived file, or NULL */
};

struct cf_report {
	struct cf_summary s;
	struct cf_problem *p;
	size_t n, cap;
	unsigned errors;                /* problems of CF_ERROR severity */
};

/* Reads buf the way Asterisk's spool reader does and lists every problem.
 * buf need not be NUL-terminated and may hold any bytes. */
void callfile_check(const char *buf, size_t len, struct cf_report *r);
void cf_report_free(struct cf_report *r);

/* "Playback(wakeup)" or "100@default:1"; NULL when the file has no target. */
char *cf_target(const struct cf_summary *s);

/* --at: "YYYY-MM-DD HH:MM[:SS]" or ISO 8601 "YYYY-MM-DDTHH:MM[:SS][Z|+HH[:MM]]"
 * (local time unless an offset is given), or "@EPOCH". 0 ok, -1 with err. */
int cf_parse_at(const char *s, time_t *out, char *err, size_t errsz);
/* --in: "90s", "15m", "2h", "1d", "1w", combinations ("1h30m"), or plain
 * seconds. 0 ok, -1 bad. */
int cf_parse_duration(const char *s, long *secs);

#endif
