/* top.c - `ami top`: the operator panel. Options, the session, the state
 * model (common/state.c) filled from the list actions and kept current from
 * events, reconnection, and the one poll() loop that serves the panel
 * (top_ui.c) and --watch; --once is a sync and a print (top_rows.c).
 *
 * The loop waits on the AMI socket (over HTTP there is none: a WaitEvent
 * that returns at once every HTTP_EVENTS_MS), the keys, a self-pipe that
 * signals write to, and the next timer: the panel's redraw (at most every
 * 100 ms, and each second for the durations), the next --watch snapshot,
 * the next reconnection attempt. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "top.h"

const char cmd_top_help[] =
	"usage: ami top [--view VIEW] [--once | --watch SECONDS] [--json] [options]\n"
	"\n"
	"The operator panel: who is ringing, who is talking, conferences, queues\n"
	"and extension states, live. On a terminal it fills the screen until q,\n"
	"redrawing as events arrive; the selected call can be hung up (h, asks\n"
	"y/n), transferred (t) or listened to from your own phone (b, ChanSpy).\n"
	"With --once, or when stdout is not a terminal, it prints one snapshot\n"
	"of the view and exits 0; --json prints one object per row per line,\n"
	"with a \"Type\" key (call, channel, conference, conference_member, queue,\n"
	"queue_caller, queue_member, extension, device).\n"
	"The AMI user needs read = call,agent (dialplan for applications, system\n"
	"for the uptime) and write for the lists and actions (reporting, call,\n"
	"originate); a refused list is named in the header and the rest works.\n"
	"Exit 1 when --once cannot read a list the view needs.\n"
	"\n"
	"  --view VIEW             calls (default), channels, conferences, queues\n"
	"                          or extensions\n"
	"  --once                  print one snapshot and exit\n"
	"  --watch SECONDS         print a snapshot every SECONDS until interrupted\n"
	"  --sort age|name|state   order of the rows (default age: oldest first)\n"
	"  --reverse               sort the other way round\n"
	"  --filter TEXT           only rows containing TEXT (case ignored)\n"
	"  --no-color              no colours (also when NO_COLOR is set)\n"
	"  --events-mask CLASSES   event classes to ask for\n"
	"                          (default call,agent,dialplan,system)\n"
	"\n"
	"Keys: Tab, 1-5 views; Up/Down, j/k, PgUp/PgDn select; h hang up;\n"
	"t transfer the call (both parties of a bridged call); T transfer the\n"
	"caller only; b listen (ChanSpy) from your phone; w whisper; B barge;\n"
	"/ filter; s sort; r reverse; R read the lists again; ? help; q quit.\n";

enum {
	OPT_VIEW = OPT_CMD_BASE, OPT_ONCE, OPT_WATCH, OPT_SORT, OPT_REVERSE, OPT_FILTER,
	OPT_NO_COLOR, OPT_EVENTS_MASK,
};

static const struct option longopts[] = {
	COMMON_LONGOPTS,
	{ "view", required_argument, NULL, OPT_VIEW },
	{ "once", no_argument, NULL, OPT_ONCE },
	{ "watch", required_argument, NULL, OPT_WATCH },
	{ "sort", required_argument, NULL, OPT_SORT },
	{ "reverse", no_argument, NULL, OPT_REVERSE },
	{ "filter", required_argument, NULL, OPT_FILTER },
	{ "no-color", no_argument, NULL, OPT_NO_COLOR },
	{ "events-mask", required_argument, NULL, OPT_EVENTS_MASK },
	{ NULL, 0, NULL, 0 },
};

#define DEFAULT_MASK "call,agent,dialplan,system"
#define HTTP_EVENTS_MS 1000     /* over HTTP, how often events are fetched */
#define PUMP_BUDGET_MS 20       /* events read in one go before keys get a turn */
/* The lists a snapshot reads (the panel reads them all): what the view
 * needs, and for calls which of them are in a conference (no harm when
 * ConfBridge is not loaded). */
static unsigned view_lists(enum top_view v)
{
	unsigned confs = 1u << PBX_LIST_CONFS | 1u << PBX_LIST_CONF_MEMBERS;

	return top_view_needs(v) | (v == VIEW_CALLS ? confs : 0);
}

int64_t top_wall_ms(void)
{
	return (int64_t)(now_wall() * 1000.0);
}

void top_note(struct top *t, int level, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (t->ui)
		top_ui_status(t, level, buf);
	else if (level == 2)
		log_warn("%s", buf);
	else
		log_info("%s", buf);
}

/* ---------- the session ---------- */

static const struct profile *profile_of(const struct top *t)
{
	return t->have_prof ? &t->prof : t->ctx->shell_profile;
}

const char *top_profile_name(const struct top *t)
{
	const struct profile *p = profile_of(t);

	return p && p->name ? p->name : "default";
}

static void close_session(struct top *t)
{
	ctx_session_done(t->ctx, t->a);     /* closes it unless it is the shell's */
	t->a = NULL;
}

/* The shell's own session serves a snapshot; anything that lasts (and
 * wants events) logs in on its own, with the shell's profile. */
static int open_session(struct top *t, const char *events)
{
	const struct profile *p = profile_of(t);

	if (t->ctx->ami && t->once)
		return ctx_session(t->ctx, &t->a, "off");
	if (!p) {
		log_error("no profile to log in with");
		return RC_CONFIG;
	}
	return ami_open(&t->a, p, events);
}

static int feed_item(const struct ami_msg *m, void *arg)
{
	struct top *t = arg;

	pbx_feed(t->pbx, m, top_wall_ms());
	return RC_OK;
}

/* Reads the lists into the model. A refused list is recorded there (the
 * rest goes on); RC_OK unless the connection failed. */
static int sync_lists(struct top *t)
{
	struct pbx_request r;
	struct ami_msg act, reply;
	int rc = RC_OK;

	ami_msg_init(&act);
	ami_msg_init(&reply);
	pbx_sync_lists(t->pbx, t->lists);
	pbx_sync_begin(t->pbx, top_wall_ms());
	while (pbx_next_request(t->pbx, &r)) {
		ami_msg_clear(&act);
		pbx_request_msg(&r, &act);
		rc = ami_action_list(t->a, &act, &reply, feed_item, t);
		if (rc == RC_OK || rc == RC_ACTION) {
			rc = RC_OK;
			continue;
		}
		pbx_request_lost(t->pbx, &r, ami_error(t->a));
		if (rc != RC_TIMEOUT || t->once)
			break;
		/* A server that does not answer one list in time will not answer
		 * the next ones either: the panel starts with what it has. */
		while (pbx_next_request(t->pbx, &r))
			pbx_request_lost(t->pbx, &r, "not asked: an earlier list timed out");
		rc = RC_OK;
	}
	ami_msg_free(&act);
	ami_msg_free(&reply);
	return rc;
}

/* The Asterisk version for the header (CoreSettings wants write = system
 * or reporting; without it the header says "?"). */
static void read_version(struct top *t)
{
	struct ami_msg act, reply;
	const char *v;

	ami_msg_init(&act);
	ami_msg_init(&reply);
	ami_msg_add(&act, "Action", "CoreSettings");
	if (ami_action(t->a, &act, &reply) == RC_OK && (v = ami_msg_get(&reply, "AsteriskVersion")))
		top_safe_copy(t->version, sizeof t->version, v);
	ami_msg_free(&act);
	ami_msg_free(&reply);
}

/* Login, lists, version: a session the loop can use. */
static int connect_and_sync(struct top *t)
{
	int rc = open_session(t, t->once ? "off" : t->mask);

	if (rc == RC_OK && !t->once && !t->watch_ms)
		read_version(t);
	if (rc == RC_OK && (rc = sync_lists(t)) != RC_OK)
		log_error("%s", ami_error(t->a));
	if (rc != RC_OK)
		close_session(t);
	t->next_fetch = now_ms();
	return rc;
}

/* ---------- events ---------- */

static void on_event(struct top *t, const struct ami_msg *ev)
{
	const char *name = ami_msg_get(ev, "Event"), *v;
	int64_t now = top_wall_ms();

	pbx_rate_add(&t->events, now, 1);
	if (!strcasecmp(name, "FullyBooted") && (v = ami_msg_get(ev, "Uptime"))) {
		unsigned long up;
		if (parse_uint(v, 0x7fffffffUL, &up) == 0) {
			t->uptime_s = (long)up;
			t->uptime_at = top_wall_ms();
		}
	} else if (t->spy_id[0] && !strcasecmp(name, "OriginateResponse") &&
		   (v = ami_msg_get(ev, "ActionID")) && !strcmp(v, t->spy_id)) {
		top_spy_event(t, ev);
	}
	pbx_feed(t->pbx, ev, now);
}

/* Feeds what has arrived, for at most PUMP_BUDGET_MS (t->more: it
 * stopped there, so more may be waiting in our buffers, where poll() does
 * not see it). RC_OK, or why the connection is gone. */
static int pump(struct top *t)
{
	struct ami_msg ev;
	int64_t end = now_ms() + PUMP_BUDGET_MS;
	int http = !ami_can_poll(t->a), rc = RC_TIMEOUT;

	t->more = 0;
	ami_msg_init(&ev);
	for (;;) {
		if (now_ms() >= end) {
			t->more = 1;
			break;
		}
		/* Over HTTP a read with nothing buffered is a WaitEvent (one that
		 * returns at once): one every HTTP_EVENTS_MS. */
		if (http && !ami_has_buffered(t->a)) {
			if (now_ms() < t->next_fetch)
				break;
			t->next_fetch = now_ms() + HTTP_EVENTS_MS;
		}
		if ((rc = ami_next_event(t->a, &ev, 0)) != RC_OK)
			break;
		on_event(t, &ev);
	}
	ami_msg_free(&ev);
	return rc == RC_TIMEOUT || rc == RC_OK ? RC_OK : rc;
}

/* ---------- losing and finding the connection ---------- */

static void connection_lost(struct top *t, int rc)
{
	top_safe_copy(t->cause, sizeof t->cause, t->a ? ami_error(t->a) : "not connected");
	close_session(t);
	t->lost_at = top_wall_ms();
	t->tries = 0;
	t->retry_at = now_ms();
	if (!t->ui && !t->watch_ms) {   /* --once: nothing to keep alive */
		t->quit = 1;
		t->quit_rc = rc;
		return;
	}
	top_note(t, 2, "connection lost: %s; reconnecting", t->cause);
}

static void try_reconnect(struct top *t)
{
	int rc;

	t->tries++;
	rc = connect_and_sync(t);
	if (rc == RC_OK) {
		const struct pbx_sync *s = pbx_sync_state(t->pbx);
		top_note(t, 1, "reconnected after %.1f s (%u attempt%s); lists read again: "
			 "%u calls gone, %u new meanwhile", (top_wall_ms() - t->lost_at) / 1000.0,
			 t->tries, t->tries == 1 ? "" : "s", s->removed[PBX_KIND_CALL],
			 s->added[PBX_KIND_CALL]);
		t->lost_at = 0;
		return;
	}
	if (interrupted || rc == RC_USAGE || rc == RC_CONFIG || rc == RC_AUTH) {
		t->quit = 1;        /* trying again cannot help */
		t->quit_rc = interrupted ? 128 + interrupted : rc;
		return;
	}
	int wait = backoff_ms(t->tries, &t->rng);
	t->retry_at = now_ms() + wait;
	top_note(t, 2, "connection lost: %s; attempt %u failed, next in %.1f s", t->cause, t->tries,
		 wait / 1000.0);
}

void top_resync(struct top *t)
{
	int rc;

	if (!t->a) {
		top_note(t, 2, "not connected");
		return;
	}
	if ((rc = sync_lists(t)) != RC_OK) {
		connection_lost(t, rc);
		return;
	}
	char missing[512];
	top_missing(t, t->lists, 0, missing, sizeof missing);
	top_note(t, *missing ? 2 : 1, "lists read again%s%s", *missing ? ": " : "", missing);
}

int top_action(struct top *t, struct ami_msg *act, struct ami_msg *reply)
{
	int rc;

	if (!t->a) {
		top_note(t, 2, "not connected: %s", t->cause);
		return RC_CONNECT;
	}
	rc = ami_action(t->a, act, reply);
	if (rc == RC_CONNECT || rc == RC_PROTOCOL)
		connection_lost(t, rc);
	return rc;
}

/* ---------- signals ---------- */

static int signal_fd = -1;
static const int caught[] = { SIGINT, SIGTERM, SIGHUP, SIGWINCH };
static struct sigaction saved[ARRAY_LEN(caught)];

static void on_signal(int sig)
{
	int e = errno;
	unsigned char b = (unsigned char)sig;

	if (sig != SIGWINCH)
		interrupted = sig;
	if (signal_fd >= 0 && write(signal_fd, &b, 1) < 0) {
		/* full pipe: a wake-up is already pending */
	}
	errno = e;
}

static int signals_catch(struct top *t)
{
	struct sigaction sa;

	if (pipe(t->sigpipe) != 0) {
		log_error("pipe:");
		return RC_IO;
	}
	for (int i = 0; i < 2; i++) {
		fcntl(t->sigpipe[i], F_SETFL, O_NONBLOCK);
		fcntl(t->sigpipe[i], F_SETFD, FD_CLOEXEC);
	}
	signal_fd = t->sigpipe[1];
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;      /* no SA_RESTART: poll() must wake up */
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < ARRAY_LEN(caught); i++)
		sigaction(caught[i], &sa, &saved[i]);
	return RC_OK;
}

static void signals_release(struct top *t)
{
	if (t->sigpipe[0] < 0)
		return;
	for (size_t i = 0; i < ARRAY_LEN(caught); i++)
		sigaction(caught[i], &saved[i], NULL);
	signal_fd = -1;
	close(t->sigpipe[0]);
	close(t->sigpipe[1]);
	t->sigpipe[0] = t->sigpipe[1] = -1;
}

/* What the self-pipe says: a resize, or a signal that ends us. */
static void signals_read(struct top *t)
{
	unsigned char b[32];
	ssize_t n;

	while ((n = read(t->sigpipe[0], b, sizeof b)) > 0)
		for (ssize_t i = 0; i < n; i++) {
			if (b[i] == SIGWINCH) {
				if (t->ui)
					top_ui_resize(t);
			} else if (!t->quit) {
				t->quit = 1;
				t->quit_rc = 128 + b[i];
			}
		}
}

/* ---------- the loop ---------- */

static int min_wait(int a, int64_t until)
{
	int left = ms_left(until);

	return a < 0 || left < a ? left : a;
}

/* One --watch snapshot when it is due; ms until the next one. None while
 * the connection is down: the picture would be old news (stderr says why). */
static int watch_tick(struct top *t, int64_t *next)
{
	char stamp[40];

	if (ms_left(*next) == 0 && t->a) {
		top_iso_now(stamp, sizeof stamp);
		if (t->snapshots++ && !t->json)
			out_puts("\n");
		if (top_print_snapshot(t, stamp) != RC_OK) {
			t->quit = 1;
			t->quit_rc = RC_IO;
		}
	}
	while (ms_left(*next) == 0)
		*next += t->watch_ms;
	return ms_left(*next);
}

static int loop(struct top *t)
{
	int64_t next_print = now_ms();

	while (!t->quit) {
		struct pollfd pfd[4];
		int n = 0, wait, rc;

		if (!t->a && ms_left(t->retry_at) == 0)
			try_reconnect(t);
		if (t->a && (rc = pump(t)) != RC_OK)
			connection_lost(t, rc);
		if (t->quit)
			break;
		wait = t->ui ? top_ui_draw(t, now_ms()) : watch_tick(t, &next_print);
		if (t->quit)
			break;
		if (!t->a)
			wait = min_wait(wait, t->retry_at);
		else if (t->more)
			wait = 0;
		else if (!ami_can_poll(t->a))
			wait = min_wait(wait, t->next_fetch);
		pfd[n++] = (struct pollfd){ .fd = t->sigpipe[0], .events = POLLIN };
		if (t->ui) {
			pfd[n++] = (struct pollfd){ .fd = top_ui_fd(t), .events = POLLIN };
			pfd[n++] = (struct pollfd){ .fd = top_ui_log_fd(t), .events = POLLIN };
		}
		if (t->a && ami_fd(t->a) >= 0)
			pfd[n++] = (struct pollfd){ .fd = ami_fd(t->a), .events = POLLIN };
		if (poll(pfd, (nfds_t)n, wait) < 0 && errno != EINTR) {
			log_error("poll:");
			return RC_IO;
		}
		signals_read(t);
		if (t->ui && (pfd[1].revents & (POLLHUP | POLLERR | POLLNVAL)) && !t->quit) {
			t->quit = 1;        /* the terminal is gone */
			t->quit_rc = 128 + SIGHUP;
		}
		if (t->ui && (pfd[1].revents & POLLIN))
			top_ui_keys(t);
		if (t->ui && pfd[2].revents & POLLIN)
			top_ui_log(t);
	}
	return t->quit_rc;
}

/* ---------- options and modes ---------- */

static int parse_option(struct top *t, int ch, const char *arg)
{
	int i;

	switch (ch) {
	case OPT_VIEW:
		if ((i = word_index(arg, top_view_words)) < 0)
			return usage_error("--view: expected calls, channels, conferences, queues or "
					   "extensions, not \"%s\"", arg);
		t->view = (enum top_view)i;
		break;
	case OPT_SORT:
		if ((i = word_index(arg, top_sort_words)) < 0)
			return usage_error("--sort: expected age, name or state, not \"%s\"", arg);
		t->sort = (enum pbx_sort)i;
		break;
	case OPT_ONCE: t->once = 1; break;
	case OPT_REVERSE: t->descending = 1; break;
	case OPT_NO_COLOR: t->color = 0; break;
	case OPT_WATCH:
		if (parse_seconds(arg, &t->watch_ms) != 0 || t->watch_ms < 100)
			return usage_error("--watch: expected a number of seconds (at least 0.1), "
					   "not \"%s\"", arg);
		break;
	case OPT_FILTER:
		if (strlen(arg) >= sizeof t->filter)
			return usage_error("--filter: longer than %zu bytes", sizeof t->filter - 1);
		snprintf(t->filter, sizeof t->filter, "%s", arg);
		break;
	case OPT_EVENTS_MASK: {
		int rc = check_user_value("--events-mask", arg);
		if (rc != RC_OK)
			return rc;
		t->mask = arg;
		break;
	}
	default:
		return ctx_option(t->ctx, ch, arg);
	}
	return RC_CONTINUE;
}

static int parse_args(struct top *t, int argc, char **argv)
{
	int ch, rc;

	while ((ch = getopt_long(argc, argv, COMMON_SHORTOPTS, longopts, NULL)) != -1)
		if ((rc = parse_option(t, ch, optarg)) != RC_CONTINUE)
			return rc;
	if (optind < argc)
		return usage_error("unexpected argument \"%s\"", argv[optind]);
	if (t->once && t->watch_ms)
		return usage_error("--once and --watch exclude each other");
	if (out_get_format() == OUT_RAW)
		return usage_error("--format raw: top prints text or json");
	t->json = out_get_format() == OUT_JSON;
	if (t->json && !t->watch_ms)
		t->once = 1;
	if (!t->watch_ms && !isatty(STDOUT_FILENO))
		t->once = 1;    /* a pipe or a file gets a snapshot */
	return RC_CONTINUE;
}

static void top_init(struct top *t, struct ctx *ctx)
{
	const char *nc = getenv("NO_COLOR");

	memset(t, 0, sizeof *t);
	t->ctx = ctx;
	t->color = !(nc && *nc);
	t->mask = DEFAULT_MASK;
	t->uptime_s = -1;
	t->sigpipe[0] = t->sigpipe[1] = -1;
	t->rng = (unsigned)getpid() ^ (unsigned)now_ms();
}

static void top_free(struct top *t)
{
	close_session(t);
	pbx_free(t->pbx);
	free(t->rows.v);
	free(t->rows.sorted);
	if (t->have_prof)
		profile_free(&t->prof);
}

/* --once: the lists, one print. Exit 1 when a list the view needs was
 * refused or failed: an empty table must mean an idle PBX. */
static int snapshot(struct top *t)
{
	char missing[512];
	int rc;

	if ((rc = connect_and_sync(t)) != RC_OK)
		return rc;
	close_session(t);
	top_missing(t, top_view_needs(t->view), 1, missing, sizeof missing);
	if (*missing)
		log_error("%s", missing);
	rc = top_print_snapshot(t, NULL);
	return rc != RC_OK ? rc : *missing ? RC_ACTION : RC_OK;
}

/* The panel or --watch: lasts until q or a signal, across reconnections. */
static int live(struct top *t)
{
	int rc = connect_and_sync(t);

	if (rc != RC_OK)
		return rc;
	if ((rc = signals_catch(t)) != RC_OK)
		return rc;
	if (!t->watch_ms && (rc = top_ui_start(t)) != RC_OK) {
		signals_release(t);
		return rc;
	}
	rc = loop(t);
	top_ui_stop(t);
	signals_release(t);
	return rc;
}

int cmd_top(int argc, char **argv, struct ctx *ctx)
{
	struct top t;
	int rc;

	top_init(&t, ctx);
	if ((rc = parse_args(&t, argc, argv)) != RC_CONTINUE) {
		top_free(&t);
		return rc;      /* --help, or a usage error */
	}
	t.lists = t.once || t.watch_ms ? view_lists(t.view) : PBX_LISTS_ALL;
	t.pbx = pbx_new(NULL);
	if (!ctx->ami || !t.once) {
		if (!ctx->ami && (rc = config_resolve(&t.prof, &ctx->ov, CONFIG_SECRET_REQUIRED)) != RC_OK) {
			top_free(&t);
			return rc;
		}
		t.have_prof = !ctx->ami;
	}
	rc = t.once ? snapshot(&t) : live(&t);
	top_free(&t);
	return rc;
}
