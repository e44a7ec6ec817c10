/* http.c - AMI over HTTP with libcurl (Asterisk's http.conf server).
 *
 * The session (ami.c) writes one whole AMI message per send() and reads
 * bytes with recv(), as on TCP. Here each message becomes one POST:
 *   cookie mode  /rawman or /mxml: Login, then actions carrying the
 *                mansession_id cookie (libcurl's in-memory cookie engine);
 *   digest mode  /arawman or /amxml: HTTP digest auth on every request and
 *                no Login action (ami_open sends none).
 * Parameters go in an application/x-www-form-urlencoded body, never in the
 * URL, so the secret stays out of access logs and proxies' logs. Redirects
 * are not followed: the body (with the secret) would go along.
 *
 * A POST is made lazily, by the recv() that waits for its answer, so that
 * the wait is bounded by the caller's deadline (a synchronous Originate
 * answers after the ring time) rather than by the send deadline.
 *
 * HTTP has no event stream: when recv() is called with nothing left to
 * return and no action pending, the session is waiting for events, so we
 * long-poll WaitEvent, its Timeout capped at httptimeout - 10 as Asterisk
 * itself caps it (httptimeout is the cookie's Max-Age). Its own Response
 * and the closing WaitEventComplete are dropped here so that callers see
 * only real events, as on TCP. One request at a time: never two polls in
 * flight on one session (a newer one would make Asterisk drop the older).
 *
 * Sessions expire (5 s before Login, httptimeout after the last request).
 * Asterisk then quietly makes a new, unauthenticated session with a new
 * cookie and answers "Permission denied". When that happens to a logged-in
 * session we log in again with the credentials copied at open (the secret
 * is wiped on close), restore the Events mask and the Filters, and retry
 * the action once. */
#include <curl/curl.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "md5.h"
#include "msg.h"
#include "mxml.h"
#include "transport.h"
#include "util.h"

#define DEFAULT_HTTPTIMEOUT 60      /* s, Asterisk's, until a Max-Age tells */
#define WAIT_SLACK_MS 5000          /* Asterisk looks once a second; and the network */
#define MIN_POLL_MS 1000            /* between WaitEvents that brought nothing */
#define MAX_BODY (64u << 20)
#define MAX_REPLAY 64
#define MAX_POST 40960              /* Asterisk's http.c answers 413 past this */

struct http {
	struct transport t;
	CURL *curl;
	struct curl_slist *headers;
	char *url;                  /* the endpoint: base URL + rawman|mxml|arawman|amxml */
	int digest, mxml;
	int default_ms;             /* bound for a request made with deadline 0 */
	/* Cookie mode: what logging in again needs. */
	char *user, *secret;
	int md5;
	char *events;               /* the Events mask in force */
	char *replay[MAX_REPLAY];   /* Filter actions to send again after a new login */
	size_t nreplay;
	int logged_in;
	char cookie[80];            /* mansession_id of the last response */
	char login_cookie[80];      /* ... of the session we logged in */
	int max_age;                /* the cookie's Max-Age (= httptimeout); 0 unknown */
	/* The action waiting to be POSTed. */
	struct strbuf form;
	char action[40];            /* its Action, lower case */
	char *form_events;          /* the Events/EventMask it carries, if any */
	/* AMI text not yet returned by recv. */
	struct strbuf in;
	size_t in_off;
	/* The response being received. */
	struct strbuf body;
	long status;
	char reason[80], location[200];
	unsigned long seq;
	char id_prefix[40];
	char errbuf[CURL_ERROR_SIZE];
};

/* ---------- buffers and forms ---------- */

/* application/x-www-form-urlencoded: unreserved bytes as they are, the
 * rest as %XX (CR, LF and NUL included, so nothing can break the body). */
static void put_escaped(struct strbuf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
			strbuf_add(b, (const char *)&c, 1);
		} else {
			char e[3] = { '%', hex[c >> 4], hex[c & 15] };
			strbuf_add(b, e, 3);
		}
	}
}

static void form_add(struct strbuf *f, const char *name, size_t nlen, const char *value,
		     size_t vlen)
{
	if (f->len)
		strbuf_add(f, "&", 1);
	put_escaped(f, name, nlen);
	strbuf_add(f, "=", 1);
	put_escaped(f, value, vlen);
}

static void form_set(struct strbuf *f, const char *name, const char *value)
{
	form_add(f, name, strlen(name), value, strlen(value));
}

static void next_id(struct http *h, const char *kind, char id[64])
{
	snprintf(id, 64, "%s-%s%lu", h->id_prefix, kind, ++h->seq);
}

/* ---------- libcurl callbacks ---------- */

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	struct http *h = arg;
	size_t len = size * n;

	if (h->body.len + len > MAX_BODY)
		return 0;               /* CURLE_WRITE_ERROR */
	strbuf_add(&h->body, p, len);
	return len;
}

/* The value of header "name" in the line p (NULL when it is another). */
static const char *header_value(const char *p, size_t len, const char *name, size_t *vlen)
{
	size_t n = strlen(name);

	if (len <= n || strncasecmp(p, name, n) || p[n] != ':')
		return NULL;
	p += n + 1, len -= n + 1;
	while (len && (*p == ' ' || *p == '\t'))
		p++, len--;
	while (len && (p[len - 1] == '\r' || p[len - 1] == '\n' || p[len - 1] == ' '))
		len--;
	*vlen = len;
	return p;
}

/* Copies printable bytes only: these end up in messages and logs. */
static void copy_text(char *dst, size_t cap, const char *s, size_t n)
{
	size_t o = 0;

	for (size_t i = 0; i < n && o + 1 < cap; i++)
		dst[o++] = isprint((unsigned char)s[i]) ? s[i] : '?';
	dst[o] = '\0';
}

/* Set-Cookie: mansession_id="0193dc17"; Version=1; Max-Age=60
 * Returns 0 for another cookie. */
static int note_cookie(struct http *h, const char *v, size_t n)
{
	static const char key[] = "mansession_id=";
	const size_t klen = sizeof key - 1;
	const char *semi;
	size_t len;

	if (n < klen || strncasecmp(v, key, klen))
		return 0;
	v += klen, n -= klen;
	semi = memchr(v, ';', n);
	len = semi ? (size_t)(semi - v) : n;
	if (len >= 2 && v[0] == '"' && v[len - 1] == '"')
		v++, len -= 2;
	copy_text(h->cookie, sizeof h->cookie, v, len);
	return 1;
}

static void note_max_age(struct http *h, const char *v, size_t n)
{
	for (size_t i = 0; i + 8 <= n; i++) {
		if (!strncasecmp(v + i, "Max-Age=", 8)) {
			int age = 0;    /* digits within the line: it need not end in NUL */
			for (i += 8; i < n && isdigit((unsigned char)v[i]) && age < 86400; i++)
				age = age * 10 + (v[i] - '0');
			if (age > 0 && age < 86400)
				h->max_age = age;
			return;
		}
	}
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
	struct http *h = arg;
	size_t len = size * n, vlen;
	const char *v;

	if (len > 12 && !strncmp(p, "HTTP/", 5)) {
		/* A new response (digest: the 401, then the real one). */
		const char *sp = memchr(p, ' ', len);
		h->reason[0] = h->location[0] = '\0';
		if (sp) {
			size_t off = (size_t)(sp - p) + 1;
			size_t rl = len - off;
			while (rl && (p[off + rl - 1] == '\r' || p[off + rl - 1] == '\n'))
				rl--;
			copy_text(h->reason, sizeof h->reason, p + off, rl);
		}
	} else if ((v = header_value(p, len, "Set-Cookie", &vlen))) {
		if (note_cookie(h, v, vlen))
			note_max_age(h, v, vlen);
	} else if ((v = header_value(p, len, "Location", &vlen))) {
		copy_text(h->location, sizeof h->location, v, vlen);
	}
	return len;
}

/* ---------- one request ---------- */

static const char *curl_text(const struct http *h, CURLcode cc)
{
	return curl_reason(h->curl, h->errbuf, cc);
}

/* libcurl takes proxies from the environment; easy to forget when the
 * server cannot be reached. */
static const char *proxy_note(void)
{
	static const char *const vars[] = {
		"http_proxy", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY",
	};
	static char note[64];

	for (size_t i = 0; i < ARRAY_LEN(vars); i++) {
		const char *v = getenv(vars[i]);
		if (v && *v) {
			snprintf(note, sizeof note, " (through the proxy in $%s)", vars[i]);
			return note;
		}
	}
	return "";
}

static int transfer_failed(struct http *h, CURLcode cc)
{
	char *err = h->t.err;
	size_t len = sizeof h->t.err;

	switch (cc) {
	case CURLE_OPERATION_TIMEDOUT:
		snprintf(err, len, "timed out waiting for %s%s", h->url, proxy_note());
		return RC_TIMEOUT;
	case CURLE_ABORTED_BY_CALLBACK:
		snprintf(err, len, "interrupted");
		return RC_INTERRUPTED;
	case CURLE_WRITE_ERROR:
		snprintf(err, len, "the answer from %s is larger than %u MiB", h->url, MAX_BODY >> 20);
		return RC_PROTOCOL;
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_BAD_CONTENT_ENCODING:
		snprintf(err, len, "%s did not answer in HTTP: %s", h->url, curl_text(h, cc));
		return RC_PROTOCOL;
	case CURLE_COULDNT_CONNECT:
		snprintf(err, len, "cannot connect to %s: %s%s", h->url, curl_text(h, cc),
			 proxy_note());
		return RC_CONNECT;
	default:
		snprintf(err, len, "HTTP request to %s failed: %s%s%s", h->url, curl_text(h, cc),
			 curl_tls_hint(cc, 1), proxy_note());
		return RC_CONNECT;
	}
}

/* Asterisk answers every AMI-level error with 200 and "Response: Error";
 * another status is about HTTP itself. */
static int bad_status(struct http *h)
{
	char *err = h->t.err, status[96];
	size_t len = sizeof h->t.err;

	if (h->reason[0])
		snprintf(status, sizeof status, "HTTP %s", h->reason);
	else
		snprintf(status, sizeof status, "HTTP %ld", h->status);
	if (h->status == 401) {
		if (h->digest)
			snprintf(err, len, "%s from %s: digest authentication failed for user \"%s\" "
				 "(wrong username or secret?)", status, h->url, h->user);
		else
			snprintf(err, len, "%s from %s: the server wants HTTP authentication "
				 "(--http-auth digest?)", status, h->url);
		return RC_AUTH;
	}
	if (h->status >= 300 && h->status < 400)
		snprintf(err, len, "%s from %s to %s: ami does not follow redirects (the secret "
			 "would go along); give the final URL with --url", status, h->url,
			 h->location[0] ? h->location : "(no Location)");
	else
		snprintf(err, len, "%s from %s%s", status, h->url, h->status == 404 ?
			 " (is webenabled=yes in manager.conf, and is the URL's path the http.conf "
			 "prefix?)" : "");
	return RC_PROTOCOL;
}

static int check_type(struct http *h)
{
	const char *want = h->mxml ? "text/xml" : "text/plain";
	char *ct = NULL, shown[80];

	curl_easy_getinfo(h->curl, CURLINFO_CONTENT_TYPE, &ct);
	if (ct && !strncasecmp(ct, want, strlen(want)))
		return RC_OK;
	copy_text(shown, sizeof shown, ct ? ct : "(none)", strlen(ct ? ct : "(none)"));
	snprintf(h->t.err, sizeof h->t.err, "%s answered with Content-Type %s, not %s: is it "
		 "Asterisk's AMI?", h->url, shown, want);
	return RC_PROTOCOL;
}

/* The answer as AMI text (decoded from XML for mxml) ending in exactly one
 * blank line, so that the session's parser never waits for more. */
static int body_text(struct http *h, struct strbuf *text)
{
	size_t n;

	text->len = 0;
	if (h->mxml) {
		char *out, err[200];
		if (mxml_decode(h->body.p ? h->body.p : "", h->body.len, &out, &n, err,
				sizeof err) < 0) {
			snprintf(h->t.err, sizeof h->t.err, "protocol error in the answer from %s: %s",
				 h->url, err);
			return RC_PROTOCOL;
		}
		strbuf_add(text, out, n);
		free(out);
	} else if (h->body.len) {
		strbuf_add(text, h->body.p, h->body.len);
	}
	n = text->len;
	while (n && (text->p[n - 1] == '\r' || text->p[n - 1] == '\n'))
		n--;
	if (n == 0) {
		snprintf(h->t.err, sizeof h->t.err, "%s sent an empty answer", h->url);
		return RC_PROTOCOL;
	}
	text->len = n;
	strbuf_add(text, "\r\n\r\n", 4);
	return RC_OK;
}

/* One POST of form; timeout_ms 0 = no limit. */
static int post(struct http *h, const struct strbuf *form, long timeout_ms, struct strbuf *text)
{
	CURLcode cc;
	int rc;

	h->body.len = 0;
	h->status = 0;
	h->errbuf[0] = h->reason[0] = h->location[0] = '\0';
	curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, form->p ? form->p : "");
	curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE, (long)form->len);
	curl_easy_setopt(h->curl, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(h->curl, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
	cc = curl_easy_perform(h->curl);
	if (cc != CURLE_OK)
		return transfer_failed(h, cc);
	curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &h->status);
	if (h->status != 200)
		return bad_status(h);
	if ((rc = check_type(h)) != RC_OK)
		return rc;
	return body_text(h, text);
}

/* The first message of an answer: 1, or 0 when there is none. */
static int first_msg(const struct strbuf *text, struct ami_msg *m)
{
	struct ami_parser *p = ami_parser_new(NULL, 0);
	int r = ami_parser_feed(p, text->p, text->len) == 0 ? ami_parser_next(p, m) : -1;

	ami_parser_free(p);
	return r > 0;
}

static int reply_is(const struct ami_msg *m, const char *response)
{
	const char *r = ami_msg_get(m, "Response");
	return r && !strcasecmp(r, response);
}

/* ---------- the session behind the cookie ---------- */

static int is_session_action(const char *action)
{
	return !strcmp(action, "login") || !strcmp(action, "logoff") ||
	       !strcmp(action, "challenge");
}

/* A logged-in session came back as a new one (another cookie) that
 * refuses the action: it expired on the server. The cookie check keeps a
 * real "Permission denied" (a user without the right) from looping. */
static int session_lost(struct http *h, const char *action, const struct strbuf *text)
{
	struct ami_msg m;
	int lost = 0;

	if (h->digest || !h->logged_in || is_session_action(action) ||
	    !strcmp(h->cookie, h->login_cookie))
		return 0;
	ami_msg_init(&m);
	if (first_msg(text, &m) && reply_is(&m, "Error")) {
		const char *msg = ami_msg_get(&m, "Message");
		lost = msg && !strcasecmp(msg, "Permission denied");
	}
	ami_msg_free(&m);
	return lost;
}

static int challenge_key(struct http *h, long ms, char key[33])
{
	struct strbuf form = { 0 }, text = { 0 };
	struct ami_msg m;
	char id[64];
	int rc;

	next_id(h, "c", id);
	form_set(&form, "Action", "Challenge");
	form_set(&form, "ActionID", id);
	form_set(&form, "AuthType", "MD5");
	rc = post(h, &form, ms, &text);
	ami_msg_init(&m);
	if (rc == RC_OK) {
		const char *c = first_msg(&text, &m) ? ami_msg_get(&m, "Challenge") : NULL;
		if (!c || !*c) {
			snprintf(h->t.err, sizeof h->t.err, "logging in again to %s: no MD5 challenge",
				 h->url);
			rc = RC_AUTH;
		} else {
			md5_challenge_key(c, h->secret, key);
		}
	}
	ami_msg_free(&m);
	strbuf_free(&form);
	strbuf_free(&text);
	return rc;
}

/* Filters are per session: a new login must set them again. */
static void replay_filters(struct http *h, long ms)
{
	struct strbuf form = { 0 }, text = { 0 };

	for (size_t i = 0; i < h->nreplay; i++) {
		form.len = 0;
		strbuf_adds(&form, h->replay[i]);
		if (post(h, &form, ms, &text) != RC_OK)
			log_warn("could not set a Filter again after logging in: %s", h->t.err);
	}
	strbuf_free(&form);
	strbuf_free(&text);
}

/* The session behind the cookie just received is ours. */
static void note_login(struct http *h)
{
	h->logged_in = 1;
	snprintf(h->login_cookie, sizeof h->login_cookie, "%s", h->cookie);
}

static int relogin(struct http *h, long ms)
{
	struct strbuf form = { 0 }, text = { 0 };
	struct ami_msg m;
	char id[64], key[33];
	int rc;

	h->logged_in = 0;
	if (h->md5 && (rc = challenge_key(h, ms, key)) != RC_OK)
		return rc;
	next_id(h, "l", id);
	form_set(&form, "Action", "Login");
	form_set(&form, "ActionID", id);
	form_set(&form, "Username", h->user);
	if (h->md5) {
		form_set(&form, "AuthType", "MD5");
		form_set(&form, "Key", key);
		secret_wipe(key, sizeof key);
	} else {
		form_set(&form, "Secret", h->secret ? h->secret : "");
	}
	form_set(&form, "Events", h->events ? h->events : "off");
	rc = post(h, &form, ms, &text);
	strbuf_free(&form);
	ami_msg_init(&m);
	if (rc == RC_OK && !(first_msg(&text, &m) && reply_is(&m, "Success"))) {
		const char *msg = ami_msg_get(&m, "Message");
		snprintf(h->t.err, sizeof h->t.err, "logging in again to %s failed: %s", h->url,
			 msg ? msg : "no Response: Success");
		rc = RC_AUTH;
	}
	ami_msg_free(&m);
	strbuf_free(&text);
	if (rc != RC_OK)
		return rc;
	note_login(h);
	replay_filters(h, ms);
	return RC_OK;
}

/* POSTs form; a logged-in cookie session that expired is logged in again
 * and the form sent once more. */
static int request(struct http *h, const struct strbuf *form, const char *action, long ms,
		   struct strbuf *text)
{
	int rc = post(h, form, ms, text);

	if (rc != RC_OK || !session_lost(h, action, text))
		return rc;
	log_warn("the HTTP session on %s expired; logging in again (events sent meanwhile are "
		 "lost)", h->url);
	if ((rc = relogin(h, ms)) != RC_OK)
		return rc;
	return post(h, form, ms, text);
}

/* libcurl's limit for a request the caller waits for until deadline. */
static int request_ms(struct http *h, int64_t deadline, long *ms)
{
	if (deadline < 0) {
		*ms = 0;
		return RC_OK;
	}
	if (deadline == 0) {        /* "do not wait", but an action needs its answer */
		*ms = h->default_ms > 0 ? h->default_ms : 0;
		return RC_OK;
	}
	*ms = ms_left(deadline);
	return *ms > 0 ? RC_OK : RC_TIMEOUT;
}

static void replace(char **field, const char *v)
{
	free(*field);
	*field = v ? xstrdup(v) : NULL;
}

/* What the answer to the action just made tells about the session. */
static void note_answer(struct http *h, const struct strbuf *text)
{
	struct ami_msg m;
	int ok;

	if (!strcmp(h->action, "logoff")) {
		h->logged_in = 0;
		return;
	}
	/* Only these answers tell something: parsing a list's whole answer
	 * again to learn nothing would double the cost of every big one. */
	if (strcmp(h->action, "login") && strcmp(h->action, "events") && strcmp(h->action, "filter"))
		return;
	ami_msg_init(&m);
	ok = first_msg(text, &m) && reply_is(&m, "Success");
	ami_msg_free(&m);
	if (!ok)
		return;
	if (!strcmp(h->action, "login")) {
		note_login(h);
		if (h->form_events)
			replace(&h->events, h->form_events);
	} else if (!strcmp(h->action, "events")) {
		if (h->form_events)
			replace(&h->events, h->form_events);
	} else if (h->nreplay < MAX_REPLAY) {
		h->replay[h->nreplay++] = xstrndup(h->form.p, h->form.len);
	}
}

/* POSTs the action sent last and keeps its answer for recv. */
static int run_pending(struct http *h, int64_t deadline)
{
	struct strbuf text = { 0 };
	long ms;
	int rc = request_ms(h, deadline, &ms);

	if (rc == RC_OK)
		rc = request(h, &h->form, h->action, ms, &text);
	if (rc == RC_OK) {
		note_answer(h, &text);
		strbuf_add(&h->in, text.p, text.len);
	}
	strbuf_wipe(&h->form);
	replace(&h->form_events, NULL);
	free(text.p);
	return rc;
}

/* ---------- events: WaitEvent long-polls ---------- */

static void put_msg(struct strbuf *b, const struct ami_msg *m)
{
	for (size_t i = 0; i < m->n; i++) {
		if (m->h[i].name_len) {
			strbuf_add(b, ami_msg_name(m, i), m->h[i].name_len);
			strbuf_add(b, ": ", 2);
		}
		strbuf_add(b, ami_msg_value(m, i), m->h[i].value_len);
		strbuf_add(b, "\r\n", 2);
	}
	strbuf_add(b, "\r\n", 2);
}

/* Keeps the events of a WaitEvent answer for recv, without its Response
 * and the closing WaitEventComplete: callers only see real events. */
static int keep_events(struct http *h, const struct strbuf *text)
{
	struct ami_parser *p = ami_parser_new(NULL, 0);
	struct ami_msg m;
	size_t off = 0;
	int r = 0, first = 1, rc = RC_OK;

	ami_msg_init(&m);
	while (rc == RC_OK) {
		while ((r = ami_parser_next(p, &m)) > 0) {
			if (!ami_msg_is_event(&m)) {
				if (first && reply_is(&m, "Error")) {
					const char *msg = ami_msg_get(&m, "Message");
					snprintf(h->t.err, sizeof h->t.err, "the server refused WaitEvent: %s",
						 msg ? msg : "Response: Error");
					rc = RC_CONNECT;
					break;
				}
			} else if (strcasecmp(ami_msg_get(&m, "Event"), "WaitEventComplete")) {
				put_msg(&h->in, &m);
			}
			first = 0;
		}
		if (rc != RC_OK || r < 0 || off == text->len)
			break;
		size_t n = text->len - off < 65536 ? text->len - off : 65536;
		if (ami_parser_feed(p, text->p + off, n) < 0)
			r = -1;
		off += n;
	}
	if (r < 0 && rc == RC_OK) {
		snprintf(h->t.err, sizeof h->t.err, "protocol error in the WaitEvent answer from %s: %s",
			 h->url, ami_parser_error(p));
		rc = RC_PROTOCOL;
	}
	ami_msg_free(&m);
	ami_parser_free(p);
	if (rc != RC_OK)
		h->in.len = h->in_off = 0;
	return rc;
}

/* Seconds to ask WaitEvent for: up to the deadline, at most httptimeout -
 * 10 (Asterisk cuts longer waits to that anyway). */
static int wait_secs(const struct http *h, int left_ms)
{
	int cap = (h->max_age > 0 ? h->max_age : DEFAULT_HTTPTIMEOUT) - 10;

	if (cap < 0)
		cap = 0;
	if (left_ms < 0 || left_ms / 1000 > cap)
		return cap;
	return left_ms / 1000;
}

static int poll_once(struct http *h, int secs)
{
	struct strbuf form = { 0 }, text = { 0 };
	char id[64], num[16];
	int rc;

	next_id(h, "w", id);
	snprintf(num, sizeof num, "%d", secs);
	form_set(&form, "Action", "WaitEvent");
	form_set(&form, "ActionID", id);
	form_set(&form, "Timeout", num);
	log_debug("WaitEvent, Timeout %d s, on %s", secs, h->url);
	rc = request(h, &form, "waitevent", secs * 1000L + WAIT_SLACK_MS, &text);
	if (rc == RC_OK)
		rc = keep_events(h, &text);
	strbuf_free(&form);
	strbuf_free(&text);
	return rc;
}

/* Long-polls until events come or the deadline passes (deadline 0: one
 * WaitEvent with Timeout 0, which returns what is queued at once). */
static int wait_events(struct http *h, int64_t deadline)
{
	for (;;) {
		int64_t start = now_ms();
		int rc = poll_once(h, wait_secs(h, ms_left(deadline)));

		if (rc != RC_OK || h->in.len > 0)
			return rc;
		if (deadline >= 0 && ms_left(deadline) == 0)
			return RC_TIMEOUT;
		/* A server that answers at once (httptimeout <= 10 caps waits
		 * at 0 s) must not be asked again in a tight loop. */
		int quick = MIN_POLL_MS - (int)(now_ms() - start);
		if (quick > 0 && (rc = sleep_ms(quick, deadline)) != RC_OK) {
			snprintf(h->t.err, sizeof h->t.err, "interrupted");
			return rc;
		}
	}
}

/* ---------- the transport ---------- */

static void note_field(struct http *h, const char *name, size_t nlen, const char *v, size_t vlen)
{
	if (nlen == 6 && !strncasecmp(name, "Action", 6) && !h->action[0]) {
		size_t i;
		for (i = 0; i < vlen && i + 1 < sizeof h->action; i++)
			h->action[i] = (char)tolower((unsigned char)v[i]);
		h->action[i] = '\0';
	} else if ((nlen == 6 && !strncasecmp(name, "Events", 6)) ||
		   (nlen == 9 && !strncasecmp(name, "EventMask", 9))) {
		free(h->form_events);
		h->form_events = xstrndup(v, vlen);
	}
}

/* Our own wire form (ami_msg_format: "Name: value\r\n" lines, then a blank
 * line) into form fields. Split here rather than by the AMI parser so that
 * no copy of a Login's secret is left unwiped. A line without a name
 * cannot be a form field and is dropped. */
static void wire_to_form(struct http *h, const char *buf, size_t len)
{
	const char *p = buf, *end = buf + len;

	h->action[0] = '\0';
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl ? nl : end) - p);
		if (n && p[n - 1] == '\r')
			n--;
		if (n == 0)
			break;
		const char *colon = memchr(p, ':', n);
		if (colon && colon > p) {
			size_t nlen = (size_t)(colon - p), vlen = n - nlen - 1;
			const char *v = colon + 1;
			if (vlen && *v == ' ')
				v++, vlen--;
			form_add(&h->form, p, nlen, v, vlen);
			note_field(h, p, nlen, v, vlen);
		}
		p = nl ? nl + 1 : end;
	}
}

/* An HTTP session keeps every event since its last WaitEvent, and
 * Asterisk applies the event mask only when WaitEvent hands them out. So
 * before an Events action that switches them on or off is POSTed, one
 * WaitEvent that returns at once: switching on, it brings what happened
 * while they were off (minutes of it in a shell), which is dropped;
 * switching off, the last events wanted, kept for recv. What recv has not
 * returned yet stays either way. */
static void before_events_switch(struct http *h)
{
	size_t len = h->in.len, off = h->in_off;
	int on, was_on, rc;

	if (strcmp(h->action, "events") || !h->form_events)
		return;
	on = strcasecmp(h->form_events, "off") != 0;
	was_on = h->events && strcasecmp(h->events, "off") != 0;
	if (on == was_on)
		return;
	rc = poll_once(h, 0);
	if (on && rc == RC_OK && h->in.len > len)
		log_debug("dropped %zu bytes of events from while events were off",
			  h->in.len - len);
	if (on || rc != RC_OK) {
		h->in.len = len;
		h->in_off = off;
	}
}

static int http_send(struct transport *t, const char *buf, size_t len, int64_t deadline)
{
	struct http *h = (struct http *)t;
	int rc;

	/* An action whose answer nobody has read yet goes first. */
	if (h->form.len && (rc = run_pending(h, deadline)) != RC_OK)
		return rc;
	wire_to_form(h, buf, len);
	if (h->form.len > MAX_POST) {
		snprintf(t->err, sizeof t->err, "refusing to send: the action is %zu bytes as "
			 "an HTTP form, and Asterisk takes at most %d", h->form.len, MAX_POST);
		strbuf_wipe(&h->form);
		return RC_USAGE;
	}
	before_events_switch(h);
	return RC_OK;
}

static int http_recv(struct transport *t, char *buf, size_t cap, size_t *got, int64_t deadline)
{
	struct http *h = (struct http *)t;
	size_t n;

	*got = 0;
	if (h->in_off == h->in.len) {
		int rc;
		h->in.len = h->in_off = 0;
		rc = h->form.len ? run_pending(h, deadline) : wait_events(h, deadline);
		if (rc != RC_OK)
			return rc;
	}
	n = h->in.len - h->in_off < cap ? h->in.len - h->in_off : cap;
	memcpy(buf, h->in.p + h->in_off, n);
	h->in_off += n;
	*got = n;
	return RC_OK;
}

static int http_fd(const struct transport *t) { (void)t; return -1; }

static int http_pending(const struct transport *t)
{
	const struct http *h = (const struct http *)t;
	return h->in_off < h->in.len || h->form.len > 0;
}

static void http_close(struct transport *t)
{
	struct http *h = (struct http *)t;

	/* libcurl frees (without wiping) its own copy of a digest password. */
	if (h->curl)
		curl_easy_cleanup(h->curl);
	curl_slist_free_all(h->headers);
	secret_free(h->secret);
	free(h->user);
	free(h->url);
	free(h->events);
	free(h->form_events);
	for (size_t i = 0; i < h->nreplay; i++)
		free(h->replay[i]);
	strbuf_free(&h->form);
	strbuf_free(&h->in);
	strbuf_free(&h->body);
	free(h);
}

static const struct transport_ops http_ops = {
	http_send, http_recv, http_fd, http_pending, http_close,
};

char *http_base_url(const char *url)
{
	static const char *const known[] = {
		"rawman", "mxml", "arawman", "amxml", "manager", "amanager",
	};
	const char *host = strstr(url, "://");
	size_t n = strcspn(url, "?#");
	struct strbuf b = { 0 };

	strbuf_add(&b, url, n);
	host = host ? host + 3 : url;
	if (!memchr(host, '/', n - (size_t)(host - url)))
		strbuf_add(&b, "/", 1);
	if (b.p[b.len - 1] != '/') {
		char *slash = strrchr(b.p, '/');
		int drop = 0;
		for (size_t i = 0; i < ARRAY_LEN(known); i++)
			drop |= !strcasecmp(slash + 1, known[i]);
		if (drop)
			b.len = (size_t)(slash - b.p) + 1, b.p[b.len] = '\0';
		else
			strbuf_add(&b, "/", 1);
	}
	return b.p;
}

/* The endpoint for the profile: its base URL, then [a]rawman or [a]mxml. */
static char *endpoint(const struct profile *p)
{
	char *base = http_base_url(p->url);
	char *url = xasprintf("%s%s%s", base, p->http_auth == HTTP_AUTH_DIGEST ? "a" : "",
			      http_encoding_words[p->http_encoding]);

	free(base);
	return url;
}

#ifndef AMI_VERSION
#define AMI_VERSION "dev"
#endif

static int http_setup(struct http *h, const struct profile *p, char *err, size_t errlen)
{
	CURL *c = h->curl;

	curl_common_setup(c, &h->t, h->errbuf);
	curl_easy_setopt(c, CURLOPT_URL, h->url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "ami/" AMI_VERSION);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, h);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, h);
	h->headers = curl_slist_append(NULL, "Expect:");   /* no 100-continue round trip */
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h->headers);
	if (h->digest) {
		curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_DIGEST);
		curl_easy_setopt(c, CURLOPT_USERNAME, h->user);
		curl_easy_setopt(c, CURLOPT_PASSWORD, h->secret ? h->secret : "");
	} else {
		curl_easy_setopt(c, CURLOPT_COOKIEFILE, "");    /* the in-memory cookie engine */
	}
	if (!strncasecmp(h->url, "https:", 6))
		return curl_tls_setup(c, p, h->url, err, errlen);
	return RC_OK;
}

int http_open(struct transport **out, const struct profile *p, int64_t deadline,
	      char *err, size_t errlen)
{
	struct http *h;
	int rc;

	(void)deadline;             /* nothing is sent yet: each request has its own bound */
	*out = NULL;
	if (!p->url) {
		snprintf(err, errlen, "no URL to connect to (--url or url=)");
		return RC_CONFIG;
	}
	if ((rc = curl_global_once(err, errlen)) != RC_OK)
		return rc;
	h = xcalloc(1, sizeof *h);
	h->t.ops = &http_ops;
	h->url = endpoint(p);
	h->digest = p->http_auth == HTTP_AUTH_DIGEST;
	h->mxml = p->http_encoding == HTTP_ENC_MXML;
	h->default_ms = p->timeout_ms;
	h->user = xstrdup(p->username ? p->username : "");
	h->secret = p->secret ? xstrdup(p->secret) : NULL;
	h->md5 = p->auth == AUTH_MD5;
	snprintf(h->id_prefix, sizeof h->id_prefix, "ami-%ld-http", (long)getpid());
	if (!(h->curl = curl_easy_init())) {
		snprintf(err, errlen, "cannot start libcurl");
		rc = RC_CONNECT;
	} else {
		rc = http_setup(h, p, err, errlen);
	}
	if (rc != RC_OK) {
		http_close(&h->t);
		return rc;
	}
	log_info("AMI over HTTP: %s (%s)", h->url,
		 h->digest ? "digest authentication" : "cookie session");
	*out = &h->t;
	return RC_OK;
}
