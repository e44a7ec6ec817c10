/* amiserver.h - the server side of AMI as Asterisk 22 answers it, I/O-free.
 *
 * A session takes the bytes a client sends (amis_feed) and answers them one
 * request at a time (amis_next), appending Asterisk's exact bytes to a
 * buffer; the caller owns the socket, the clock and the events. What it
 * reproduces from main/manager.c:
 *   - framing (get_input, do_message): lines end with CRLF or a bare LF, at
 *     most 1024 bytes with their end, at most 128 lines a request; a NUL
 *     ends a line there; the errors "Failed to parse message: line too
 *     long" and "Too many lines in message or allocation failure";
 *   - headers found like astman_get_header: the name any case, a colon
 *     right after it, blanks after the colon skipped, the first one wins;
 *   - before Login only Login, Logoff and Challenge, else "Permission
 *     denied"; "Missing action in request"; "Invalid/unknown command";
 *   - Login (plain, or MD5 with a Challenge), Logoff, Challenge, Ping,
 *     Events, Filter and ListCommands, with Asterisk's answers;
 *   - the event mask (Login's Events:, the Events action) and the session
 *     filters (legacy regex, MatchCriteria), applied by amis_wants as
 *     process_events and should_send_event do. */
#ifndef AMI_AMISERVER_H
#define AMI_AMISERVER_H

#include <stddef.h>
#include <stdint.h>
#include "util.h"

/* The greeting of Asterisk 22 (AMI version 11.0.0), sent on connect. */
#define AMIS_BANNER "Asterisk Call Manager/11.0.0\r\n"
/* A failed Login is answered after this, then the connection closes. */
#define AMIS_REJECT_DELAY_MS 1000
/* A client that has not logged in within this is disconnected (authtimeout). */
#define AMIS_AUTH_TIMEOUT_MS 30000

/* Event classes (include/asterisk/manager.h EVENT_FLAG_*). */
#define AMIS_CLASS_SYSTEM 1u

struct amis_config {
	const char *user;       /* the Username accepted (any case, as Asterisk) */
	const char *secret;     /* its secret */
	uint64_t seed;          /* for Challenge numbers */
};

enum amis_result {
	AMIS_NONE,      /* no complete request yet: feed more */
	AMIS_DONE,      /* one request answered */
	AMIS_LOGIN,     /* Login succeeded: the answer is out, events may flow */
	AMIS_REJECT,    /* Login failed: send the answer AMIS_REJECT_DELAY_MS
			 * later, then close; read nothing more */
	AMIS_CLOSE,     /* Logoff: send the answer, then close */
};

struct amis_session;

/* cfg must outlive the session. */
struct amis_session *amis_new(const struct amis_config *cfg);
void amis_free(struct amis_session *s);

/* Keeps the bytes a client sent for amis_next. */
void amis_feed(struct amis_session *s, const char *buf, size_t len);
/* Bytes fed and not yet framed into a request. */
size_t amis_unread(const struct amis_session *s);
/* Frames and answers at most one request, appending the answer to out. */
enum amis_result amis_next(struct amis_session *s, struct strbuf *out);

int amis_logged_in(const struct amis_session *s);
/* The event classes the client asked for (Login's Events:, the Events action). */
unsigned amis_event_mask(const struct amis_session *s);
/* Whether any Filter was added. */
int amis_filtering(const struct amis_session *s);

/* The class bits of an event from its Privilege value ("call,all").
 * An event without Privilege has class 0. */
unsigned amis_class_of(const char *privilege, size_t len);

/* Whether the client gets this event: its class is in the event mask and
 * the session's filters let it through. ev is the whole event as sent, its
 * blank line included; name its Event: value. A class-0 event (one without
 * Privilege, which Asterisk never sends) needs a non-zero mask, so
 * "Events: off" means no events at all. */
int amis_wants(struct amis_session *s, const char *ev, size_t len,
	       const char *name, size_t name_len, unsigned cls);

#endif
