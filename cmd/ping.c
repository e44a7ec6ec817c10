/* ping.c - `ami ping`: log in, send Ping, report the round trip.
 * Meant for cron health checks: -q prints nothing, the exit code says it. */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cmds.h"
#include "json.h"

const char cmd_ping_help[] =
	"usage: ami ping [-c COUNT] [-i SECONDS] [options]\n"
	"\n"
	"Connect, log in, send Ping COUNT times and print each round trip:\n"
	"  pong from HOST: seq=1 time=0.42 ms\n"
	"Exit 0 when every Ping got its Pong.\n"
	"\n"
	"  -c, --count COUNT       number of pings (default 1)\n"
	"  -i, --interval SECONDS  wait between pings (default 1)\n";

static const struct option longopts[] = {
	COMMON_LONGOPTS,
	{ "count", required_argument, NULL, 'c' },
	{ "interval", required_argument, NULL, 'i' },
	{ NULL, 0, NULL, 0 },
};

static double now_ms_precise(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int is_pong(const struct ami_msg *reply)
{
	const char *ping = ami_msg_get(reply, "Ping");
	const char *resp = ami_msg_get(reply, "Response");
	/* Asterisk >= 1.6 says "Ping: Pong"; 1.4 said "Response: Pong". */
	return (ping && !strcasecmp(ping, "Pong")) || (resp && !strcasecmp(resp, "Pong"));
}

static int report(struct ami *a, unsigned long seq, double ms, const struct ami_msg *reply)
{
	const char *ts = ami_msg_get(reply, "Timestamp");

	if (out_get_format() == OUT_JSON) {
		cJSON *o = json_object();
		json_add_string(o, "host", ami_host_label(a));
		cJSON_AddNumberToObject(o, "seq", (double)seq);
		double us = (double)(long long)(ms * 1000 + 0.5);   /* to the microsecond */
		cJSON_AddNumberToObject(o, "time_ms", us / 1000);
		if (ts)
			json_add_string(o, "timestamp", ts);
		json_print_line(o);
	} else if (verbosity >= 0) {
		out_printf("pong from %s: seq=%lu time=%.2f ms\n", ami_host_label(a), seq, ms);
	}
	return out_flush();
}

static int ping_once(struct ami *a, unsigned long seq)
{
	struct ami_msg act, reply;
	int rc;

	ami_msg_init(&act);
	ami_msg_init(&reply);
	ami_msg_add(&act, "Action", "Ping");
	double start = now_ms_precise();
	rc = ami_action(a, &act, &reply);
	double ms = now_ms_precise() - start;
	if (rc == RC_OK && !is_pong(&reply)) {
		log_error("%s answered Ping without a Pong", ami_host_label(a));
		rc = RC_ACTION;
	} else if (rc != RC_OK) {
		log_error("ping %lu: %s", seq, ami_error(a));
	} else {
		rc = report(a, seq, ms, &reply);
	}
	ami_msg_free(&act);
	ami_msg_free(&reply);
	return rc;
}

int cmd_ping(int argc, char **argv, struct ctx *ctx)
{
	unsigned long count = 1;
	int interval_ms = 1000, ch, rc;
	struct ami *a;

	while ((ch = getopt_long(argc, argv, COMMON_SHORTOPTS "c:i:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			if (parse_uint(optarg, 1000000, &count) != 0 || count == 0)
				return usage_error("--count: not a positive number: %s", optarg);
			break;
		case 'i':
			if (parse_seconds(optarg, &interval_ms) != 0)
				return usage_error("--interval: not a number of seconds: %s", optarg);
			break;
		default:
			if ((rc = ctx_option(ctx, ch, optarg)) != RC_CONTINUE)
				return rc;
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument \"%s\"", argv[optind]);
	if ((rc = ctx_session(ctx, &a, "off")) != RC_OK)
		return rc;
	for (unsigned long seq = 1; seq <= count && rc == RC_OK; seq++) {
		rc = ping_once(a, seq);
		if (rc == RC_OK && seq < count)
			rc = sleep_ms(interval_ms, -1);
	}
	ctx_session_done(ctx, a);
	return rc;
}
