/* callrec.h - call records: a CDR built from AMI, out of the history of a
 * finished call that the state model hands out (struct pbx_record,
 * common/state.h). I/O-free.
 *
 * The caller is the channel whose Uniqueid is the call's Linkedid (the
 * first one), taken with its Local partner as one side. The outcome comes
 * from the attempts to reach someone: Dials made by a channel of the call
 * and queues entered. The first one answered (DialEnd ANSWER, AgentConnect)
 * makes the call ANSWERED at that moment, its destination the callee; with
 * none answered, the last attempt says BUSY, NO ANSWER (NOANSWER, CANCEL,
 * a queue left) or FAILED (CHANUNAVAIL, CONGESTION, ...). A call with no
 * attempt at all (an IVR, voicemail, a conference) is ANSWERED when the
 * caller's side was, else its hangup cause decides (17 BUSY, causes of an
 * unreachable or refused destination FAILED, others NO ANSWER).
 *
 * The callee's number is its channel's caller ID, which Dial (and Queue)
 * set to the extension the Dial ran at (or the channel driver to the
 * endpoint's own caller ID): what the caller dialed. The captures show it:
 * Local/wait20 dialed from exten "dial" has CallerIDNum "dial"; a queue's
 * agent channel has the queue's extension. An agent's name is the queue
 * member's. */
#ifndef AMI_CALLREC_H
#define AMI_CALLREC_H

#include <stdint.h>

#include "state.h"

struct cJSON;

enum call_disposition { CALL_ANSWERED, CALL_NO_ANSWER, CALL_BUSY, CALL_FAILED };

struct call_party {
	int leg;                    /* index in the record's legs, -1: none */
	const char *number, *name;  /* "" when unknown */
	const char *channel;        /* its channel's name, "" */
};

struct call_summary {
	struct call_party caller, callee;
	enum call_disposition disposition;
	int64_t answer;             /* ms since the epoch; 0: not answered */
	int decided_by;             /* the step that decided the outcome, -1 */
	int cause;                  /* Hangup cause of the caller's side, -1 unknown */
	const char *cause_txt;      /* "" */
};

void call_summarize(const struct pbx_record *r, struct call_summary *s);
const char *call_disposition_name(enum call_disposition d);   /* "NO ANSWER" */
/* "gap,partial" (the record's flags as words), or "" when complete. */
const char *call_incomplete(unsigned flags, char *buf, size_t size);
/* The record as a JSON object; the caller deletes it (cJSON_Delete). */
struct cJSON *call_record_json(const struct pbx_record *r, const struct call_summary *s);
/* ms since the epoch as local ISO 8601 with milliseconds and the UTC
 * offset ("2026-12-06T02:02:07.337+01:00"), into out (at least 48 bytes). */
void call_time(int64_t ms, char *out);
/* Adds key: the time of ms as call_time writes it, or null for 0. */
void call_json_time(struct cJSON *o, const char *key, int64_t ms);
/* Adds key: the string, or null when it is empty (unknown). */
void call_json_text(struct cJSON *o, const char *key, const char *s);

#endif
