/* command.c - `ami command 'core show channels'`: a CLI command over AMI,
 * its output printed exactly as Asterisk returns it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cmds.h"
#include "term_safe.h"

const char cmd_command_help[] =
	"usage: ami command [options] CLI-COMMAND [WORDS...]\n"
	"\n"
	"Run an Asterisk CLI command through the AMI Command action and print its\n"
	"output lines as Asterisk returns them. Several words are joined with\n"
	"spaces, so `ami command core show channels` works too. Handles both the\n"
	"Asterisk 14+ format (Output: lines) and the older Response: Follows one.\n"
	"Exit 1 when Asterisk reports an error (the output then goes to stderr).\n"
	"To a terminal, control characters are shown as \\xNN; to a pipe or file\n"
	"the output is byte-exact.\n"
	"With --json or --format raw the whole response is printed.\n";

static const struct option longopts[] = {
	COMMON_LONGOPTS,
	{ NULL, 0, NULL, 0 },
};

static char *join_words(int argc, char **argv)
{
	size_t len = 1;
	for (int i = 0; i < argc; i++)
		len += strlen(argv[i]) + 1;
	char *s = xmalloc(len);
	s[0] = '\0';
	for (int i = 0; i < argc; i++) {
		if (i)
			strcat(s, " ");
		strcat(s, argv[i]);
	}
	return s;
}

/* The CLI text: one Output header per line (the parser also turns the old
 * Follows format into Output headers). Byte-exact to a file or a pipe; a
 * terminal is shown its control bytes (term_safe) rather than obeying them. */
static int print_output(const struct ami_msg *reply, int to_stderr)
{
	int tty = isatty(to_stderr ? STDERR_FILENO : STDOUT_FILENO);

	for (size_t i = 0; i < reply->n; i++) {
		const char *line = ami_msg_value(reply, i);
		size_t len = reply->h[i].value_len;

		if (strcasecmp(ami_msg_name(reply, i), "Output"))
			continue;
		if (to_stderr) {
			if (tty)
				term_safe_file(stderr, line, len);
			else
				fwrite(line, 1, len, stderr);
			fputc('\n', stderr);
		} else {
			if (tty)
				term_safe_out(line, len);
			else
				out_write(line, len);
			if (out_write("\n", 1) != RC_OK)
				return RC_IO;
		}
	}
	return RC_OK;
}

int cmd_command(int argc, char **argv, struct ctx *ctx)
{
	struct ami_msg act, reply;
	struct ami *a;
	int ch, rc;

	while ((ch = getopt_long(argc, argv, COMMON_SHORTOPTS, longopts, NULL)) != -1)
		if ((rc = ctx_option(ctx, ch, optarg)) != RC_CONTINUE)
			return rc;
	if (optind >= argc)
		return usage_error("no CLI command given");
	char *text = join_words(argc - optind, argv + optind);
	if ((rc = check_user_value("the CLI command", text)) != RC_OK) {
		free(text);
		return rc;
	}
	ami_msg_init(&act);
	ami_msg_init(&reply);
	ami_msg_add(&act, "Action", "Command");
	ami_msg_add(&act, "Command", text);
	free(text);
	if ((rc = ctx_session(ctx, &a, "off")) == RC_OK) {
		rc = ami_action(a, &act, &reply);
		if (rc == RC_OK || rc == RC_ACTION) {
			int orc = out_get_format() == OUT_TEXT ? print_output(&reply, rc != RC_OK)
							     : out_msg(&reply);
			if (rc == RC_ACTION && !ami_msg_count(&reply, "Output"))
				log_error("%s", ami_error(a));
			if (orc != RC_OK && rc == RC_OK)
				rc = orc;
		} else {
			log_error("%s", ami_error(a));
		}
		ctx_session_done(ctx, a);
	}
	ami_msg_free(&act);
	ami_msg_free(&reply);
	return rc;
}
