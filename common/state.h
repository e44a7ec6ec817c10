/* state.h - the PBX's live state, built from AMI messages: channels, calls
 * (channels grouped by Linkedid), bridges, conferences, queues, extension
 * and device states, and the history of every call until it ends. The model
 * under `ami top` (the panel) and `ami calls` (call records).
 *
 * Like the parser it does no I/O and reads no clock. The consumer
 *   1. calls pbx_sync_begin() after each login (and again after a reconnect),
 *   2. sends the list actions pbx_next_request() hands out (each with the
 *      ActionID it names; pbx_request_msg builds the action),
 *   3. feeds every message it reads, list items and events alike, in the order
 *      it reads them, to pbx_feed() with the time it got it (ms since the
 *      epoch: its own clock, or a recording's ReceivedAt).
 * pbx_feed routes a message by its ActionID: the answers to the model's own
 * requests fill it; events keep it current. Everything else is ignored.
 * With the session layer (common/ami.h) that is:
 *
 *	pbx_sync_begin(p, now);
 *	while (pbx_next_request(p, &r)) {
 *		ami_msg_clear(&act);
 *		pbx_request_msg(&r, &act);
 *		rc = ami_action_list(a, &act, &reply, feed, p);   feed: pbx_feed(p, m, now)
 *		if (rc != RC_OK && rc != RC_ACTION)
 *			pbx_request_lost(p, &r, ami_error(a));
 *	}
 *	while (ami_next_event(a, &ev, deadline) == RC_OK)    the events queued meanwhile
 *		pbx_feed(p, &ev, now);                          first, then the live ones
 *
 * Events that arrive while a list is read may be fed after it: the model
 * is built for that order (and for any other: see below).
 *
 * Reading: entities are plain structs, linked in lists the consumer walks
 * (`for (c = pbx_channels(p); c; c = c->all.next)`); pointers stay valid
 * until the next pbx_feed/pbx_sync_begin/pbx_finish_all. Every string is
 * non-NULL, valid UTF-8 without control characters (a byte that is neither
 * becomes '?'), at most PBX_MAX_STR bytes; "" means unknown (Asterisk's
 * "<unknown>", and "unknown" in queue lists, quirk 38, are stored as "").
 * Times are ms since the epoch, 0 when unknown.
 *
 * Hostile input: limits bound every table (new entries past them are
 * refused and counted), events for channels that hung up are ignored (a
 * bounded memory of the last ones, so a late list item or event does not
 * bring them back), and no value is trusted to be a number. */
#ifndef AMI_STATE_H
#define AMI_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "msg.h"

#define PBX_MAX_STR 255   /* bytes kept of any value (cut at a character) */

struct pbx;

/* ---------- lists ---------- */

struct pbx_link {               /* intrusive list links; next/prev are entities */
	void *prev, *next;
};
struct pbx_head {
	void *first, *last;
	size_t n;
};

/* ---------- entities ---------- */

enum pbx_channel_flag {
	PBX_CH_BORN = 1,        /* its Newchannel was seen: start is exact */
	PBX_CH_HOLD = 2,        /* on hold (Hold ... Unhold) */
	PBX_CH_DIALED = 4,      /* the destination of a Dial (DialBegin) */
};

enum pbx_member_flag {          /* a channel's conference membership */
	PBX_MEMBER_ADMIN = 1,
	PBX_MEMBER_MARKED = 2,
	PBX_MEMBER_MUTED = 4,
	PBX_MEMBER_TALKING = 8,
	PBX_MEMBER_WAITING = 16,    /* waiting for a marked user */
};

struct pbx_channel {
	char *uniqueid, *linkedid, *name;
	int state;                  /* ChannelState: 0 Down, 4 Ring, 5 Ringing, 6 Up...; -1 unknown */
	char *state_desc;           /* ChannelStateDesc as Asterisk spells it */
	char *cid_num, *cid_name;   /* caller ID */
	char *conn_num, *conn_name; /* connected line */
	char *account, *context, *exten;
	int priority;
	char *app, *app_data;       /* what it runs now (Newexten, CoreShowChannel) */
	int64_t start;              /* Newchannel, first sight, or CoreShowChannel Duration */
	int64_t answer;             /* first Up, or ConfbridgeList AnsweredTime; 0 = not seen */
	unsigned flags;             /* enum pbx_channel_flag */
	struct pbx_call *call;      /* NULL while its Linkedid is unknown */
	struct pbx_bridge *bridge;  /* or NULL */
	struct pbx_channel *local_peer;   /* the other half of a Local ;1/;2 pair */
	struct pbx_conf *conf;      /* the conference it is a member of, or NULL */
	unsigned conf_flags;        /* enum pbx_member_flag */
	int64_t conf_join;
	struct pbx_queue *queue;    /* the queue it waits in, or NULL */
	int queue_pos;              /* its position there (1 = next) */
	int64_t queue_join;
	struct pbx_link all, in_call, in_bridge, in_conf, in_queue;
	/* private */
	uint64_t seq;
	uint32_t mark, conf_mark, queue_mark;
	int leg;                    /* index in the call's history, -1 */
};

struct pbx_call {
	char *linkedid;
	int64_t start;              /* earliest start of its channels */
	struct pbx_head channels;   /* struct pbx_channel, via in_call, oldest first */
	struct pbx_link all;
	/* private */
	uint64_t seq;
	struct pbx_history *hist;   /* NULL when no one wants call records */
};

struct pbx_bridge {
	char *id, *type, *technology, *creator, *name;
	int nchannels;              /* BridgeNumChannels as last reported */
	int64_t created;
	struct pbx_head members;    /* channels, via in_bridge */
	struct pbx_link all;
	/* private */
	uint64_t seq;
	uint32_t mark;
};

enum pbx_conf_flag { PBX_CONF_LOCKED = 1, PBX_CONF_MUTED = 2, PBX_CONF_RECORDING = 4 };

struct pbx_conf {
	char *name, *bridge_id;
	int parties, marked;        /* as ConfbridgeListRooms last said; -1 unknown */
	unsigned flags;             /* enum pbx_conf_flag */
	int64_t start;
	struct pbx_head members;    /* channels, via in_conf, by join order */
	struct pbx_link all;
	/* private */
	uint64_t seq;
	uint32_t mark;
};

struct pbx_queue {
	char *name, *strategy;
	int max, calls, holdtime, talktime, completed, abandoned, service_level, weight;
	char *sl_perf, *sl_perf2;   /* ServicelevelPerf, ServicelevelPerf2 ("0.0") */
	int logged_in, available, longest_hold;   /* QueueSummary; -1 until seen */
	struct pbx_head members;    /* struct pbx_member, via in_queue */
	struct pbx_head callers;    /* channels, via in_queue, by position */
	struct pbx_link all;
	/* private */
	uint64_t seq;
	uint32_t mark;
};

struct pbx_member {             /* a queue member: an interface, not a channel */
	struct pbx_queue *queue;
	char *interface, *name, *state_interface, *membership, *paused_reason;
	int penalty, calls_taken, in_call, status, paused, wrapuptime, ringinuse;
	int64_t last_call, last_pause, login_time;   /* epoch seconds, as Asterisk sends them */
	struct pbx_link in_queue;
	/* private */
	char *key;
	uint64_t seq;
	uint32_t mark;
};

struct pbx_extension {          /* a hinted extension */
	char *exten, *context, *hint, *status_text;
	int status;                 /* ExtensionStatus bits: 0 idle, 1 in use, 2 busy, 4
				     * unavailable, 8 ringing, 16 on hold */
	struct pbx_link all;
	/* private */
	char *key;
	uint64_t seq;
	uint32_t mark;
};

struct pbx_device {
	char *name, *state;         /* "Custom:lab100", "INUSE" */
	struct pbx_link all;
	/* private */
	uint64_t seq;
	uint32_t mark;
};

/* The first of each kind, oldest first (devices: least recently changed
 * first); walk on with x->all.next. */
const struct pbx_channel *pbx_channels(const struct pbx *p);
const struct pbx_call *pbx_calls(const struct pbx *p);
const struct pbx_bridge *pbx_bridges(const struct pbx *p);
const struct pbx_conf *pbx_confs(const struct pbx *p);
const struct pbx_queue *pbx_queues(const struct pbx *p);
const struct pbx_extension *pbx_extensions(const struct pbx *p);
const struct pbx_device *pbx_devices(const struct pbx *p);

enum pbx_kind {
	PBX_KIND_CHANNEL, PBX_KIND_CALL, PBX_KIND_BRIDGE, PBX_KIND_CONF,
	PBX_KIND_QUEUE, PBX_KIND_MEMBER, PBX_KIND_CALLER, PBX_KIND_EXTENSION,
	PBX_KIND_DEVICE, PBX_KIND_COUNT
};
size_t pbx_count(const struct pbx *p, enum pbx_kind kind);

/* Lookups (by the value as Asterisk sends it). NULL when unknown. */
const struct pbx_channel *pbx_channel(const struct pbx *p, const char *uniqueid);
const struct pbx_channel *pbx_channel_named(const struct pbx *p, const char *name);
const struct pbx_call *pbx_call(const struct pbx *p, const char *linkedid);
const struct pbx_bridge *pbx_bridge(const struct pbx *p, const char *id);
const struct pbx_conf *pbx_conf(const struct pbx *p, const char *name);
const struct pbx_queue *pbx_queue(const struct pbx *p, const char *name);
const struct pbx_member *pbx_member(const struct pbx *p, const char *queue, const char *interface);
const struct pbx_extension *pbx_extension(const struct pbx *p, const char *context, const char *exten);
const struct pbx_device *pbx_device(const struct pbx *p, const char *name);

/* ---------- the call view (one row of the calls panel) ---------- */

enum pbx_call_state { PBX_CALL_RINGING, PBX_CALL_UP, PBX_CALL_HOLD };

struct pbx_call_view {
	const struct pbx_call *call;
	const struct pbx_channel *caller;   /* its Uniqueid is the Linkedid, else the oldest */
	const struct pbx_channel *callee;   /* bridged with the caller's side, else dialed; or NULL */
	const char *caller_num, *caller_name, *callee_num, *callee_name;   /* "" unknown */
	enum pbx_call_state state;  /* hold: a channel is on hold; up: the caller's side is
				     * Up; ringing: not answered yet */
	int64_t start, answer;      /* answer: the caller's side Up, 0 not yet/unknown */
	const struct pbx_bridge *bridge;    /* the caller's side's bridge, or NULL */
	const struct pbx_conf *conf;        /* a conference it is in, or NULL */
	const char *app, *app_data; /* what the caller's side runs (for a Local ;1, its ;2) */
};
/* Caller and callee: a Local ;1/;2 pair counts as one side. The callee's
 * number is its channel's caller ID (Dial gives the outgoing channel the
 * dialed number), else the caller's connected line. */
void pbx_call_view(const struct pbx_call *c, struct pbx_call_view *v);
const char *pbx_call_state_name(enum pbx_call_state s);    /* "ringing", "up", "hold" */
/* "Idle", "InUse", ... for an ExtensionStatus Status; "Unknown" otherwise. */
const char *pbx_ext_status_name(int status);
/* Queue member Status (a device state): "NOT_INUSE", "INUSE", "RINGING"... */
const char *pbx_member_status_name(int status);

/* ---------- sorted views ---------- */

enum pbx_sort {
	PBX_SORT_AGE,       /* oldest first (start, creation) */
	PBX_SORT_NAME,      /* channel/queue/conference/device name, call caller, extension
			     * number: digits compare as numbers ("9" < "10") */
	PBX_SORT_STATE,     /* channel state, call state, member status, extension status */
};
/* Fills out[] with up to cap entities of one kind (not MEMBER or CALLER:
 * walk a queue's lists), sorted by key and then by creation, so that rows
 * with equal keys keep their places between redraws. Returns how many
 * there are in all. */
size_t pbx_sorted(const struct pbx *p, enum pbx_kind kind, enum pbx_sort key, int descending,
		  const void **out, size_t cap);

/* ---------- start-up lists and resynchronisation ---------- */

enum pbx_list {
	PBX_LIST_CHANNELS,      /* CoreShowChannels */
	PBX_LIST_BRIDGES,       /* BridgeList */
	PBX_LIST_BRIDGE_INFO,   /* BridgeInfo per bridge: only when CoreShowChannels is
				 * refused (it names every bridged channel otherwise) */
	PBX_LIST_CONFS,         /* ConfbridgeListRooms */
	PBX_LIST_CONF_MEMBERS,  /* ConfbridgeList per room */
	PBX_LIST_QUEUES,        /* QueueStatus */
	PBX_LIST_EXTENSIONS,    /* ExtensionStateList */
	PBX_LIST_DEVICES,       /* DeviceStateList */
	PBX_LIST_COUNT
};

struct pbx_request {
	enum pbx_list list;
	const char *action;         /* "BridgeInfo" */
	const char *key;            /* an argument header, or NULL */
	char value[PBX_MAX_STR + 1];
	char action_id[32];         /* send it: pbx_feed knows the answers by it */
};
/* The next list action to send, 1; 0 when none is due now (more may come
 * once answers arrive: BridgeInfo after BridgeList, ConfbridgeList after
 * ConfbridgeListRooms). Requests may be sent all at once or one by one. */
int pbx_next_request(struct pbx *p, struct pbx_request *r);
/* Action, ActionID and the argument, into an empty act. */
void pbx_request_msg(const struct pbx_request *r, struct ami_msg *act);
/* A request that will get no answer (timed out, connection lost): its list
 * is marked failed with why, so the sync can finish. */
void pbx_request_lost(struct pbx *p, const struct pbx_request *r, const char *why);
/* The write privileges Asterisk wants for a list ("system,reporting"), for
 * telling the user what to add in manager.conf; "" when none. */
const char *pbx_list_privilege(enum pbx_list l);
const char *pbx_list_action(enum pbx_list l);

enum pbx_list_status {
	PBX_LS_UNASKED,         /* not part of this sync */
	PBX_LS_WAITING,         /* asked, not all answered */
	PBX_LS_OK,
	PBX_LS_DENIED,          /* Permission denied: the rest still works */
	PBX_LS_FAILED,          /* another error (message says which) */
};

struct pbx_list_state {
	enum pbx_list_status status;
	unsigned requests, answered, items;
	char message[96];       /* the error text, "" */
};

struct pbx_sync {
	unsigned epoch;         /* pbx_sync_begin calls so far */
	int resync;             /* epoch > 1: after a reconnect */
	int done;               /* every request answered */
	int64_t began, ended;
	struct pbx_list_state list[PBX_LIST_COUNT];
	/* What the lists changed: entries they brought that the model did not
	 * know, and entries they no longer have (gone while we were not
	 * listening; a call whose channels are all gone ends, marked gap). */
	unsigned added[PBX_KIND_COUNT], removed[PBX_KIND_COUNT];
};

/* The lists a sync asks for, as bits (1u << PBX_LIST_...); all by default.
 * A per-room or per-bridge list is asked only with the list it follows. */
void pbx_sync_lists(struct pbx *p, unsigned mask);
#define PBX_LISTS_ALL ((1u << PBX_LIST_COUNT) - 1)

/* Starts a (re)synchronisation: queues the list actions. After a reconnect
 * every call up is marked as having spanned a gap; entries that no list
 * brings back (and no event touches meanwhile) are dropped as each list
 * completes. */
void pbx_sync_begin(struct pbx *p, int64_t now);
const struct pbx_sync *pbx_sync_state(const struct pbx *p);

/* ---------- feeding ---------- */

/* Any message: a list answer (by ActionID) or an event. Returns 1 when
 * what a view shows changed, else 0. */
int pbx_feed(struct pbx *p, const struct ami_msg *m, int64_t now);

/* A counter that moves whenever anything a view shows changes: redraw when
 * it differs from the one drawn. */
uint64_t pbx_changes(const struct pbx *p);

/* Messages per second, counted with the consumer's clock. */
struct pbx_rate {
	int64_t sec;                /* the second being counted */
	unsigned cur, last[8];      /* its count; the 8 before it, newest first */
};
void pbx_rate_add(struct pbx_rate *r, int64_t now, unsigned n);
/* Average over the last complete seconds (up to 5): what a header shows. */
double pbx_rate_get(const struct pbx_rate *r, int64_t now);
double pbx_event_rate(const struct pbx *p, int64_t now);   /* of pbx_feed */

struct pbx_stats {
	uint64_t messages;          /* fed */
	uint64_t events, items;     /* events; list items */
	uint64_t stale;             /* for channels or bridges already gone: ignored */
	uint64_t refused;           /* entries not made: a limit was reached */
	uint64_t evicted;           /* devices forgotten to make room for new ones */
	uint64_t records_dropped;   /* finished calls the queue had no room for */
};
const struct pbx_stats *pbx_stats(const struct pbx *p);

/* ---------- finished calls (for call records) ---------- */

enum pbx_leg_flag {
	PBX_LEG_BORN = 1,           /* its Newchannel was seen */
	PBX_LEG_ENDED = 2,          /* its Hangup was seen: end and cause are real */
	PBX_LEG_LOST = 4,           /* gone while we were not listening (resync) */
	PBX_LEG_OPEN = 8,           /* still up when pbx_finish_all flushed the call */
	PBX_LEG_MOVED = 16,         /* left for another Linkedid */
};

struct pbx_leg {                /* one channel of a finished call */
	const char *uniqueid, *name;
	const char *cid_num, *cid_name, *conn_num, *conn_name, *account;   /* last values */
	const char *context, *exten;    /* where it began */
	const char *cause_txt;
	int64_t start, answer, end;
	int cause;                  /* Hangup Cause, -1 unknown */
	int local_peer;             /* index of its Local partner, -1 */
	unsigned flags;             /* enum pbx_leg_flag */
};

enum pbx_step_kind {            /* leg/peer index legs (-1: none, or not of this call) */
	PBX_STEP_APP,               /* leg runs a = application, b = data (Newexten) */
	PBX_STEP_DIAL_BEGIN,        /* leg dials peer, a = dial string */
	PBX_STEP_DIAL_END,          /* a = DialStatus (ANSWER, BUSY, NOANSWER, CANCEL...) */
	PBX_STEP_BRIDGE_ENTER,      /* a = bridge id, b = type, c = name (a conference's) */
	PBX_STEP_BRIDGE_LEAVE,      /* a = bridge id */
	PBX_STEP_CONF_JOIN,         /* a = conference, n1 = admin */
	PBX_STEP_CONF_LEAVE,        /* a = conference */
	PBX_STEP_QUEUE_JOIN,        /* a = queue, n1 = position */
	PBX_STEP_QUEUE_LEAVE,       /* a = queue, n1 = position, n2 = ms waited */
	PBX_STEP_QUEUE_ABANDON,     /* a = queue, n1 = original position, n2 = s held */
	PBX_STEP_AGENT_CALLED,      /* leg = caller, peer = agent leg, a = queue, b = member
				     * name, c = interface */
	PBX_STEP_AGENT_CONNECT,     /* as AGENT_CALLED, n1 = s held, n2 = s ringing */
	PBX_STEP_AGENT_COMPLETE,    /* as AGENT_CALLED, n1 = s held, n2 = s talked; the
				     * reason (caller, agent, transfer) replaces c */
	PBX_STEP_AGENT_NOANSWER,    /* as AGENT_CALLED, n2 = ms ringing */
	PBX_STEP_AGENT_DUMP,        /* as AGENT_CALLED */
	PBX_STEP_BLIND_TRANSFER,    /* leg = transferer, peer = transferee, a = exten,
				     * b = context, c = result */
	PBX_STEP_ATTENDED_TRANSFER, /* leg = first transferer, peer = second transferer,
				     * a = DestType, b = result, c = destination
				     * (DestApp, or the bridge) */
	PBX_STEP_HOLD,              /* a = music class */
	PBX_STEP_UNHOLD,
	PBX_STEP_GAP,               /* a reconnect: events may be missing around here */
	PBX_STEP_KIND_COUNT
};

struct pbx_step {
	int64_t t;
	enum pbx_step_kind kind;
	int leg, peer;
	const char *a, *b, *c;      /* "" when absent */
	long n1, n2;
};

enum pbx_record_flag {
	PBX_REC_PARTIAL = 1,        /* began before we were watching (or history was off) */
	PBX_REC_GAP = 2,            /* spanned a reconnect: steps may be missing */
	PBX_REC_TRUNCATED = 4,      /* a history limit was reached; later steps/legs dropped */
	PBX_REC_OPEN = 8,           /* flushed by pbx_finish_all before it ended */
};

struct pbx_record {             /* everything about one finished call */
	const char *linkedid;
	int64_t start, end;
	unsigned flags;             /* enum pbx_record_flag */
	size_t nlegs, nsteps;
	const struct pbx_leg *legs;     /* in the order they appeared */
	const struct pbx_step *steps;   /* in the order they happened */
};

/* Keeps call histories and queues up to max finished calls for
 * pbx_next_finished (0: none; the default, as a panel wants none). When
 * the queue is full the oldest record is dropped (stats.records_dropped). */
void pbx_keep_finished(struct pbx *p, size_t max);
/* The oldest finished call, or NULL; the caller frees it. */
struct pbx_record *pbx_next_finished(struct pbx *p);
void pbx_record_free(struct pbx_record *r);
/* Or: fn is called as each call ends (the record is freed after it
 * returns). Also turns call histories on. NULL switches it off. */
void pbx_on_call_end(struct pbx *p, void (*fn)(void *arg, const struct pbx_record *r),
		     void *arg);
/* Ends every call still up as a record flagged PBX_REC_OPEN (the end of a
 * recording), and empties the model. */
void pbx_finish_all(struct pbx *p, int64_t now);
const char *pbx_step_name(enum pbx_step_kind k);   /* "dial_begin", ... */

/* ---------- life ---------- */

struct pbx_limits {
	size_t channels;            /* live channels (and so calls) */
	size_t others;              /* each of bridges, conferences, queues, members,
				     * extensions, devices (where the oldest gives way) */
	size_t legs, steps;         /* per call history */
	size_t record_bytes;        /* text per call history */
	size_t tombstones;          /* hung-up channels remembered */
};
extern const struct pbx_limits pbx_default_limits;

struct pbx *pbx_new(const struct pbx_limits *lim);   /* NULL: defaults */
void pbx_free(struct pbx *p);

#endif
