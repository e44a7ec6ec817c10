/* cmds.h - what every subcommand receives, and the options they share.
 * Each cmd_*() parses its own options (getopt_long), returns an RC_* code
 * and never exits, so `ami shell` can run the same table in-process. */
#ifndef AMI_CMDS_H
#define AMI_CMDS_H

#include <getopt.h>
#include "ami.h"
#include "config.h"
#include "format.h"
#include "output.h"
#include "util.h"

struct cmd;

struct ctx {
	struct overrides ov;        /* connection options from the command line */
	enum out_format fmt;
	const struct cmd *cmd;      /* the command running (for --help text) */
	struct ami *ami;            /* non-NULL inside `shell`: reuse this session */
	struct profile *shell_profile; /* the shell's resolved profile, if any */
	int in_shell;
	char **argv;                /* ami's own arguments, as given: a child of a
				     * fan-out runs them again (NULL inside shell) */
	unsigned long parallel;     /* --parallel: children at once (0: 32) */
	int unordered;              /* --unordered: each profile's answer as it comes */
};

struct cmd {
	const char *name;
	int (*run)(int argc, char **argv, struct ctx *ctx);
	const char *help;           /* "usage: ...\n\n" description and options */
	const char *summary;        /* one line for `ami --help` */
	unsigned flags;             /* CMD_* */
};
/* It takes several profiles (-p a,b, -p @group): it returns RC_FANOUT from
 * the profile's resolution, and one child per profile runs it (fanout.h). */
#define CMD_FANOUT 1u

/* Long-only option values shared by every command. */
enum {
	OPT_PORT = 1000, OPT_SECRET_FILE, OPT_SECRET_STDIN, OPT_AUTH, OPT_CONFIG,
	OPT_FORMAT, OPT_URL, OPT_TLS, OPT_CACERT, OPT_INSECURE, OPT_HTTP_AUTH,
	OPT_HTTP_ENCODING, OPT_PARALLEL, OPT_UNORDERED,
	OPT_CMD_BASE = 2000         /* commands number their own long options from here */
};

/* Where a new call goes and who calls, for the commands that start or
 * move one (originate, callfile; redirect takes the dialplan three). */
enum {
	OPT_APP = OPT_CMD_BASE, OPT_DATA, OPT_CONTEXT, OPT_EXTEN, OPT_PRIORITY, OPT_CALLERID,
	OPT_CALL_END                /* a command's other options start here */
};
#define CALL_LONGOPTS \
	{ "app", required_argument, NULL, OPT_APP }, \
	{ "data", required_argument, NULL, OPT_DATA }, \
	{ "context", required_argument, NULL, OPT_CONTEXT }, \
	{ "exten", required_argument, NULL, OPT_EXTEN }, \
	{ "priority", required_argument, NULL, OPT_PRIORITY }, \
	{ "callerid", required_argument, NULL, OPT_CALLERID }

#define COMMON_SHORTOPTS "p:H:u:t:jvqh"
#define COMMON_LONGOPTS \
	{ "profile", required_argument, NULL, 'p' }, \
	{ "host", required_argument, NULL, 'H' }, \
	{ "port", required_argument, NULL, OPT_PORT }, \
	{ "user", required_argument, NULL, 'u' }, \
	{ "secret-file", required_argument, NULL, OPT_SECRET_FILE }, \
	{ "secret-stdin", no_argument, NULL, OPT_SECRET_STDIN }, \
	{ "auth", required_argument, NULL, OPT_AUTH }, \
	{ "timeout", required_argument, NULL, 't' }, \
	{ "config", required_argument, NULL, OPT_CONFIG }, \
	{ "format", required_argument, NULL, OPT_FORMAT }, \
	{ "json", no_argument, NULL, 'j' }, \
	{ "url", required_argument, NULL, OPT_URL }, \
	{ "tls", no_argument, NULL, OPT_TLS }, \
	{ "cacert", required_argument, NULL, OPT_CACERT }, \
	{ "insecure", no_argument, NULL, OPT_INSECURE }, \
	{ "http-auth", required_argument, NULL, OPT_HTTP_AUTH }, \
	{ "http-encoding", required_argument, NULL, OPT_HTTP_ENCODING }, \
	{ "verbose", no_argument, NULL, 'v' }, \
	{ "quiet", no_argument, NULL, 'q' }, \
	{ "parallel", required_argument, NULL, OPT_PARALLEL }, \
	{ "unordered", no_argument, NULL, OPT_UNORDERED }, \
	{ "help", no_argument, NULL, 'h' }

/* Help text for the shared options, appended to every command's --help. */
extern const char common_options_help[];
/* Handles a shared option (or '?' / ':'). Returns RC_CONTINUE to go on
 * parsing, RC_OK after --help (the command returns at once), or RC_USAGE. */
int ctx_option(struct ctx *ctx, int ch, const char *arg);
void ctx_init(struct ctx *ctx);
/* Resets getopt so a command can parse a fresh argv (glibc: optind = 0). */
void opt_reset(void);

/* Resolves the profile and opens a session, or reuses the shell's.
 * events: see ami_open. Pair with ctx_session_done. */
int ctx_session(struct ctx *ctx, struct ami **out, const char *events);
void ctx_session_done(struct ctx *ctx, struct ami *a);

/* Whether the profile names several PBXes (-p a,b, -p @group): a command
 * that acts on one PBX without resolving the profile checks this and
 * returns RC_FANOUT, which main refuses for it (see fanout.h). */
int ctx_profile_is_list(const struct ctx *ctx);

/* Refuses CR, LF or NUL in a user-given value; names the option. */
int check_user_value(const char *what, const char *value);
/* A dialplan priority: a positive number or a label (originate, redirect). */
int check_priority(const char *what, const char *p);

/* The old name of RC_CONTINUE, for tail_events.c until it says RC_CONTINUE. */
#define CTX_CONTINUE RC_CONTINUE

/* Builds "Action: NAME" plus one header per KEY=VALUE argument (action.c). */
int build_action(struct ami_msg *act, const char *name, int argc, char **argv);

extern const struct cmd cmd_table[];
extern const size_t cmd_count;
const struct cmd *cmd_find(const char *name);
/* Runs c as `ami NAME ARGS` would, with ctx (argv[0] is replaced): from
 * main(), and from `ami shell` on its own session. */
int cmd_run(const struct cmd *c, int argc, char **argv, struct ctx *ctx);
/* All main() does, but exit: a fan-out child, forked without exec, runs it
 * again on the same arguments (fanout.c). */
int ami_main(int argc, char **argv);

int cmd_action(int argc, char **argv, struct ctx *ctx);
int cmd_callfile(int argc, char **argv, struct ctx *ctx);
int cmd_calls(int argc, char **argv, struct ctx *ctx);
int cmd_command(int argc, char **argv, struct ctx *ctx);
int cmd_config(int argc, char **argv, struct ctx *ctx);
int cmd_doctor(int argc, char **argv, struct ctx *ctx);
int cmd_originate(int argc, char **argv, struct ctx *ctx);
int cmd_ping(int argc, char **argv, struct ctx *ctx);
int cmd_redirect(int argc, char **argv, struct ctx *ctx);
int cmd_serve(int argc, char **argv, struct ctx *ctx);
int cmd_shell(int argc, char **argv, struct ctx *ctx);
int cmd_tail_events(int argc, char **argv, struct ctx *ctx);
int cmd_top(int argc, char **argv, struct ctx *ctx);

extern const char cmd_action_help[], cmd_callfile_help[], cmd_calls_help[], cmd_command_help[],
	cmd_config_help[], cmd_doctor_help[], cmd_originate_help[], cmd_ping_help[],
	cmd_redirect_help[], cmd_serve_help[], cmd_shell_help[], cmd_tail_events_help[],
	cmd_top_help[];

#endif
