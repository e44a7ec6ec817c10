/* calls.c - `ami calls`: the calls up now, or (--follow) one record per
 * call as it ends: a CDR built from AMI events, live or (--from) from a
 * recording.
 *
 * Everything goes through the state model (common/state.c): the calls up
 * now are its calls after a CoreShowChannels; a finished call is the
 * history it hands to on_record when the call's last channel is gone,
 * which common/callrec.c turns into a summary and a JSON object. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>

#include "callrec.h"
#include "cmds.h"
#include "json.h"
#include "recording.h"
#include "state.h"

const char cmd_calls_help[] =
	"usage: ami calls [options]\n"
	"       ami calls --follow [-c N] [--idle SECONDS] [--reconnect] [options]\n"
	"       ami calls --from FILE [-c N] [--idle SECONDS] [options]\n"
	"\n"
	"Without --follow: the calls up now (CoreShowChannels, channels grouped by\n"
	"Linkedid, a Local ;1/;2 pair as one side): caller, callee, state, start,\n"
	"duration, bridge and channels; a table, or with --json one object per call.\n"
	"With --follow: one record per call as it ends, built from the events (a CDR\n"
	"from AMI): start, answer, end, duration, billsec, caller, callee,\n"
	"disposition (ANSWERED, NO ANSWER, BUSY, FAILED), cause, and with --json the\n"
	"channels, dials, applications, bridges, conferences, queues and transfers.\n"
	"A record that may lack something says why (Incomplete: partial, gap,\n"
	"truncated, open). Exit 0 after --count, 6 after --idle, 5 when the\n"
	"connection is lost (without --reconnect), 130/143 on SIGINT/SIGTERM.\n"
	"\n"
	"  -f, --follow            print each call as it ends\n"
	"  -c, --count N           stop after N calls (--follow, --from)\n"
	"      --idle SECONDS      exit 6 when no call ended for SECONDS (--from:\n"
	"                          of the recording)\n"
	"      --reconnect         on connection loss reconnect; calls that span the\n"
	"                          gap are marked incomplete\n"
	"      --from FILE         the records of a recording (what tail-events --format\n"
	"                          raw or json --timestamp wrote; - for stdin); calls\n"
	"                          still up at its end are marked open\n";

enum { OPT_IDLE = OPT_CMD_BASE, OPT_RECONNECT, OPT_FROM };

static const struct option longopts[] = {
	COMMON_LONGOPTS,
	{ "follow", no_argument, NULL, 'f' },
	{ "count", required_argument, NULL, 'c' },
	{ "idle", required_argument, NULL, OPT_IDLE },
	{ "reconnect", no_argument, NULL, OPT_RECONNECT },
	{ "from", required_argument, NULL, OPT_FROM },
	{ NULL, 0, NULL, 0 },
};

struct calls {
	struct ctx *ctx;
	int follow, reconnect, idle_ms;
	const char *from;
	unsigned long count, printed;
	struct pbx *p;
	int out_rc;                     /* RC_IO once a record could not be written */
	int64_t last_end;               /* when the last record was printed (--idle) */
	struct ami *a;
	unsigned rng;
};

static int stop_rc(void)
{
	return interrupted == SIGTERM ? RC_TERMINATED : RC_INTERRUPTED;
}

static int64_t wall_ms(void)
{
	return (int64_t)(now_wall() * 1000);
}

/* ---------- text ---------- */

/* "Alice <100>", "100", "Alice", or "-". */
static void party_text(const char *num, const char *name, char *out, size_t size)
{
	if (*num && *name)
		snprintf(out, size, "%s <%s>", name, num);
	else
		snprintf(out, size, "%s", *num ? num : *name ? name : "-");
}

/* "1:02:03" for ms. */
static void hms(int64_t ms, char *out, size_t size)
{
	long s = (long)((ms < 0 ? 0 : ms) / 1000);

	snprintf(out, size, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
}

/* "2026-12-06 14:03:07" (local) for ms, "-" for 0. */
static void day_time(int64_t ms, char *out)
{
	char t[48];

	if (!ms) {
		strcpy(out, "-");
		return;
	}
	call_time(ms, t);
	snprintf(out, 20, "%.10s %.8s", t, t + 11);
}

/* A finished call on one line, in fixed columns:
 * START DISPOSITION DURATION BILLSEC CALLER -> CALLEE CAUSE LINKEDID [incomplete] */
static void record_line(const struct pbx_record *r, const struct call_summary *s)
{
	char start[24], dur[24], bill[24], caller[160], callee[160], cause[300], words[64];

	day_time(r->start, start);
	hms(r->end - r->start, dur, sizeof dur);
	if (s->disposition == CALL_ANSWERED && !s->answer)
		strcpy(bill, "-");                  /* answered before we watched */
	else
		hms(s->answer ? r->end - s->answer : 0, bill, sizeof bill);
	party_text(s->caller.number, s->caller.name, caller, sizeof caller);
	if (s->callee.leg >= 0)
		party_text(s->callee.number, s->callee.name, callee, sizeof callee);
	else
		strcpy(callee, "-");
	if (s->cause >= 0)
		snprintf(cause, sizeof cause, "%d %s", s->cause, *s->cause_txt ? s->cause_txt : "");
	else
		strcpy(cause, "-");
	out_printf("%-19s  %-9s  %8s  %8s  %-22s -> %-22s  %-24s  %s", start,
		   call_disposition_name(s->disposition), dur, bill, caller, callee, cause,
		   r->linkedid);
	if (r->flags)
		out_printf("  [incomplete: %s]", call_incomplete(r->flags, words, sizeof words));
	out_write("\n", 1);
}

/* ---------- finished calls ---------- */

/* The model's callback: a call has ended. */
static void on_record(void *arg, const struct pbx_record *r)
{
	struct calls *c = arg;
	struct call_summary s;

	if (c->out_rc != RC_OK || c->printed == c->count)
		return;
	call_summarize(r, &s);
	if (out_get_format() == OUT_JSON)
		c->out_rc = json_print_line(call_record_json(r, &s));
	else
		record_line(r, &s);
	if (c->out_rc == RC_OK)
		c->out_rc = out_flush();
	c->printed++;
}

/* RC_CONTINUE, RC_OK once --count records are out, or RC_IO. */
static int after_feed(struct calls *c, unsigned long before, int64_t now)
{
	if (c->printed != before)
		c->last_end = now;
	if (c->out_rc != RC_OK)
		return c->out_rc;
	return c->printed == c->count ? RC_OK : RC_CONTINUE;
}

/* ---------- the session ---------- */

static int feed_item(const struct ami_msg *m, void *arg)
{
	struct calls *c = arg;

	pbx_feed(c->p, m, wall_ms());
	return RC_OK;
}

/* Sends the model's list requests (CoreShowChannels) and feeds the
 * answers. RC_ACTION when Asterisk refused the list. */
static int sync_model(struct calls *c)
{
	const struct pbx_list_state *ls;
	struct pbx_request r;
	struct ami_msg act, reply;
	int rc = RC_OK;

	ami_msg_init(&act);
	ami_msg_init(&reply);
	pbx_sync_begin(c->p, wall_ms());
	while (rc == RC_OK && pbx_next_request(c->p, &r)) {
		ami_msg_clear(&act);
		pbx_request_msg(&r, &act);
		rc = ami_action_list(c->a, &act, &reply, feed_item, c);
		if (rc != RC_OK && rc != RC_ACTION)
			pbx_request_lost(c->p, &r, ami_error(c->a));
		else
			rc = RC_OK;
	}
	ami_msg_free(&act);
	ami_msg_free(&reply);
	ls = &pbx_sync_state(c->p)->list[PBX_LIST_CHANNELS];
	if (rc == RC_OK && (ls->status == PBX_LS_DENIED || ls->status == PBX_LS_FAILED)) {
		log_error("CoreShowChannels: %s%s%s", ls->message,
			  ls->status == PBX_LS_DENIED ? "; it needs write=" : "",
			  ls->status == PBX_LS_DENIED ? pbx_list_privilege(PBX_LIST_CHANNELS) : "");
		return RC_ACTION;
	}
	if (rc != RC_OK && rc != RC_INTERRUPTED)
		log_error("%s", ami_error(c->a));
	return rc;
}

static int open_session(struct calls *c, const char *events)
{
	int rc = ctx_session(c->ctx, &c->a, events);

	if (rc == RC_OK)
		rc = sync_model(c);
	return rc;
}

static void close_session(struct calls *c)
{
	ctx_session_done(c->ctx, c->a);
	c->a = NULL;
}

/* ---------- the calls up now ---------- */

static void add_party(cJSON *o, const char *key, const char *num, const char *name,
		      const struct pbx_channel *ch)
{
	cJSON *x;

	if (!ch) {
		cJSON_AddNullToObject(o, key);
		return;
	}
	x = cJSON_AddObjectToObject(o, key);
	cJSON_AddItemToObject(x, "Number", *num ? cJSON_CreateString(num) : cJSON_CreateNull());
	cJSON_AddItemToObject(x, "Name", *name ? cJSON_CreateString(name) : cJSON_CreateNull());
	cJSON_AddStringToObject(x, "Channel", ch->name);
}

static cJSON *call_json(const struct pbx_call_view *v, int64_t now)
{
	cJSON *o = json_object(), *chans;

	cJSON_AddStringToObject(o, "Linkedid", v->call->linkedid);
	add_party(o, "Caller", v->caller_num, v->caller_name, v->caller);
	add_party(o, "Callee", v->callee_num, v->callee_name, v->callee);
	cJSON_AddStringToObject(o, "State", pbx_call_state_name(v->state));
	call_json_time(o, "Start", v->start);
	call_json_time(o, "Answer", v->answer);
	cJSON_AddNumberToObject(o, "Duration", v->start ? (double)(now - v->start) / 1000 : 0);
	call_json_text(o, "Bridge", v->bridge ? v->bridge->id : NULL);
	call_json_text(o, "Conference", v->conf ? v->conf->name : NULL);
	call_json_text(o, "Application", v->app);
	call_json_text(o, "Data", v->app_data);
	chans = cJSON_AddArrayToObject(o, "Channels");
	for (const struct pbx_channel *ch = v->call->channels.first; ch; ch = ch->in_call.next) {
		cJSON *x = cJSON_CreateObject();
		cJSON_AddStringToObject(x, "Channel", ch->name);
		cJSON_AddStringToObject(x, "Uniqueid", ch->uniqueid);
		call_json_text(x, "State", ch->state_desc);
		call_json_text(x, "CallerIDNum", ch->cid_num);
		call_json_text(x, "CallerIDName", ch->cid_name);
		call_json_text(x, "ConnectedLineNum", ch->conn_num);
		call_json_text(x, "ConnectedLineName", ch->conn_name);
		call_json_text(x, "Application", ch->app);
		call_json_text(x, "Data", ch->app_data);
		call_json_text(x, "Bridge", ch->bridge ? ch->bridge->id : NULL);
		call_json_time(x, "Start", ch->start);
		cJSON_AddItemToArray(chans, x);
	}
	return o;
}

enum { COL_LINKEDID, COL_CALLER, COL_CALLEE, COL_STATE, COL_START, COL_DURATION, COL_BRIDGE,
       COL_CHANNELS, NCOLS };

/* One row of the table: the column texts, malloc'd. */
static void call_row(const struct pbx_call_view *v, int64_t now, char *col[NCOLS])
{
	char buf[4096], t[48];
	size_t n = 0;

	col[COL_LINKEDID] = xstrdup(v->call->linkedid);
	party_text(v->caller_num, v->caller_name, buf, sizeof buf);
	col[COL_CALLER] = xstrdup(buf);
	party_text(v->callee_num, v->callee_name, buf, sizeof buf);
	col[COL_CALLEE] = xstrdup(v->callee || *v->callee_num ? buf : "-");
	col[COL_STATE] = xstrdup(pbx_call_state_name(v->state));
	call_time(v->start, t);
	col[COL_START] = v->start ? xasprintf("%.8s", t + 11) : xstrdup("-");
	hms(v->start ? now - v->start : 0, buf, sizeof buf);
	col[COL_DURATION] = xstrdup(buf);
	col[COL_BRIDGE] = v->bridge ? xasprintf("%.8s", v->bridge->id) : xstrdup("-");
	buf[0] = '\0';
	for (const struct pbx_channel *ch = v->call->channels.first; ch; ch = ch->in_call.next)
		n += (size_t)snprintf(buf + n, n < sizeof buf ? sizeof buf - n : 0, "%s%s",
				      n ? "," : "", ch->name);
	col[COL_CHANNELS] = xstrdup(buf);
}

/* The calls as a table whose columns fit their widest cell. */
static int print_table(const struct pbx *p, int64_t now)
{
	static const char *const head[NCOLS] = { "LINKEDID", "CALLER", "CALLEE", "STATE", "START",
						 "DURATION", "BRIDGE", "CHANNELS" };
	size_t n = pbx_count(p, PBX_KIND_CALL), width[NCOLS], r = 0;
	char *(*rows)[NCOLS] = xcalloc(n + 1, sizeof *rows);
	struct pbx_call_view v;

	for (size_t k = 0; k < NCOLS; k++) {
		rows[0][k] = xstrdup(head[k]);
		width[k] = strlen(head[k]);
	}
	for (const struct pbx_call *call = pbx_calls(p); call; call = call->all.next) {
		pbx_call_view(call, &v);
		call_row(&v, now, rows[++r]);
		for (size_t k = 0; k < NCOLS; k++)
			if (strlen(rows[r][k]) > width[k])
				width[k] = strlen(rows[r][k]);
	}
	for (size_t i = 0; i <= r; i++) {
		for (size_t k = 0; k < NCOLS; k++) {
			if (k + 1 < NCOLS)
				out_printf("%-*s  ", (int)width[k], rows[i][k]);
			else
				out_printf("%s\n", rows[i][k]);
			free(rows[i][k]);
		}
	}
	free(rows);
	return out_flush();
}

static int calls_now(struct calls *c)
{
	int64_t now;
	int rc;

	pbx_sync_lists(c->p, 1u << PBX_LIST_CHANNELS);
	if ((rc = open_session(c, "off")) != RC_OK) {
		close_session(c);
		return rc;
	}
	close_session(c);
	now = wall_ms();
	if (out_get_format() == OUT_TEXT)
		return print_table(c->p, now);
	for (const struct pbx_call *call = pbx_calls(c->p); call; call = call->all.next) {
		struct pbx_call_view v;
		pbx_call_view(call, &v);
		if ((rc = json_print_line(call_json(&v, now))) != RC_OK)
			return rc;
	}
	return out_flush();
}

/* ---------- --follow ---------- */

/* The connection is gone: log in again until it works; the resync marks
 * the calls up as having spanned a gap, and ends those gone meanwhile. */
static int reconnect(struct calls *c, const char *why)
{
	unsigned tries = 0;
	int rc;

	log_warn("%s; reconnecting (calls up now will be marked incomplete)", why);
	close_session(c);
	for (;;) {
		if (tries && sleep_ms(backoff_ms(tries, &c->rng), -1) != RC_OK)
			return stop_rc();
		tries++;
		if ((rc = open_session(c, "on")) == RC_OK)
			break;
		close_session(c);
		if (interrupted)
			return stop_rc();
		if (rc == RC_USAGE || rc == RC_CONFIG || rc == RC_AUTH || rc == RC_ACTION)
			return rc;
	}
	log_warn("reconnected after %u attempts; events sent meanwhile are lost", tries);
	return RC_CONTINUE;
}

static int follow(struct calls *c)
{
	struct ami_msg ev;
	int rc;

	if ((rc = open_session(c, "on")) != RC_OK)
		return rc;
	ami_msg_init(&ev);
	c->last_end = now_ms();
	for (rc = RC_CONTINUE; rc == RC_CONTINUE;) {
		unsigned long before = c->printed;
		int64_t deadline = c->idle_ms > 0 ? c->last_end + c->idle_ms : -1;
		int got = ami_next_event(c->a, &ev, deadline);

		if (got == RC_OK) {
			pbx_feed(c->p, &ev, wall_ms());
			rc = after_feed(c, before, now_ms());
		} else if (got == RC_TIMEOUT && c->idle_ms > 0 && ms_left(deadline) == 0) {
			log_warn("no call ended for %.1f s (--idle)", c->idle_ms / 1000.0);
			rc = RC_TIMEOUT;
		} else if (got == RC_INTERRUPTED || interrupted) {
			rc = stop_rc();
		} else if ((got == RC_CONNECT || got == RC_PROTOCOL) && c->reconnect) {
			rc = reconnect(c, ami_error(c->a));
		} else if (got != RC_TIMEOUT) {
			log_error("%s", ami_error(c->a));
			rc = got;
		}
	}
	ami_msg_free(&ev);
	return rc;
}

/* ---------- --from ---------- */

/* The records of a recording; calls still up at its end (or where it is
 * damaged) come out marked open. */
static int from_recording(struct calls *c)
{
	int fd = strcmp(c->from, "-") ? open(c->from, O_RDONLY | O_CLOEXEC) : STDIN_FILENO;
	struct rec_reader *r;
	struct rec_event ev;
	struct ami_msg m;
	int64_t now = 0;
	unsigned long untimed = 0;
	int got, rc = RC_CONTINUE;

	if (fd < 0) {
		log_error("%s:", c->from);
		return RC_IO;
	}
	r = rec_new();
	ami_msg_init(&m);
	while (rc == RC_CONTINUE && (got = rec_next_fd(r, fd, &ev)) != 0) {
		unsigned long before = c->printed;
		if (got == REC_EINTR || interrupted) {
			rc = interrupted ? stop_rc() : RC_CONTINUE;
			continue;
		}
		if (got < 0)
			break;
		now = ev.at ? ev.at : now;
		untimed += !ev.at;
		if (c->idle_ms > 0 && c->last_end && now - c->last_end > c->idle_ms) {
			log_warn("no call ended for %.1f s of the recording (--idle)",
				 c->idle_ms / 1000.0);
			rc = RC_TIMEOUT;
			break;
		}
		if (!c->last_end)
			c->last_end = now;
		ami_msg_from_view(&m, &ev.v);
		pbx_feed(c->p, &m, now);
		rc = after_feed(c, before, now);
	}
	if (rc == RC_CONTINUE) {
		pbx_finish_all(c->p, now);
		rc = c->out_rc;
		if (got < 0) {
			log_error("%s: %s", strcmp(c->from, "-") ? c->from : "stdin", rec_error(r));
			rc = rec_rc(r);
		}
	}
	if (untimed)
		log_warn("%lu events had no ReceivedAt (recorded without --timestamp?): "
			 "their times are not known", untimed);
	ami_msg_free(&m);
	rec_free(r);
	if (fd != STDIN_FILENO)
		close(fd);
	return rc;
}

/* ---------- options ---------- */

static int parse_option(struct calls *c, int ch, const char *arg)
{
	unsigned long n;

	switch (ch) {
	case 'f': c->follow = 1; break;
	case 'c':
		if (parse_uint(arg, (unsigned long)-1 / 2, &n) != 0 || n == 0)
			return usage_error("--count: not a positive number: %s", arg);
		c->count = n;
		break;
	case OPT_IDLE:
		if (parse_seconds(arg, &c->idle_ms) != 0 || c->idle_ms <= 0)
			return usage_error("--idle: not a positive number of seconds: %s", arg);
		break;
	case OPT_RECONNECT: c->reconnect = 1; break;
	case OPT_FROM: c->from = arg; break;
	default:
		return ctx_option(c->ctx, ch, arg);
	}
	return RC_CONTINUE;
}

static int check_options(const struct calls *c, int counted)
{
	if (out_get_format() == OUT_RAW)
		return usage_error("--format raw: a call has no wire form; use text or json");
	if (!c->follow && !c->from && (counted || c->idle_ms || c->reconnect))
		return usage_error("--count, --idle and --reconnect go with --follow or --from");
	if (c->from && c->reconnect)
		return usage_error("--reconnect: no connection with --from");
	return RC_CONTINUE;
}

int cmd_calls(int argc, char **argv, struct ctx *ctx)
{
	struct calls c = { .ctx = ctx, .count = (unsigned long)-1, .out_rc = RC_OK };
	int ch, rc = RC_CONTINUE;

	while (rc == RC_CONTINUE &&
	       (ch = getopt_long(argc, argv, COMMON_SHORTOPTS "fc:", longopts, NULL)) != -1)
		rc = parse_option(&c, ch, optarg);
	if (rc == RC_CONTINUE && optind < argc)
		rc = usage_error("unexpected argument \"%s\"", argv[optind]);
	if (rc == RC_CONTINUE)
		rc = check_options(&c, c.count != (unsigned long)-1);
	if (rc != RC_CONTINUE)
		return rc;
	c.p = pbx_new(NULL);
	c.rng = (unsigned)getpid() ^ (unsigned)now_ms();
	if (c.from || c.follow) {
		pbx_sync_lists(c.p, 1u << PBX_LIST_CHANNELS);
		pbx_on_call_end(c.p, on_record, &c);
		rc = c.from ? from_recording(&c) : follow(&c);
		close_session(&c);
	} else {
		rc = calls_now(&c);
	}
	pbx_free(c.p);
	return rc == RC_CONTINUE ? RC_OK : rc;
}
