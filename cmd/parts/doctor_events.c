/* doctor_events.c - the event-load check of `ami doctor`: events/s and
 * bytes/s by event name over --sample seconds, and what to do about a
 * load that puts readers at risk or that few readers want.
 *
 * Asterisk writes events to a TCP/TLS session with writetimeout (100 ms by
 * default): when a write cannot go on for that long, because the socket
 * buffers between Asterisk and a reader that has stalled are full, the
 * session is closed. So the rate tells how long a reader may stall:
 * 100 ms plus what the buffers hold at that rate. The buffers are taken as
 * 128 KiB (Linux's default receive buffer; loopback and busy links grow
 * larger ones), so the figure is a floor, not a promise. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "doctor.h"
#include "filter.h"

#define WRITETIMEOUT_MS 100
#define SOCKET_BUFFER (128.0 * 1024)
#define STALL_WARN_MS 1000      /* a reader may well stall this long (GC, disk, DNS) */
#define TOP_N 10
#define NAMES_MAX 1000          /* distinct names counted; the rest as "(others)" */

struct ev_count {
	char *name;
	unsigned long n, bytes;
};

struct sample {
	struct ev_count *ev;
	size_t nev, cap, last;
	unsigned long n, bytes;
	unsigned long *per_second;  /* bytes in each second of the sample */
	size_t seconds;
	double secs;
};

/* The event's size as Asterisk wrote it: the bytes received, or for a
 * message queued meanwhile its "Name: value\r\n" lines and a blank line. */
static size_t wire_size(const struct ami_view *v)
{
	size_t n = 2;

	if (v->wire || !v->msg)
		return v->wire_len;
	for (size_t i = 0; i < v->msg->n; i++)
		n += v->msg->h[i].name_len + 2 + v->msg->h[i].value_len + 2;
	return n;
}

static struct ev_count *counter(struct sample *s, const char *name)
{
	if (s->last < s->nev && !strcmp(s->ev[s->last].name, name))
		return &s->ev[s->last];
	for (size_t i = 0; i < s->nev; i++)
		if (!strcmp(s->ev[i].name, name))
			return &s->ev[s->last = i];
	if (s->nev == NAMES_MAX)
		name = "(others)";
	if (s->nev > NAMES_MAX)
		return &s->ev[NAMES_MAX];
	if (s->nev == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 32;
		s->ev = xrealloc(s->ev, s->cap * sizeof *s->ev);
	}
	s->ev[s->nev] = (struct ev_count){ xstrdup(name), 0, 0 };
	return &s->ev[s->last = s->nev++];
}

static void count(struct sample *s, const struct ami_view *ev, int64_t since_start)
{
	char name[64];
	struct ev_count *c;

	snprintf(name, sizeof name, "%.*s", ev->event && ev->event_len ? (int)ev->event_len : 9,
		 ev->event && ev->event_len ? ev->event : "(no name)");
	c = counter(s, name);
	size_t size = wire_size(ev), sec = since_start < 0 ? 0 : (size_t)(since_start / 1000);

	c->n++;
	c->bytes += size;
	s->n++;
	s->bytes += size;
	if (sec < s->seconds)
		s->per_second[sec] += size;
}

static int by_count(const void *a, const void *b)
{
	const struct ev_count *x = a, *y = b;

	return x->n < y->n ? 1 : x->n > y->n ? -1 : strcmp(x->name, y->name);
}

static double peak_rate(const struct sample *s)
{
	unsigned long peak = 0;
	size_t full = (size_t)s->secs;

	for (size_t i = 0; i < full && i < s->seconds; i++)
		if (s->per_second[i] > peak)
			peak = s->per_second[i];
	return full ? (double)peak : s->bytes / (s->secs > 0 ? s->secs : 1);
}

static const char *kib(double bytes, char *buf, size_t len)
{
	if (bytes >= 1024 * 1024)
		snprintf(buf, len, "%.1f MiB", bytes / (1024 * 1024));
	else
		snprintf(buf, len, "%.1f KiB", bytes / 1024);
	return buf;
}

/* Reads events for the sample time; RC_TIMEOUT is its normal end. */
static int take_sample(struct doctor *d, struct sample *s)
{
	struct ami_view ev;
	int64_t start = now_ms(), deadline = start + d->sample_ms;
	int rc = RC_TIMEOUT;

	s->seconds = (size_t)(d->sample_ms / 1000) + 2;
	s->per_second = xcalloc(s->seconds, sizeof *s->per_second);
	while (now_ms() < deadline && (rc = ami_next_event_view(d->a, &ev, 0, deadline)) == RC_OK)
		count(s, &ev, now_ms() - start);
	if (now_ms() >= deadline)
		rc = RC_TIMEOUT;
	s->secs = (now_ms() - start) / 1000.0;
	if (s->secs < 0.001)
		s->secs = 0.001;
	return rc;
}

static void note_top(struct doctor *d, struct sample *s)
{
	char rate[32];
	struct strbuf top = { 0 };

	qsort(s->ev, s->nev, sizeof *s->ev, by_count);
	for (size_t i = 0; i < s->nev && i < TOP_N; i++) {
		char part[160];
		snprintf(part, sizeof part, "%s%s %.1f/s %s/s (%.0f%%)", i ? ", " : "", s->ev[i].name,
			 s->ev[i].n / s->secs, kib(s->ev[i].bytes / s->secs, rate, sizeof rate),
			 100.0 * s->ev[i].n / s->n);
		strbuf_adds(&top, part);
	}
	check_note(d, CK_EVENTS, ST_PASS, "%.1f events/s, %s/s over %.1f s (%lu events, %zu "
		   "names); top: %s", s->n / s->secs, kib(s->bytes / s->secs, rate, sizeof rate),
		   s->secs, s->n, s->nev, top.p);
	strbuf_free(&top);
}

/* The events that make most of the bytes: the biggest ones until 60 %,
 * at most 3, each at least 10 %; as "A,B". Of the names in only_dialplan,
 * every one of at least 10 %: "Newexten,VarSet" is the usual answer. */
static void heavy_events(const struct sample *s, const char *only_dialplan, struct strbuf *out)
{
	struct ev_count *sorted = xmalloc(s->nev * sizeof *sorted + 1);
	unsigned long sum = 0;

	memcpy(sorted, s->ev, s->nev * sizeof *sorted);
	for (size_t i = 0; i < s->nev; i++)     /* by bytes, biggest first */
		for (size_t j = i + 1; j < s->nev; j++)
			if (sorted[j].bytes > sorted[i].bytes) {
				struct ev_count t = sorted[i];
				sorted[i] = sorted[j], sorted[j] = t;
			}
	for (size_t i = 0, taken = 0; i < s->nev && taken < 3 &&
	     (only_dialplan || sum * 10 < s->bytes * 6); i++) {
		if (sorted[i].bytes * 10 < s->bytes)
			break;
		if (only_dialplan && !strstr(only_dialplan, sorted[i].name))
			continue;
		if (out->len)
			strbuf_add(out, ",", 1);
		strbuf_adds(out, sorted[i].name);
		sum += sorted[i].bytes;
		taken++;
	}
	free(sorted);
}

static unsigned long bytes_of(const struct sample *s, const char *name)
{
	for (size_t i = 0; i < s->nev; i++)
		if (!strcmp(s->ev[i].name, name))
			return s->ev[i].bytes;
	return 0;
}

/* One manager.conf line per event name that keeps it from one user: the
 * MatchCriteria form where the version has it (or is unknown), else the
 * legacy regex on the event's text. */
static void add_filter_line(struct strbuf *b, const char *name, int match_criteria)
{
	if (b->len)
		strbuf_adds(b, " and ");
	strbuf_adds(b, match_criteria ? "eventfilter(action(exclude),name(" : "eventfilter = !Event: ");
	strbuf_adds(b, name);
	if (match_criteria)
		strbuf_adds(b, ")) =");
}

/* The exact lines that stop the events in names ("A,B") reaching readers. */
static void advise(struct doctor *d, const char *names)
{
	const int *v = d->asterisk;
	const char *user = d->p.username;
	int known = v[0] > 0, dialplan_only = 1;
	struct strbuf filters = { 0 }, tail = { 0 }, read = { 0 };

	for (const char *n = names; *n;) {
		size_t len = strcspn(n, ",");
		char one[64];
		snprintf(one, sizeof one, "%.*s", (int)len, n);
		dialplan_only &= !strcmp(one, "VarSet") || !strcmp(one, "Newexten");
		add_filter_line(&filters, one, !known || asterisk_match_criteria(v) != MC_NO);
		strbuf_adds(&tail, " --exclude-event ");
		strbuf_adds(&tail, one);
		n += len + (n[len] == ',');
	}
	if (!known || v[0] >= 20)
		check_fix(d, CK_EVENTS, "if no reader needs %s: disabledevents = %s in manager.conf "
			  "[general] (for every user%s)", names, names, known ? "" : "; Asterisk 20 or "
			  "later");
	check_fix(d, CK_EVENTS, "for %s alone, in [%s]: %s%s", user, user, filters.p,
		  !known ? " (before 18.26, 20.11, 21.6, 22.1: eventfilter = !Event: NAME)" : "");
	if (dialplan_only && d->read_known && (d->read_perm & PERM_DIALPLAN)) {
		/* The classes a user can read; write-only ones are left out. */
		perm_text(d->read_perm & ~(PERM_DIALPLAN | PERM_COMMAND | PERM_CONFIG |
					   PERM_ORIGINATE | PERM_MESSAGE), &read);
		check_fix(d, CK_EVENTS, "or take the dialplan class out of read: read = %s", read.p);
	}
	check_fix(d, CK_EVENTS, "a reader that wants the others: ami tail-events%s%s", tail.p,
		  d->write_perm & PERM_SYSTEM ? "" : " (without write = system ami drops them "
		  "after Asterisk has sent them)");
	strbuf_free(&filters);
	strbuf_free(&tail);
	strbuf_free(&read);
}

static void judge(struct doctor *d, const struct sample *s)
{
	double peak = peak_rate(s), stall_ms = WRITETIMEOUT_MS + 1000.0 * SOCKET_BUFFER / peak;
	unsigned long dialplan = bytes_of(s, "VarSet") + bytes_of(s, "Newexten");
	struct strbuf heavy = { 0 };
	char rate[32];
	int stream = d->p.transport < TR_HTTP;

	if (stream && stall_ms < STALL_WARN_MS) {
		check_note(d, CK_EVENTS, ST_WARN, "at the peak of %s/s a reader that stalls for more "
			   "than %.2f s is disconnected by Asterisk (writetimeout 100 ms, with ~128 KiB "
			   "of socket buffers)", kib(peak, rate, sizeof rate), stall_ms / 1000);
		heavy_events(s, NULL, &heavy);
	} else if (stream) {
		check_note(d, CK_EVENTS, ST_PASS, "a reader may stall %.1f s at the peak of %s/s "
			   "before the writetimeout can close it", stall_ms / 1000,
			   kib(peak, rate, sizeof rate));
	}
	if (s->n >= 20 && dialplan * 2 >= s->bytes) {
		check_note(d, CK_EVENTS, ST_WARN, "VarSet and Newexten (the dialplan class, which "
			   "few readers use) are %.0f%% of the bytes", 100.0 * dialplan / s->bytes);
		heavy.len = 0;
		heavy_events(s, "VarSet,Newexten", &heavy);
	}
	if (heavy.len)
		advise(d, heavy.p);
	if (stream && stall_ms < STALL_WARN_MS)
		check_fix(d, CK_EVENTS, "readers must read continuously (ami tail-events queues "
			  "what its own reader has not taken: --buffer); writetimeout = 1000 in [%s] "
			  "gives a slow one a second", d->p.username);
	strbuf_free(&heavy);
}

void check_events(struct doctor *d)
{
	struct sample s;
	int rc;

	memset(&s, 0, sizeof s);
	if ((rc = ami_set_events(d->a, "on")) != RC_OK) {
		check_note(d, CK_EVENTS, ST_WARN, "the Events action failed: %s", ami_error(d->a));
		check_fix(d, CK_EVENTS, "Asterisk answers Events for any user: is a proxy in front "
			  "of it?");
		return check_done(d, CK_EVENTS);
	}
	rc = take_sample(d, &s);
	if (rc == RC_INTERRUPTED) {
		check_note(d, CK_EVENTS, ST_SKIP, "interrupted after %.1f s", s.secs);
		s.n = 0;
	} else if (rc != RC_TIMEOUT) {
		check_note(d, CK_EVENTS, ST_FAIL, "after %lu events in %.1f s: %s", s.n, s.secs,
			   ami_error(d->a));
		check_fix(d, CK_EVENTS, "Asterisk closes a session it cannot write to for "
			  "writetimeout (100 ms): see the rate above");
	}
	if (s.n == 0 && rc != RC_INTERRUPTED)
		check_note(d, CK_EVENTS, ST_PASS, "no events in %.1f s (an idle PBX, or read = in "
			   "[%s] gives no classes)", s.secs, d->p.username);
	else if (s.n)
		note_top(d, &s), judge(d, &s);
	for (size_t i = 0; i < s.nev; i++)
		free(s.ev[i].name);
	free(s.ev);
	free(s.per_second);
	check_done(d, CK_EVENTS);
}
