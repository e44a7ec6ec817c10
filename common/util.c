/* util.c - diagnostics, allocation, numbers, clocks, secrets. */
#define _POSIX_C_SOURCE 200809L
#include "util.h"
#include "term_safe.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int verbosity;
volatile sig_atomic_t interrupted;
static const char *progname = "ami";

void log_prog(const char *name) { progname = name; }
const char *log_progname(void) { return progname; }

/* A message often quotes the server (its Message:, greeting, HTTP status
 * line): term_safe shows its control bytes instead of obeying them. The
 * line goes out in one write. */
static void vlog(const char *prefix, const char *fmt, va_list ap)
{
	int saved = errno;
	size_t n = strlen(fmt);
	char small[512], *text = small;
	struct strbuf line = { 0 };
	va_list again;

	va_copy(again, ap);
	int len = vsnprintf(small, sizeof small, fmt, ap);
	if (len >= (int)sizeof small) {
		text = xmalloc((size_t)len + 1);
		vsnprintf(text, (size_t)len + 1, fmt, again);
	}
	va_end(again);
	strbuf_adds(&line, progname);
	strbuf_adds(&line, ": ");
	strbuf_adds(&line, prefix);
	if (len > 0)
		term_safe_buf(&line, text, (size_t)len);
	if (n > 0 && fmt[n - 1] == ':') {
		strbuf_adds(&line, " ");
		strbuf_adds(&line, strerror(saved));
	}
	strbuf_add(&line, "\n", 1);
	fwrite(line.p, 1, line.len, stderr);
	strbuf_free(&line);
	if (text != small)
		free(text);
	errno = saved;
}

static struct strbuf *diverted;     /* see log_divert */

void log_divert(struct strbuf *b) { diverted = b; }

/* vlog's line, without the program name, into the diverting buffer. */
static void vdivert(const char *prefix, const char *fmt, va_list ap)
{
	int saved = errno;
	size_t n = strlen(fmt);
	char *text;
	va_list again;

	va_copy(again, ap);
	int len = vsnprintf(NULL, 0, fmt, ap);
	text = xmalloc(len > 0 ? (size_t)len + 1 : 1);
	vsnprintf(text, len > 0 ? (size_t)len + 1 : 1, fmt, again);
	va_end(again);
	strbuf_adds(diverted, prefix);
	strbuf_adds(diverted, text);
	if (n > 0 && fmt[n - 1] == ':') {
		strbuf_adds(diverted, " ");
		strbuf_adds(diverted, strerror(saved));
	}
	strbuf_add(diverted, "\n", 1);
	free(text);
	errno = saved;
}

void log_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (diverted)
		vdivert("", fmt, ap);
	else
		vlog("", fmt, ap);
	va_end(ap);
}

void log_warn(const char *fmt, ...)
{
	va_list ap;
	if (verbosity < 0 && !diverted)
		return;
	va_start(ap, fmt);
	if (diverted)
		vdivert("warning: ", fmt, ap);
	else
		vlog("warning: ", fmt, ap);
	va_end(ap);
}

void log_info(const char *fmt, ...)
{
	va_list ap;
	if (verbosity < 1)
		return;
	va_start(ap, fmt);
	vlog("", fmt, ap);
	va_end(ap);
}

void log_debug(const char *fmt, ...)
{
	va_list ap;
	if (verbosity < 2)
		return;
	va_start(ap, fmt);
	vlog("", fmt, ap);
	va_end(ap);
}

int usage_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog("", fmt, ap);
	va_end(ap);
	usage_hint();
	return RC_USAGE;
}

void usage_hint(void)
{
	fprintf(stderr, "Try '%s --help'\n", progname);
}

static void *check_alloc(void *p)
{
	if (!p) {
		/* Out of memory leaves nothing sensible to do; abort is the one
		 * exception to "only main() exits". */
		fputs("ami: out of memory\n", stderr);
		abort();
	}
	return p;
}

void *xmalloc(size_t n) { return check_alloc(malloc(n ? n : 1)); }
void *xcalloc(size_t n, size_t size) { return check_alloc(calloc(n ? n : 1, size ? size : 1)); }
void *xrealloc(void *p, size_t n) { return check_alloc(realloc(p, n ? n : 1)); }
char *xstrdup(const char *s) { return check_alloc(strdup(s)); }

char *xstrndup(const char *s, size_t n)
{
	char *d = xmalloc(n + 1);
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	int n;
	char *s;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	s = xmalloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
}

int parse_seconds(const char *s, int *ms)
{
	char *end;
	double v;

	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || v != v || v < 0 || v > 2000000.0)
		return -1;
	*ms = (int)(v * 1000.0 + 0.5);
	return 0;
}

int parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	if (!s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > max)
		return -1;
	*out = v;
	return 0;
}

int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void utc_offset_iso(const struct tm *tm, char out[8])
{
	char z[8];

	strftime(z, sizeof z, "%z", tm);
	snprintf(out, 8, "%.3s:%.2s", z, z + 3);
}

double now_wall(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int ms_left(int64_t deadline)
{
	int64_t left;

	if (deadline < 0)
		return -1;
	left = deadline - now_ms();
	if (left < 0)
		return 0;
	return left > 0x7fffffff ? 0x7fffffff : (int)left;
}

int sleep_ms(int ms, int64_t deadline)
{
	int64_t until = now_ms() + ms;

	if (deadline >= 0 && deadline < until)
		until = deadline;
	while (!interrupted && ms_left(until) > 0)
		poll(NULL, 0, ms_left(until));
	return interrupted ? RC_INTERRUPTED : RC_OK;
}

int backoff_ms(unsigned attempt, unsigned *rng)
{
	int d = 500;

	while (attempt-- > 1 && d < 30000)
		d *= 2;
	if (d > 30000)
		d = 30000;
	*rng = *rng * 1103515245u + 12345u;
	return d / 2 + (int)((*rng >> 8) % (unsigned)(d / 2 + 1));
}

int full_write(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n > 0) {
		ssize_t w = write(fd, c, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			struct pollfd pfd = { .fd = fd, .events = POLLOUT };
			poll(&pfd, 1, -1);
			continue;
		}
		if (w < 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

void secret_wipe(void *p, size_t n)
{
	volatile unsigned char *v = p;
	while (n--)
		*v++ = 0;
}

void secret_free(char *s)
{
	if (!s)
		return;
	secret_wipe(s, strlen(s));
	free(s);
}

void strbuf_add(struct strbuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t ncap = b->cap ? b->cap : 1024;
		while (b->len + n + 1 > ncap)
			ncap *= 2;
		b->p = xrealloc(b->p, ncap);
		b->cap = ncap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void strbuf_adds(struct strbuf *b, const char *s) { strbuf_add(b, s, strlen(s)); }

void strbuf_wipe(struct strbuf *b)
{
	if (b->p)
		secret_wipe(b->p, b->cap);
	b->len = 0;
}

void strbuf_free(struct strbuf *b)
{
	strbuf_wipe(b);
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

int contains_nocase(const char *hay, const char *needle)
{
	size_t n = strlen(needle);

	for (; *hay; hay++)
		if (!strncasecmp(hay, needle, n))
			return 1;
	return 0;
}

int word_index(const char *s, const char *const words[])
{
	for (int i = 0; words[i]; i++)
		if (!strcasecmp(s, words[i]))
			return i;
	return -1;
}

const char *bad_char_name(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\r')
			return "a carriage return (CR)";
		if (s[i] == '\n')
			return "a line feed (LF)";
		if (s[i] == '\0')
			return "a NUL byte";
	}
	return NULL;
}

int mkdir_parents(char *path, unsigned mode)
{
	for (char *p = strchr(path + 1, '/'); p; p = strchr(p + 1, '/')) {
		*p = '\0';
		int r = mkdir(path, (mode_t)mode);
		*p = '/';
		if (r != 0 && errno != EEXIST)
			return -1;
	}
	return 0;
}

char *state_file_path(const char *name)
{
	const char *e = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
	char *path;

	if (e && *e == '/')
		path = xasprintf("%s/ami/%s", e, name);
	else if (home && *home)
		path = xasprintf("%s/.local/state/ami/%s", home, name);
	else
		return NULL;
	if (mkdir_parents(path, 0700) != 0) {
		log_warn("cannot create the directory of %s:", path);
		free(path);
		return NULL;
	}
	return path;
}
