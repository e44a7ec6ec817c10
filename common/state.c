/* state.c - the PBX's live state, built from AMI messages (see state.h).
 *
 * One pass over a message's headers puts the value of every header the
 * model knows into a table indexed by key (a hashed name lookup per
 * header), so handlers read fields in O(1) and an event costs one scan of
 * its headers, a hash lookup or two, and string compares that find nothing
 * changed: values are copied only when they differ, so a steady stream of
 * events allocates nothing. Entities live in hash tables (channels by
 * Uniqueid and by name, calls by Linkedid, bridges, conferences, queues,
 * members, extensions, devices) and in intrusive lists for the views; no
 * event walks all channels. Only resynchronisation (once per list) and the
 * sorted views walk a whole table. */
#define _POSIX_C_SOURCE 200809L
#include "state.h"
#include "util.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const struct pbx_limits pbx_default_limits = {
	.channels = 100000,
	.others = 50000,
	.legs = 64,
	.steps = 256,
	.record_bytes = 32768,
	.tombstones = 4096,
};

/* The text every unset field points to; never freed, never written. */
static char empty_str[1];

/* ---------- the header names the model reads ---------- */

#define PLAIN_KEYS(X) \
	X(EVENT, "Event") X(RESPONSE, "Response") X(MESSAGE, "Message") X(ACTIONID, "ActionID") \
	X(EVENTLIST, "EventList") X(APPLICATION, "Application") \
	X(APPLICATIONDATA, "ApplicationData") X(APPDATA, "AppData") X(DURATION, "Duration") \
	X(BRIDGEID, "BridgeId") X(BRIDGE_UNIQUEID, "BridgeUniqueid") X(BRIDGE_TYPE, "BridgeType") \
	X(BRIDGE_TECH, "BridgeTechnology") X(BRIDGE_CREATOR, "BridgeCreator") \
	X(BRIDGE_NAME, "BridgeName") X(BRIDGE_NUMCHANNELS, "BridgeNumChannels") \
	X(CAUSE, "Cause") X(CAUSE_TXT, "Cause-txt") X(DIALSTATUS, "DialStatus") \
	X(DIALSTRING, "DialString") X(CONFERENCE, "Conference") X(ADMIN, "Admin") \
	X(MUTED, "Muted") X(TALKING, "Talking") X(TALKINGSTATUS, "TalkingStatus") \
	X(MARKEDUSER, "MarkedUser") X(WAITING, "Waiting") X(PARTIES, "Parties") \
	X(MARKED, "Marked") X(LOCKED, "Locked") X(ANSWEREDTIME, "AnsweredTime") \
	X(QUEUE, "Queue") X(POSITION, "Position") X(COUNT, "Count") X(WAIT, "Wait") \
	X(ORIGINALPOSITION, "OriginalPosition") X(HOLDTIME, "HoldTime") X(TALKTIME, "TalkTime") \
	X(RINGTIME, "RingTime") X(REASON, "Reason") X(MAX, "Max") X(STRATEGY, "Strategy") \
	X(CALLS, "Calls") X(COMPLETED, "Completed") X(ABANDONED, "Abandoned") \
	X(SERVICELEVEL, "ServiceLevel") X(SLPERF, "ServicelevelPerf") \
	X(SLPERF2, "ServicelevelPerf2") X(WEIGHT, "Weight") X(LOGGEDIN, "LoggedIn") \
	X(AVAILABLE, "Available") X(CALLERS, "Callers") X(LONGESTHOLDTIME, "LongestHoldTime") \
	X(NAME, "Name") X(MEMBERNAME, "MemberName") X(LOCATION, "Location") \
	X(INTERFACE, "Interface") X(STATEINTERFACE, "StateInterface") \
	X(MEMBERSHIP, "Membership") X(PENALTY, "Penalty") X(CALLSTAKEN, "CallsTaken") \
	X(LASTCALL, "LastCall") X(LASTPAUSE, "LastPause") X(LOGINTIME, "LoginTime") \
	X(INCALL, "InCall") X(STATUS, "Status") X(PAUSED, "Paused") \
	X(PAUSEDREASON, "PausedReason") X(WRAPUPTIME, "Wrapuptime") X(RINGINUSE, "Ringinuse") \
	X(STATUSTEXT, "StatusText") X(HINT, "Hint") X(DEVICE, "Device") X(STATE, "State") \
	X(RESULT, "Result") X(EXTENSION, "Extension") X(DESTTYPE, "DestType") \
	X(DESTBRIDGE, "DestBridgeUniqueid") X(DESTAPP, "DestApp") X(MUSICCLASS, "MusicClass")

/* A channel snapshot: these names, bare or behind one of the prefixes. */
#define SNAP_FIELDS(X) \
	X(CHANNEL, "Channel") X(STATE, "ChannelState") X(STATEDESC, "ChannelStateDesc") \
	X(CIDNUM, "CallerIDNum") X(CIDNAME, "CallerIDName") X(CONNNUM, "ConnectedLineNum") \
	X(CONNNAME, "ConnectedLineName") X(ACCOUNT, "AccountCode") X(CONTEXT, "Context") \
	X(EXTEN, "Exten") X(PRIORITY, "Priority") X(UNIQUEID, "Uniqueid") X(LINKEDID, "Linkedid")

enum snap_prefix {
	P_NONE, P_DEST, P_LOCALONE, P_LOCALTWO, P_TRANSFERER, P_TRANSFEREE,
	P_ORIGTRANSFERER, P_SECONDTRANSFERER, P_TRANSFERTARGET, P_COUNT
};
static const char *const prefix_names[P_COUNT] = {
	"", "Dest", "LocalOne", "LocalTwo", "Transferer", "Transferee",
	"OrigTransferer", "SecondTransferer", "TransferTarget",
};

#define AS_ENUM(id, name) K_##id,
enum plain_key { PLAIN_KEYS(AS_ENUM) K_PLAIN_COUNT };
#undef AS_ENUM
#define AS_ENUM(id, name) F_##id,
enum snap_field { SNAP_FIELDS(AS_ENUM) F_COUNT };
#undef AS_ENUM
#define AS_NAME(id, name) name,
static const char *const plain_names[K_PLAIN_COUNT] = { PLAIN_KEYS(AS_NAME) };
static const char *const field_names[F_COUNT] = { SNAP_FIELDS(AS_NAME) };
#undef AS_NAME

#define NKEYS (K_PLAIN_COUNT + P_COUNT * F_COUNT)
#define SK(prefix, field) (K_PLAIN_COUNT + (prefix) * F_COUNT + (field))

#define EVENTS(X) \
	X(NEWCHANNEL, "Newchannel") X(NEWSTATE, "Newstate") X(NEWEXTEN, "Newexten") \
	X(HANGUP, "Hangup") X(LOCALBRIDGE, "LocalBridge") X(DIALBEGIN, "DialBegin") \
	X(DIALEND, "DialEnd") X(BRIDGECREATE, "BridgeCreate") X(BRIDGEENTER, "BridgeEnter") \
	X(BRIDGELEAVE, "BridgeLeave") X(BRIDGEDESTROY, "BridgeDestroy") \
	X(CONFSTART, "ConfbridgeStart") X(CONFEND, "ConfbridgeEnd") X(CONFJOIN, "ConfbridgeJoin") \
	X(CONFLEAVE, "ConfbridgeLeave") X(CONFTALKING, "ConfbridgeTalking") \
	X(CONFMUTE, "ConfbridgeMute") X(CONFUNMUTE, "ConfbridgeUnmute") \
	X(CONFLOCK, "ConfbridgeLock") X(CONFUNLOCK, "ConfbridgeUnlock") \
	X(CONFRECORD, "ConfbridgeRecord") X(CONFSTOPRECORD, "ConfbridgeStopRecord") \
	X(QCALLERJOIN, "QueueCallerJoin") X(QCALLERLEAVE, "QueueCallerLeave") \
	X(QCALLERABANDON, "QueueCallerAbandon") X(QMEMBERADDED, "QueueMemberAdded") \
	X(QMEMBERREMOVED, "QueueMemberRemoved") X(QMEMBERSTATUS, "QueueMemberStatus") \
	X(QMEMBERPAUSE, "QueueMemberPause") X(QMEMBERPAUSED, "QueueMemberPaused") \
	X(QMEMBERPENALTY, "QueueMemberPenalty") X(QMEMBERRINGINUSE, "QueueMemberRinginuse") \
	X(AGENTCALLED, "AgentCalled") X(AGENTCONNECT, "AgentConnect") \
	X(AGENTCOMPLETE, "AgentComplete") X(AGENTRINGNOANSWER, "AgentRingNoAnswer") \
	X(AGENTDUMP, "AgentDump") X(EXTSTATUS, "ExtensionStatus") \
	X(DEVSTATE, "DeviceStateChange") X(HOLD, "Hold") X(UNHOLD, "Unhold") \
	X(BLINDTRANSFER, "BlindTransfer") X(ATTTRANSFER, "AttendedTransfer") \
	X(ORIGINATERESPONSE, "OriginateResponse") X(CORESHOWCHANNEL, "CoreShowChannel") \
	X(BRIDGELISTITEM, "BridgeListItem") X(BRIDGEINFOCHANNEL, "BridgeInfoChannel") \
	X(BRIDGEINFOCOMPLETE, "BridgeInfoComplete") X(CONFLISTROOMS, "ConfbridgeListRooms") \
	X(CONFLIST, "ConfbridgeList") X(QPARAMS, "QueueParams") X(QMEMBER, "QueueMember") \
	X(QENTRY, "QueueEntry") X(QSUMMARY, "QueueSummary")

#define AS_ENUM(id, name) E_##id,
enum event { E_OTHER, EVENTS(AS_ENUM) E_COUNT };
#undef AS_ENUM
#define AS_NAME(id, name) name,
static const char *const event_names[E_COUNT] = { "", EVENTS(AS_NAME) };
#undef AS_NAME

/* ---------- hashing ---------- */

/* FNV-1a with a final mix. */
static uint64_t hash_bytes(const char *s, size_t n)
{
	uint64_t h = 14695981039346656037ull;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 32;
	return h | 1;       /* 0 marks an empty name slot */
}

/* A header or event name's hash for the name tables: its length and four
 * of its characters, case folded. Names are told apart by a compare
 * anyway; hashing every byte of every header was half an event's cost. */
static uint64_t name_hash(const char *name, size_t n)
{
	const unsigned char *s = (const unsigned char *)name;
	uint64_t h = n;

	if (n)
		h = h << 32 ^ (uint64_t)(s[0] | 0x20) ^ (uint64_t)(s[n / 3] | 0x20) << 8 ^
			(uint64_t)(s[n / 2] | 0x20) << 16 ^ (uint64_t)(s[n - 1] | 0x20) << 24;
	h *= 0x9e3779b97f4a7c15ull;
	return (h ^ h >> 29) | 1;   /* 0 marks an empty slot */
}

/* Names (header or event) to small numbers: a fixed open-addressed table. */
#define NAMETAB_SIZE 512
struct nametab {
	uint64_t hash[NAMETAB_SIZE];
	uint16_t id[NAMETAB_SIZE];
	char *text[NAMETAB_SIZE];   /* the name, for the final compare */
};

static void nametab_add(struct nametab *t, const char *name, unsigned id)
{
	uint64_t h = name_hash(name, strlen(name));
	size_t i = h & (NAMETAB_SIZE - 1);

	while (t->hash[i])
		i = (i + 1) & (NAMETAB_SIZE - 1);
	t->hash[i] = h;
	t->id[i] = (uint16_t)id;
	t->text[i] = xstrdup(name);
}

/* The id of name[0, n), or -1. */
static int nametab_find(const struct nametab *t, const char *name, size_t n)
{
	uint64_t h = name_hash(name, n);

	for (size_t i = h & (NAMETAB_SIZE - 1); t->hash[i]; i = (i + 1) & (NAMETAB_SIZE - 1))
		if (t->hash[i] == h && !t->text[i][n] &&
		    (!memcmp(t->text[i], name, n) || !strncasecmp(t->text[i], name, n)))
			return t->id[i];
	return -1;
}

static void nametab_free(struct nametab *t)
{
	for (size_t i = 0; i < NAMETAB_SIZE; i++)
		free(t->text[i]);
}

/* Entities by key: open addressing, linear probing, backward-shift delete.
 * The key is a string inside the entity (at key_off), so nothing is copied;
 * a map with key_off SIZE_MAX compares hashes only (the tombstones). */
struct slot {
	uint64_t h;
	void *v;
};
struct map {
	struct slot *s;
	size_t cap, n, key_off;
};

static const char *map_key(const struct map *m, const void *v)
{
	return *(char *const *)((const char *)v + m->key_off);
}

static void *map_get(const struct map *m, const char *key, uint64_t h)
{
	if (!m->n)
		return NULL;
	for (size_t i = h & (m->cap - 1); m->s[i].v; i = (i + 1) & (m->cap - 1))
		if (m->s[i].h == h && (m->key_off == SIZE_MAX || !strcmp(map_key(m, m->s[i].v), key)))
			return m->s[i].v;
	return NULL;
}

static void map_insert(struct slot *s, size_t cap, uint64_t h, void *v)
{
	size_t i = h & (cap - 1);

	while (s[i].v)
		i = (i + 1) & (cap - 1);
	s[i].h = h;
	s[i].v = v;
}

static void map_put(struct map *m, void *v, uint64_t h)
{
	if ((m->n + 1) * 2 > m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 64;
		struct slot *s = xcalloc(cap, sizeof *s);
		for (size_t i = 0; i < m->cap; i++)
			if (m->s[i].v)
				map_insert(s, cap, m->s[i].h, m->s[i].v);
		free(m->s);
		m->s = s;
		m->cap = cap;
	}
	map_insert(m->s, m->cap, h, v);
	m->n++;
}

static void map_del(struct map *m, const void *v, uint64_t h)
{
	size_t mask = m->cap - 1, i, j;

	if (!m->n)
		return;
	for (i = h & mask; m->s[i].v != v; i = (i + 1) & mask)
		if (!m->s[i].v)
			return;
	for (j = (i + 1) & mask; m->s[j].v; j = (j + 1) & mask) {
		size_t home = m->s[j].h & mask;
		/* s[j] may fill the hole at i unless its home lies in (i, j]. */
		if (((j - home) & mask) >= ((j - i) & mask)) {
			m->s[i] = m->s[j];
			i = j;
		}
	}
	m->s[i].v = NULL;
	m->s[i].h = 0;
	m->n--;
}

static void map_free(struct map *m)
{
	free(m->s);
	m->s = NULL;
	m->cap = m->n = 0;
}

/* ---------- text ---------- */

/* Whether s is printable ASCII and short enough to keep as it is (the
 * usual case); *len gets its length. */
static int plain(const char *s, size_t *len)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f || i >= PBX_MAX_STR)
			return 0;
	*len = i;
	return 1;
}

/* Length of the valid UTF-8 character at s (2-4 bytes, no overlongs, no
 * surrogates, no C1 controls), or 0. */
static size_t utf8_char(const unsigned char *s)
{
	unsigned c = s[0];
	size_t n, i;
	unsigned long cp;

	if (c >= 0xc2 && c <= 0xdf)
		n = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, cp = c & 0x07;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp <= 0x9f))
		return 0;
	return n;
}

/* src as the model stores it, into dst (max + 1 bytes): valid UTF-8 kept,
 * any other byte and every control character become '?', cut at a
 * character boundary. Returns the length. */
static size_t clean_max(char *dst, const char *src, size_t max)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t n = 0;

	while (*s) {
		size_t k = *s >= 0x80 ? utf8_char(s) : 1;
		if (n + (k ? k : 1) > max)
			break;
		if (k == 1 && *s >= 0x20 && *s != 0x7f) {
			dst[n++] = (char)*s;
		} else if (k > 1) {
			memcpy(dst + n, s, k);
			n += k;
		} else {
			dst[n++] = '?';
			k = 1;
		}
		s += k;
	}
	dst[n] = '\0';
	return n;
}

static size_t clean_into(char *dst, const char *src)
{
	return clean_max(dst, src, PBX_MAX_STR);
}

/* The stored form of a key for lookups: src itself when already plain. */
static const char *key_form(const char *src, char *buf)
{
	size_t n;

	if (plain(src, &n))
		return src;
	clean_into(buf, src);
	return buf;
}

static void str_free(char *s)
{
	if (s != empty_str)
		free(s);
}

/* ---------- the model ---------- */

struct req {
	enum pbx_list list;
	unsigned n;
	char state;                 /* 'q' queued, 's' sent, 'd' done */
	char value[PBX_MAX_STR + 1];
};

struct pbx {
	struct pbx_limits lim;
	struct nametab keys, events;
	struct map chan_id, chan_name, call_id, bridge_id, conf_name, queue_name, member_key,
		ext_key, device_name, tombs;
	struct pbx_head channels, calls, bridges, confs, queues, exts, devices;
	size_t nmembers, ncallers;
	uint64_t *tomb_ring;
	size_t tomb_next;
	uint64_t seq, changes;
	struct pbx_stats stats;
	struct pbx_rate rate;
	struct pbx_sync sync;
	struct req *reqs;
	size_t nreqs, reqcap;
	unsigned lists;             /* which a sync asks for */
	/* call histories */
	int history;
	size_t keep;
	struct pbx_record **done;
	size_t done_head, done_n;
	void (*on_end)(void *arg, const struct pbx_record *r);
	void *on_end_arg;
	/* the message being handled, and its time */
	int64_t now;
	const char *v[NKEYS];
	uint16_t set_keys[NKEYS];
	size_t nset;
};

/* What a handler works with. */
struct ctx {
	const char **v;
	int64_t now;
	struct req *req;            /* the list this item answers, or NULL for an event */
	enum event ev;
	int plain_unknown;          /* "unknown" means unknown too (queue lists, quirk 38) */
};

#define LINK(e, off) ((struct pbx_link *)((char *)(e) + (off)))

static void list_insert(struct pbx_head *h, void *e, void *before, size_t off)
{
	struct pbx_link *l = LINK(e, off);

	l->next = before;
	l->prev = before ? LINK(before, off)->prev : h->last;
	if (l->prev)
		LINK(l->prev, off)->next = e;
	else
		h->first = e;
	if (before)
		LINK(before, off)->prev = e;
	else
		h->last = e;
	h->n++;
}

static void list_append(struct pbx_head *h, void *e, size_t off)
{
	list_insert(h, e, NULL, off);
}

static void list_remove(struct pbx_head *h, void *e, size_t off)
{
	struct pbx_link *l = LINK(e, off);

	if (l->prev)
		LINK(l->prev, off)->next = l->next;
	else
		h->first = l->next;
	if (l->next)
		LINK(l->next, off)->prev = l->prev;
	else
		h->last = l->prev;
	l->prev = l->next = NULL;
	h->n--;
}

#define OFF(type, member) offsetof(struct type, member)

static void changed(struct pbx *p)
{
	p->changes++;
}

/* Stores src (NULL: leave as is) in *dst when it differs. */
static void set_str(struct pbx *p, char **dst, const char *src)
{
	char buf[PBX_MAX_STR + 1];
	const char *s = src;
	size_t n;
	char *d;

	if (!src)
		return;
	if (!plain(src, &n)) {
		n = clean_into(buf, src);
		s = buf;
	}
	if (!strcmp(*dst, s))
		return;
	if (!n) {
		str_free(*dst);
		*dst = empty_str;
	} else {
		d = xrealloc(*dst == empty_str ? NULL : *dst, n + 1);
		memcpy(d, s, n + 1);
		*dst = d;
	}
	changed(p);
}

/* Caller ID and bridge names: Asterisk's "<unknown>" (and in queue lists
 * "unknown") is stored as "". */
static void set_id(struct pbx *p, struct ctx *c, char **dst, const char *src)
{
	if (src && (!strcmp(src, "<unknown>") || (c->plain_unknown && !strcmp(src, "unknown"))))
		src = "";
	set_str(p, dst, src);
}

static void set_int(struct pbx *p, int *dst, int v)
{
	if (*dst != v) {
		*dst = v;
		changed(p);
	}
}

static void set_i64(struct pbx *p, int64_t *dst, int64_t v)
{
	if (*dst != v) {
		*dst = v;
		changed(p);
	}
}

static void set_flag(struct pbx *p, unsigned *flags, unsigned bit, int on)
{
	unsigned v = on ? *flags | bit : *flags & ~bit;

	if (v != *flags) {
		*flags = v;
		changed(p);
	}
}

/* A decimal number, or dflt: no value is trusted to be one. */
static long long num(const char *s, long long dflt)
{
	long long v = 0;
	int neg = 0, digits = 0;

	if (!s)
		return dflt;
	while (*s == ' ')
		s++;
	if (*s == '-' || *s == '+')
		neg = *s++ == '-';
	for (; *s >= '0' && *s <= '9'; s++, digits++)
		if (v < 1000000000000000ll)
			v = v * 10 + (*s - '0');
	return digits ? (neg ? -v : v) : dflt;
}

static int inum(const char *s, int dflt)
{
	long long v = num(s, dflt);

	return v > INT_MAX ? INT_MAX : v < INT_MIN ? INT_MIN : (int)v;
}

static void set_num(struct pbx *p, int *dst, const char *s)
{
	if (s)
		set_int(p, dst, inum(s, *dst));
}

/* Yes/No, true/false, on/off, 1/0. */
static int yes(const char *s)
{
	return s && (!strcasecmp(s, "yes") || !strcasecmp(s, "true") || !strcasecmp(s, "on") ||
		     !strcmp(s, "1"));
}

/* "HH:MM:SS" (CoreShowChannel Duration) in ms, or -1. */
static int64_t hms_ms(const char *s)
{
	long long h, m, sec;
	const char *a, *b;

	if (!s || !(a = strchr(s, ':')) || !(b = strchr(a + 1, ':')))
		return -1;
	h = num(s, -1), m = num(a + 1, -1), sec = num(b + 1, -1);
	if (h < 0 || m < 0 || sec < 0 || h > 1000000)
		return -1;
	return ((h * 60 + m) * 60 + sec) * 1000;
}

/* A Uniqueid worth a lookup: not missing, empty or "<unknown>". */
static int real_id(const char *s)
{
	return s && *s && strcmp(s, "<unknown>");
}

/* ---------- tombstones: what ended stays ended ---------- */

enum tomb_kind { TOMB_CHANNEL = 1, TOMB_BRIDGE = 2 };

static uint64_t tomb_hash(enum tomb_kind kind, const char *id)
{
	return hash_bytes(id, strlen(id)) ^ ((uint64_t)kind << 1);
}

static int tomb_has(const struct pbx *p, enum tomb_kind kind, const char *id)
{
	return p->lim.tombstones && map_get(&p->tombs, id, tomb_hash(kind, id));
}

static void tomb_add(struct pbx *p, enum tomb_kind kind, const char *id)
{
	uint64_t h = tomb_hash(kind, id), *slot;

	if (!p->lim.tombstones || map_get(&p->tombs, id, h))
		return;
	slot = &p->tomb_ring[p->tomb_next];
	if (*slot)
		map_del(&p->tombs, slot, *slot);
	*slot = h;
	map_put(&p->tombs, slot, h);
	p->tomb_next = (p->tomb_next + 1) % p->lim.tombstones;
}

static void tomb_del(struct pbx *p, enum tomb_kind kind, const char *id)
{
	uint64_t h = tomb_hash(kind, id), *slot;

	if (p->lim.tombstones && (slot = map_get(&p->tombs, id, h))) {
		map_del(&p->tombs, slot, h);
		*slot = 0;
	}
}

/* ---------- call histories ---------- */

enum { HS_UNIQUEID, HS_NAME, HS_CIDNUM, HS_CIDNAME, HS_CONNNUM, HS_CONNNAME, HS_ACCOUNT,
       HS_CONTEXT, HS_EXTEN, HS_CAUSETXT, HS_COUNT };

struct hleg {
	uint32_t s[HS_COUNT];       /* offsets in text; 0 is "" */
	int64_t start, answer, end;
	int cause, peer;
	unsigned flags;
};

struct hstep {
	int64_t t;
	enum pbx_step_kind kind;
	int leg, peer;
	uint32_t a, b, c;
	long n1, n2;
};

struct pbx_history {
	struct hleg *legs;
	size_t nlegs, legcap;
	struct hstep *steps;
	size_t nsteps, stepcap;
	char *text;
	size_t len, cap;
	unsigned flags;             /* enum pbx_record_flag */
};

static struct pbx_history *hist_new(void)
{
	struct pbx_history *h = xcalloc(1, sizeof *h);

	h->cap = 256;
	h->text = xmalloc(h->cap);
	h->text[0] = '\0';
	h->len = 1;
	return h;
}

static void hist_free(struct pbx_history *h)
{
	if (h) {
		free(h->legs);
		free(h->steps);
		free(h->text);
		free(h);
	}
}

/* Keeps s (already clean) in the history's text; its offset, or 0 ("")
 * when empty or over the limit. */
static uint32_t hist_str(struct pbx *p, struct pbx_history *h, const char *s)
{
	size_t n = strlen(s);
	uint32_t off;

	if (!n)
		return 0;
	if (h->len + n + 1 > p->lim.record_bytes) {
		h->flags |= PBX_REC_TRUNCATED;
		return 0;
	}
	if (h->len + n + 1 > h->cap) {
		while (h->len + n + 1 > h->cap)
			h->cap *= 2;
		h->text = xrealloc(h->text, h->cap);
	}
	off = (uint32_t)h->len;
	memcpy(h->text + off, s, n + 1);
	h->len += n + 1;
	return off;
}

static void leg_begin(struct pbx *p, struct pbx_call *call, struct pbx_channel *ch)
{
	struct pbx_history *h = call->hist;
	struct hleg *l;

	ch->leg = -1;
	if (!h)
		return;
	if (h->nlegs >= p->lim.legs) {
		h->flags |= PBX_REC_TRUNCATED;
		return;
	}
	if (h->nlegs == h->legcap) {
		h->legcap = h->legcap ? h->legcap * 2 : 4;
		h->legs = xrealloc(h->legs, h->legcap * sizeof *h->legs);
	}
	l = &h->legs[h->nlegs];
	memset(l, 0, sizeof *l);
	l->s[HS_UNIQUEID] = hist_str(p, h, ch->uniqueid);
	l->s[HS_CONTEXT] = hist_str(p, h, ch->context);
	l->s[HS_EXTEN] = hist_str(p, h, ch->exten);
	l->start = ch->start;
	l->cause = -1;
	l->peer = -1;
	if (ch->local_peer && ch->local_peer->call == call && ch->local_peer->leg >= 0) {
		l->peer = ch->local_peer->leg;
		h->legs[l->peer].peer = (int)h->nlegs;
	}
	ch->leg = (int)h->nlegs++;
}

/* Writes what the channel ended with into its leg. */
static void leg_end(struct pbx *p, struct pbx_call *call, struct pbx_channel *ch, int64_t now,
		    int cause, const char *cause_txt, unsigned flags)
{
	struct pbx_history *h = call->hist;
	struct hleg *l;

	if (!h || ch->leg < 0)
		return;
	l = &h->legs[ch->leg];
	l->s[HS_NAME] = hist_str(p, h, ch->name);
	l->s[HS_CIDNUM] = hist_str(p, h, ch->cid_num);
	l->s[HS_CIDNAME] = hist_str(p, h, ch->cid_name);
	l->s[HS_CONNNUM] = hist_str(p, h, ch->conn_num);
	l->s[HS_CONNNAME] = hist_str(p, h, ch->conn_name);
	l->s[HS_ACCOUNT] = hist_str(p, h, ch->account);
	l->s[HS_CAUSETXT] = cause_txt ? hist_str(p, h, cause_txt) : 0;
	l->start = ch->start;
	l->answer = ch->answer;
	l->end = now;
	l->cause = cause;
	l->flags = flags | (ch->flags & PBX_CH_BORN ? PBX_LEG_BORN : 0);
	ch->leg = -1;
}

/* Adds a step to call's history; ch and peer name legs when in that call. */
static void step(struct pbx *p, struct pbx_call *call, enum pbx_step_kind kind,
		 const struct pbx_channel *ch, const struct pbx_channel *peer, int64_t now,
		 const char *a, const char *b, const char *c, long n1, long n2)
{
	struct pbx_history *h = call ? call->hist : NULL;
	char buf[PBX_MAX_STR + 1];
	struct hstep *s;

	if (!h)
		return;
	if (h->nsteps >= p->lim.steps) {
		h->flags |= PBX_REC_TRUNCATED;
		return;
	}
	if (h->nsteps == h->stepcap) {
		h->stepcap = h->stepcap ? h->stepcap * 2 : 16;
		h->steps = xrealloc(h->steps, h->stepcap * sizeof *h->steps);
	}
	s = &h->steps[h->nsteps++];
	s->t = now;
	s->kind = kind;
	s->leg = ch && ch->call == call ? ch->leg : -1;
	s->peer = peer && peer->call == call ? peer->leg : -1;
	s->a = a ? (clean_into(buf, a), hist_str(p, h, buf)) : 0;
	s->b = b ? (clean_into(buf, b), hist_str(p, h, buf)) : 0;
	s->c = c ? (clean_into(buf, c), hist_str(p, h, buf)) : 0;
	s->n1 = n1;
	s->n2 = n2;
}

/* The same step in the calls of both channels (once when they share one). */
static void step2(struct pbx *p, enum pbx_step_kind kind, const struct pbx_channel *ch,
		  const struct pbx_channel *peer, int64_t now, const char *a, const char *b,
		  const char *c, long n1, long n2)
{
	if (ch && ch->call)
		step(p, ch->call, kind, ch, peer, now, a, b, c, n1, n2);
	if (peer && peer->call && (!ch || peer->call != ch->call))
		step(p, peer->call, kind, ch, peer, now, a, b, c, n1, n2);
}

/* The finished record: one block holding the legs, steps and text. */
static struct pbx_record *hist_record(const struct pbx_call *call, int64_t end)
{
	const struct pbx_history *h = call->hist;
	size_t lid = strlen(call->linkedid) + 1;
	size_t size = sizeof(struct pbx_record) + h->nlegs * sizeof(struct pbx_leg) +
		h->nsteps * sizeof(struct pbx_step) + h->len + lid;
	struct pbx_record *r = xcalloc(1, size);
	struct pbx_leg *legs = (struct pbx_leg *)(r + 1);
	struct pbx_step *steps = (struct pbx_step *)(legs + h->nlegs);
	char *text = (char *)(steps + h->nsteps);
	char *linkedid = text + h->len;

	memcpy(text, h->text, h->len);
	memcpy(linkedid, call->linkedid, lid);
	r->linkedid = linkedid;
	r->start = call->start;
	r->end = end;
	r->flags = h->flags;
	r->nlegs = h->nlegs;
	r->nsteps = h->nsteps;
	r->legs = legs;
	r->steps = steps;
	for (size_t i = 0; i < h->nlegs; i++) {
		const struct hleg *l = &h->legs[i];
		legs[i] = (struct pbx_leg){
			.uniqueid = text + l->s[HS_UNIQUEID], .name = text + l->s[HS_NAME],
			.cid_num = text + l->s[HS_CIDNUM], .cid_name = text + l->s[HS_CIDNAME],
			.conn_num = text + l->s[HS_CONNNUM], .conn_name = text + l->s[HS_CONNNAME],
			.account = text + l->s[HS_ACCOUNT], .context = text + l->s[HS_CONTEXT],
			.exten = text + l->s[HS_EXTEN], .cause_txt = text + l->s[HS_CAUSETXT],
			.start = l->start, .answer = l->answer, .end = l->end, .cause = l->cause,
			.local_peer = l->peer, .flags = l->flags,
		};
		if (!(l->flags & PBX_LEG_BORN))
			r->flags |= PBX_REC_PARTIAL;
		if (r->start == 0 || (l->start && l->start < r->start))
			r->start = l->start;
	}
	for (size_t i = 0; i < h->nsteps; i++) {
		const struct hstep *s = &h->steps[i];
		steps[i] = (struct pbx_step){
			.t = s->t, .kind = s->kind, .leg = s->leg, .peer = s->peer,
			.a = text + s->a, .b = text + s->b, .c = text + s->c, .n1 = s->n1, .n2 = s->n2,
		};
	}
	return r;
}

static void deliver(struct pbx *p, struct pbx_record *r)
{
	if (p->on_end)
		p->on_end(p->on_end_arg, r);
	if (!p->keep) {
		free(r);
		return;
	}
	if (p->done_n == p->keep) {
		free(p->done[p->done_head]);
		p->done_head = (p->done_head + 1) % p->keep;
		p->done_n--;
		p->stats.records_dropped++;
	}
	p->done[(p->done_head + p->done_n++) % p->keep] = r;
}

/* ---------- calls ---------- */

static struct pbx_call *call_find(const struct pbx *p, const char *linkedid)
{
	return map_get(&p->call_id, linkedid, hash_bytes(linkedid, strlen(linkedid)));
}

static struct pbx_call *call_get(struct pbx *p, const char *linkedid)
{
	struct pbx_call *call = call_find(p, linkedid);

	if (call)
		return call;
	call = xcalloc(1, sizeof *call);
	call->linkedid = xstrdup(linkedid);
	call->seq = ++p->seq;
	if (p->history)
		call->hist = hist_new();
	map_put(&p->call_id, call, hash_bytes(linkedid, strlen(linkedid)));
	list_append(&p->calls, call, OFF(pbx_call, all));
	changed(p);
	return call;
}

static void call_free(struct pbx *p, struct pbx_call *call)
{
	map_del(&p->call_id, call, hash_bytes(call->linkedid, strlen(call->linkedid)));
	list_remove(&p->calls, call, OFF(pbx_call, all));
	hist_free(call->hist);
	free(call->linkedid);
	free(call);
	changed(p);
}

/* The call's last channel is gone. */
static void call_end(struct pbx *p, struct pbx_call *call, int64_t now, unsigned flags)
{
	if (call->hist) {
		call->hist->flags |= flags;
		deliver(p, hist_record(call, now));
	}
	call_free(p, call);
}

static void call_join(struct pbx *p, struct pbx_call *call, struct pbx_channel *ch)
{
	ch->call = call;
	list_append(&call->channels, ch, OFF(pbx_channel, in_call));
	if (!call->start || (ch->start && ch->start < call->start))
		call->start = ch->start;
	leg_begin(p, call, ch);
	changed(p);
}

static void call_leave(struct pbx *p, struct pbx_channel *ch, int64_t now, int cause,
		       const char *cause_txt, unsigned leg_flags, unsigned rec_flags)
{
	struct pbx_call *call = ch->call;

	if (!call)
		return;
	leg_end(p, call, ch, now, cause, cause_txt, leg_flags);
	list_remove(&call->channels, ch, OFF(pbx_channel, in_call));
	ch->call = NULL;
	changed(p);
	if (!call->channels.n)
		call_end(p, call, now, rec_flags);
}

static int is_local_half(const char *name, char half)
{
	size_t n = strlen(name);

	return !strncmp(name, "Local/", 6) && n > 8 && name[n - 2] == ';' && name[n - 1] == half;
}

/* The Linkedid whose call ch belongs to: a Local ;2 goes with its ;1. */
static const char *home_of(const struct pbx_channel *ch)
{
	if (ch->local_peer && is_local_half(ch->name, '2') && *ch->local_peer->linkedid)
		return ch->local_peer->linkedid;
	return *ch->linkedid ? ch->linkedid : NULL;
}

/* Puts ch in the call it belongs to now. */
static void rehome(struct pbx *p, struct pbx_channel *ch, int64_t now)
{
	const char *home = home_of(ch);

	if (ch->call && home && !strcmp(ch->call->linkedid, home))
		return;
	if (ch->call)
		call_leave(p, ch, now, -1, NULL, PBX_LEG_MOVED, 0);
	if (home)
		call_join(p, call_get(p, home), ch);
	if (ch->local_peer && is_local_half(ch->name, '1'))
		if (ch->local_peer->call && home && strcmp(ch->local_peer->call->linkedid, home))
			rehome(p, ch->local_peer, now);
}

/* ---------- channels ---------- */

static void link_local(struct pbx *p, struct pbx_channel *a, struct pbx_channel *b, int64_t now)
{
	struct pbx_history *h;

	if (a == b || a->local_peer == b)
		return;
	if (a->local_peer)
		a->local_peer->local_peer = NULL;
	if (b->local_peer)
		b->local_peer->local_peer = NULL;
	a->local_peer = b;
	b->local_peer = a;
	rehome(p, is_local_half(a->name, '2') ? a : b, now);
	if (a->call && a->call == b->call && (h = a->call->hist) && a->leg >= 0 && b->leg >= 0) {
		h->legs[a->leg].peer = b->leg;
		h->legs[b->leg].peer = a->leg;
	}
}

/* A Local half finds the other by name (list items carry no LocalBridge). */
static void pair_by_name(struct pbx *p, struct pbx_channel *ch, int64_t now)
{
	char other[PBX_MAX_STR + 1];
	struct pbx_channel *peer;
	size_t n;

	if (ch->local_peer || !(is_local_half(ch->name, '1') || is_local_half(ch->name, '2')))
		return;
	n = strlen(ch->name);
	memcpy(other, ch->name, n + 1);
	other[n - 1] = other[n - 1] == '1' ? '2' : '1';
	peer = map_get(&p->chan_name, other, hash_bytes(other, n));
	if (peer)
		link_local(p, ch, peer, now);
}

/* Names index every channel, even two with one name (a masquerade's
 * moment): the map keeps both, and a lookup finds one of them. */
static void name_index(struct pbx *p, struct pbx_channel *ch)
{
	if (*ch->name)
		map_put(&p->chan_name, ch, hash_bytes(ch->name, strlen(ch->name)));
}

static void name_unindex(struct pbx *p, struct pbx_channel *ch)
{
	if (*ch->name)
		map_del(&p->chan_name, ch, hash_bytes(ch->name, strlen(ch->name)));
}

static struct pbx_channel *chan_new(struct pbx *p, const char *uniqueid, int64_t now)
{
	struct pbx_channel *ch = xcalloc(1, sizeof *ch);
	char **strs[] = { &ch->linkedid, &ch->name, &ch->state_desc, &ch->cid_num, &ch->cid_name,
			  &ch->conn_num, &ch->conn_name, &ch->account, &ch->context, &ch->exten,
			  &ch->app, &ch->app_data };

	for (size_t i = 0; i < ARRAY_LEN(strs); i++)
		*strs[i] = empty_str;
	ch->uniqueid = xstrdup(uniqueid);
	ch->state = -1;
	ch->start = now;
	ch->leg = -1;
	ch->seq = ++p->seq;
	map_put(&p->chan_id, ch, hash_bytes(uniqueid, strlen(uniqueid)));
	list_append(&p->channels, ch, OFF(pbx_channel, all));
	changed(p);
	return ch;
}

static void bridge_leave(struct pbx *p, struct pbx_channel *ch)
{
	if (ch->bridge) {
		list_remove(&ch->bridge->members, ch, OFF(pbx_channel, in_bridge));
		ch->bridge = NULL;
		changed(p);
	}
}

static void bridge_enter(struct pbx *p, struct pbx_channel *ch, struct pbx_bridge *b)
{
	if (ch->bridge == b)
		return;
	bridge_leave(p, ch);
	ch->bridge = b;
	list_append(&b->members, ch, OFF(pbx_channel, in_bridge));
	changed(p);
}

static void conf_leave(struct pbx *p, struct pbx_channel *ch)
{
	if (ch->conf) {
		list_remove(&ch->conf->members, ch, OFF(pbx_channel, in_conf));
		ch->conf = NULL;
		ch->conf_flags = 0;
		changed(p);
	}
}

/* Leaves its queue; those behind it move up. */
static void queue_leave(struct pbx *p, struct pbx_channel *ch)
{
	struct pbx_channel *c;

	if (!ch->queue)
		return;
	for (c = ch->in_queue.next; c; c = c->in_queue.next)
		if (c->queue_pos > ch->queue_pos)
			c->queue_pos--;
	list_remove(&ch->queue->callers, ch, OFF(pbx_channel, in_queue));
	ch->queue = NULL;
	p->ncallers--;
	changed(p);
}

/* A channel is gone: hung up (leg flags ENDED), or not listed again (LOST). */
static void chan_gone(struct pbx *p, struct pbx_channel *ch, int64_t now, int cause,
		      const char *cause_txt, unsigned leg_flags, unsigned rec_flags)
{
	char **strs[] = { &ch->linkedid, &ch->name, &ch->state_desc, &ch->cid_num, &ch->cid_name,
			  &ch->conn_num, &ch->conn_name, &ch->account, &ch->context, &ch->exten,
			  &ch->app, &ch->app_data };
	struct pbx_channel *peer = ch->local_peer;

	bridge_leave(p, ch);
	conf_leave(p, ch);
	queue_leave(p, ch);
	if (peer)
		peer->local_peer = NULL;
	name_unindex(p, ch);
	map_del(&p->chan_id, ch, hash_bytes(ch->uniqueid, strlen(ch->uniqueid)));
	list_remove(&p->channels, ch, OFF(pbx_channel, all));
	/* last: a record delivered now finds the model without ch */
	call_leave(p, ch, now, cause, cause_txt, leg_flags, rec_flags);
	for (size_t i = 0; i < ARRAY_LEN(strs); i++)
		str_free(*strs[i]);
	free(ch->uniqueid);
	free(ch);
	/* A resync after Asterisk restarted: it numbers Local channels from 1
	 * again, so a new half may have been paired by name with a gone one.
	 * Now that that one has left the name index, the half finds its twin. */
	if (peer)
		pair_by_name(p, peer, now);
	changed(p);
}

static void set_state(struct pbx *p, struct ctx *c, struct pbx_channel *ch, const char *s)
{
	int state = inum(s, -1);

	if (!s || state == ch->state)
		return;
	/* An answer time only when we see it happen: a list item or a first
	 * sight in state Up says nothing about when. */
	if (state == 6 && !ch->answer && (c->ev == E_NEWSTATE || (ch->state >= 0 && !c->req)))
		ch->answer = c->now;
	ch->state = state;
	changed(p);
}

static void set_name(struct pbx *p, struct pbx_channel *ch, const char *name, int64_t now)
{
	char buf[PBX_MAX_STR + 1];

	if (!name || !strcmp(ch->name, key_form(name, buf)))
		return;
	name_unindex(p, ch);
	set_str(p, &ch->name, name);
	name_index(p, ch);
	pair_by_name(p, ch, now);
}

/* Applies the snapshot fields present under prefix px. */
static void apply_snapshot(struct pbx *p, struct ctx *c, struct pbx_channel *ch, int px)
{
	const char **v = c->v;
	char buf[PBX_MAX_STR + 1];
	const char *lid = v[SK(px, F_LINKEDID)];

	set_state(p, c, ch, v[SK(px, F_STATE)]);
	set_str(p, &ch->state_desc, v[SK(px, F_STATEDESC)]);
	set_id(p, c, &ch->cid_num, v[SK(px, F_CIDNUM)]);
	set_id(p, c, &ch->cid_name, v[SK(px, F_CIDNAME)]);
	set_id(p, c, &ch->conn_num, v[SK(px, F_CONNNUM)]);
	set_id(p, c, &ch->conn_name, v[SK(px, F_CONNNAME)]);
	set_str(p, &ch->account, v[SK(px, F_ACCOUNT)]);
	set_str(p, &ch->context, v[SK(px, F_CONTEXT)]);
	set_str(p, &ch->exten, v[SK(px, F_EXTEN)]);
	set_num(p, &ch->priority, v[SK(px, F_PRIORITY)]);
	/* after the fields: pairing a Local half by name may begin its leg */
	set_name(p, ch, v[SK(px, F_CHANNEL)], c->now);
	if (real_id(lid) && strcmp(ch->linkedid, key_form(lid, buf))) {
		set_str(p, &ch->linkedid, lid);
		rehome(p, ch, c->now);
	}
	ch->mark = p->sync.epoch;
}

/* The channel a snapshot under prefix px names, updated; made when
 * missing if create (and it has a name and has not hung up). */
static struct pbx_channel *chan_touch(struct pbx *p, struct ctx *c, int px, int create)
{
	const char *raw = c->v[SK(px, F_UNIQUEID)];
	char buf[PBX_MAX_STR + 1];
	struct pbx_channel *ch;
	const char *id;

	if (!real_id(raw))
		return NULL;
	id = key_form(raw, buf);
	ch = map_get(&p->chan_id, id, hash_bytes(id, strlen(id)));
	if (!ch) {
		if (!create || !c->v[SK(px, F_CHANNEL)])
			return NULL;
		if (tomb_has(p, TOMB_CHANNEL, id)) {
			if (c->ev != E_NEWCHANNEL) {
				p->stats.stale++;
				return NULL;
			}
			tomb_del(p, TOMB_CHANNEL, id);   /* a ChannelId used again */
		}
		if (p->channels.n >= p->lim.channels) {
			p->stats.refused++;
			return NULL;
		}
		ch = chan_new(p, id, c->now);
		if (c->req)
			p->sync.added[PBX_KIND_CHANNEL]++;
	}
	apply_snapshot(p, c, ch, px);
	if (!ch->call)
		rehome(p, ch, c->now);
	return ch;
}

/* ---------- bridges ---------- */

static struct pbx_bridge *bridge_find(const struct pbx *p, const char *id)
{
	return map_get(&p->bridge_id, id, hash_bytes(id, strlen(id)));
}

static struct pbx_bridge *bridge_new(struct pbx *p, struct ctx *c, const char *id)
{
	struct pbx_bridge *b;

	if (p->bridges.n >= p->lim.others) {
		p->stats.refused++;
		return NULL;
	}
	b = xcalloc(1, sizeof *b);
	b->id = xstrdup(id);
	b->type = b->technology = b->creator = b->name = empty_str;
	b->created = c->now;
	b->seq = ++p->seq;
	map_put(&p->bridge_id, b, hash_bytes(id, strlen(id)));
	list_append(&p->bridges, b, OFF(pbx_bridge, all));
	if (c->req)
		p->sync.added[PBX_KIND_BRIDGE]++;
	changed(p);
	return b;
}

static void bridge_free(struct pbx *p, struct pbx_bridge *b)
{
	while (b->members.first)
		bridge_leave(p, b->members.first);
	map_del(&p->bridge_id, b, hash_bytes(b->id, strlen(b->id)));
	list_remove(&p->bridges, b, OFF(pbx_bridge, all));
	str_free(b->type);
	str_free(b->technology);
	str_free(b->creator);
	str_free(b->name);
	free(b->id);
	free(b);
	changed(p);
}

/* The bridge named by id (raw), made if missing and create. */
static struct pbx_bridge *bridge_get(struct pbx *p, struct ctx *c, const char *raw, int create)
{
	char buf[PBX_MAX_STR + 1];
	struct pbx_bridge *b;
	const char *id;

	if (!raw || !*raw)
		return NULL;
	id = key_form(raw, buf);
	if ((b = bridge_find(p, id)))
		return b;
	if (!create)
		return NULL;
	if (tomb_has(p, TOMB_BRIDGE, id)) {
		p->stats.stale++;
		return NULL;
	}
	return bridge_new(p, c, id);
}

/* The bridge of a Bridge* event or list item, with its fields. */
static struct pbx_bridge *bridge_touch(struct pbx *p, struct ctx *c, int create)
{
	struct pbx_bridge *b = bridge_get(p, c, c->v[K_BRIDGE_UNIQUEID], create);

	if (!b)
		return NULL;
	set_str(p, &b->type, c->v[K_BRIDGE_TYPE]);
	set_str(p, &b->technology, c->v[K_BRIDGE_TECH]);
	set_id(p, c, &b->creator, c->v[K_BRIDGE_CREATOR]);
	set_id(p, c, &b->name, c->v[K_BRIDGE_NAME]);
	set_num(p, &b->nchannels, c->v[K_BRIDGE_NUMCHANNELS]);
	b->mark = p->sync.epoch;
	return b;
}

/* ---------- conferences ---------- */

static struct pbx_conf *conf_find(const struct pbx *p, const char *name)
{
	return map_get(&p->conf_name, name, hash_bytes(name, strlen(name)));
}

static struct pbx_conf *conf_touch(struct pbx *p, struct ctx *c, int create)
{
	const char *raw = c->v[K_CONFERENCE];
	char buf[PBX_MAX_STR + 1];
	struct pbx_conf *cf;
	const char *name;

	if (!raw || !*raw)
		return NULL;
	name = key_form(raw, buf);
	if (!(cf = conf_find(p, name))) {
		if (!create)
			return NULL;
		if (p->confs.n >= p->lim.others) {
			p->stats.refused++;
			return NULL;
		}
		cf = xcalloc(1, sizeof *cf);
		cf->name = xstrdup(name);
		cf->bridge_id = empty_str;
		cf->parties = cf->marked = -1;
		cf->start = c->now;
		cf->seq = ++p->seq;
		map_put(&p->conf_name, cf, hash_bytes(name, strlen(name)));
		list_append(&p->confs, cf, OFF(pbx_conf, all));
		if (c->req)
			p->sync.added[PBX_KIND_CONF]++;
		changed(p);
	}
	set_str(p, &cf->bridge_id, c->v[K_BRIDGE_UNIQUEID]);
	cf->mark = p->sync.epoch;
	return cf;
}

static void conf_free(struct pbx *p, struct pbx_conf *cf)
{
	while (cf->members.first)
		conf_leave(p, cf->members.first);
	map_del(&p->conf_name, cf, hash_bytes(cf->name, strlen(cf->name)));
	list_remove(&p->confs, cf, OFF(pbx_conf, all));
	str_free(cf->bridge_id);
	free(cf->name);
	free(cf);
	changed(p);
}

static void conf_join(struct pbx *p, struct pbx_conf *cf, struct pbx_channel *ch, int64_t join)
{
	if (ch->conf == cf)
		return;
	conf_leave(p, ch);
	ch->conf = cf;
	ch->conf_join = join;
	list_append(&cf->members, ch, OFF(pbx_channel, in_conf));
	if (join && join < cf->start)
		cf->start = join;
	changed(p);
}

/* Member flags from the headers an event or list item has. */
static void member_flags(struct pbx *p, struct ctx *c, struct pbx_channel *ch)
{
	static const struct { int key; unsigned bit; } map[] = {
		{ K_ADMIN, PBX_MEMBER_ADMIN }, { K_MARKEDUSER, PBX_MEMBER_MARKED },
		{ K_MUTED, PBX_MEMBER_MUTED }, { K_TALKING, PBX_MEMBER_TALKING },
		{ K_WAITING, PBX_MEMBER_WAITING },
	};

	for (size_t i = 0; i < ARRAY_LEN(map); i++)
		if (c->v[map[i].key])
			set_flag(p, &ch->conf_flags, map[i].bit, yes(c->v[map[i].key]));
	ch->conf_mark = p->sync.epoch;
}

/* ---------- queues ---------- */

static struct pbx_queue *queue_find(const struct pbx *p, const char *name)
{
	return map_get(&p->queue_name, name, hash_bytes(name, strlen(name)));
}

static struct pbx_queue *queue_touch(struct pbx *p, struct ctx *c)
{
	const char *raw = c->v[K_QUEUE];
	char buf[PBX_MAX_STR + 1];
	struct pbx_queue *q;
	const char *name;

	if (!raw || !*raw)
		return NULL;
	name = key_form(raw, buf);
	if (!(q = queue_find(p, name))) {
		if (p->queues.n >= p->lim.others) {
			p->stats.refused++;
			return NULL;
		}
		q = xcalloc(1, sizeof *q);
		q->name = xstrdup(name);
		q->strategy = q->sl_perf = q->sl_perf2 = empty_str;
		q->logged_in = q->available = q->longest_hold = -1;
		q->seq = ++p->seq;
		map_put(&p->queue_name, q, hash_bytes(name, strlen(name)));
		list_append(&p->queues, q, OFF(pbx_queue, all));
		if (c->req)
			p->sync.added[PBX_KIND_QUEUE]++;
		changed(p);
	}
	q->mark = p->sync.epoch;
	return q;
}

static void member_free(struct pbx *p, struct pbx_member *m)
{
	char **strs[] = { &m->interface, &m->name, &m->state_interface, &m->membership,
			  &m->paused_reason };

	map_del(&p->member_key, m, hash_bytes(m->key, strlen(m->key)));
	list_remove(&m->queue->members, m, OFF(pbx_member, in_queue));
	p->nmembers--;
	for (size_t i = 0; i < ARRAY_LEN(strs); i++)
		str_free(*strs[i]);
	free(m->key);
	free(m);
	changed(p);
}

static void queue_free(struct pbx *p, struct pbx_queue *q)
{
	while (q->members.first)
		member_free(p, q->members.first);
	while (q->callers.first)
		queue_leave(p, q->callers.first);
	map_del(&p->queue_name, q, hash_bytes(q->name, strlen(q->name)));
	list_remove(&p->queues, q, OFF(pbx_queue, all));
	str_free(q->strategy);
	str_free(q->sl_perf);
	str_free(q->sl_perf2);
	free(q->name);
	free(q);
	changed(p);
}

/* "first\x1fsecond": the key of a member (interface, queue) or of an
 * extension (exten, context); both parts clean. */
static void join_key(char *out, const char *first, const char *second)
{
	size_t n = strlen(first);

	memcpy(out, first, n);
	out[n] = '\x1f';
	strcpy(out + n + 1, second);
}

static struct pbx_member *member_find(const struct pbx *p, const char *queue, const char *iface)
{
	char key[2 * PBX_MAX_STR + 2];

	join_key(key, iface, queue);
	return map_get(&p->member_key, key, hash_bytes(key, strlen(key)));
}

/* The member an event or list item names (Interface, or Location in
 * QueueStatus), made if missing and create. */
static struct pbx_member *member_touch(struct pbx *p, struct ctx *c, int create)
{
	const char *raw = c->v[K_INTERFACE] ? c->v[K_INTERFACE] : c->v[K_LOCATION];
	char buf[PBX_MAX_STR + 1], qbuf[PBX_MAX_STR + 1], key[2 * PBX_MAX_STR + 2];
	struct pbx_queue *q;
	struct pbx_member *m;
	const char *iface;

	if (!raw || !*raw || !c->v[K_QUEUE])
		return NULL;
	iface = key_form(raw, buf);
	if (!create)
		return member_find(p, key_form(c->v[K_QUEUE], qbuf), iface);
	if (!(q = queue_touch(p, c)))
		return NULL;
	if (!(m = member_find(p, q->name, iface))) {
		if (p->nmembers >= p->lim.others) {
			p->stats.refused++;
			return NULL;
		}
		m = xcalloc(1, sizeof *m);
		m->queue = q;
		m->interface = xstrdup(iface);
		m->name = m->state_interface = m->membership = m->paused_reason = empty_str;
		join_key(key, iface, q->name);
		m->key = xstrdup(key);
		m->seq = ++p->seq;
		map_put(&p->member_key, m, hash_bytes(key, strlen(key)));
		list_append(&q->members, m, OFF(pbx_member, in_queue));
		p->nmembers++;
		if (c->req)
			p->sync.added[PBX_KIND_MEMBER]++;
		changed(p);
	}
	m->mark = p->sync.epoch;
	return m;
}

static void member_fields(struct pbx *p, struct ctx *c, struct pbx_member *m)
{
	const char **v = c->v;

	set_str(p, &m->name, v[K_MEMBERNAME] ? v[K_MEMBERNAME] : v[K_NAME]);
	set_str(p, &m->state_interface, v[K_STATEINTERFACE]);
	set_str(p, &m->membership, v[K_MEMBERSHIP]);
	set_str(p, &m->paused_reason, v[K_PAUSEDREASON]);
	set_num(p, &m->penalty, v[K_PENALTY]);
	set_num(p, &m->calls_taken, v[K_CALLSTAKEN]);
	set_num(p, &m->in_call, v[K_INCALL]);
	set_num(p, &m->status, v[K_STATUS]);
	set_num(p, &m->paused, v[K_PAUSED]);
	set_num(p, &m->wrapuptime, v[K_WRAPUPTIME]);
	set_num(p, &m->ringinuse, v[K_RINGINUSE]);
	if (v[K_LASTCALL])
		set_i64(p, &m->last_call, num(v[K_LASTCALL], 0));
	if (v[K_LASTPAUSE])
		set_i64(p, &m->last_pause, num(v[K_LASTPAUSE], 0));
	if (v[K_LOGINTIME])
		set_i64(p, &m->login_time, num(v[K_LOGINTIME], 0));
}

/* ch waits in q at pos since join. shift: it has just joined (an event),
 * so whoever held pos and those behind move down one. */
static void queue_join(struct pbx *p, struct pbx_queue *q, struct pbx_channel *ch, int pos,
		       int64_t join, int shift)
{
	struct pbx_channel *at;

	if (ch->queue == q && ch->queue_pos == pos)
		goto marked;
	if (ch->queue)
		queue_leave(p, ch);
	if (p->ncallers >= p->lim.others) {
		p->stats.refused++;
		return;
	}
	for (at = q->callers.first; at && at->queue_pos < pos; at = at->in_queue.next)
		;
	if (at && at->queue_pos == pos && shift)
		for (struct pbx_channel *c = at; c; c = c->in_queue.next)
			c->queue_pos++;
	ch->queue = q;
	ch->queue_pos = pos;
	ch->queue_join = join;
	list_insert(&q->callers, ch, at, OFF(pbx_channel, in_queue));
	p->ncallers++;
	changed(p);
marked:
	ch->queue_mark = p->sync.epoch;
}

/* ---------- extensions and devices ---------- */

static struct pbx_extension *ext_find(const struct pbx *p, const char *context, const char *exten)
{
	char key[2 * PBX_MAX_STR + 2];

	join_key(key, exten, context);
	return map_get(&p->ext_key, key, hash_bytes(key, strlen(key)));
}

static void ext_free(struct pbx *p, struct pbx_extension *e)
{
	map_del(&p->ext_key, e, hash_bytes(e->key, strlen(e->key)));
	list_remove(&p->exts, e, OFF(pbx_extension, all));
	str_free(e->hint);
	str_free(e->status_text);
	free(e->exten);
	free(e->context);
	free(e->key);
	free(e);
	changed(p);
}

static void on_extension(struct pbx *p, struct ctx *c)
{
	char ebuf[PBX_MAX_STR + 1], cbuf[PBX_MAX_STR + 1], key[2 * PBX_MAX_STR + 2];
	const char *exten = c->v[SK(P_NONE, F_EXTEN)], *context = c->v[SK(P_NONE, F_CONTEXT)];
	struct pbx_extension *e;
	int status = inum(c->v[K_STATUS], -1);

	if (!exten || !context)
		return;
	exten = key_form(exten, ebuf);
	context = key_form(context, cbuf);
	e = ext_find(p, context, exten);
	if (status == -1 || status == -2) {     /* the hint was removed */
		if (e)
			ext_free(p, e);
		return;
	}
	if (!e) {
		if (p->exts.n >= p->lim.others) {
			p->stats.refused++;
			return;
		}
		e = xcalloc(1, sizeof *e);
		e->exten = xstrdup(exten);
		e->context = xstrdup(context);
		e->hint = e->status_text = empty_str;
		join_key(key, exten, context);
		e->key = xstrdup(key);
		e->seq = ++p->seq;
		map_put(&p->ext_key, e, hash_bytes(key, strlen(key)));
		list_append(&p->exts, e, OFF(pbx_extension, all));
		if (c->req)
			p->sync.added[PBX_KIND_EXTENSION]++;
		changed(p);
	}
	set_str(p, &e->hint, c->v[K_HINT]);
	set_int(p, &e->status, status);
	set_str(p, &e->status_text, c->v[K_STATUSTEXT]);
	e->mark = p->sync.epoch;
}

static struct pbx_device *device_find(const struct pbx *p, const char *name)
{
	return map_get(&p->device_name, name, hash_bytes(name, strlen(name)));
}

static void device_free(struct pbx *p, struct pbx_device *d)
{
	map_del(&p->device_name, d, hash_bytes(d->name, strlen(d->name)));
	list_remove(&p->devices, d, OFF(pbx_device, all));
	str_free(d->state);
	free(d->name);
	free(d);
	changed(p);
}

/* Devices come and go with every Local channel's target: at the limit the
 * one changed longest ago makes room (the list runs from least to most
 * recently changed), so a new real device is never refused. */
static void on_device(struct pbx *p, struct ctx *c)
{
	char buf[PBX_MAX_STR + 1];
	const char *name = c->v[K_DEVICE];
	struct pbx_device *d;
	uint64_t before = p->changes;

	if (!name || !*name)
		return;
	name = key_form(name, buf);
	if (!(d = device_find(p, name))) {
		if (!p->lim.others)
			return;
		if (p->devices.n >= p->lim.others) {
			device_free(p, p->devices.first);
			p->stats.evicted++;
		}
		d = xcalloc(1, sizeof *d);
		d->name = xstrdup(name);
		d->state = empty_str;
		d->seq = ++p->seq;
		map_put(&p->device_name, d, hash_bytes(name, strlen(name)));
		list_append(&p->devices, d, OFF(pbx_device, all));
		if (c->req)
			p->sync.added[PBX_KIND_DEVICE]++;
		changed(p);
	}
	set_str(p, &d->state, c->v[K_STATE]);
	if (p->changes != before && d != p->devices.last) {
		list_remove(&p->devices, d, OFF(pbx_device, all));
		list_append(&p->devices, d, OFF(pbx_device, all));
	}
	d->mark = p->sync.epoch;
}

/* ---------- event handlers ---------- */

static void on_newchannel(struct pbx *p, struct ctx *c)
{
	struct pbx_channel *ch = chan_touch(p, c, P_NONE, 1);
	struct pbx_history *h;

	if (!ch || (ch->flags & PBX_CH_BORN))
		return;
	ch->flags |= PBX_CH_BORN;
	/* Seen first through another event: that sighting is the better start. */
	if (ch->call && (h = ch->call->hist) && ch->leg >= 0)
		h->legs[ch->leg].flags |= PBX_LEG_BORN;
}

static void on_hangup(struct pbx *p, struct ctx *c)
{
	const char *raw = c->v[SK(P_NONE, F_UNIQUEID)];
	char buf[PBX_MAX_STR + 1], txt[PBX_MAX_STR + 1];
	struct pbx_channel *ch = chan_touch(p, c, P_NONE, 0);

	if (!real_id(raw))
		return;
	if (ch) {
		if (c->v[K_CAUSE_TXT])
			clean_into(txt, c->v[K_CAUSE_TXT]);
		chan_gone(p, ch, c->now, inum(c->v[K_CAUSE], -1), c->v[K_CAUSE_TXT] ? txt : NULL,
			  PBX_LEG_ENDED, 0);
	}
	tomb_add(p, TOMB_CHANNEL, key_form(raw, buf));
}

static void on_newexten(struct pbx *p, struct ctx *c)
{
	struct pbx_channel *ch = chan_touch(p, c, P_NONE, 1);
	const char *app = c->v[K_APPLICATION], *data = c->v[K_APPDATA];
	uint64_t before;

	if (!ch || !app)
		return;
	before = p->changes;
	set_str(p, &ch->app, app);
	set_str(p, &ch->app_data, data ? data : "");
	if (p->changes != before)
		step(p, ch->call, PBX_STEP_APP, ch, NULL, c->now, ch->app, ch->app_data, NULL, 0, 0);
}

static void on_dial(struct pbx *p, struct ctx *c)
{
	struct pbx_channel *caller = chan_touch(p, c, P_NONE, 1);
	struct pbx_channel *dest = chan_touch(p, c, P_DEST, 1);

	if (c->ev == E_DIALBEGIN) {
		if (dest)
			set_flag(p, &dest->flags, PBX_CH_DIALED, 1);
		step2(p, PBX_STEP_DIAL_BEGIN, caller, dest, c->now, c->v[K_DIALSTRING], NULL, NULL,
		      0, 0);
	} else {
		step2(p, PBX_STEP_DIAL_END, caller, dest, c->now, c->v[K_DIALSTATUS], NULL, NULL, 0, 0);
	}
}

static void on_localbridge(struct pbx *p, struct ctx *c)
{
	struct pbx_channel *one = chan_touch(p, c, P_LOCALONE, 1);
	struct pbx_channel *two = chan_touch(p, c, P_LOCALTWO, 1);

	if (one && two)
		link_local(p, one, two, c->now);
}

static void on_bridge(struct pbx *p, struct ctx *c)
{
	struct pbx_bridge *b;
	struct pbx_channel *ch;

	switch (c->ev) {
	case E_BRIDGECREATE:
	case E_BRIDGELISTITEM:
		bridge_touch(p, c, 1);
		break;
	case E_BRIDGEINFOCOMPLETE:
		bridge_touch(p, c, 0);
		break;
	case E_BRIDGEENTER:
		b = bridge_touch(p, c, 1);
		ch = chan_touch(p, c, P_NONE, 1);
		if (b && ch && ch->bridge != b) {
			bridge_enter(p, ch, b);
			step(p, ch->call, PBX_STEP_BRIDGE_ENTER, ch, NULL, c->now, b->id, b->type,
			     b->name, 0, 0);
		}
		break;
	case E_BRIDGELEAVE:
		b = bridge_touch(p, c, 0);
		ch = chan_touch(p, c, P_NONE, 1);
		if (b && ch && ch->bridge == b) {
			bridge_leave(p, ch);
			step(p, ch->call, PBX_STEP_BRIDGE_LEAVE, ch, NULL, c->now, b->id, NULL, NULL,
			     0, 0);
		}
		break;
	case E_BRIDGEDESTROY:
		if ((b = bridge_get(p, c, c->v[K_BRIDGE_UNIQUEID], 0)))
			bridge_free(p, b);
		if (c->v[K_BRIDGE_UNIQUEID] && *c->v[K_BRIDGE_UNIQUEID]) {
			char buf[PBX_MAX_STR + 1];
			tomb_add(p, TOMB_BRIDGE, key_form(c->v[K_BRIDGE_UNIQUEID], buf));
		}
		break;
	case E_BRIDGEINFOCHANNEL:   /* the bridge is the one the request named */
		ch = chan_touch(p, c, P_NONE, 1);
		b = c->req ? bridge_get(p, c, c->req->value, 1) : NULL;
		if (ch && b)
			bridge_enter(p, ch, b);
		break;
	default:
		break;
	}
}

static void on_coreshowchannel(struct pbx *p, struct ctx *c)
{
	struct pbx_channel *ch = chan_touch(p, c, P_NONE, 1);
	const char *bridge = c->v[K_BRIDGEID];
	int64_t dur = hms_ms(c->v[K_DURATION]);

	if (!ch)
		return;
	set_str(p, &ch->app, c->v[K_APPLICATION]);
	set_str(p, &ch->app_data, c->v[K_APPLICATIONDATA]);
	if (dur >= 0 && !(ch->flags & PBX_CH_BORN)) {
		set_i64(p, &ch->start, c->now - dur);
		if (ch->call && ch->start < ch->call->start)
			ch->call->start = ch->start;
	}
	if (bridge && *bridge) {
		struct pbx_bridge *b = bridge_get(p, c, bridge, 1);
		if (b)
			bridge_enter(p, ch, b);
	} else if (bridge) {
		bridge_leave(p, ch);
	}
}

static void on_conf(struct pbx *p, struct ctx *c)
{
	struct pbx_conf *cf = conf_touch(p, c, c->ev != E_CONFEND && c->ev != E_CONFLEAVE);
	struct pbx_channel *ch;
	const char *talk = c->v[K_TALKINGSTATUS];

	if (!cf)
		return;
	switch (c->ev) {
	case E_CONFEND:
		conf_free(p, cf);
		break;
	case E_CONFJOIN:
	case E_CONFLIST:
		if (!(ch = chan_touch(p, c, P_NONE, 1)))
			break;
		if (ch->conf != cf) {
			int64_t up = c->v[K_ANSWEREDTIME] ? num(c->v[K_ANSWEREDTIME], 0) * 1000 : -1;
			if (up >= 0 && !ch->answer)
				ch->answer = c->now - up;
			conf_join(p, cf, ch, c->req ? ch->answer : c->now);
			if (!c->req)
				step(p, ch->call, PBX_STEP_CONF_JOIN, ch, NULL, c->now, cf->name, NULL,
				     NULL, yes(c->v[K_ADMIN]), 0);
		}
		member_flags(p, c, ch);
		break;
	case E_CONFLEAVE:
		if ((ch = chan_touch(p, c, P_NONE, 0)) && ch->conf == cf) {
			step(p, ch->call, PBX_STEP_CONF_LEAVE, ch, NULL, c->now, cf->name, NULL, NULL,
			     0, 0);
			conf_leave(p, ch);
		}
		break;
	case E_CONFTALKING:
	case E_CONFMUTE:
	case E_CONFUNMUTE:
		if ((ch = chan_touch(p, c, P_NONE, 0)) && ch->conf == cf) {
			if (c->ev == E_CONFTALKING)
				set_flag(p, &ch->conf_flags, PBX_MEMBER_TALKING, yes(talk));
			else
				set_flag(p, &ch->conf_flags, PBX_MEMBER_MUTED, c->ev == E_CONFMUTE);
		}
		break;
	case E_CONFLOCK:
	case E_CONFUNLOCK:
		set_flag(p, &cf->flags, PBX_CONF_LOCKED, c->ev == E_CONFLOCK);
		break;
	case E_CONFRECORD:
	case E_CONFSTOPRECORD:
		set_flag(p, &cf->flags, PBX_CONF_RECORDING, c->ev == E_CONFRECORD);
		break;
	case E_CONFLISTROOMS:
		set_num(p, &cf->parties, c->v[K_PARTIES]);
		set_num(p, &cf->marked, c->v[K_MARKED]);
		if (c->v[K_LOCKED])
			set_flag(p, &cf->flags, PBX_CONF_LOCKED, yes(c->v[K_LOCKED]));
		if (c->v[K_MUTED])
			set_flag(p, &cf->flags, PBX_CONF_MUTED, yes(c->v[K_MUTED]));
		break;
	default:
		break;
	}
}

static void on_queue_params(struct pbx *p, struct ctx *c)
{
	struct pbx_queue *q = queue_touch(p, c);
	const char **v = c->v;

	if (!q)
		return;
	if (c->ev == E_QSUMMARY) {
		set_num(p, &q->logged_in, v[K_LOGGEDIN]);
		set_num(p, &q->available, v[K_AVAILABLE]);
		set_num(p, &q->calls, v[K_CALLERS]);
		set_num(p, &q->holdtime, v[K_HOLDTIME]);
		set_num(p, &q->talktime, v[K_TALKTIME]);
		set_num(p, &q->longest_hold, v[K_LONGESTHOLDTIME]);
		return;
	}
	set_num(p, &q->max, v[K_MAX]);
	set_str(p, &q->strategy, v[K_STRATEGY]);
	set_num(p, &q->calls, v[K_CALLS]);
	set_num(p, &q->holdtime, v[K_HOLDTIME]);
	set_num(p, &q->talktime, v[K_TALKTIME]);
	set_num(p, &q->completed, v[K_COMPLETED]);
	set_num(p, &q->abandoned, v[K_ABANDONED]);
	set_num(p, &q->service_level, v[K_SERVICELEVEL]);
	set_str(p, &q->sl_perf, v[K_SLPERF]);
	set_str(p, &q->sl_perf2, v[K_SLPERF2]);
	set_num(p, &q->weight, v[K_WEIGHT]);
}

static void on_queue_member(struct pbx *p, struct ctx *c)
{
	struct pbx_member *m = member_touch(p, c, c->ev != E_QMEMBERREMOVED);

	if (!m)
		return;
	if (c->ev == E_QMEMBERREMOVED)
		member_free(p, m);
	else
		member_fields(p, c, m);
}

static void on_queue_caller(struct pbx *p, struct ctx *c)
{
	struct pbx_queue *q = queue_touch(p, c);
	struct pbx_channel *ch;
	int pos = inum(c->v[K_POSITION], 0);

	if (!q)
		return;
	if (c->ev == E_QENTRY)
		c->plain_unknown = 1;
	ch = chan_touch(p, c, P_NONE, c->ev != E_QCALLERLEAVE);
	if (c->ev != E_QENTRY)
		set_num(p, &q->calls, c->v[K_COUNT]);
	switch (c->ev) {
	case E_QENTRY:
		if (ch)
			queue_join(p, q, ch, pos, c->now - num(c->v[K_WAIT], 0) * 1000, 0);
		break;
	case E_QCALLERJOIN:
		if (ch) {
			queue_join(p, q, ch, pos, c->now, 1);
			step(p, ch->call, PBX_STEP_QUEUE_JOIN, ch, NULL, c->now, q->name, NULL, NULL,
			     pos, 0);
		}
		break;
	case E_QCALLERLEAVE:
		if (ch && ch->queue == q) {
			step(p, ch->call, PBX_STEP_QUEUE_LEAVE, ch, NULL, c->now, q->name, NULL, NULL,
			     ch->queue_pos, (long)(c->now - ch->queue_join));
			queue_leave(p, ch);
		}
		break;
	case E_QCALLERABANDON:
		set_int(p, &q->abandoned, q->abandoned + 1);
		if (ch)
			step(p, ch->call, PBX_STEP_QUEUE_ABANDON, ch, NULL, c->now, q->name, NULL, NULL,
			     inum(c->v[K_ORIGINALPOSITION], pos), inum(c->v[K_HOLDTIME], 0));
		break;
	default:
		break;
	}
}

static void on_agent(struct pbx *p, struct ctx *c)
{
	static const enum pbx_step_kind kinds[] = {
		[E_AGENTCALLED] = PBX_STEP_AGENT_CALLED, [E_AGENTCONNECT] = PBX_STEP_AGENT_CONNECT,
		[E_AGENTCOMPLETE] = PBX_STEP_AGENT_COMPLETE,
		[E_AGENTRINGNOANSWER] = PBX_STEP_AGENT_NOANSWER, [E_AGENTDUMP] = PBX_STEP_AGENT_DUMP,
	};
	struct pbx_queue *q = queue_touch(p, c);
	struct pbx_channel *caller = chan_touch(p, c, P_NONE, 1);
	struct pbx_channel *agent = chan_touch(p, c, P_DEST, 1);
	const char **v = c->v;
	long n1 = 0, n2 = 0;

	if (c->ev == E_AGENTCOMPLETE && q)
		set_int(p, &q->completed, q->completed + 1);
	if (c->ev == E_AGENTCONNECT)
		n1 = inum(v[K_HOLDTIME], 0), n2 = inum(v[K_RINGTIME], 0);
	else if (c->ev == E_AGENTCOMPLETE)
		n1 = inum(v[K_HOLDTIME], 0), n2 = inum(v[K_TALKTIME], 0);
	else if (c->ev == E_AGENTRINGNOANSWER)
		n2 = inum(v[K_RINGTIME], 0);
	step2(p, kinds[c->ev], caller, agent, c->now, v[K_QUEUE], v[K_MEMBERNAME],
	      c->ev == E_AGENTCOMPLETE ? v[K_REASON] : v[K_INTERFACE], n1, n2);
}

static void on_hold(struct pbx *p, struct ctx *c)
{
	struct pbx_channel *ch = chan_touch(p, c, P_NONE, 1);
	int on = c->ev == E_HOLD;

	if (!ch || !!(ch->flags & PBX_CH_HOLD) == on)
		return;
	set_flag(p, &ch->flags, PBX_CH_HOLD, on);
	step(p, ch->call, on ? PBX_STEP_HOLD : PBX_STEP_UNHOLD, ch, NULL, c->now,
	     on ? c->v[K_MUSICCLASS] : NULL, NULL, NULL, 0, 0);
}

static void on_transfer(struct pbx *p, struct ctx *c)
{
	const char **v = c->v;

	if (c->ev == E_BLINDTRANSFER) {
		struct pbx_channel *from = chan_touch(p, c, P_TRANSFERER, 1);
		struct pbx_channel *who = chan_touch(p, c, P_TRANSFEREE, 1);
		step2(p, PBX_STEP_BLIND_TRANSFER, from, who, c->now, v[K_EXTENSION],
		      v[SK(P_NONE, F_CONTEXT)], v[K_RESULT], 0, 0);
	} else {
		struct pbx_channel *first = chan_touch(p, c, P_ORIGTRANSFERER, 1);
		struct pbx_channel *second = chan_touch(p, c, P_SECONDTRANSFERER, 1);
		chan_touch(p, c, P_TRANSFEREE, 1);
		chan_touch(p, c, P_TRANSFERTARGET, 1);
		step2(p, PBX_STEP_ATTENDED_TRANSFER, first, second, c->now, v[K_DESTTYPE],
		      v[K_RESULT], v[K_DESTAPP] && *v[K_DESTAPP] ? v[K_DESTAPP] : v[K_DESTBRIDGE],
		      0, 0);
	}
}

static void handle(struct pbx *p, struct ctx *c)
{
	switch (c->ev) {
	case E_NEWCHANNEL: on_newchannel(p, c); break;
	case E_HANGUP: on_hangup(p, c); break;
	case E_NEWEXTEN: on_newexten(p, c); break;
	case E_DIALBEGIN: case E_DIALEND: on_dial(p, c); break;
	case E_LOCALBRIDGE: on_localbridge(p, c); break;
	case E_CORESHOWCHANNEL: on_coreshowchannel(p, c); break;
	case E_BRIDGECREATE: case E_BRIDGEENTER: case E_BRIDGELEAVE: case E_BRIDGEDESTROY:
	case E_BRIDGELISTITEM: case E_BRIDGEINFOCHANNEL: case E_BRIDGEINFOCOMPLETE:
		on_bridge(p, c);
		break;
	case E_CONFSTART: case E_CONFEND: case E_CONFJOIN: case E_CONFLEAVE: case E_CONFTALKING:
	case E_CONFMUTE: case E_CONFUNMUTE: case E_CONFLOCK: case E_CONFUNLOCK: case E_CONFRECORD:
	case E_CONFSTOPRECORD: case E_CONFLISTROOMS: case E_CONFLIST:
		on_conf(p, c);
		break;
	case E_QPARAMS: case E_QSUMMARY: on_queue_params(p, c); break;
	case E_QMEMBER: case E_QMEMBERADDED: case E_QMEMBERREMOVED: case E_QMEMBERSTATUS:
	case E_QMEMBERPAUSE: case E_QMEMBERPAUSED: case E_QMEMBERPENALTY: case E_QMEMBERRINGINUSE:
		on_queue_member(p, c);
		break;
	case E_QENTRY: case E_QCALLERJOIN: case E_QCALLERLEAVE: case E_QCALLERABANDON:
		on_queue_caller(p, c);
		break;
	case E_AGENTCALLED: case E_AGENTCONNECT: case E_AGENTCOMPLETE: case E_AGENTRINGNOANSWER:
	case E_AGENTDUMP:
		on_agent(p, c);
		break;
	case E_EXTSTATUS: on_extension(p, c); break;
	case E_DEVSTATE: on_device(p, c); break;
	case E_HOLD: case E_UNHOLD: on_hold(p, c); break;
	case E_BLINDTRANSFER: case E_ATTTRANSFER: on_transfer(p, c); break;
	case E_ORIGINATERESPONSE:   /* may come before the Newchannel (quirk 25): no snapshot */
		break;
	default:                    /* Newstate, NewCallerid, VarSet, ...: a snapshot */
		chan_touch(p, c, P_NONE, 1);
		break;
	}
}

/* ---------- start-up lists ---------- */

static const struct {
	const char *action, *key, *privilege;
} lists[PBX_LIST_COUNT] = {
	[PBX_LIST_CHANNELS] = { "CoreShowChannels", NULL, "system,reporting" },
	[PBX_LIST_BRIDGES] = { "BridgeList", NULL, "" },
	[PBX_LIST_BRIDGE_INFO] = { "BridgeInfo", "BridgeUniqueid", "" },
	[PBX_LIST_CONFS] = { "ConfbridgeListRooms", NULL, "reporting" },
	[PBX_LIST_CONF_MEMBERS] = { "ConfbridgeList", "Conference", "reporting" },
	[PBX_LIST_QUEUES] = { "QueueStatus", NULL, "" },
	[PBX_LIST_EXTENSIONS] = { "ExtensionStateList", NULL, "call,reporting" },
	[PBX_LIST_DEVICES] = { "DeviceStateList", NULL, "call,reporting" },
};

const char *pbx_list_action(enum pbx_list l)
{
	return (unsigned)l < PBX_LIST_COUNT ? lists[l].action : "";
}

const char *pbx_list_privilege(enum pbx_list l)
{
	return (unsigned)l < PBX_LIST_COUNT ? lists[l].privilege : "";
}

static void request(struct pbx *p, enum pbx_list list, const char *value)
{
	struct req *r;

	if (!(p->lists & 1u << list))
		return;
	if (p->nreqs == p->reqcap) {
		p->reqcap = p->reqcap ? p->reqcap * 2 : 16;
		p->reqs = xrealloc(p->reqs, p->reqcap * sizeof *p->reqs);
	}
	r = &p->reqs[p->nreqs];
	r->list = list;
	r->n = (unsigned)p->nreqs++;
	r->state = 'q';
	snprintf(r->value, sizeof r->value, "%s", value ? value : "");
	p->sync.list[list].requests++;
	if (p->sync.list[list].status == PBX_LS_UNASKED)
		p->sync.list[list].status = PBX_LS_WAITING;
	p->sync.done = 0;
}

int pbx_next_request(struct pbx *p, struct pbx_request *out)
{
	for (size_t i = 0; i < p->nreqs; i++) {
		struct req *r = &p->reqs[i];
		if (r->state != 'q')
			continue;
		r->state = 's';
		out->list = r->list;
		out->action = lists[r->list].action;
		out->key = lists[r->list].key;
		snprintf(out->value, sizeof out->value, "%s", r->value);
		snprintf(out->action_id, sizeof out->action_id, "pbx-%u-%u", p->sync.epoch, r->n);
		return 1;
	}
	return 0;
}

void pbx_request_msg(const struct pbx_request *r, struct ami_msg *act)
{
	ami_msg_add(act, "Action", r->action);
	ami_msg_add(act, "ActionID", r->action_id);
	if (r->key)
		ami_msg_add(act, r->key, r->value);
}

/* The request an ActionID names: ours, this epoch, sent and not done. */
static struct req *req_of(struct pbx *p, const char *id, int *stale)
{
	long long epoch, n;
	const char *dash;

	*stale = 0;
	if (!id || strncmp(id, "pbx-", 4) || !(dash = strchr(id + 4, '-')))
		return NULL;
	epoch = num(id + 4, -1);
	n = num(dash + 1, -1);
	if (epoch != p->sync.epoch) {
		*stale = epoch >= 0;
		return NULL;
	}
	if (n < 0 || (size_t)n >= p->nreqs || p->reqs[n].state != 's') {
		*stale = 1;
		return NULL;
	}
	return &p->reqs[n];
}

/* Removes the entries of list h (linked at link_off) whose mark (at
 * mark_off) is not this sync's: its answer did not bring them back, and
 * no event touched them since the sync began. Counted unless kind is
 * PBX_KIND_COUNT. */
static void sweep(struct pbx *p, struct pbx_head *h, size_t link_off, size_t mark_off,
		  void (*drop)(struct pbx *p, void *e), enum pbx_kind kind)
{
	for (void *e = h->first, *next; e; e = next) {
		next = LINK(e, link_off)->next;     /* drop frees e alone */
		if (*(const uint32_t *)((const char *)e + mark_off) == p->sync.epoch)
			continue;
		drop(p, e);
		if (kind < PBX_KIND_COUNT)
			p->sync.removed[kind]++;
	}
}

static void drop_channel(struct pbx *p, void *e)
{
	size_t calls = p->calls.n;

	chan_gone(p, e, p->now, -1, NULL, PBX_LEG_LOST, PBX_REC_GAP);
	p->sync.removed[PBX_KIND_CALL] += (unsigned)(calls - p->calls.n);
}

static void drop_bridge(struct pbx *p, void *e) { bridge_free(p, e); }
static void drop_conf(struct pbx *p, void *e) { conf_free(p, e); }
static void drop_conf_member(struct pbx *p, void *e) { conf_leave(p, e); }
static void drop_queue(struct pbx *p, void *e) { queue_free(p, e); }
static void drop_member(struct pbx *p, void *e) { member_free(p, e); }
static void drop_caller(struct pbx *p, void *e) { queue_leave(p, e); }
static void drop_extension(struct pbx *p, void *e) { ext_free(p, e); }
static void drop_device(struct pbx *p, void *e) { device_free(p, e); }

/* A list is complete: what it no longer has is gone. */
static void list_complete(struct pbx *p, struct req *r)
{
	struct pbx_conf *cf;

	switch (r->list) {
	case PBX_LIST_CHANNELS:
		sweep(p, &p->channels, OFF(pbx_channel, all), OFF(pbx_channel, mark), drop_channel,
		      PBX_KIND_CHANNEL);
		break;
	case PBX_LIST_BRIDGES:
		sweep(p, &p->bridges, OFF(pbx_bridge, all), OFF(pbx_bridge, mark), drop_bridge,
		      PBX_KIND_BRIDGE);
		break;
	case PBX_LIST_CONFS:
		sweep(p, &p->confs, OFF(pbx_conf, all), OFF(pbx_conf, mark), drop_conf, PBX_KIND_CONF);
		for (cf = p->confs.first; cf; cf = cf->all.next)
			request(p, PBX_LIST_CONF_MEMBERS, cf->name);
		break;
	case PBX_LIST_CONF_MEMBERS:
		if ((cf = conf_find(p, r->value)))
			sweep(p, &cf->members, OFF(pbx_channel, in_conf), OFF(pbx_channel, conf_mark),
			      drop_conf_member, PBX_KIND_COUNT);
		break;
	case PBX_LIST_QUEUES:
		sweep(p, &p->queues, OFF(pbx_queue, all), OFF(pbx_queue, mark), drop_queue,
		      PBX_KIND_QUEUE);
		for (struct pbx_queue *q = p->queues.first; q; q = q->all.next) {
			sweep(p, &q->members, OFF(pbx_member, in_queue), OFF(pbx_member, mark),
			      drop_member, PBX_KIND_MEMBER);
			sweep(p, &q->callers, OFF(pbx_channel, in_queue), OFF(pbx_channel, queue_mark),
			      drop_caller, PBX_KIND_CALLER);
		}
		break;
	case PBX_LIST_EXTENSIONS:
		sweep(p, &p->exts, OFF(pbx_extension, all), OFF(pbx_extension, mark), drop_extension,
		      PBX_KIND_EXTENSION);
		break;
	case PBX_LIST_DEVICES:
		sweep(p, &p->devices, OFF(pbx_device, all), OFF(pbx_device, mark), drop_device,
		      PBX_KIND_DEVICE);
		break;
	default:
		break;
	}
}

/* BridgeInfo per bridge once both lists are in, and only when
 * CoreShowChannels could not name the bridged channels. */
static void maybe_bridge_info(struct pbx *p)
{
	const struct pbx_sync *s = &p->sync;
	enum pbx_list_status ch = s->list[PBX_LIST_CHANNELS].status;

	if (s->list[PBX_LIST_BRIDGES].status != PBX_LS_OK || ch == PBX_LS_WAITING ||
	    ch == PBX_LS_OK || s->list[PBX_LIST_BRIDGE_INFO].requests)
		return;
	for (struct pbx_bridge *b = p->bridges.first; b; b = b->all.next)
		request(p, PBX_LIST_BRIDGE_INFO, b->id);
}

/* A request is answered: by its Complete event (PBX_LS_OK), or an error
 * (DENIED or FAILED, with the server's message). */
static void req_done(struct pbx *p, struct req *r, enum pbx_list_status status,
		     const char *message, int64_t now)
{
	struct pbx_sync *s = &p->sync;
	struct pbx_list_state *l = &s->list[r->list];

	r->state = 'd';
	l->answered++;
	if (status == PBX_LS_OK) {
		list_complete(p, r);
	} else if (l->status != PBX_LS_DENIED) {    /* the most telling error stays */
		l->status = status;
		clean_max(l->message, message, sizeof l->message - 1);
	}
	if (l->answered == l->requests && l->status == PBX_LS_WAITING)
		l->status = PBX_LS_OK;
	if (r->list == PBX_LIST_CHANNELS || r->list == PBX_LIST_BRIDGES)
		maybe_bridge_info(p);
	changed(p);
	for (size_t i = 0; i < p->nreqs; i++)
		if (p->reqs[i].state != 'd')
			return;
	s->done = 1;
	s->ended = now;
}

void pbx_request_lost(struct pbx *p, const struct pbx_request *pr, const char *why)
{
	int stale;
	struct req *r = req_of(p, pr->action_id, &stale);

	if (r)
		req_done(p, r, PBX_LS_FAILED, why ? why : "no answer", p->now);
}

/* A Response to one of our list actions. */
static void list_response(struct pbx *p, struct ctx *c)
{
	const char *resp = c->v[K_RESPONSE], *msg = c->v[K_MESSAGE];
	struct req *r = c->req;

	if (resp && !strcasecmp(resp, "Success"))
		return;     /* EventList: start; the items follow */
	if (msg && !strcmp(msg, "No active conferences.") &&
	    (r->list == PBX_LIST_CONFS || r->list == PBX_LIST_CONF_MEMBERS)) {
		/* quirk 37: not an error but an empty list, or a room that ended */
		struct pbx_conf *cf = r->list == PBX_LIST_CONF_MEMBERS ? conf_find(p, r->value) : NULL;
		if (cf)
			conf_free(p, cf);
		req_done(p, r, PBX_LS_OK, NULL, c->now);
		return;
	}
	/* a bridge gone between BridgeList and BridgeInfo */
	if (msg && r->list == PBX_LIST_BRIDGE_INFO && strstr(msg, "not found")) {
		struct pbx_bridge *b = bridge_find(p, r->value);
		if (b)
			bridge_free(p, b);
		req_done(p, r, PBX_LS_OK, NULL, c->now);
		return;
	}
	req_done(p, r, msg && contains_nocase(msg, "permission denied") ? PBX_LS_DENIED
		 : PBX_LS_FAILED, msg ? msg : resp ? resp : "no Response", c->now);
}

static int is_complete(const struct ctx *c, const char *event)
{
	size_t n = strlen(event);

	return (c->v[K_EVENTLIST] && !strcasecmp(c->v[K_EVENTLIST], "Complete")) ||
		(n >= 8 && !strcasecmp(event + n - 8, "Complete"));
}

/* ---------- feeding ---------- */

/* One pass over the headers: the first value of every name we know. */
static void scan(struct pbx *p, const struct ami_msg *m)
{
	for (size_t i = 0; i < p->nset; i++)
		p->v[p->set_keys[i]] = NULL;
	p->nset = 0;
	for (size_t i = 0; i < m->n; i++) {
		int k = nametab_find(&p->keys, ami_msg_name(m, i), m->h[i].name_len);
		if (k >= 0 && !p->v[k]) {
			p->v[k] = ami_msg_value(m, i);
			p->set_keys[p->nset++] = (uint16_t)k;
		}
	}
}

int pbx_feed(struct pbx *p, const struct ami_msg *m, int64_t now)
{
	uint64_t before = p->changes;
	struct ctx c = { .v = p->v, .now = now };
	const char *event;
	int stale, e;

	p->stats.messages++;
	p->now = now;
	pbx_rate_add(&p->rate, now, 1);
	scan(p, m);
	event = p->v[K_EVENT];
	c.req = req_of(p, p->v[K_ACTIONID], &stale);
	if (stale)
		return 0;       /* an answer to an earlier connection's request */
	if (c.req && !event) {
		list_response(p, &c);
		return p->changes != before;
	}
	if (!event)
		return 0;
	e = nametab_find(&p->events, event, strlen(event));
	c.ev = e < 0 ? E_OTHER : (enum event)e;
	if (c.req && is_complete(&c, event)) {
		if (c.ev == E_BRIDGEINFOCOMPLETE)
			handle(p, &c);
		req_done(p, c.req, PBX_LS_OK, NULL, now);
		return p->changes != before;
	}
	if (c.req) {
		p->stats.items++;
		p->sync.list[c.req->list].items++;
	} else {
		p->stats.events++;
	}
	handle(p, &c);
	return p->changes != before;
}

void pbx_sync_begin(struct pbx *p, int64_t now)
{
	static const enum pbx_list first[] = {
		PBX_LIST_CHANNELS, PBX_LIST_BRIDGES, PBX_LIST_CONFS, PBX_LIST_QUEUES,
		PBX_LIST_EXTENSIONS, PBX_LIST_DEVICES,
	};
	unsigned epoch = p->sync.epoch + 1;

	memset(&p->sync, 0, sizeof p->sync);
	p->now = now;
	p->sync.epoch = epoch;
	p->sync.resync = epoch > 1;
	p->sync.began = now;
	p->nreqs = 0;
	if (p->sync.resync)
		for (struct pbx_call *call = p->calls.first; call; call = call->all.next)
			if (call->hist) {
				call->hist->flags |= PBX_REC_GAP;
				step(p, call, PBX_STEP_GAP, NULL, NULL, now, NULL, NULL, NULL, 0, 0);
			}
	for (size_t i = 0; i < ARRAY_LEN(first); i++)
		request(p, first[i], NULL);
	if (!p->nreqs)
		p->sync.done = 1, p->sync.ended = now;
	changed(p);
}

void pbx_sync_lists(struct pbx *p, unsigned mask)
{
	p->lists = mask & PBX_LISTS_ALL;
}

const struct pbx_sync *pbx_sync_state(const struct pbx *p)
{
	return &p->sync;
}

/* ---------- reading ---------- */

const struct pbx_channel *pbx_channels(const struct pbx *p) { return p->channels.first; }
const struct pbx_call *pbx_calls(const struct pbx *p) { return p->calls.first; }
const struct pbx_bridge *pbx_bridges(const struct pbx *p) { return p->bridges.first; }
const struct pbx_conf *pbx_confs(const struct pbx *p) { return p->confs.first; }
const struct pbx_queue *pbx_queues(const struct pbx *p) { return p->queues.first; }
const struct pbx_extension *pbx_extensions(const struct pbx *p) { return p->exts.first; }
const struct pbx_device *pbx_devices(const struct pbx *p) { return p->devices.first; }
uint64_t pbx_changes(const struct pbx *p) { return p->changes; }
const struct pbx_stats *pbx_stats(const struct pbx *p) { return &p->stats; }

size_t pbx_count(const struct pbx *p, enum pbx_kind kind)
{
	switch (kind) {
	case PBX_KIND_CHANNEL: return p->channels.n;
	case PBX_KIND_CALL: return p->calls.n;
	case PBX_KIND_BRIDGE: return p->bridges.n;
	case PBX_KIND_CONF: return p->confs.n;
	case PBX_KIND_QUEUE: return p->queues.n;
	case PBX_KIND_MEMBER: return p->nmembers;
	case PBX_KIND_CALLER: return p->ncallers;
	case PBX_KIND_EXTENSION: return p->exts.n;
	case PBX_KIND_DEVICE: return p->devices.n;
	default: return 0;
	}
}

static const void *lookup(const struct map *m, const char *raw)
{
	char buf[PBX_MAX_STR + 1];
	const char *key;

	if (!raw)
		return NULL;
	key = key_form(raw, buf);
	return map_get(m, key, hash_bytes(key, strlen(key)));
}

const struct pbx_channel *pbx_channel(const struct pbx *p, const char *uniqueid)
{
	return lookup(&p->chan_id, uniqueid);
}

const struct pbx_channel *pbx_channel_named(const struct pbx *p, const char *name)
{
	return lookup(&p->chan_name, name);
}

const struct pbx_call *pbx_call(const struct pbx *p, const char *linkedid)
{
	return lookup(&p->call_id, linkedid);
}

const struct pbx_bridge *pbx_bridge(const struct pbx *p, const char *id)
{
	return lookup(&p->bridge_id, id);
}

const struct pbx_conf *pbx_conf(const struct pbx *p, const char *name)
{
	return lookup(&p->conf_name, name);
}

const struct pbx_queue *pbx_queue(const struct pbx *p, const char *name)
{
	return lookup(&p->queue_name, name);
}

const struct pbx_member *pbx_member(const struct pbx *p, const char *queue, const char *iface)
{
	char qb[PBX_MAX_STR + 1], ib[PBX_MAX_STR + 1];

	return queue && iface ? member_find(p, key_form(queue, qb), key_form(iface, ib)) : NULL;
}

const struct pbx_extension *pbx_extension(const struct pbx *p, const char *context,
					  const char *exten)
{
	char cb[PBX_MAX_STR + 1], eb[PBX_MAX_STR + 1];

	return context && exten ? ext_find(p, key_form(context, cb), key_form(exten, eb)) : NULL;
}

const struct pbx_device *pbx_device(const struct pbx *p, const char *name)
{
	return lookup(&p->device_name, name);
}

/* ---------- the call view ---------- */

static const struct pbx_channel *side_bridged(const struct pbx_channel *ch)
{
	if (ch->bridge)
		return ch;
	return ch->local_peer && ch->local_peer->bridge ? ch->local_peer : NULL;
}

static int same_side(const struct pbx_channel *a, const struct pbx_channel *b)
{
	return a == b || a->local_peer == b;
}

/* The other party: in the caller side's bridge, else the newest channel
 * dialed; a Local half is taken at its far end (the ;2 runs the dialplan). */
static const struct pbx_channel *find_callee(const struct pbx_call *c, const struct pbx_channel *caller)
{
	const struct pbx_channel *side = side_bridged(caller), *callee = NULL, *ch;

	if (side)
		for (ch = side->bridge->members.first; ch && !callee; ch = ch->in_bridge.next)
			if (!same_side(caller, ch))
				callee = ch;
	for (ch = c->channels.first; ch && !callee; ch = ch->in_call.next)
		if ((ch->flags & PBX_CH_DIALED) && !same_side(caller, ch))
			callee = ch;
	if (!callee)
		for (ch = c->channels.first; ch && !callee; ch = ch->in_call.next)
			if (!same_side(caller, ch) && (ch->state == 5 || ch->state == 6))
				callee = ch;
	return callee;
}

void pbx_call_view(const struct pbx_call *c, struct pbx_call_view *v)
{
	const struct pbx_channel *ch, *caller = NULL, *side, *runner;

	memset(v, 0, sizeof *v);
	v->call = c;
	for (ch = c->channels.first; ch; ch = ch->in_call.next) {
		if (!strcmp(ch->uniqueid, c->linkedid)) {
			caller = ch;
			break;
		}
		if (!caller || ch->start < caller->start)
			caller = ch;
	}
	v->caller = caller;
	v->start = c->start;
	v->caller_num = v->caller_name = v->callee_num = v->callee_name = v->app = v->app_data = "";
	if (!caller)
		return;
	v->callee = find_callee(c, caller);
	v->caller_num = caller->cid_num;
	v->caller_name = caller->cid_name;
	if (v->callee) {
		v->callee_num = *v->callee->cid_num ? v->callee->cid_num : caller->conn_num;
		v->callee_name = *v->callee->cid_name ? v->callee->cid_name : caller->conn_name;
	} else {
		v->callee_num = *caller->conn_num ? caller->conn_num : caller->exten;
		v->callee_name = caller->conn_name;
	}
	side = side_bridged(caller);
	v->bridge = side ? side->bridge : NULL;
	runner = is_local_half(caller->name, '1') && caller->local_peer ? caller->local_peer : caller;
	v->app = runner->app;
	v->app_data = runner->app_data;
	v->conf = caller->conf ? caller->conf : caller->local_peer ? caller->local_peer->conf : NULL;
	for (ch = c->channels.first; ch; ch = ch->in_call.next)
		if (ch->flags & PBX_CH_HOLD)
			v->state = PBX_CALL_HOLD;
	if (caller->state == 6 || (caller->local_peer && caller->local_peer->state == 6)) {
		v->answer = caller->answer;
		if (caller->local_peer && caller->local_peer->answer &&
		    (!v->answer || caller->local_peer->answer < v->answer))
			v->answer = caller->local_peer->answer;
		if (v->state != PBX_CALL_HOLD)
			v->state = PBX_CALL_UP;
	}
}

const char *pbx_call_state_name(enum pbx_call_state s)
{
	return s == PBX_CALL_UP ? "up" : s == PBX_CALL_HOLD ? "hold" : "ringing";
}

const char *pbx_ext_status_name(int status)
{
	static const struct { int status; const char *name; } names[] = {
		{ 0, "Idle" }, { 1, "InUse" }, { 2, "Busy" }, { 4, "Unavailable" }, { 8, "Ringing" },
		{ 9, "InUse&Ringing" }, { 16, "Hold" }, { 17, "InUse&Hold" },
	};

	for (size_t i = 0; i < ARRAY_LEN(names); i++)
		if (names[i].status == status)
			return names[i].name;
	return "Unknown";
}

const char *pbx_member_status_name(int status)
{
	static const char *const names[] = {
		"UNKNOWN", "NOT_INUSE", "INUSE", "BUSY", "INVALID", "UNAVAILABLE", "RINGING",
		"RINGINUSE", "ONHOLD",
	};

	return status >= 0 && (size_t)status < ARRAY_LEN(names) ? names[status] : "UNKNOWN";
}

const char *pbx_step_name(enum pbx_step_kind k)
{
	static const char *const names[PBX_STEP_KIND_COUNT] = {
		"app", "dial_begin", "dial_end", "bridge_enter", "bridge_leave", "conf_join",
		"conf_leave", "queue_join", "queue_leave", "queue_abandon", "agent_called",
		"agent_connect", "agent_complete", "agent_noanswer", "agent_dump",
		"blind_transfer", "attended_transfer", "hold", "unhold", "gap",
	};

	return (unsigned)k < PBX_STEP_KIND_COUNT ? names[k] : "";
}

/* ---------- sorted views ---------- */

struct sortrec {
	const void *e;
	uint64_t seq;
	int64_t age;
	long state;
	const char *name;
	enum pbx_sort key;          /* the same in every record: qsort has no argument */
	int desc;
};

/* Strings with digit runs compared as numbers, letters case-folded. */
static int natural_cmp(const char *a, const char *b)
{
	while (*a && *b) {
		if (*a >= '0' && *a <= '9' && *b >= '0' && *b <= '9') {
			const char *x = a, *y = b;
			size_t nx, ny;
			while (*x == '0') x++;
			while (*y == '0') y++;
			for (nx = 0; x[nx] >= '0' && x[nx] <= '9'; nx++) ;
			for (ny = 0; y[ny] >= '0' && y[ny] <= '9'; ny++) ;
			if (nx != ny)
				return nx < ny ? -1 : 1;
			int d = memcmp(x, y, nx);
			if (d)
				return d;
			a = x + nx, b = y + ny;
			continue;
		}
		int ca = (unsigned char)*a, cb = (unsigned char)*b;
		if (ca >= 'A' && ca <= 'Z') ca |= 0x20;
		if (cb >= 'A' && cb <= 'Z') cb |= 0x20;
		if (ca != cb)
			return ca < cb ? -1 : 1;
		a++, b++;
	}
	return *a ? 1 : *b ? -1 : 0;
}

static int sortrec_cmp(const void *x, const void *y)
{
	const struct sortrec *a = x, *b = y;
	int d = 0;

	if (a->key == PBX_SORT_NAME)
		d = natural_cmp(a->name, b->name);
	else if (a->key == PBX_SORT_STATE)
		d = (a->state > b->state) - (a->state < b->state);
	else
		d = (a->age > b->age) - (a->age < b->age);
	if (a->desc)
		d = -d;
	return d ? d : (a->seq > b->seq) - (a->seq < b->seq);
}

/* The sort keys of one entity, and the next one of its kind. */
static const void *sortrec_of(enum pbx_kind kind, const void *e, struct sortrec *r)
{
	r->e = e;
	switch (kind) {
	case PBX_KIND_CHANNEL: {
		const struct pbx_channel *x = e;
		r->seq = x->seq, r->age = x->start, r->state = x->state, r->name = x->name;
		return x->all.next;
	}
	case PBX_KIND_CALL: {
		const struct pbx_call *x = e;
		struct pbx_call_view v;
		pbx_call_view(x, &v);
		r->seq = x->seq, r->age = x->start, r->state = v.state;
		r->name = *v.caller_num ? v.caller_num : v.caller ? v.caller->name : "";
		return x->all.next;
	}
	case PBX_KIND_BRIDGE: {
		const struct pbx_bridge *x = e;
		r->seq = x->seq, r->age = x->created, r->state = (long)x->members.n, r->name = x->name;
		return x->all.next;
	}
	case PBX_KIND_CONF: {
		const struct pbx_conf *x = e;
		r->seq = x->seq, r->age = x->start, r->state = (long)x->members.n, r->name = x->name;
		return x->all.next;
	}
	case PBX_KIND_QUEUE: {
		const struct pbx_queue *x = e;
		r->seq = x->seq, r->age = (int64_t)x->seq, r->state = x->calls, r->name = x->name;
		return x->all.next;
	}
	case PBX_KIND_EXTENSION: {
		const struct pbx_extension *x = e;
		r->seq = x->seq, r->age = (int64_t)x->seq, r->state = x->status, r->name = x->exten;
		return x->all.next;
	}
	default: {
		const struct pbx_device *x = e;
		r->seq = x->seq, r->age = (int64_t)x->seq, r->state = 0, r->name = x->name;
		return x->all.next;
	}
	}
}

size_t pbx_sorted(const struct pbx *p, enum pbx_kind kind, enum pbx_sort key, int descending,
		  const void **out, size_t cap)
{
	const struct pbx_head *heads[PBX_KIND_COUNT] = {
		[PBX_KIND_CHANNEL] = &p->channels, [PBX_KIND_CALL] = &p->calls,
		[PBX_KIND_BRIDGE] = &p->bridges, [PBX_KIND_CONF] = &p->confs,
		[PBX_KIND_QUEUE] = &p->queues, [PBX_KIND_EXTENSION] = &p->exts,
		[PBX_KIND_DEVICE] = &p->devices,
	};
	const struct pbx_head *h = (unsigned)kind < PBX_KIND_COUNT ? heads[kind] : NULL;
	struct sortrec *recs;
	size_t n = 0;

	if (!h || !h->n)
		return 0;
	recs = xmalloc(h->n * sizeof *recs);
	for (const void *e = h->first; e; n++) {
		recs[n].key = key;
		recs[n].desc = descending;
		e = sortrec_of(kind, e, &recs[n]);
	}
	qsort(recs, n, sizeof *recs, sortrec_cmp);
	for (size_t i = 0; i < n && i < cap; i++)
		out[i] = recs[i].e;
	free(recs);
	return n;
}

/* ---------- event rate ---------- */

void pbx_rate_add(struct pbx_rate *r, int64_t now, unsigned n)
{
	int64_t sec = now >= 0 ? now / 1000 : (now - 999) / 1000;

	if (sec > r->sec) {
		int64_t k = sec - r->sec;
		for (int64_t i = 0; i < k && i < 9; i++) {
			memmove(r->last + 1, r->last, sizeof r->last - sizeof r->last[0]);
			r->last[0] = i == 0 ? r->cur : 0;
		}
		r->sec = sec;
		r->cur = 0;
	}
	r->cur += n;    /* a clock that went back counts in the current second */
}

double pbx_rate_get(const struct pbx_rate *r, int64_t now)
{
	int64_t sec = now >= 0 ? now / 1000 : (now - 999) / 1000, gap = sec - r->sec;
	unsigned sum = 0, n = 0;

	if (gap <= 0) {
		for (n = 0; n < 5; n++)
			sum += r->last[n];
		return sum / 5.0;
	}
	/* r->sec is complete; gap - 1 empty seconds came after it */
	for (int64_t i = 0; i < 5; i++) {
		int64_t back = i - (gap - 1);    /* 0 = r->sec */
		if (back == 0)
			sum += r->cur;
		else if (back > 0 && back <= (int64_t)ARRAY_LEN(r->last))
			sum += r->last[back - 1];
	}
	return sum / 5.0;
}

double pbx_event_rate(const struct pbx *p, int64_t now)
{
	return pbx_rate_get(&p->rate, now);
}

/* ---------- finished calls ---------- */

/* History is kept while someone wants it; calls already up get one
 * marked partial, with their channels as legs. */
static void history_update(struct pbx *p)
{
	int want = p->keep || p->on_end;

	if (p->history == want)
		return;
	p->history = want;
	if (!want)
		return;
	for (struct pbx_call *call = p->calls.first; call; call = call->all.next) {
		call->hist = hist_new();
		call->hist->flags |= PBX_REC_PARTIAL;
		for (struct pbx_channel *ch = call->channels.first; ch; ch = ch->in_call.next)
			leg_begin(p, call, ch);
	}
}

void pbx_keep_finished(struct pbx *p, size_t max)
{
	struct pbx_record *r;

	while (p->done_n > max && (r = pbx_next_finished(p)))
		free(r);
	if (max) {
		struct pbx_record **done = xcalloc(max, sizeof *done);
		for (size_t i = 0; i < p->done_n; i++)
			done[i] = p->done[(p->done_head + i) % p->keep];
		free(p->done);
		p->done = done;
		p->done_head = 0;
	} else {
		free(p->done);
		p->done = NULL;
	}
	p->keep = max;
	history_update(p);
}

struct pbx_record *pbx_next_finished(struct pbx *p)
{
	struct pbx_record *r;

	if (!p->done_n)
		return NULL;
	r = p->done[p->done_head];
	p->done_head = (p->done_head + 1) % p->keep;
	p->done_n--;
	return r;
}

void pbx_record_free(struct pbx_record *r)
{
	free(r);
}

void pbx_on_call_end(struct pbx *p, void (*fn)(void *arg, const struct pbx_record *r), void *arg)
{
	p->on_end = fn;
	p->on_end_arg = arg;
	history_update(p);
}

/* Frees every entity; flush: end the calls as records first. */
static void clear(struct pbx *p, int64_t now, int flush)
{
	while (p->channels.first) {
		struct pbx_channel *ch = p->channels.first;
		if (!flush && ch->call) {
			hist_free(ch->call->hist);
			ch->call->hist = NULL;
		}
		chan_gone(p, ch, now, -1, NULL, PBX_LEG_OPEN, PBX_REC_OPEN);
	}
	while (p->calls.first)
		call_free(p, p->calls.first);
	while (p->bridges.first)
		bridge_free(p, p->bridges.first);
	while (p->confs.first)
		conf_free(p, p->confs.first);
	while (p->queues.first)
		queue_free(p, p->queues.first);
	while (p->exts.first)
		ext_free(p, p->exts.first);
	while (p->devices.first)
		device_free(p, p->devices.first);
}

void pbx_finish_all(struct pbx *p, int64_t now)
{
	clear(p, now, 1);
}

/* ---------- life ---------- */

struct pbx *pbx_new(const struct pbx_limits *lim)
{
	struct pbx *p = xcalloc(1, sizeof *p);
	char name[64];

	p->lim = lim ? *lim : pbx_default_limits;
	p->lists = PBX_LISTS_ALL;
	for (unsigned k = 0; k < K_PLAIN_COUNT; k++)
		nametab_add(&p->keys, plain_names[k], k);
	for (unsigned px = 0; px < P_COUNT; px++)
		for (unsigned f = 0; f < F_COUNT; f++) {
			snprintf(name, sizeof name, "%s%s", prefix_names[px], field_names[f]);
			nametab_add(&p->keys, name, SK(px, f));
		}
	for (unsigned e = 1; e < E_COUNT; e++)
		nametab_add(&p->events, event_names[e], e);
	p->chan_id.key_off = OFF(pbx_channel, uniqueid);
	p->chan_name.key_off = OFF(pbx_channel, name);
	p->call_id.key_off = OFF(pbx_call, linkedid);
	p->bridge_id.key_off = OFF(pbx_bridge, id);
	p->conf_name.key_off = OFF(pbx_conf, name);
	p->queue_name.key_off = OFF(pbx_queue, name);
	p->member_key.key_off = OFF(pbx_member, key);
	p->ext_key.key_off = OFF(pbx_extension, key);
	p->device_name.key_off = OFF(pbx_device, name);
	p->tombs.key_off = SIZE_MAX;
	if (p->lim.tombstones)
		p->tomb_ring = xcalloc(p->lim.tombstones, sizeof *p->tomb_ring);
	return p;
}

void pbx_free(struct pbx *p)
{
	struct pbx_record *r;

	if (!p)
		return;
	clear(p, 0, 0);
	while ((r = pbx_next_finished(p)))
		free(r);
	map_free(&p->chan_id);
	map_free(&p->chan_name);
	map_free(&p->call_id);
	map_free(&p->bridge_id);
	map_free(&p->conf_name);
	map_free(&p->queue_name);
	map_free(&p->member_key);
	map_free(&p->ext_key);
	map_free(&p->device_name);
	map_free(&p->tombs);
	nametab_free(&p->keys);
	nametab_free(&p->events);
	free(p->done);
	free(p->tomb_ring);
	free(p->reqs);
	free(p);
}
