/* callrec_test.c - unit tests for common/callrec.c, call records built by
 * the state model from events: the Asterisk 22 captures (their annotated
 * transcripts, so that each event gets the time its chunk was received,
 * plus 1 ms per event within it) through the recording reader and the
 * model, every record field checked against what the capture shows; and
 * synthetic sequences for what the captures do not have (busy, no answer,
 * unreachable, a forward, an IVR, a transfer, a queue abandon, a call split
 * by a reconnect).
 *
 *   tests/unit/callrec_test [CAPTURE_DIR]   (default tests/captures/asterisk-22)
 * Prints one line per failed check, then "N passed, N failed". */
#define _POSIX_C_SOURCE 200809L
#include "callrec.h"
#include "check.h"
#include "msg.h"
#include "recording.h"
#include "state.h"
#include "util.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *capdir = "tests/captures/asterisk-22";

#define T0 1796522520000ll      /* when each capture starts, ms since the epoch */

/* ---------- captures ---------- */

struct timed {
	struct ami_msg m;
	int64_t t;
};

struct capture {
	struct timed *ev;
	size_t n, cap;
};

static void keep(struct capture *c, const struct rec_event *ev, int64_t t)
{
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 256;
		c->ev = xrealloc(c->ev, c->cap * sizeof *c->ev);
	}
	ami_msg_init(&c->ev[c->n].m);
	ami_msg_from_view(&c->ev[c->n].m, &ev->v);
	c->ev[c->n++].t = t;
}

/* The events of NAME.txt, each with the time of the chunk it came in
 * ("#### <<< S->C +1.403") plus 1 ms per event before it in the chunk. */
static void capture_load(struct capture *c, const char *name)
{
	char path[512], *line = NULL;
	size_t cap = 0;
	ssize_t len;
	FILE *f;
	struct rec_reader *r = rec_new();
	struct rec_event ev;
	int64_t base = T0, k = 0;
	int incoming = 0;

	memset(c, 0, sizeof *c);
	snprintf(path, sizeof path, "%s/%s.txt", capdir, name);
	if (!CHECKF((f = fopen(path, "rb")) != NULL, "cannot open %s", path))
		return;
	while ((len = getline(&line, &cap, f)) > 0) {
		double secs;
		if (!strncmp(line, "#### ", 5)) {
			if (sscanf(line, "#### <<< S->C +%lf", &secs) == 1) {
				incoming = 1;
				base = T0 + (int64_t)(secs * 1000 + 0.5);
				k = 0;
			} else if (!strncmp(line, "#### >>>", 8)) {
				incoming = 0;
			}
			continue;
		}
		if (!incoming)
			continue;
		rec_feed(r, line, (size_t)len);
		while (rec_next(r, &ev) > 0)
			keep(c, &ev, base + k++);
	}
	rec_eof(r);
	while (rec_next(r, &ev) > 0)
		keep(c, &ev, base + k++);
	CHECKF(rec_done(r), "%s: %s", name, rec_error(r));
	free(line);
	fclose(f);
	rec_free(r);
}

static void capture_free(struct capture *c)
{
	for (size_t i = 0; i < c->n; i++)
		ami_msg_free(&c->ev[i].m);
	free(c->ev);
}

static int has(const struct ami_msg *m, const char *key, const char *value)
{
	const char *v = ami_msg_get(m, key);

	return v && !strcmp(v, value);
}

/* The time of the nth (0 first, -1 last) event named event with key: value
 * (and key2: value2 when given); 0 when there is none. */
static int64_t when(const struct capture *c, int nth, const char *event, const char *key,
		    const char *value, const char *key2, const char *value2)
{
	int64_t t = 0;

	for (size_t i = 0; i < c->n; i++) {
		const struct ami_msg *m = &c->ev[i].m;
		if (!has(m, "Event", event) || (key && !has(m, key, value)) ||
		    (key2 && !has(m, key2, value2)))
			continue;
		t = c->ev[i].t;
		if (nth-- == 0)
			return t;
	}
	return nth < -1 ? t : 0;
}

/* ---------- records ---------- */

static struct pbx_record *records[64];
static size_t nrecords;

static void drain(struct pbx *p)
{
	struct pbx_record *r;

	while ((r = pbx_next_finished(p)))
		if (!CHECK(nrecords < 64) || (records[nrecords++] = r, 0))
			pbx_record_free(r);
}

static void feed_capture(struct pbx *p, const struct capture *c)
{
	for (size_t i = 0; i < c->n; i++) {
		pbx_feed(p, &c->ev[i].m, c->ev[i].t);
		drain(p);
	}
}

static void free_records(void)
{
	for (size_t i = 0; i < nrecords; i++)
		pbx_record_free(records[i]);
	nrecords = 0;
}

/* A model keeping records, fed the whole capture name (loaded into c). */
static struct pbx *fed_capture(struct capture *c, const char *name)
{
	struct pbx *p = pbx_new(NULL);

	pbx_keep_finished(p, 64);
	capture_load(c, name);
	feed_capture(p, c);
	return p;
}

static void capture_done(struct pbx *p, struct capture *c)
{
	free_records();
	capture_free(c);
	pbx_free(p);
}

static const struct pbx_record *record_of(const char *linkedid)
{
	for (size_t i = 0; i < nrecords; i++)
		if (!strcmp(records[i]->linkedid, linkedid))
			return records[i];
	CHECKF(0, "no record of %s", linkedid);
	return NULL;
}

/* ---------- the JSON of a record ---------- */

/* The value at a path like "Caller.Number" or "Dials.1.Status". */
static const cJSON *at(const cJSON *o, const char *path)
{
	char key[64];

	while (o && *path) {
		size_t n = strcspn(path, ".");
		snprintf(key, sizeof key, "%.*s", (int)n, path);
		if (cJSON_IsArray(o))
			o = cJSON_GetArrayItem(o, atoi(key));
		else
			o = cJSON_GetObjectItemCaseSensitive(o, key);
		path += n + (path[n] == '.');
	}
	return o;
}

#define JSTR(o, path, want) check_jstr(o, path, want, __LINE__)
#define JNUM(o, path, want) check_jnum(o, path, want, __LINE__)
#define JNULL(o, path) check_at(__FILE__, __LINE__, cJSON_IsNull(at(o, path)), "%s is not null", path)
#define JLEN(o, path, want) check_jlen(o, path, want, __LINE__)

static void check_jstr(const cJSON *o, const char *path, const char *want, int line)
{
	const cJSON *x = at(o, path);

	check_at(__FILE__, line, cJSON_IsString(x) && !strcmp(x->valuestring, want),
		 "%s: got %s, want \"%s\"", path, x && cJSON_IsString(x) ? x->valuestring :
		 x ? "(not a string)" : "(missing)", want);
}

static void check_jnum(const cJSON *o, const char *path, double want, int line)
{
	const cJSON *x = at(o, path);

	check_at(__FILE__, line, cJSON_IsNumber(x) && x->valuedouble > want - 1e-9 &&
		 x->valuedouble < want + 1e-9, "%s: got %g, want %g", path,
		 cJSON_IsNumber(x) ? x->valuedouble : -1.0, want);
}

static void check_jlen(const cJSON *o, const char *path, int want, int line)
{
	const cJSON *x = at(o, path);

	check_at(__FILE__, line, cJSON_IsArray(x) && cJSON_GetArraySize(x) == want,
		 "%s: %d items, want %d", path, cJSON_IsArray(x) ? cJSON_GetArraySize(x) : -1, want);
}

/* The time field at path is ms (as call_time writes it). */
static void check_jtime(const cJSON *o, const char *path, int64_t ms, int line)
{
	char t[48];

	call_time(ms, t);
	check_jstr(o, path, t, line);
}
#define JTIME(o, path, ms) check_jtime(o, path, ms, __LINE__)

static cJSON *json_of(const struct pbx_record *r, struct call_summary *s)
{
	call_summarize(r, s);
	return call_record_json(r, s);
}

/* A model that keeps the records of finished calls. */
static struct pbx *keeping_model(void)
{
	struct pbx *p = pbx_new(NULL);

	pbx_keep_finished(p, 8);
	return p;
}

/* The JSON of the one record the model made; NULL (a failed check) when
 * it made another number of them. */
static cJSON *only_record(struct pbx *p, struct call_summary *s)
{
	drain(p);
	return CHECK_INT(nrecords, 1) ? json_of(records[0], s) : NULL;
}

static void model_done(struct pbx *p)
{
	free_records();
	pbx_free(p);
}

/* ---------- the captures ---------- */

static void test_call_bridged(void)
{
	struct pbx *p;
	struct capture c;
	const struct pbx_record *r;
	struct call_summary s;
	cJSON *o;
	int64_t start, answer, end;

	p = fed_capture(&c, "events-call-bridged");
	CHECK_INT(nrecords, 1);
	if (!(r = record_of("ev-dial")))
		goto out;
	o = json_of(r, &s);
	start = when(&c, 0, "Newchannel", "Uniqueid", "ev-dial", NULL, NULL);
	/* answered when the Dial of the ;2 half got ANSWER */
	answer = when(&c, 0, "DialEnd", "Channel", "Local/dial@test-00000029;2", "DialStatus", "ANSWER");
	end = when(&c, -1, "Hangup", NULL, NULL, NULL, NULL);
	CHECK(start && answer > start && end > answer);
	JSTR(o, "Linkedid", "ev-dial");
	JTIME(o, "Start", start);
	JTIME(o, "Answer", answer);
	JTIME(o, "End", end);
	JNUM(o, "Duration", (double)(end - start) / 1000);
	JNUM(o, "Billsec", (double)(end - answer) / 1000);
	/* the caller: the Originate's Local/dial ;1, caller ID unknown */
	JNULL(o, "Caller.Number");
	JNULL(o, "Caller.Name");
	JSTR(o, "Caller.Channel", "Local/dial@test-00000029;1");
	/* the callee: the channel Dial made, with the extension it ran at as
	 * its caller ID (DestCallerIDNum: dial) */
	JSTR(o, "Callee.Number", "dial");
	JNULL(o, "Callee.Name");
	JSTR(o, "Callee.Channel", "Local/wait20@test-0000002a;1");
	JSTR(o, "Disposition", "ANSWERED");
	/* ;1 hung up with 0 "Unknown", its ;2 with 16 */
	JNUM(o, "Cause", 16);
	JSTR(o, "CauseText", "Normal Clearing");
	JNULL(o, "Incomplete");
	JLEN(o, "Channels", 4);
	JSTR(o, "Channels.0.Channel", "Local/dial@test-00000029;1");
	JSTR(o, "Channels.0.Uniqueid", "ev-dial");
	JTIME(o, "Channels.0.Start", start);
	JNUM(o, "Channels.0.Cause", 0);
	JSTR(o, "Channels.0.CauseText", "Unknown");
	JTIME(o, "Channels.0.End", when(&c, 0, "Hangup", "Uniqueid", "ev-dial", NULL, NULL));
	JSTR(o, "Channels.1.Channel", "Local/dial@test-00000029;2");
	JTIME(o, "Channels.1.Answer", when(&c, 0, "Newstate", "Uniqueid", "ev-dial;2", "ChannelState", "6"));
	JSTR(o, "Channels.2.Channel", "Local/wait20@test-0000002a;1");
	JSTR(o, "Channels.2.CallerIDNum", "dial");
	JTIME(o, "Channels.2.Start", when(&c, 0, "Newchannel", "Uniqueid", "1796522527.86", NULL, NULL));
	JSTR(o, "Channels.3.Channel", "Local/wait20@test-0000002a;2");
	JTIME(o, "Channels.3.End", end);
	for (int i = 0; i < 4; i++) {
		char path[32];
		snprintf(path, sizeof path, "Channels.%d.Status", i);
		JSTR(o, path, "hangup");
	}
	/* the Originate's dial (from outside the call), then Dial() */
	JLEN(o, "Dials", 2);
	JNULL(o, "Dials.0.From");
	JSTR(o, "Dials.0.To", "Local/dial@test-00000029;1");
	JSTR(o, "Dials.0.DialString", "dial@test");
	JSTR(o, "Dials.0.Status", "ANSWER");
	JSTR(o, "Dials.1.From", "Local/dial@test-00000029;2");
	JSTR(o, "Dials.1.To", "Local/wait20@test-0000002a;1");
	JSTR(o, "Dials.1.DialString", "wait20@test");
	JTIME(o, "Dials.1.Begin", when(&c, 0, "DialBegin", "DialString", "wait20@test", NULL, NULL));
	JTIME(o, "Dials.1.End", answer);
	/* Newexten's applications, without the "(Outgoing Line)" markers */
	/* (the Originate's Wait on the ;1 half runs without a Newexten) */
	JLEN(o, "Applications", 3);
	JSTR(o, "Applications.0.Application", "Dial");
	JSTR(o, "Applications.0.Data", "Local/wait20@test,30");
	JSTR(o, "Applications.0.Channel", "Local/dial@test-00000029;2");
	JSTR(o, "Applications.1.Application", "Answer");
	JSTR(o, "Applications.1.Channel", "Local/wait20@test-0000002a;2");
	JSTR(o, "Applications.2.Application", "Wait");
	JSTR(o, "Applications.2.Data", "20");
	JSTR(o, "Applications.2.Channel", "Local/wait20@test-0000002a;2");
	JLEN(o, "Bridges", 2);
	JSTR(o, "Bridges.0.Bridge", "a845cee5-0466-4e50-8b99-2742f37bcb69");
	JSTR(o, "Bridges.0.Type", "basic");
	JSTR(o, "Bridges.0.Channel", "Local/wait20@test-0000002a;1");
	JTIME(o, "Bridges.0.Enter", when(&c, 0, "BridgeEnter", NULL, NULL, NULL, NULL));
	JTIME(o, "Bridges.0.Leave", when(&c, 1, "BridgeLeave", NULL, NULL, NULL, NULL));
	JSTR(o, "Bridges.1.Channel", "Local/dial@test-00000029;2");
	JTIME(o, "Bridges.1.Leave", when(&c, 0, "BridgeLeave", NULL, NULL, NULL, NULL));
	JLEN(o, "Conferences", 0);
	JLEN(o, "Queues", 0);
	JLEN(o, "Transfers", 0);
	cJSON_Delete(o);
out:
	capture_done(p, &c);
}

static void test_queue(void)
{
	struct pbx *p;
	struct capture c;
	const struct pbx_record *r;
	struct call_summary s;
	cJSON *o;
	int64_t join, leave, connect;

	p = fed_capture(&c, "events-queue");
	CHECK_INT(nrecords, 2);
	if ((r = record_of("q-caller"))) {
		o = json_of(r, &s);
		join = when(&c, 0, "QueueCallerJoin", "Queue", "support", NULL, NULL);
		leave = when(&c, 0, "QueueCallerLeave", "Queue", "support", NULL, NULL);
		connect = when(&c, 0, "DialEnd", "Channel", "Local/queue@test-0000002b;2",
			       "DialStatus", "ANSWER");
		JSTR(o, "Disposition", "ANSWERED");
		/* Bob answered: the agent's channel has the queue's extension as
		 * its caller ID (DestCallerIDNum: queue); the name is the member's */
		JTIME(o, "Answer", connect);
		JSTR(o, "Callee.Number", "queue");
		JSTR(o, "Callee.Name", "Bob");
		JSTR(o, "Callee.Channel", "Local/wait20@test-0000002c;1");
		JSTR(o, "Caller.Channel", "Local/queue@test-0000002b;1");
		JLEN(o, "Queues", 1);
		JSTR(o, "Queues.0.Queue", "support");
		JSTR(o, "Queues.0.Channel", "Local/queue@test-0000002b;2");
		JNUM(o, "Queues.0.Position", 1);
		JTIME(o, "Queues.0.Join", join);
		JTIME(o, "Queues.0.Leave", leave);
		/* about the HoldTime: 2 of AgentConnect: QueueCallerJoin came at
		 * +1.403 s, the Leave at +3.406 s */
		JNUM(o, "Queues.0.Wait", (double)(leave - join) / 1000);
		CHECK(leave - join > 1900 && leave - join < 2200);
		CHECK(cJSON_IsFalse(at(o, "Queues.0.Abandoned")));
		JSTR(o, "Queues.0.Agent", "Bob");
		JSTR(o, "Queues.0.Interface", "Local/wait20@test");
		JLEN(o, "Dials", 2);
		JSTR(o, "Dials.1.DialString", "Local/wait20@test");
		JSTR(o, "Dials.1.Status", "ANSWER");
		JLEN(o, "Bridges", 2);
		JTIME(o, "End", when(&c, 0, "Hangup", "Uniqueid", "1796522540.91", NULL, NULL));
		JNULL(o, "Incomplete");
		cJSON_Delete(o);
	}
	/* the second call went to queue sales, answered by Agent Smith */
	if (nrecords == 2 && (r = records[1])) {
		o = json_of(r, &s);
		JSTR(o, "Disposition", "ANSWERED");
		JSTR(o, "Callee.Name", "Agent Smith");
		JSTR(o, "Queues.0.Queue", "sales");
		JSTR(o, "Queues.0.Agent", "Agent Smith");
		CHECK(cJSON_IsNumber(at(o, "Queues.0.Wait")));
		cJSON_Delete(o);
	}
	capture_done(p, &c);
}

static void test_confbridge(void)
{
	struct pbx *p;
	struct capture c;
	struct call_summary s;
	cJSON *o;

	p = fed_capture(&c, "events-confbridge");
	CHECK_INT(nrecords, 2);
	for (size_t i = 0; i < nrecords && i < 2; i++) {
		const struct pbx_record *r = records[i];
		const char *chan = r->nlegs ? r->legs[0].name : "";
		int64_t up;
		o = json_of(r, &s);
		/* no Dial, no queue: answered by the conference's own Answer */
		JSTR(o, "Disposition", "ANSWERED");
		JNULL(o, "Callee");
		JLEN(o, "Conferences", 1);
		JSTR(o, "Conferences.0.Conference", "701");
		JTIME(o, "Conferences.0.Join", when(&c, (int)i, "ConfbridgeJoin", NULL, NULL, NULL, NULL));
		CHECK(cJSON_IsString(at(o, "Conferences.0.Leave")));
		CHECK(cJSON_IsFalse(at(o, "Conferences.0.Admin")));
		up = r->legs[0].answer;
		if (r->nlegs > 1 && r->legs[1].answer && (!up || r->legs[1].answer < up))
			up = r->legs[1].answer;
		JTIME(o, "Answer", up);
		CHECKF(!strncmp(chan, "Local/", 6), "%s", chan);
		cJSON_Delete(o);
	}
	capture_done(p, &c);
}

/* 20 Originates: Local/short and Local/play answer; Local/ev hangs up
 * before answering (a failed OriginateResponse). */
static void test_stream(void)
{
	struct pbx *p;
	struct capture c;
	struct call_summary s;
	size_t answered = 0, unanswered = 0;
	int seen[20] = { 0 };

	p = fed_capture(&c, "events-stream");
	pbx_finish_all(p, c.n ? c.ev[c.n - 1].t : T0);
	drain(p);
	CHECK_INT(nrecords, 20);
	for (size_t i = 0; i < nrecords; i++) {
		const struct pbx_record *r = records[i];
		const char *chan = r->nlegs ? r->legs[0].name : "";
		int num;
		call_summarize(r, &s);
		/* the Originates' CallerIDs: 1000 to 1019, one each */
		num = atoi(s.caller.number) - 1000;
		if (CHECKF(num >= 0 && num < 20, "caller %s", s.caller.number))
			seen[num]++;
		if (!strncmp(chan, "Local/ev@", 9)) {
			unanswered++;
			CHECK_INT(s.disposition, CALL_NO_ANSWER);
			CHECK_INT(s.answer, 0);
			CHECK_INT(s.cause, 16);
		} else if (!(r->flags & PBX_REC_OPEN)) {
			answered++;
			CHECKF(s.disposition == CALL_ANSWERED, "%s: %s", chan,
			       call_disposition_name(s.disposition));
			CHECK(s.answer > r->start && s.answer < r->end);
			CHECK(s.callee.leg < 0);
		}
		CHECKF(r->flags == 0 || r->flags == PBX_REC_OPEN, "%s: flags %u", r->linkedid, r->flags);
	}
	CHECK_INT(unanswered, 3);
	CHECK_INT(answered, 17);
	for (int i = 0; i < 20; i++)
		CHECK_INT(seen[i], 1);
	capture_done(p, &c);
}

/* ---------- synthetic calls ---------- */

static void feed_text(struct pbx *p, int64_t now, const char *text)
{
	struct ami_parser *ps = ami_parser_new(NULL, 0);
	struct ami_msg m;

	ami_msg_init(&m);
	ami_parser_feed(ps, text, strlen(text));
	ami_parser_feed(ps, "\n\n", 2);
	while (ami_parser_next(ps, &m) > 0)
		pbx_feed(p, &m, now);
	ami_msg_free(&m);
	ami_parser_free(ps);
}

/* A channel event of PJSIP/<num>, caller ID <num> "Name <num>". */
static void chan(struct pbx *p, int64_t t, const char *event, const char *num, const char *uid,
		 const char *lid, int state, const char *more)
{
	char text[2048];

	snprintf(text, sizeof text,
		 "Event: %s\nChannel: PJSIP/%s-0001\nChannelState: %d\nCallerIDNum: %s\n"
		 "CallerIDName: Name %s\nConnectedLineNum: <unknown>\nConnectedLineName: <unknown>\n"
		 "Context: default\nExten: %s\nUniqueid: %s\nLinkedid: %s\n%s\n",
		 event, num, state, num, num, num, uid, lid, more ? more : "");
	feed_text(p, t, text);
}

/* caller_uid (PJSIP/from) Dials PJSIP/to (uid to_uid), in call lid. */
static void dial(struct pbx *p, int64_t t, const char *event, const char *from, const char *uid,
		 const char *to, const char *to_uid, const char *lid, const char *more)
{
	char text[2048];

	snprintf(text, sizeof text,
		 "Event: %s\nChannel: PJSIP/%s-0001\nChannelState: 4\nCallerIDNum: %s\n"
		 "CallerIDName: Name %s\nUniqueid: %s\nLinkedid: %s\nDestChannel: PJSIP/%s-0001\n"
		 "DestChannelState: 0\nDestCallerIDNum: %s\nDestCallerIDName: Name %s\n"
		 "DestUniqueid: %s\nDestLinkedid: %s\n%s\n",
		 event, from, from, from, uid, lid, to, to, to, to_uid, lid, more);
	feed_text(p, t, text);
}

/* 100 calls 200 (uid b): Newchannels, Dial with status, hangups. */
static void dialed_call(struct pbx *p, const char *status, int cause, const char *cause_txt)
{
	char hangup[128];

	snprintf(hangup, sizeof hangup, "Cause: %d\nCause-txt: %s", cause, cause_txt);
	chan(p, T0, "Newchannel", "100", "a", "a", 4, NULL);
	chan(p, T0 + 10, "Newexten", "100", "a", "a", 4, "Application: Dial\nAppData: PJSIP/200,30");
	chan(p, T0 + 20, "Newchannel", "200", "b", "a", 0, NULL);
	dial(p, T0 + 20, "DialBegin", "100", "a", "200", "b", "a", "DialString: 200");
	dial(p, T0 + 5000, "DialEnd", "100", "a", "200", "b", "a", status);
	chan(p, T0 + 5001, "Hangup", "200", "b", "a", 0, hangup);
	chan(p, T0 + 5002, "Hangup", "100", "a", "a", 4, hangup);
}

static void check_unanswered(const char *status, int cause, const char *txt,
			     enum call_disposition want)
{
	struct pbx *p = keeping_model();
	struct call_summary s;
	cJSON *o;

	dialed_call(p, status, cause, txt);
	if ((o = only_record(p, &s))) {
		JSTR(o, "Disposition", call_disposition_name(want));
		JNULL(o, "Answer");
		JNUM(o, "Billsec", 0);
		JNUM(o, "Duration", 5.002);
		JSTR(o, "Caller.Number", "100");
		JSTR(o, "Caller.Name", "Name 100");
		JSTR(o, "Callee.Number", "200");
		JSTR(o, "Callee.Channel", "PJSIP/200-0001");
		JNUM(o, "Cause", cause);
		JSTR(o, "CauseText", txt);
		JSTR(o, "Dials.0.Status", status + strlen("DialStatus: "));
		JSTR(o, "Applications.0.Application", "Dial");
		cJSON_Delete(o);
	}
	model_done(p);
}

static void test_unanswered(void)
{
	check_unanswered("DialStatus: BUSY", 17, "User busy", CALL_BUSY);
	check_unanswered("DialStatus: NOANSWER", 19, "No answer", CALL_NO_ANSWER);
	check_unanswered("DialStatus: CANCEL", 16, "Normal Clearing", CALL_NO_ANSWER);
	check_unanswered("DialStatus: CHANUNAVAIL", 20, "Subscriber absent", CALL_FAILED);
	check_unanswered("DialStatus: CONGESTION", 34, "Circuit/channel congestion", CALL_FAILED);
}

/* 200 does not answer; the Dial goes on to 300, who does. */
static void test_forward(void)
{
	struct pbx *p = keeping_model();
	struct call_summary s;
	cJSON *o;

	chan(p, T0, "Newchannel", "100", "a", "a", 4, NULL);
	chan(p, T0 + 1, "Newchannel", "200", "b", "a", 0, NULL);
	dial(p, T0 + 1, "DialBegin", "100", "a", "200", "b", "a", "DialString: 200");
	dial(p, T0 + 20000, "DialEnd", "100", "a", "200", "b", "a", "DialStatus: NOANSWER");
	chan(p, T0 + 20001, "Hangup", "200", "b", "a", 0, "Cause: 19");
	chan(p, T0 + 20002, "Newchannel", "300", "c", "a", 0, NULL);
	dial(p, T0 + 20002, "DialBegin", "100", "a", "300", "c", "a", "DialString: 300");
	chan(p, T0 + 23000, "Newstate", "300", "c", "a", 6, NULL);
	dial(p, T0 + 23000, "DialEnd", "100", "a", "300", "c", "a", "DialStatus: ANSWER");
	chan(p, T0 + 23000, "Newstate", "100", "a", "a", 6, NULL);
	chan(p, T0 + 63000, "Hangup", "300", "c", "a", 6, "Cause: 16\nCause-txt: Normal Clearing");
	chan(p, T0 + 63001, "Hangup", "100", "a", "a", 6, "Cause: 16\nCause-txt: Normal Clearing");
	if ((o = only_record(p, &s))) {
		JSTR(o, "Disposition", "ANSWERED");
		JTIME(o, "Answer", T0 + 23000);
		JNUM(o, "Billsec", 40.001);
		JSTR(o, "Callee.Number", "300");
		JSTR(o, "Callee.Name", "Name 300");
		JLEN(o, "Dials", 2);
		JSTR(o, "Dials.0.Status", "NOANSWER");
		JNUM(o, "Channels.1.Cause", 19);
		JNULL(o, "Channels.1.Answer");
		JTIME(o, "Channels.2.Answer", T0 + 23000);
		JNUM(o, "Cause", 16);
		cJSON_Delete(o);
	}
	model_done(p);
}

/* An IVR: answered by the dialplan, no Dial; then hung up unanswered. */
static void test_no_attempt(void)
{
	struct pbx *p = keeping_model();
	struct call_summary s;
	cJSON *o;

	chan(p, T0, "Newchannel", "100", "a", "a", 4, NULL);
	chan(p, T0 + 500, "Newstate", "100", "a", "a", 6, NULL);
	chan(p, T0 + 501, "Newexten", "100", "a", "a", 6, "Application: Playback\nAppData: welcome");
	chan(p, T0 + 9000, "Hangup", "100", "a", "a", 6, "Cause: 16\nCause-txt: Normal Clearing");
	chan(p, T0 + 10000, "Newchannel", "101", "x", "x", 4, NULL);
	chan(p, T0 + 11000, "Hangup", "101", "x", "x", 4, "Cause: 17\nCause-txt: User busy");
	chan(p, T0 + 12000, "Newchannel", "102", "y", "y", 4, NULL);
	chan(p, T0 + 13000, "Hangup", "102", "y", "y", 4, "Cause: 1\nCause-txt: Unallocated");
	drain(p);
	if (CHECK_INT(nrecords, 3)) {
		o = json_of(records[0], &s);
		JSTR(o, "Disposition", "ANSWERED");
		JTIME(o, "Answer", T0 + 500);
		JNUM(o, "Billsec", 8.5);
		JNULL(o, "Callee");
		JSTR(o, "Applications.0.Application", "Playback");
		cJSON_Delete(o);
		call_summarize(records[1], &s);
		CHECK_INT(s.disposition, CALL_BUSY);
		call_summarize(records[2], &s);
		CHECK_INT(s.disposition, CALL_FAILED);
	}
	model_done(p);
}

/* 200 answers 100, then blind-transfers 100 to 300. */
static void test_transfer(void)
{
	struct pbx *p = keeping_model();
	struct call_summary s;
	cJSON *o;

	chan(p, T0, "Newchannel", "100", "a", "a", 4, NULL);
	chan(p, T0 + 1, "Newchannel", "200", "b", "a", 0, NULL);
	dial(p, T0 + 1, "DialBegin", "100", "a", "200", "b", "a", "DialString: 200");
	dial(p, T0 + 2000, "DialEnd", "100", "a", "200", "b", "a", "DialStatus: ANSWER");
	feed_text(p, T0 + 30000,
		  "Event: BlindTransfer\nResult: Success\nTransfererChannel: PJSIP/200-0001\n"
		  "TransfererUniqueid: b\nTransfererLinkedid: a\nTransfereeChannel: PJSIP/100-0001\n"
		  "TransfereeUniqueid: a\nTransfereeLinkedid: a\nIsExternal: No\n"
		  "Context: default\nExtension: 300\n");
	chan(p, T0 + 30001, "Hangup", "200", "b", "a", 6, "Cause: 16");
	chan(p, T0 + 60000, "Hangup", "100", "a", "a", 6, "Cause: 16");
	if ((o = only_record(p, &s))) {
		JSTR(o, "Disposition", "ANSWERED");
		JSTR(o, "Callee.Number", "200");
		JLEN(o, "Transfers", 1);
		JSTR(o, "Transfers.0.Type", "blind");
		JTIME(o, "Transfers.0.Time", T0 + 30000);
		JSTR(o, "Transfers.0.Transferer", "PJSIP/200-0001");
		JSTR(o, "Transfers.0.Transferee", "PJSIP/100-0001");
		JSTR(o, "Transfers.0.Exten", "300");
		JSTR(o, "Transfers.0.Context", "default");
		JSTR(o, "Transfers.0.Result", "Success");
		cJSON_Delete(o);
	}
	model_done(p);
}

/* A caller waits 12 s in queue q, nobody answers, it hangs up. */
static void test_queue_abandon(void)
{
	struct pbx *p = keeping_model();
	struct call_summary s;
	cJSON *o;

	chan(p, T0, "Newchannel", "100", "a", "a", 4, NULL);
	chan(p, T0 + 100, "Newstate", "100", "a", "a", 6, NULL);
	chan(p, T0 + 200, "QueueCallerJoin", "100", "a", "a", 6, "Queue: q\nPosition: 3\nCount: 3");
	chan(p, T0 + 12200, "QueueCallerAbandon", "100", "a", "a", 6,
	     "Queue: q\nPosition: 2\nOriginalPosition: 3\nHoldTime: 12");
	chan(p, T0 + 12200, "QueueCallerLeave", "100", "a", "a", 6, "Queue: q\nPosition: 2\nCount: 1");
	chan(p, T0 + 12201, "Hangup", "100", "a", "a", 6, "Cause: 16");
	if ((o = only_record(p, &s))) {
		/* answered by Queue() itself, but no agent: nobody answered */
		JSTR(o, "Disposition", "NO ANSWER");
		JNULL(o, "Answer");
		JNULL(o, "Callee");
		JLEN(o, "Queues", 1);
		JSTR(o, "Queues.0.Queue", "q");
		JNUM(o, "Queues.0.Position", 3);
		CHECK(cJSON_IsTrue(at(o, "Queues.0.Abandoned")));
		JNUM(o, "Queues.0.Wait", 12);
		JNULL(o, "Queues.0.Agent");
		cJSON_Delete(o);
	}
	model_done(p);
}

/* Syncs: answers the model's CoreShowChannels with items (each ending in
 * a blank line), their "ActionID: @" made the request's. */
static void sync_channels(struct pbx *p, int64_t t, const char *items, int n)
{
	struct pbx_request req;
	char text[4096];
	size_t len;

	pbx_sync_begin(p, t);
	if (!CHECK(pbx_next_request(p, &req)))
		return;
	len = (size_t)snprintf(text, sizeof text, "Response: Success\nActionID: %s\nEventList: start\n\n",
			       req.action_id);
	for (const char *at; (at = strstr(items, "ActionID: @")); items = at + 11)
		len += (size_t)snprintf(text + len, sizeof text - len, "%.*sActionID: %s",
					(int)(at - items), items, req.action_id);
	snprintf(text + len, sizeof text - len,
		 "%sEvent: CoreShowChannelsComplete\nActionID: %s\nEventList: Complete\n"
		 "ListItems: %d\n", items, req.action_id, n);
	feed_text(p, t + 1, text);
}

/* The connection is lost during a call: after the reconnect the list
 * still has it, so its record is marked as having spanned the gap; a call
 * that ended unseen during the gap comes out with its channel lost. */
static void test_reconnect(void)
{
	struct pbx *p = keeping_model();
	cJSON *o;
	struct call_summary s;

	pbx_sync_lists(p, 1u << PBX_LIST_CHANNELS);
	sync_channels(p, T0 - 10, "", 0);
	chan(p, T0, "Newchannel", "100", "a", "a", 4, NULL);
	chan(p, T0 + 1000, "Newstate", "100", "a", "a", 6, NULL);
	chan(p, T0, "Newchannel", "300", "z", "z", 6, NULL);
	/* the connection is lost; after the reconnect the list has only a */
	sync_channels(p, T0 + 5000, "Event: CoreShowChannel\nActionID: @\nChannel: PJSIP/100-0001\n"
		      "Uniqueid: a\nLinkedid: a\nChannelState: 6\nCallerIDNum: 100\n"
		      "Duration: 00:00:05\nBridgeId: \n\n", 1);
	chan(p, T0 + 9000, "Hangup", "100", "a", "a", 6, "Cause: 16");
	drain(p);
	CHECK_INT(nrecords, 2);
	if (nrecords == 2) {
		o = json_of(records[0], &s);    /* z: gone during the gap */
		JSTR(o, "Linkedid", "z");
		JLEN(o, "Incomplete", 1);
		JSTR(o, "Incomplete.0", "gap");
		JSTR(o, "Channels.0.Status", "lost");
		JNULL(o, "Channels.0.Cause");
		cJSON_Delete(o);
		o = json_of(records[1], &s);    /* a: its events may be missing */
		JSTR(o, "Linkedid", "a");
		JLEN(o, "Incomplete", 1);
		JSTR(o, "Incomplete.0", "gap");
		JSTR(o, "Channels.0.Status", "hangup");
		JTIME(o, "Answer", T0 + 1000);
		cJSON_Delete(o);
	}
	free_records();
	/* a call up before we watched, flushed open at the end */
	chan(p, T0 + 10000, "Newstate", "400", "w", "w", 6, NULL);
	pbx_finish_all(p, T0 + 20000);
	drain(p);
	if (CHECK_INT(nrecords, 1)) {
		char words[64];
		CHECK_STR(call_incomplete(records[0]->flags, words, sizeof words), "partial,open");
		o = json_of(records[0], &s);
		JSTR(o, "Incomplete.1", "open");
		JSTR(o, "Channels.0.Status", "open");
		JTIME(o, "End", T0 + 20000);
		cJSON_Delete(o);
	}
	model_done(p);
}

/* A call up and bridged before we watched: answered, when unknown; the
 * callee is who shared the bridge. */
static void test_partial_bridged(void)
{
	struct pbx *p = keeping_model();
	struct call_summary s;
	cJSON *o;

	pbx_sync_lists(p, 1u << PBX_LIST_CHANNELS);
	sync_channels(p, T0, "Event: CoreShowChannel\nActionID: @\nChannel: PJSIP/100-0001\n"
		      "Uniqueid: a\nLinkedid: a\nChannelState: 6\nCallerIDNum: 100\n"
		      "CallerIDName: Name 100\nDuration: 00:01:00\nBridgeId: br\n\n"
		      "Event: CoreShowChannel\nActionID: @\nChannel: PJSIP/200-0001\n"
		      "Uniqueid: b\nLinkedid: a\nChannelState: 6\nCallerIDNum: 200\n"
		      "CallerIDName: Name 200\nDuration: 00:01:00\nBridgeId: br\n\n", 2);
	chan(p, T0 + 5000, "BridgeLeave", "100", "a", "a", 6, "BridgeUniqueid: br\nBridgeType: basic");
	chan(p, T0 + 5001, "BridgeLeave", "200", "b", "a", 6, "BridgeUniqueid: br\nBridgeType: basic");
	chan(p, T0 + 5002, "Hangup", "100", "a", "a", 6, "Cause: 16");
	chan(p, T0 + 5003, "Hangup", "200", "b", "a", 6, "Cause: 16");
	if ((o = only_record(p, &s))) {
		JSTR(o, "Disposition", "ANSWERED");
		JNULL(o, "Answer");
		JNULL(o, "Billsec");
		JSTR(o, "Caller.Channel", "PJSIP/100-0001");
		JSTR(o, "Callee.Number", "200");
		JSTR(o, "Callee.Channel", "PJSIP/200-0001");
		JLEN(o, "Incomplete", 1);
		JSTR(o, "Incomplete.0", "partial");
		JLEN(o, "Bridges", 2);
		JSTR(o, "Bridges.0.Bridge", "br");
		JNULL(o, "Bridges.0.Enter");
		JTIME(o, "Bridges.0.Leave", T0 + 5000);
		JSTR(o, "Bridges.1.Channel", "PJSIP/200-0001");
		cJSON_Delete(o);
	}
	model_done(p);
}

int main(int argc, char **argv)
{
	if (argc > 1)
		capdir = argv[1];
	setenv("TZ", "UTC", 1);
	test_call_bridged();
	test_queue();
	test_confbridge();
	test_stream();
	test_unanswered();
	test_forward();
	test_no_attempt();
	test_transfer();
	test_queue_abandon();
	test_reconnect();
	test_partial_bridged();
	return check_summary();
}
