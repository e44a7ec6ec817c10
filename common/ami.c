/* ami.c - one blocking AMI session: greeting, login, actions matched to
 * their responses by ActionID, EventList aggregation, an event queue.
 *
 * Asterisk answers the actions of one session in order but interleaves
 * events freely, and an event may carry our ActionID (OriginateResponse,
 * list items). So every read goes through one loop that sorts messages:
 * the awaited response, items of the awaited list, or events to queue. */
#include "ami.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "md5.h"
#include "term_safe.h"
#include "transport.h"
#include "util.h"

#define EVENT_QUEUE_MAX 100000      /* events held while a command waits */
#define LOGOFF_WAIT_MS 2000
#define JUNK_MAX 3                  /* blocks in a row that are not AMI */

struct ami {
	struct transport *t;
	struct ami_parser *p;
	char *host_label;
	char *banner;
	int timeout_ms;
	int http;
	int events_on;
	int dead;                   /* the connection is gone: no Logoff */
	int closed;                 /* ... because the server closed it */
	int spoke_ami;              /* an event or a response has come */
	unsigned junk;              /* blocks in a row with neither */
	unsigned long seq;
	char id_prefix[40];
	struct ami_msg *queue;      /* ring buffer of queued events */
	size_t qhead, qlen, qcap;
	unsigned long qdropped;
	struct ami_msg held;        /* the queued event a view returned last */
	char err[600];
};

const char *ami_error(const struct ami *a) { return a->err; }
const char *ami_banner(const struct ami *a) { return a->banner ? a->banner : ""; }
const char *ami_host_label(const struct ami *a) { return a->host_label; }
int ami_timeout_ms(const struct ami *a) { return a->timeout_ms; }
int ami_can_poll(const struct ami *a) { return !a->http; }
int ami_events_on(const struct ami *a) { return a->events_on; }
int ami_fd(const struct ami *a) { return a->t->ops->fd(a->t); }

static void set_err(struct ami *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_err(struct ami *a, const char *fmt, ...)
{
	char buf[sizeof a->err];
	va_list ap;

	/* Callers add context to the last error ("...: %s", a->err), and
	 * vsnprintf's output must not overlap its arguments: format a copy. */
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	memcpy(a->err, buf, sizeof buf);
}

/* -vv wire trace on stderr, one write per message; secrets are masked,
 * control bytes shown (term_safe). */
static void trace_view(const char *dir, const struct ami_view *v)
{
	struct strbuf out = { 0 };

	if (verbosity < 2)
		return;
	for (size_t i = 0; i < v->n; i++) {
		const struct ami_header *h = &v->h[i];
		const char *name = v->base + h->name;
		int secret = (h->name_len == 6 && !strncasecmp(name, "Secret", 6)) ||
			     (h->name_len == 3 && !strncasecmp(name, "Key", 3));
		strbuf_adds(&out, dir);
		strbuf_adds(&out, " ");
		term_safe_buf(&out, name, h->name_len);
		if (h->name_len)
			strbuf_adds(&out, ": ");
		if (secret)
			strbuf_adds(&out, "********");
		else
			term_safe_buf(&out, v->base + h->value, h->value_len);
		strbuf_adds(&out, "\n");
	}
	strbuf_adds(&out, dir);
	strbuf_adds(&out, "\n");
	fwrite(out.p, 1, out.len, stderr);
	strbuf_free(&out);
}

static void trace_msg(const char *dir, const struct ami_msg *m)
{
	struct ami_view v;

	if (verbosity < 2)
		return;
	ami_view_of_msg(&v, m);
	trace_view(dir, &v);
}

static int64_t deadline_in(const struct ami *a)
{
	return a->timeout_ms > 0 ? now_ms() + a->timeout_ms : -1;
}

/* Reads what the transport has into the parser, waiting until deadline. */
static int fill(struct ami *a, int64_t deadline)
{
	size_t room, got;
	char *buf = ami_parser_space(a->p, &room);
	int rc = a->t->ops->recv(a->t, buf, room, &got, deadline);

	if (rc == RC_OK && got == 0) {
		a->dead = a->closed = 1;
		set_err(a, "connection closed by the server");
		return RC_CONNECT;
	}
	if (rc == RC_TIMEOUT)
		set_err(a, "timed out waiting for the server");
	else if (rc == RC_INTERRUPTED)
		set_err(a, "interrupted");
	else if (rc != RC_OK) {
		a->dead = 1;
		set_err(a, "%s", a->t->err);
	}
	if (rc == RC_OK)
		ami_parser_commit(a->p, got);
	return rc;
}

/* A block with neither Event: nor Response: is no AMI message (random
 * bytes, a chatty non-AMI service), so it is never taken for a response:
 * skipped (0), but the first block of a session or JUNK_MAX in a row mean
 * the server does not speak AMI (-1). 1: an AMI message. */
static int judge_block(struct ami *a, const struct ami_view *v)
{
	size_t len;

	if (v->event || ami_view_get(v, "Response", &len)) {
		a->spoke_ami = 1;
		a->junk = 0;
		return 1;
	}
	a->junk++;
	log_debug("skipping a block with neither Event: nor Response: (%u in a row)", a->junk);
	if (a->spoke_ami && a->junk < JUNK_MAX)
		return 0;
	a->dead = 1;
	char first[80];
	if (v->n)
		snprintf(first, sizeof first, "%.*s%s%.*s", (int)v->h[0].name_len,
			 v->base + v->h[0].name, v->h[0].name_len ? ": " : "",
			 (int)v->h[0].value_len, v->base + v->h[0].value);
	else
		first[0] = '\0';
	if (a->spoke_ami)
		set_err(a, "the server does not speak AMI: %u blocks in a row have neither Event: "
			"nor Response: (the last begins \"%.60s\")", a->junk, first);
	else
		set_err(a, "the server does not speak AMI: its first message has neither Event: "
			"nor Response: (it begins \"%.60s\")", first);
	return -1;
}

int ami_has_buffered(const struct ami *a)
{
	return a->qlen > 0 || a->t->ops->pending(a->t) || ami_parser_pending(a->p) > 0;
}

/* The next message from the server, in place: valid until the next read.
 * split = 0 lets an event come with only its name (see msg.h); every
 * other message comes split. */
static int read_view(struct ami *a, struct ami_view *v, int split, int64_t deadline)
{
	for (;;) {
		int r = ami_parser_next_view(a->p, v, split || verbosity >= 2), rc;
		if (r > 0) {
			trace_view("<<", v);
			if ((r = judge_block(a, v)) > 0)
				return RC_OK;
			if (r < 0)
				return RC_PROTOCOL;
			continue;
		}
		if (r < 0) {
			a->dead = 1;
			set_err(a, "protocol error: %s", ami_parser_error(a->p));
			return RC_PROTOCOL;
		}
		if ((rc = fill(a, deadline)) != RC_OK)
			return rc;
	}
}

int ami_read_msg(struct ami *a, struct ami_msg *m, int64_t deadline)
{
	struct ami_view v;
	int rc = read_view(a, &v, 1, deadline);

	if (rc == RC_OK)
		ami_msg_from_view(m, &v);
	return rc;
}

static void enqueue(struct ami *a, const struct ami_msg *ev)
{
	if (a->qlen == EVENT_QUEUE_MAX) {
		a->qhead = (a->qhead + 1) % a->qcap;    /* drop the oldest */
		a->qlen--;
		if (a->qdropped++ == 0)
			log_warn("more than %d events queued; dropping the oldest", EVENT_QUEUE_MAX);
	}
	if (a->qlen == a->qcap) {
		size_t ncap = a->qcap ? a->qcap * 2 : 16;
		struct ami_msg *nq = xcalloc(ncap, sizeof *nq);
		for (size_t i = 0; i < a->qlen; i++)
			nq[i] = a->queue[(a->qhead + i) % a->qcap];
		for (size_t i = a->qlen; i < ncap; i++)
			ami_msg_init(&nq[i]);
		free(a->queue);
		a->queue = nq;
		a->qcap = ncap;
		a->qhead = 0;
	}
	ami_msg_copy(&a->queue[(a->qhead + a->qlen) % a->qcap], ev);
	a->qlen++;
}

static int dequeue(struct ami *a, struct ami_msg *ev)
{
	if (a->qlen == 0)
		return 0;
	ami_msg_copy(ev, &a->queue[a->qhead]);
	a->qhead = (a->qhead + 1) % a->qcap;
	a->qlen--;
	return 1;
}

/* Whoever sends an Events action (ami_set_events, tail-events, a user's
 * own `action Events`) switches the session's events on or off: noted
 * once it is sent, for ami_next_event (over HTTP the events that came
 * before are fetched and the backlog dropped by the transport itself). */
static void note_events_action(struct ami *a, const struct ami_msg *act)
{
	const char *action = ami_msg_get(act, "Action");
	const char *mask = ami_msg_get(act, "EventMask");

	if (action && !strcasecmp(action, "Events") && mask)
		a->events_on = strcasecmp(mask, "off") != 0;
}

int ami_send(struct ami *a, struct ami_msg *act, char *id)
{
	char buf[64], errbuf[300];
	const char *have = ami_msg_get(act, "ActionID");

	if (have) {
		snprintf(buf, sizeof buf, "%s", have);
	} else {
		snprintf(buf, sizeof buf, "%s-%lu", a->id_prefix, ++a->seq);
		ami_msg_add(act, "ActionID", buf);
	}
	if (id)
		snprintf(id, 64, "%s", buf);
	if (ami_msg_check_send(act, errbuf, sizeof errbuf) != 0) {
		set_err(a, "refusing to send: %s", errbuf);
		return RC_USAGE;
	}
	if (a->dead) {
		set_err(a, "connection lost");
		return RC_CONNECT;
	}
	char *wire;
	size_t len = ami_msg_format(act, &wire);
	trace_msg(">>", act);
	int rc = a->t->ops->send(a->t, wire, len, deadline_in(a));
	secret_wipe(wire, len);     /* a Login carries the secret */
	free(wire);
	/* A send cut short (timeout, signal) may leave part of the message on
	 * the wire, and whatever we sent next (the Logoff) would be read as
	 * its continuation: this connection can take nothing more. */
	if (rc != RC_OK && rc != RC_USAGE)     /* HTTP refuses an oversized form unsent */
		a->dead = 1;
	if (rc == RC_OK)
		note_events_action(a, act);
	if (rc == RC_TIMEOUT)
		set_err(a, "timed out sending to the server (it stopped reading)");
	else if (rc != RC_OK)
		set_err(a, "%s", a->t->err[0] ? a->t->err : "send failed");
	return rc;
}

/* A response has Response: (judge_block skips blocks without it). */
static int is_response_to(const struct ami_msg *m, const char *id)
{
	const char *aid;

	if (ami_msg_is_event(m) || !ami_msg_get(m, "Response"))
		return 0;
	aid = ami_msg_get(m, "ActionID");
	/* With one action in flight, a response without ActionID (old
	 * servers) can only be ours. */
	return !aid || !strcmp(aid, id);
}

/* Waits for the response to action id; queues events seen meanwhile. */
int ami_await_response(struct ami *a, const char *id, const char *action,
		       struct ami_msg *reply, int64_t deadline)
{
	int64_t start = now_ms();

	for (;;) {
		int rc = ami_read_msg(a, reply, deadline);
		if (rc == RC_TIMEOUT)
			set_err(a, "timed out after %.1f s waiting for the response to %s",
				(now_ms() - start) / 1000.0, action);
		if (rc != RC_OK)
			return rc;
		if (is_response_to(reply, id))
			break;
		if (ami_msg_is_event(reply))
			enqueue(a, reply);
		else
			log_debug("ignoring a response that is not for %s (ActionID %s)", action,
				  ami_msg_get(reply, "ActionID"));
	}
	const char *resp = ami_msg_get(reply, "Response");
	if (resp && !strcasecmp(resp, "Error")) {
		const char *msg = ami_msg_get(reply, "Message");
		set_err(a, "%s", msg ? msg : "Asterisk answered Response: Error");
		return RC_ACTION;
	}
	return RC_OK;
}

int ami_action(struct ami *a, struct ami_msg *act, struct ami_msg *reply)
{
	return ami_action_until(a, act, reply, deadline_in(a));
}

int ami_action_until(struct ami *a, struct ami_msg *act, struct ami_msg *reply,
		     int64_t deadline)
{
	char id[64];
	const char *name = ami_msg_get(act, "Action");
	char action[128];

	snprintf(action, sizeof action, "%s", name ? name : "the action");
	int rc = ami_send(a, act, id);
	if (rc != RC_OK)
		return rc;
	return ami_await_response(a, id, action, reply, deadline);
}

static int list_started(const struct ami_msg *reply)
{
	const char *el = ami_msg_get(reply, "EventList");
	const char *msg = ami_msg_get(reply, "Message");

	if (el)
		return !strcasecmp(el, "start");
	/* Old servers announce a list only in the message text. */
	return msg && strstr(msg, "will follow");
}

static int list_ended(const struct ami_msg *ev)
{
	const char *el = ami_msg_get(ev, "EventList");
	const char *name = ami_msg_get(ev, "Event");
	size_t n;

	if (el && (!strcasecmp(el, "Complete") || !strcasecmp(el, "cancelled")))
		return 1;
	n = name ? strlen(name) : 0;
	return n >= 8 && !strcasecmp(name + n - 8, "Complete");
}

int ami_action_list(struct ami *a, struct ami_msg *act, struct ami_msg *reply,
		    int (*each)(const struct ami_msg *ev, void *arg), void *arg)
{
	char id[64];
	const char *name = ami_msg_get(act, "Action");
	char action[128];
	struct ami_msg ev;
	int rc;

	snprintf(action, sizeof action, "%s", name ? name : "the action");
	if ((rc = ami_send(a, act, id)) != RC_OK)
		return rc;
	rc = ami_await_response(a, id, action, reply, deadline_in(a));
	if (rc == RC_OK || rc == RC_ACTION) {
		int out_rc = each(reply, arg);
		if (out_rc != RC_OK)
			return out_rc;
	}
	if (rc != RC_OK || !list_started(reply))
		return rc;
	ami_msg_init(&ev);
	for (;;) {
		/* The deadline bounds the wait for each item, not the whole list. */
		rc = ami_read_msg(a, &ev, deadline_in(a));
		if (rc == RC_TIMEOUT)
			set_err(a, "timed out after %.1f s waiting for the rest of the %s list",
				a->timeout_ms / 1000.0, action);
		if (rc != RC_OK)
			break;
		const char *aid = ami_msg_get(&ev, "ActionID");
		if (!ami_msg_is_event(&ev) || !aid || strcmp(aid, id)) {
			if (ami_msg_is_event(&ev))
				enqueue(a, &ev);
			continue;
		}
		if ((rc = each(&ev, arg)) != RC_OK || list_ended(&ev))
			break;
	}
	ami_msg_free(&ev);
	return rc;
}

int ami_next_event_view(struct ami *a, struct ami_view *ev, int split, int64_t deadline)
{
	if (dequeue(a, &a->held)) {
		ami_view_of_msg(ev, &a->held);
		return RC_OK;
	}
	for (;;) {
		if (a->http && !a->events_on && !ami_has_buffered(a)) {
			set_err(a, "no event: the session's events are off");
			return RC_TIMEOUT;      /* see ami.h */
		}
		int rc = read_view(a, ev, split, deadline);
		if (rc == RC_TIMEOUT)
			set_err(a, "no event within the time limit");
		if (rc != RC_OK)
			return rc;
		if (ev->event)
			return RC_OK;
		log_debug("ignoring a response nobody waits for");
	}
}

void ami_split(struct ami *a, struct ami_view *ev)
{
	if (!ev->msg)
		ami_parser_split(a->p, ev);
}

int ami_next_event(struct ami *a, struct ami_msg *ev, int64_t deadline)
{
	struct ami_view v;
	int rc = ami_next_event_view(a, &v, 1, deadline);

	if (rc == RC_OK)
		ami_msg_from_view(ev, &v);
	return rc;
}

int ami_set_events(struct ami *a, const char *mask)
{
	struct ami_msg act, reply;
	int rc;

	ami_msg_init(&act);
	ami_msg_init(&reply);
	ami_msg_add(&act, "Action", "Events");
	ami_msg_add(&act, "EventMask", mask);
	rc = ami_action(a, &act, &reply);
	ami_msg_free(&act);
	ami_msg_free(&reply);
	return rc;
}

/* Reads the one-line greeting; anything but an AMI banner is not AMI. An
 * event that came in the same read is kept for later. */
static int read_banner(struct ami *a, int64_t deadline)
{
	struct ami_view v;
	int rc = RC_OK;

	while (!ami_parser_banner(a->p)) {
		int r = ami_parser_next_view(a->p, &v, 1);
		if (r < 0) {
			set_err(a, "protocol error: %s", ami_parser_error(a->p));
			rc = RC_PROTOCOL;
			break;
		}
		if (r > 0 && (r = judge_block(a, &v)) < 0) {
			rc = RC_PROTOCOL;
			break;
		}
		if (r > 0 && v.event) {
			ami_msg_from_view(&a->held, &v);
			enqueue(a, &a->held);
		}
		if (ami_parser_banner(a->p))
			break;
		rc = fill(a, deadline);
		if (rc == RC_TIMEOUT)
			set_err(a, "timed out waiting for the AMI greeting from %s", a->host_label);
		else if (rc == RC_CONNECT && a->closed)
			set_err(a, "%s closed the connection before its greeting "
				"(not AMI, or too many unauthenticated sessions)", a->host_label);
		if (rc != RC_OK)
			break;
	}
	if (rc != RC_OK)
		return rc;
	a->banner = xstrdup(ami_parser_banner(a->p));
	if (!strstr(a->banner, "Call Manager")) {
		set_err(a, "%s is not an AMI server; it greeted with \"%.60s\"", a->host_label,
			a->banner);
		return RC_PROTOCOL;
	}
	log_info("server greeting: %s", a->banner);
	return RC_OK;
}

/* MD5 login: Key = lower-case hex md5(challenge + secret). */
static int md5_key(struct ami *a, const struct profile *p, char key[33])
{
	struct ami_msg act, reply;
	int rc;

	ami_msg_init(&act);
	ami_msg_init(&reply);
	ami_msg_add(&act, "Action", "Challenge");
	ami_msg_add(&act, "AuthType", "MD5");
	rc = ami_action(a, &act, &reply);
	const char *challenge = ami_msg_get(&reply, "Challenge");
	if (rc == RC_ACTION) {
		set_err(a, "the server refused the MD5 challenge: %s", a->err);
		rc = RC_AUTH;
	} else if (rc == RC_OK && (!challenge || !*challenge)) {
		set_err(a, "the server sent no Challenge for MD5 login");
		rc = RC_PROTOCOL;
	}
	if (rc == RC_OK)
		md5_challenge_key(challenge, p->secret, key);
	ami_msg_free(&act);
	ami_msg_free(&reply);
	return rc;
}

static int login(struct ami *a, const struct profile *p, const char *events)
{
	struct ami_msg act, reply;
	char key[33];
	int rc = RC_OK;

	if (p->auth == AUTH_MD5 && (rc = md5_key(a, p, key)) != RC_OK)
		return rc;
	ami_msg_init(&act);
	ami_msg_init(&reply);
	ami_msg_add(&act, "Action", "Login");
	ami_msg_add(&act, "Username", p->username);
	if (p->auth == AUTH_MD5) {
		ami_msg_add(&act, "AuthType", "MD5");
		ami_msg_add(&act, "Key", key);
		secret_wipe(key, sizeof key);
	} else {
		ami_msg_add(&act, "Secret", p->secret ? p->secret : "");
	}
	ami_msg_add(&act, "Events", events);
	rc = ami_action(a, &act, &reply);
	secret_wipe(act.arena, act.cap);
	const char *resp = ami_msg_get(&reply, "Response");
	if (rc == RC_OK && strcasecmp(resp, "Success")) {
		/* Only Success logs in: anything else is no answer to a Login. */
		set_err(a, "%s answered Login with \"Response: %.60s\", neither Success nor Error: "
			"the server does not speak AMI correctly", a->host_label, resp);
		rc = RC_PROTOCOL;
	} else if (rc == RC_ACTION) {
		set_err(a, "authentication failed for user \"%s\" on %s: %s", p->username,
			a->host_label, a->err);
		rc = RC_AUTH;
	} else if (rc == RC_CONNECT && a->http) {
		/* HTTP has no connection to lose: the transport's reason says it all. */
	} else if (rc == RC_CONNECT && a->closed) {
		set_err(a, "%s closed the connection during login", a->host_label);
	} else if (rc == RC_CONNECT) {
		/* Not a plain close (e.g. a reset): keep the reason. */
		set_err(a, "login to %s failed: %s", a->host_label, a->err);
	}
	ami_msg_free(&act);
	ami_msg_free(&reply);
	return rc;
}

static int open_transport(struct ami *a, const struct profile *p, int64_t deadline)
{
	switch (p->transport) {
	case TR_TLS:
		return tls_open(&a->t, p, deadline, a->err, sizeof a->err);
	case TR_HTTP:
	case TR_HTTPS:
		a->http = 1;
		return http_open(&a->t, p, deadline, a->err, sizeof a->err);
	default:
		return tcp_open(&a->t, p->host, p->port, deadline, a->err, sizeof a->err);
	}
}

static int digest_events(struct ami *a, const char *events)
{
	int rc = ami_set_events(a, events);

	if (rc == RC_ACTION)
		set_err(a, "the server refused the event classes \"%s\": %s", events, a->err);
	return rc;
}

int ami_open(struct ami **out, const struct profile *p, const char *events)
{
	struct ami *a = xcalloc(1, sizeof *a);
	int64_t start = now_ms();
	int rc;

	*out = NULL;
	a->timeout_ms = p->timeout_ms;
	a->host_label = (p->transport == TR_HTTP || p->transport == TR_HTTPS) && p->url
		? xstrdup(p->url) : xasprintf("%s:%u", p->host, p->port);
	snprintf(a->id_prefix, sizeof a->id_prefix, "ami-%ld-%lx", (long)getpid(),
		 (unsigned long)(now_wall() * 1000) & 0xffffff);
	log_info("connecting to %s as %s (%s login, timeout %.1f s)", a->host_label,
		 p->username, p->auth == AUTH_MD5 ? "md5" : "plain", p->timeout_ms / 1000.0);
	rc = open_transport(a, p, deadline_in(a));
	if (rc == RC_OK) {
		log_info("connected in %lld ms", (long long)(now_ms() - start));
		a->p = ami_parser_new(&ami_default_limits, !a->http);
		if (!a->http)
			rc = read_banner(a, deadline_in(a));
	}
	if (rc == RC_OK && !(a->http && p->http_auth == HTTP_AUTH_DIGEST))
		rc = login(a, p, events);
	else if (rc == RC_OK && strcasecmp(events, "off") && strcasecmp(events, "on"))
		/* Digest: no Login carries the event classes. (A WaitEvent turns a
		 * session's events from none to all by itself, so "on" needs no
		 * action.) */
		rc = digest_events(a, events);
	if (rc != RC_OK) {
		a->dead = 1;
		log_error("%s", a->err);
		ami_close(a);
		return rc;
	}
	a->events_on = strcasecmp(events, "off") != 0;
	log_info("logged in as %s in %lld ms", p->username, (long long)(now_ms() - start));
	*out = a;
	return RC_OK;
}

/* Logoff is polite and lets Asterisk log a clean disconnect; it is bounded
 * by a short deadline and done even after Ctrl-C. */
static void logoff(struct ami *a)
{
	struct ami_msg act, reply;
	char id[64];

	a->t->ignore_interrupt = 1;
	int saved_timeout = a->timeout_ms;
	if (a->timeout_ms <= 0 || a->timeout_ms > LOGOFF_WAIT_MS)
		a->timeout_ms = LOGOFF_WAIT_MS;
	ami_msg_init(&act);
	ami_msg_init(&reply);
	ami_msg_add(&act, "Action", "Logoff");
	if (ami_send(a, &act, id) == RC_OK) {
		int64_t deadline = deadline_in(a);
		while (ami_read_msg(a, &reply, deadline) == RC_OK && !is_response_to(&reply, id))
			;
	}
	a->timeout_ms = saved_timeout;
	ami_msg_free(&act);
	ami_msg_free(&reply);
}

void ami_close(struct ami *a)
{
	if (!a)
		return;
	if (a->t && !a->dead)
		logoff(a);
	if (a->t)
		a->t->ops->close(a->t);
	if (a->p)
		ami_parser_free(a->p);
	for (size_t i = 0; i < a->qcap; i++)
		ami_msg_free(&a->queue[i]);
	free(a->queue);
	ami_msg_free(&a->held);
	free(a->host_label);
	free(a->banner);
	free(a);
}
