/* callrec.c - call records from the history of a finished call (see
 * callrec.h): the summary (caller, callee, outcome), and the whole record
 * as a cJSON object. */
#include "callrec.h"
#include "json.h"
#include "util.h"

#include <cJSON.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* ---------- the summary ---------- */

/* The channel whose Uniqueid is the Linkedid, else the first one seen. */
static int caller_leg(const struct pbx_record *r)
{
	for (size_t i = 0; i < r->nlegs; i++)
		if (!strcmp(r->legs[i].uniqueid, r->linkedid))
			return (int)i;
	return r->nlegs ? 0 : -1;
}

/* leg is the caller's channel or its Local partner. */
static int on_side(const struct pbx_record *r, int side, int leg)
{
	return leg >= 0 && side >= 0 && (leg == side || r->legs[side].local_peer == leg);
}

static const char *leg_name(const struct pbx_record *r, int leg)
{
	return leg >= 0 && (size_t)leg < r->nlegs ? r->legs[leg].name : "";
}

/* A party's number and name: its channel's caller ID, else its Local
 * partner's (the half that runs the dialplan may carry it). */
static void party(const struct pbx_record *r, int leg, struct call_party *p)
{
	const struct pbx_leg *l, *peer;

	p->leg = leg;
	p->number = p->name = p->channel = "";
	if (leg < 0)
		return;
	l = &r->legs[leg];
	peer = l->local_peer >= 0 ? &r->legs[l->local_peer] : NULL;
	p->channel = l->name;
	p->number = *l->cid_num || !peer ? l->cid_num : peer->cid_num;
	p->name = *l->cid_name || !peer ? l->cid_name : peer->cid_name;
}

/* Hangup causes of a destination that could not be reached or refused
 * (Q.850): unallocated number, no route, absent, rejected, changed number,
 * out of order, invalid format, congestion, network trouble, no circuit. */
static int failed_cause(int cause)
{
	static const int failed[] = { 1, 2, 3, 20, 21, 22, 27, 28, 34, 38, 41, 42, 44, 47, 58, 88 };

	for (size_t i = 0; i < ARRAY_LEN(failed); i++)
		if (failed[i] == cause)
			return 1;
	return 0;
}

static enum call_disposition by_cause(int cause)
{
	if (cause == 17)
		return CALL_BUSY;
	return failed_cause(cause) ? CALL_FAILED : CALL_NO_ANSWER;
}

static enum call_disposition by_dial_status(const char *status, int cause)
{
	if (!strcasecmp(status, "ANSWER"))
		return CALL_ANSWERED;
	if (!strcasecmp(status, "BUSY"))
		return CALL_BUSY;
	if (!strcasecmp(status, "NOANSWER") || !strcasecmp(status, "CANCEL"))
		return CALL_NO_ANSWER;
	if (!*status)
		return by_cause(cause);
	return CALL_FAILED;     /* CHANUNAVAIL, CONGESTION, DONTCALL, TORTURE, INVALIDARGS */
}

/* The caller's side's cause: its own, else its partner's, else that of the
 * channel that hung up first with one. */
static void call_cause(const struct pbx_record *r, int caller, struct call_summary *s)
{
	int pick = caller, peer = caller >= 0 ? r->legs[caller].local_peer : -1;

	if (caller >= 0 && r->legs[caller].cause <= 0 && peer >= 0 && r->legs[peer].cause > 0)
		pick = peer;
	if (pick >= 0 && r->legs[pick].cause <= 0)
		for (size_t i = 0; i < r->nlegs; i++)
			if (r->legs[i].cause > 0 && (r->legs[pick].cause <= 0 ||
						     r->legs[i].end < r->legs[pick].end))
				pick = (int)i;
	s->cause = pick >= 0 ? r->legs[pick].cause : -1;
	s->cause_txt = pick >= 0 ? r->legs[pick].cause_txt : "";
}

/* The attempts: the first answered, else the last. */
static void attempts(const struct pbx_record *r, int *answered, int *last)
{
	*answered = *last = -1;
	for (size_t i = 0; i < r->nsteps; i++) {
		const struct pbx_step *st = &r->steps[i];
		if (st->kind == PBX_STEP_DIAL_END && st->leg >= 0) {     /* not an Originate's */
			*last = (int)i;
			if (*answered < 0 && !strcasecmp(st->a, "ANSWER"))
				*answered = (int)i;
		} else if (st->kind == PBX_STEP_AGENT_CONNECT) {
			*last = (int)i;
			if (*answered < 0)
				*answered = (int)i;
		} else if (st->kind == PBX_STEP_QUEUE_JOIN) {
			*last = (int)i;
		}
	}
}

/* When the caller's side was answered (0: never). */
static int64_t side_answer(const struct pbx_record *r, int caller)
{
	int peer = caller >= 0 ? r->legs[caller].local_peer : -1;
	int64_t a = caller >= 0 ? r->legs[caller].answer : 0;

	if (peer >= 0 && r->legs[peer].answer && (!a || r->legs[peer].answer < a))
		a = r->legs[peer].answer;
	return a;
}

/* Entering or leaving a bridge (a call up before we watched shows only
 * its leaving). */
static int bridge_step(const struct pbx_step *s)
{
	return s->kind == PBX_STEP_BRIDGE_ENTER || s->kind == PBX_STEP_BRIDGE_LEAVE;
}

/* Whether the caller's side was in a bridge: answered, when or not. */
static int side_bridged(const struct pbx_record *r, int caller)
{
	for (size_t i = 0; i < r->nsteps; i++)
		if (bridge_step(&r->steps[i]) && on_side(r, caller, r->steps[i].leg))
			return 1;
	return 0;
}

/* A channel in a bridge with the caller's side, not on it. */
static int bridge_partner(const struct pbx_record *r, int caller)
{
	for (size_t i = 0; i < r->nsteps; i++) {
		const struct pbx_step *a = &r->steps[i];
		if (!bridge_step(a) || !on_side(r, caller, a->leg))
			continue;
		for (size_t j = 0; j < r->nsteps; j++) {
			const struct pbx_step *b = &r->steps[j];
			if (bridge_step(b) && b->leg >= 0 && !on_side(r, caller, b->leg) &&
			    !strcmp(a->a, b->a))
				return b->leg;
		}
	}
	return -1;
}

/* The a of the first step of kind k that reached leg: the dial string
 * (a number when its caller ID is unknown), or "". */
static const struct pbx_step *reached(const struct pbx_record *r, enum pbx_step_kind k, int leg)
{
	for (size_t i = 0; i < r->nsteps; i++)
		if (r->steps[i].kind == k && r->steps[i].peer == leg)
			return &r->steps[i];
	return NULL;
}

static void find_callee(const struct pbx_record *r, const struct call_summary *s, int last,
			struct call_party *callee)
{
	const struct pbx_step *st = s->decided_by >= 0 ? &r->steps[s->decided_by] : NULL;
	int leg = -1;

	if (st && (st->kind == PBX_STEP_DIAL_END || st->kind == PBX_STEP_AGENT_CONNECT))
		leg = st->peer;
	else if (last < 0)
		leg = bridge_partner(r, s->caller.leg);
	party(r, leg, callee);
	if (leg >= 0 && !*callee->number && (st = reached(r, PBX_STEP_DIAL_BEGIN, leg)))
		callee->number = st->a;
	if (leg >= 0 && (st = reached(r, PBX_STEP_AGENT_CONNECT, leg)) && *st->b)
		callee->name = st->b;       /* the queue member who answered */
}

void call_summarize(const struct pbx_record *r, struct call_summary *s)
{
	int answered, last;

	memset(s, 0, sizeof *s);
	party(r, caller_leg(r), &s->caller);
	call_cause(r, s->caller.leg, s);
	attempts(r, &answered, &last);
	s->decided_by = answered >= 0 ? answered : last;
	if (answered >= 0) {
		s->disposition = CALL_ANSWERED;
		s->answer = r->steps[answered].t;
	} else if (last >= 0) {
		const struct pbx_step *st = &r->steps[last];
		s->disposition = st->kind == PBX_STEP_QUEUE_JOIN ? CALL_NO_ANSWER :
				 by_dial_status(st->a, s->cause);
	} else if ((s->answer = side_answer(r, s->caller.leg)) || side_bridged(r, s->caller.leg)) {
		s->disposition = CALL_ANSWERED;     /* answer 0: before we watched */
	} else {
		s->disposition = by_cause(s->cause);
	}
	find_callee(r, s, last, &s->callee);
}

const char *call_disposition_name(enum call_disposition d)
{
	static const char *const names[] = { "ANSWERED", "NO ANSWER", "BUSY", "FAILED" };

	return (unsigned)d < ARRAY_LEN(names) ? names[d] : "";
}

const char *call_incomplete(unsigned flags, char *buf, size_t size)
{
	static const struct { unsigned flag; const char *word; } words[] = {
		{ PBX_REC_PARTIAL, "partial" }, { PBX_REC_GAP, "gap" },
		{ PBX_REC_TRUNCATED, "truncated" }, { PBX_REC_OPEN, "open" },
	};
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < ARRAY_LEN(words); i++)
		if (flags & words[i].flag)
			n += (size_t)snprintf(buf + n, n < size ? size - n : 0, "%s%s", n ? "," : "",
					      words[i].word);
	return buf;
}

void call_time(int64_t ms, char *out)
{
	time_t sec = (time_t)(ms / 1000 - (ms % 1000 < 0));
	struct tm tm;
	char date[24], zone[8];

	localtime_r(&sec, &tm);
	strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
	utc_offset_iso(&tm, zone);
	snprintf(out, 48, "%s.%03d%s", date, (int)(ms - (int64_t)sec * 1000), zone);
}

/* ---------- JSON ---------- */

void call_json_time(struct cJSON *o, const char *key, int64_t ms)
{
	char t[48];

	if (!ms) {
		cJSON_AddNullToObject(o, key);
		return;
	}
	call_time(ms, t);
	cJSON_AddStringToObject(o, key, t);
}

void call_json_text(struct cJSON *o, const char *key, const char *s)
{
	if (s && *s)
		cJSON_AddStringToObject(o, key, s);
	else
		cJSON_AddNullToObject(o, key);
}

static void add_seconds(cJSON *o, const char *key, int64_t ms)
{
	cJSON_AddNumberToObject(o, key, (double)ms / 1000.0);
}

static void add_cause(cJSON *o, int cause, const char *txt)
{
	if (cause >= 0)
		cJSON_AddNumberToObject(o, "Cause", cause);
	else
		cJSON_AddNullToObject(o, "Cause");
	call_json_text(o, "CauseText", txt);
}

static void add_leg(cJSON *o, const char *key, const struct pbx_record *r, int leg)
{
	call_json_text(o, key, leg_name(r, leg));
}

static void add_party(cJSON *o, const char *key, const struct call_party *p)
{
	cJSON *x;

	if (p->leg < 0) {
		cJSON_AddNullToObject(o, key);
		return;
	}
	x = cJSON_AddObjectToObject(o, key);
	call_json_text(x, "Number", p->number);
	call_json_text(x, "Name", p->name);
	call_json_text(x, "Channel", p->channel);
}

static const char *leg_status(unsigned flags)
{
	if (flags & PBX_LEG_ENDED)
		return "hangup";
	if (flags & PBX_LEG_MOVED)
		return "moved";
	if (flags & PBX_LEG_LOST)
		return "lost";
	return "open";
}

static void add_channels(cJSON *o, const struct pbx_record *r)
{
	cJSON *a = cJSON_AddArrayToObject(o, "Channels");

	for (size_t i = 0; i < r->nlegs; i++) {
		const struct pbx_leg *l = &r->legs[i];
		cJSON *c = cJSON_CreateObject();
		call_json_text(c, "Channel", l->name);
		call_json_text(c, "Uniqueid", l->uniqueid);
		call_json_text(c, "CallerIDNum", l->cid_num);
		call_json_text(c, "CallerIDName", l->cid_name);
		call_json_time(c, "Start", l->start);
		call_json_time(c, "Answer", l->answer);
		call_json_time(c, "End", l->end);
		add_cause(c, l->cause, l->cause_txt);
		cJSON_AddStringToObject(c, "Status", leg_status(l->flags));
		cJSON_AddItemToArray(a, c);
	}
}

/* The step after from that ends it: same kind of end, same leg, same a. */
static const struct pbx_step *closing(const struct pbx_record *r, size_t from,
				      enum pbx_step_kind k1, enum pbx_step_kind k2)
{
	const struct pbx_step *s = &r->steps[from];

	for (size_t j = from + 1; j < r->nsteps; j++) {
		const struct pbx_step *e = &r->steps[j];
		if ((e->kind == k1 || e->kind == k2) && e->leg == s->leg && e->peer == s->peer &&
		    (k1 == PBX_STEP_DIAL_END || !strcmp(e->a, s->a)))
			return e;
		if (e->kind == s->kind && e->leg == s->leg && e->peer == s->peer)
			return NULL;    /* entered again before leaving */
	}
	return NULL;
}

static void add_dial(cJSON *a, const struct pbx_record *r, size_t i)
{
	const struct pbx_step *s = &r->steps[i], *e = closing(r, i, PBX_STEP_DIAL_END,
							       PBX_STEP_DIAL_END);
	cJSON *d = cJSON_CreateObject();

	add_leg(d, "From", r, s->leg);
	add_leg(d, "To", r, s->peer);
	call_json_text(d, "DialString", s->a);
	call_json_time(d, "Begin", s->t);
	call_json_time(d, "End", e ? e->t : 0);
	call_json_text(d, "Status", e ? e->a : "");
	cJSON_AddItemToArray(a, d);
}

static void add_app(cJSON *a, const struct pbx_record *r, const struct pbx_step *s)
{
	cJSON *x;

	if (!strcmp(s->b, "(Outgoing Line)"))
		return;     /* AppDial2, AppQueue: how Asterisk names an outgoing channel */
	x = cJSON_CreateObject();
	add_leg(x, "Channel", r, s->leg);
	cJSON_AddStringToObject(x, "Application", s->a);
	cJSON_AddStringToObject(x, "Data", s->b);
	call_json_time(x, "Time", s->t);
	cJSON_AddItemToArray(a, x);
}

/* Whether the bridge left at step i was entered in the history. */
static int entered(const struct pbx_record *r, size_t i)
{
	const struct pbx_step *s = &r->steps[i];

	for (size_t j = 0; j < i; j++)
		if (r->steps[j].kind == PBX_STEP_BRIDGE_ENTER && r->steps[j].leg == s->leg &&
		    !strcmp(r->steps[j].a, s->a))
			return 1;
	return 0;
}

/* A bridge entered at step i, or (a leave) entered before we watched. */
static void add_bridge(cJSON *a, const struct pbx_record *r, size_t i)
{
	const struct pbx_step *s = &r->steps[i], *e = s;
	cJSON *x = cJSON_CreateObject();

	if (s->kind == PBX_STEP_BRIDGE_ENTER)
		e = closing(r, i, PBX_STEP_BRIDGE_LEAVE, PBX_STEP_BRIDGE_LEAVE);
	cJSON_AddStringToObject(x, "Bridge", s->a);
	call_json_text(x, "Type", s->b);
	add_leg(x, "Channel", r, s->leg);
	call_json_time(x, "Enter", s == e ? 0 : s->t);
	call_json_time(x, "Leave", e ? e->t : 0);
	cJSON_AddItemToArray(a, x);
}

static void add_conf(cJSON *a, const struct pbx_record *r, size_t i)
{
	const struct pbx_step *s = &r->steps[i];
	const struct pbx_step *e = closing(r, i, PBX_STEP_CONF_LEAVE, PBX_STEP_CONF_LEAVE);
	cJSON *x = cJSON_CreateObject();

	cJSON_AddStringToObject(x, "Conference", s->a);
	add_leg(x, "Channel", r, s->leg);
	call_json_time(x, "Join", s->t);
	call_json_time(x, "Leave", e ? e->t : 0);
	cJSON_AddBoolToObject(x, "Admin", s->n1 != 0);
	cJSON_AddItemToArray(a, x);
}

/* The agent who took the caller of queue step s, or NULL. */
static const struct pbx_step *agent_of(const struct pbx_record *r, size_t i)
{
	const struct pbx_step *s = &r->steps[i];

	for (size_t j = i + 1; j < r->nsteps; j++) {
		const struct pbx_step *e = &r->steps[j];
		if (e->kind == PBX_STEP_AGENT_CONNECT && e->leg == s->leg && !strcmp(e->a, s->a))
			return e;
		if (e->kind == PBX_STEP_QUEUE_JOIN && e->leg == s->leg)
			break;
	}
	return NULL;
}

static void add_queue(cJSON *a, const struct pbx_record *r, size_t i)
{
	const struct pbx_step *s = &r->steps[i];
	const struct pbx_step *leave = closing(r, i, PBX_STEP_QUEUE_LEAVE, PBX_STEP_QUEUE_LEAVE);
	const struct pbx_step *abandon = closing(r, i, PBX_STEP_QUEUE_ABANDON, PBX_STEP_QUEUE_ABANDON);
	const struct pbx_step *agent = agent_of(r, i);
	cJSON *x = cJSON_CreateObject();

	cJSON_AddStringToObject(x, "Queue", s->a);
	add_leg(x, "Channel", r, s->leg);
	cJSON_AddNumberToObject(x, "Position", (double)s->n1);
	call_json_time(x, "Join", s->t);
	call_json_time(x, "Leave", leave ? leave->t : abandon ? abandon->t : 0);
	/* the wait as measured, in ms; else QueueCallerAbandon's HoldTime, in s */
	if (leave)
		add_seconds(x, "Wait", leave->n2);
	else if (abandon)
		add_seconds(x, "Wait", abandon->n2 * 1000);
	else
		cJSON_AddNullToObject(x, "Wait");
	cJSON_AddBoolToObject(x, "Abandoned", abandon != NULL);
	call_json_text(x, "Agent", agent ? agent->b : "");
	call_json_text(x, "Interface", agent ? agent->c : "");
	cJSON_AddItemToArray(a, x);
}

static void add_transfer(cJSON *a, const struct pbx_record *r, const struct pbx_step *s)
{
	cJSON *x = cJSON_CreateObject();
	int blind = s->kind == PBX_STEP_BLIND_TRANSFER;

	cJSON_AddStringToObject(x, "Type", blind ? "blind" : "attended");
	call_json_time(x, "Time", s->t);
	add_leg(x, "Transferer", r, s->leg);
	if (blind) {
		add_leg(x, "Transferee", r, s->peer);
		call_json_text(x, "Exten", s->a);
		call_json_text(x, "Context", s->b);
		call_json_text(x, "Result", s->c);
	} else {
		add_leg(x, "SecondTransferer", r, s->peer);
		call_json_text(x, "DestType", s->a);
		call_json_text(x, "Destination", s->c);
		call_json_text(x, "Result", s->b);
	}
	cJSON_AddItemToArray(a, x);
}

/* Dials, applications, bridges, conferences, queues and transfers, each an
 * array in the order they happened. */
static void add_steps(cJSON *o, const struct pbx_record *r)
{
	cJSON *dials = cJSON_AddArrayToObject(o, "Dials");
	cJSON *apps = cJSON_AddArrayToObject(o, "Applications");
	cJSON *bridges = cJSON_AddArrayToObject(o, "Bridges");
	cJSON *confs = cJSON_AddArrayToObject(o, "Conferences");
	cJSON *queues = cJSON_AddArrayToObject(o, "Queues");
	cJSON *transfers = cJSON_AddArrayToObject(o, "Transfers");

	for (size_t i = 0; i < r->nsteps; i++) {
		const struct pbx_step *s = &r->steps[i];
		switch (s->kind) {
		case PBX_STEP_DIAL_BEGIN: add_dial(dials, r, i); break;
		case PBX_STEP_APP: add_app(apps, r, s); break;
		case PBX_STEP_BRIDGE_ENTER: add_bridge(bridges, r, i); break;
		case PBX_STEP_BRIDGE_LEAVE:
			if (!entered(r, i))
				add_bridge(bridges, r, i);
			break;
		case PBX_STEP_CONF_JOIN: add_conf(confs, r, i); break;
		case PBX_STEP_QUEUE_JOIN: add_queue(queues, r, i); break;
		case PBX_STEP_BLIND_TRANSFER: case PBX_STEP_ATTENDED_TRANSFER:
			add_transfer(transfers, r, s);
			break;
		default:
			break;
		}
	}
}

cJSON *call_record_json(const struct pbx_record *r, const struct call_summary *s)
{
	cJSON *o = json_object();
	char words[64];

	cJSON_AddStringToObject(o, "Linkedid", r->linkedid);
	call_json_time(o, "Start", r->start);
	call_json_time(o, "Answer", s->answer);
	call_json_time(o, "End", r->end);
	add_seconds(o, "Duration", r->end - r->start);
	if (s->disposition == CALL_ANSWERED && !s->answer)
		cJSON_AddNullToObject(o, "Billsec");        /* answered before we watched */
	else
		add_seconds(o, "Billsec", s->answer ? r->end - s->answer : 0);
	add_party(o, "Caller", &s->caller);
	add_party(o, "Callee", &s->callee);
	cJSON_AddStringToObject(o, "Disposition", call_disposition_name(s->disposition));
	add_cause(o, s->cause, s->cause_txt);
	if (r->flags) {
		cJSON *why = cJSON_AddArrayToObject(o, "Incomplete");
		char *w = words, *comma;
		call_incomplete(r->flags, words, sizeof words);
		for (; w; w = comma ? comma + 1 : NULL) {
			if ((comma = strchr(w, ',')))
				*comma = '\0';
			cJSON_AddItemToArray(why, cJSON_CreateString(w));
		}
	} else {
		cJSON_AddNullToObject(o, "Incomplete");
	}
	add_channels(o, r);
	add_steps(o, r);
	return o;
}
