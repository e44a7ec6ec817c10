/* top_rows.c - the views of `ami top` as rows: which entities each view
 * lists and in what order (sorted, filtered), the text of their columns
 * (the panel and the --once table share it), their JSON objects, and the
 * snapshot that --once and --watch print. No terminal code here. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wchar.h>

#include "term_safe.h"
#include "top.h"

const char *const top_view_words[] = { "calls", "channels", "conferences", "queues",
				       "extensions", NULL };
const char *const top_sort_words[] = { "age", "name", "state", NULL };
const char *const row_type_names[ROW_TYPE_COUNT] = {
	"call", "channel", "conference", "conference_member", "queue", "queue_caller",
	"queue_member", "extension", "device",
};

/* ---------- columns ---------- */

static const struct column calls_cols[] = {
	{ "STATE", 7, 8, 0 }, { "TIME", 5, 8, 1 }, { "FROM", 8, 28, 0 }, { "TO", 8, 28, 0 },
	{ "WHERE", 8, 32, 0 }, { "CHANNELS", 8, 0, 0 },
};
static const struct column channels_cols[] = {
	{ "CHANNEL", 12, 40, 0 }, { "STATE", 5, 12, 0 }, { "TIME", 5, 8, 1 },
	{ "CALLERID", 8, 26, 0 }, { "CONNECTED", 8, 26, 0 }, { "WHERE", 8, 0, 0 },
};
static const struct column confs_cols[] = {
	{ "CONFERENCE / MEMBER", 12, 44, 0 }, { "WHO", 8, 30, 0 }, { "TIME", 5, 8, 1 },
	{ "FLAGS", 5, 0, 0 },
};
static const struct column queues_cols[] = {
	{ "QUEUE / CALLER / MEMBER", 12, 40, 0 }, { "STATE", 7, 16, 0 }, { "TIME", 5, 8, 1 },
	{ "DETAIL", 8, 0, 0 },
};
static const struct column exts_cols[] = {
	{ "EXTENSION / DEVICE", 10, 40, 0 }, { "STATE", 6, 16, 0 }, { "HINT", 4, 0, 0 },
};

const struct column *top_columns(enum top_view v, size_t *n)
{
	switch (v) {
	case VIEW_CHANNELS: *n = ARRAY_LEN(channels_cols); return channels_cols;
	case VIEW_CONFS: *n = ARRAY_LEN(confs_cols); return confs_cols;
	case VIEW_QUEUES: *n = ARRAY_LEN(queues_cols); return queues_cols;
	case VIEW_EXTENSIONS: *n = ARRAY_LEN(exts_cols); return exts_cols;
	default: *n = ARRAY_LEN(calls_cols); return calls_cols;
	}
}

/* ---------- text helpers ---------- */

/* The code point of the UTF-8 sequence at s and its length (the model's
 * strings are valid UTF-8). */
static size_t utf8_next(const char *s, wchar_t *cp)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n = u[0] < 0x80 ? 1 : u[0] < 0xe0 ? 2 : u[0] < 0xf0 ? 3 : 4;
	unsigned long c = n == 1 ? u[0] : u[0] & (0x3f >> (n - 1));

	for (size_t i = 1; i < n; i++) {
		if ((u[i] & 0xc0) != 0x80)
			return *cp = 0xfffd, i;
		c = c << 6 | (u[i] & 0x3f);
	}
	*cp = (wchar_t)c;
	return n;
}

/* Columns of one character: wcwidth in a UTF-8 locale (the panel sets
 * one), 1 where it does not know (the C locale of --once). */
static int char_width(wchar_t cp)
{
	int w = cp < 0x80 ? 1 : wcwidth(cp);

	return w < 0 ? 1 : w;
}

int top_text_width(const char *s)
{
	int w = 0;
	wchar_t cp;

	while (*s) {
		s += utf8_next(s, &cp);
		w += char_width(cp);
	}
	return w;
}

size_t top_fit(const char *s, int width, int *used)
{
	size_t off = 0;
	int w = 0;
	wchar_t cp;

	while (s[off]) {
		size_t n = utf8_next(s + off, &cp);
		int cw = char_width(cp);
		if (w + cw > width)
			break;
		w += cw;
		off += n;
	}
	if (used)
		*used = w;
	return off;
}

struct safe_copy {
	char *out;
	size_t len, n;
};

static int safe_put(void *arg, const char *s, size_t n)
{
	struct safe_copy *c = arg;
	size_t room = c->len - 1 - c->n, keep = n;
	int esc = n == 4 && s[0] == '\\';

	if (keep > room) {  /* cut before a character or an escape that does not fit whole */
		keep = esc ? 0 : room;
		while (keep > 0 && ((unsigned char)s[keep] & 0xc0) == 0x80)
			keep--;
	}
	for (size_t i = 0; i < keep; i++)
		c->out[c->n++] = s[i] == '\t' ? ' ' : s[i];
	c->out[c->n] = '\0';
	return keep < n;    /* full: term_safe stops */
}

void top_safe_copy(char *out, size_t len, const char *s)
{
	struct safe_copy c = { out, len, 0 };

	*out = '\0';
	term_safe(s, strlen(s), safe_put, &c);
}

void top_duration(int64_t secs, char *out, size_t len)
{
	if (secs < 0)
		secs = 0;
	if (secs >= 86400)
		snprintf(out, len, "%lldd%02lldh", (long long)(secs / 86400),
			 (long long)(secs % 86400 / 3600));
	else if (secs >= 3600)
		snprintf(out, len, "%lld:%02lld:%02lld", (long long)(secs / 3600),
			 (long long)(secs % 3600 / 60), (long long)(secs % 60));
	else
		snprintf(out, len, "%02lld:%02lld", (long long)(secs / 60), (long long)(secs % 60));
}

static void since(int64_t now, int64_t start, char *out)
{
	if (start > 0)
		top_duration((now - start) / 1000, out, CELL_MAX);
	else
		*out = '\0';
}

/* "100 Alice", "100", "Alice" or "". */
static void who(char *out, const char *num, const char *name)
{
	if (*num && *name && strcmp(num, name))
		snprintf(out, CELL_MAX, "%s %s", num, name);
	else
		snprintf(out, CELL_MAX, "%s", *num ? num : name);
}

/* What a channel does: its application, else where it is in the dialplan. */
static void doing(char *out, const char *app, const char *data, const struct pbx_channel *ch)
{
	if (*app && *data)
		snprintf(out, CELL_MAX, "%s(%s)", app, data);
	else if (*app)
		snprintf(out, CELL_MAX, "%s", app);
	else if (ch && *ch->exten)
		snprintf(out, CELL_MAX, "%s@%s", ch->exten, ch->context);
	else
		*out = '\0';
}

/* Appends word to a space-separated list in out when on. */
static void flag_word(char *out, int on, const char *word)
{
	size_t n = strlen(out);

	if (on)
		snprintf(out + n, CELL_MAX - n, "%s%s", n ? " " : "", word);
}

/* Device and member states (NOT_INUSE ...) as an operator reads them. */
static const char *device_words(const char *state)
{
	static const struct { const char *ast, *words; } map[] = {
		{ "NOT_INUSE", "idle" }, { "INUSE", "in use" }, { "BUSY", "busy" },
		{ "INVALID", "invalid" }, { "UNAVAILABLE", "unavailable" }, { "RINGING", "ringing" },
		{ "RINGINUSE", "ringing, in use" }, { "ONHOLD", "on hold" }, { "UNKNOWN", "unknown" },
	};

	for (size_t i = 0; i < ARRAY_LEN(map); i++)
		if (!strcmp(state, map[i].ast))
			return map[i].words;
	return *state ? state : "unknown";
}

static enum tone device_tone(const char *state)
{
	if (!strcmp(state, "RINGING") || !strcmp(state, "RINGINUSE"))
		return TONE_RINGING;
	if (!strcmp(state, "INUSE") || !strcmp(state, "BUSY"))
		return TONE_UP;
	if (!strcmp(state, "ONHOLD"))
		return TONE_HOLD;
	if (!strcmp(state, "UNAVAILABLE") || !strcmp(state, "INVALID"))
		return TONE_BAD;
	return TONE_PLAIN;
}

static const char *ext_words(int status)
{
	switch (status) {
	case 0: return "idle";
	case 1: return "in use";
	case 2: return "busy";
	case 4: return "unavailable";
	case 8: return "ringing";
	case 9: return "in use, ringing";
	case 16: return "on hold";
	case 17: return "in use, on hold";
	default: return "unknown";
	}
}

static enum tone ext_tone(int status)
{
	if (status & 8)
		return TONE_RINGING;
	if (status & 16)
		return TONE_HOLD;
	if (status & 3)
		return TONE_UP;
	return status == 4 || status < 0 ? TONE_BAD : TONE_PLAIN;
}

static enum tone channel_tone(const struct pbx_channel *ch)
{
	if (ch->flags & PBX_CH_HOLD)
		return TONE_HOLD;
	return ch->state == 6 ? TONE_UP : ch->state == 4 || ch->state == 5 ? TONE_RINGING
		: TONE_PLAIN;
}

/* ---------- cells of each row type ---------- */

void top_call_view(const struct pbx_call *call, struct pbx_call_view *v)
{
	pbx_call_view(call, v);
	if (v->conf || (v->bridge && v->bridge->members.n > 2)) {
		v->callee = NULL;
		v->callee_num = v->callee_name = "";
	}
}

static void call_cells(const struct pbx_call *call, int64_t now, struct cells *c)
{
	struct pbx_call_view v;
	char (*s)[CELL_MAX] = c->s;

	top_call_view(call, &v);
	snprintf(s[0], CELL_MAX, "%s", pbx_call_state_name(v.state));
	since(now, v.start, s[1]);
	who(s[2], v.caller_num, v.caller_name);
	if (!*s[2] && v.caller)
		snprintf(s[2], CELL_MAX, "%s", v.caller->name);
	who(s[3], v.callee_num, v.callee_name);
	if (v.conf) {
		snprintf(s[3], CELL_MAX, "conference %s", v.conf->name);
		snprintf(s[4], CELL_MAX, "%zu member%s", v.conf->members.n,
			 v.conf->members.n == 1 ? "" : "s");
	} else if (v.bridge && v.bridge->members.n > 2) {
		snprintf(s[3], CELL_MAX, "%zu parties", v.bridge->members.n);
		snprintf(s[4], CELL_MAX, "bridged");
	} else if (v.bridge && v.callee) {
		snprintf(s[4], CELL_MAX, "bridged");
	} else {
		doing(s[4], v.app, v.app_data, v.caller);
	}
	snprintf(s[5], CELL_MAX, "%s%s%s", v.caller ? v.caller->name : "",
		 v.callee ? " -> " : "", v.callee ? v.callee->name : "");
	c->tone = v.state == PBX_CALL_HOLD ? TONE_HOLD : v.state == PBX_CALL_UP ? TONE_UP
		: TONE_RINGING;
}

static void channel_cells(const struct pbx_channel *ch, int64_t now, struct cells *c)
{
	char (*s)[CELL_MAX] = c->s;

	snprintf(s[0], CELL_MAX, "%s", ch->name);
	snprintf(s[1], CELL_MAX, "%s%s", *ch->state_desc ? ch->state_desc : "?",
		 ch->flags & PBX_CH_HOLD ? ",hold" : "");
	since(now, ch->start, s[2]);
	who(s[3], ch->cid_num, ch->cid_name);
	who(s[4], ch->conn_num, ch->conn_name);
	doing(s[5], ch->app, ch->app_data, ch);
	c->tone = channel_tone(ch);
}

static void conf_cells(const struct pbx_conf *cf, int64_t now, struct cells *c)
{
	char (*s)[CELL_MAX] = c->s;
	long n = cf->members.n ? (long)cf->members.n : cf->parties > 0 ? cf->parties : 0;

	snprintf(s[0], CELL_MAX, "%s", cf->name);
	snprintf(s[1], CELL_MAX, "%ld member%s", n, n == 1 ? "" : "s");
	since(now, cf->start, s[2]);
	flag_word(s[3], cf->flags & PBX_CONF_LOCKED, "locked");
	flag_word(s[3], cf->flags & PBX_CONF_MUTED, "muted");
	flag_word(s[3], cf->flags & PBX_CONF_RECORDING, "recording");
	c->tone = TONE_GROUP;
}

static void conf_member_cells(const struct pbx_channel *ch, int64_t now, struct cells *c)
{
	char (*s)[CELL_MAX] = c->s;
	unsigned f = ch->conf_flags;

	snprintf(s[0], CELL_MAX, "  %s", ch->name);
	who(s[1], ch->cid_num, ch->cid_name);
	since(now, ch->conf_join, s[2]);
	flag_word(s[3], f & PBX_MEMBER_ADMIN, "admin");
	flag_word(s[3], f & PBX_MEMBER_MARKED, "marked");
	flag_word(s[3], f & PBX_MEMBER_MUTED, "muted");
	flag_word(s[3], f & PBX_MEMBER_TALKING, "talking");
	flag_word(s[3], f & PBX_MEMBER_WAITING, "waiting");
	c->tone = f & PBX_MEMBER_TALKING ? TONE_UP : f & PBX_MEMBER_MUTED ? TONE_QUIET : TONE_PLAIN;
}

void top_queue_count(const struct pbx_queue *q, struct queue_counts *k)
{
	memset(k, 0, sizeof *k);
	for (const struct pbx_member *m = q->members.first; m; m = m->in_queue.next) {
		k->members++;
		k->paused += m->paused != 0;
		k->available += !m->paused && m->status == 1;
	}
	for (const struct pbx_channel *ch = q->callers.first; ch; ch = ch->in_queue.next)
		if (ch->queue_join > 0 && (!k->oldest || ch->queue_join < k->oldest))
			k->oldest = ch->queue_join;
}

static void queue_cells(const struct pbx_queue *q, int64_t now, struct cells *c)
{
	char (*s)[CELL_MAX] = c->s;
	struct queue_counts k;
	int waiting;

	top_queue_count(q, &k);
	waiting = q->callers.n ? (int)q->callers.n : q->calls > 0 ? q->calls : 0;
	snprintf(s[0], CELL_MAX, "%s", q->name);
	snprintf(s[1], CELL_MAX, "%d waiting", waiting);
	since(now, k.oldest, s[2]);
	snprintf(s[3], CELL_MAX, "%d/%d available, %d paused; %d done, %d abandoned; "
		 "hold %ds, talk %ds; %s", k.available, k.members, k.paused,
		 q->completed > 0 ? q->completed : 0, q->abandoned > 0 ? q->abandoned : 0,
		 q->holdtime > 0 ? q->holdtime : 0, q->talktime > 0 ? q->talktime : 0,
		 *q->strategy ? q->strategy : "?");
	c->tone = waiting && !k.available && k.members ? TONE_BAD : TONE_GROUP;
}

static void caller_cells(const struct pbx_channel *ch, int64_t now, struct cells *c)
{
	char (*s)[CELL_MAX] = c->s;

	snprintf(s[0], CELL_MAX, "  %d. %s", ch->queue_pos, ch->name);
	snprintf(s[1], CELL_MAX, "waiting");
	since(now, ch->queue_join, s[2]);
	who(s[3], ch->cid_num, ch->cid_name);
	c->tone = TONE_RINGING;
}

static void member_cells(const struct pbx_member *m, int64_t now, struct cells *c)
{
	char (*s)[CELL_MAX] = c->s;
	const char *status = pbx_member_status_name(m->status);
	size_t n;

	snprintf(s[0], CELL_MAX, "  %s", *m->name ? m->name : m->interface);
	if (m->paused)
		snprintf(s[1], CELL_MAX, "paused");
	else
		snprintf(s[1], CELL_MAX, "%s", device_words(status));
	if (m->last_call > 0)
		top_duration(now / 1000 - m->last_call, s[2], CELL_MAX);
	n = (size_t)snprintf(s[3], CELL_MAX, "%s; %d call%s", m->interface, m->calls_taken,
			     m->calls_taken == 1 ? "" : "s");
	if (m->penalty > 0 && n < CELL_MAX)
		n += (size_t)snprintf(s[3] + n, CELL_MAX - n, "; penalty %d", m->penalty);
	if (m->paused && *m->paused_reason && n < CELL_MAX)
		snprintf(s[3] + n, CELL_MAX - n, "; %s", m->paused_reason);
	c->tone = m->paused ? TONE_HOLD : device_tone(status);
}

static void extension_cells(const struct pbx_extension *e, struct cells *c)
{
	snprintf(c->s[0], CELL_MAX, "%s@%s", e->exten, e->context);
	snprintf(c->s[1], CELL_MAX, "%s", ext_words(e->status));
	snprintf(c->s[2], CELL_MAX, "%s", e->hint);
	c->tone = ext_tone(e->status);
}

static void device_cells(const struct pbx_device *d, struct cells *c)
{
	snprintf(c->s[0], CELL_MAX, "%s", d->name);
	snprintf(c->s[1], CELL_MAX, "%s", device_words(d->state));
	c->tone = device_tone(d->state);
}

void top_cells(const struct top *t, const struct row *r, int64_t now, struct cells *c)
{
	(void)t;
	for (size_t i = 0; i < TOP_COLS; i++)
		c->s[i][0] = '\0';
	c->tone = TONE_PLAIN;
	switch (r->type) {
	case ROW_CALL: call_cells(r->e, now, c); break;
	case ROW_CHANNEL: channel_cells(r->e, now, c); break;
	case ROW_CONF: conf_cells(r->e, now, c); break;
	case ROW_CONF_MEMBER: conf_member_cells(r->e, now, c); break;
	case ROW_QUEUE: queue_cells(r->e, now, c); break;
	case ROW_QUEUE_CALLER: caller_cells(r->e, now, c); break;
	case ROW_QUEUE_MEMBER: member_cells(r->e, now, c); break;
	case ROW_EXTENSION: extension_cells(r->e, c); break;
	case ROW_DEVICE: device_cells(r->e, c); break;
	default: break;
	}
}

void top_row_key(const struct row *r, char *out, size_t len)
{
	const char *id = "";

	switch (r->type) {
	case ROW_CALL: id = ((const struct pbx_call *)r->e)->linkedid; break;
	case ROW_CHANNEL: case ROW_CONF_MEMBER: case ROW_QUEUE_CALLER:
		id = ((const struct pbx_channel *)r->e)->uniqueid;
		break;
	case ROW_CONF: id = ((const struct pbx_conf *)r->e)->name; break;
	case ROW_QUEUE: id = ((const struct pbx_queue *)r->e)->name; break;
	case ROW_QUEUE_MEMBER: {
		const struct pbx_member *m = r->e;
		snprintf(out, len, "%d %s %s", r->type, m->queue->name, m->interface);
		return;
	}
	case ROW_EXTENSION: {
		const struct pbx_extension *e = r->e;
		snprintf(out, len, "%d %s@%s", r->type, e->exten, e->context);
		return;
	}
	case ROW_DEVICE: id = ((const struct pbx_device *)r->e)->name; break;
	default: break;
	}
	snprintf(out, len, "%d %s", r->type, id);
}

/* ---------- building the rows of a view ---------- */

static void rows_add(struct rows *rs, enum row_type type, const void *e, const void *parent)
{
	if (rs->n == rs->cap) {
		rs->cap = rs->cap ? rs->cap * 2 : 64;
		rs->v = xrealloc(rs->v, rs->cap * sizeof *rs->v);
	}
	rs->v[rs->n++] = (struct row){ type, e, parent };
}

/* The entities of one kind in the chosen order, in rs->sorted. */
static size_t sorted(struct top *t, enum pbx_kind kind)
{
	struct rows *rs = &t->rows;
	size_t n = pbx_count(t->pbx, kind);

	if (n > rs->sorted_cap) {
		rs->sorted_cap = n + n / 2;
		rs->sorted = xrealloc(rs->sorted, rs->sorted_cap * sizeof *rs->sorted);
	}
	n = pbx_sorted(t->pbx, kind, t->sort, t->descending, rs->sorted, rs->sorted_cap);
	return n < rs->sorted_cap ? n : rs->sorted_cap;
}

/* The filter: a substring of any column, ASCII case ignored; a call also
 * matches by the name of any of its channels. */
static int matches(const struct top *t, const struct row *r, int64_t now)
{
	struct cells c;

	if (!t->filter[0])
		return 1;
	top_cells(t, r, now, &c);
	for (size_t i = 0; i < TOP_COLS; i++)
		if (contains_nocase(c.s[i], t->filter))
			return 1;
	if (r->type == ROW_CALL)
		for (const struct pbx_channel *ch = ((const struct pbx_call *)r->e)->channels.first;
		     ch; ch = ch->in_call.next)
			if (contains_nocase(ch->name, t->filter))
				return 1;
	return 0;
}

static void add_flat(struct top *t, enum pbx_kind kind, enum row_type type, int64_t now)
{
	size_t n = sorted(t, kind);

	for (size_t i = 0; i < n; i++) {
		struct row r = { type, t->rows.sorted[i], NULL };
		if (matches(t, &r, now))
			rows_add(&t->rows, type, r.e, NULL);
	}
}

/* A group row and its children: all of them when the group matches the
 * filter, else the children that do (under their group). */
static size_t group_begin(struct top *t, enum row_type type, const void *e, int64_t now,
			  int *all)
{
	struct row r = { type, e, NULL };
	size_t start = t->rows.n;

	*all = matches(t, &r, now);
	rows_add(&t->rows, type, e, NULL);
	return start;
}

static void group_child(struct top *t, int all, enum row_type type, const void *e,
			const void *parent, int64_t now)
{
	struct row r = { type, e, parent };

	if (all || matches(t, &r, now))
		rows_add(&t->rows, type, e, parent);
}

static void group_end(struct top *t, size_t start, int all)
{
	if (!all && t->rows.n == start + 1)
		t->rows.n = start;      /* neither the group nor a child matched */
}

static void add_confs(struct top *t, int64_t now)
{
	size_t n = sorted(t, PBX_KIND_CONF);
	int all;

	for (size_t i = 0; i < n; i++) {
		const struct pbx_conf *cf = t->rows.sorted[i];
		size_t start = group_begin(t, ROW_CONF, cf, now, &all);
		for (const struct pbx_channel *ch = cf->members.first; ch; ch = ch->in_conf.next)
			group_child(t, all, ROW_CONF_MEMBER, ch, cf, now);
		group_end(t, start, all);
	}
}

static void add_queues(struct top *t, int64_t now)
{
	size_t n = sorted(t, PBX_KIND_QUEUE);
	int all;

	for (size_t i = 0; i < n; i++) {
		const struct pbx_queue *q = t->rows.sorted[i];
		size_t start = group_begin(t, ROW_QUEUE, q, now, &all);
		for (const struct pbx_channel *ch = q->callers.first; ch; ch = ch->in_queue.next)
			group_child(t, all, ROW_QUEUE_CALLER, ch, q, now);
		for (const struct pbx_member *m = q->members.first; m; m = m->in_queue.next)
			group_child(t, all, ROW_QUEUE_MEMBER, m, q, now);
		group_end(t, start, all);
	}
}

void top_build_rows(struct top *t)
{
	int64_t now = top_wall_ms();

	t->rows.n = 0;
	switch (t->view) {
	case VIEW_CALLS: add_flat(t, PBX_KIND_CALL, ROW_CALL, now); break;
	case VIEW_CHANNELS: add_flat(t, PBX_KIND_CHANNEL, ROW_CHANNEL, now); break;
	case VIEW_CONFS: add_confs(t, now); break;
	case VIEW_QUEUES: add_queues(t, now); break;
	case VIEW_EXTENSIONS:
		add_flat(t, PBX_KIND_EXTENSION, ROW_EXTENSION, now);
		add_flat(t, PBX_KIND_DEVICE, ROW_DEVICE, now);
		break;
	default: break;
	}
}

/* ---------- what is missing ---------- */

static const char *list_noun(enum pbx_list l)
{
	switch (l) {
	case PBX_LIST_CHANNELS: return "channels";
	case PBX_LIST_BRIDGES: case PBX_LIST_BRIDGE_INFO: return "bridges";
	case PBX_LIST_CONFS: case PBX_LIST_CONF_MEMBERS: return "conferences";
	case PBX_LIST_QUEUES: return "queues";
	case PBX_LIST_EXTENSIONS: return "extensions";
	case PBX_LIST_DEVICES: return "devices";
	default: return "?";
	}
}

unsigned top_view_needs(enum top_view v)
{
	switch (v) {
	case VIEW_CONFS: return 1u << PBX_LIST_CONFS | 1u << PBX_LIST_CONF_MEMBERS;
	case VIEW_QUEUES: return 1u << PBX_LIST_QUEUES;
	case VIEW_EXTENSIONS: return 1u << PBX_LIST_EXTENSIONS | 1u << PBX_LIST_DEVICES;
	default: return 1u << PBX_LIST_CHANNELS;
	}
}

void top_missing(const struct top *t, unsigned lists, int failed, char *out, size_t len)
{
	const struct pbx_sync *s = pbx_sync_state(t->pbx);
	size_t n = 0;

	*out = '\0';
	for (int l = 0; l < PBX_LIST_COUNT && n < len; l++) {
		const struct pbx_list_state *ls = &s->list[l];
		const char *priv = pbx_list_privilege((enum pbx_list)l);
		char classes[64], *comma;
		if (!(lists & t->lists & 1u << l) || !(ls->status == PBX_LS_DENIED ||
					     (failed && ls->status == PBX_LS_FAILED)))
			continue;
		snprintf(classes, sizeof classes, "%s", priv);
		if ((comma = strchr(classes, ',')))     /* "system,reporting": either will do */
			memmove(comma + 4, comma + 1, strlen(comma + 1) + 1), memcpy(comma, " or ", 4);
		n += (size_t)snprintf(out + n, len - n, "%sno %s: %s: %s", n ? "; " : "",
				      list_noun((enum pbx_list)l), pbx_list_action((enum pbx_list)l),
				      ls->message);
		if (ls->status == PBX_LS_DENIED && *priv && n < len)
			n += (size_t)snprintf(out + n, len - n, " (manager.conf: write = %s)", classes);
	}
}
