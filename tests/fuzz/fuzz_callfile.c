/* fuzz_callfile.c - libFuzzer target for the call-file code (common/callfile.c).
 *
 * data[0..2] are control bytes, the rest is both a call file and a list of
 * NUL-separated fields. Each input goes through
 *   1. callfile_check on the raw bytes, checking the report: as many
 *      errors as CF_ERROR problems, line numbers within the file, no line
 *      end in a message, a summary Asterisk could have (Tech without '/',
 *      numbers in range), and cf_target on it;
 *   2. cf_parse_duration and cf_parse_at on every line;
 *   3. callfile_build from the fields (channel, two target fields,
 *      callerid, account, codecs, up to 3 Setvar values) with flags and
 *      numbers from the control bytes. A file the builder accepts must come
 *      back from the checker without a single problem and with the same
 *      channel, target, numbers and flags: the builder promises files that
 *      Asterisk's reader takes byte for byte.
 *
 *   make fuzz FUZZ_SECONDS=60       (all targets), or by hand:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_POSIX_C_SOURCE=200809L \
 *       -D_DEFAULT_SOURCE -Icommon tests/fuzz/fuzz_callfile.c common/callfile.c \
 *       common/util.c -o fuzz_callfile
 *   ./fuzz_callfile -max_total_time=60 tests/fuzz/corpus/callfile */
#include "callfile.h"
#include "util.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NCTL 3

/* ---- 1. the checker on raw bytes ------------------------------------------ */

static int has_line_end(const char *s)
{
	return s && strpbrk(s, "\n") != NULL;
}

static void check_report(const struct cf_report *r, size_t len, const char *buf)
{
	const struct cf_summary *s = &r->s;
	unsigned lines = 0, errors = 0;
	char *target;

	for (size_t i = 0; i < len; i++)
		lines += buf[i] == '\n';
	lines += len > 0 && buf[len - 1] != '\n';
	for (size_t i = 0; i < r->n; i++) {
		if (!r->p[i].msg || !*r->p[i].msg || has_line_end(r->p[i].msg) ||
		    r->p[i].line > lines)
			abort();
		errors += r->p[i].sev == CF_ERROR;
	}
	if (errors != r->errors || r->n > r->cap)
		abort();
	if (!s->tech != !s->dest || (s->tech && strchr(s->tech, '/')))
		abort();
	if (s->priority < 1 || s->retry_time < 1 || s->wait_time < 1 || s->max_retries < 0 ||
	    s->retries < 0)
		abort();
	if (has_line_end(s->tech) || has_line_end(s->dest) || has_line_end(s->app) ||
	    has_line_end(s->data) || has_line_end(s->context) || has_line_end(s->exten) ||
	    has_line_end(s->status))
		abort();
	/* Without a valid channel or target the file is never called. */
	if ((!s->tech || !*s->tech || !s->dest || !*s->dest) && !r->errors)
		abort();
	target = cf_target(s);
	if (!target && !r->errors)
		abort();
	free(target);
}

/* ---- 2. the time parsers, line by line -------------------------------------- */

static void fuzz_times(const char *d, size_t n)
{
	size_t pos = 0;

	while (pos < n) {
		const char *nl = memchr(d + pos, '\n', n - pos);
		size_t len = nl ? (size_t)(nl - (d + pos)) : n - pos;
		char *s = xstrndup(d + pos, len), err[256];
		long secs;
		time_t t;

		if (cf_parse_duration(s, &secs) == 0 && (secs < 0 || secs > 10L * 366 * 86400))
			abort();
		err[0] = '\0';
		if (cf_parse_at(s, &t, err, sizeof err) != 0 && !err[0])
			abort();            /* a refusal always says why */
		if (s[0] == '@' && cf_parse_at(s, &t, err, sizeof err) == 0 &&
		    (long long)t != strtoll(s + 1, NULL, 10))
			abort();
		free(s);
		pos += len + 1;
	}
}

/* ---- 3. build, then check what was built ---------------------------------- */

#define NFIELDS 9

static const long numbers[8] = { -1, 0, 1, 2, 45, 300, INT_MAX, (long)INT_MAX + 1 };

static int same(const char *a, const char *b)
{
	return a && b && !strcmp(a, b);
}

/* The built file read back must say exactly what was asked. */
static void check_round_trip(const struct callfile *cf, const char *text, size_t len)
{
	struct cf_report r;
	const char *slash = strchr(cf->channel, '/');

	if (strlen(text) != len)
		abort();
	callfile_check(text, len, &r);
	if (r.n != 0) {
		fprintf(stderr, "built file:\n%s\nchecker says (line %u): %s\n", text,
			r.p[0].line, r.p[0].msg);
		abort();
	}
	if (!r.s.tech || strlen(r.s.tech) != (size_t)(slash - cf->channel) ||
	    strncmp(r.s.tech, cf->channel, (size_t)(slash - cf->channel)) ||
	    !same(r.s.dest, slash + 1))
		abort();
	if (cf->app) {
		if (!same(r.s.app, cf->app) || (cf->data && *cf->data && !same(r.s.data, cf->data)))
			abort();
	} else if (!same(r.s.context, cf->context) || !same(r.s.exten, cf->exten) ||
		   r.s.priority != (cf->priority == -1 ? 1 : cf->priority)) {
		abort();
	}
	if ((cf->max_retries != -1 && r.s.max_retries != cf->max_retries) ||
	    (cf->retry_time != -1 && r.s.retry_time != cf->retry_time) ||
	    (cf->wait_time != -1 && r.s.wait_time != cf->wait_time) ||
	    r.s.archive != cf->archive || r.s.early_media != cf->early_media ||
	    r.s.always_delete != (cf->always_delete != 0))
		abort();
	cf_report_free(&r);
}

/* Splits d at NUL bytes into at most NFIELDS strings (NULL when absent). */
static char *split_fields(const char *d, size_t n, const char *f[NFIELDS])
{
	char *copy = xstrndup(d, n);
	size_t pos = 0;

	for (int i = 0; i < NFIELDS; i++) {
		f[i] = pos <= n ? copy + pos : NULL;
		pos += f[i] ? strlen(f[i]) + 1 : 0;
	}
	return copy;
}

static void fuzz_build(const uint8_t *ctl, const char *d, size_t n)
{
	const char *f[NFIELDS], *vars[3];
	struct callfile cf;
	char err[300], *text, *copy = split_fields(d, n, f);
	size_t len = 0, nvars = 0;

	callfile_init(&cf);
	cf.channel = f[0];
	if (ctl[0] & 1) {
		cf.app = f[1];
		cf.data = (ctl[0] & 2) ? f[2] : NULL;
	} else {
		cf.context = f[1];
		cf.exten = f[2];
		cf.priority = numbers[ctl[1] & 7];
	}
	cf.callerid = (ctl[0] & 4) ? f[3] : NULL;
	cf.account = (ctl[0] & 8) ? f[4] : NULL;
	cf.codecs = (ctl[0] & 16) ? f[5] : NULL;
	for (int i = 6; i < NFIELDS; i++)
		if (f[i] && *f[i])
			vars[nvars++] = f[i];
	cf.vars = vars;
	cf.nvars = nvars;
	cf.archive = (ctl[0] >> 5) & 1;
	cf.early_media = !cf.app && ((ctl[0] >> 6) & 1);  /* ignored with an app: a warning */
	cf.always_delete = (int)((ctl[1] >> 3) % 3) - 1;
	cf.wait_time = numbers[(ctl[1] >> 5) & 7];
	cf.max_retries = numbers[ctl[2] & 7];
	cf.retry_time = numbers[(ctl[2] >> 3) & 7];
	err[0] = '\0';
	text = callfile_build(&cf, &len, err, sizeof err);
	if (text)
		check_round_trip(&cf, text, len);
	else if (!err[0])
		abort();                /* a refusal always says why */
	free(text);
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cf_report r;
	const char *d = (const char *)data + NCTL;
	size_t n;

	if (size < NCTL)
		return 0;
	n = size - NCTL;
	callfile_check(d, n, &r);
	check_report(&r, n, d);
	cf_report_free(&r);
	fuzz_times(d, n);
	fuzz_build(data, d, n);
	return 0;
}
