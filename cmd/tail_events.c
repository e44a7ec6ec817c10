/* tail_events.c - `ami tail-events`: print events as they arrive, filtered,
 * until a stop condition; survive slow readers and lost connections.
 *
 * One thread and one poll() on the AMI socket (POLLIN) and on stdout
 * (POLLOUT while output waits). Asterisk disconnects a session it cannot
 * write to for 100 ms (writetimeout), so the socket must be read even while
 * our reader is stalled: when stdout is a pipe, socket or tty it is made
 * non-blocking (common/output.c, streaming mode) and formatted events wait
 * in a bounded queue; on overflow the oldest are dropped, counted, and a
 * marker event takes their place. A reader thread would need a lock around
 * every event; a single loop needs none and is as fast.
 *
 * Output is flushed whenever no more input is already buffered, just
 * before waiting: a pipe sees each event at once, a burst goes out in large
 * writes. */
#include <errno.h>
#include <poll.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cmds.h"
#include "glob.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

const char cmd_tail_events_help[] =
	"usage: ami tail-events [-e NAME]... [--match KEY=GLOB]... [-c N]\n"
	"                       [--until EVENT[:KEY=GLOB]] [--idle SECONDS] [options]\n"
	"\n"
	"Log in, switch events on and print each event as it arrives, in the\n"
	"chosen --format: text (one line: HH:MM:SS.mmm Event Key=Value ...), raw\n"
	"(the AMI wire block) or json (one object per line, repeated headers as\n"
	"arrays). Output is flushed whenever no more input is waiting. Exit 0\n"
	"after --count or --until, 6 after --idle, 5 when the connection is lost\n"
	"(without --reconnect), 130/143 on SIGINT/SIGTERM (after Logoff and\n"
	"flushing).\n"
	"\n"
	"      --events-mask CLASSES  event classes (default on: all you may read)\n"
	"  -e, --event NAME        only events named NAME (glob, any case; repeatable)\n"
	"      --exclude-event NAME  not events named NAME (glob, any case; repeatable)\n"
	"      --match KEY=GLOB    only events whose header KEY matches GLOB, or\n"
	"                          KEY~REGEX (POSIX ERE); repeatable, all must match\n"
	"      --no-server-filter  do not ask Asterisk to filter by event name\n"
	"  -c, --count N           stop after N printed events\n"
	"      --until EVENT[:KEY=GLOB]  stop after the first such event (printed)\n"
	"      --idle SECONDS      exit 6 when no event was printed for SECONDS\n"
	"      --reconnect         on connection loss reconnect, and mark the gap\n"
	"      --timestamp         add the receive time to each event\n"
	"      --buffer SIZE       queue for a slow reader, e.g. 512K, 64M (default 64M)\n";

enum {
	OPT_EVENTS_MASK = OPT_CMD_BASE, OPT_EXCLUDE, OPT_MATCH, OPT_NO_SERVER_FILTER,
	OPT_UNTIL, OPT_IDLE, OPT_RECONNECT, OPT_TIMESTAMP, OPT_BUFFER,
};

static const struct option longopts[] = {
	COMMON_LONGOPTS,
	{ "events-mask", required_argument, NULL, OPT_EVENTS_MASK },
	{ "event", required_argument, NULL, 'e' },
	{ "exclude-event", required_argument, NULL, OPT_EXCLUDE },
	{ "match", required_argument, NULL, OPT_MATCH },
	{ "no-server-filter", no_argument, NULL, OPT_NO_SERVER_FILTER },
	{ "count", required_argument, NULL, 'c' },
	{ "until", required_argument, NULL, OPT_UNTIL },
	{ "idle", required_argument, NULL, OPT_IDLE },
	{ "reconnect", no_argument, NULL, OPT_RECONNECT },
	{ "timestamp", no_argument, NULL, OPT_TIMESTAMP },
	{ "buffer", required_argument, NULL, OPT_BUFFER },
	{ NULL, 0, NULL, 0 },
};

#define GO_ON (-1)                  /* not an RC_*: keep streaming */
#define DEFAULT_BUFFER (64UL << 20)
#define MIN_BUFFER (16UL << 10)
#define BACKOFF_FIRST_MS 500
#define BACKOFF_MAX_MS 30000
#define INTERRUPT_FLUSH_MS 2000     /* after Ctrl-C, wait this long for a stuck reader */
/* When more than SOFT_QUEUE bytes of output wait, input is left in the
 * kernel's socket buffers for HOLD_MS, then at most SOFT_QUEUE more is
 * taken, and so on: a reader that is only a little slower costs no memory,
 * and the socket is still read every HOLD_MS, far below Asterisk's 100 ms
 * writetimeout (which only starts once those buffers are full too). A
 * stalled reader still fills the queue up to --buffer. */
#define SOFT_QUEUE (256 * 1024)
#define HOLD_MS 30


struct match {                      /* --match KEY=GLOB or KEY~REGEX */
	char *key;                      /* NULL: matches every event */
	size_t klen;                    /* strlen(key), not redone per event */
	const char *glob;               /* NULL for a regex */
	regex_t re;
};

struct until {
	struct pat event;
	char *name;                     /* the event glob (a copy) */
	struct match m;
};

struct tail {
	/* options */
	const char *mask;
	struct pat *events, *excludes;
	size_t nevents, nexcludes;
	struct match *matches;
	size_t nmatches;
	struct until *untils;
	size_t nuntils;
	unsigned long count, buffer;
	int idle_ms;
	int reconnect, timestamp, server_filter;
	/* state */
	struct ctx *ctx;
	struct profile prof;
	int have_prof, own;             /* own: we opened a (not the shell's) */
	int shell_lost;                 /* the shell's session died: use our own */
	int passthrough;                /* events may be read straight from the socket;
					 * set only without the shell's session (run), so
					 * a session open then is our own (own) */
	int direct;                     /* ... and are, in this session */
	char *rbuf;                     /* direct: bytes read, not yet handled */
	struct ami_msg view;            /* direct: the headers of one message in rbuf */
	size_t rlen, rcap;
	char cause[300];                /* why the connection ended */
	int64_t hold_until;             /* input held back until then (0: not) */
	size_t queue_cap;               /* take_* stop when more output waits */
	int more_input;                 /* ... and did, with input left to handle */
	struct ami *a;
	struct ami_msg ev;
	unsigned long printed, filtered;
	unsigned long lost;             /* incomplete events (direct reading) */
	int64_t idle_deadline;
	unsigned rng;
	time_t clock_sec;               /* second of the cached date strings */
	char clock_date[32], clock_zone[8];
	unsigned long drop_unlogged;
	int64_t drop_logged_at;
};

static int stop_rc(void)
{
	return interrupted == SIGTERM ? RC_TERMINATED : RC_INTERRUPTED;
}

/* ---------- header matches ---------- */

/* "KEY=GLOB" or "KEY~REGEX", whichever sign comes first. */
static int parse_match(struct match *m, const char *arg, const char *opt)
{
	size_t k = strcspn(arg, "=~");
	int err;

	if (k == 0 || !arg[k])
		return usage_error("%s: expected KEY=GLOB or KEY~REGEX, not \"%s\"", opt, arg);
	m->key = xstrndup(arg, k);
	m->klen = k;
	if (arg[k] == '=') {
		m->glob = arg + k + 1;
		return RC_OK;
	}
	m->glob = NULL;
	if ((err = regcomp(&m->re, arg + k + 1, REG_EXTENDED | REG_NOSUB)) != 0) {
		char buf[200];
		regerror(err, &m->re, buf, sizeof buf);
		free(m->key);
		m->key = NULL;
		return usage_error("%s: bad regular expression \"%s\": %s", opt, arg + k + 1, buf);
	}
	return RC_OK;
}

static void match_free(struct match *m)
{
	if (m->key && !m->glob)
		regfree(&m->re);
	free(m->key);
}

/* Any header named KEY (any case) whose value matches; a repeated header
 * matches when one of its values does. */
static int match_msg(const struct match *m, const struct ami_msg *ev)
{
	for (size_t i = 0; i < ev->n; i++) {
		if (ev->h[i].name_len != m->klen || strncasecmp(ami_name(ev, i), m->key, m->klen))
			continue;
		if (m->glob ? glob_match(m->glob, ami_value(ev, i), ev->h[i].value_len)
			    : regexec(&m->re, ami_value(ev, i), 0, NULL, 0) == 0)
			return 1;
	}
	return 0;
}

static int parse_until(struct until *u, const char *arg)
{
	size_t len = strcspn(arg, ":");
	int rc;

	if (len == 0)
		return usage_error("--until: no event name in \"%s\"", arg);
	u->name = xstrndup(arg, len);       /* may go to the server in a Filter */
	if ((rc = check_user_value("--until", u->name)) != RC_OK ||
	    (arg[len] && (rc = parse_match(&u->m, arg + len + 1, "--until")) != RC_OK)) {
		free(u->name);
		u->name = NULL;
		return rc;
	}
	pat_init(&u->event, u->name);
	return RC_OK;
}

/* ---------- per event ---------- */

static const char *event_name(const struct ami_msg *m, size_t *len)
{
	for (size_t i = 0; i < m->n; i++) {
		if (m->h[i].name_len == 5 && !strncasecmp(ami_name(m, i), "Event", 5)) {
			*len = m->h[i].value_len;
			return ami_value(m, i);
		}
	}
	*len = 0;
	return "";
}

/* --event and --exclude-event. */
static int wanted_name(const struct tail *t, const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < t->nevents && !pat_match(&t->events[i], name, len); i++)
		;
	if (t->nevents && i == t->nevents)
		return 0;
	for (i = 0; i < t->nexcludes; i++)
		if (pat_match(&t->excludes[i], name, len))
			return 0;
	return 1;
}

static int wanted(const struct tail *t, const struct ami_msg *ev, const char *name, size_t len)
{
	if (!wanted_name(t, name, len))
		return 0;
	for (size_t i = 0; i < t->nmatches; i++)
		if (!match_msg(&t->matches[i], ev))
			return 0;
	return 1;
}

/* ev may be NULL when no --until has a KEY part (passthrough). */
static int until_hit(const struct tail *t, const struct ami_msg *ev, const char *name, size_t len)
{
	for (size_t i = 0; i < t->nuntils; i++)
		if (pat_match(&t->untils[i].event, name, len) &&
		    (!t->untils[i].m.key || (ev && match_msg(&t->untils[i].m, ev))))
			return 1;
	return 0;
}

/* Ends the record of an event formatted with result rc and counts it:
 * GO_ON, RC_OK when no more are to be printed (last: it met --until), or
 * RC_IO. */
static int event_printed(struct tail *t, int rc, int last)
{
	out_record_end(1);
	if (rc != RC_OK)
		return RC_IO;
	t->printed++;
	return last || t->printed == t->count ? RC_OK : GO_ON;
}

/* ---------- time stamps ---------- */

/* "YYYY-MM-DDTHH:MM:SS" and "+hh:mm" for sec, cached per second. */
static void clock_update(struct tail *t, time_t sec)
{
	struct tm tm;

	if (sec == t->clock_sec && t->clock_date[0])
		return;
	localtime_r(&sec, &tm);
	strftime(t->clock_date, sizeof t->clock_date, "%Y-%m-%dT%H:%M:%S", &tm);
	utc_offset_iso(&tm, t->clock_zone);
	t->clock_sec = sec;
}

/* The time ts, as "HH:MM:SS.mmm", or in full ISO 8601 with the offset. */
static size_t format_time(struct tail *t, const struct timespec *ts, int full, char *out)
{
	int ms = (int)(ts->tv_nsec / 1000000);

	clock_update(t, ts->tv_sec);
	return (size_t)snprintf(out, 48, "%s.%03d%s", full ? t->clock_date : t->clock_date + 11, ms,
				full ? t->clock_zone : "");
}

static size_t time_now(struct tail *t, int full, char *out)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return format_time(t, &ts, full, out);
}

static void iso_time(struct tail *t, double when, char *out)
{
	struct timespec ts = { .tv_sec = (time_t)when };

	ts.tv_nsec = (long)((when - (double)ts.tv_sec) * 1e9);
	format_time(t, &ts, 1, out);
}

/* ---------- output ---------- */

/* How many bytes at v[i] are plain on the text line: printable ASCII but
 * blank, '"' and '\\', or a whole valid UTF-8 sequence. 0: must be escaped. */
static size_t text_plain(const char *v, size_t n, size_t i)
{
	unsigned char c = (unsigned char)v[i];

	if (c >= 0x80)
		return out_utf8_len(v + i, n - i);
	return c > ' ' && c != '"' && c != '\\' && c != 0x7f;
}

/* A value on the text line: bare when it is plain, else in double quotes
 * with \" \\ \t and \xHH (control bytes, invalid UTF-8), so the line
 * splits back unambiguously and nothing is lost. */
static void text_value(const char *v, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, k;

	for (i = 0; i < n && (k = text_plain(v, n, i)) > 0; i += k)
		;
	if (n && i == n) {
		out_write(v, n);
		return;
	}
	out_write("\"", 1);
	for (i = 0; i < n; i += k) {
		unsigned char c = (unsigned char)v[i];
		char esc[4] = { '\\', (char)c, hex[c >> 4], hex[c & 15] };

		k = text_plain(v, n, i);
		if (k > 0 || c == ' ') {
			k += !k;        /* a blank is fine inside the quotes */
			out_write(v + i, k);
			continue;
		}
		k = 1;
		if (c == '\t')
			esc[1] = 't';
		else if (c != '"' && c != '\\')
			esc[1] = 'x';
		out_write(esc, esc[1] == 'x' ? 4 : 2);
	}
	out_write("\"", 1);
}

/* "HH:MM:SS.mmm Name Key=Value ..." (the full date with --timestamp). */
static int text_line(struct tail *t, const struct ami_msg *m)
{
	char ts[48];
	size_t len, ev = m->n;
	const char *name = event_name(m, &len);

	out_write(ts, time_now(t, t->timestamp, ts));
	out_write(" ", 1);
	out_write(name, len);
	for (size_t i = 0; i < m->n; i++) {
		if (ev == m->n && ami_value(m, i) == name) {
			ev = i;     /* the Event header itself is the name above */
			continue;
		}
		out_write(" ", 1);
		if (m->h[i].name_len) {
			out_write(ami_name(m, i), m->h[i].name_len);
			out_write("=", 1);
		}
		text_value(ami_value(m, i), m->h[i].value_len);
	}
	return out_write("\n", 1);
}

/* Formats one message (an event or one of our markers) in the chosen
 * format; with --timestamp the receive time goes in as ReceivedAt. */
static int format_msg(struct tail *t, struct ami_msg *m)
{
	if (out_get_format() == OUT_TEXT)
		return text_line(t, m);
	if (t->timestamp) {
		char ts[48];
		time_now(t, 1, ts);
		ami_msg_add(m, "ReceivedAt", ts);
	}
	return out_msg(m);
}

/* One of our markers: a record of its own, never dropped. */
static int print_note(struct tail *t, struct ami_msg *m)
{
	int rc = format_msg(t, m);

	out_record_end(0);
	return rc;
}

/* Formats the marker of n events missing from the stream, total of them
 * so far (the queue's drops and incomplete events alike). */
static int format_dropped(struct tail *t, unsigned long n, unsigned long total, const char *reason)
{
	struct ami_msg m;
	char num[32], all[32];
	int rc;

	snprintf(num, sizeof num, "%lu", n);
	snprintf(all, sizeof all, "%lu", total);
	ami_msg_init(&m);
	ami_msg_add(&m, "Event", "AmiDropped");
	ami_msg_add(&m, "Count", num);
	ami_msg_add(&m, "TotalDropped", all);
	ami_msg_add(&m, "Reason", reason);
	rc = format_msg(t, &m);
	ami_msg_free(&m);
	return rc;
}

/* output.c dropped n events to keep the queue bounded: their marker. */
static void on_drop(void *arg, unsigned long n, unsigned long total)
{
	struct tail *t = arg;
	char reason[96];
	int64_t now = now_ms();

	snprintf(reason, sizeof reason, "output slower than the events; queue over %lu KiB (--buffer)",
		 t->buffer >> 10);
	format_dropped(t, n, total + t->lost, reason);
	/* The stream has every marker; stderr gets at most one line a second. */
	t->drop_unlogged += n;
	if (now - t->drop_logged_at >= 1000) {
		log_warn("dropped %lu events (%lu in all): %s", t->drop_unlogged, total + t->lost,
			 reason);
		t->drop_unlogged = 0;
		t->drop_logged_at = now;
	}
}

/* ---------- session ---------- */

/* An ERE that matches the start of an event payload ("Event: Name\r\n...",
 * which is what legacy Filter regexes are matched against) when Name
 * matches glob g. Letters become [xX]; for an include '*' is ".*" (it may
 * match more, the client filter decides), for an exclude it stays within
 * the name so it never hides an event we want. NULL for a [...] class. */
static char *glob_to_filter(const char *g, int exclude)
{
	static const char namech[] = "[A-Za-z0-9_.-]";
	char *r = xmalloc(strlen(g) * 16 + 64), *o = r;

	o += sprintf(o, "%s^Event: ", exclude ? "!" : "");
	for (; *g; g++) {
		int c = (unsigned char)*g;
		if (c == '*' || c == '?') {
			o += sprintf(o, "%s%s", exclude ? namech : ".", c == '*' ? "*" : "");
			continue;
		}
		if (c == '[') {
			free(r);
			return NULL;
		}
		if (c == '\\' && g[1])
			c = (unsigned char)*++g;
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))
			o += sprintf(o, "[%c%c]", c & ~0x20, c | 0x20);
		else if (strchr(".^$|()+{}\\*?[]", c))
			o += sprintf(o, "\\%c", c);
		else
			*o++ = (char)c;
	}
	sprintf(o, "[^A-Za-z0-9_.-]");
	return r;
}

/* Sends one Filter; RC_OK, RC_ACTION (refused), or a connection error. */
static int send_filter(struct tail *t, const char *regex)
{
	struct ami_msg act, reply;
	int rc;

	ami_msg_init(&act);
	ami_msg_init(&reply);
	ami_msg_add(&act, "Action", "Filter");
	ami_msg_add(&act, "Operation", "Add");
	/* Cannot fail: the names were checked (check_user_value), and argv
	 * bounds the length far below the arena's limit. */
	ami_msg_add(&act, "Filter", regex);
	rc = ami_action(t->a, &act, &reply);
	if (rc == RC_USAGE)     /* too long a line: never sent */
		rc = RC_ACTION;
	if (rc == RC_OK)
		log_debug("server filter added: %s", regex);
	ami_msg_free(&act);
	ami_msg_free(&reply);
	return rc;
}

/* Asks Asterisk to send only the events we may print (Filter action,
 * session-scoped, so again after each reconnect). The client filter stays
 * authoritative; the server's only saves bandwidth. Legacy regex filters
 * are used because every version with Filter takes them, and the banner's
 * AMI version (11.0.0 on Asterisk 22.x) does not tell whether the newer
 * MatchCriteria syntax exists. --until events are included too, and
 * excludes are left out then, so the server never hides a stop event. */
static int push_filters(struct tail *t)
{
	size_t n = 0, nin = 0, i;
	char **f;
	int rc = RC_OK;

	if (!t->server_filter || !t->own || (!t->nevents && !t->nexcludes))
		return RC_OK;
	f = xcalloc(t->nevents + t->nuntils + t->nexcludes + 1, sizeof *f);
	for (i = 0; i < t->nevents + t->nuntils && t->nevents; i++) {
		const struct pat *p = i < t->nevents ? &t->events[i] : &t->untils[i - t->nevents].event;
		if (!(f[n++] = glob_to_filter(p->s, 0))) {
			while (n)
				free(f[--n]);
			break;      /* all includes or none */
		}
	}
	nin = n;
	for (i = 0; i < t->nexcludes && !t->nuntils; i++)
		if ((f[n] = glob_to_filter(t->excludes[i].s, 1)))
			n++;
	for (i = 0; i < n && rc == RC_OK; i++)
		rc = send_filter(t, f[i]);
	if (rc == RC_ACTION) {
		log_info("events filtered here only: the server refused the Filter action (%s)%s",
			 ami_error(t->a), contains_nocase(ami_error(t->a), "permission") ?
			 "; it needs write=system" : "");
		/* Only some includes went through: open the filter up again. */
		rc = i > 1 && i - 1 < nin ? send_filter(t, "^Event: ") : RC_OK;
		if (rc == RC_ACTION)
			log_warn("the server kept part of our event filter; some events may be missing");
		rc = rc == RC_ACTION ? RC_OK : rc;
	}
	for (i = 0; i < n; i++)
		free(f[i]);
	free(f);
	return rc;
}

static void close_session(struct tail *t)
{
	if (!t->a)
		return;
	if (t->own)
		ami_close(t->a);
	else
		ctx_session_done(t->ctx, t->a);
	t->a = NULL;
}

/* Whether the next byte on the socket starts a message, which is when
 * reading can move from ami's parser to us without losing one: the parser
 * holds no bytes (ami_has_buffered) but it may hold the first lines of a
 * message whose last ones have not come; those would then reach us
 * without their Event: line. A message starts with "Event:" or
 * "Response:", a continuation practically never does. idle_ok: an empty
 * socket counts too (a server that honours Events: off has sent nothing).
 * So direct reading starts at once with a real Asterisk (nothing comes
 * before our Events action, events_on); with a server that streams right
 * after Login, when a read happens to end on a message boundary
 * (take_events, read_to_boundary). */
static int at_message_start(struct tail *t, int idle_ok)
{
	char b[10];
	ssize_t n;

	if (!t->passthrough || ami_has_buffered(t->a))
		return 0;
	n = recv(ami_fd(t->a), b, sizeof b, MSG_PEEK | MSG_DONTWAIT);
	if (n < 0)
		return idle_ok && (errno == EAGAIN || errno == EWOULDBLOCK);
	return (n >= 6 && !strncasecmp(b, "Event:", 6)) ||
	       (n >= 9 && !strncasecmp(b, "Response:", 9));
}

/* Warns when the answer to our Events action is not "events on". */
static void check_events_reply(const struct tail *t, const struct ami_msg *r)
{
	const char *resp = ami_msg_get(r, "Response"), *ev = ami_msg_get(r, "Events");

	if (resp && !strcasecmp(resp, "Error"))
		log_warn("the server refused to send events: %s", ami_msg_get(r, "Message") ?
			 ami_msg_get(r, "Message") : "Response: Error");
	else if (ev && !strcasecmp(ev, "Off"))
		log_warn("the server turned events off: is --events-mask \"%s\" valid?", t->mask);
}

/* Switches events on (Events action) once the filters are in place, so
 * Asterisk sends nothing we would throw away meanwhile. When the events
 * may be read directly, the answer is not waited for: it is read (and
 * checked) by the direct loop, or skipped by ami_next_event when a server
 * that streams before being asked (as benchmark servers do) made us start
 * on the parsed path; waiting would queue every event sent until then. */
static int events_on(struct tail *t)
{
	struct ami_msg act, reply;
	int rc;

	ami_msg_init(&act);
	ami_msg_init(&reply);
	ami_msg_add(&act, "Action", "Events");
	ami_msg_add(&act, "EventMask", t->mask);
	/* Direct reading takes over the socket: nothing may wait in ami's parser. */
	t->direct = at_message_start(t, 1);
	t->rlen = 0;
	if (t->passthrough) {
		if (t->direct)
			log_debug("reading events directly");
		rc = ami_send(t->a, &act, NULL);
	} else {
		rc = ami_action(t->a, &act, &reply);
		if (rc == RC_OK || rc == RC_ACTION)
			check_events_reply(t, &reply);
		rc = rc == RC_ACTION ? RC_OK : rc;
	}
	if (rc != RC_OK && rc != RC_INTERRUPTED)
		log_error("%s", ami_error(t->a));
	ami_msg_free(&act);
	ami_msg_free(&reply);
	return rc;
}

/* Logs in (the shell's session the first time inside `ami shell`; our own
 * otherwise) with events off, sets up the server filters, then events on. */
static int open_session(struct tail *t)
{
	int rc;

	if (t->ctx->ami && !t->shell_lost) {
		t->own = 0;
		return ctx_session(t->ctx, &t->a, t->mask);
	}
	const struct profile *p = t->have_prof ? &t->prof : t->ctx->shell_profile;
	if (!p) {
		log_error("cannot reconnect: no profile");
		return RC_CONNECT;
	}
	if ((rc = ami_open(&t->a, p, "off")) != RC_OK)
		return rc;
	t->own = 1;
	if ((rc = push_filters(t)) != RC_OK)
		return rc;
	return events_on(t);
}

/* ---------- the loop ---------- */

/* Filters and prints the parsed event in t->ev. GO_ON, RC_OK when a stop
 * condition was met, or RC_IO. */
static int take_one(struct tail *t)
{
	size_t len;
	const char *name = event_name(&t->ev, &len);
	int last = t->nuntils && until_hit(t, &t->ev, name, len);

	if (!last && !wanted(t, &t->ev, name, len)) {
		t->filtered++;
		return GO_ON;
	}
	return event_printed(t, format_msg(t, &t->ev), last);
}

/* Prints every event that has already arrived. GO_ON when none is left.
 * Only called while events are not read directly (take_events). */
static int take_parsed(struct tail *t)
{
	/* HTTP has no socket to poll: the wait is the first read, which
	 * long-polls WaitEvent until the idle deadline (ami caps each poll). */
	int64_t deadline = ami_is_http(t->a) && !ami_has_buffered(t->a)
		? (t->idle_ms > 0 ? t->idle_deadline : -1) : 0;
	int rc;

	while ((rc = ami_next_event(t->a, &t->ev, deadline)) == RC_OK) {
		deadline = 0;
		int one = take_one(t);
		if (one != GO_ON)
			return one;
		/* Let take_events try to move to direct reading before the next
		 * read: a fast stream never pauses, and the parser nearly always
		 * holds the start of a message (read_to_boundary completes it). */
		if (t->passthrough && !ami_has_queued(t->a))
			return GO_ON;
		if (interrupted)
			return stop_rc();
		if (out_buffered() > t->queue_cap) {
			t->more_input = 1;
			return GO_ON;
		}
	}
	if (rc == RC_TIMEOUT)
		return GO_ON;
	if (rc == RC_CONNECT || rc == RC_PROTOCOL)
		snprintf(t->cause, sizeof t->cause, "%s", ami_error(t->a));
	return rc == RC_INTERRUPTED ? stop_rc() : rc;
}

/* ---------- direct reading ----------
 * On plain TCP, without --match or a keyed --until (and for json without
 * --timestamp, which adds a header), events need no parsed copy: each
 * message is found by its blank line, its Event: line gives the name; raw
 * output is its bytes as received, json is made from them in one pass
 * (out_json_wire_framed), text reads its headers in place through a view (an
 * ami_msg whose arena is the read buffer), as does json for a message the
 * one pass leaves to the parser's rules. That is several times cheaper
 * than parsing into a message and writing it back. */

#define RBUF_START (128 * 1024)
#define RBUF_MAX (16u << 20)        /* the parser's message limit */

/* What an event's name decides, which is all there is to judge when
 * reading directly (no --match, no keyed --until). Judged once per event:
 * json_one_pass passes its verdict on to direct_one. */
enum verdict { V_UNJUDGED, V_SKIP, V_PRINT, V_LAST };

static enum verdict judge(const struct tail *t, const char *name, size_t len)
{
	if (t->nuntils && until_hit(t, NULL, name, len))
		return V_LAST;
	return wanted_name(t, name, len) ? V_PRINT : V_SKIP;
}

/* A message with no Event: line that is not a response either: the end of
 * an event whose start stayed in ami's parser. Never silently: a marker. */
static int print_lost(struct tail *t)
{
	int rc;

	t->lost++;
	rc = format_dropped(t, 1, out_dropped() + t->lost,
			    "an incomplete event (its first lines were not received)");
	out_record_end(0);
	log_warn("dropped an incomplete event (its first lines were not received)");
	return rc == RC_OK ? GO_ON : RC_IO;
}

/* A response read directly: only ours to the Events action. */
static void raw_reply(const struct tail *t, const char *m, size_t len)
{
	struct ami_parser *p = ami_parser_new(NULL, 0);
	struct ami_msg r;

	ami_msg_init(&r);
	if (ami_parser_feed(p, m, len) == 0 && ami_parser_next(p, &r) > 0)
		check_events_reply(t, &r);
	ami_msg_free(&r);
	ami_parser_free(p);
}

/* Adds the header line at m[pos, pos + len) (line end excluded) to the
 * view whose arena is m, by the parser's rules: "Name: value" split at
 * ami_header_name_end() with one blank skipped, a line without a colon kept as a
 * value with an empty name. -1: more headers than the parser allows. */
static int view_add(struct ami_msg *v, const char *m, size_t pos, size_t len)
{
	struct ami_header *h;
	size_t c = ami_header_name_end(m + pos, len), vs = c + 1;

	if (v->n == v->hcap) {
		if (v->hcap >= ami_default_limits.max_headers)
			return -1;
		v->hcap = v->hcap ? v->hcap * 2 : 64;
		v->h = xrealloc(v->h, v->hcap * sizeof *v->h);
	}
	h = &v->h[v->n++];
	vs += vs < len && m[pos + vs] == ' ';
	h->name = (uint32_t)pos;
	h->name_len = c == len ? 0 : (uint32_t)c;
	h->value = (uint32_t)(c == len ? pos : pos + vs);
	h->value_len = (uint32_t)(c == len ? len : len - vs);
	return 0;
}

/* The first '\n' in b[from, n), or NULL: memchr without a call per line,
 * since header lines are short. */
static const char *find_nl(const char *b, size_t from, size_t n)
{
#if defined(__SSE2__)
	while (n - from >= 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(b + from));
		unsigned mask = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('\n')));
		if (mask)
			return b + from + __builtin_ctz(mask);
		from += 16;
	}
#endif
	return memchr(b + from, '\n', n - from);
}

/* The next message in b[0, n): returns the offset past its blank line, 0
 * when it is not complete yet, -1 when it has too many headers. Blank
 * lines before it are skipped (*start is where it begins; *body where its
 * blank line does). *ev is the value of its Event: header, or NULL (a
 * response). With view set, its headers are collected in t->view on the
 * way. Like the parser, "\r\n" right after a line ending in a bare "\n"
 * does not end a message (Asterisk's line end after a Message text that
 * had its own) and is skipped. */
static long next_message(struct tail *t, const char *b, size_t n, int view, size_t *start,
			 size_t *body, const char **ev, size_t *evlen)
{
	size_t pos = 0, lines = 0;
	int bare = 0;

	*start = 0;
	*ev = NULL;
	t->view.n = 0;
	while (pos < n) {
		const char *nl = find_nl(b, pos, n);
		if (!nl)
			return 0;
		size_t end = (size_t)(nl - b) + 1, len = end - 1 - pos;
		int crlf = len && b[pos + len - 1] == '\r';
		len -= (size_t)crlf;
		if (len == 0) {
			if (!lines) {
				*start = end;
			} else if (crlf && bare) {
				bare = 0;
			} else {
				*body = pos;
				return (long)end;
			}
		} else {
			lines++;
			bare = !crlf;
			if (!*ev && len >= 6 && !strncasecmp(b + pos, "Event:", 6)) {
				size_t v = pos + 6 + (len > 6 && b[pos + 6] == ' ');
				*ev = b + v;
				*evlen = pos + len - v;
			}
			if (view && view_add(&t->view, b + *start, pos - *start, len) < 0)
				return -1;
		}
		pos = end;
	}
	return 0;
}

/* The end of the message b[0, n) whose first line ends at eol, or 0 when
 * its blank line has not come yet: the next "\n" followed by "\n", or by
 * "\r\n" when its own line ended in "\r\n" (see next_message). 16 bytes
 * are searched at a time, without a call per line. *body: where the blank
 * line starts. inline: with two callers (next_raw, json_one_pass) the
 * compiler would make it a call per event: 4% more instructions for raw. */
static inline size_t blank_line_after(const char *b, size_t n, size_t eol, size_t *body)
{
	size_t i = eol;

	for (;;) {
		unsigned mask = 0;
#if defined(__SSE2__)
		if (n - i >= 16) {
			__m128i v = _mm_loadu_si128((const __m128i *)(b + i));
			mask = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('\n')));
		} else
#endif
		{
			for (size_t k = 0; k < 16 && i + k < n; k++)
				mask |= (unsigned)(b[i + k] == '\n') << k;
		}
		for (; mask; mask &= mask - 1) {
			size_t p = i + (size_t)__builtin_ctz(mask);
			if (p + 1 < n && b[p + 1] == '\n') {
				*body = p + 1;
				return p + 2;
			}
			if (p + 2 >= n)
				return 0;       /* cannot tell yet */
			if (b[p + 1] == '\r' && b[p + 2] == '\n' && p > 0 && b[p - 1] == '\r') {
				*body = p + 1;
				return p + 3;
			}
		}
		if (n - i <= 16)
			return 0;
		i += 16;
	}
}

/* When b[0, n) starts with a whole "Event: NAME" line, as Asterisk's
 * events do: NAME (*len bytes), and where that line's "\n" is (*eol).
 * NULL otherwise. */
static const char *event_line(const char *b, size_t n, size_t *len, size_t *eol)
{
	const char *nl;
	size_t v;

	if (n < 8 || strncasecmp(b, "Event:", 6) || !(nl = memchr(b, '\n', n)))
		return NULL;
	*eol = (size_t)(nl - b);
	v = 6 + (b[6] == ' ');
	*len = *eol - v - (*eol > v && b[*eol - 1] == '\r');
	return b + v;
}

/* next_message for raw output: when the message starts with its Event:
 * line, as Asterisk's do, only its end is searched for; else the line by
 * line way. */
static long next_raw(struct tail *t, const char *b, size_t n, size_t *start, size_t *body,
		     const char **ev, size_t *evlen)
{
	size_t eol;

	if (!(*ev = event_line(b, n, evlen, &eol)))
		return next_message(t, b, n, 0, start, body, ev, evlen);
	*start = 0;
	return (long)blank_line_after(b, n, eol, body);
}

/* The headers of the message m[0, len) into t->view (-1: too many). */
static int view_of(struct tail *t, const char *m, size_t len)
{
	size_t start, body, nlen;
	const char *name;

	return next_message(t, m, len, 1, &start, &body, &name, &nlen) < 0 ? -1 : 0;
}

static int too_many_headers(struct tail *t)
{
	snprintf(t->cause, sizeof t->cause, "protocol error: more than %zu headers in one message",
		 ami_default_limits.max_headers);
	return RC_PROTOCOL;
}

/* One complete message: m[0, body) its header lines, m[body, len) its
 * blank line; name is its Event: value (NULL: none), v what it decides if
 * that was judged already. Text output comes with t->view filled; json
 * builds it here (json_one_pass declined the message). */
static int direct_one(struct tail *t, const char *m, size_t body, size_t len,
		      const char *name, size_t nlen, enum verdict v)
{
	int rc;

	if (!name) {
		if (len < 9 || strncasecmp(m, "Response:", 9))
			return print_lost(t);
		raw_reply(t, m, len);
		return GO_ON;
	}
	if (v == V_UNJUDGED)
		v = judge(t, name, nlen);
	if (v == V_SKIP) {
		t->filtered++;
		return GO_ON;
	}
	if (out_get_format() != OUT_RAW) {
		if (out_get_format() == OUT_JSON && view_of(t, m, len) < 0)
			return too_many_headers(t);
		t->view.arena = (char *)m;
		t->view.used = body;
		t->view.cap = t->rcap - (size_t)(m - t->rbuf);     /* the formatters read ahead */
		rc = format_msg(t, &t->view);
	} else if (t->timestamp) {
		char ts[48];
		size_t n = time_now(t, 1, ts);
		out_write(m, body);
		out_write("ReceivedAt: ", 12);
		out_write(ts, n);
		out_write("\r\n", 2);
		rc = out_write(m + body, len - body);
	} else {
		rc = out_write(m, len);
	}
	return event_printed(t, rc, v == V_LAST);
}

/* json's fastest way: an event that starts with its Event: line and is to
 * be printed is framed and written in the same pass (out_json_wire_framed);
 * one filtered out is only passed over. Returns the bytes it took, or 0
 * when the message is left to next_raw and direct_one (not such an event,
 * incomplete, or declined), with *v its verdict when it judged it. */
static long json_one_pass(struct tail *t, const char *b, size_t n, enum verdict *v, int *rc)
{
	const char *name;
	size_t nlen, eol, used = 0;
	int r;

	/* Never with --timestamp: json with it is not read directly (run). */
	if (out_get_format() != OUT_JSON || !(name = event_line(b, n, &nlen, &eol)))
		return 0;
	if ((*v = judge(t, name, nlen)) == V_SKIP) {
		size_t body, end = blank_line_after(b, n, eol, &body);
		if (end)
			t->filtered++;
		return (long)end;
	}
	r = out_json_wire_framed(b, n, t->rbuf + t->rcap, &used);
	if (r == OUT_DECLINED)
		return 0;
	*rc = event_printed(t, r, *v == V_LAST);
	return r == RC_OK ? (long)used : (long)n;
}

/* Handles the complete messages in rbuf and keeps the rest. */
static int direct_messages(struct tail *t)
{
	size_t pos = 0, start, body, nlen = 0;
	const char *name;
	int rc = GO_ON, view = out_get_format() == OUT_TEXT;
	long end;

	while (rc == GO_ON) {
		const char *b = t->rbuf + pos;
		size_t n = t->rlen - pos;
		enum verdict v = V_UNJUDGED;
		if ((end = json_one_pass(t, b, n, &v, &rc)) == 0) {
			end = view ? next_message(t, b, n, 1, &start, &body, &name, &nlen)
				   : next_raw(t, b, n, &start, &body, &name, &nlen);
			if (end == 0)
				break;      /* not complete yet */
			if (end < 0) {
				rc = too_many_headers(t);
				break;
			}
			rc = direct_one(t, b + start, body - start, (size_t)end - start, name, nlen, v);
		}
		pos += (size_t)end;
		if (interrupted && rc == GO_ON)
			rc = stop_rc();
		if (out_buffered() > t->queue_cap) {
			t->more_input = 1;
			break;
		}
	}
	if (pos) {
		memmove(t->rbuf, t->rbuf + pos, t->rlen - pos);
		t->rlen -= pos;
	}
	return rc;
}

/* The formatters read ahead of the data: they read zeros, never
 * uninitialised memory. The first buffer comes from calloc, which gets
 * fresh zero pages for this size without touching them (RSS). */
static void grow_rbuf(struct tail *t)
{
	size_t old = t->rcap;

	if (!t->rbuf) {
		t->rbuf = xcalloc(1, RBUF_START);
		t->rcap = RBUF_START;
		return;
	}
	t->rcap *= 2;
	t->rbuf = xrealloc(t->rbuf, t->rcap);
	memset(t->rbuf + old, 0, t->rcap - old);
}

/* Reads the socket until it has nothing more for now. */
static int take_direct(struct tail *t)
{
	int fd = ami_fd(t->a);

	for (;;) {
		int rc = direct_messages(t);
		if (rc != GO_ON || out_buffered() > t->queue_cap)
			return rc;
		if (t->rlen == t->rcap) {
			if (t->rcap >= RBUF_MAX) {
				snprintf(t->cause, sizeof t->cause,
					 "protocol error: message larger than %u bytes", RBUF_MAX);
				return RC_PROTOCOL;
			}
			grow_rbuf(t);
		}
		ssize_t r = recv(fd, t->rbuf + t->rlen, t->rcap - t->rlen, MSG_DONTWAIT);
		if (r > 0) {
			t->rlen += (size_t)r;
		} else if (r == 0) {
			snprintf(t->cause, sizeof t->cause, "connection closed by the server");
			return RC_CONNECT;
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			return GO_ON;
		} else if (errno != EINTR) {
			snprintf(t->cause, sizeof t->cause, "connection lost: %s", strerror(errno));
			return RC_CONNECT;
		} else if (interrupted) {
			return stop_rc();
		}
	}
}

/* The first "\r\n\r\n" in buf (memmem is a GNU extension). */
static const char *find_crlfcrlf(const char *buf, size_t n)
{
	const char *p = buf, *stop = buf + n;

	while (stop - p >= 4 && (p = memchr(p, '\r', (size_t)(stop - p - 3))) != NULL) {
		if (!memcmp(p, "\r\n\r\n", 4))
			return p;
		p++;
	}
	return NULL;
}

/* With a server that streams without pause, reads rarely end on a message
 * boundary, so at_message_start() may never say yes. This peeks for the end
 * of the message the parser is in (take_parsed has printed every complete
 * one), reads exactly up to it, and prints what that completed; the socket
 * then starts a message. *at_boundary says so. */
static int read_to_boundary(struct tail *t, int *at_boundary)
{
	char peek[16384];
	ssize_t n;
	const char *end;
	int r, rc;

	*at_boundary = 0;
	if (!t->passthrough || ami_has_queued(t->a))
		return GO_ON;
	n = recv(ami_fd(t->a), peek, sizeof peek, MSG_PEEK | MSG_DONTWAIT);
	/* A blank line at the very start could be the tail of a stray "\n\r\n"
	 * (see msg.c), so only a later one is trusted as the end. */
	if (n < 5 || !(end = find_crlfcrlf(peek + 1, (size_t)n - 1)))
		return GO_ON;
	if (ami_read_upto(t->a, (size_t)(end + 4 - peek)) != RC_OK)
		return GO_ON;       /* the next normal read reports the problem */
	while ((r = ami_parse_buffered(t->a, &t->ev)) > 0)
		if (ami_msg_is_event(&t->ev) && (rc = take_one(t)) != GO_ON)
			return rc;
	if (r < 0) {
		snprintf(t->cause, sizeof t->cause, "%s", ami_error(t->a));
		return RC_PROTOCOL;
	}
	*at_boundary = !ami_has_buffered(t->a);
	return GO_ON;
}

static int take_events(struct tail *t)
{
	int rc, at_boundary = 0;

	t->more_input = 0;
	if (t->direct)
		return take_direct(t);
	rc = take_parsed(t);
	if (rc == GO_ON && !t->more_input && !at_message_start(t, 0))
		rc = read_to_boundary(t, &at_boundary);
	if (rc == GO_ON && !t->more_input && at_message_start(t, at_boundary)) {
		t->direct = 1;      /* rlen is 0: set by events_on, and only direct reading adds */
		log_debug("reading events directly from now on (after %lu events)",
			  t->printed + t->filtered);
	}
	return rc;
}

/* Reacts to what poll() said about stdout: write, or the reader left. */
static int stdout_ready(short revents)
{
	if (revents & POLLOUT)
		return out_flush() == RC_OK ? GO_ON : RC_IO;
	if (revents & (POLLERR | POLLHUP | POLLNVAL)) {
		if (out_stream_pending() && out_flush() != RC_OK)
			return RC_IO;
		out_reader_gone();
		return RC_IO;
	}
	return GO_ON;
}

/* Waits until the socket has data (sock >= 0), ms pass, or a signal;
 * meanwhile keeps writing queued output. */
static int wait_io(int sock, int ms)
{
	struct pollfd pfd[2] = {
		{ .fd = STDOUT_FILENO, .events = out_stream_pending() ? POLLOUT : 0 },
		{ .fd = sock, .events = POLLIN },
	};
	int r = poll(pfd, sock >= 0 ? 2 : 1, ms);

	if (r < 0 && errno != EINTR) {
		log_error("poll:");
		return RC_IO;
	}
	if (interrupted)
		return stop_rc();
	if (r > 0 && out_streaming() && pfd[0].revents)
		return stdout_ready(pfd[0].revents);
	return GO_ON;
}

static int idle_left(const struct tail *t)
{
	return t->idle_ms > 0 ? ms_left(t->idle_deadline) : -1;
}

static int idle_expired(const struct tail *t)
{
	log_warn("no event for %.1f s (--idle)", t->idle_ms / 1000.0);
	return RC_TIMEOUT;
}

/* Sleeps ms (backoff) while still writing queued output. */
static int pause_ms(struct tail *t, int ms)
{
	int64_t end = now_ms() + ms;
	int left, rc;

	while ((left = ms_left(end)) > 0) {
		int idle = idle_left(t);
		if (idle == 0)
			return idle_expired(t);
		if ((rc = wait_io(-1, idle >= 0 && idle < left ? idle : left)) != GO_ON)
			return rc;
	}
	return GO_ON;
}

/* Capped exponential backoff with jitter: a random wait in [d/2, d]. */
static int backoff_ms(struct tail *t, unsigned attempt)
{
	int d = BACKOFF_FIRST_MS;

	while (--attempt > 0 && d < BACKOFF_MAX_MS)
		d *= 2;
	if (d > BACKOFF_MAX_MS)
		d = BACKOFF_MAX_MS;
	t->rng = t->rng * 1103515245u + 12345u;
	return d / 2 + (int)((t->rng >> 8) % (unsigned)(d / 2 + 1));
}

/* The gap in the stream, as an event in the chosen format. */
static int print_gap(struct tail *t, double start, double end, const char *cause, unsigned tries)
{
	struct ami_msg m;
	char a[48], b[48], secs[32], n[16];
	int rc;

	iso_time(t, start, a);
	iso_time(t, end, b);
	snprintf(secs, sizeof secs, "%.3f", end - start);
	snprintf(n, sizeof n, "%u", tries);
	ami_msg_init(&m);
	ami_msg_add(&m, "Event", "AmiReconnect");
	ami_msg_add(&m, "Server", ami_host_label(t->a));
	ami_msg_add(&m, "GapStart", a);
	ami_msg_add(&m, "GapEnd", b);
	ami_msg_add(&m, "GapSeconds", secs);
	ami_msg_add(&m, "Cause", cause);
	ami_msg_add(&m, "Attempts", n);
	rc = print_note(t, &m);
	ami_msg_free(&m);
	log_warn("reconnected to %s after %s s (%u attempts); events sent meanwhile are lost",
		 ami_host_label(t->a), secs, tries);
	return rc == RC_OK ? GO_ON : RC_IO;
}

/* The connection is gone: log in again until it works, then mark the gap. */
static int reconnect(struct tail *t)
{
	double gap_start = now_wall();
	unsigned tries = 0;
	int rc, delay = 0;

	/* t->cause stays as it is until print_gap: only reading events sets it. */
	log_warn("%s: %s; reconnecting", ami_host_label(t->a), t->cause);
	t->shell_lost |= !t->own;
	close_session(t);
	if (out_flush() != RC_OK)
		return RC_IO;
	for (;;) {
		if (delay > 0 && (rc = pause_ms(t, delay)) != GO_ON)
			return rc;
		tries++;
		if ((rc = open_session(t)) == RC_OK)
			break;
		close_session(t);
		if (interrupted)
			return stop_rc();
		if (rc == RC_USAGE || rc == RC_CONFIG)
			return rc;
		delay = backoff_ms(t, tries);
		log_info("attempt %u failed; next one in %.1f s", tries, delay / 1000.0);
	}
	return print_gap(t, gap_start, now_wall(), t->cause, tries);
}

/* Whether to take input now (see SOFT_QUEUE), and up to what queue size. */
static int input_allowed(struct tail *t)
{
	size_t q = out_buffered();

	if (q <= SOFT_QUEUE) {
		t->hold_until = 0;
		t->queue_cap = SOFT_QUEUE;
	} else if (!t->hold_until) {
		t->hold_until = now_ms() + HOLD_MS;
	} else if (ms_left(t->hold_until) == 0) {
		t->hold_until = 0;      /* the hold is over: one more dose */
		t->queue_cap = q + SOFT_QUEUE;
	}
	return !t->hold_until;
}

/* How long to wait: until the idle deadline, or the end of a hold. */
static int wait_ms(const struct tail *t)
{
	int ms = idle_left(t), left;

	if (t->hold_until && (left = ms_left(t->hold_until)) >= 0 && (ms < 0 || left < ms))
		ms = left;
	return ms;
}

static int stream(struct tail *t)
{
	t->queue_cap = SOFT_QUEUE;
	for (;;) {
		unsigned long before = t->printed;
		int rc = GO_ON, take = input_allowed(t);

		if (take)
			rc = take_events(t);
		if (t->idle_ms > 0 && t->printed != before)
			t->idle_deadline = now_ms() + t->idle_ms;
		if (rc == RC_CONNECT || rc == RC_PROTOCOL) {
			if (!t->reconnect) {
				log_error("%s", t->cause);
				return rc;
			}
			rc = reconnect(t);
		}
		if (rc != GO_ON)
			return rc;
		if (out_flush() != RC_OK)
			return RC_IO;
		if (idle_left(t) == 0)
			return idle_expired(t);
		take = input_allowed(t);
		if (take && (t->more_input || ami_is_http(t->a)))
			continue;       /* input is waiting in our buffers, not the socket */
		if ((rc = wait_io(take ? ami_fd(t->a) : -1, wait_ms(t))) != GO_ON)
			return rc;
	}
}

/* ---------- options ---------- */

/* "64M", "512k", "1048576": bytes, binary suffixes. */
static int parse_size(const char *s, unsigned long *out)
{
	char *end;
	unsigned long long v;
	int shift = 0;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	}
	if (*end == 'i' && shift)
		end++;
	if ((*end == 'B' || *end == 'b') && end[1] == '\0')
		end++;
	if (errno || *end || v > (16ULL << 30) >> shift)
		return -1;
	*out = (unsigned long)(v << shift);
	return 0;
}

static int parse_option(struct tail *t, int ch, char *arg)
{
	unsigned long n;
	int rc;

	switch (ch) {
	case OPT_EVENTS_MASK:
		if ((rc = check_user_value("--events-mask", arg)) != RC_OK)
			return rc;
		t->mask = arg;
		break;
	case 'e':           /* names may go to the server in a Filter */
		if ((rc = check_user_value("--event", arg)) != RC_OK)
			return rc;
		pat_init(&t->events[t->nevents++], arg);
		break;
	case OPT_EXCLUDE:
		if ((rc = check_user_value("--exclude-event", arg)) != RC_OK)
			return rc;
		pat_init(&t->excludes[t->nexcludes++], arg);
		break;
	case OPT_MATCH:
		if ((rc = parse_match(&t->matches[t->nmatches], arg, "--match")) != RC_OK)
			return rc;
		t->nmatches++;
		break;
	case OPT_NO_SERVER_FILTER: t->server_filter = 0; break;
	case 'c':
		if (parse_uint(arg, (unsigned long)-1 / 2, &n) != 0 || n == 0)
			return usage_error("--count: not a positive number: %s", arg);
		t->count = n;
		break;
	case OPT_UNTIL:
		if ((rc = parse_until(&t->untils[t->nuntils], arg)) != RC_OK)
			return rc;
		t->nuntils++;
		break;
	case OPT_IDLE:
		if (parse_seconds(arg, &t->idle_ms) != 0 || t->idle_ms <= 0)
			return usage_error("--idle: not a positive number of seconds: %s", arg);
		break;
	case OPT_RECONNECT: t->reconnect = 1; break;
	case OPT_TIMESTAMP: t->timestamp = 1; break;
	case OPT_BUFFER:
		if (parse_size(arg, &n) != 0 || n < MIN_BUFFER)
			return usage_error("--buffer: expected a size of at least 16K, e.g. 64M, not \"%s\"",
					   arg);
		t->buffer = n;
		break;
	default:
		return ctx_option(t->ctx, ch, arg);
	}
	return CTX_CONTINUE;
}

static void tail_init(struct tail *t, struct ctx *ctx, int argc)
{
	memset(t, 0, sizeof *t);
	t->ctx = ctx;
	t->mask = "on";
	t->server_filter = 1;
	t->buffer = DEFAULT_BUFFER;
	t->count = (unsigned long)-1;   /* never equal to printed */
	/* Each repeatable option can occur at most argc times. */
	t->events = xcalloc((size_t)argc, sizeof *t->events);
	t->excludes = xcalloc((size_t)argc, sizeof *t->excludes);
	t->matches = xcalloc((size_t)argc, sizeof *t->matches);
	t->untils = xcalloc((size_t)argc, sizeof *t->untils);
	t->rng = (unsigned)getpid() ^ (unsigned)now_ms();
	ami_msg_init(&t->ev);
}

static void tail_free(struct tail *t)
{
	for (size_t i = 0; i < t->nmatches; i++)
		match_free(&t->matches[i]);
	for (size_t i = 0; i < t->nuntils; i++) {
		match_free(&t->untils[i].m);
		free(t->untils[i].name);
	}
	free(t->events);
	free(t->excludes);
	free(t->matches);
	free(t->untils);
	ami_msg_free(&t->ev);
	free(t->rbuf);
	free(t->view.h);                /* its arena is rbuf */
	if (t->have_prof)
		profile_free(&t->prof);
}

/* Logoff, then the rest of the output (bounded after a signal), then the
 * totals on stderr. */
static int finish(struct tail *t, int rc)
{
	int frc;

	close_session(t);
	frc = out_stream_end(interrupted ? INTERRUPT_FLUSH_MS : -1);
	if (out_dropped() + t->lost)
		log_warn("%lu events dropped in all (marked AmiDropped in the output)",
			 out_dropped() + t->lost);
	log_info("%lu events printed, %lu filtered out; output queue peak %zu KiB", t->printed,
		 t->filtered, out_queue_peak() >> 10);
	if (out_broken_pipe())
		return RC_OK;       /* main() dies of SIGPIPE, as a filter should */
	if (frc == RC_IO && (rc == RC_OK || rc == RC_TIMEOUT))
		return RC_IO;
	return rc;
}

static int run(struct tail *t)
{
	int rc;

	if (!t->ctx->ami) {
		rc = config_resolve(&t->prof, &t->ctx->ov, CONFIG_SECRET_REQUIRED);
		if (rc != RC_OK)
			return rc;
		t->have_prof = 1;
		t->passthrough = t->prof.transport == TR_TCP && !t->nmatches &&
				 !(t->timestamp && out_get_format() == OUT_JSON);
		for (size_t i = 0; i < t->nuntils; i++)
			t->passthrough &= !t->untils[i].m.key;
	}
	if ((rc = open_session(t)) != RC_OK) {
		close_session(t);
		return rc;
	}
	if (t->have_prof && !t->reconnect) {     /* the secret is not needed any more */
		profile_free(&t->prof);
		t->have_prof = 0;
	}
	out_stream_begin(t->buffer, on_drop, t);
	if (t->idle_ms > 0)
		t->idle_deadline = now_ms() + t->idle_ms;
	rc = stream(t);
	return finish(t, rc == GO_ON ? RC_OK : rc);
}

int cmd_tail_events(int argc, char **argv, struct ctx *ctx)
{
	struct tail t;
	int ch, rc = CTX_CONTINUE;

	tail_init(&t, ctx, argc);
	while (rc == CTX_CONTINUE &&
	       (ch = getopt_long(argc, argv, COMMON_SHORTOPTS "e:c:", longopts, NULL)) != -1)
		rc = parse_option(&t, ch, optarg);
	if (rc == CTX_CONTINUE && optind < argc)
		rc = usage_error("unexpected argument \"%s\"", argv[optind]);
	if (rc == CTX_CONTINUE)
		rc = run(&t);
	tail_free(&t);
	return rc;
}
