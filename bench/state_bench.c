/* state_bench.c - the state model (common/state.c) under a busy PBX.
 *
 * A synthetic Asterisk 22 event stream: CALLS two-party calls up at once
 * (2 x CALLS channels); as each ends a new one starts in its place. A
 * call is 26 events as Asterisk sends them (Newchannel, Newexten, VarSet,
 * DialBegin/End with both snapshots, Newstate, Bridge*, Hold/Unhold on
 * every fourth call, Hangup, DeviceStateChange...), each channel event a
 * full 16-header snapshot, ~480 bytes. The calls take turns, one event
 * each, so every call lives CALLS x 26 events.
 *
 * The same bytes go through three runs, in 64 KiB chunks as a socket would
 * hand them over: the parser alone (the baseline: what any event reader
 * pays), the parser and the model (`ami top`), and the parser and the
 * model keeping call histories (`ami calls --follow`, records drained as
 * calls end). Best of ROUNDS each. The model's own cost is the difference
 * to the baseline; at 1,000 events/s it is that many microseconds of CPU
 * per second.
 *
 *   state_bench [EVENTS [CALLS [ROUNDS]]]     defaults 400000 1000 5
 * Built and run by `make bench`. */
#define _POSIX_C_SOURCE 200809L
#include "msg.h"
#include "state.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STEPS 26
#define T0 1796500000000ll

struct gen {
	size_t calls, next;         /* slots; the next call number */
	size_t *call;               /* the call each slot holds */
	int *step;                  /* its next event */
	size_t events;              /* rendered so far */
};

static double seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Appends "<px><name>: <value>\r\n". */
static int header(char *o, size_t cap, const char *px, const char *name, const char *value)
{
	return snprintf(o, cap, "%s%s: %s\r\n", px, name, value);
}

/* A channel snapshot under prefix px ("" or "Dest"): leg 0 the caller. */
static int snapshot(char *o, size_t cap, const char *px, size_t call, int leg, int state)
{
	static const char *const desc[] = { "Down", "", "", "", "Ring", "Ringing", "Up" };
	unsigned num = 1000 + (unsigned)(call % 9000) + (leg ? 10000 : 0);
	char name[64], st[8], number[16], cidname[32], uid[40], lid[40], prio[8];
	int n = 0;

	snprintf(name, sizeof name, "PJSIP/%u-%08zx", num, 2 * call + (size_t)leg);
	snprintf(st, sizeof st, "%d", state);
	snprintf(number, sizeof number, "%u", num);
	snprintf(cidname, sizeof cidname, "Caller %u", num);
	snprintf(uid, sizeof uid, "1796500000.%zu", 2 * call + (size_t)leg);
	snprintf(lid, sizeof lid, "1796500000.%zu", 2 * call);
	snprintf(prio, sizeof prio, "%d", leg ? 1 : 2);
	n += header(o + n, cap - (size_t)n, px, "Channel", name);
	n += header(o + n, cap - (size_t)n, px, "ChannelState", st);
	n += header(o + n, cap - (size_t)n, px, "ChannelStateDesc", desc[state]);
	n += header(o + n, cap - (size_t)n, px, "CallerIDNum", number);
	n += header(o + n, cap - (size_t)n, px, "CallerIDName", cidname);
	n += header(o + n, cap - (size_t)n, px, "ConnectedLineNum", state == 6 ? "2000" : "<unknown>");
	n += header(o + n, cap - (size_t)n, px, "ConnectedLineName", "<unknown>");
	n += header(o + n, cap - (size_t)n, px, "Language", "en");
	n += header(o + n, cap - (size_t)n, px, "AccountCode", "");
	n += header(o + n, cap - (size_t)n, px, "Context", "from-internal");
	n += header(o + n, cap - (size_t)n, px, "Exten", number);
	n += header(o + n, cap - (size_t)n, px, "Priority", prio);
	n += header(o + n, cap - (size_t)n, px, "Uniqueid", uid);
	n += header(o + n, cap - (size_t)n, px, "Linkedid", lid);
	return n;
}

/* One event of one call, CRLF-framed; its length. */
static size_t render(char *o, size_t cap, size_t call, int step)
{
	static const struct { const char *event; int leg, state; const char *extra; } script[STEPS] = {
		{ "Newchannel", 0, 4, "" },
		{ "Newexten", 0, 4, "Extension: 2000\r\nApplication: Dial\r\nAppData: PJSIP/2000,30\r\n" },
		{ "VarSet", 0, 4, "Variable: DIALSTATUS\r\nValue: \r\n" },
		{ "Newchannel", 1, 0, "" },
		{ "NewCallerid", 1, 0, "CID-CallingPres: 0 (Presentation Allowed, Not Screened)\r\n" },
		{ "DialBegin", 0, 4, "DialString: 2000\r\n" },
		{ "Newstate", 1, 5, "" },
		{ NULL, 1, 5, "RINGING" },
		{ "Newstate", 1, 6, "" },
		{ "DialEnd", 0, 4, "DialStatus: ANSWER\r\n" },
		{ "Newstate", 0, 6, "" },
		{ "VarSet", 0, 6, "Variable: DIALSTATUS\r\nValue: ANSWER\r\n" },
		{ "BridgeCreate", -1, 0, "" },
		{ "BridgeEnter", 0, 6, "" },
		{ "BridgeEnter", 1, 6, "" },
		{ NULL, 0, 6, "INUSE" },
		{ NULL, 1, 6, "INUSE" },
		{ "Hold", 1, 6, "MusicClass: default\r\n" },
		{ "Unhold", 1, 6, "" },
		{ "BridgeLeave", 0, 6, "" },
		{ "BridgeLeave", 1, 6, "" },
		{ "BridgeDestroy", -1, 0, "" },
		{ "HangupRequest", 0, 6, "Cause: 16\r\n" },
		{ "Hangup", 0, 6, "Cause: 16\r\nCause-txt: Normal Clearing\r\n" },
		{ "Hangup", 1, 6, "Cause: 16\r\nCause-txt: Normal Clearing\r\n" },
		{ NULL, 1, 0, "NOT_INUSE" },
	};
	const char *event = script[step].event, *extra = script[step].extra;
	int leg = script[step].leg, n;

	if (!event)     /* a device state */
		return (size_t)snprintf(o, cap, "Event: DeviceStateChange\r\nPrivilege: call,all\r\n"
					"Device: PJSIP/%zu\r\nState: %s\r\n\r\n",
					1000 + call % 9000 + (size_t)leg * 10000, script[step].extra);
	if ((!strcmp(event, "Hold") || !strcmp(event, "Unhold")) && call % 4) {
		event = "VarSet";   /* three calls in four are not put on hold */
		extra = "Variable: BRIDGEPEER\r\nValue: PJSIP/1000-00000000\r\n";
	}
	n = snprintf(o, cap, "Event: %s\r\nPrivilege: call,all\r\n", event);
	if (!strncmp(event, "Bridge", 6))
		n += snprintf(o + n, cap - (size_t)n,
			      "BridgeUniqueid: 3dd14c3a-2c02-4941-8f1a-%012zx\r\nBridgeType: basic\r\n"
			      "BridgeTechnology: simple_bridge\r\nBridgeCreator: <unknown>\r\n"
			      "BridgeName: <unknown>\r\nBridgeNumChannels: %d\r\n"
			      "BridgeVideoSourceMode: none\r\n", call, leg < 0 ? 0 : leg + 1);
	if (leg >= 0)
		n += snapshot(o + n, cap - (size_t)n, "", call, leg, script[step].state);
	if (!strncmp(event, "Dial", 4))
		n += snapshot(o + n, cap - (size_t)n, "Dest", call, 1, step == 9 ? 6 : 0);
	n += snprintf(o + n, cap - (size_t)n, "%s\r\n", extra);
	return (size_t)n;
}

/* Fills buf with whole events, up to want of them; returns the bytes. */
static size_t fill(struct gen *g, char *buf, size_t cap, size_t want, size_t *nev)
{
	size_t len = 0;

	*nev = 0;
	while (*nev < want && cap - len > 4096) {
		size_t slot = g->events % g->calls;
		len += render(buf + len, cap - len, g->call[slot], g->step[slot]);
		if (++g->step[slot] == STEPS) {
			g->step[slot] = 0;
			g->call[slot] = g->next++;
		}
		g->events++;
		(*nev)++;
	}
	return len;
}

enum mode { PARSE, MODEL, RECORDS };

struct result {
	double secs;
	size_t bytes, peak_channels, peak_calls, records;
};

static struct result run(size_t events, size_t calls, enum mode mode)
{
	struct gen g = { .calls = calls, .next = calls };
	struct ami_parser *ps = ami_parser_new(NULL, 0);
	struct pbx *p = mode == PARSE ? NULL : pbx_new(NULL);
	struct result res = { 0 };
	struct ami_msg m;
	size_t cap = 1 << 20, done = 0, fed = 0;
	char *buf = xmalloc(cap);

	g.call = xmalloc(calls * sizeof *g.call);
	g.step = xcalloc(calls, sizeof *g.step);
	for (size_t i = 0; i < calls; i++)
		g.call[i] = i;
	ami_msg_init(&m);
	if (mode == RECORDS)
		pbx_keep_finished(p, 64);
	while (done < events) {
		size_t nev, len = fill(&g, buf, cap, events - done, &nev);
		double t = seconds();
		for (size_t off = 0; off < len; off += 65536) {
			ami_parser_feed(ps, buf + off, len - off < 65536 ? len - off : 65536);
			while (ami_parser_next(ps, &m) > 0) {
				struct pbx_record *r;
				if (!p)
					continue;
				pbx_feed(p, &m, T0 + (int64_t)fed++);
				while ((r = pbx_next_finished(p))) {
					res.records++;
					pbx_record_free(r);
				}
			}
		}
		res.secs += seconds() - t;
		res.bytes += len;
		done += nev;
		if (p && pbx_count(p, PBX_KIND_CHANNEL) > res.peak_channels)
			res.peak_channels = pbx_count(p, PBX_KIND_CHANNEL);
		if (p && pbx_count(p, PBX_KIND_CALL) > res.peak_calls)
			res.peak_calls = pbx_count(p, PBX_KIND_CALL);
	}
	if (p && pbx_stats(p)->messages != events) {
		fprintf(stderr, "fed %llu of %zu events\n",
			(unsigned long long)pbx_stats(p)->messages, events);
		res.secs = -1;
	}
	ami_msg_free(&m);
	ami_parser_free(ps);
	pbx_free(p);
	free(g.call);
	free(g.step);
	free(buf);
	return res;
}

int main(int argc, char **argv)
{
	size_t events = argc > 1 ? strtoul(argv[1], NULL, 10) : 400000;
	size_t calls = argc > 2 ? strtoul(argv[2], NULL, 10) : 1000;
	int rounds = argc > 3 ? atoi(argv[3]) : 5;
	static const char *const names[] = { "parser alone (baseline)", "parser + model",
					     "parser + model + call records" };
	struct result best[3];

	if (!calls || !events || rounds < 1) {
		fprintf(stderr, "usage: state_bench [EVENTS [CALLS [ROUNDS]]]\n");
		return 2;
	}
	for (int mode = PARSE; mode <= RECORDS; mode++) {
		best[mode].secs = 1e9;
		for (int i = 0; i < rounds; i++) {
			struct result r = run(events, calls, mode);
			if (r.secs < 0)
				return 1;
			if (r.secs < best[mode].secs)
				best[mode] = r;
		}
	}
	printf("%zu events (%zu B avg) from %zu calls up at once, best of %d:\n", events,
	       best[PARSE].bytes / events, calls, rounds);
	for (int mode = PARSE; mode <= RECORDS; mode++)
		printf("  %-30s %6.2f M events/s  %5.0f ns/event\n", names[mode],
		       events / best[mode].secs / 1e6, best[mode].secs / events * 1e9);
	printf("  model: %.0f ns/event (%.0f with records), %zu channels in %zu calls at the peak, "
	       "%zu calls recorded\n",
	       (best[MODEL].secs - best[PARSE].secs) / events * 1e9,
	       (best[RECORDS].secs - best[PARSE].secs) / events * 1e9,
	       best[MODEL].peak_channels, best[MODEL].peak_calls, best[RECORDS].records);
	printf("  at 1,000 events/s: %.3f %% of one core (parser + model), %.2f x the parser alone\n",
	       best[MODEL].secs / events * 1000 * 100, best[MODEL].secs / best[PARSE].secs);
	return 0;
}
