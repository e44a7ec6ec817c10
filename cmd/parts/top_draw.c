/* top_draw.c - the panel's screen, drawn whole at most every 100 ms (and
 * each second for the durations; ncurses sends only what changed). Top to
 * bottom: the header (host, version, uptime, calls, event rate, clock),
 * the views as tabs with the sort and filter, a notice line when something
 * is missing (a refused list, a lost connection), the column titles, the
 * rows, and the status line (the last action's result, a prompt, or the
 * keys). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "top_ui.h"

/* ---------- drawing ---------- */

static attr_t tone_attr(const struct top *t, enum tone tone)
{
	int c = t->color && has_colors();

	switch (tone) {
	case TONE_RINGING: return c ? COLOR_PAIR(PAIR_RINGING) | A_BOLD : A_BOLD;
	case TONE_UP: return c ? COLOR_PAIR(PAIR_UP) : A_NORMAL;
	case TONE_HOLD: return c ? COLOR_PAIR(PAIR_HOLD) : A_DIM;
	case TONE_BAD: return c ? COLOR_PAIR(PAIR_BAD) : A_DIM;
	case TONE_QUIET: return A_DIM;
	case TONE_GROUP: return A_BOLD;
	default: return A_NORMAL;
	}
}

/* Writes s at (y, x), at most width columns; returns the columns used. */
static int put(int y, int x, const char *s, int width)
{
	int used;
	size_t n;

	if (width <= 0 || x >= COLS)
		return 0;
	n = top_fit(s, width, &used);
	mvaddnstr(y, x, s, (int)n);
	return used;
}

/* A line: left text, right text at the right edge when both fit. */
static void line2(int y, attr_t attr, const char *left, const char *right)
{
	int rw = top_text_width(right), lw;

	attrset(attr);
	move(y, 0);
	clrtoeol();
	if (attr & A_REVERSE)
		mvhline(y, 0, ' ', COLS);
	lw = put(y, 0, left, COLS);
	if (lw + 2 + rw <= COLS)
		put(y, COLS - rw, right, rw);
	attrset(A_NORMAL);
}

static void uptime_text(const struct top *t, int64_t now, char *out, size_t len)
{
	char d[32];

	if (t->uptime_s < 0) {
		*out = '\0';
		return;
	}
	top_duration(t->uptime_s + (now - t->uptime_at) / 1000, d, sizeof d);
	snprintf(out, len, "  up %s", d);
}

static void draw_header(struct top *t, int64_t now)
{
	char left[400], right[64], up[48];
	time_t sec = (time_t)(now / 1000);
	struct tm tm;

	uptime_text(t, now, up, sizeof up);
	snprintf(left, sizeof left, "ami top  %s  Asterisk %s%s  calls %zu  %.0f ev/s",
		 t->a ? ami_host_label(t->a) : "(disconnected)", *t->version ? t->version : "?", up,
		 pbx_count(t->pbx, PBX_KIND_CALL), pbx_rate_get(&t->events, now));
	localtime_r(&sec, &tm);
	strftime(right, sizeof right, "%H:%M:%S", &tm);
	line2(0, A_BOLD, left, right);
}

static size_t view_count(const struct top *t, enum top_view v)
{
	switch (v) {
	case VIEW_CALLS: return pbx_count(t->pbx, PBX_KIND_CALL);
	case VIEW_CHANNELS: return pbx_count(t->pbx, PBX_KIND_CHANNEL);
	case VIEW_CONFS: return pbx_count(t->pbx, PBX_KIND_CONF);
	case VIEW_QUEUES: return pbx_count(t->pbx, PBX_KIND_QUEUE);
	default: return pbx_count(t->pbx, PBX_KIND_EXTENSION) + pbx_count(t->pbx, PBX_KIND_DEVICE);
	}
}

static void draw_tabs(struct top *t)
{
	char right[300], tab[64];
	int x = 0;

	move(1, 0);
	clrtoeol();
	for (int v = 0; v < VIEW_COUNT; v++) {
		snprintf(tab, sizeof tab, " %d %s %zu ", v + 1, top_view_words[v],
			 view_count(t, (enum top_view)v));
		attrset(v == (int)t->view ? A_REVERSE | A_BOLD : A_NORMAL);
		x += put(1, x, tab, COLS - x);
		attrset(A_NORMAL);
		x += put(1, x, " ", COLS - x);
	}
	snprintf(right, sizeof right, "sort %s%s%s%s%s%s", top_sort_words[t->sort],
		 t->descending ? " (reversed)" : "", t->filter[0] ? "  filter " : "", t->filter,
		 t->whisper ? "  whisper" : "", t->barge ? "  barge" : "");
	if (x + 2 + top_text_width(right) <= COLS)
		put(1, COLS - top_text_width(right), right, COLS);
}

/* What is missing, or the lost connection: "" when all is well. */
static void notice(const struct top *t, char *out, size_t len)
{
	if (!t->a) {
		int64_t gone = (top_wall_ms() - t->lost_at) / 1000;
		snprintf(out, len, "connection lost %llds ago: %s; next attempt in %ds",
			 (long long)gone, t->cause, (ms_left(t->retry_at) + 999) / 1000);
		return;
	}
	top_missing(t, t->lists, 0, out, len);
}

/* Column widths for what is on screen now: at least the titles, never
 * shrinking while the view stays (rows would jump). The last column takes
 * what is left; when the line is too narrow the columns give way from the
 * right: each down to its minimum, then hidden (width 0). */
static void widths(struct top *t, const struct column *cols, size_t ncols, const struct cells *cells,
		   size_t nrows, int *w)
{
	int *sticky = t->ui->colw[t->view], total = 2 * (int)(ncols - 1);
	size_t last = ncols - 1;

	for (size_t i = 0; i < ncols; i++) {
		int want = top_text_width(cols[i].title);
		for (size_t r = 0; r < nrows; r++) {
			int cw = top_text_width(cells[r].s[i]);
			if (cw > want)
				want = cw;
		}
		if (cols[i].max && want > cols[i].max)
			want = cols[i].max;
		if (want < cols[i].min)
			want = cols[i].min;
		if (want < sticky[i])
			want = sticky[i];
		sticky[i] = w[i] = want;
		total += want;
	}
	while (total > COLS) {
		int over = total - COLS, give = w[last] - cols[last].min;
		if (give > 0) {
			give = give < over ? give : over;
			w[last] -= give;
			total -= give;
		} else if (last > 0) {
			total -= w[last] + 2;
			w[last--] = 0;
		} else {
			break;
		}
	}
	if (total < COLS)
		w[last] += COLS - total;
}

static void draw_cells(int y, const struct column *cols, size_t ncols, const int *w,
		       char (*s)[CELL_MAX])
{
	int x = 0;

	for (size_t i = 0; i < ncols && x < COLS && w[i] > 0; i++) {
		int tw = top_text_width(s[i]), pad = cols[i].right && tw < w[i] ? w[i] - tw : 0;
		put(y, x + pad, s[i], w[i] - pad);
		x += w[i] + 2;
	}
}

/* The selected row: found again by its key, else at the same place. */
void top_keep_selection(struct top *t)
{
	struct top_ui *u = t->ui;
	char key[300];

	for (size_t i = 0; u->sel_key[0] && i < t->rows.n; i++) {
		top_row_key(&t->rows.v[i], key, sizeof key);
		if (!strcmp(key, u->sel_key)) {
			u->sel = i;
			return;
		}
	}
	if (u->sel >= t->rows.n)
		u->sel = t->rows.n ? t->rows.n - 1 : 0;
	if (t->rows.n)
		top_row_key(&t->rows.v[u->sel], u->sel_key, sizeof u->sel_key);
	else
		u->sel_key[0] = '\0';
}

static void empty_view(struct top *t, int y)
{
	static const char *const nothing[VIEW_COUNT] = {
		"no calls", "no channels", "no conferences", "no queues",
		"no hinted extensions or devices",
	};
	char why[512];

	top_missing(t, top_view_needs(t->view), 1, why, sizeof why);
	attrset(A_DIM);
	put(y, 2, t->filter[0] ? "nothing matches the filter" : nothing[t->view], COLS - 2);
	attrset(A_NORMAL);
	if (*why) {
		attrset(tone_attr(t, TONE_BAD));
		put(y + 1, 2, why, COLS - 2);
		attrset(A_NORMAL);
	}
}

static void draw_rows(struct top *t, int y0, int height, int64_t wall)
{
	struct top_ui *u = t->ui;
	size_t ncols, shown;
	const struct column *cols = top_columns(t->view, &ncols);
	struct cells *cells;
	char titles[TOP_COLS][CELL_MAX];
	int w[TOP_COLS];

	top_keep_selection(t);
	if (u->sel < u->first)
		u->first = u->sel;
	if (height > 0 && u->sel >= u->first + (size_t)height)
		u->first = u->sel - (size_t)height + 1;
	if (u->first + (size_t)height > t->rows.n)
		u->first = t->rows.n > (size_t)height ? t->rows.n - (size_t)height : 0;
	shown = t->rows.n - u->first < (size_t)height ? t->rows.n - u->first : (size_t)height;
	cells = xcalloc(shown ? shown : 1, sizeof *cells);
	for (size_t i = 0; i < shown; i++)
		top_cells(t, &t->rows.v[u->first + i], wall, &cells[i]);
	widths(t, cols, ncols, cells, shown, w);
	for (size_t i = 0; i < ncols; i++)
		snprintf(titles[i], CELL_MAX, "%s", cols[i].title);
	attrset(t->color && has_colors() ? COLOR_PAIR(PAIR_TITLE) : A_REVERSE);
	mvhline(y0 - 1, 0, ' ', COLS);
	draw_cells(y0 - 1, cols, ncols, w, titles);
	attrset(A_NORMAL);
	for (size_t i = 0; i < shown; i++) {
		int y = y0 + (int)i;
		attr_t a = tone_attr(t, cells[i].tone);
		if (u->first + i == u->sel && u->mode != M_HELP)
			a |= A_REVERSE;
		attrset(a);
		mvhline(y, 0, ' ', COLS);
		draw_cells(y, cols, ncols, w, cells[i].s);
		attrset(A_NORMAL);
	}
	free(cells);
	if (!t->rows.n)
		empty_view(t, y0);
}

static const char keys_hint[] =
	"h hang up  t transfer  b listen  / filter  s sort  Tab view  ? help  q quit";

static void draw_status(struct top *t, int y)
{
	struct top_ui *u = t->ui;
	int64_t age = now_ms() - u->status_at;
	char line[800];

	move(y, 0);
	clrtoeol();
	if (u->mode == M_CONFIRM || u->mode == M_PROMPT) {
		const char *from = line;
		int w;
		snprintf(line, sizeof line, "%s%s", u->question, u->input);
		while ((w = top_text_width(from)) > COLS - 1 && *from)
			from += top_fit(from, 1, NULL) ? top_fit(from, 1, NULL) : 1;   /* the end, typed text first */
		attrset(A_BOLD);
		put(y, 0, from, COLS - 1);
		attrset(A_NORMAL);
		move(y, w);
		return;
	}
	if (u->status[0] && age < (u->status_level == 2 ? STATUS_ERR_MS : STATUS_OK_MS)) {
		attr_t a = u->status_level == 2 ? tone_attr(t, TONE_BAD) | A_BOLD
			: u->status_level == 1 && t->color && has_colors() ? COLOR_PAIR(PAIR_OK) : A_NORMAL;
		attrset(a);
		put(y, 0, u->status, COLS);
		attrset(A_NORMAL);
		return;
	}
	attrset(A_DIM);
	put(y, 0, keys_hint, COLS);
	attrset(A_NORMAL);
}

static const char *const help_lines[] = {
	"ami top - keys",
	"",
	"  Tab, Shift-Tab, 1-5   switch views: calls, channels, conferences, queues, extensions",
	"  Up/Down, j/k          select a row; PgUp/PgDn, Home/End (g/G) move further",
	"  h                     hang up the selected call (every channel) or channel; asks y/n",
	"  t                     transfer: Redirect to exten[@context]; a bridged two-party call",
	"                        moves with both parties (ExtraChannel), else the caller moves",
	"  T                     transfer the caller only (Asterisk hangs up the other party)",
	"  b                     listen with ChanSpy: your phone rings, then hears the call",
	"  w, B                  whisper (talk to the selected party), barge (talk to both)",
	"  /                     filter rows by text (Enter keeps it, Esc drops it)",
	"  s, r                  sort by age, name, state; reverse the order",
	"  R                     read every list again",
	"  Ctrl-L                redraw the screen",
	"  q                     quit",
	"",
	"Colours: yellow ringing or waiting, green up or in use, cyan on hold or paused,",
	"red unavailable; the notice line names the lists the AMI user may not read.",
	"",
	"Press any key to go back.",
};

static void draw_help(void)
{
	for (size_t i = 0; i < ARRAY_LEN(help_lines) && (int)i < LINES; i++) {
		move((int)i, 0);
		clrtoeol();
		attrset(i == 0 ? A_BOLD : A_NORMAL);
		put((int)i, 0, help_lines[i], COLS);
	}
	attrset(A_NORMAL);
}

static void draw(struct top *t)
{
	struct top_ui *u = t->ui;
	int64_t wall = top_wall_ms();
	char note[600];
	int y = 2;

	erase();
	if (LINES < 6 || COLS < 20) {
		put(0, 0, "ami top: the terminal is too small", COLS);
		refresh();
		return;
	}
	if (u->mode == M_HELP) {
		draw_help();
		refresh();
		return;
	}
	draw_header(t, wall);
	draw_tabs(t);
	notice(t, note, sizeof note);
	if (*note) {
		attrset(tone_attr(t, TONE_BAD) | A_BOLD);
		put(y++, 0, note, COLS);
		attrset(A_NORMAL);
	}
	top_build_rows(t);
	draw_rows(t, y + 1, LINES - y - 2, wall);
	curs_set(u->mode == M_PROMPT || u->mode == M_CONFIRM);
	draw_status(t, LINES - 1);
	refresh();
}

int top_ui_draw(struct top *t, int64_t now)
{
	struct top_ui *u = t->ui;
	int64_t sec = top_wall_ms() / 1000, since = now - u->drawn_at;
	int wait;

	if (u->dirty || pbx_changes(t->pbx) != u->drawn_changes || sec != u->drawn_sec) {
		if (since < MIN_DRAW_MS && !u->dirty)
			return (int)(MIN_DRAW_MS - since);
		u->drawn_changes = pbx_changes(t->pbx);
		u->drawn_at = now;
		u->drawn_sec = sec;
		u->dirty = 0;
		u->draws++;
		draw(t);
	}
	wait = (int)(1000 - top_wall_ms() % 1000);     /* the next second: durations, clock */
	return wait > 0 ? wait : 1;
}
