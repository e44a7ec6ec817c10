/* serve.c - `ami serve FILE`: an AMI server that plays a recording to every
 * client that logs in, paced by the events' ReceivedAt, so AMI scripts and
 * dashboards can run against a recorded day of a PBX without the PBX.
 *
 * One thread, non-blocking sockets and poll(): every client has its own
 * place in the recording, and a write goes out as runs of consecutive
 * events taken straight from the recording's buffer (writev), so a slow
 * client never holds up the others and a fast one is served at the speed
 * of the kernel's copies. The protocol is common/amiserver.c's; the
 * recording, common/replay.c's. It never connects anywhere. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cmds.h"
#include "recording.h"
#include "replay.h"
#include "secret.h"
#include "serve.h"

const char cmd_serve_help[] =
	"usage: ami serve [--listen ADDR:PORT] [--speed X] [--loop] [options] FILE\n"
	"\n"
	"Serve a recording (what 'ami tail-events --format raw|json --timestamp'\n"
	"writes; - reads it from stdin) as an Asterisk Manager Interface: every\n"
	"client that logs in gets its events from the start, paced by their\n"
	"ReceivedAt. Prints \"listening on ADDR:PORT\" when ready; runs until\n"
	"SIGINT or SIGTERM (exit 0). Connects to nothing. A client logs in as\n"
	"demo, secret demo, unless -u/--user and --secret-file say otherwise.\n"
	"\n"
	"      --listen ADDR:PORT  address to listen on (default 127.0.0.1:5038;\n"
	"                          port 0: a free port, printed)\n"
	"      --speed X           replay X times as fast (default 1); max: no pauses\n"
	"      --realtime          the same as --speed 1\n"
	"      --loop              after the last event, start again\n"
	"      --write-timeout MS  drop a client that takes nothing for MS ms\n"
	"                          (default 100, as Asterisk's writetimeout)\n";

enum { OPT_LISTEN = OPT_CMD_BASE, OPT_SPEED, OPT_REALTIME, OPT_LOOP, OPT_WRITE_TIMEOUT };

static const struct option longopts[] = {
	COMMON_LONGOPTS,
	{ "listen", required_argument, NULL, OPT_LISTEN },
	{ "speed", required_argument, NULL, OPT_SPEED },
	{ "realtime", no_argument, NULL, OPT_REALTIME },
	{ "loop", no_argument, NULL, OPT_LOOP },
	{ "write-timeout", required_argument, NULL, OPT_WRITE_TIMEOUT },
	{ NULL, 0, NULL, 0 },
};

#define DEMO_USER "demo"
#define DEMO_SECRET "demo"
#define DEFAULT_LISTEN "127.0.0.1:5038"

/* ---------- options ---------- */

/* Refuses what only makes sense for connecting: serve listens. */
static int refuse_client_options(const struct ctx *ctx)
{
	const struct overrides *o = &ctx->ov;

	if (o->profile || o->config_file)
		return usage_error("%s: serve reads no profile; it takes -u and --secret-file",
				   o->profile ? "--profile" : "--config");
	for (int k = 0; k < K_NFILE_KEYS; k++)
		if (o->key[k] && k != K_USERNAME && k != K_SECRET_FILE)
			return usage_error("%s is for connecting; serve listens (--listen ADDR:PORT)",
					   config_keys[k].flag ? config_keys[k].flag : config_keys[k].name);
	if (ctx->parallel || ctx->unordered)
		return usage_error("%s is for running against several profiles; serve is one server",
				   ctx->parallel ? "--parallel" : "--unordered");
	return RC_OK;
}

static int parse_speed(const char *s, double *speed)
{
	char *end;

	if (!strcmp(s, "max")) {
		*speed = INFINITY;
		return 0;
	}
	errno = 0;
	*speed = strtod(s, &end);
	if (errno || end == s || *end || !(*speed > 0) || isinf(*speed) || *s == '-' || *s == ' ')
		return -1;
	return 0;
}

static int serve_option(struct serve *sv, struct ctx *ctx, int ch, const char *arg)
{
	unsigned long n;

	switch (ch) {
	case OPT_LISTEN: sv->listen = arg; break;
	case OPT_REALTIME: sv->speed = 1; break;
	case OPT_LOOP: sv->loop = 1; break;
	case OPT_SPEED:
		if (parse_speed(arg, &sv->speed) != 0)
			return usage_error("--speed: expected a number above 0 or max, not \"%s\"", arg);
		break;
	case OPT_WRITE_TIMEOUT:
		if (parse_uint(arg, 3600000, &n) != 0 || n == 0)
			return usage_error("--write-timeout: not a positive number of milliseconds: %s", arg);
		sv->write_timeout_ms = (int)n;
		break;
	default:
		return ctx_option(ctx, ch, arg);
	}
	return RC_CONTINUE;
}

/* The accepted secret: --secret-file, --secret-stdin, or the demo one. */
static int read_secret(struct serve *sv, const struct ctx *ctx)
{
	if (ctx->ov.secret_stdin && !strcmp(sv->file, "-"))
		return usage_error("--secret-stdin: stdin is the recording");
	if (ctx->ov.key[K_SECRET_FILE])
		return secret_read_file(ctx->ov.key[K_SECRET_FILE], &sv->secret);
	if (ctx->ov.secret_stdin)
		return secret_read_stdin(&sv->secret);
	sv->secret = xstrdup(DEMO_SECRET);
	return RC_OK;
}

/* ---------- the recording ---------- */

/* Reads the recording whole into sv->replay, through common/recording.c.
 * A signal ends it early (the caller then stops). */
static int serve_load(struct serve *sv)
{
	int stdin_ = !strcmp(sv->file, "-");
	int fd = stdin_ ? STDIN_FILENO : open(sv->file, O_RDONLY | O_CLOEXEC);
	struct rec_reader *r;
	struct rec_event ev;
	int got, rc = RC_OK;

	if (fd < 0) {
		log_error("cannot open %s:", sv->file);
		return RC_IO;
	}
	r = rec_new();
	while (!interrupted && (got = rec_next_fd(r, fd, &ev)) != 0) {
		if (got == 1)
			replay_add_view(&sv->replay, &ev.v, ev.at ? (double)ev.at / 1000 : NAN);
		else if (got != REC_EINTR) {
			log_error("%s: %s", stdin_ ? "stdin" : sv->file, rec_error(r));
			rc = rec_rc(r);
			break;
		}
	}
	if (rc == RC_OK && !interrupted && sv->replay.n == 0)
		log_warn("%s holds no events: clients will get none", stdin_ ? "stdin" : sv->file);
	log_info("%zu events, %.1f s of them", sv->replay.n,
		 sv->replay.n ? (double)sv->replay.ev[sv->replay.n - 1].at_us / 1e6 : 0.0);
	rec_free(r);
	if (!stdin_)
		close(fd);
	return rc;
}

/* ---------- the listening socket ---------- */

/* "ADDR:PORT", "[V6ADDR]:PORT", or a bare port for 127.0.0.1. Anything
 * but a loopback address needs a secret of the user's own: the demo one
 * is public. */
static int open_listener(struct serve *sv, int own_secret)
{
	char host[256] = "127.0.0.1", port[16];
	const char *spec = sv->listen, *colon = strrchr(spec, ':');
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICHOST |
				  AI_NUMERICSERV }, *ai = NULL;
	unsigned long p;
	int one = 1, fd = -1, err;

	if (colon) {
		size_t n = (size_t)(colon - spec);
		if (n >= 2 && spec[0] == '[' && spec[n - 1] == ']')
			spec++, n -= 2;
		if (n == 0 || n >= sizeof host)
			return usage_error("--listen: expected ADDR:PORT, not \"%s\"", sv->listen);
		memcpy(host, spec, n);
		host[n] = '\0';
	}
	if (parse_uint(colon ? colon + 1 : spec, 65535, &p) != 0)
		return usage_error("--listen: expected ADDR:PORT, not \"%s\"", sv->listen);
	snprintf(port, sizeof port, "%lu", p);
	if ((err = getaddrinfo(host, port, &hints, &ai)) != 0)
		return usage_error("--listen: not a numeric address: %s", host);
	if (!own_secret && !(ai->ai_family == AF_INET ?
		(ntohl(((struct sockaddr_in *)ai->ai_addr)->sin_addr.s_addr) >> 24) == 127 :
		IN6_IS_ADDR_LOOPBACK(&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr))) {
		freeaddrinfo(ai);
		return usage_error("--listen %s is not a loopback address: give the secret with "
				   "--secret-file (the demo secret is public)", sv->listen);
	}
	if ((fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 128) < 0) {
		log_error("cannot listen on %s:", sv->listen);
		if (fd >= 0)
			close(fd);
		freeaddrinfo(ai);
		return RC_IO;
	}
	freeaddrinfo(ai);
	sv->listen_fd = fd;
	return RC_OK;
}

/* "listening on ADDR:PORT", with the port the kernel chose for port 0. */
static int announce(const struct serve *sv)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	char addr[INET6_ADDRSTRLEN], port[8];

	getsockname(sv->listen_fd, (struct sockaddr *)&ss, &len);
	getnameinfo((struct sockaddr *)&ss, len, addr, sizeof addr, port, sizeof port,
		    NI_NUMERICHOST | NI_NUMERICSERV);
	out_printf(ss.ss_family == AF_INET6 ? "listening on [%s]:%s\n" : "listening on %s:%s\n",
		   addr, port);
	return out_flush();
}

/* ---------- the command ---------- */

/* Returns RC_CONTINUE to serve, or what to exit with (RC_OK after --help). */
static int parse_args(struct serve *sv, int argc, char **argv, struct ctx *ctx)
{
	int ch, rc;

	while ((ch = getopt_long(argc, argv, COMMON_SHORTOPTS, longopts, NULL)) != -1)
		if ((rc = serve_option(sv, ctx, ch, optarg)) != RC_CONTINUE)
			return rc;
	if (optind != argc - 1)
		return usage_error(optind < argc ? "one recording at a time" : "a recording to serve is needed");
	sv->file = argv[optind];
	if ((rc = refuse_client_options(ctx)) != RC_OK)
		return rc;
	sv->user = ctx->ov.key[K_USERNAME] ? ctx->ov.key[K_USERNAME] : DEMO_USER;
	if (!*sv->user)
		return usage_error("--user is empty");
	return RC_CONTINUE;
}

int cmd_serve(int argc, char **argv, struct ctx *ctx)
{
	struct serve sv;
	int rc;

	memset(&sv, 0, sizeof sv);
	sv.listen = DEFAULT_LISTEN;
	sv.speed = 1;
	sv.write_timeout_ms = 100;
	sv.listen_fd = -1;
	replay_init(&sv.replay);
	if ((rc = parse_args(&sv, argc, argv, ctx)) != RC_CONTINUE ||
	    (rc = read_secret(&sv, ctx)) != RC_OK)
		goto out;
	if ((rc = serve_load(&sv)) != RC_OK || interrupted)
		goto out;       /* a signal while reading: nobody to tell, exit 0 */
	if ((rc = open_listener(&sv, ctx->ov.key[K_SECRET_FILE] || ctx->ov.secret_stdin)) != RC_OK)
		goto out;
	if ((rc = announce(&sv)) == RC_OK)
		rc = serve_run(&sv);
out:
	if (sv.listen_fd >= 0)
		close(sv.listen_fd);
	replay_free(&sv.replay);
	secret_free(sv.secret);
	return rc;
}
