/* ctx.c - the context every command runs in: the shared options
 * (ctx_option), the session it opens or reuses (ctx_session), and the
 * checks of user values the commands share. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmds.h"
#include "fleet.h"

const char common_options_help[] =
	"Connection and output options (any command, before or after its name):\n"
	"  -p, --profile NAME      use profile NAME from the config file; NAME,NAME,...,\n"
	"                          @GROUP or @all: ping, action, command, tail-events and\n"
	"                          doctor run on each at once, records tagged AmiProfile\n"
	"      --parallel N        with several profiles, at most N at once (default 32)\n"
	"      --unordered         with several profiles, each answer as it completes\n"
	"  -H, --host HOST         AMI host (default 127.0.0.1)\n"
	"      --port PORT         AMI port (default 5038; 5039 with --tls)\n"
	"  -u, --user NAME         AMI username\n"
	"      --secret-file FILE  read the secret from FILE (must be mode 0600)\n"
	"      --secret-stdin      read the secret from the first line of stdin\n"
	"      --auth plain|md5    login method (default plain)\n"
	"  -t, --timeout SECONDS   bound for connect, login and each response (default 10)\n"
	"      --config FILE       config file (default $XDG_CONFIG_HOME/ami/config)\n"
	"      --tls               AMI over TLS (default port 5039)\n"
	"      --url URL           AMI over HTTP(S), e.g. http://pbx:8088/\n"
	"      --http-auth cookie|digest      HTTP login method (default cookie)\n"
	"      --http-encoding rawman|mxml    HTTP body format (default rawman)\n"
	"      --cacert FILE       CA certificates to verify the TLS server with\n"
	"      --insecure          do not verify the TLS certificate (warns)\n"
	"      --format text|raw|json  output format (default text)\n"
	"  -j, --json              same as --format json\n"
	"  -v, --verbose           show target and timings; -vv adds a wire trace\n"
	"  -q, --quiet             print only data and errors\n"
	"  -h, --help              show this help\n";

void ctx_init(struct ctx *ctx)
{
	memset(ctx, 0, sizeof *ctx);
	overrides_init(&ctx->ov);
	ctx->fmt = OUT_TEXT;
}

void opt_reset(void)
{
	optind = 0;     /* glibc: 0 also re-initialises its internal state */
}

static void print_help(const struct ctx *ctx)
{
	if (ctx->cmd) {
		out_puts(ctx->cmd->help);
		out_puts("\n");
	}
	out_puts(common_options_help);
}

int ctx_option(struct ctx *ctx, int ch, const char *arg)
{
	struct overrides *o = &ctx->ov;

	switch (ch) {
	case 'p': o->profile = arg; break;
	case OPT_CONFIG: o->config_file = arg; break;
	case OPT_SECRET_STDIN: o->secret_stdin = 1; break;
	case 'H': o->key[K_HOST] = arg; break;
	case OPT_PORT: o->key[K_PORT] = arg; break;
	case 'u': o->key[K_USERNAME] = arg; break;
	case OPT_SECRET_FILE: o->key[K_SECRET_FILE] = arg; break;
	case OPT_AUTH: o->key[K_AUTH] = arg; break;
	case OPT_URL: o->key[K_URL] = arg; break;
	case OPT_TLS: o->key[K_TRANSPORT] = "tls"; break;
	case OPT_CACERT: o->key[K_CACERT] = arg; break;
	case OPT_INSECURE: o->key[K_INSECURE] = "yes"; break;
	case OPT_HTTP_AUTH: o->key[K_HTTP_AUTH] = arg; break;
	case OPT_HTTP_ENCODING: o->key[K_HTTP_ENCODING] = arg; break;
	case OPT_PARALLEL:
		if (parse_uint(arg, 1024, &ctx->parallel) != 0 || ctx->parallel == 0)
			return usage_error("--parallel: not a number from 1 to 1024: %s", arg);
		break;
	case OPT_UNORDERED: ctx->unordered = 1; break;
	case 'v': verbosity = verbosity < 0 ? 1 : verbosity + 1; break;
	case 'q': verbosity = -1; break;
	case 'j': ctx->fmt = OUT_JSON; break;
	case 't':
		if (parse_seconds(arg, &o->timeout_ms) != 0)
			return usage_error("--timeout: not a number of seconds: %s", arg);
		o->key[K_TIMEOUT] = arg;
		break;
	case OPT_FORMAT:
		if (out_parse_format(arg, &ctx->fmt) != 0)
			return usage_error("--format: expected text, raw or json, not \"%s\"", arg);
		break;
	case 'h':
		print_help(ctx);
		return RC_OK;
	default:    /* getopt already said what was wrong */
		usage_hint();
		return RC_USAGE;
	}
	out_set_format(ctx->fmt);
	return RC_CONTINUE;
}

int ctx_profile_is_list(const struct ctx *ctx)
{
	return fleet_is_list(ctx->ov.profile ? ctx->ov.profile : getenv("AMI_PROFILE"));
}

int check_user_value(const char *what, const char *value)
{
	const char *bad = bad_char_name(value, strlen(value));
	if (!bad)
		return RC_OK;
	return usage_error("%s contains %s; refusing to send it", what, bad);
}

/* A priority is a positive number or a label; "2x" would reach Asterisk's
 * sscanf("%d") as 2, so a leading digit means the whole thing is a number.
 */
int check_priority(const char *what, const char *p)
{
	unsigned long n;
	int rc;

	if ((rc = check_user_value(what, p)) != RC_OK)
		return rc;
	if (!*p)
		return usage_error("%s is empty", what);
	if ((*p >= '0' && *p <= '9' && (parse_uint(p, 2147483647UL, &n) != 0 || n == 0)) ||
	    *p == '-' || *p == '+')
		return usage_error("%s: not a positive number or a label: %s", what, p);
	return RC_OK;
}

int ctx_session(struct ctx *ctx, struct ami **out, const char *events)
{
	struct profile p;
	int rc;

	*out = NULL;
	if (ctx->ami) {     /* inside `ami shell`: the session is already open */
		*out = ctx->ami;
		if (strcmp(events, "off") && !ami_events_on(ctx->ami))
			return ami_set_events(ctx->ami, events);
		return RC_OK;
	}
	if ((rc = config_resolve(&p, &ctx->ov, CONFIG_SECRET_REQUIRED)) != RC_OK)
		return rc;
	rc = ami_open(out, &p, events);
	profile_free(&p);
	return rc;
}

void ctx_session_done(struct ctx *ctx, struct ami *a)
{
	if (a && a != ctx->ami)
		ami_close(a);
}
