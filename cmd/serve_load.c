/* serve_load.c - TEMPORARY: reads a raw recording until common/recording.c
 * lands; then this file goes. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmds.h"
#include "serve.h"

/* "2026-12-06T02:02:48.478+01:00" -> epoch seconds, or NAN. */
static double parse_iso(const char *s)
{
	struct tm tm;
	int y, mo, d, h, mi, sec, ms = 0, oh = 0, om = 0, n = 0;
	char sign = '+';

	if (sscanf(s, "%d-%d-%dT%d:%d:%d.%3d%c%d:%d%n", &y, &mo, &d, &h, &mi, &sec, &ms, &sign, &oh,
		   &om, &n) < 10)
		return NAN;
	memset(&tm, 0, sizeof tm);
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	double t = (double)timegm(&tm) + ms / 1000.0;
	return sign == '-' ? t + oh * 3600 + om * 60 : t - oh * 3600 - om * 60;
}

int serve_load(struct serve *sv)
{
	FILE *f = strcmp(sv->file, "-") ? fopen(sv->file, "rb") : stdin;
	struct ami_parser *p;
	struct ami_msg m;
	char buf[65536];
	size_t n;
	int r, rc = RC_OK;

	if (!f) {
		log_error("cannot open %s:", sv->file);
		return RC_IO;
	}
	p = ami_parser_new(&ami_default_limits, 0);
	ami_msg_init(&m);
	while (!interrupted && (n = fread(buf, 1, sizeof buf, f)) > 0) {
		ami_parser_feed(p, buf, n);
		while ((r = ami_parser_next(p, &m)) == 1) {
			const char *at = ami_msg_get(&m, "ReceivedAt");
			replay_add_msg(&sv->replay, &m, at ? parse_iso(at) : NAN);
		}
		if (r < 0) {
			log_error("%s: %s", sv->file, ami_parser_error(p));
			rc = RC_PROTOCOL;
			break;
		}
	}
	if (f != stdin)
		fclose(f);
	ami_msg_free(&m);
	ami_parser_free(p);
	return rc;
}
