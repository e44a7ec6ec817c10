/* recording.c - reading an event recording (see recording.h).
 *
 * Raw input is fed straight into the AMI parser's buffer and comes out as
 * its views; an event whose ReceivedAt header must be taken out is copied
 * once, without that line. JSON input is cut into lines in a buffer of our
 * own, each line parsed by cJSON into a message. Until the format is known
 * the input waits in that same buffer. */
#include "recording.h"
#include "util.h"

#include <cJSON.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define READ_ROOM 4096                  /* the least room rec_space gives */
#define JSON_MAX_LINE (16u << 20)       /* bytes in one NDJSON line */
#define SLACK 64                        /* zeroed bytes after a copied event:
					 * formatters read up to 32 ahead */
#define BANNER "Asterisk Call Manager/"
#define BANNER_LEN (sizeof BANNER - 1)
#define RECEIVED_AT "ReceivedAt"
#define RECEIVED_AT_LEN (sizeof RECEIVED_AT - 1)

struct rec_reader {
	enum rec_format format;
	int eof, failed, rc;
	uint64_t fed;                   /* bytes committed so far */
	unsigned long skipped;
	char err[200];
	char at_text[64];               /* the current event's ReceivedAt */
	/* json lines, and all input until the format is known */
	char *buf;
	size_t cap, start, end, scan;   /* unread [start, end); no '\n' in [start, scan) */
	struct ami_msg m;               /* the current json event */
	/* raw */
	struct ami_parser *p;
	char *copy;                     /* the current event without its ReceivedAt line */
	size_t copy_cap;
	struct ami_header *h;
	size_t hcap;
};

struct rec_reader *rec_new(void)
{
	struct rec_reader *r = xcalloc(1, sizeof *r);

	ami_msg_init(&r->m);
	return r;
}

void rec_free(struct rec_reader *r)
{
	if (!r)
		return;
	free(r->buf);
	ami_msg_free(&r->m);
	ami_parser_free(r->p);
	free(r->copy);
	free(r->h);
	free(r);
}

__attribute__((format(printf, 3, 4)))
static int fail(struct rec_reader *r, uint64_t offset, const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(r->err, sizeof r->err, "byte %llu: ", (unsigned long long)offset);
	va_start(ap, fmt);
	vsnprintf(r->err + n, sizeof r->err - (size_t)n, fmt, ap);
	va_end(ap);
	r->failed = 1;
	r->rc = RC_PROTOCOL;
	return -1;
}

const char *rec_error(const struct rec_reader *r) { return r->err; }
enum rec_format rec_format(const struct rec_reader *r) { return r->format; }
uint64_t rec_bytes(const struct rec_reader *r) { return r->fed; }
unsigned long rec_skipped(const struct rec_reader *r) { return r->skipped; }
int rec_rc(const struct rec_reader *r) { return r->failed ? r->rc : 0; }

int rec_done(const struct rec_reader *r)
{
	if (!r->eof || r->failed)
		return 0;
	if (r->format == REC_RAW)
		return ami_parser_pending(r->p) == 0;
	return r->start == r->end;
}

/* ---------- input ---------- */

/* Room for need more bytes at the end of buf: the unread bytes move to the
 * front when they are at most half of what is free there, or the buffer
 * doubles. */
static void buf_room(struct rec_reader *r, size_t need)
{
	size_t pend = r->end - r->start;

	if (r->cap - r->end >= need)
		return;
	if (r->start > 0 && r->start >= pend) {
		memmove(r->buf, r->buf + r->start, pend);
		r->scan = r->scan > r->start ? r->scan - r->start : 0;
		r->start = 0;
		r->end = pend;
		if (r->cap - r->end >= need)
			return;
	}
	while (r->cap - r->end < need)
		r->cap = r->cap ? r->cap * 2 : 64 * 1024;
	r->buf = xrealloc(r->buf, r->cap);
}

char *rec_space(struct rec_reader *r, size_t *room)
{
	if (r->format == REC_RAW)
		return ami_parser_space(r->p, room);
	buf_room(r, READ_ROOM);
	*room = r->cap - r->end;
	return r->buf + r->end;
}

void rec_commit(struct rec_reader *r, size_t len)
{
	r->fed += len;
	if (r->format == REC_RAW)
		ami_parser_commit(r->p, len);
	else
		r->end += len;
}

void rec_feed(struct rec_reader *r, const char *buf, size_t len)
{
	while (len > 0) {
		size_t room, n;
		char *s = rec_space(r, &room);
		n = len < room ? len : room;
		memcpy(s, buf, n);
		rec_commit(r, n);
		buf += n;
		len -= n;
	}
}

void rec_eof(struct rec_reader *r)
{
	r->eof = 1;
}

static int blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Tells the format from the first byte that is not blank. A raw recording
 * that starts with Asterisk's greeting (a capture of a whole session) has
 * it read as the banner. 1 once known, 0 when more input is needed. */
static int sniff(struct rec_reader *r)
{
	const char *s;
	size_t n;

	while (r->start < r->end && blank(r->buf[r->start]))
		r->start++;
	n = r->end - r->start;
	if (n == 0)
		return 0;
	s = r->buf + r->start;
	if (s[0] == '{' || s[0] == '[') {
		r->format = REC_JSON;
		r->scan = r->start;
		return 1;
	}
	if (n < BANNER_LEN && !r->eof && !memchr(s, '\n', n))
		return 0;
	r->format = REC_RAW;
	r->p = ami_parser_new(NULL, n >= BANNER_LEN && !memcmp(s, BANNER, BANNER_LEN));
	ami_parser_feed(r->p, s, n);    /* cannot fail: far below its limits */
	free(r->buf);
	r->buf = NULL;
	r->cap = r->start = r->end = r->scan = 0;
	return 1;
}

/* ---------- time ---------- */

static int digits(const char *s, size_t len, size_t at, size_t n, int *out)
{
	int v = 0;

	if (at + n > len)
		return -1;
	for (size_t i = at; i < at + n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

/* Days from 1970-01-01 to the civil date y-m-d (proleptic Gregorian). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* "+hh:mm", "+hhmm", "Z" at s[i, len): minutes east, or -1 on error. */
static int zone(const char *s, size_t len, size_t i, int *tz)
{
	int hh, mm, sign;

	if (i + 1 == len && (s[i] == 'Z' || s[i] == 'z')) {
		*tz = 0;
		return 0;
	}
	if (i >= len || (s[i] != '+' && s[i] != '-'))
		return -1;
	sign = s[i] == '-' ? -1 : 1;
	if (digits(s, len, i + 1, 2, &hh) < 0)
		return -1;
	i += 3;
	i += i < len && s[i] == ':';
	if (digits(s, len, i, 2, &mm) < 0 || i + 2 != len || hh > 23 || mm > 59)
		return -1;
	*tz = sign * (hh * 60 + mm);
	return 0;
}

int rec_parse_time(const char *s, size_t len, int64_t *ms, int *tz)
{
	int y, mo, d, h, mi, sec, frac = 0;
	size_t i = 19, k;

	if (digits(s, len, 0, 4, &y) < 0 || len < 20 || s[4] != '-' ||
	    digits(s, len, 5, 2, &mo) < 0 || s[7] != '-' || digits(s, len, 8, 2, &d) < 0 ||
	    (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || digits(s, len, 11, 2, &h) < 0 ||
	    s[13] != ':' || digits(s, len, 14, 2, &mi) < 0 || s[16] != ':' ||
	    digits(s, len, 17, 2, &sec) < 0)
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return -1;
	if (s[i] == '.' || s[i] == ',') {
		for (k = ++i; i < len && s[i] >= '0' && s[i] <= '9'; i++)
			if (i - k < 3)
				frac = frac * 10 + (s[i] - '0');
		if (i == k)
			return -1;
		for (; i - k < 3; k--)
			frac *= 10;
	}
	if (zone(s, len, i, tz) < 0)
		return -1;
	*ms = ((days_from_civil(y, mo, d) * 24 + h) * 60 + mi - *tz) * 60000 +
	      (int64_t)sec * 1000 + frac;
	return 0;
}

static void no_time(struct rec_event *ev)
{
	ev->at = 0;
	ev->tz = 0;
	ev->at_text = NULL;
}

/* Keeps the event's ReceivedAt value: ev->at, ev->tz, ev->at_text. */
static int take_time(struct rec_reader *r, struct rec_event *ev, const char *s, size_t len)
{
	if (len >= sizeof r->at_text || rec_parse_time(s, len, &ev->at, &ev->tz) < 0) {
		int shown = len > 40 ? 40 : (int)len;
		return fail(r, ev->offset, "ReceivedAt is not a time with a UTC offset: \"%.*s%s\"",
			    shown, s, len > 40 ? "..." : "");
	}
	memcpy(r->at_text, s, len);
	r->at_text[len] = '\0';
	ev->at_text = r->at_text;
	return 0;
}

/* ---------- raw ---------- */

static int is_name(const char *s, size_t len, const char *name, size_t nlen)
{
	return len == nlen && !strncasecmp(s, name, nlen);
}

/* Header k left out of v's header list (a copy of it). */
static void drop_header(struct rec_reader *r, struct ami_view *v, size_t k, size_t le, size_t cut)
{
	if (r->hcap < v->n) {
		r->hcap = v->n;
		r->h = xrealloc(r->h, r->hcap * sizeof *r->h);
	}
	for (size_t i = 0, j = 0; i < v->n; i++) {
		struct ami_header x = v->h[i];
		if (i == k)
			continue;
		if (x.name >= le)
			x.name -= (uint32_t)cut;
		if (x.value >= le)
			x.value -= (uint32_t)cut;
		r->h[j++] = x;
	}
	v->h = r->h;
	v->n--;
}

/* The event without header k (its ReceivedAt): the wire bytes and headers
 * are copied with that line left out. When that would frame differently
 * (a CRLF blank line right after a bare "\n" line end is not the end of a
 * message: see msg.c), which tail-events never writes, the event comes
 * without wire bytes. */
static void cut_header(struct rec_reader *r, struct ami_view *v, size_t k)
{
	const char *w = v->wire;
	size_t ls = v->h[k].name, vend = (size_t)v->h[k].value + v->h[k].value_len, le, cut, n;
	const char *nl = memchr(w + vend, '\n', v->wire_len - vend);

	le = nl ? (size_t)(nl - w) + 1 : vend;
	cut = le - ls;
	if (ls >= 1 && w[ls - 1] == '\n' && (ls < 2 || w[ls - 2] != '\r') && le + 1 < v->wire_len &&
	    w[le] == '\r' && w[le + 1] == '\n') {
		drop_header(r, v, k, v->wire_len, 0);
		v->wire = NULL;
		v->wire_len = v->body = 0;
		return;
	}
	if (r->copy_cap < v->wire_len + SLACK) {
		r->copy_cap = v->wire_len + SLACK;
		free(r->copy);
		r->copy = xmalloc(r->copy_cap);
	}
	memcpy(r->copy, w, ls);
	memcpy(r->copy + ls, w + le, v->wire_len - le);
	n = v->wire_len - cut;
	memset(r->copy + n, 0, SLACK);
	drop_header(r, v, k, le, cut);
	if (v->event) {
		size_t e = (size_t)(v->event - w);
		v->event = r->copy + (e >= le ? e - cut : e);
	}
	v->base = v->wire = r->copy;
	v->wire_len = n;
	v->body -= cut;
	v->lim = r->copy + n + SLACK;
}

/* The last header called ReceivedAt (tail-events appends it), or -1. */
static long received_at(const struct ami_view *v)
{
	for (size_t i = v->n; i-- > 0;)
		if (is_name(v->base + v->h[i].name, v->h[i].name_len, RECEIVED_AT, RECEIVED_AT_LEN))
			return (long)i;
	return -1;
}

/* Bytes at the end that no event covers are damage, unless blank: a line
 * end added to them must leave nothing (the parser drops blank lines
 * between messages). An event that lacks only its blank line is cut too:
 * nothing says its last header is whole. */
static int raw_tail(struct rec_reader *r)
{
	size_t left = ami_parser_pending(r->p);
	struct ami_view v;

	if (left == 0)
		return 0;
	ami_parser_feed(r->p, "\n", 1);
	if (ami_parser_next_view(r->p, &v, 0) == 0 && ami_parser_pending(r->p) == 0)
		return 0;
	return fail(r, r->fed - left, "the recording ends inside an event (truncated?)");
}

static int raw_next(struct rec_reader *r, struct rec_event *ev)
{
	for (;;) {
		struct ami_view *v = &ev->v;
		size_t len;
		long k;
		int got = ami_parser_next_view(r->p, v, 1);

		no_time(ev);
		if (got < 0)
			return fail(r, r->fed - ami_parser_pending(r->p), "%s",
				    ami_parser_error(r->p));
		if (got == 0)
			return r->eof ? raw_tail(r) : 0;
		ev->offset = r->fed - ami_parser_pending(r->p) - v->wire_len;
		if (!v->event) {
			if (!ami_view_get(v, "Response", &len))
				return fail(r, ev->offset, "not an AMI event (no Event: header)");
			r->skipped++;
			continue;
		}
		if ((k = received_at(v)) < 0)
			return 1;
		if (take_time(r, ev, v->base + v->h[k].value, v->h[k].value_len) < 0)
			return -1;
		if (v->wire)
			cut_header(r, v, (size_t)k);
		return 1;
	}
}

/* ---------- json ---------- */

/* A JSON value as header values: a string, a number as written, or an
 * array of those (a repeated header). */
static int add_value(struct ami_msg *m, const char *name, const cJSON *x)
{
	char num[64];
	const char *s = x->valuestring;

	if (cJSON_IsArray(x)) {
		const cJSON *e;
		cJSON_ArrayForEach(e, x)
			if (cJSON_IsArray(e) || add_value(m, name, e) < 0)
				return -1;
		return 0;
	}
	if (cJSON_IsNumber(x)) {
		double d = x->valuedouble;
		if (d > -9e15 && d < 9e15 && d == (double)(long long)d)
			snprintf(num, sizeof num, "%lld", (long long)d);
		else
			snprintf(num, sizeof num, "%.17g", d);
		s = num;
	} else if (!cJSON_IsString(x)) {
		return -1;
	}
	return ami_msg_add(m, name, s);
}

/* One NDJSON line (not blank) into r->m; 1 an event, 0 a response (to be
 * skipped), -1 damage. */
static int json_line(struct rec_reader *r, struct rec_event *ev, const char *s, size_t len)
{
	const char *end = NULL;
	cJSON *o = cJSON_ParseWithLengthOpts(s, len, &end, 0);
	const cJSON *x, *at = NULL;
	int rc = 1;

	if (!o || !cJSON_IsObject(o)) {
		/* cJSON points at the last byte when the text stops short */
		int cut = !o && end && end + 1 >= s + len;
		uint64_t where = ev->offset + (o || cut || !end || end < s ? 0 : (uint64_t)(end - s));
		cJSON_Delete(o);
		return fail(r, where, "%s", o ? "not a JSON object" : cut ?
			    "the line ends inside a JSON object (truncated?)" : "not valid JSON");
	}
	while (end < s + len && blank(*end))
		end++;
	if (end < s + len) {
		cJSON_Delete(o);
		return fail(r, ev->offset + (uint64_t)(end - s), "more after the JSON object");
	}
	ami_msg_clear(&r->m);
	cJSON_ArrayForEach(x, o)
		if (x->string && !strcasecmp(x->string, RECEIVED_AT))
			at = x;
	cJSON_ArrayForEach(x, o) {
		if (x == at)
			continue;
		if (!x->string || add_value(&r->m, x->string, x) < 0) {
			rc = fail(r, ev->offset, "\"%.40s\" is not a string, a number or a list of them"
				  " (or has CR, LF or NUL)", x->string ? x->string : "");
			break;
		}
	}
	if (rc > 0 && at && (!cJSON_IsString(at) ||
			     take_time(r, ev, at->valuestring, strlen(at->valuestring)) < 0))
		rc = r->failed ? -1 : fail(r, ev->offset, "ReceivedAt is not a string");
	cJSON_Delete(o);
	if (rc > 0 && !ami_msg_get(&r->m, "Event")) {
		if (!ami_msg_get(&r->m, "Response"))
			return fail(r, ev->offset, "not an AMI event (no \"Event\" key)");
		return 0;
	}
	return rc;
}

static int json_next(struct rec_reader *r, struct rec_event *ev)
{
	for (;;) {
		const char *s = r->buf + r->start, *nl;
		size_t n = r->end - r->start, len;
		int got;

		nl = memchr(r->buf + r->scan, '\n', r->end - r->scan);
		if (!nl) {
			r->scan = r->end;
			if (n > JSON_MAX_LINE)
				return fail(r, r->fed - n, "line longer than %u bytes", JSON_MAX_LINE);
			if (!r->eof || n == 0)
				return 0;
			len = n;        /* the last line, without its '\n' */
		} else {
			len = (size_t)(nl - s);
		}
		ev->offset = r->fed - n;
		r->start += len + (nl != NULL);
		r->scan = r->start;
		while (len > 0 && blank(s[len - 1]))
			len--;
		if (len == 0)
			continue;
		no_time(ev);
		if ((got = json_line(r, ev, s, len)) < 0)
			return -1;
		if (got == 0) {
			r->skipped++;
			continue;
		}
		ami_view_of_msg(&ev->v, &r->m);
		return 1;
	}
}

int rec_next(struct rec_reader *r, struct rec_event *ev)
{
	if (r->failed)
		return -1;
	if (r->format == REC_UNKNOWN && !sniff(r))
		return 0;
	return r->format == REC_RAW ? raw_next(r, ev) : json_next(r, ev);
}

/* ---------- reading a file descriptor ---------- */

long rec_read(struct rec_reader *r, int fd)
{
	size_t room;
	char *s = rec_space(r, &room);
	ssize_t n = read(fd, s, room);

	if (n < 0) {
		if (errno != EINTR) {
			snprintf(r->err, sizeof r->err, "byte %llu: read error: %s",
				 (unsigned long long)r->fed, strerror(errno));
			r->failed = 1;
			r->rc = RC_IO;
		}
		return -1;
	}
	if (n == 0)
		rec_eof(r);
	rec_commit(r, (size_t)n);
	return (long)n;
}

int rec_next_fd(struct rec_reader *r, int fd, struct rec_event *ev)
{
	for (;;) {
		int got = rec_next(r, ev);
		if (got != 0)
			return got;
		if (r->eof)
			return 0;
		if (rec_read(r, fd) < 0)
			return r->failed ? -1 : REC_EINTR;
	}
}
