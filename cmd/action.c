/* action.c - `ami action NAME [KEY=VALUE ...]`: any action, any list. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmds.h"

const char cmd_action_help[] =
	"usage: ami action NAME [KEY=VALUE ...] [options]\n"
	"\n"
	"Send the AMI action NAME with one header per KEY=VALUE (keys may repeat,\n"
	"e.g. Variable=a=1 Variable=b=2) and print the response. For list actions\n"
	"(EventList: start) every list event is printed, through the Complete event.\n"
	"Exit 1 when Asterisk answers Response: Error.\n";

static const struct option longopts[] = {
	COMMON_LONGOPTS,
	{ NULL, 0, NULL, 0 },
};

static int print_event(const struct ami_msg *ev, void *arg)
{
	(void)arg;
	if (out_msg(ev) != RC_OK)
		return RC_IO;
	return RC_OK;
}

/* A header name Asterisk can read back: no colon, no blank, not empty. */
static int valid_header_name(const char *s, size_t n)
{
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] == ':' || s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n')
			return 0;
	return 1;
}

/* Adds one KEY=VALUE argument. A CR or LF is named, never echoed: printed
 * raw it would garble the message on the terminal. */
static int add_header_arg(struct ami_msg *act, const char *arg)
{
	const char *eq = strchr(arg, '=');
	size_t klen = eq ? (size_t)(eq - arg) : strlen(arg);
	const char *bad = bad_char_name(arg, klen);
	char *key;
	int rc;

	if (bad)
		return usage_error("a header name contains %s; refusing to send it", bad);
	if (!eq)
		return usage_error("expected KEY=VALUE, not \"%s\"", arg);
	if (!valid_header_name(arg, klen))
		return usage_error("expected KEY=VALUE, not a header name: \"%.*s\"", (int)klen, arg);
	key = xstrndup(arg, klen);
	rc = check_user_value(key, eq + 1);
	if (rc == RC_OK)
		ami_msg_addn(act, arg, klen, eq + 1, strlen(eq + 1));
	free(key);
	return rc;
}

/* Turns "NAME" and "KEY=VALUE" arguments into an action message. */
int build_action(struct ami_msg *act, const char *name, int argc, char **argv)
{
	int rc;

	if ((rc = check_user_value("the action name", name)) != RC_OK)
		return rc;
	if (!valid_header_name(name, strlen(name)))
		return usage_error("not an action name: \"%s\"", name);
	ami_msg_add(act, "Action", name);
	for (int i = 0; i < argc; i++)
		if ((rc = add_header_arg(act, argv[i])) != RC_OK)
			return rc;
	return RC_OK;
}

int cmd_action(int argc, char **argv, struct ctx *ctx)
{
	struct ami_msg act, reply;
	struct ami *a;
	int ch, rc;

	while ((ch = getopt_long(argc, argv, COMMON_SHORTOPTS, longopts, NULL)) != -1)
		if ((rc = ctx_option(ctx, ch, optarg)) != RC_CONTINUE)
			return rc;
	if (optind >= argc)
		return usage_error("no action name given");
	ami_msg_init(&act);
	ami_msg_init(&reply);
	rc = build_action(&act, argv[optind], argc - optind - 1, argv + optind + 1);
	if (rc == RC_OK && (rc = ctx_session(ctx, &a, "off")) == RC_OK) {
		rc = ami_action_list(a, &act, &reply, print_event, NULL);
		if (rc != RC_OK && rc != RC_IO)
			log_error("%s", ami_error(a));
		ctx_session_done(ctx, a);
	}
	ami_msg_free(&act);
	ami_msg_free(&reply);
	return rc;
}
