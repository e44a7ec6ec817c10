/* top_out.c - what `ami top --once` and --watch print: the view's rows as
 * a table as wide as its widest values, or as JSON, one object per row
 * with its "Type" first (see OUTPUT in ami-top(1)). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "top.h"

/* ---------- JSON ---------- */

static void js_key(const char *key)
{
	out_printf(",\"%s\":", key);
}

static void js_str(const char *key, const char *v)
{
	js_key(key);
	out_json_string(v, strlen(v));
}

static void js_int(const char *key, long long v)
{
	out_printf(",\"%s\":%lld", key, v);
}

static void js_bool(const char *key, int v)
{
	out_printf(",\"%s\":%s", key, v ? "true" : "false");
}

/* ISO 8601 with the local offset: 2026-11-26T06:25:53+01:00. */
static void iso_time(int64_t ms, char *out, size_t len)
{
	time_t sec = (time_t)(ms / 1000);
	struct tm tm;
	char off[8];

	localtime_r(&sec, &tm);
	utc_offset_iso(&tm, off);
	strftime(out, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + strlen(out), len - strlen(out), "%s", off);
}

static void js_time(const char *key, int64_t ms)
{
	char buf[40];

	if (ms <= 0) {
		js_str(key, "");
		return;
	}
	iso_time(ms, buf, sizeof buf);
	js_str(key, buf);
}

static void js_secs(const char *key, int64_t now, int64_t start)
{
	js_int(key, start > 0 && now > start ? (now - start) / 1000 : 0);
}

static void js_call(const struct pbx_call *call, int64_t now)
{
	struct pbx_call_view v;

	top_call_view(call, &v);
	js_str("Linkedid", call->linkedid);
	js_str("State", pbx_call_state_name(v.state));
	js_str("CallerIDNum", v.caller_num);
	js_str("CallerIDName", v.caller_name);
	js_str("CalleeNum", v.callee_num);
	js_str("CalleeName", v.callee_name);
	js_str("Channel", v.caller ? v.caller->name : "");
	js_str("CalleeChannel", v.callee ? v.callee->name : "");
	js_time("Start", v.start);
	js_secs("Duration", now, v.start);
	js_time("Answered", v.answer);
	js_str("BridgeId", v.bridge ? v.bridge->id : "");
	js_str("Conference", v.conf ? v.conf->name : "");
	js_str("Application", v.app);
	js_str("ApplicationData", v.app_data);
	js_key("Channels");
	out_puts("[");
	for (const struct pbx_channel *ch = call->channels.first; ch; ch = ch->in_call.next) {
		out_json_string(ch->name, strlen(ch->name));
		if (ch->in_call.next)
			out_puts(",");
	}
	out_puts("]");
}

static void js_channel_ids(const struct pbx_channel *ch)
{
	js_str("Channel", ch->name);
	js_str("Uniqueid", ch->uniqueid);
	js_str("Linkedid", ch->linkedid);
	js_str("CallerIDNum", ch->cid_num);
	js_str("CallerIDName", ch->cid_name);
}

static void js_channel(const struct pbx_channel *ch, int64_t now)
{
	js_channel_ids(ch);
	js_str("ChannelStateDesc", ch->state_desc);
	js_int("ChannelState", ch->state);
	js_str("ConnectedLineNum", ch->conn_num);
	js_str("ConnectedLineName", ch->conn_name);
	js_str("AccountCode", ch->account);
	js_str("Context", ch->context);
	js_str("Exten", ch->exten);
	js_int("Priority", ch->priority);
	js_str("Application", ch->app);
	js_str("ApplicationData", ch->app_data);
	js_str("BridgeId", ch->bridge ? ch->bridge->id : "");
	js_bool("OnHold", ch->flags & PBX_CH_HOLD);
	js_time("Start", ch->start);
	js_secs("Duration", now, ch->start);
}

static void js_conf(const struct pbx_conf *cf, int64_t now)
{
	js_str("Conference", cf->name);
	js_int("Members", (long long)cf->members.n);
	js_int("Parties", cf->parties);
	js_int("Marked", cf->marked);
	js_bool("Locked", cf->flags & PBX_CONF_LOCKED);
	js_bool("Muted", cf->flags & PBX_CONF_MUTED);
	js_bool("Recording", cf->flags & PBX_CONF_RECORDING);
	js_time("Start", cf->start);
	js_secs("Duration", now, cf->start);
}

static void js_conf_member(const struct pbx_channel *ch, const struct pbx_conf *cf, int64_t now)
{
	unsigned f = ch->conf_flags;

	js_str("Conference", cf->name);
	js_channel_ids(ch);
	js_bool("Admin", f & PBX_MEMBER_ADMIN);
	js_bool("Marked", f & PBX_MEMBER_MARKED);
	js_bool("Muted", f & PBX_MEMBER_MUTED);
	js_bool("Talking", f & PBX_MEMBER_TALKING);
	js_bool("WaitMarked", f & PBX_MEMBER_WAITING);
	js_time("Joined", ch->conf_join);
	js_secs("Duration", now, ch->conf_join);
}

static void js_queue(const struct pbx_queue *q, int64_t now)
{
	struct queue_counts k;

	top_queue_count(q, &k);
	js_str("Queue", q->name);
	js_str("Strategy", q->strategy);
	js_int("Calls", q->calls);
	js_int("Waiting", (long long)q->callers.n);
	js_secs("LongestWait", now, k.oldest);
	js_int("Members", k.members);
	js_int("Available", k.available);
	js_int("Paused", k.paused);
	js_int("Max", q->max);
	js_int("Holdtime", q->holdtime);
	js_int("TalkTime", q->talktime);
	js_int("Completed", q->completed);
	js_int("Abandoned", q->abandoned);
	js_int("ServiceLevel", q->service_level);
	js_str("ServicelevelPerf", q->sl_perf);
}

static void js_caller(const struct pbx_channel *ch, const struct pbx_queue *q, int64_t now)
{
	js_str("Queue", q->name);
	js_int("Position", ch->queue_pos);
	js_channel_ids(ch);
	js_time("Joined", ch->queue_join);
	js_secs("Wait", now, ch->queue_join);
}

static void js_member(const struct pbx_member *m)
{
	js_str("Queue", m->queue->name);
	js_str("Interface", m->interface);
	js_str("Name", m->name);
	js_str("StateInterface", m->state_interface);
	js_str("Membership", m->membership);
	js_str("Status", pbx_member_status_name(m->status));
	js_bool("Paused", m->paused);
	js_str("PausedReason", m->paused_reason);
	js_bool("InCall", m->in_call > 0);
	js_int("CallsTaken", m->calls_taken);
	js_int("Penalty", m->penalty);
	js_int("LastCall", m->last_call);
}

static void js_row(const struct row *r, int64_t now, const char *stamp)
{
	out_puts("{\"Type\":");
	out_json_string(row_type_names[r->type], strlen(row_type_names[r->type]));
	if (stamp)
		js_str("Time", stamp);
	switch (r->type) {
	case ROW_CALL: js_call(r->e, now); break;
	case ROW_CHANNEL: js_channel(r->e, now); break;
	case ROW_CONF: js_conf(r->e, now); break;
	case ROW_CONF_MEMBER: js_conf_member(r->e, r->parent, now); break;
	case ROW_QUEUE: js_queue(r->e, now); break;
	case ROW_QUEUE_CALLER: js_caller(r->e, r->parent, now); break;
	case ROW_QUEUE_MEMBER: js_member(r->e); break;
	case ROW_EXTENSION: {
		const struct pbx_extension *e = r->e;
		js_str("Exten", e->exten);
		js_str("Context", e->context);
		js_str("Hint", e->hint);
		js_str("Status", pbx_ext_status_name(e->status));
		js_int("StatusCode", e->status);
		break;
	}
	case ROW_DEVICE: {
		const struct pbx_device *d = r->e;
		js_str("Device", d->name);
		js_str("State", d->state);
		break;
	}
	default: break;
	}
	out_puts("}\n");
}

/* ---------- the snapshot ---------- */

static void pad(int n)
{
	static const char spaces[] = "                                ";

	while (n > 0) {
		int k = n < (int)sizeof spaces - 1 ? n : (int)sizeof spaces - 1;
		out_write(spaces, (size_t)k);
		n -= k;
	}
}

static void text_line(const struct column *cols, size_t ncols, const int *w,
		      char (*s)[CELL_MAX])
{
	for (size_t i = 0; i < ncols; i++) {
		int gap = w[i] - top_text_width(s[i]);
		if (i)
			out_puts("  ");
		if (cols[i].right)
			pad(gap);
		out_puts(s[i]);
		if (!cols[i].right && i + 1 < ncols)
			pad(gap);
	}
	out_puts("\n");
}

/* A table as wide as its widest values: nothing is cut, so a script can
 * read it whole (the panel cuts columns to the screen instead). Two passes
 * over the rows, widths then lines, rather than every row's cells kept. */
static void text_table(struct top *t, int64_t now)
{
	size_t ncols;
	const struct column *cols = top_columns(t->view, &ncols);
	struct cells c;
	int w[TOP_COLS] = { 0 };

	for (size_t i = 0; i < ncols; i++) {
		snprintf(c.s[i], CELL_MAX, "%s", cols[i].title);
		w[i] = top_text_width(c.s[i]);
	}
	for (size_t r = 0; r < t->rows.n; r++) {
		top_cells(t, &t->rows.v[r], now, &c);
		for (size_t i = 0; i < ncols; i++) {
			int cw = top_text_width(c.s[i]);
			if (cw > w[i])
				w[i] = cw;
		}
	}
	for (size_t i = 0; i < ncols; i++)
		snprintf(c.s[i], CELL_MAX, "%s", cols[i].title);
	text_line(cols, ncols, w, c.s);
	for (size_t r = 0; r < t->rows.n; r++) {
		top_cells(t, &t->rows.v[r], now, &c);
		text_line(cols, ncols, w, c.s);
	}
}

int top_print_snapshot(struct top *t, const char *stamp)
{
	int64_t now = top_wall_ms();

	top_build_rows(t);
	if (t->json) {
		for (size_t r = 0; r < t->rows.n; r++)
			js_row(&t->rows.v[r], now, stamp);
	} else {
		if (stamp)
			out_printf("# %s\n", stamp);
		text_table(t, now);
	}
	return out_flush();
}

void top_iso_now(char *out, size_t len)
{
	iso_time(top_wall_ms(), out, len);
}
