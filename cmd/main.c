/* main.c - the `ami` multicall binary: global options, the command table,
 * dispatch by subcommand or by an `ami-CMD` program name, --install.
 * Only main() exits; commands return an RC_* code. */
#include <cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <readline/readline.h>

#include "cmds.h"
#include "fanout.h"

/* Sorted by name; `ami --list` prints them in this order. */
const struct cmd cmd_table[] = {
	{ "action", cmd_action, cmd_action_help, "send any AMI action, lists aggregated", CMD_FANOUT },
	{ "callfile", cmd_callfile, cmd_callfile_help, "build, check, schedule and spool call files", 0 },
	{ "calls", cmd_calls, cmd_calls_help, "the calls up now; --follow: a record of each call as it ends", 0 },
	{ "command", cmd_command, cmd_command_help, "run an Asterisk CLI command", CMD_FANOUT },
	{ "config", cmd_config, cmd_config_help, "show the resolved settings of a profile", 0 },
	{ "doctor", cmd_doctor, cmd_doctor_help, "diagnose the AMI of a profile, with the fix for each problem", CMD_FANOUT },
	{ "originate", cmd_originate, cmd_originate_help, "place a call; --wait follows it to its answer or hangup", 0 },
	{ "ping", cmd_ping, cmd_ping_help, "check that the AMI answers, with round-trip times", CMD_FANOUT },
	{ "redirect", cmd_redirect, cmd_redirect_help, "move a channel, or both legs of a call, in the dialplan", 0 },
	{ "serve", cmd_serve, cmd_serve_help, "serve a recording as an AMI server, to test scripts without a PBX", 0 },
	{ "shell", cmd_shell, cmd_shell_help, "interactive AMI shell with completion; batch runner for files", 0 },
	{ "tail-events", cmd_tail_events, cmd_tail_events_help, "stream events as they arrive, filtered", 0 },
	{ "top", cmd_top, cmd_top_help, "live operator panel: calls, conferences, queues; hang up, transfer, listen", 0 },
};
const size_t cmd_count = ARRAY_LEN(cmd_table);

static const char main_help[] =
	"usage: ami [options] COMMAND [args...]\n"
	"       ami-COMMAND [args...]\n"
	"       ami --list | --install [-s] DIR | --version | help [COMMAND]\n"
	"\n"
	"A command-line toolkit for the Asterisk Manager Interface (AMI).\n"
	"\n"
	"Commands:\n";

static const char main_help_tail[] =
	"\n"
	"Exit status: 0 ok, 1 Asterisk answered Response: Error, 2 usage error,\n"
	"3 configuration error, 4 authentication failed, 5 connection failed or lost,\n"
	"6 timeout, 7 protocol error, 8 local I/O error, 130 interrupted.\n"
	"See ami(1) and 'ami help COMMAND'.\n";

const struct cmd *cmd_find(const char *name)
{
	for (size_t i = 0; i < cmd_count; i++)
		if (!strcmp(cmd_table[i].name, name))
			return &cmd_table[i];
	return NULL;
}

static void on_signal(int sig) { interrupted = sig; }

static void setup_signals(void)
{
	struct sigaction sa;

	/* A dead AMI socket must not kill us in the middle of Logoff; a dead
	 * stdout is noticed as EPIPE and ends us quietly later. */
	signal(SIGPIPE, SIG_IGN);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;      /* no SA_RESTART: poll() must wake up */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

static int print_main_help(void)
{
	out_puts(main_help);
	for (size_t i = 0; i < cmd_count; i++)
		out_printf("  %-12s %s\n", cmd_table[i].name, cmd_table[i].summary);
	out_puts("\n");
	out_puts(common_options_help);
	out_puts("      --list              print the command names\n"
		 "      --install [-s] DIR  make ami-COMMAND links in DIR (-s: symbolic)\n"
		 "      --version           print the version and library versions\n");
	out_puts(main_help_tail);
	return RC_OK;
}

static int print_version(void)
{
	out_printf("ami %s\n", AMI_VERSION);
	out_printf("%s\n", curl_version());
	out_printf("cJSON %s\n", cJSON_Version());
	out_printf("readline %s\n", rl_library_version ? rl_library_version : "unknown");
	return RC_OK;
}

static int list_commands(void)
{
	for (size_t i = 0; i < cmd_count; i++)
		out_printf("%s\n", cmd_table[i].name);
	return RC_OK;
}

static int install_links(int argc, char **argv)
{
	int symbolic = 0;
	const char *dir;
	char self[PATH_MAX];
	ssize_t n;

	if (argc > 0 && !strcmp(argv[0], "-s")) {
		symbolic = 1;
		argc--, argv++;
	}
	if (argc != 1)
		return usage_error("--install needs a directory: ami --install [-s] DIR");
	dir = argv[0];
	if ((n = readlink("/proc/self/exe", self, sizeof self - 1)) < 0) {
		log_error("cannot find the ami binary:");
		return RC_IO;
	}
	self[n] = '\0';
	for (size_t i = 0; i < cmd_count; i++) {
		char *path = xasprintf("%s/ami-%s", dir, cmd_table[i].name);
		unlink(path);
		int r = symbolic ? symlink(self, path) : link(self, path);
		if (r != 0)
			log_error("cannot create %s:", path);
		free(path);
		if (r != 0)
			return RC_IO;
	}
	return RC_OK;
}

int cmd_run(const struct cmd *c, int argc, char **argv, struct ctx *ctx)
{
	char *prog = xasprintf("ami %s", c->name);
	int rc;

	log_prog(prog);
	argv[0] = prog;     /* getopt names the command in its messages */
	ctx->cmd = c;
	opt_reset();
	rc = c->run(argc, argv, ctx);
	if (rc == RC_FANOUT)        /* the profile named several: see fanout.h */
		rc = c->flags & CMD_FANOUT ? fanout_units(ctx)
			: usage_error("%s acts on one PBX: the profile must name one, not \"%s\"",
				      c->name, ctx->ov.profile ? ctx->ov.profile : getenv("AMI_PROFILE"));
	log_prog("ami");
	free(prog);
	return rc;
}

static const struct option main_longopts[] = {
	COMMON_LONGOPTS,
	{ "version", no_argument, NULL, 'V' },
	{ "list", no_argument, NULL, 'L' },
	{ "install", no_argument, NULL, 'I' },
	{ NULL, 0, NULL, 0 },
};

/* Options before the command name. Returns RC_CONTINUE to dispatch. */
static int main_options(int argc, char **argv, struct ctx *ctx)
{
	int ch;

	while ((ch = getopt_long(argc, argv, "+" COMMON_SHORTOPTS, main_longopts, NULL)) != -1) {
		switch (ch) {
		case 'V': return print_version();
		case 'L': return list_commands();
		case 'I': return install_links(argc - optind, argv + optind);
		case 'h': return print_main_help();
		default: {
			int rc = ctx_option(ctx, ch, optarg);
			if (rc != RC_CONTINUE)
				return rc;
		}
		}
	}
	return RC_CONTINUE;
}

static int dispatch(int argc, char **argv, struct ctx *ctx)
{
	const char *base = strrchr(argv[0], '/');
	const struct cmd *c;
	int rc;

	base = base ? base + 1 : argv[0];
	if (!strncmp(base, "ami-", 4)) {    /* called through an ami-CMD link */
		if (!(c = cmd_find(base + 4)))
			return usage_error("unknown command \"%s\"", base + 4);
		return cmd_run(c, argc, argv, ctx);
	}
	if ((rc = main_options(argc, argv, ctx)) != RC_CONTINUE)
		return rc;
	argc -= optind;
	argv += optind;
	if (argc == 0)
		return usage_error("no command given");
	if (!strcmp(argv[0], "help")) {
		if (argc == 1)
			return print_main_help();
		if (!(c = cmd_find(argv[1])))
			return usage_error("unknown command \"%s\"", argv[1]);
		char *hargv[] = { argv[1], (char *)"--help", NULL };
		return cmd_run(c, 2, hargv, ctx);
	}
	if (!(c = cmd_find(argv[0])))
		return usage_error("unknown command \"%s\"", argv[0]);
	return cmd_run(c, argc, argv, ctx);
}

int ami_main(int argc, char **argv)
{
	struct ctx ctx;
	int rc;

	setup_signals();
	ctx_init(&ctx);
	ctx.argv = xcalloc((size_t)argc + 1, sizeof *ctx.argv);     /* before getopt reorders it */
	memcpy(ctx.argv, argv, (size_t)argc * sizeof *argv);
	/* libcurl (and with it OpenSSL) is initialised only when a TLS or HTTP
	 * transport opens (curl_global_once): that initialisation costs
	 * milliseconds and megabytes a TCP event stream does not need. */
	rc = dispatch(argc, argv, &ctx);
	free(ctx.argv);
	rc = out_finish(rc);
	ami_library_cleanup();
	if (out_broken_pipe()) {    /* the reader went away: die like any filter */
		signal(SIGPIPE, SIG_DFL);
		raise(SIGPIPE);
	}
	if (interrupted && rc != RC_OK && rc < RC_INTERRUPTED)
		rc = 128 + interrupted;
	if (fclose(stderr) != 0 && rc == RC_OK)
		rc = RC_IO;
	return rc;
}

int main(int argc, char **argv)
{
	return ami_main(argc, argv);
}
