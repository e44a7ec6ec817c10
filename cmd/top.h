/* top.h - what the pieces of `ami top` share: the session and the event
 * loop (top.c), the rows and columns of the views (top_rows.c), the
 * snapshot as text or JSON (top_out.c), the call actions (top_act.c) and
 * the terminal panel (top_ui.c, the only file that includes curses.h). */
#ifndef AMI_TOP_H
#define AMI_TOP_H

#include <stdint.h>

#include "cmds.h"
#include "state.h"

enum top_view { VIEW_CALLS, VIEW_CHANNELS, VIEW_CONFS, VIEW_QUEUES, VIEW_EXTENSIONS, VIEW_COUNT };
extern const char *const top_view_words[];      /* "calls", ..., NULL */
extern const char *const top_sort_words[];      /* "age", "name", "state", NULL */

/* What a row shows; its JSON "Type" is row_type_names[type]. */
enum row_type {
	ROW_CALL, ROW_CHANNEL, ROW_CONF, ROW_CONF_MEMBER, ROW_QUEUE, ROW_QUEUE_CALLER,
	ROW_QUEUE_MEMBER, ROW_EXTENSION, ROW_DEVICE, ROW_TYPE_COUNT
};
extern const char *const row_type_names[ROW_TYPE_COUNT];

struct row {
	enum row_type type;
	const void *e;              /* pbx_call, pbx_channel, pbx_conf, pbx_queue, pbx_member,
				     * pbx_extension or pbx_device */
	const void *parent;         /* the conference or queue of a member or caller row */
};

struct rows {
	struct row *v;
	size_t n, cap;
	const void **sorted;        /* pbx_sorted's output */
	size_t sorted_cap;
};

/* The colour a row is drawn in: what its state means to an operator. */
enum tone { TONE_PLAIN, TONE_RINGING, TONE_UP, TONE_HOLD, TONE_BAD, TONE_QUIET, TONE_GROUP };

#define TOP_COLS 6
#define CELL_MAX 320

struct column {
	const char *title;
	int min, max;               /* display widths; max 0: the rest of the line */
	int right;                  /* right-aligned (durations) */
};

struct cells {
	char s[TOP_COLS][CELL_MAX]; /* valid UTF-8, no control characters */
	enum tone tone;
};

struct top_ui;

struct top {
	struct ctx *ctx;
	struct profile prof;
	int have_prof;
	struct ami *a;              /* NULL while the connection is down */
	struct pbx *pbx;
	/* what to show */
	enum top_view view;
	enum pbx_sort sort;
	int descending;
	char filter[128];
	int once, json, color;
	int watch_ms;               /* --watch, 0: none */
	unsigned lists;             /* the lists a sync asks for (PBX_LISTS_ALL live) */
	const char *mask;           /* the Login's event classes */
	/* what the header shows */
	char version[64];           /* "22.10.1", "" unknown */
	long uptime_s;              /* the server's uptime at uptime_at (wall ms); -1 unknown */
	int64_t uptime_at;
	struct pbx_rate events;      /* events a second (not the lists' items) */
	/* the connection */
	char cause[200];            /* why it was lost */
	int64_t lost_at;            /* wall ms, 0 while connected */
	int64_t retry_at;           /* now_ms() of the next attempt */
	unsigned tries;
	unsigned rng;
	int64_t next_fetch;         /* HTTP: now_ms() of the next WaitEvent */
	int more;                   /* events may wait in our buffers: read on */
	int quit, quit_rc;
	unsigned snapshots;         /* --watch: printed so far */
	int sigpipe[2];             /* signals wake the loop through it */
	struct rows rows;
	/* the panel's spy (ChanSpy) settings */
	char spy_from[PBX_MAX_STR + 1];     /* the operator's own channel, "" not known */
	int whisper, barge;
	char spy_id[64];            /* ActionID of the last ChanSpy Originate */
	struct top_ui *ui;          /* non-NULL while the panel owns the terminal */
};

/* top.c */
int64_t top_wall_ms(void);
const char *top_profile_name(const struct top *t);
/* A message for the operator: the panel's status line, else stderr.
 * level: 0 information, 1 success, 2 error. */
void top_note(struct top *t, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Asks the lists again now (the R key). */
void top_resync(struct top *t);
/* Sends act and waits for its response; RC_OK, RC_ACTION (reply has the
 * Message) or a connection error, which the loop then handles. */
int top_action(struct top *t, struct ami_msg *act, struct ami_msg *reply);

/* top_rows.c */
/* The call view, with no callee when the call is one of many in a
 * conference or a bridge of more than two: the model's pick would be any
 * one of the others. */
void top_call_view(const struct pbx_call *call, struct pbx_call_view *v);
struct queue_counts {
	int members, available, paused;
	int64_t oldest;             /* join time of the caller waiting longest, 0 none */
};
void top_queue_count(const struct pbx_queue *q, struct queue_counts *k);
/* The rows of t->view, sorted and filtered, into t->rows. */
void top_build_rows(struct top *t);
const struct column *top_columns(enum top_view v, size_t *n);
void top_cells(const struct top *t, const struct row *r, int64_t now, struct cells *c);
/* The key that finds the same row again after a rebuild. */
void top_row_key(const struct row *r, char *out, size_t len);
/* "1:02:03", "02:03", "3d04h": a duration in seconds for a narrow column. */
void top_duration(int64_t secs, char *out, size_t len);
/* Display columns of UTF-8 s; how many bytes of it fit in width columns. */
int top_text_width(const char *s);
size_t top_fit(const char *s, int width, int *used);
/* Server text that does not come through the model (a Message, the
 * version, an error) as the panel shows it: as term_safe escapes it, a TAB
 * as a space, cut at a character into out (len > 0 bytes). */
void top_safe_copy(char *out, size_t len, const char *s);
/* The lists a view cannot do without (PBX_LIST_* bits). */
unsigned top_view_needs(enum top_view v);
/* What a list refusal means: "no conferences: ConfbridgeListRooms:
 * Permission denied (manager.conf: write = reporting)"; "" when each of
 * lists that was asked for was answered. failed: also lists that failed
 * another way (a module not loaded). */
void top_missing(const struct top *t, unsigned lists, int failed, char *out, size_t len);

/* top_out.c */
/* The rows of the view now, as text or JSON; stamp (or NULL) is the time
 * --watch puts before each snapshot. */
int top_print_snapshot(struct top *t, const char *stamp);
void top_iso_now(char *out, size_t len);

/* top_act.c */
void top_hangup(struct top *t, const struct row *r);
/* dest is "exten[@context]"; both: a bridged two-party call moves whole. */
void top_transfer(struct top *t, const struct row *r, const char *dest, int both);
/* The channels top_transfer would move, "A and B"; returns how many. */
size_t top_transfer_describe(const struct row *r, int both, char *out, size_t len);
/* What h or t would act on, for the confirmation prompt; returns how many
 * channels (0: nothing to act on there). */
size_t top_row_describe(const struct row *r, char *out, size_t len);
void top_spy(struct top *t, const struct row *r);
const char *top_spy_target(const struct row *r);    /* the channel b listens to */
int top_spy_remember(struct top *t, const char *channel);
void top_spy_load(struct top *t);
/* An OriginateResponse to our ChanSpy Originate: its outcome in the status. */
void top_spy_event(struct top *t, const struct ami_msg *ev);
/* Checks a prompt's text before it may reach the wire; NULL when fine. */
const char *top_bad_input(const char *s);

/* top_ui.c */
int top_ui_start(struct top *t);
/* Restores the terminal; safe to call more than once. */
void top_ui_stop(struct top *t);
int top_ui_fd(const struct top *t);                 /* keys */
int top_ui_log_fd(const struct top *t);             /* captured stderr, or -1 */
void top_ui_keys(struct top *t);
void top_ui_log(struct top *t);
void top_ui_resize(struct top *t);
void top_ui_status(struct top *t, int level, const char *text);
/* Draws when something changed, at most every 100 ms; returns ms until it
 * wants to draw again (-1: only when something changes). */
int top_ui_draw(struct top *t, int64_t now);

#endif
