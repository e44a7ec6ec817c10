/* top_ui.h - what the two halves of the panel share: the terminal and
 * the keys (top_ui.c), the drawing (top_draw.c). Only they include it. */
#ifndef AMI_TOP_UI_H
#define AMI_TOP_UI_H

#include <curses.h>

#include "top.h"

#define MIN_DRAW_MS 100         /* at most 10 redraws a second */
#define STATUS_OK_MS 6000       /* how long a result stays in the status line */
#define STATUS_ERR_MS 15000
#define ESC_DELAY_MS 25

enum mode { M_NORMAL, M_CONFIRM, M_PROMPT, M_HELP };
enum prompt { P_TRANSFER, P_TRANSFER_CALLER, P_SPY, P_FILTER };

struct top_ui {
	SCREEN *screen;
	FILE *keys;                 /* the terminal the keys come from */
	int own_keys;               /* keys is /dev/tty, opened here */
	int log_r, saved_stderr;    /* stderr, captured while the screen is ours */
	char logbuf[512];
	size_t loglen;
	enum mode mode;
	enum prompt prompt;
	char question[400];         /* the confirmation or the prompt's text */
	char input[256];
	char old_filter[128];       /* restored when a filter prompt is cancelled */
	char target[300];           /* the row a confirmation or prompt is about */
	size_t sel, first;          /* selected row, first row shown */
	char sel_key[300];
	int colw[VIEW_COUNT][TOP_COLS];     /* widths only grow while a view is shown */
	char status[512];
	int status_level;
	int64_t status_at;
	int dirty;
	uint64_t drawn_changes;
	int64_t drawn_at, drawn_sec;
	unsigned long draws;
	int64_t started;
};

enum pair { PAIR_RINGING = 1, PAIR_UP, PAIR_HOLD, PAIR_BAD, PAIR_OK, PAIR_TITLE };

/* Finds the selected row again by its key after a rebuild of the rows,
 * else keeps its place. */
void top_keep_selection(struct top *t);

#endif
