/* top_ui.c - the terminal side of `ami top` (with top_draw.c, the only
 * files that use curses): taking the terminal and giving it back as it was
 * on every way out (q; a signal, which top.c turns into a clean return; a
 * crash, whose handler below restores the saved terminal modes before
 * dying), stderr while the screen is ours, the keys and the prompts. */
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "top_ui.h"

/* ---------- restoring the terminal when we crash ---------- */

static struct termios crash_termios;
static int crash_tty = -1;
static char crash_seq[256];     /* leave the alternate screen, show the cursor */
static size_t crash_len;
static const int fatal_signals[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT };
static struct sigaction fatal_saved[ARRAY_LEN(fatal_signals)];

static void on_fatal(int sig)
{
	if (crash_tty >= 0) {
		tcsetattr(crash_tty, TCSANOW, &crash_termios);
		if (write(STDOUT_FILENO, crash_seq, crash_len) < 0) {
			/* nothing more can be done */
		}
	}
	for (size_t i = 0; i < ARRAY_LEN(fatal_signals); i++)
		if (fatal_signals[i] == sig)
			sigaction(sig, &fatal_saved[i], NULL);
	raise(sig);     /* delivered when this handler returns, to the old one */
}

static void crash_seq_add(const char *cap)
{
	char *s = tigetstr(cap);
	size_t n;

	if (!s || s == (char *)-1 || (n = strlen(s)) >= sizeof crash_seq - crash_len)
		return;
	memcpy(crash_seq + crash_len, s, n);
	crash_len += n;
}

static void crash_guard(int tty)
{
	struct sigaction sa;

	crash_tty = tty;
	crash_len = 0;
	crash_seq_add("sgr0");
	crash_seq_add("cnorm");
	crash_seq_add("rmkx");
	crash_seq_add("rmcup");
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_fatal;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < ARRAY_LEN(fatal_signals); i++)
		sigaction(fatal_signals[i], &sa, &fatal_saved[i]);
}

static void crash_unguard(void)
{
	if (crash_tty < 0)
		return;
	for (size_t i = 0; i < ARRAY_LEN(fatal_signals); i++)
		sigaction(fatal_signals[i], &fatal_saved[i], NULL);
	crash_tty = -1;
}

/* ---------- stderr while the screen is ours ---------- */

/* Messages written to stderr (ami's own, at a reconnection) would scribble
 * over the screen: while it is ours they go to a pipe and into the status
 * line. Both ends are non-blocking: a flood is dropped, never waited for. */
static void capture_stderr(struct top_ui *u)
{
	int p[2];

	u->log_r = u->saved_stderr = -1;
	if (!isatty(STDERR_FILENO) || pipe(p) != 0)
		return;
	u->saved_stderr = dup(STDERR_FILENO);
	if (u->saved_stderr < 0 || dup2(p[1], STDERR_FILENO) < 0) {
		close(p[0]);
		close(p[1]);
		if (u->saved_stderr >= 0)
			close(u->saved_stderr);
		u->saved_stderr = -1;
		return;
	}
	close(p[1]);
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	fcntl(p[0], F_SETFD, FD_CLOEXEC);
	fcntl(STDERR_FILENO, F_SETFL, O_NONBLOCK);
	fcntl(u->saved_stderr, F_SETFD, FD_CLOEXEC);
	u->log_r = p[0];
}

/* Gives stderr back, with what is still in the pipe. */
static void release_stderr(struct top_ui *u)
{
	char buf[4096];
	ssize_t n;

	if (u->saved_stderr < 0)
		return;
	fflush(stderr);
	dup2(u->saved_stderr, STDERR_FILENO);
	close(u->saved_stderr);
	if (u->loglen && write(STDERR_FILENO, u->logbuf, u->loglen) < 0)
		u->loglen = 0;
	while ((n = read(u->log_r, buf, sizeof buf)) > 0)
		if (write(STDERR_FILENO, buf, (size_t)n) < 0)
			break;
	close(u->log_r);
	u->log_r = u->saved_stderr = -1;
}

int top_ui_log_fd(const struct top *t)
{
	return t->ui->log_r;
}

/* Each captured line becomes the status, without our "ami top: " prefix. */
void top_ui_log(struct top *t)
{
	struct top_ui *u = t->ui;
	ssize_t n;
	char *nl;
	const char *prefix = log_progname();

	while ((n = read(u->log_r, u->logbuf + u->loglen, sizeof u->logbuf - 1 - u->loglen)) > 0) {
		u->loglen += (size_t)n;
		u->logbuf[u->loglen] = '\0';
		while ((nl = strchr(u->logbuf, '\n')) || u->loglen == sizeof u->logbuf - 1) {
			char *line = u->logbuf;
			size_t len = nl ? (size_t)(nl - line) : u->loglen;
			line[len] = '\0';
			if (!strncmp(line, prefix, strlen(prefix)) && !strncmp(line + strlen(prefix), ": ", 2))
				line += strlen(prefix) + 2;
			top_ui_status(t, verbosity > 0 ? 0 : 2, line);
			len = nl ? len + 1 : u->loglen;
			memmove(u->logbuf, u->logbuf + len, u->loglen - len);
			u->loglen -= len;
			u->logbuf[u->loglen] = '\0';
		}
	}
}

/* ---------- start and stop ---------- */

static void colours(const struct top *t)
{
	if (!t->color || !has_colors())
		return;
	start_color();
	use_default_colors();
	init_pair(PAIR_RINGING, COLOR_YELLOW, -1);
	init_pair(PAIR_UP, COLOR_GREEN, -1);
	init_pair(PAIR_HOLD, COLOR_CYAN, -1);
	init_pair(PAIR_BAD, COLOR_RED, -1);
	init_pair(PAIR_OK, COLOR_GREEN, -1);
	init_pair(PAIR_TITLE, COLOR_BLACK, COLOR_CYAN);
}

/* The keys come from stdin, or from /dev/tty when stdin is taken (a
 * secret piped in with --secret-stdin). */
static int open_keys(struct top_ui *u)
{
	int fd;

	if (isatty(STDIN_FILENO)) {
		u->keys = stdin;
		return RC_OK;
	}
	if ((fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY)) < 0 || !(u->keys = fdopen(fd, "r"))) {
		log_error("no terminal to read keys from (use --once for a snapshot):");
		if (fd >= 0)
			close(fd);
		return RC_USAGE;
	}
	u->own_keys = 1;
	return RC_OK;
}

int top_ui_start(struct top *t)
{
	struct top_ui *u = xcalloc(1, sizeof *u);
	int rc;

	if ((rc = open_keys(u)) != RC_OK) {
		free(u);
		return rc;
	}
	setlocale(LC_CTYPE, "");        /* UTF-8 names: ncursesw draws them by the locale */
	tcgetattr(fileno(u->keys), &crash_termios);
	if (!(u->screen = newterm(NULL, stdout, u->keys))) {
		log_error("cannot use the terminal \"%s\" (TERM); use --once",
			  getenv("TERM") ? getenv("TERM") : "");
		if (u->own_keys)
			fclose(u->keys);
		free(u);
		return RC_IO;
	}
	t->ui = u;
	crash_guard(fileno(u->keys));
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	set_escdelay(ESC_DELAY_MS);
	curs_set(0);
	colours(t);
	capture_stderr(u);
	u->dirty = 1;
	u->started = now_ms();
	u->first = 0;
	top_spy_load(t);
	return RC_OK;
}

void top_ui_stop(struct top *t)
{
	struct top_ui *u = t->ui;
	int64_t ms;

	if (!u)
		return;
	curs_set(1);
	endwin();
	delscreen(u->screen);
	crash_unguard();
	release_stderr(u);
	if (u->own_keys)
		fclose(u->keys);
	ms = now_ms() - u->started;
	log_info("%lu redraws in %.1f s (%.1f a second); %llu messages read", u->draws, ms / 1000.0,
		 ms > 0 ? u->draws * 1000.0 / (double)ms : 0.0,
		 (unsigned long long)pbx_stats(t->pbx)->messages);
	free(u);
	t->ui = NULL;
}

int top_ui_fd(const struct top *t)
{
	return fileno(t->ui->keys);
}

void top_ui_resize(struct top *t)
{
	struct winsize ws;

	if (ioctl(fileno(t->ui->keys), TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0)
		resizeterm(ws.ws_row, ws.ws_col);
	memset(t->ui->colw, 0, sizeof t->ui->colw);
	clearok(curscr, TRUE);
	t->ui->dirty = 1;
}

void top_ui_status(struct top *t, int level, const char *text)
{
	struct top_ui *u = t->ui;

	top_safe_copy(u->status, sizeof u->status, text);     /* a Message from the server */
	u->status_level = level;
	u->status_at = now_ms();
	u->dirty = 1;
}

/* ---------- keys ---------- */

/* The selected row as the model is now (the rows are rebuilt first: the
 * entities of an older build may be gone). */
static const struct row *selected(struct top *t)
{
	top_build_rows(t);
	top_keep_selection(t);
	return t->rows.n ? &t->rows.v[t->ui->sel] : NULL;
}

static void move_selection(struct top *t, long delta)
{
	struct top_ui *u = t->ui;
	long n = (long)t->rows.n, s = (long)u->sel + delta;

	top_build_rows(t);
	top_keep_selection(t);
	n = (long)t->rows.n;
	s = (long)u->sel + delta;
	if (s >= n)
		s = n - 1;
	if (s < 0)
		s = 0;
	u->sel = (size_t)s;
	if (n)
		top_row_key(&t->rows.v[u->sel], u->sel_key, sizeof u->sel_key);
}

static void switch_view(struct top *t, int v)
{
	struct top_ui *u = t->ui;

	t->view = (enum top_view)((v + VIEW_COUNT) % VIEW_COUNT);
	u->sel = u->first = 0;
	u->sel_key[0] = '\0';
	memset(u->colw[t->view], 0, sizeof u->colw[t->view]);
}

static void ask(struct top *t, enum mode mode, enum prompt p, const char *initial,
		const char *question)
{
	struct top_ui *u = t->ui;
	const struct row *r = selected(t);

	u->mode = mode;
	u->prompt = p;
	snprintf(u->question, sizeof u->question, "%s", question);
	snprintf(u->input, sizeof u->input, "%s", initial);
	if (r)
		top_row_key(r, u->target, sizeof u->target);
}

/* The row a prompt was about, if it is still there. */
static const struct row *target_row(struct top *t)
{
	char key[300];

	top_build_rows(t);
	for (size_t i = 0; i < t->rows.n; i++) {
		top_row_key(&t->rows.v[i], key, sizeof key);
		if (!strcmp(key, t->ui->target))
			return &t->rows.v[i];
	}
	top_note(t, 2, "it is gone: nothing done");
	return NULL;
}

static void start_hangup(struct top *t)
{
	const struct row *r = selected(t);
	char what[300], q[400];

	if (!r || !top_row_describe(r, what, sizeof what)) {
		top_note(t, 2, "nothing to hang up here: select a call or a channel");
		return;
	}
	snprintf(q, sizeof q, "Hang up %s? (y/n) ", what);
	ask(t, M_CONFIRM, P_TRANSFER, "", q);
}

static void start_transfer(struct top *t, int both)
{
	const struct row *r = selected(t);
	char what[300], q[400];

	if (!r || !top_transfer_describe(r, both, what, sizeof what)) {
		top_note(t, 2, "nothing to transfer here: select a call or a channel");
		return;
	}
	snprintf(q, sizeof q, "Transfer %s to exten[@context]: ", what);
	ask(t, M_PROMPT, both ? P_TRANSFER : P_TRANSFER_CALLER, "", q);
}

static void start_spy(struct top *t)
{
	const struct row *r = selected(t);
	char what[300], q[400];

	if (!r || !top_row_describe(r, what, sizeof what)) {
		top_note(t, 2, "nothing to listen to here: select a call or a channel");
		return;
	}
	snprintf(q, sizeof q, "%s %s from your phone: ",
		 t->barge ? "Barge into" : t->whisper ? "Whisper to" : "Listen to", top_spy_target(r));
	ask(t, M_PROMPT, P_SPY, t->spy_from, q);
}

static void submit(struct top *t)
{
	struct top_ui *u = t->ui;
	const struct row *r;
	const char *bad = top_bad_input(u->input);

	u->mode = M_NORMAL;
	if (u->prompt == P_FILTER)
		return;
	if (bad) {
		top_note(t, 2, "the input contains %s; nothing sent", bad);
		return;
	}
	if (!u->input[0]) {
		top_note(t, 0, "cancelled");
		return;
	}
	if (!(r = target_row(t)))
		return;
	if (u->prompt == P_SPY) {
		if (top_spy_remember(t, u->input) == 0)
			top_spy(t, r);
	} else {
		top_transfer(t, r, u->input, u->prompt == P_TRANSFER);
	}
}

static void prompt_key(struct top *t, int ch)
{
	struct top_ui *u = t->ui;
	size_t n = strlen(u->input);

	if (ch == '\n' || ch == '\r' || ch == KEY_ENTER) {
		submit(t);
	} else if (ch == 27 || ch == 7) {           /* Esc, Ctrl-G */
		if (u->prompt == P_FILTER)
			snprintf(t->filter, sizeof t->filter, "%s", u->old_filter);
		u->mode = M_NORMAL;
		top_note(t, 0, "cancelled");
	} else if (ch == KEY_BACKSPACE || ch == 127 || ch == 8) {
		while (n > 0 && ((unsigned char)u->input[--n] & 0xc0) == 0x80)
			;       /* a whole UTF-8 character */
		u->input[n] = '\0';
	} else if (ch == 21) {                      /* Ctrl-U */
		u->input[0] = '\0';
	} else if (ch >= 0x20 && ch <= 0xff && ch != 0x7f && n + 1 < sizeof u->input) {
		u->input[n] = (char)ch;         /* no control character gets in */
		u->input[n + 1] = '\0';
	}
	if (u->mode == M_PROMPT && u->prompt == P_FILTER)
		snprintf(t->filter, sizeof t->filter, "%s", u->input);   /* filters as you type */
}

static void confirm_key(struct top *t, int ch)
{
	const struct row *r;

	t->ui->mode = M_NORMAL;
	if (ch != 'y' && ch != 'Y') {
		top_note(t, 0, "cancelled: nothing hung up");
		return;
	}
	if ((r = target_row(t)))
		top_hangup(t, r);
}

static void toggle(struct top *t, int *flag, const char *on, const char *off)
{
	*flag = !*flag;
	top_note(t, 0, "%s", *flag ? on : off);
}

static void normal_key(struct top *t, int ch)
{
	struct top_ui *u = t->ui;
	int page = LINES > 8 ? LINES - 6 : 1;

	switch (ch) {
	case 'q': case 'Q': case KEY_F(10): t->quit = 1; t->quit_rc = RC_OK; break;
	case '\t': switch_view(t, (int)t->view + 1); break;
	case KEY_BTAB: switch_view(t, (int)t->view - 1); break;
	case '1': case '2': case '3': case '4': case '5': switch_view(t, ch - '1'); break;
	case KEY_UP: case 'k': move_selection(t, -1); break;
	case KEY_DOWN: case 'j': move_selection(t, 1); break;
	case KEY_PPAGE: move_selection(t, -page); break;
	case KEY_NPAGE: case ' ': move_selection(t, page); break;
	case KEY_HOME: case 'g': move_selection(t, -(long)t->rows.n - 1); break;
	case KEY_END: case 'G': move_selection(t, (long)t->rows.n + 1); break;
	case 'h': start_hangup(t); break;
	case 't': start_transfer(t, 1); break;
	case 'T': start_transfer(t, 0); break;
	case 'b': start_spy(t); break;
	case 'w':
		toggle(t, &t->whisper, "whisper on: b lets you talk to the selected party",
		       "whisper off: b listens only");
		break;
	case 'B':
		toggle(t, &t->barge, "barge on: b lets you talk to both parties", "barge off");
		break;
	case '/':
		snprintf(u->old_filter, sizeof u->old_filter, "%s", t->filter);
		ask(t, M_PROMPT, P_FILTER, t->filter, "Filter: ");
		break;
	case 's': t->sort = (enum pbx_sort)((t->sort + 1) % 3); break;
	case 'r': t->descending = !t->descending; break;
	case 'R': top_resync(t); break;
	case '?': case KEY_F(1): u->mode = M_HELP; break;
	case 12: clearok(curscr, TRUE); break;      /* Ctrl-L */
	default: return;
	}
}

void top_ui_keys(struct top *t)
{
	struct top_ui *u = t->ui;
	int ch;

	while (!t->quit && (ch = getch()) != ERR) {
		u->dirty = 1;
		switch (u->mode) {
		case M_HELP: u->mode = M_NORMAL; break;
		case M_CONFIRM: confirm_key(t, ch); break;
		case M_PROMPT: prompt_key(t, ch); break;
		default: normal_key(t, ch); break;
		}
	}
}
