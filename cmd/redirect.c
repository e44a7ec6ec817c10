/* redirect.c - `ami redirect CHANNEL --context C --exten E`: send a live
 * channel, or both legs of a bridged call at once, to another place in the
 * dialplan. Both legs must move in one action: redirecting one leg of a
 * bridge alone hangs up the other. */
#include <stdio.h>
#include <string.h>

#include "callfile.h"
#include "cmds.h"

const char cmd_redirect_help[] =
	"usage: ami redirect CHANNEL --context C --exten E [--priority P]\n"
	"       [--extra-channel CH [--extra-context C] [--extra-exten E]\n"
	"       [--extra-priority P]] [options]\n"
	"\n"
	"Send the live channel CHANNEL (its exact name, e.g. PJSIP/100-0000002a)\n"
	"to context C, extension E, priority P. With --extra-channel the other\n"
	"leg of the call moves in the same action; its target defaults to the\n"
	"same context, extension and priority (both parties into one conference).\n"
	"Prints \"redirected: CHANNEL to C,E,P\" for each leg.\n"
	"Exit 1 when Asterisk refuses (e.g. the channel does not exist).\n"
	"\n"
	"  --context C             dialplan context to send CHANNEL to\n"
	"  --exten E               extension in that context\n"
	"  --priority P            priority number or label (default 1)\n"
	"  --extra-channel CH      a second channel to move at the same time\n"
	"  --extra-context C       its context (default: --context)\n"
	"  --extra-exten E         its extension (default: --exten)\n"
	"  --extra-priority P      its priority (default: --priority)\n";

enum {
	OPT_EXTRA_CHANNEL = OPT_CALL_END,
	OPT_EXTRA_CONTEXT, OPT_EXTRA_EXTEN, OPT_EXTRA_PRIORITY,
};

static const struct option longopts[] = {
	COMMON_LONGOPTS,
	{ "context", required_argument, NULL, OPT_CONTEXT },
	{ "exten", required_argument, NULL, OPT_EXTEN },
	{ "priority", required_argument, NULL, OPT_PRIORITY },
	{ "extra-channel", required_argument, NULL, OPT_EXTRA_CHANNEL },
	{ "extra-context", required_argument, NULL, OPT_EXTRA_CONTEXT },
	{ "extra-exten", required_argument, NULL, OPT_EXTRA_EXTEN },
	{ "extra-priority", required_argument, NULL, OPT_EXTRA_PRIORITY },
	{ NULL, 0, NULL, 0 },
};

struct leg {
	const char *channel, *context, *exten, *priority;
};

/* In originate.c: a positive number or a dialplan label, checked. */

static int set_option(struct leg *main_leg, struct leg *extra, int ch, const char *arg)
{
	switch (ch) {
	case OPT_CONTEXT: main_leg->context = arg; break;
	case OPT_EXTEN: main_leg->exten = arg; break;
	case OPT_PRIORITY: main_leg->priority = arg; break;
	case OPT_EXTRA_CHANNEL: extra->channel = arg; break;
	case OPT_EXTRA_CONTEXT: extra->context = arg; break;
	case OPT_EXTRA_EXTEN: extra->exten = arg; break;
	case OPT_EXTRA_PRIORITY: extra->priority = arg; break;
	default: return 0;
	}
	return 1;
}

static int check_channel(const char *what, const char *ch)
{
	int rc = check_user_value(what, ch);

	if (rc == RC_OK && (!strchr(ch, '/') || ch[0] == '/'))
		rc = usage_error("%s must be a channel name like PJSIP/100-0000002a, not \"%s\"",
				 what, ch);
	return rc;
}

static int check_leg(const struct leg *l, const char *chan_what, const char *prefix)
{
	char what[40];
	int rc;

	if ((rc = check_channel(chan_what, l->channel)) != RC_OK)
		return rc;
	snprintf(what, sizeof what, "--%scontext", prefix);
	if ((rc = check_user_value(what, l->context)) != RC_OK)
		return rc;
	snprintf(what, sizeof what, "--%sexten", prefix);
	if ((rc = check_user_value(what, l->exten)) != RC_OK)
		return rc;
	snprintf(what, sizeof what, "--%spriority", prefix);
	return check_priority(what, l->priority);
}

/* The main target is required; the extra leg takes what it lacks from it. */
static int complete_legs(struct leg *m, struct leg *x)
{
	const struct call_target t = { NULL, NULL, m->context, m->exten, m->priority != NULL, 1 };
	const char *problem = call_target_problem(&t);

	if (problem)
		return usage_error("%s", problem);
	if (!m->priority)
		m->priority = "1";
	if (!x->channel && (x->context || x->exten || x->priority))
		return usage_error("--extra-context, --extra-exten and --extra-priority go with "
				   "--extra-channel CH");
	if (!x->context)
		x->context = m->context;
	if (!x->exten)
		x->exten = m->exten;
	if (!x->priority)
		x->priority = m->priority;
	return RC_OK;
}

/* RC_CONTINUE when there is something to send. */
static int parse_args(int argc, char **argv, struct ctx *ctx, struct leg *m, struct leg *x)
{
	int ch, rc;

	while ((ch = getopt_long(argc, argv, COMMON_SHORTOPTS, longopts, NULL)) != -1)
		if (!set_option(m, x, ch, optarg) && (rc = ctx_option(ctx, ch, optarg)) != RC_CONTINUE)
			return rc;
	if (optind >= argc)
		return usage_error("no channel given: ami redirect CHANNEL --context C --exten E");
	m->channel = argv[optind++];
	if (optind < argc)
		return usage_error("unexpected argument \"%s\"", argv[optind]);
	if ((rc = complete_legs(m, x)) != RC_OK)
		return rc;
	if ((rc = check_leg(m, "CHANNEL", "")) != RC_OK)
		return rc;
	if (x->channel && (rc = check_leg(x, "--extra-channel", "extra-")) != RC_OK)
		return rc;
	return RC_CONTINUE;
}

static void build_redirect(const struct leg *m, const struct leg *x, struct ami_msg *act)
{
	ami_msg_add(act, "Action", "Redirect");
	ami_msg_add(act, "Channel", m->channel);
	ami_msg_add(act, "Context", m->context);
	ami_msg_add(act, "Exten", m->exten);
	ami_msg_add(act, "Priority", m->priority);
	if (!x->channel)
		return;
	ami_msg_add(act, "ExtraChannel", x->channel);
	ami_msg_add(act, "ExtraContext", x->context);
	ami_msg_add(act, "ExtraExten", x->exten);
	ami_msg_add(act, "ExtraPriority", x->priority);
}

static void print_leg(const struct leg *l)
{
	out_printf("redirected: %s to %s,%s,%s\n", l->channel, l->context, l->exten, l->priority);
}

static int report(struct ami *a, int rc, const struct ami_msg *reply,
		  const struct leg *m, const struct leg *x)
{
	if (rc != RC_OK && rc != RC_ACTION) {
		log_error("%s", ami_error(a));
		return rc;
	}
	if (out_get_format() != OUT_TEXT)
		out_msg(reply);
	if (rc == RC_ACTION) {
		log_error("%s", ami_error(a));
		return rc;
	}
	if (out_get_format() == OUT_TEXT && verbosity >= 0) {
		print_leg(m);
		if (x->channel)
			print_leg(x);
	}
	return RC_OK;
}

/* Checks the action against Asterisk's line and header limits up front. */
static int check_wire(struct ami_msg *act)
{
	char err[300];

	if (ami_msg_check_send(act, err, sizeof err) != 0)
		return usage_error("%s", err);
	return RC_OK;
}

int cmd_redirect(int argc, char **argv, struct ctx *ctx)
{
	struct leg m = { 0 }, x = { 0 };
	struct ami_msg act, reply;
	struct ami *a;
	int rc;

	if ((rc = parse_args(argc, argv, ctx, &m, &x)) != RC_CONTINUE)
		return rc;          /* --help, or a usage error */
	ami_msg_init(&act);
	ami_msg_init(&reply);
	build_redirect(&m, &x, &act);
	if ((rc = check_wire(&act)) == RC_OK && (rc = ctx_session(ctx, &a, "off")) == RC_OK) {
		rc = report(a, ami_action(a, &act, &reply), &reply, &m, &x);
		ctx_session_done(ctx, a);
	}
	ami_msg_free(&act);
	ami_msg_free(&reply);
	return rc;
}
