/* state_test.c - unit tests for common/state.c, the PBX state model: the
 * Asterisk 22 captures go through the real parser into the model, which is
 * then checked field by field against what the capture shows; synthetic
 * sequences cover what the captures do not (hangup before the list, a
 * reconnect with a changed world, transfers, queue abandon, hostile values).
 *
 *   tests/unit/state_test [CAPTURE_DIR]   (default tests/captures/asterisk-22)
 * Prints one line per failed check, then "N passed, N failed". */
#define _POSIX_C_SOURCE 200809L
#include "check.h"
#include "msg.h"
#include "state.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *capdir = "tests/captures/asterisk-22";

#define T0 1796522520000ll      /* a clock for the tests: ms since the epoch */

/* ---------- captures ---------- */

struct capture {
	struct ami_msg *m;
	size_t n;
};

static void capture_load(struct capture *c, const char *name, const char *dir, int banner)
{
	char path[512];
	FILE *f;
	struct ami_parser *ps = ami_parser_new(NULL, banner);
	struct ami_msg tmp;
	char buf[4096];
	size_t got;
	size_t cap = 0;

	memset(c, 0, sizeof *c);
	snprintf(path, sizeof path, "%s/%s.%s.raw", capdir, name, dir);
	if (!(f = fopen(path, "rb"))) {
		CHECKF(0, "cannot open %s", path);
		ami_parser_free(ps);
		return;
	}
	ami_msg_init(&tmp);
	while ((got = fread(buf, 1, sizeof buf, f)) > 0) {
		ami_parser_feed(ps, buf, got);
		while (ami_parser_next(ps, &tmp) > 0) {
			if (c->n == cap) {
				cap = cap ? cap * 2 : 64;
				c->m = xrealloc(c->m, cap * sizeof *c->m);
			}
			ami_msg_init(&c->m[c->n]);
			ami_msg_copy(&c->m[c->n++], &tmp);
		}
	}
	fclose(f);
	ami_msg_free(&tmp);
	ami_parser_free(ps);
}

static void capture_free(struct capture *c)
{
	for (size_t i = 0; i < c->n; i++)
		ami_msg_free(&c->m[i]);
	free(c->m);
}

static int msg_is(const struct ami_msg *m, const char *key, const char *value)
{
	const char *v = ami_msg_get(m, key);

	return v && !strcmp(v, value);
}

/* Feeds a capture's messages in order, one ms apart. */
struct cursor {
	struct capture c;
	size_t i;
	int64_t now;
};

static void cursor_open(struct cursor *k, const char *name)
{
	capture_load(&k->c, name, "recv", 1);
	k->i = 0;
	k->now = T0;
}

/* Feeds up to and including the next message with this Event (and key:
 * value when key is set); 0 when there was none. */
static int feed_until(struct pbx *p, struct cursor *k, const char *event, const char *key,
		      const char *value)
{
	while (k->i < k->c.n) {
		const struct ami_msg *m = &k->c.m[k->i++];
		k->now += 1;
		pbx_feed(p, m, k->now);
		if (event && msg_is(m, "Event", event) && (!key || msg_is(m, key, value)))
			return 1;
	}
	return event == NULL;
}

/* Answers the model's list requests from a list capture: a request gets
 * the capture's answer to the same action (and argument; or the ActionID
 * named in pick, "Action=ActionID"), fed in capture order with the
 * ActionID made the model's. The actions named in deny get "Permission
 * denied" instead. Requests the capture cannot answer are reported lost.
 * Returns how many were. */
static int sync_from(struct pbx *p, const char *name, const char *deny, const char *pick,
		     int64_t now)
{
	struct capture sent, recv;
	struct pbx_request req[64];
	char bound[64][64];         /* the capture's ActionID answering each request */
	size_t nreq = 0;
	int lost = 0;

	capture_load(&sent, name, "sent", 0);
	capture_load(&recv, name, "recv", 1);
	for (size_t i = 0; i < recv.n; i++) {
		struct ami_msg *m = &recv.m[i];
		const char *aid = ami_msg_get(m, "ActionID");
		const struct ami_msg *act = NULL;
		size_t r;

		while (nreq < 64 && pbx_next_request(p, &req[nreq]))
			bound[nreq++][0] = '\0';
		for (size_t j = 0; aid && j < sent.n && !act; j++)
			if (msg_is(&sent.m[j], "ActionID", aid))
				act = &sent.m[j];
		if (!act)
			continue;
		for (r = 0; r < nreq && strcmp(bound[r], aid); r++)
			;
		for (size_t c = 0; r == nreq && c < nreq; c++) {
			char want[160], any[80];
			snprintf(want, sizeof want, "%s=%s", req[c].action, aid);
			snprintf(any, sizeof any, "%s=", req[c].action);
			if (bound[c][0] || !msg_is(act, "Action", req[c].action))
				continue;
			if (pick && strstr(pick, any) ? !strstr(pick, want) :
			    req[c].key && !msg_is(act, req[c].key, req[c].value))
				continue;
			snprintf(bound[c], sizeof bound[c], "%s", aid);
			r = c;
			if (deny && strstr(deny, req[c].action)) {
				struct ami_msg err;
				ami_msg_init(&err);
				ami_msg_add(&err, "Response", "Error");
				ami_msg_add(&err, "ActionID", req[c].action_id);
				ami_msg_add(&err, "Message", "Permission denied");
				pbx_feed(p, &err, now);
				ami_msg_free(&err);
			}
		}
		if (r == nreq || (deny && strstr(deny, req[r].action)))
			continue;
		ami_msg_set(m, "ActionID", req[r].action_id);
		pbx_feed(p, m, now);
	}
	while (nreq < 64 && pbx_next_request(p, &req[nreq]))
		bound[nreq++][0] = '\0';
	for (size_t r = 0; r < nreq; r++)
		if (!bound[r][0]) {
			pbx_request_lost(p, &req[r], "not in the capture");
			lost++;
		}
	capture_free(&sent);
	capture_free(&recv);
	return lost;
}

/* ---------- synthetic messages ---------- */

/* Feeds the messages in text ("Key: Value" lines, a blank line between
 * messages), all at now. */
static int feed_text(struct pbx *p, int64_t now, const char *text)
{
	struct ami_parser *ps = ami_parser_new(NULL, 0);
	struct ami_msg m;
	int changed = 0;

	ami_msg_init(&m);
	ami_parser_feed(ps, text, strlen(text));
	ami_parser_feed(ps, "\n\n", 2);
	while (ami_parser_next(ps, &m) > 0)
		changed |= pbx_feed(p, &m, now);
	ami_msg_free(&m);
	ami_parser_free(ps);
	return changed;
}

/* A channel event: name, uniqueid, linkedid, state and what follows. */
static void chan_event(struct pbx *p, int64_t now, const char *event, const char *name,
		       const char *uid, const char *lid, int state, const char *more)
{
	char text[2048];

	snprintf(text, sizeof text,
		 "Event: %s\nChannel: %s\nChannelState: %d\nChannelStateDesc: %s\n"
		 "CallerIDNum: 100\nCallerIDName: Alice\nConnectedLineNum: <unknown>\n"
		 "ConnectedLineName: <unknown>\nAccountCode: \nContext: default\nExten: 200\n"
		 "Priority: 1\nUniqueid: %s\nLinkedid: %s\n%s\n",
		 event, name, state, state == 6 ? "Up" : state == 5 ? "Ringing" : "Ring", uid, lid,
		 more ? more : "");
	feed_text(p, now, text);
}

/* Answers the next request for list with the items in text (each gets
 * the request's ActionID) and its Complete event. */
static void answer_list(struct pbx *p, struct pbx_request *r, const char *items, int64_t now)
{
	char text[8192], one[4096];
	const char *s = items;
	int n = 0;

	snprintf(text, sizeof text, "Response: Success\nActionID: %s\nEventList: start\n\n",
		 r->action_id);
	while (s && *s) {
		const char *end = strstr(s, "\n\n");
		size_t len = end ? (size_t)(end - s) : strlen(s);
		snprintf(one, sizeof one, "%.*s\nActionID: %s\n\n", (int)len, s, r->action_id);
		strncat(text, one, sizeof text - strlen(text) - 1);
		n++;
		s = end ? end + 2 : NULL;
	}
	snprintf(one, sizeof one, "Event: %sComplete\nActionID: %s\nEventList: Complete\n"
		 "ListItems: %d\n\n", r->action, r->action_id, n);
	strncat(text, one, sizeof text - strlen(text) - 1);
	feed_text(p, now, text);
}

static void answer_error(struct pbx *p, struct pbx_request *r, const char *message, int64_t now)
{
	char text[512];

	snprintf(text, sizeof text, "Response: Error\nActionID: %s\nMessage: %s\n\n", r->action_id,
		 message);
	feed_text(p, now, text);
}

static int next_request(struct pbx *p, struct pbx_request *r, const char *action)
{
	if (!pbx_next_request(p, r))
		return CHECKF(0, "no request left, wanted %s", action), 0;
	return CHECK_STR(r->action, action);
}

/* ---------- records ---------- */

static struct pbx_record *records[16];
static size_t nrecords;

static void drain_records(struct pbx *p)
{
	struct pbx_record *r;

	while ((r = pbx_next_finished(p)))
		if (nrecords < 16)
			records[nrecords++] = r;
		else
			pbx_record_free(r);
}

static void free_records(void)
{
	for (size_t i = 0; i < nrecords; i++)
		pbx_record_free(records[i]);
	nrecords = 0;
}

static const struct pbx_record *record_of(const char *linkedid)
{
	for (size_t i = 0; i < nrecords; i++)
		if (!strcmp(records[i]->linkedid, linkedid))
			return records[i];
	return NULL;
}

static int leg_of(const struct pbx_record *r, const char *uniqueid)
{
	for (size_t i = 0; r && i < r->nlegs; i++)
		if (!strcmp(r->legs[i].uniqueid, uniqueid))
			return (int)i;
	return -1;
}

/* The kinds of a record's steps as "app dial_begin ...". */
static const char *step_names(const struct pbx_record *r)
{
	static char buf[4096];

	buf[0] = '\0';
	for (size_t i = 0; r && i < r->nsteps; i++) {
		if (i)
			strncat(buf, " ", sizeof buf - strlen(buf) - 1);
		strncat(buf, pbx_step_name(r->steps[i].kind), sizeof buf - strlen(buf) - 1);
	}
	return buf;
}

static const struct pbx_step *find_step(const struct pbx_record *r, enum pbx_step_kind k, int nth)
{
	for (size_t i = 0; r && i < r->nsteps; i++)
		if (r->steps[i].kind == k && nth-- == 0)
			return &r->steps[i];
	return NULL;
}

/* ---------- list captures ---------- */

static void test_idle(void)
{
	struct pbx *p = pbx_new(NULL);
	const struct pbx_sync *s;
	const struct pbx_queue *q;
	const struct pbx_member *m;
	const struct pbx_extension *e;
	int lost;

	pbx_sync_begin(p, T0);
	lost = sync_from(p, "tcp-state-lists-idle", NULL, NULL, T0);
	s = pbx_sync_state(p);
	CHECK_INT(lost, 0);
	CHECK(s->done);
	CHECK_INT(s->epoch, 1);
	CHECK(!s->resync);
	for (int l = 0; l < PBX_LIST_COUNT; l++)
		if (l == PBX_LIST_BRIDGE_INFO || l == PBX_LIST_CONF_MEMBERS)
			CHECKF(s->list[l].status == PBX_LS_UNASKED, "%s asked", pbx_list_action(l));
		else
			CHECKF(s->list[l].status == PBX_LS_OK, "%s status %d", pbx_list_action(l),
			       s->list[l].status);
	/* quirk 37: "No active conferences." is an empty list, not an error */
	CHECK_STR(s->list[PBX_LIST_CONFS].message, "");
	CHECK_INT(pbx_count(p, PBX_KIND_CHANNEL), 0);
	CHECK_INT(pbx_count(p, PBX_KIND_CALL), 0);
	CHECK_INT(pbx_count(p, PBX_KIND_BRIDGE), 0);
	CHECK_INT(pbx_count(p, PBX_KIND_CONF), 0);
	CHECK_INT(pbx_count(p, PBX_KIND_QUEUE), 2);
	CHECK_INT(pbx_count(p, PBX_KIND_MEMBER), 1);
	CHECK_INT(pbx_count(p, PBX_KIND_CALLER), 0);
	CHECK_INT(pbx_count(p, PBX_KIND_EXTENSION), 1);
	CHECK_INT(pbx_count(p, PBX_KIND_DEVICE), 7);
	CHECK_INT(s->list[PBX_LIST_QUEUES].items, 3);
	CHECK_INT(s->added[PBX_KIND_QUEUE], 2);
	CHECK_INT(s->added[PBX_KIND_DEVICE], 7);
	q = pbx_queue(p, "support");
	if (CHECK(q)) {
		CHECK_STR(q->strategy, "ringall");
		CHECK_INT(q->calls, 0);
		CHECK_INT(q->max, 0);
		CHECK_STR(q->sl_perf, "0.0");
		CHECK_INT(q->members.n, 0);
		CHECK_INT(q->logged_in, -1);    /* QueueSummary is not asked */
	}
	CHECK(pbx_queues(p) == q);          /* in list order */
	m = pbx_member(p, "sales", "Local/wait20@test");
	if (CHECK(m)) {
		CHECK_STR(m->name, "Agent Smith");
		CHECK_STR(m->state_interface, "Local/wait20@test");
		CHECK_STR(m->membership, "static");
		CHECK_INT(m->status, 1);
		CHECK_STR(pbx_member_status_name(m->status), "NOT_INUSE");
		CHECK_INT(m->paused, 0);
		CHECK_STR(m->paused_reason, "");
		CHECK_INT(m->login_time, 1796522359);
		CHECK(m->queue == pbx_queue(p, "sales"));
	}
	e = pbx_extension(p, "test", "100");
	if (CHECK(e)) {
		CHECK_STR(e->hint, "Custom:lab100");
		CHECK_INT(e->status, 4);
		CHECK_STR(e->status_text, "Unavailable");
		CHECK_STR(pbx_ext_status_name(e->status), "Unavailable");
	}
	CHECK(pbx_device(p, "Custom:lab100") && !strcmp(pbx_device(p, "Custom:lab100")->state,
							 "UNAVAILABLE"));
	CHECK(pbx_device(p, "Queue:support_avail") &&
	      !strcmp(pbx_device(p, "Queue:support_avail")->state, "INUSE"));
	pbx_free(p);
}

static void check_busy_conference(struct pbx *p, int64_t now)
{
	const struct pbx_conf *cf = pbx_conf(p, "700");
	const struct pbx_channel *a = pbx_channel(p, "busy-conf1;2");

	if (!CHECK(cf))
		return;
	CHECK_INT(cf->parties, 2);
	CHECK_INT(cf->marked, 0);
	CHECK_INT(cf->flags, 0);
	CHECK_INT(cf->members.n, 2);
	if (CHECK(a)) {
		CHECK(a->conf == cf);
		CHECK_INT(a->conf_flags, 0);
		CHECK_INT(a->answer, now - 8000);   /* AnsweredTime: 8 */
		CHECK_INT(a->conf_join, now - 8000);
	}
	CHECK(cf->members.first == a);
	CHECK(cf->members.last == pbx_channel(p, "busy-conf2;2"));
	CHECK_INT(cf->start, now - 8000);
}

static void test_busy(void)
{
	struct pbx *p = pbx_new(NULL);
	const struct pbx_sync *s;
	const struct pbx_channel *ch, *dial1, *dial2;
	const struct pbx_bridge *b;
	const struct pbx_queue *q;
	const struct pbx_call *call;
	struct pbx_call_view v;
	const void *rows[16];
	int lost;

	pbx_sync_begin(p, T0);
	lost = sync_from(p, "tcp-state-lists-busy", NULL, NULL, T0);
	s = pbx_sync_state(p);
	CHECK_INT(lost, 0);
	CHECK(s->done);
	CHECK(s->list[PBX_LIST_CONF_MEMBERS].status == PBX_LS_OK);
	CHECK_INT(s->list[PBX_LIST_CONF_MEMBERS].requests, 1);
	CHECK(s->list[PBX_LIST_BRIDGE_INFO].status == PBX_LS_UNASKED);
	CHECK_INT(s->list[PBX_LIST_CHANNELS].items, 10);
	CHECK_INT(pbx_count(p, PBX_KIND_CHANNEL), 10);
	CHECK_INT(pbx_count(p, PBX_KIND_CALL), 4);
	CHECK_INT(pbx_count(p, PBX_KIND_BRIDGE), 2);
	CHECK_INT(pbx_count(p, PBX_KIND_CONF), 1);
	CHECK_INT(pbx_count(p, PBX_KIND_CALLER), 1);

	/* one channel, every field */
	ch = pbx_channel(p, "1796522514.74");
	if (CHECK(ch)) {
		CHECK_STR(ch->name, "Local/wait20@test-00000024;1");
		CHECK_INT(ch->state, 6);
		CHECK_STR(ch->state_desc, "Up");
		CHECK_STR(ch->cid_num, "dial");
		CHECK_STR(ch->cid_name, "");     /* <unknown> */
		CHECK_STR(ch->conn_num, "");
		CHECK_STR(ch->account, "");
		CHECK_STR(ch->context, "test");
		CHECK_STR(ch->exten, "");
		CHECK_INT(ch->priority, 1);
		CHECK_STR(ch->linkedid, "busy-dial");
		CHECK_STR(ch->app, "AppDial");
		CHECK_STR(ch->app_data, "(Outgoing Line)");
		CHECK_INT(ch->start, T0 - 4000);  /* Duration: 00:00:04 */
		CHECK_INT(ch->answer, 0);         /* not seen */
		CHECK(!(ch->flags & PBX_CH_BORN));
		CHECK(ch->local_peer == pbx_channel(p, "1796522514.75"));
		CHECK(ch->bridge && !strcmp(ch->bridge->id, "3dd14c3a-2c02-4941-8f1a-62b3fc9925ca"));
		CHECK(pbx_channel_named(p, "Local/wait20@test-00000024;1") == ch);
	}
	dial1 = pbx_channel(p, "busy-dial");
	dial2 = pbx_channel(p, "busy-dial;2");
	CHECK(dial1 && dial2 && dial1->local_peer == dial2 && dial2->local_peer == dial1);

	/* the two-party call: four Local channels in one call */
	call = pbx_call(p, "busy-dial");
	if (CHECK(call)) {
		CHECK_INT(call->channels.n, 4);
		CHECK_INT(call->start, T0 - 4000);
		pbx_call_view(call, &v);
		CHECK(v.caller == dial1);
		CHECK(v.callee == pbx_channel(p, "1796522514.74"));
		CHECK_STR(v.callee_num, "dial");
		CHECK_STR(v.caller_num, "");
		CHECK_INT(v.state, PBX_CALL_UP);
		CHECK_STR(pbx_call_state_name(v.state), "up");
		CHECK(v.bridge == dial2->bridge);
		CHECK_STR(v.app, "Dial");        /* the ;2 runs the dialplan */
		CHECK_STR(v.app_data, "Local/wait20@test,30");
		CHECK(!v.conf);
	}
	b = pbx_bridge(p, "3dd14c3a-2c02-4941-8f1a-62b3fc9925ca");
	if (CHECK(b)) {
		CHECK_STR(b->type, "basic");
		CHECK_STR(b->technology, "simple_bridge");
		CHECK_STR(b->creator, "");
		CHECK_STR(b->name, "");
		CHECK_INT(b->nchannels, 2);
		CHECK_INT(b->members.n, 2);
	}
	b = pbx_bridge(p, "8e4c7d0a-5b26-4d60-b5f6-e06c4e0f1043");
	if (CHECK(b)) {
		CHECK_STR(b->technology, "softmix");
		CHECK_STR(b->creator, "ConfBridge");
		CHECK_STR(b->name, "700");
		CHECK_INT(b->nchannels, 3);      /* the announcer counts too */
		CHECK_INT(b->members.n, 2);
	}
	check_busy_conference(p, T0);
	ch = pbx_channel(p, "busy-conf1;2");
	CHECK(ch && !strcmp(ch->app, "ConfBridge") && !strcmp(ch->app_data, "700"));
	call = pbx_call(p, "busy-conf1");
	if (CHECK(call)) {
		pbx_call_view(call, &v);
		CHECK(v.conf == pbx_conf(p, "700"));
		CHECK(v.bridge == b);
		CHECK_STR(v.app, "ConfBridge");
	}

	/* the queue: one caller waiting, caller ID "unknown" (quirk 38) */
	q = pbx_queue(p, "support");
	if (CHECK(q)) {
		CHECK_INT(q->calls, 1);
		CHECK_INT(q->callers.n, 1);
		CHECK_INT(q->members.n, 0);
		ch = q->callers.first;
		if (CHECK(ch)) {
			CHECK_STR(ch->uniqueid, "busy-queue;2");
			CHECK_INT(ch->queue_pos, 1);
			CHECK_INT(ch->queue_join, T0 - 4000);   /* Wait: 4 */
			CHECK_STR(ch->cid_num, "");
			CHECK_STR(ch->app, "Queue");
			CHECK(ch->queue == q);
		}
	}
	CHECK(pbx_member(p, "sales", "Local/wait20@test") &&
	      pbx_member(p, "sales", "Local/wait20@test")->status == 2);
	call = pbx_call(p, "busy-queue");
	if (CHECK(call)) {
		pbx_call_view(call, &v);
		CHECK(!v.callee);
		CHECK_STR(v.callee_num, "queue");   /* the caller's exten */
		CHECK_STR(v.app, "Queue");
		CHECK_STR(v.app_data, "support,,,,120");
	}
	CHECK(pbx_extension(p, "test", "100") && pbx_extension(p, "test", "100")->status == 1);
	CHECK_STR(pbx_ext_status_name(1), "InUse");
	CHECK(pbx_device(p, "Custom:lab100") && !strcmp(pbx_device(p, "Custom:lab100")->state,
							 "INUSE"));
	CHECK(pbx_device(p, "Queue:support") && !strcmp(pbx_device(p, "Queue:support")->state,
							 "RINGING"));
	CHECK_INT(pbx_count(p, PBX_KIND_DEVICE), 8);

	/* sorted views */
	CHECK_INT(pbx_sorted(p, PBX_KIND_CHANNEL, PBX_SORT_NAME, 0, rows, 16), 10);
	CHECK_STR(((const struct pbx_channel *)rows[0])->name, "Local/700@confbridge-00000025;1");
	CHECK_STR(((const struct pbx_channel *)rows[9])->name, "Local/wait20@test-00000024;2");
	CHECK_INT(pbx_sorted(p, PBX_KIND_CHANNEL, PBX_SORT_NAME, 1, rows, 3), 10);
	CHECK_STR(((const struct pbx_channel *)rows[0])->name, "Local/wait20@test-00000024;2");
	CHECK_INT(pbx_sorted(p, PBX_KIND_CALL, PBX_SORT_AGE, 0, rows, 16), 4);
	CHECK_STR(((const struct pbx_call *)rows[0])->linkedid, "busy-dial");  /* 4 s, listed after conf */
	CHECK_INT(pbx_sorted(p, PBX_KIND_MEMBER, PBX_SORT_NAME, 0, rows, 16), 0);
	pbx_free(p);
}

/* CoreShowChannels refused: the rest still works, and BridgeInfo names the
 * bridged channels instead. */
static void test_busy_denied(void)
{
	struct pbx *p = pbx_new(NULL);
	const struct pbx_sync *s;
	const struct pbx_bridge *b;
	int lost;

	pbx_sync_begin(p, T0);
	lost = sync_from(p, "tcp-state-lists-busy", "CoreShowChannels", NULL, T0);
	s = pbx_sync_state(p);
	CHECK_INT(lost, 1);     /* BridgeInfo of the conference bridge is not in the capture */
	CHECK(s->done);
	CHECK_INT(s->list[PBX_LIST_CHANNELS].status, PBX_LS_DENIED);
	CHECK_STR(s->list[PBX_LIST_CHANNELS].message, "Permission denied");
	CHECK_STR(pbx_list_privilege(PBX_LIST_CHANNELS), "system,reporting");
	CHECK_INT(s->list[PBX_LIST_BRIDGE_INFO].requests, 2);
	CHECK_INT(s->list[PBX_LIST_BRIDGE_INFO].status, PBX_LS_FAILED);
	CHECK_STR(s->list[PBX_LIST_BRIDGE_INFO].message, "not in the capture");
	CHECK_INT(s->list[PBX_LIST_QUEUES].status, PBX_LS_OK);
	/* 2 from BridgeInfo, 2 from ConfbridgeList, 1 from QueueEntry */
	CHECK_INT(pbx_count(p, PBX_KIND_CHANNEL), 5);
	b = pbx_bridge(p, "3dd14c3a-2c02-4941-8f1a-62b3fc9925ca");
	if (CHECK(b)) {
		CHECK_INT(b->members.n, 2);
		CHECK(b->members.first == pbx_channel(p, "1796522514.74"));
	}
	check_busy_conference(p, T0);
	CHECK(pbx_channel(p, "busy-queue;2") && !pbx_channel(p, "busy-queue;2")->call);
	CHECK_INT(pbx_count(p, PBX_KIND_CALL), 3);
	pbx_free(p);
}

/* A real capture as three (re)synchronisations: CoreShowChannels before,
 * during (a duplicate item) and after two originates. */
static void test_resync_capture(void)
{
	struct pbx *p = pbx_new(NULL);
	const struct pbx_sync *s;
	const char *name = "tcp-coreshowchannels-active";

	pbx_keep_finished(p, 4);
	pbx_sync_begin(p, T0);
	CHECK_INT(sync_from(p, name, NULL, "CoreShowChannels=tcp-coreshowchannels-active-2", T0), 5);
	s = pbx_sync_state(p);
	CHECK(s->done);
	CHECK_INT(s->list[PBX_LIST_CHANNELS].status, PBX_LS_OK);
	CHECK_INT(s->list[PBX_LIST_QUEUES].status, PBX_LS_FAILED);
	CHECK_INT(pbx_count(p, PBX_KIND_CHANNEL), 0);

	pbx_sync_begin(p, T0 + 1000);
	sync_from(p, name, NULL, "CoreShowChannels=tcp-coreshowchannels-active-4", T0 + 1000);
	s = pbx_sync_state(p);
	CHECK(s->resync);
	CHECK_INT(s->list[PBX_LIST_CHANNELS].items, 3);     /* one listed twice */
	CHECK_INT(s->added[PBX_KIND_CHANNEL], 2);
	CHECK_INT(pbx_count(p, PBX_KIND_CHANNEL), 2);
	CHECK_INT(pbx_count(p, PBX_KIND_CALL), 1);

	pbx_sync_begin(p, T0 + 2000);
	sync_from(p, name, NULL, "CoreShowChannels=tcp-coreshowchannels-active-7", T0 + 2000);
	s = pbx_sync_state(p);
	CHECK_INT(s->epoch, 3);
	CHECK_INT(s->added[PBX_KIND_CHANNEL], 2);
	CHECK_INT(s->removed[PBX_KIND_CHANNEL], 0);
	CHECK_INT(pbx_count(p, PBX_KIND_CHANNEL), 4);
	CHECK_INT(pbx_count(p, PBX_KIND_CALL), 2);
	CHECK(pbx_call(p, "1795674350.12") && pbx_call(p, "1795674350.12")->channels.n == 2);

	/* and back to nothing: both calls end, lost in the gap */
	pbx_sync_begin(p, T0 + 3000);
	sync_from(p, name, NULL, "CoreShowChannels=tcp-coreshowchannels-active-2", T0 + 3000);
	s = pbx_sync_state(p);
	CHECK_INT(s->removed[PBX_KIND_CHANNEL], 4);
	CHECK_INT(s->removed[PBX_KIND_CALL], 2);
	CHECK_INT(pbx_count(p, PBX_KIND_CALL), 0);
	drain_records(p);
	CHECK_INT(nrecords, 2);
	for (size_t i = 0; i < nrecords; i++) {
		CHECK(records[i]->flags & PBX_REC_GAP);
		CHECK(records[i]->flags & PBX_REC_PARTIAL);
		CHECK_INT(records[i]->nlegs, 2);
		CHECK(records[i]->legs[0].flags & PBX_LEG_LOST);
		CHECK_INT(records[i]->legs[0].cause, -1);
		CHECK_INT(records[i]->legs[0].local_peer, 1);
	}
	free_records();
	pbx_free(p);
}

/* ---------- event captures ---------- */

static void test_call_bridged(void)
{
	struct pbx *p = pbx_new(NULL);
	struct cursor k;
	const struct pbx_call *call;
	const struct pbx_record *r;
	const struct pbx_step *st;
	struct pbx_call_view v;
	int l0, l1, l2, l3;

	pbx_keep_finished(p, 8);
	cursor_open(&k, "events-call-bridged");
	CHECK(feed_until(p, &k, "Newchannel", NULL, NULL));
	CHECK_INT(pbx_count(p, PBX_KIND_CHANNEL), 1);
	CHECK(pbx_channel(p, "ev-dial") && (pbx_channel(p, "ev-dial")->flags & PBX_CH_BORN));
	CHECK(pbx_channel(p, "ev-dial") && pbx_channel(p, "ev-dial")->start == k.now);

	/* ringing until the caller's side answers */
	CHECK(feed_until(p, &k, "DialBegin", "DialString", "wait20@test"));
	call = pbx_call(p, "ev-dial");
	if (CHECK(call)) {
		CHECK_INT(call->channels.n, 4);
		pbx_call_view(call, &v);
		CHECK_INT(v.state, PBX_CALL_RINGING);
		CHECK(v.callee == pbx_channel(p, "1796522527.86"));
		CHECK_STR(v.callee_num, "dial");
	}
	CHECK(pbx_channel(p, "1796522527.86") &&
	      pbx_channel(p, "1796522527.86")->local_peer == pbx_channel(p, "1796522527.87"));

	CHECK(feed_until(p, &k, "BridgeEnter", "Uniqueid", "ev-dial;2"));
	call = pbx_call(p, "ev-dial");
	if (CHECK(call)) {
		pbx_call_view(call, &v);
		CHECK_INT(v.state, PBX_CALL_UP);
		CHECK(v.caller == pbx_channel(p, "ev-dial"));
		CHECK(v.callee == pbx_channel(p, "1796522527.86"));
		CHECK(v.bridge && !strcmp(v.bridge->id, "a845cee5-0466-4e50-8b99-2742f37bcb69"));
		CHECK_STR(v.app, "Dial");
		CHECK(v.answer > 0);
		CHECK_INT(v.bridge ? v.bridge->members.n : 0, 2);
		CHECK_INT(pbx_channel(p, "1796522527.87")->answer > 0, 1);   /* Newstate Up */
	}
	CHECK(pbx_device(p, "Local/wait20@test"));

	CHECK(feed_until(p, &k, NULL, NULL, NULL));
	CHECK_INT(pbx_count(p, PBX_KIND_CHANNEL), 0);
	CHECK_INT(pbx_count(p, PBX_KIND_CALL), 0);
	CHECK_INT(pbx_count(p, PBX_KIND_BRIDGE), 0);
	CHECK(pbx_device(p, "Local/dial@test") &&
	      !strcmp(pbx_device(p, "Local/dial@test")->state, "NOT_INUSE"));
	CHECK(pbx_member(p, "sales", "Local/wait20@test") &&
	      pbx_member(p, "sales", "Local/wait20@test")->status == 1);

	drain_records(p);
	CHECK_INT(nrecords, 1);
	r = record_of("ev-dial");
	if (!CHECK(r))
		goto out;
	CHECK_INT(r->flags, 0);
	CHECK_INT(r->nlegs, 4);
	l0 = leg_of(r, "ev-dial"), l1 = leg_of(r, "ev-dial;2");
	l2 = leg_of(r, "1796522527.86"), l3 = leg_of(r, "1796522527.87");
	CHECK(l0 == 0 && l1 == 1 && l2 == 2 && l3 == 3);
	if (l0 != 0 || l1 != 1 || l2 != 2 || l3 != 3)
		goto out;
	CHECK_STR(r->legs[0].name, "Local/dial@test-00000029;1");
	CHECK_INT(r->legs[0].cause, 0);
	CHECK_STR(r->legs[0].cause_txt, "Unknown");
	CHECK_INT(r->legs[1].cause, 16);
	CHECK_STR(r->legs[1].cause_txt, "Normal Clearing");
	CHECK_STR(r->legs[2].cid_num, "dial");
	CHECK_STR(r->legs[2].context, "test");
	CHECK_STR(r->legs[2].exten, "wait20");     /* where it began */
	CHECK_STR(r->legs[3].conn_num, "dial");
	for (int i = 0; i < 4; i++) {
		CHECK_INT(r->legs[i].flags, PBX_LEG_BORN | PBX_LEG_ENDED);
		CHECK(r->legs[i].start >= r->start && r->legs[i].answer >= r->legs[i].start);
		CHECK(r->legs[i].end >= r->legs[i].answer && r->legs[i].end <= r->end);
	}
	CHECK(r->legs[0].answer > 0 && r->legs[3].answer < r->legs[0].answer);
	CHECK_INT(r->legs[0].local_peer, 1);
	CHECK_INT(r->legs[1].local_peer, 0);
	CHECK_INT(r->legs[2].local_peer, 3);
	CHECK_STR(step_names(r), "app dial_begin app app dial_begin app dial_end dial_end "
		  "bridge_enter bridge_enter app bridge_leave bridge_leave");
	st = find_step(r, PBX_STEP_DIAL_BEGIN, 1);
	if (CHECK(st)) {
		CHECK_INT(st->leg, 1);
		CHECK_INT(st->peer, 2);
		CHECK_STR(st->a, "wait20@test");
	}
	st = find_step(r, PBX_STEP_DIAL_END, 0);
	CHECK(st && st->leg == 1 && st->peer == 2 && !strcmp(st->a, "ANSWER"));
	st = find_step(r, PBX_STEP_DIAL_BEGIN, 0);
	CHECK(st && st->leg == -1 && st->peer == 0 && !strcmp(st->a, "dial@test"));
	st = find_step(r, PBX_STEP_APP, 1);
	CHECK(st && st->leg == 1 && !strcmp(st->a, "Dial") && !strcmp(st->b, "Local/wait20@test,30"));
	st = find_step(r, PBX_STEP_BRIDGE_ENTER, 0);
	CHECK(st && st->leg == 2 && !strcmp(st->a, "a845cee5-0466-4e50-8b99-2742f37bcb69") &&
	      !strcmp(st->b, "basic") && !strcmp(st->c, ""));
	st = find_step(r, PBX_STEP_APP, 4);
	CHECK(st && st->leg == 3 && !strcmp(st->a, "Wait") && !strcmp(st->b, "20"));
	for (size_t i = 1; i < r->nsteps; i++)
		CHECK(r->steps[i].t >= r->steps[i - 1].t);
out:
	free_records();
	capture_free(&k.c);
	pbx_free(p);
}

static void test_queue_call(void)
{
	struct pbx *p = pbx_new(NULL);
	struct cursor k;
	const struct pbx_queue *q;
	const struct pbx_member *m;
	const struct pbx_record *r;
	const struct pbx_step *st;
	int64_t joined;

	pbx_keep_finished(p, 8);
	cursor_open(&k, "events-queue");
	CHECK(feed_until(p, &k, "QueueCallerJoin", NULL, NULL));
	joined = k.now;
	q = pbx_queue(p, "support");
	if (CHECK(q)) {
		CHECK_INT(q->calls, 1);
		CHECK_INT(q->callers.n, 1);
		CHECK(q->callers.first == pbx_channel(p, "q-caller;2"));
		CHECK_INT(pbx_channel(p, "q-caller;2")->queue_pos, 1);
		CHECK_INT(pbx_channel(p, "q-caller;2")->queue_join, joined);
	}
	CHECK(feed_until(p, &k, "QueueMemberAdded", NULL, NULL));
	m = pbx_member(p, "support", "Local/wait20@test");
	if (CHECK(m)) {
		CHECK_STR(m->name, "Bob");
		CHECK_STR(m->membership, "dynamic");
		CHECK_INT(m->ringinuse, 1);
		CHECK_INT(m->login_time, 1796522540);
	}
	CHECK(feed_until(p, &k, "QueueCallerLeave", NULL, NULL));
	q = pbx_queue(p, "support");
	CHECK(q && q->calls == 0 && q->callers.n == 0);
	CHECK(!pbx_channel(p, "q-caller;2")->queue);
	CHECK(feed_until(p, &k, "BridgeEnter", "Uniqueid", "q-caller;2"));
	m = pbx_member(p, "support", "Local/wait20@test");
	CHECK(m && m->in_call == 1 && m->status == 2);
	CHECK(feed_until(p, &k, "QueueMemberPause", "Paused", "1"));
	m = pbx_member(p, "support", "Local/wait20@test");
	if (CHECK(m)) {
		CHECK_INT(m->paused, 1);
		CHECK_STR(m->paused_reason, "lunch");
		CHECK_INT(m->calls_taken, 1);
		CHECK_INT(m->last_pause, 1796522546);
	}
	CHECK(feed_until(p, &k, "QueueMemberPause", "Paused", "0"));
	CHECK(m && m->paused == 0 && !strcmp(m->paused_reason, ""));
	CHECK(feed_until(p, &k, "QueueMemberRemoved", NULL, NULL));
	CHECK(!pbx_member(p, "support", "Local/wait20@test"));
	CHECK_INT(pbx_count(p, PBX_KIND_MEMBER), 1);

	CHECK(feed_until(p, &k, NULL, NULL, NULL));
	CHECK_INT(pbx_count(p, PBX_KIND_CHANNEL), 0);
	m = pbx_member(p, "sales", "Local/wait20@test");
	CHECK(m && m->calls_taken == 1 && m->last_call == 1796522552 && m->in_call == 0);
	q = pbx_queue(p, "sales");
	CHECK(q && q->completed == 1 && q->calls == 0);
	drain_records(p);
	CHECK_INT(nrecords, 2);
	r = record_of("q-caller");
	if (CHECK(r)) {
		CHECK_INT(r->nlegs, 4);
		CHECK_STR(step_names(r), "app dial_begin app dial_end app queue_join app app "
			  "agent_called dial_begin dial_end queue_leave agent_connect "
			  "bridge_enter bridge_enter app agent_complete bridge_leave bridge_leave");
		st = find_step(r, PBX_STEP_QUEUE_JOIN, 0);
		CHECK(st && st->leg == leg_of(r, "q-caller;2") && !strcmp(st->a, "support") &&
		      st->n1 == 1);
		st = find_step(r, PBX_STEP_QUEUE_LEAVE, 0);
		CHECK(st && st->n1 == 1 && st->n2 > 0);
		st = find_step(r, PBX_STEP_AGENT_CALLED, 0);
		CHECK(st && st->leg == leg_of(r, "q-caller;2") &&
		      st->peer == leg_of(r, "1796522540.90") && !strcmp(st->a, "support") &&
		      !strcmp(st->b, "Bob") && !strcmp(st->c, "Local/wait20@test"));
		st = find_step(r, PBX_STEP_AGENT_CONNECT, 0);
		CHECK(st && st->n1 == 2 && st->n2 == 0);
		st = find_step(r, PBX_STEP_AGENT_COMPLETE, 0);
		CHECK(st && st->n1 == 2 && st->n2 == 4 && !strcmp(st->c, "caller"));
	}
	r = record_of("q-sales");
	CHECK(r && find_step(r, PBX_STEP_AGENT_COMPLETE, 0) &&
	      !strcmp(find_step(r, PBX_STEP_AGENT_COMPLETE, 0)->b, "Agent Smith"));
	free_records();
	capture_free(&k.c);
	pbx_free(p);
}

static void test_conference(void)
{
	struct pbx *p = pbx_new(NULL);
	struct cursor k;
	const struct pbx_conf *cf;
	const struct pbx_record *r;
	const struct pbx_step *st;

	pbx_keep_finished(p, 8);
	cursor_open(&k, "events-confbridge");
	CHECK(feed_until(p, &k, "ConfbridgeStart", NULL, NULL));
	cf = pbx_conf(p, "701");
	CHECK(cf && !strcmp(cf->bridge_id, "71bb7574-f263-434d-9b60-d50423dd4507") &&
	      cf->members.n == 0 && cf->start == k.now);
	CHECK(feed_until(p, &k, "ConfbridgeJoin", "Uniqueid", "cf-b;2"));
	cf = pbx_conf(p, "701");
	if (CHECK(cf)) {
		CHECK_INT(cf->members.n, 2);
		CHECK(cf->members.first == pbx_channel(p, "cf-a;2"));
		CHECK(cf->members.last == pbx_channel(p, "cf-b;2"));
		CHECK_INT(pbx_channel(p, "cf-b;2")->conf_join, k.now);
		CHECK_INT(pbx_channel(p, "cf-b;2")->conf_flags, 0);
	}
	CHECK(pbx_bridge(p, "71bb7574-f263-434d-9b60-d50423dd4507") &&
	      pbx_bridge(p, "71bb7574-f263-434d-9b60-d50423dd4507")->members.n == 2);
	CHECK(feed_until(p, &k, "ConfbridgeListComplete", NULL, NULL));
	CHECK(cf && cf->members.n == 2);
	CHECK(feed_until(p, &k, "ConfbridgeLeave", "Uniqueid", "cf-a;2"));
	CHECK(cf && cf->members.n == 1 && !pbx_channel(p, "cf-a;2")->conf);
	CHECK(feed_until(p, &k, "ConfbridgeEnd", NULL, NULL));
	CHECK(!pbx_conf(p, "701"));
	CHECK(feed_until(p, &k, NULL, NULL, NULL));
	CHECK_INT(pbx_count(p, PBX_KIND_CHANNEL), 0);
	CHECK_INT(pbx_count(p, PBX_KIND_BRIDGE), 0);
	CHECK(pbx_device(p, "CBAnn/701") && !strcmp(pbx_device(p, "CBAnn/701")->state, "UNKNOWN"));
	drain_records(p);
	CHECK_INT(nrecords, 2);
	r = record_of("cf-a");
	if (CHECK(r)) {
		CHECK_STR(step_names(r), "app dial_begin app dial_end bridge_enter conf_join "
			  "conf_leave bridge_leave");
		st = find_step(r, PBX_STEP_CONF_JOIN, 0);
		CHECK(st && st->leg == leg_of(r, "cf-a;2") && !strcmp(st->a, "701") && st->n1 == 0);
		st = find_step(r, PBX_STEP_BRIDGE_ENTER, 0);
		CHECK(st && !strcmp(st->b, "base") && !strcmp(st->c, "701"));
	}
	free_records();
	capture_free(&k.c);
	pbx_free(p);
}

static void test_devicestate(void)
{
	struct pbx *p = pbx_new(NULL);
	struct cursor k;
	const struct pbx_extension *e;
	static const struct { int status; const char *text, *dev; } seq[] = {
		{ 8, "Ringing", "RINGING" }, { 0, "Idle", "NOT_INUSE" },
		{ 4, "Unavailable", "UNAVAILABLE" },
	};

	cursor_open(&k, "events-devicestate");
	for (size_t i = 0; i < ARRAY_LEN(seq); i++) {
		CHECK(feed_until(p, &k, "ExtensionStatus", NULL, NULL));
		e = pbx_extension(p, "test", "100");
		CHECK(e && e->status == seq[i].status && !strcmp(e->status_text, seq[i].text) &&
		      !strcmp(e->hint, "Custom:lab100"));
		CHECK(feed_until(p, &k, "DeviceStateChange", NULL, NULL));
		CHECK(pbx_device(p, "Custom:lab100") &&
		      !strcmp(pbx_device(p, "Custom:lab100")->state, seq[i].dev));
	}
	CHECK(feed_until(p, &k, NULL, NULL, NULL));
	CHECK_INT(pbx_count(p, PBX_KIND_EXTENSION), 1);
	CHECK_INT(pbx_count(p, PBX_KIND_DEVICE), 9);    /* DeviceStateList, fed as events */
	CHECK_INT(pbx_count(p, PBX_KIND_CHANNEL), 0);
	capture_free(&k.c);
	pbx_free(p);
}

/* The realistic corpus: 20 originates, every call ends, one record each. */
static void test_stream(void)
{
	struct pbx *p = pbx_new(NULL);
	struct cursor k;
	size_t calls = 0;

	pbx_keep_finished(p, 64);
	cursor_open(&k, "events-stream");
	for (size_t i = 0; i < k.c.n; i++)
		if (msg_is(&k.c.m[i], "Event", "Newchannel") &&
		    !strcmp(ami_msg_get(&k.c.m[i], "Uniqueid"), ami_msg_get(&k.c.m[i], "Linkedid")))
			calls++;
	CHECK(calls >= 15);
	CHECK(feed_until(p, &k, NULL, NULL, NULL));
	CHECK_INT(pbx_count(p, PBX_KIND_CHANNEL), 0);
	CHECK_INT(pbx_count(p, PBX_KIND_CALL), 0);
	CHECK_INT(pbx_stats(p)->stale, 0);
	for (struct pbx_record *r; (r = pbx_next_finished(p)); calls--) {
		CHECK_INT(r->flags, 0);
		CHECKF(r->nlegs == 2, "%s has %zu legs", r->linkedid, r->nlegs);
		for (size_t i = 0; i < r->nlegs; i++)
			CHECK_INT(r->legs[i].flags, PBX_LEG_BORN | PBX_LEG_ENDED);
		pbx_record_free(r);
	}
	CHECK_INT(calls, 0);
	capture_free(&k.c);
	pbx_free(p);
}

/* OriginateResponse before the Newchannels (quirk 25), a Dual Redirect into
 * ConfBridge 700, a regex Hangup. */
static void test_redirect_capture(void)
{
	struct pbx *p = pbx_new(NULL);
	struct cursor k;
	const struct pbx_conf *cf;

	pbx_keep_finished(p, 8);
	cursor_open(&k, "tcp-redirect-extrachannel");
	CHECK(feed_until(p, &k, "ConfbridgeJoin", "Uniqueid", "1795674414.39"));
	CHECK(feed_until(p, &k, "ConfbridgeJoin", "Uniqueid", "1795674414.37"));
	cf = pbx_conf(p, "700");
	CHECK(cf && cf->members.n == 2);
	CHECK_INT(pbx_count(p, PBX_KIND_CHANNEL), 4);
	CHECK_INT(pbx_count(p, PBX_KIND_CALL), 2);
	CHECK(pbx_channel(p, "1795674414.36") &&
	      !strcmp(pbx_channel(p, "1795674414.36")->cid_name, "Lab Caller"));
	CHECK(feed_until(p, &k, NULL, NULL, NULL));
	CHECK_INT(pbx_count(p, PBX_KIND_CHANNEL), 0);
	CHECK_INT(pbx_count(p, PBX_KIND_CONF), 0);
	drain_records(p);
	CHECK_INT(nrecords, 2);
	free_records();
	capture_free(&k.c);
	pbx_free(p);
}

/* ---------- synthetic sequences ---------- */

/* Starts a sync and answers every base list but CoreShowChannels empty. */
static void sync_channels_only(struct pbx *p, struct pbx_request *channels, int64_t now)
{
	struct pbx_request r;

	pbx_sync_begin(p, now);
	next_request(p, channels, "CoreShowChannels");
	while (pbx_next_request(p, &r))
		if (!strcmp(r.action, "ConfbridgeListRooms"))
			answer_error(p, &r, "No active conferences.", now);
		else
			answer_list(p, &r, "", now);
}

static void test_hangup_before_list(void)
{
	struct pbx *p = pbx_new(NULL);
	struct pbx_request r;

	pbx_keep_finished(p, 4);
	chan_event(p, T0, "Newchannel", "SIP/old-1", "old", "old", 6, NULL);
	sync_channels_only(p, &r, T0 + 10);
	/* while the list is on its way: a Hangup for a channel it will name,
	 * and a new channel it will not */
	chan_event(p, T0 + 20, "Hangup", "SIP/a-1", "a", "a", 6, "Cause: 16");
	chan_event(p, T0 + 21, "Newchannel", "SIP/new-1", "new", "new", 4, NULL);
	CHECK_INT(pbx_count(p, PBX_KIND_CHANNEL), 2);
	answer_list(p, &r,
		    "Event: CoreShowChannel\nChannel: SIP/a-1\nUniqueid: a\nLinkedid: a\n"
		    "ChannelState: 6\nDuration: 00:01:00\nBridgeId: \n\n"
		    "Event: CoreShowChannel\nChannel: SIP/b-1\nUniqueid: b\nLinkedid: b\n"
		    "ChannelState: 6\nDuration: 00:00:10\nBridgeId: ", T0 + 30);
	CHECK(pbx_sync_state(p)->done);
	CHECK(!pbx_channel(p, "a"));        /* not resurrected */
	CHECK(pbx_channel(p, "b") && pbx_channel(p, "b")->start == T0 + 30 - 10000);
	CHECK(pbx_channel(p, "new"));       /* touched since the sync began */
	CHECK(!pbx_channel(p, "old"));      /* not listed: gone */
	CHECK_INT(pbx_stats(p)->stale, 1);
	CHECK_INT(pbx_sync_state(p)->removed[PBX_KIND_CHANNEL], 1);
	CHECK_INT(pbx_sync_state(p)->added[PBX_KIND_CHANNEL], 1);
	/* events after the Hangup do not bring it back either */
	chan_event(p, T0 + 40, "VarSet", "SIP/a-1", "a", "a", 6, "Variable: X\nValue: 1");
	CHECK(!pbx_channel(p, "a"));
	CHECK_INT(pbx_stats(p)->stale, 2);
	drain_records(p);
	CHECK_INT(nrecords, 1);
	CHECK(record_of("old") && (record_of("old")->flags & PBX_REC_GAP) &&
	      (record_of("old")->legs[0].flags & PBX_LEG_LOST));
	free_records();
	/* an answer to a request of an earlier sync is ignored */
	sync_channels_only(p, &r, T0 + 50);
	{
		struct pbx_request old = r;
		snprintf(old.action_id, sizeof old.action_id, "pbx-1-0");
		answer_list(p, &old, "Event: CoreShowChannel\nChannel: X/1\nUniqueid: x\n"
			    "Linkedid: x", T0 + 60);
		CHECK(!pbx_channel(p, "x"));
	}
	pbx_free(p);
}

static void test_unknown_channels(void)
{
	struct pbx *p = pbx_new(NULL);
	const struct pbx_channel *ch;
	uint64_t before;

	pbx_keep_finished(p, 4);
	/* OriginateResponse first (quirk 25): nothing to make a channel of */
	feed_text(p, T0, "Event: OriginateResponse\nResponse: Success\nChannel: SIP/u-1\n"
		  "Uniqueid: u1\nReason: 4\n\n"
		  "Event: OriginateResponse\nResponse: Failure\nChannel: Bogus/x\n"
		  "Uniqueid: <unknown>\nReason: 0");
	CHECK_INT(pbx_count(p, PBX_KIND_CHANNEL), 0);
	chan_event(p, T0 + 5, "Newstate", "SIP/u-1", "u1", "u1", 6, NULL);
	ch = pbx_channel(p, "u1");
	if (CHECK(ch)) {
		CHECK_INT(ch->answer, T0 + 5);  /* a Newstate to Up is an answer */
		CHECK_INT(ch->start, T0 + 5);
		CHECK(!(ch->flags & PBX_CH_BORN));
		CHECK_STR(ch->cid_name, "Alice");
	}
	chan_event(p, T0 + 6, "VarSet", "SIP/u-2", "u2", "u1", 6, "Variable: A\nValue: b");
	ch = pbx_channel(p, "u2");
	CHECK(ch && ch->answer == 0 && ch->call == pbx_call(p, "u1"));
	/* a late Newchannel: the same channel, now known from its start */
	chan_event(p, T0 + 7, "Newchannel", "SIP/u-1", "u1", "u1", 0, NULL);
	ch = pbx_channel(p, "u1");
	CHECK(ch && (ch->flags & PBX_CH_BORN) && ch->state == 0 && ch->start == T0 + 5);
	CHECK_INT(pbx_count(p, PBX_KIND_CHANNEL), 2);
	/* the same event twice changes nothing the second time */
	chan_event(p, T0 + 8, "Newstate", "SIP/u-1", "u1", "u1", 5, NULL);
	before = pbx_changes(p);
	chan_event(p, T0 + 9, "Newstate", "SIP/u-1", "u1", "u1", 5, NULL);
	CHECK(pbx_changes(p) == before);
	/* a Hangup twice, and a BridgeLeave for a bridge never seen */
	chan_event(p, T0 + 10, "Hangup", "SIP/u-2", "u2", "u1", 6, "Cause: 17\nCause-txt: User busy");
	chan_event(p, T0 + 11, "Hangup", "SIP/u-2", "u2", "u1", 6, "Cause: 17");
	feed_text(p, T0 + 12, "Event: BridgeLeave\nBridgeUniqueid: nope\nChannel: SIP/u-1\n"
		  "Uniqueid: u1\nLinkedid: u1");
	CHECK_INT(pbx_count(p, PBX_KIND_BRIDGE), 0);
	CHECK_INT(pbx_count(p, PBX_KIND_CHANNEL), 1);
	chan_event(p, T0 + 13, "Hangup", "SIP/u-1", "u1", "u1", 6, "Cause: 16");
	drain_records(p);
	if (CHECK(nrecords == 1)) {
		const struct pbx_record *r = records[0];
		CHECK_INT(r->nlegs, 2);
		CHECK_INT(r->legs[1].cause, 17);
		CHECK_STR(r->legs[1].cause_txt, "User busy");
		CHECK(r->flags & PBX_REC_PARTIAL);      /* u2 was never born in our sight */
		CHECK_INT(r->start, T0 + 5);
		CHECK_INT(r->end, T0 + 13);
	}
	free_records();
	/* a Newchannel for a Uniqueid hung up before: a ChannelId used again */
	chan_event(p, T0 + 20, "Newchannel", "SIP/u-1", "u1", "u1", 0, NULL);
	CHECK(pbx_channel(p, "u1"));
	pbx_free(p);
}

/* A world, then a reconnect to a changed one. */
static void test_reconnect(void)
{
	struct pbx *p = pbx_new(NULL);
	struct pbx_request r;
	const struct pbx_sync *s;
	const struct pbx_queue *q;

	pbx_keep_finished(p, 8);
	pbx_sync_begin(p, T0);
	while (pbx_next_request(p, &r)) {
		if (!strcmp(r.action, "CoreShowChannels"))
			answer_list(p, &r,
				    "Event: CoreShowChannel\nChannel: SIP/a-1\nUniqueid: a\nLinkedid: a\n"
				    "ChannelState: 6\nDuration: 00:00:30\nBridgeId: br1\n\n"
				    "Event: CoreShowChannel\nChannel: SIP/b-1\nUniqueid: b\nLinkedid: a\n"
				    "ChannelState: 6\nDuration: 00:00:20\nBridgeId: br1\n\n"
				    "Event: CoreShowChannel\nChannel: SIP/c-1\nUniqueid: c\nLinkedid: c\n"
				    "ChannelState: 6\nDuration: 00:00:05\nBridgeId: ", T0);
		else if (!strcmp(r.action, "BridgeList"))
			answer_list(p, &r, "Event: BridgeListItem\nBridgeUniqueid: br1\n"
				    "BridgeType: basic\nBridgeNumChannels: 2", T0);
		else if (!strcmp(r.action, "ConfbridgeListRooms"))
			answer_list(p, &r, "Event: ConfbridgeListRooms\nConference: 9\nParties: 1\n"
				    "Locked: Yes\nMuted: No", T0);
		else if (!strcmp(r.action, "ConfbridgeList"))
			answer_list(p, &r, "Event: ConfbridgeList\nConference: 9\nAdmin: Yes\n"
				    "Talking: Yes\nMuted: No\nChannel: SIP/c-1\nUniqueid: c\n"
				    "Linkedid: c\nAnsweredTime: 5", T0);
		else if (!strcmp(r.action, "QueueStatus"))
			answer_list(p, &r, "Event: QueueParams\nQueue: q1\nCalls: 1\n\n"
				    "Event: QueueMember\nQueue: q1\nName: M1\nLocation: PJSIP/m1\n"
				    "Status: 1\n\nEvent: QueueEntry\nQueue: q1\nPosition: 1\n"
				    "Channel: SIP/c-1\nUniqueid: c\nWait: 3", T0);
		else if (!strcmp(r.action, "ExtensionStateList"))
			answer_list(p, &r, "Event: ExtensionStatus\nExten: 1\nContext: c\nHint: X/1\n"
				    "Status: 0\nStatusText: Idle", T0);
		else
			answer_list(p, &r, "Event: DeviceStateChange\nDevice: X/1\nState: NOT_INUSE", T0);
	}
	s = pbx_sync_state(p);
	CHECK(s->done);
	CHECK_INT(pbx_count(p, PBX_KIND_CHANNEL), 3);
	CHECK_INT(pbx_count(p, PBX_KIND_CALL), 2);
	CHECK(pbx_conf(p, "9") && pbx_conf(p, "9")->flags == PBX_CONF_LOCKED);
	CHECK(pbx_channel(p, "c") && pbx_channel(p, "c")->conf_flags ==
	      (PBX_MEMBER_ADMIN | PBX_MEMBER_TALKING));
	CHECK(pbx_channel(p, "c") && pbx_channel(p, "c")->queue_pos == 1);

	/* the connection drops; meanwhile b hangs up, c leaves everything,
	 * the member changes; then the lists of the new world */
	pbx_sync_begin(p, T0 + 60000);
	s = pbx_sync_state(p);
	CHECK(s->resync && !s->done && s->epoch == 2);
	while (pbx_next_request(p, &r)) {
		if (!strcmp(r.action, "CoreShowChannels"))
			answer_list(p, &r,
				    "Event: CoreShowChannel\nChannel: SIP/a-1\nUniqueid: a\nLinkedid: a\n"
				    "ChannelState: 6\nDuration: 00:01:30\nBridgeId: \n\n"
				    "Event: CoreShowChannel\nChannel: SIP/c-1\nUniqueid: c\nLinkedid: c\n"
				    "ChannelState: 6\nDuration: 00:01:05\nBridgeId: ", T0 + 60000);
		else if (!strcmp(r.action, "ConfbridgeListRooms"))
			answer_error(p, &r, "No active conferences.", T0 + 60000);
		else if (!strcmp(r.action, "QueueStatus"))
			answer_list(p, &r, "Event: QueueParams\nQueue: q1\nCalls: 0\n\n"
				    "Event: QueueMember\nQueue: q1\nName: M2\nLocation: PJSIP/m2\n"
				    "Status: 2", T0 + 60000);
		else if (!strcmp(r.action, "ExtensionStateList"))
			answer_list(p, &r, "Event: ExtensionStatus\nExten: 1\nContext: c\nHint: X/1\n"
				    "Status: 1\nStatusText: InUse", T0 + 60000);
		else if (!strcmp(r.action, "DeviceStateList"))
			answer_error(p, &r, "Permission denied", T0 + 60000);
		else
			answer_list(p, &r, "", T0 + 60000);
	}
	s = pbx_sync_state(p);
	CHECK(s->done);
	CHECK_INT(s->removed[PBX_KIND_CHANNEL], 1);
	CHECK_INT(s->removed[PBX_KIND_CALL], 0);        /* a's call goes on */
	CHECK_INT(s->removed[PBX_KIND_BRIDGE], 1);
	CHECK_INT(s->removed[PBX_KIND_CONF], 1);
	CHECK_INT(s->removed[PBX_KIND_MEMBER], 1);
	CHECK_INT(s->removed[PBX_KIND_CALLER], 1);
	CHECK_INT(s->added[PBX_KIND_MEMBER], 1);
	CHECK_INT(s->list[PBX_LIST_DEVICES].status, PBX_LS_DENIED);
	CHECK_INT(pbx_count(p, PBX_KIND_DEVICE), 1);   /* kept: we cannot see it now */
	CHECK(!pbx_channel(p, "b"));
	CHECK(pbx_channel(p, "a") && !pbx_channel(p, "a")->bridge);
	CHECK(pbx_channel(p, "c") && !pbx_channel(p, "c")->conf && !pbx_channel(p, "c")->queue);
	q = pbx_queue(p, "q1");
	CHECK(q && q->members.n == 1 && q->callers.n == 0 && q->calls == 0);
	CHECK(pbx_member(p, "q1", "PJSIP/m2") && !pbx_member(p, "q1", "PJSIP/m1"));
	CHECK(pbx_extension(p, "c", "1") && pbx_extension(p, "c", "1")->status == 1);
	chan_event(p, T0 + 61000, "Hangup", "SIP/a-1", "a", "a", 6, "Cause: 16");
	drain_records(p);
	CHECK(record_of("a") && (record_of("a")->flags & PBX_REC_GAP) &&
	      record_of("a")->nlegs == 2 && (record_of("a")->legs[1].flags & PBX_LEG_LOST) &&
	      find_step(record_of("a"), PBX_STEP_GAP, 0));
	free_records();
	pbx_free(p);
}

/* A restarted Asterisk numbers Local channels from 1 again: after the
 * reconnect each new half is paired with its new twin, not with the gone
 * channel of the same name, and each pair is one call. */
static void test_reconnect_reused_names(void)
{
	static const char *const worlds[2] = {
		"Event: CoreShowChannel\nChannel: Local/loop@test-00000001;1\nUniqueid: o1\n"
		"Linkedid: o1\nChannelState: 6\n\n"
		"Event: CoreShowChannel\nChannel: Local/loop@test-00000001;2\nUniqueid: o2\n"
		"Linkedid: o1\nChannelState: 6",
		"Event: CoreShowChannel\nChannel: Local/loop@test-00000001;1\nUniqueid: n1\n"
		"Linkedid: n1\nChannelState: 6\n\n"
		"Event: CoreShowChannel\nChannel: Local/loop@test-00000001;2\nUniqueid: n2\n"
		"Linkedid: n1\nChannelState: 6\n\n"
		"Event: CoreShowChannel\nChannel: Local/loop@test-00000002;1\nUniqueid: n3\n"
		"Linkedid: n3\nChannelState: 6\n\n"
		"Event: CoreShowChannel\nChannel: Local/loop@test-00000002;2\nUniqueid: n4\n"
		"Linkedid: n3\nChannelState: 6",
	};
	struct pbx *p = pbx_new(NULL);
	struct pbx_request r;
	const struct pbx_channel *n1, *n2;

	pbx_sync_lists(p, 1u << PBX_LIST_CHANNELS);
	for (int w = 0; w < 2; w++) {
		pbx_sync_begin(p, T0 + w * 60000);
		while (pbx_next_request(p, &r))
			answer_list(p, &r, worlds[w], T0 + w * 60000);
	}
	CHECK(pbx_sync_state(p)->done);
	CHECK_INT(pbx_count(p, PBX_KIND_CHANNEL), 4);
	CHECK_INT(pbx_count(p, PBX_KIND_CALL), 2);
	CHECK(!pbx_call(p, "o1"));
	n1 = pbx_channel(p, "n1");
	n2 = pbx_channel(p, "n2");
	CHECK(n1 && n2 && n1->local_peer == n2 && n2->local_peer == n1);
	CHECK(n1 && n2 && n1->call == pbx_call(p, "n1") && n2->call == n1->call);
	CHECK(pbx_call(p, "n3") && pbx_call(p, "n3")->channels.n == 2);
	pbx_free(p);
}

static void test_local_pairs(void)
{
	struct pbx *p = pbx_new(NULL);
	const struct pbx_channel *one, *two;

	chan_event(p, T0, "Newchannel", "Local/100@from-internal-0000000b;1", "l1", "l1", 0, NULL);
	/* a ;2 with a Linkedid of its own still belongs to its ;1's call */
	chan_event(p, T0, "Newchannel", "Local/100@from-internal-0000000b;2", "l2", "other", 4, NULL);
	one = pbx_channel(p, "l1");
	two = pbx_channel(p, "l2");
	CHECK(one && two && one->local_peer == two && two->local_peer == one);
	CHECK(two && two->call == pbx_call(p, "l1"));
	CHECK_INT(pbx_count(p, PBX_KIND_CALL), 1);
	/* LocalBridge pairs by Uniqueid, whatever the names */
	feed_text(p, T0 + 1, "Event: LocalBridge\nLocalOneChannel: Local/x@y-1;1\n"
		  "LocalOneUniqueid: x1\nLocalOneLinkedid: x1\nLocalTwoChannel: Local/x@y-1;2\n"
		  "LocalTwoUniqueid: x2\nLocalTwoLinkedid: x1");
	CHECK(pbx_channel(p, "x1") && pbx_channel(p, "x1")->local_peer == pbx_channel(p, "x2"));
	chan_event(p, T0 + 2, "Hangup", "Local/100@from-internal-0000000b;1", "l1", "l1", 6, NULL);
	two = pbx_channel(p, "l2");
	CHECK(two && !two->local_peer && two->call);
	pbx_free(p);
}

static void test_transfer(void)
{
	struct pbx *p = pbx_new(NULL);
	const struct pbx_record *r;
	const struct pbx_step *st;

	pbx_keep_finished(p, 8);
	chan_event(p, T0, "Newchannel", "PJSIP/100-1", "t1", "t1", 6, NULL);
	chan_event(p, T0, "Newchannel", "PJSIP/200-1", "t2", "t1", 6, NULL);
	chan_event(p, T0, "Newchannel", "PJSIP/300-1", "t3", "t3", 6, NULL);
	feed_text(p, T0 + 1000,
		  "Event: BlindTransfer\nResult: Success\nTransfererChannel: PJSIP/200-1\n"
		  "TransfererUniqueid: t2\nTransfererLinkedid: t1\nTransfereeChannel: PJSIP/100-1\n"
		  "TransfereeUniqueid: t1\nTransfereeLinkedid: t1\nIsExternal: No\n"
		  "Context: default\nExtension: 300\n\n"
		  "Event: AttendedTransfer\nResult: Success\nOrigTransfererChannel: PJSIP/200-1\n"
		  "OrigTransfererUniqueid: t2\nOrigTransfererLinkedid: t1\n"
		  "SecondTransfererChannel: PJSIP/300-1\nSecondTransfererUniqueid: t3\n"
		  "SecondTransfererLinkedid: t3\nDestType: Bridge\nDestBridgeUniqueid: bx");
	chan_event(p, T0 + 2000, "Hangup", "PJSIP/100-1", "t1", "t1", 6, "Cause: 16");
	chan_event(p, T0 + 2000, "Hangup", "PJSIP/200-1", "t2", "t1", 6, "Cause: 16");
	chan_event(p, T0 + 2000, "Hangup", "PJSIP/300-1", "t3", "t3", 6, "Cause: 16");
	drain_records(p);
	r = record_of("t1");
	st = find_step(r, PBX_STEP_BLIND_TRANSFER, 0);
	if (CHECK(st)) {
		CHECK_INT(st->leg, leg_of(r, "t2"));
		CHECK_INT(st->peer, leg_of(r, "t1"));
		CHECK_STR(st->a, "300");
		CHECK_STR(st->b, "default");
		CHECK_STR(st->c, "Success");
		CHECK_INT(st->t, T0 + 1000);
	}
	st = find_step(r, PBX_STEP_ATTENDED_TRANSFER, 0);
	CHECK(st && st->leg == leg_of(r, "t2") && st->peer == -1 && !strcmp(st->a, "Bridge") &&
	      !strcmp(st->b, "Success") && !strcmp(st->c, "bx"));
	r = record_of("t3");
	st = find_step(r, PBX_STEP_ATTENDED_TRANSFER, 0);
	CHECK(st && st->leg == -1 && st->peer == leg_of(r, "t3"));
	free_records();
	pbx_free(p);
}

static void test_queue_abandon(void)
{
	struct pbx *p = pbx_new(NULL);
	const struct pbx_queue *q;
	const struct pbx_record *r;
	const struct pbx_step *st;

	pbx_keep_finished(p, 8);
	chan_event(p, T0, "QueueCallerJoin", "SIP/a-1", "a", "a", 6, "Queue: q\nPosition: 1\nCount: 1");
	chan_event(p, T0 + 1, "QueueCallerJoin", "SIP/b-1", "b", "b", 6, "Queue: q\nPosition: 2\nCount: 2");
	/* a priority caller jumps the line */
	chan_event(p, T0 + 2, "QueueCallerJoin", "SIP/c-1", "c", "c", 6, "Queue: q\nPosition: 1\nCount: 3");
	q = pbx_queue(p, "q");
	if (CHECK(q)) {
		CHECK_INT(q->calls, 3);
		CHECK(q->callers.first == pbx_channel(p, "c"));
		CHECK_INT(pbx_channel(p, "a")->queue_pos, 2);
		CHECK_INT(pbx_channel(p, "b")->queue_pos, 3);
	}
	chan_event(p, T0 + 12000, "QueueCallerAbandon", "SIP/a-1", "a", "a", 6,
		   "Queue: q\nPosition: 2\nOriginalPosition: 1\nHoldTime: 12");
	chan_event(p, T0 + 12000, "QueueCallerLeave", "SIP/a-1", "a", "a", 6,
		   "Queue: q\nPosition: 2\nCount: 2");
	chan_event(p, T0 + 12001, "Hangup", "SIP/a-1", "a", "a", 6, "Cause: 16");
	CHECK(q && q->abandoned == 1 && q->calls == 2 && q->callers.n == 2);
	CHECK_INT(pbx_channel(p, "b")->queue_pos, 2);
	CHECK_INT(pbx_channel(p, "c")->queue_pos, 1);
	drain_records(p);
	r = record_of("a");
	CHECK_STR(step_names(r), "queue_join queue_abandon queue_leave");
	st = find_step(r, PBX_STEP_QUEUE_ABANDON, 0);
	CHECK(st && st->n1 == 1 && st->n2 == 12 && !strcmp(st->a, "q"));
	st = find_step(r, PBX_STEP_QUEUE_LEAVE, 0);
	CHECK(st && st->n1 == 2 && st->n2 == 12000);
	free_records();
	pbx_free(p);
}

static int valid_text(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;

	for (; *u; u++)
		if (*u < 0x20 || *u == 0x7f)
			return 0;
	return 1;
}

static void test_hostile(void)
{
	struct pbx_limits lim = pbx_default_limits;
	struct pbx *p;
	struct ami_msg m;
	char *big = xmalloc(20001);
	const struct pbx_channel *ch;

	lim.channels = 3;
	lim.tombstones = 2;
	p = pbx_new(&lim);
	memset(big, 'x', 20000);
	big[20000] = '\0';
	memcpy(big + 254, "\xc3\xa9", 2);       /* an é across the cut */
	ami_msg_init(&m);
	ami_msg_add(&m, "Event", "Newchannel");
	ami_msg_add(&m, "Channel", big);
	ami_msg_add(&m, "Uniqueid", big);
	ami_msg_add(&m, "Linkedid", big);
	ami_msg_add(&m, "CallerIDName", "\x1b[2J\xff\xfe caf\xc3\xa9 \xe2\x80\xa6 \xc2\x9b \xed\xa0\x80");
	ami_msg_add(&m, "ChannelState", "99999999999999999999999");
	ami_msg_add(&m, "Priority", "-12abc");
	ami_msg_add(&m, "\xff\xfe\x80", "a header name of high bytes");
	pbx_feed(p, &m, T0);
	ch = pbx_channel(p, big);           /* found by the value as sent */
	if (CHECK(ch)) {
		CHECK_INT(strlen(ch->name), 254);   /* cut before the é, not inside it */
		CHECK(strlen(ch->uniqueid) <= PBX_MAX_STR);
		CHECK_STR(ch->cid_name, "?[2J?? café … ?? ???");   /* C1 CSI, a surrogate */
		CHECK(valid_text(ch->cid_name));
		CHECK_INT(ch->state, 2147483647);
		CHECK_INT(ch->priority, -12);
		CHECK(ch->call && pbx_call(p, big) == ch->call);
	}
	ami_msg_free(&m);
	free(big);
	/* limits: a fourth channel is refused */
	chan_event(p, T0, "Newchannel", "A/1", "1", "1", 0, NULL);
	chan_event(p, T0, "Newchannel", "A/2", "2", "2", 0, NULL);
	chan_event(p, T0, "Newchannel", "A/3", "3", "3", 0, NULL);
	CHECK_INT(pbx_count(p, PBX_KIND_CHANNEL), 3);
	CHECK_INT(pbx_stats(p)->refused, 1);
	/* the memory of hangups is bounded: the oldest is forgotten */
	chan_event(p, T0, "Hangup", "A/1", "1", "1", 0, NULL);
	chan_event(p, T0, "Hangup", "A/2", "2", "2", 0, NULL);
	chan_event(p, T0, "Hangup", "Z/9", "9", "9", 0, NULL);
	chan_event(p, T0, "VarSet", "A/2", "2", "2", 0, NULL);
	CHECK(!pbx_channel(p, "2"));
	chan_event(p, T0, "VarSet", "A/1", "1", "1", 0, NULL);
	CHECK(pbx_channel(p, "1"));
	/* devices: the one changed longest ago makes room */
	pbx_free(p);
	lim = pbx_default_limits;
	lim.others = 2;
	p = pbx_new(&lim);
	feed_text(p, T0, "Event: DeviceStateChange\nDevice: A\nState: INUSE\n\n"
		  "Event: DeviceStateChange\nDevice: B\nState: INUSE\n\n"
		  "Event: DeviceStateChange\nDevice: A\nState: NOT_INUSE\n\n"
		  "Event: DeviceStateChange\nDevice: C\nState: RINGING");
	CHECK(pbx_device(p, "A") && !pbx_device(p, "B") && pbx_device(p, "C"));
	CHECK_INT(pbx_stats(p)->evicted, 1);
	CHECK(pbx_devices(p) == pbx_device(p, "A"));
	/* empty and missing fields, a message with no Event, a bare Response */
	feed_text(p, T0, "Event: Hangup\n\nEvent: Newchannel\nUniqueid: \n\nFoo: bar\n\n"
		  "Response: Success\nActionID: pbx-7-99999999999999999999\n\n"
		  "Event: QueueCallerLeave\nQueue: \n\nEvent: BridgeEnter\nUniqueid: 1\n"
		  "Channel: A/1\n\nEvent: ExtensionStatus\nExten: 1\n\nEvent: DeviceStateChange");
	CHECK_INT(pbx_count(p, PBX_KIND_BRIDGE), 0);
	CHECK_INT(pbx_count(p, PBX_KIND_EXTENSION), 0);
	CHECK_INT(pbx_count(p, PBX_KIND_DEVICE), 2);
	pbx_free(p);
}

static struct pbx_record *cb_record;
static int cb_calls;

static void on_end(void *arg, const struct pbx_record *r)
{
	(void)arg;
	cb_calls++;
	CHECK_STR(r->linkedid, "cb");
	CHECK_INT(r->nlegs, 1);
	cb_record = NULL;
}

static void test_records(void)
{
	struct pbx *p = pbx_new(NULL);
	struct pbx_record *r;

	/* the queue keeps the newest */
	pbx_keep_finished(p, 2);
	for (int i = 0; i < 3; i++) {
		char id[16];
		snprintf(id, sizeof id, "r%d", i);
		chan_event(p, T0 + i, "Newchannel", "A/1", id, id, 0, NULL);
		chan_event(p, T0 + i, "Hangup", "A/1", id, id, 0, "Cause: 1");
	}
	CHECK_INT(pbx_stats(p)->records_dropped, 1);
	r = pbx_next_finished(p);
	CHECK(r && !strcmp(r->linkedid, "r1"));
	pbx_record_free(r);
	pbx_keep_finished(p, 0);
	CHECK(!pbx_next_finished(p));
	/* or a callback */
	pbx_on_call_end(p, on_end, NULL);
	chan_event(p, T0, "Newchannel", "A/1", "cb", "cb", 0, NULL);
	chan_event(p, T0, "Hangup", "A/1", "cb", "cb", 0, NULL);
	CHECK_INT(cb_calls, 1);
	/* history switched on while a call is up: its record is partial */
	pbx_on_call_end(p, NULL, NULL);
	chan_event(p, T0, "Newchannel", "A/2", "late", "late", 0, NULL);
	pbx_keep_finished(p, 4);
	chan_event(p, T0 + 5, "Newexten", "A/2", "late", "late", 0, "Application: Wait\nAppData: 1");
	/* the end of a recording: calls still up come out open */
	pbx_finish_all(p, T0 + 9);
	r = pbx_next_finished(p);
	if (CHECK(r)) {
		CHECK_STR(r->linkedid, "late");
		CHECK_INT(r->flags, PBX_REC_PARTIAL | PBX_REC_OPEN);
		CHECK_INT(r->legs[0].flags, PBX_LEG_BORN | PBX_LEG_OPEN);
		CHECK_INT(r->legs[0].end, T0 + 9);
		CHECK_STR(step_names(r), "app");
		pbx_record_free(r);
	}
	CHECK_INT(pbx_count(p, PBX_KIND_CHANNEL), 0);
	/* history limits */
	pbx_free(p);
	{
		struct pbx_limits lim = pbx_default_limits;
		lim.steps = 2;
		lim.legs = 1;
		p = pbx_new(&lim);
		pbx_keep_finished(p, 1);
		chan_event(p, T0, "Newchannel", "A/1", "h", "h", 0, NULL);
		chan_event(p, T0, "Newchannel", "A/2", "h2", "h", 0, NULL);
		for (int i = 0; i < 5; i++) {
			char app[64];
			snprintf(app, sizeof app, "Application: App%d\nAppData: ", i);
			chan_event(p, T0, "Newexten", "A/1", "h", "h", 0, app);
		}
		chan_event(p, T0, "Hangup", "A/2", "h2", "h", 0, NULL);
		chan_event(p, T0, "Hangup", "A/1", "h", "h", 0, NULL);
		r = pbx_next_finished(p);
		CHECK(r && r->nsteps == 2 && r->nlegs == 1 && (r->flags & PBX_REC_TRUNCATED));
		pbx_record_free(r);
		pbx_free(p);
	}
}

/* A sync asks only for the lists it is told to. */
static void test_list_mask(void)
{
	struct pbx *p = pbx_new(NULL);
	struct pbx_request r;
	const struct pbx_sync *s = pbx_sync_state(p);

	pbx_sync_lists(p, 1u << PBX_LIST_QUEUES | 1u << PBX_LIST_CONFS);
	pbx_sync_begin(p, T0);
	next_request(p, &r, "ConfbridgeListRooms");
	CHECK_STR(r.key ? r.key : "(none)", "(none)");
	answer_list(p, &r, "Event: ConfbridgeListRooms\nConference: 7\nParties: 1", T0);
	next_request(p, &r, "QueueStatus");
	CHECK(!pbx_next_request(p, &r));        /* no ConfbridgeList: not in the mask */
	CHECK(!s->done);
	answer_list(p, &r, "", T0);
	CHECK(s->done);
	CHECK_INT(s->list[PBX_LIST_CHANNELS].status, PBX_LS_UNASKED);
	CHECK_INT(s->list[PBX_LIST_CONF_MEMBERS].status, PBX_LS_UNASKED);
	CHECK(pbx_conf(p, "7"));
	/* with ConfbridgeList: its argument is the room */
	pbx_sync_lists(p, PBX_LISTS_ALL);
	pbx_sync_begin(p, T0 + 1);
	while (pbx_next_request(p, &r)) {
		if (!strcmp(r.action, "ConfbridgeListRooms")) {
			answer_list(p, &r, "Event: ConfbridgeListRooms\nConference: 7\nParties: 1", T0 + 1);
		} else if (!strcmp(r.action, "ConfbridgeList")) {
			CHECK(!strcmp(r.key, "Conference") && !strcmp(r.value, "7"));
			answer_error(p, &r, "No active conferences.", T0 + 1);   /* ended meanwhile */
		} else {
			answer_list(p, &r, "", T0 + 1);
		}
	}
	CHECK(s->done);
	CHECK(!pbx_conf(p, "7"));
	CHECK_INT(s->list[PBX_LIST_CONF_MEMBERS].status, PBX_LS_OK);
	/* nothing to ask: done at once */
	pbx_sync_lists(p, 0);
	pbx_sync_begin(p, T0 + 2);
	CHECK(s->done && !pbx_next_request(p, &r));
	pbx_free(p);
}

static void test_views(void)
{
	struct pbx *p = pbx_new(NULL);
	const void *rows[8];
	static const char *const extens[] = { "100", "9", "10", "1000", "20a", "20" };
	const struct pbx_extension *e;
	struct pbx_rate rate = { 0 };
	uint64_t before;

	for (size_t i = 0; i < ARRAY_LEN(extens); i++) {
		char text[256];
		snprintf(text, sizeof text, "Event: ExtensionStatus\nExten: %s\nContext: c\n"
			 "Status: %d", extens[i], (int)(i % 2));
		feed_text(p, T0, text);
	}
	CHECK_INT(pbx_sorted(p, PBX_KIND_EXTENSION, PBX_SORT_NAME, 0, rows, 8), 6);
	CHECK_STR(((const struct pbx_extension *)rows[0])->exten, "9");
	CHECK_STR(((const struct pbx_extension *)rows[1])->exten, "10");
	CHECK_STR(((const struct pbx_extension *)rows[2])->exten, "20");
	CHECK_STR(((const struct pbx_extension *)rows[3])->exten, "20a");
	CHECK_STR(((const struct pbx_extension *)rows[4])->exten, "100");
	CHECK_STR(((const struct pbx_extension *)rows[5])->exten, "1000");
	/* equal keys keep their order (creation) */
	pbx_sorted(p, PBX_KIND_EXTENSION, PBX_SORT_STATE, 0, rows, 8);
	CHECK_STR(((const struct pbx_extension *)rows[0])->exten, "100");
	CHECK_STR(((const struct pbx_extension *)rows[1])->exten, "10");
	CHECK_STR(((const struct pbx_extension *)rows[2])->exten, "20a");
	CHECK_STR(((const struct pbx_extension *)rows[3])->exten, "9");
	/* a removed hint */
	feed_text(p, T0, "Event: ExtensionStatus\nExten: 9\nContext: c\nStatus: -1");
	e = pbx_extension(p, "c", "9");
	CHECK(!e);
	CHECK_INT(pbx_count(p, PBX_KIND_EXTENSION), 5);
	/* change counter: a changed field moves it, an unchanged one does not */
	before = pbx_changes(p);
	CHECK(!feed_text(p, T0, "Event: ExtensionStatus\nExten: 10\nContext: c\nStatus: 0"));
	CHECK(pbx_changes(p) == before);
	CHECK(feed_text(p, T0, "Event: ExtensionStatus\nExten: 10\nContext: c\nStatus: 8"));
	CHECK(pbx_changes(p) > before);
	CHECK(!feed_text(p, T0, "Event: UserEvent\nUserEvent: x"));
	/* event rate */
	pbx_rate_add(&rate, T0, 10);
	pbx_rate_add(&rate, T0 + 999, 10);
	CHECK(pbx_rate_get(&rate, T0 + 500) == 0.0);
	pbx_rate_add(&rate, T0 + 1000, 5);
	CHECK(pbx_rate_get(&rate, T0 + 1500) == 4.0);   /* 20 over the last 5 seconds */
	CHECK(pbx_rate_get(&rate, T0 + 2100) == 5.0);   /* 20 + 5 */
	CHECK(pbx_rate_get(&rate, T0 + 7100) == 0.0);
	pbx_rate_add(&rate, T0 + 7100, 1);
	CHECK(pbx_rate_get(&rate, T0 + 7200) == 0.0);
	CHECK(pbx_event_rate(p, T0 + 1000) > 0.0);
	pbx_free(p);
}

int main(int argc, char **argv)
{
	if (argc > 1)
		capdir = argv[1];
	test_idle();
	test_busy();
	test_busy_denied();
	test_resync_capture();
	test_call_bridged();
	test_queue_call();
	test_conference();
	test_devicestate();
	test_stream();
	test_redirect_capture();
	test_hangup_before_list();
	test_unknown_channels();
	test_reconnect();
	test_reconnect_reused_names();
	test_local_pairs();
	test_transfer();
	test_queue_abandon();
	test_hostile();
	test_records();
	test_list_mask();
	test_views();
	return check_summary();
}
