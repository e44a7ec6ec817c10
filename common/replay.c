/* replay.c - a recording held in memory for replay (see replay.h). */
#include "replay.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "amiserver.h"
#include "util.h"

void replay_init(struct replay *r)
{
	memset(r, 0, sizeof *r);
}

void replay_free(struct replay *r)
{
	free(r->buf);
	free(r->ev);
	replay_init(r);
}

static void reserve(struct replay *r, size_t more)
{
	if (r->len + more <= r->cap)
		return;
	size_t cap = r->cap ? r->cap : 1 << 16;
	while (cap < r->len + more)
		cap *= 2;
	r->buf = xrealloc(r->buf, cap);
	r->cap = cap;
}

static void append(struct replay *r, const char *p, size_t n)
{
	reserve(r, n);
	memcpy(r->buf + r->len, p, n);
	r->len += n;
}

/* Whether the line s[0, n) is the header called name (any case). */
static int line_is(const char *s, size_t n, const char *name)
{
	size_t k = strlen(name);
	return n > k && s[k] == ':' && !strncasecmp(s, name, k);
}

/* The value of the header line s[0, n) whose name is k bytes long. */
static void line_value(const char *s, size_t n, size_t k, size_t *at, size_t *len)
{
	size_t i = k + 1;

	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	*at = i;
	*len = n - i;
}

static int64_t to_us(double at)
{
	double us = at * 1e6;

	return (int64_t)(us < 0 ? us - 0.5 : us + 0.5);    /* no libm */
}

/* Indexes the event just appended at off, or takes it back out when it is
 * not an event. */
static int index_event(struct replay *r, size_t off, double at)
{
	const char *e = r->buf + off;
	size_t len = r->len - off, i = 0, name_at = 0, name_len = 0;
	uint32_t cls = 0;
	int named = 0;

	while (i < len) {
		const char *nl = memchr(e + i, '\n', len - i);
		size_t end = nl ? (size_t)(nl - e) : len, n = end - i, v, vlen;
		if (n && e[end - 1] == '\r')
			n--;
		if (!named && line_is(e + i, n, "Event")) {
			line_value(e + i, n, 5, &v, &vlen);
			name_at = i + v;
			name_len = vlen;
			named = 1;
		} else if (!cls && line_is(e + i, n, "Privilege")) {
			line_value(e + i, n, 9, &v, &vlen);
			cls = amis_class_of(e + i + v, vlen);
		}
		i = end + 1;
	}
	if (!named) {
		r->len = off;
		return 0;
	}
	if (r->n == r->ncap) {
		r->ncap = r->ncap ? r->ncap * 2 : 1024;
		r->ev = xrealloc(r->ev, r->ncap * sizeof *r->ev);
	}
	struct replay_event *ev = &r->ev[r->n];
	int64_t prev = r->n ? r->ev[r->n - 1].at_us : 0;
	ev->off = off;
	ev->len = (uint32_t)len;
	ev->cls = cls;
	ev->name_off = (uint32_t)name_at;
	ev->name_len = (uint32_t)name_len;
	ev->at_us = prev;
	if (!isnan(at)) {
		if (!r->timed) {
			r->first_us = to_us(at);
			r->timed = 1;
		}
		if (to_us(at) - r->first_us > prev)
			ev->at_us = to_us(at) - r->first_us;
	}
	r->n++;
	return 1;
}

int replay_add_view(struct replay *r, const struct ami_view *v, double at)
{
	size_t off = r->len;

	if (v->wire)
		return replay_add_wire(r, v->wire, v->wire_len, at);
	for (size_t i = 0; i < v->n; i++) {
		const struct ami_header *h = &v->h[i];
		const char *name = v->base + h->name;
		if (h->name_len == 10 && !strncasecmp(name, "ReceivedAt", 10))
			continue;
		if (h->name_len) {
			append(r, name, h->name_len);
			append(r, ": ", 2);
		}
		append(r, v->base + h->value, h->value_len);
		append(r, "\r\n", 2);
	}
	append(r, "\r\n", 2);
	return index_event(r, off, at);
}

int replay_add_msg(struct replay *r, const struct ami_msg *m, double at)
{
	struct ami_view v;

	ami_view_of_msg(&v, m);
	return replay_add_view(r, &v, at);
}

int replay_add_wire(struct replay *r, const char *wire, size_t len, double at)
{
	size_t off = r->len, i = 0;

	reserve(r, len);
	while (i < len) {
		const char *nl = memchr(wire + i, '\n', len - i);
		size_t end = nl ? (size_t)(nl - wire) + 1 : len;
		if (!line_is(wire + i, end - i, "ReceivedAt"))
			append(r, wire + i, end - i);
		i = end;
	}
	return index_event(r, off, at);
}

int64_t replay_period_us(const struct replay *r)
{
	int64_t last = r->n ? r->ev[r->n - 1].at_us : 0;
	int64_t period = last + (r->n > 1 ? last / (int64_t)(r->n - 1) : 0);

	return period < 1000000 ? 1000000 : period;
}
