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
 * Events are taken from the session as views (ami_next_event_view): each
 * is judged by its name before anything else is done with it; raw output
 * is its bytes as received, json and text read its headers in place. Every
 * byte passes the one parser (common/msg.c), whatever the format.
 *
 * Output is flushed whenever no more input is already buffered, just
 * before waiting: a pipe sees each event at once, a burst goes out in large
 * writes.
 *
 * --from reads a recording (common/recording.c) instead of a session: the
 * same filters, stop conditions and formats, with each event's ReceivedAt
 * standing in for the clock (section "recordings" at the end). */
#include <errno.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include <fcntl.h>
#include <poll.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "cmds.h"
#include "fanout.h"
#include "filter.h"
#include "glob.h"
#include "recording.h"
#include "term_safe.h"

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
	"      --no-server-filter  do not ask Asterisk to filter events\n"
	"  -c, --count N           stop after N printed events\n"
	"      --until EVENT[:KEY=GLOB]  stop after the first such event (printed)\n"
	"      --idle SECONDS      exit 6 when no event was printed for SECONDS\n"
	"      --reconnect         on connection loss reconnect, and mark the gap\n"
	"      --timestamp         add the receive time to each event\n"
	"      --buffer SIZE       queue for a slow reader, e.g. 512K, 64M (default 64M)\n"
	"      --from FILE         read a recording (what --format raw or json --timestamp\n"
	"                          wrote; - for stdin) instead of connecting; --idle then\n"
	"                          counts recording time; exit 7 if it is damaged\n"
	"      --speed X           replay X times as fast as recorded (default: at once)\n"
	"      --realtime          replay at the pace it was recorded (--speed 1)\n";

enum {
	OPT_EVENTS_MASK = OPT_CMD_BASE, OPT_EXCLUDE, OPT_MATCH, OPT_NO_SERVER_FILTER,
	OPT_UNTIL, OPT_IDLE, OPT_RECONNECT, OPT_TIMESTAMP, OPT_BUFFER, OPT_FROM, OPT_SPEED,
	OPT_REALTIME,
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
	{ "from", required_argument, NULL, OPT_FROM },
	{ "speed", required_argument, NULL, OPT_SPEED },
	{ "realtime", no_argument, NULL, OPT_REALTIME },
	{ NULL, 0, NULL, 0 },
};

#define DEFAULT_BUFFER (64UL << 20)
#define MIN_BUFFER (16UL << 10)
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
	const char *arg;                /* as given, for messages */
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
	int mask_set;                   /* --events-mask was given */
	const char *from;               /* --from: a recording, "-" for stdin */
	double speed;                   /* --speed; 0: as fast as it goes */
	/* state */
	struct ctx *ctx;
	struct profile prof;
	int have_prof, own;             /* own: we opened a (not the shell's) */
	int shell_lost;                 /* the shell's session died: use our own */
	int split;                      /* events come with their headers split (else
					 * only their name, split when needed) */
	char cause[300];                /* why the connection ended */
	int64_t hold_until;             /* input held back until then (0: not) */
	size_t queue_cap;               /* take_events stops when more output waits */
	int more_input;                 /* ... and did, with input left to handle */
	struct ami *a;
	struct ami_msg ev;              /* a copy, when an event gets ReceivedAt */
	unsigned long printed, filtered;
	int64_t idle_deadline;
	unsigned rng;
	time_t clock_sec;               /* second of the cached date strings */
	char clock_date[32], clock_zone[8];
	const struct rec_event *replayed;   /* the event of a recording being printed */
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
	m->arg = arg;
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
 * matches when one of its values does. The event must be split. */
static int match_view(const struct match *m, const struct ami_view *ev)
{
	for (size_t i = 0; i < ev->n; i++) {
		const struct ami_header *h = &ev->h[i];
		const char *value = ev->base + h->value;
		if (h->name_len != m->klen || strncasecmp(ev->base + h->name, m->key, m->klen))
			continue;
		if (m->glob) {
			if (glob_match(m->glob, value, h->value_len))
				return 1;
		} else {
			/* values are not NUL-terminated: the range is given */
			regmatch_t range = { .rm_so = 0, .rm_eo = (regoff_t)h->value_len };
			if (regexec(&m->re, value, 1, &range, REG_STARTEND) == 0)
				return 1;
		}
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

/* Splits an event's header lines if they are not yet (a recording's
 * events come split). */
static void split(struct tail *t, struct ami_view *ev)
{
	if (!ev->h)
		ami_split(t->a, ev);
}

/* --match: splits the event when it must look at its headers. */
static int wanted_headers(struct tail *t, struct ami_view *ev)
{
	if (t->nmatches)
		split(t, ev);
	for (size_t i = 0; i < t->nmatches; i++)
		if (!match_view(&t->matches[i], ev))
			return 0;
	return 1;
}

/* --until: the event ends the stream (it is printed first). */
static int until_hit(struct tail *t, struct ami_view *ev)
{
	for (size_t i = 0; i < t->nuntils; i++) {
		if (!pat_match(&t->untils[i].event, ev->event, ev->event_len))
			continue;
		if (!t->untils[i].m.key)
			return 1;
		split(t, ev);
		if (match_view(&t->untils[i].m, ev))
			return 1;
	}
	return 0;
}

/* Ends the record of an event formatted with result rc and counts it:
 * RC_CONTINUE, RC_OK when no more are to be printed (last: it met --until), or
 * RC_IO. */
static int event_printed(struct tail *t, int rc, int last)
{
	out_record_end(1);
	if (rc != RC_OK)
		return RC_IO;
	t->printed++;
	return last || t->printed == t->count ? RC_OK : RC_CONTINUE;
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

/* The time an event was received: now, or when it was recorded (shown as
 * the recording machine showed it, in its UTC offset). */
static size_t time_now(struct tail *t, int full, char *out)
{
	struct timespec ts;
	const struct rec_event *ev = t->replayed;

	if (ev && ev->at) {
		int64_t local = ev->at + (int64_t)ev->tz * 60000;
		int64_t sec = local / 1000 - (local % 1000 < 0);
		struct tm tm;
		time_t tsec = (time_t)sec;
		int n = 0, tz = ev->tz < 0 ? -ev->tz : ev->tz;

		gmtime_r(&tsec, &tm);
		if (full)
			n = (int)strftime(out, 32, "%Y-%m-%dT", &tm);
		n += snprintf(out + n, 48 - (size_t)n, "%02d:%02d:%02d.%03d", tm.tm_hour, tm.tm_min,
			      tm.tm_sec, (int)(local - sec * 1000));
		if (full)
			n += snprintf(out + n, 48 - (size_t)n, "%c%02d:%02d", ev->tz < 0 ? '-' : '+',
				      tz / 60, tz % 60);
		return (size_t)n;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	return format_time(t, &ts, full, out);
}

/* ReceivedAt for --timestamp: a recorded one as it was written. */
static size_t stamp(struct tail *t, char *out)
{
	const struct rec_event *ev = t->replayed;

	if (ev && ev->at_text)
		return (size_t)snprintf(out, 48, "%s", ev->at_text);
	return time_now(t, 1, out);
}

static void iso_time(struct tail *t, double when, char *out)
{
	struct timespec ts = { .tv_sec = (time_t)when };

	ts.tv_nsec = (long)((when - (double)ts.tv_sec) * 1e9);
	format_time(t, &ts, 1, out);
}

/* ---------- output ---------- */

/* How many bytes at v[i] are plain on the text line: what term_safe lets
 * through (printable ASCII, valid UTF-8 but C1) except blank, TAB, '"' and
 * '\\'. 0: must be escaped. Runs for every byte: ASCII is judged here. */
static inline size_t text_plain(const char *v, size_t n, size_t i)
{
	unsigned char c = (unsigned char)v[i];

	if (c < 0x80)
		return c > ' ' && c < 0x7f && c != '"' && c != '\\';
	return term_plain_utf8_len(v + i, n - i);
}

/* Whether v[0, n) is all plain ASCII on the text line (0x21..0x7e but '"'
 * and '\\'): 16 bytes at a time while they stay below lim, up to which a
 * view may be read (past n too). */
static inline int text_plain_ascii(const char *v, size_t n, const char *lim)
{
	size_t i = 0;

#if defined(__SSE2__)
	for (; i < n && v + i + 16 <= lim; i += 16) {
		__m128i x = _mm_loadu_si128((const __m128i *)(v + i));
		__m128i ok = _mm_and_si128(_mm_cmpgt_epi8(x, _mm_set1_epi8(' ')),
					   _mm_cmplt_epi8(x, _mm_set1_epi8(0x7f)));
		__m128i odd = _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('"')),
					   _mm_cmpeq_epi8(x, _mm_set1_epi8('\\')));
		unsigned bad = ~(unsigned)_mm_movemask_epi8(_mm_andnot_si128(odd, ok)) & 0xffffu;
		if (n - i < 16)
			bad &= (1u << (n - i)) - 1;
		if (bad)
			return 0;
	}
#endif
	for (; i < n; i++)
		if ((unsigned char)v[i] >= 0x80 || !text_plain(v, n, i))
			return 0;
	return 1;
}

/* " name=value" when both are plain ASCII, in one move; 0 when not. */
static int text_pair(const struct ami_view *v, const struct ami_header *h)
{
	const char *name = v->base + h->name, *value = v->base + h->value;
	char *o;

	if (!h->name_len || !h->value_len || !text_plain_ascii(name, h->name_len, v->lim) ||
	    !text_plain_ascii(value, h->value_len, v->lim) ||
	    !(o = out_reserve(h->name_len + h->value_len + 2)))
		return 0;
	*o++ = ' ';
	memcpy(o, name, h->name_len);
	o += h->name_len;
	*o++ = '=';
	memcpy(o, value, h->value_len);
	out_commit(o + h->value_len);
	return 1;
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
static int text_line(struct tail *t, const struct ami_view *v)
{
	char ts[48];
	size_t skip = v->n;

	out_write(ts, time_now(t, t->timestamp, ts));
	out_write(" ", 1);
	term_safe_out(v->event ? v->event : "", v->event ? v->event_len : 0);
	for (size_t i = 0; i < v->n; i++) {
		const struct ami_header *h = &v->h[i];
		if (skip == v->n && v->base + h->value == v->event) {
			skip = i;   /* the Event header itself is the name above */
			continue;
		}
		if (text_pair(v, h))
			continue;
		out_write(" ", 1);
		if (h->name_len) {
			term_safe_out(v->base + h->name, h->name_len);
			out_write("=", 1);
		}
		text_value(v->base + h->value, h->value_len);
	}
	return out_write("\n", 1);
}

/* Formats one of our messages (a marker, or an event copied to add a
 * header) in the chosen format; with --timestamp the receive time goes in
 * as ReceivedAt. */
static int format_msg(struct tail *t, struct ami_msg *m)
{
	struct ami_view v;

	if (out_get_format() == OUT_TEXT) {
		ami_view_of_msg(&v, m);
		return text_line(t, &v);
	}
	if (t->timestamp) {
		char ts[48];
		stamp(t, ts);
		ami_msg_add(m, "ReceivedAt", ts);
	}
	return out_msg(m);
}

/* Formats an event seen in place: raw as its bytes, the rest from its
 * headers (split here if they are not yet). */
static int format_event(struct tail *t, struct ami_view *v)
{
	enum out_format f = out_get_format();

	if (f == OUT_RAW && v->wire) {
		char ts[48];
		size_t n;
		if (!t->timestamp)
			return out_write(v->wire, v->wire_len);
		n = stamp(t, ts);
		out_write(v->wire, v->body);
		out_write("ReceivedAt: ", 12);
		out_write(ts, n);
		out_write("\r\n", 2);
		return out_write(v->wire + v->body, v->wire_len - v->body);
	}
	if (f == OUT_JSON && !t->timestamp) {
		int rc = out_json_wire(v);
		if (rc != RC_CONTINUE)
			return rc;
	}
	split(t, v);
	if (f == OUT_TEXT)
		return text_line(t, v);
	if (!t->timestamp)
		return out_view(v);
	ami_msg_from_view(&t->ev, v);
	return format_msg(t, &t->ev);
}

/* One of our markers: a record of its own, never dropped. */
static int print_note(struct tail *t, struct ami_msg *m)
{
	int rc = format_msg(t, m);

	out_record_end(0);
	return rc;
}

/* Formats the marker of n events dropped from the stream, total of them
 * so far. */
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
	format_dropped(t, n, total, reason);
	/* The stream has every marker; stderr gets at most one line a second. */
	t->drop_unlogged += n;
	if (now - t->drop_logged_at >= 1000) {
		log_warn("dropped %lu events (%lu in all): %s", t->drop_unlogged, total, reason);
		t->drop_unlogged = 0;
		t->drop_logged_at = now;
	}
}

/* ---------- session ---------- */

/* Says (at -v) that Asterisk refused the Filter action: what it answered. */
static void refused_note(const char *why)
{
	log_info("events filtered here only: the server refused the Filter action (%s)%s", why,
		 contains_nocase(why, "permission") ? "; it needs write=system" : "");
}

/* Sends one Filter (criteria NULL: the legacy form, filter NULL: none).
 * RC_OK, RC_ACTION (refused: Asterisk's message in why), or a connection
 * error. */
static int send_filter(struct tail *t, const char *criteria, const char *filter, char *why,
		       size_t cap)
{
	struct ami_msg act, reply;
	int rc;

	ami_msg_init(&act);
	ami_msg_init(&reply);
	ami_msg_add(&act, "Action", "Filter");
	ami_msg_add(&act, "Operation", "Add");
	/* Cannot fail: filter.c sends no CR, LF or NUL, and keeps each value
	 * within Asterisk's line. */
	if (criteria)
		ami_msg_add(&act, "MatchCriteria", criteria);
	if (filter)
		ami_msg_add(&act, "Filter", filter);
	rc = ami_action(t->a, &act, &reply);
	if (rc == RC_USAGE)     /* too long a line: never sent */
		rc = RC_ACTION;
	snprintf(why, cap, "%s", rc == RC_ACTION ? ami_error(t->a) : "");
	ami_msg_free(&act);
	ami_msg_free(&reply);
	return rc;
}

/* Whether this Asterisk takes MatchCriteria (MC_YES, MC_NO; MC_UNKNOWN:
 * it refuses Filter): its version from CoreSettings, else the answer to a
 * Filter that only such a version accepts and that changes nothing. RC_OK
 * or a connection error. */
static int server_match_criteria(struct tail *t, enum match_criteria *mc)
{
	struct ami_msg act, reply;
	char why[300];
	int v[3] = { 0, 0, 0 }, rc;
	const char *version = NULL;

	ami_msg_init(&act);
	ami_msg_init(&reply);
	ami_msg_add(&act, "Action", "CoreSettings");
	rc = ami_action(t->a, &act, &reply);
	if (rc == RC_OK)
		version = ami_msg_get(&reply, "AsteriskVersion");
	asterisk_version_parse(version, v);
	*mc = asterisk_match_criteria(v);
	log_debug("server filters: Asterisk %s%s", version ? version : "of unknown version",
		  *mc == MC_YES ? " takes MatchCriteria" : *mc == MC_NO ?
		  " takes no MatchCriteria: legacy regex filters" : "");
	ami_msg_free(&act);
	ami_msg_free(&reply);
	if (rc != RC_OK && rc != RC_ACTION)
		return rc;
	if (*mc != MC_UNKNOWN)
		return RC_OK;
	rc = send_filter(t, FILTER_PROBE_CRITERIA, FILTER_PROBE_FILTER, why, sizeof why);
	if (rc == RC_OK)
		*mc = MC_YES;
	else if (rc == RC_ACTION && contains_nocase(why, "compile"))
		*mc = MC_NO;
	else if (rc == RC_ACTION)
		refused_note(why);
	if (rc == RC_OK || rc == RC_ACTION)
		log_debug("server filters: a MatchCriteria probe was answered %s: %s",
			  rc == RC_OK ? "Success" : why, *mc == MC_YES ? "MatchCriteria" :
			  *mc == MC_NO ? "legacy regex filters" : "none");
	return rc == RC_ACTION ? RC_OK : rc;
}

/* tail-events' options as filter.c takes them. */
struct filter_args {
	const char **events, **excludes;
	struct sf_match *matches, *until_m;
	struct sf_until *untils;
	struct sf_options o;
};

/* 0 when there is nothing Asterisk could be asked to filter. */
static int filter_args_of(const struct tail *t, struct filter_args *f)
{
	size_t i, pushable = t->nevents + t->nexcludes;

	memset(f, 0, sizeof *f);
	for (i = 0; i < t->nmatches; i++)
		pushable += t->matches[i].glob != NULL;
	if (!pushable)
		return 0;
	f->events = xcalloc(t->nevents + 1, sizeof *f->events);
	f->excludes = xcalloc(t->nexcludes + 1, sizeof *f->excludes);
	f->matches = xcalloc(t->nmatches + 1, sizeof *f->matches);
	f->untils = xcalloc(t->nuntils + 1, sizeof *f->untils);
	f->until_m = xcalloc(t->nuntils + 1, sizeof *f->until_m);
	for (i = 0; i < t->nevents; i++)
		f->events[i] = t->events[i].s;
	for (i = 0; i < t->nexcludes; i++)
		f->excludes[i] = t->excludes[i].s;
	for (i = 0; i < t->nmatches; i++)
		f->matches[i] = (struct sf_match){ t->matches[i].key, t->matches[i].klen,
						   t->matches[i].glob, t->matches[i].arg };
	for (i = 0; i < t->nuntils; i++) {
		const struct match *m = &t->untils[i].m;
		f->until_m[i] = (struct sf_match){ m->key, m->klen, m->glob, m->arg };
		f->untils[i] = (struct sf_until){ t->untils[i].name, m->key ? &f->until_m[i] : NULL };
	}
	f->o = (struct sf_options){ f->events, t->nevents, f->excludes, t->nexcludes, f->matches,
				    t->nmatches, f->untils, t->nuntils };
	return 1;
}

static void filter_args_free(struct filter_args *f)
{
	free(f->events);
	free(f->excludes);
	free(f->matches);
	free(f->untils);
	free(f->until_m);
}

/* Sends the planned filters. One that is refused is left out, and when
 * permission is refused, all that follow; if an include is left out while
 * others went in, an include of every event opens the filter again (the
 * others would hide its events). RC_OK or a connection error. */
static int send_plan(struct tail *t, const struct sf_plan *p)
{
	size_t included = 0, i;
	int rc = RC_OK, lost = 0;
	char why[300];

	for (i = 0; i < p->n && rc == RC_OK; i++) {
		const struct sf_filter *f = &p->f[i];
		char *what = sf_describe(f);
		rc = send_filter(t, f->criteria, f->filter, why, sizeof why);
		if (rc == RC_OK)
			log_debug("server filter (%s): %s", f->origin, what);
		if (rc == RC_ACTION && !contains_nocase(why, "permission")) {
			log_info("the server refused the filter for %s (%s): %s; filtered here",
				 f->origin, what, why);
			lost |= f->include;
			rc = RC_OK;
		} else if (rc == RC_ACTION) {
			refused_note(why);
			for (size_t j = i; j < p->n; j++)
				lost |= p->f[j].include;
		}
		included += rc == RC_OK && f->include;
		free(what);
	}
	if (rc == RC_ACTION)
		rc = RC_OK;
	if (lost && included && rc == RC_OK) {
		rc = send_filter(t, NULL, FILTER_ALL_EVENTS, why, sizeof why);
		if (rc == RC_ACTION)
			log_warn("the server kept part of our event filter; some events may be missing");
		rc = rc == RC_ACTION ? RC_OK : rc;
	}
	return rc;
}

/* Asks Asterisk to send only the events we may print (Filter actions,
 * session-scoped, so again after each reconnect), as filter.c plans them
 * for this server: MatchCriteria where its version takes them, else the
 * legacy regexes. The client filter stays authoritative; the server's only
 * saves bandwidth, and never hides an event we would print (--until ones
 * included). */
static int push_filters(struct tail *t)
{
	struct filter_args args;
	struct sf_plan plan;
	enum match_criteria mc;
	int rc;

	if (!t->server_filter || !t->own || !filter_args_of(t, &args))
		return RC_OK;
	rc = server_match_criteria(t, &mc);
	if (rc == RC_OK && mc != MC_UNKNOWN) {
		sf_plan(&plan, &args.o, mc == MC_YES);
		for (const char *n = plan.notes.p; n && *n; n += strcspn(n, "\n") + 1)
			log_debug("server filters: %.*s", (int)strcspn(n, "\n"), n);
		rc = send_plan(t, &plan);
		sf_plan_free(&plan);
	}
	filter_args_free(&args);
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
 * Asterisk sends nothing we would throw away meanwhile. Events that come
 * before its answer (a server that streams before being asked) are queued
 * by the session and taken first. */
static int events_on(struct tail *t)
{
	struct ami_msg act, reply;
	int rc;

	ami_msg_init(&act);
	ami_msg_init(&reply);
	ami_msg_add(&act, "Action", "Events");
	ami_msg_add(&act, "EventMask", t->mask);
	rc = ami_action(t->a, &act, &reply);
	if (rc == RC_OK || rc == RC_ACTION)
		check_events_reply(t, &reply);
	rc = rc == RC_ACTION ? RC_OK : rc;
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

/* Filters and prints one event. RC_CONTINUE, RC_OK when a stop condition was
 * met, or RC_IO. Its name decides first; headers are looked at only when
 * a --match, a keyed --until or the format needs them. */
static int take_event(struct tail *t, struct ami_view *ev)
{
	int last = t->nuntils && until_hit(t, ev);

	if (!last && (!wanted_name(t, ev->event, ev->event_len) || !wanted_headers(t, ev))) {
		t->filtered++;
		return RC_CONTINUE;
	}
	return event_printed(t, format_event(t, ev), last);
}

/* Prints every event that has already arrived. RC_CONTINUE when none is left,
 * or when more output waits than queue_cap (more_input: input is left). */
static int take_events(struct tail *t)
{
	/* HTTP has no socket to poll: the wait is the first read, which
	 * long-polls WaitEvent until the idle deadline (ami caps each poll). */
	int64_t deadline = !ami_can_poll(t->a) && !ami_has_buffered(t->a)
		? (t->idle_ms > 0 ? t->idle_deadline : -1) : 0;
	struct ami_view ev;
	int rc;

	t->more_input = 0;
	while ((rc = ami_next_event_view(t->a, &ev, t->split, deadline)) == RC_OK) {
		int one = take_event(t, &ev);
		deadline = 0;
		if (one != RC_CONTINUE)
			return one;
		if (interrupted)
			return stop_rc();
		if (out_buffered() > t->queue_cap) {
			t->more_input = 1;
			return RC_CONTINUE;
		}
	}
	if (rc == RC_TIMEOUT)
		return RC_CONTINUE;
	if (rc == RC_CONNECT || rc == RC_PROTOCOL)
		snprintf(t->cause, sizeof t->cause, "%s", ami_error(t->a));
	return rc == RC_INTERRUPTED ? stop_rc() : rc;
}

/* Reacts to what poll() said about stdout: write, or the reader left. */
static int stdout_ready(short revents)
{
	if (revents & POLLOUT)
		return out_flush() == RC_OK ? RC_CONTINUE : RC_IO;
	if (revents & (POLLERR | POLLHUP | POLLNVAL)) {
		if (out_stream_pending() && out_flush() != RC_OK)
			return RC_IO;
		out_reader_gone();
		return RC_IO;
	}
	return RC_CONTINUE;
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
	return RC_CONTINUE;
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

/* Waits ms (a backoff) while still writing queued output: sleep_ms would
 * leave a slow reader's events waiting until the next attempt. */
static int wait_draining(struct tail *t, int ms)
{
	int64_t end = now_ms() + ms;
	int left, rc;

	while ((left = ms_left(end)) > 0) {
		int idle = idle_left(t);
		if (idle == 0)
			return idle_expired(t);
		if ((rc = wait_io(-1, idle >= 0 && idle < left ? idle : left)) != RC_CONTINUE)
			return rc;
	}
	return RC_CONTINUE;
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
	return rc == RC_OK ? RC_CONTINUE : RC_IO;
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
		if (delay > 0 && (rc = wait_draining(t, delay)) != RC_CONTINUE)
			return rc;
		tries++;
		if ((rc = open_session(t)) == RC_OK)
			break;
		close_session(t);
		if (interrupted)
			return stop_rc();
		if (rc == RC_USAGE || rc == RC_CONFIG)
			return rc;
		delay = backoff_ms(tries, &t->rng);
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
		int rc = RC_CONTINUE, take = input_allowed(t);

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
		if (rc != RC_CONTINUE)
			return rc;
		if (out_flush() != RC_OK)
			return RC_IO;
		if (idle_left(t) == 0)
			return idle_expired(t);
		take = input_allowed(t);
		if (take && (t->more_input || !ami_can_poll(t->a)))
			continue;       /* input is waiting in our buffers, not the socket */
		if ((rc = wait_io(take ? ami_fd(t->a) : -1, wait_ms(t))) != RC_CONTINUE)
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

/* A replay speed: a positive decimal number, at most a million. */
static int parse_speed(const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v > 0 && v <= 1e6))
		return -1;
	*out = v;
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
		t->mask_set = 1;
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
	case OPT_FROM: t->from = arg; break;
	case OPT_SPEED:
		if (parse_speed(arg, &t->speed) != 0)
			return usage_error("--speed: not a positive number: %s", arg);
		break;
	case OPT_REALTIME: t->speed = 1; break;
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
	if (out_dropped())
		log_warn("%lu events dropped in all (marked AmiDropped in the output)",
			 out_dropped());
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
		if (rc == RC_FANOUT) {      /* several profiles: one child each */
			struct fanout_stream fs = {
				.count = t->count == (unsigned long)-1 ? 0 : t->count,
				.idle_ms = t->idle_ms, .reconnect = t->reconnect,
			};
			return fanout_tail(t->ctx, &fs);
		}
		if (rc != RC_OK)
			return rc;
		t->have_prof = 1;
	}
	if (fanout_child_profile())
		t->idle_ms = 0;     /* --idle is the merged stream's, kept by the parent */
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
	/* An event to be printed as text is split as it is framed, unless its
	 * name may filter it out first (then only if it is kept); json is
	 * made from its bytes, split only when out_json_wire declines it. */
	t->split = out_get_format() == OUT_TEXT && !t->nevents && !t->nexcludes;
	rc = stream(t);
	return finish(t, rc == RC_CONTINUE ? RC_OK : rc);
}

/* ---------- recordings (--from) ---------- */

/* Waits until the time the event is due at --speed (its ReceivedAt after
 * the first one's, divided by the speed, after the replay began), writing
 * what waits meanwhile. An event without a time, or earlier than the one
 * before (a clock set back), is due at once. */
static int pace(struct tail *t, const struct rec_event *ev, int64_t *first_at, int64_t start)
{
	int64_t due;
	int left, rc;

	if (t->speed <= 0 || !ev->at)
		return RC_CONTINUE;
	if (!*first_at)
		*first_at = ev->at;
	due = start + (int64_t)((double)(ev->at - *first_at) / t->speed);
	if (ms_left(due) > 0 && out_flush() != RC_OK)
		return RC_IO;
	while ((left = ms_left(due)) > 0)
		if ((rc = wait_io(-1, left)) != RC_CONTINUE)
			return rc;
	return RC_CONTINUE;
}

/* --idle in recording time: the live stream would have stopped (exit 6)
 * when nothing was printed for that long before this event came. */
static int idle_gap(struct tail *t, const struct rec_event *ev, int64_t *last)
{
	if (t->idle_ms <= 0 || !ev->at)
		return RC_CONTINUE;
	if (!*last)
		*last = ev->at;
	if (ev->at - *last <= t->idle_ms)
		return RC_CONTINUE;
	log_warn("no event for %.1f s of the recording (--idle)", t->idle_ms / 1000.0);
	return RC_TIMEOUT;
}

/* The next event of the recording, reading more when none is buffered;
 * output is flushed before a read, which may wait (a pipe). 1 an event, 0
 * its end, or an RC_* code. */
static int next_recorded(struct tail *t, struct rec_reader *r, int fd, struct rec_event *ev)
{
	for (;;) {
		int got = rec_next(r, ev);
		if (got > 0)
			return 1;
		if (got < 0 || rec_done(r)) {
			if (got == 0)
				return 0;
			log_error("%s: %s", strcmp(t->from, "-") ? t->from : "stdin", rec_error(r));
			return rec_rc(r);
		}
		if (out_flush() != RC_OK)
			return RC_IO;
		if (rec_read(r, fd) < 0 && !rec_rc(r) && interrupted)
			return stop_rc();
	}
}

/* Prints the events of the recording as the live stream printed them,
 * until its end or a stop condition. */
static int replay(struct tail *t, struct rec_reader *r, int fd)
{
	struct rec_event ev;
	int64_t first_at = 0, last_printed = 0, start = now_ms();
	int shows_time = t->timestamp || out_get_format() == OUT_TEXT;
	unsigned long untimed = 0;
	int got, rc = RC_CONTINUE;

	while (rc == RC_CONTINUE && (got = next_recorded(t, r, fd, &ev)) == 1) {
		unsigned long before = t->printed;
		untimed += shows_time && !ev.at;
		if ((rc = idle_gap(t, &ev, &last_printed)) != RC_CONTINUE ||
		    (rc = pace(t, &ev, &first_at, start)) != RC_CONTINUE)
			break;
		t->replayed = &ev;
		rc = take_event(t, &ev.v);
		t->replayed = NULL;
		if (t->printed != before)
			last_printed = ev.at;
		if (rc == RC_CONTINUE && interrupted)
			rc = stop_rc();
	}
	if (rc == RC_CONTINUE)
		rc = got == 0 ? RC_OK : got;
	if (untimed && rc != RC_IO)
		log_warn("%lu events had no ReceivedAt (recorded without --timestamp?): "
			 "shown with the time they were replayed", untimed);
	return rc;
}

/* --from: opens the recording and replays it. */
static int run_recording(struct tail *t)
{
	int fd = strcmp(t->from, "-") ? open(t->from, O_RDONLY | O_CLOEXEC) : STDIN_FILENO;
	struct rec_reader *r;
	int rc;

	if (fd < 0) {
		log_error("%s:", t->from);
		return RC_IO;
	}
	r = rec_new();
	t->split = 1;
	rc = replay(t, r, fd);
	log_info("%llu bytes of recording read, %lu responses skipped",
		 (unsigned long long)rec_bytes(r), rec_skipped(r));
	rec_free(r);
	if (fd != STDIN_FILENO)
		close(fd);
	return finish(t, rc);
}

/* Options that ask a server for something mean nothing with --from. */
static int check_from(const struct tail *t)
{
	if (!t->from)
		return t->speed > 0 ? usage_error("--speed and --realtime need --from") : RC_OK;
	if (t->reconnect)
		return usage_error("--reconnect: no connection with --from");
	if (t->mask_set)
		return usage_error("--events-mask: no server to ask with --from");
	return RC_OK;
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
	if (rc == CTX_CONTINUE && (rc = check_from(&t)) == RC_OK)
		rc = CTX_CONTINUE;
	if (rc == CTX_CONTINUE)
		rc = t.from ? run_recording(&t) : run(&t);
	tail_free(&t);
	return rc;
}
