/* ami.h - one blocking AMI session over TCP, TLS or HTTP.
 * Every call returns an RC_* code; the text of the last error is kept in
 * the handle (ami_error) for the caller to print. */
#ifndef AMI_AMI_H
#define AMI_AMI_H

#include <stdint.h>
#include "config.h"
#include "msg.h"

struct ami;

/* Connects, reads the banner and logs in. events is the Login "Events:"
 * value ("off" when the command does not want events, "on" for all, or a
 * class list). On failure *out is NULL and the message is printed. */
int ami_open(struct ami **out, const struct profile *p, const char *events);
/* Sends Logoff (bounded by a short deadline) and frees everything. */
void ami_close(struct ami *a);

/* Adds a unique ActionID (unless the message has one) and sends it.
 * The ActionID used is copied to id (at least 64 bytes) when id != NULL. */
int ami_send(struct ami *a, struct ami_msg *act, char *id);
/* Sends act and waits for the response with the same ActionID; events seen
 * meanwhile are queued for ami_next_event. RC_ACTION on Response: Error
 * (reply still filled in). */
int ami_action(struct ami *a, struct ami_msg *act, struct ami_msg *reply);
/* The second half of ami_action, for a caller that sent with ami_send and
 * kept the ActionID: waits until deadline for that response, queueing the
 * events seen meanwhile. action names it in the error text. */
int ami_await_response(struct ami *a, const char *id, const char *action,
		       struct ami_msg *reply, int64_t deadline);
/* Like ami_action with an explicit deadline (now_ms() based, -1 = none), for
 * actions Asterisk answers late, such as a synchronous Originate. */
int ami_action_until(struct ami *a, struct ami_msg *act, struct ami_msg *reply,
		     int64_t deadline);
/* Like ami_action, but calls each() for the response (also an error
 * response), then, when it says "EventList: start", for every list event up
 * to and including the ...Complete event. A non-RC_OK from each() stops. */
int ami_action_list(struct ami *a, struct ami_msg *act, struct ami_msg *reply,
		    int (*each)(const struct ami_msg *ev, void *arg), void *arg);
/* Next event (queued ones first). deadline: now_ms() value, or -1 for none;
 * 0 takes only what has arrived. RC_TIMEOUT when the deadline passes,
 * RC_CONNECT when the server closed. Over HTTP with the session's events
 * off only what has come is taken: a WaitEvent would switch them on
 * (Asterisk does that for HTTP sessions). */
int ami_next_event(struct ami *a, struct ami_msg *ev, int64_t deadline);
/* The same without a copy: the event as a view into the session's buffer,
 * valid until the next call on the session. split = 0: an event may come
 * with only its name and bytes (ev->n == 0), as a name filter or a raw copy
 * needs; ami_split splits it (see ami_parser_next_view). */
int ami_next_event_view(struct ami *a, struct ami_view *ev, int split, int64_t deadline);
void ami_split(struct ami *a, struct ami_view *ev);
/* Next message of any kind straight from the wire (no queue, no matching). */
int ami_read_msg(struct ami *a, struct ami_msg *m, int64_t deadline);

/* For event loops that multiplex: the socket to poll, and whether events
 * or bytes are already waiting (then do not wait for the socket). Over
 * HTTP there is no socket (ami_fd is -1): events come from WaitEvent
 * requests, which ami_next_event makes itself, long-polling up to its
 * deadline (deadline 0: one WaitEvent that returns what is queued at
 * once). Wait with a deadline there rather than with poll(). */
int ami_fd(const struct ami *a);
int ami_has_buffered(const struct ami *a);
/* Whether there is a socket to poll for events (0 over HTTP: they must be
 * fetched, by ami_next_event with a deadline). */
int ami_can_poll(const struct ami *a);

/* Releases what the TLS and HTTP transports initialised (libcurl), if any. */
void ami_library_cleanup(void);

const char *ami_error(const struct ami *a);
const char *ami_banner(const struct ami *a);
const char *ami_host_label(const struct ami *a);   /* "host:port" or the URL */
int ami_timeout_ms(const struct ami *a);
/* The session's events are on: asked for at login, or by the last Events
 * action sent (by anyone). Over HTTP, switching them on first drops the
 * events Asterisk kept from while they were off, and switching them off
 * first fetches those still waiting there, so ami_next_event has them
 * (done by the HTTP transport when it sends the Events action). */
int ami_events_on(const struct ami *a);
/* Sends the "Events" action to change the event mask of the session. */
int ami_set_events(struct ami *a, const char *mask);

#endif
