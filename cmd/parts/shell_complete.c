/* shell_complete.c - Tab completion in `ami shell`: command names and
 * built-ins, options and their values, action names (ListCommands), the
 * headers of an action (`manager show command`, else a built-in list),
 * channels (CoreShowChannels) and profiles, each asked for when needed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <readline/readline.h>

#include "shell.h"

/* Headers of common actions, for users without the `command` permission
 * that `manager show command` needs (first word: the action). */
static const char *const known_headers[] = {
	"AbsoluteTimeout Channel Timeout",
	"Atxfer Channel Exten Context",
	"BlindTransfer Channel Context Exten",
	"Bridge Channel1 Channel2 Tone",
	"BridgeInfo BridgeUniqueid",
	"BridgeKick BridgeUniqueid Channel",
	"BridgeList BridgeType",
	"Challenge AuthType",
	"Command Command",
	"ConfbridgeKick Conference Channel",
	"ConfbridgeList Conference",
	"ConfbridgeMute Conference Channel",
	"ConfbridgeUnmute Conference Channel",
	"CoreShowChannelMap Channel",
	"DBDel Family Key",
	"DBDelTree Family Key",
	"DBGet Family Key",
	"DBGetTree Family Key",
	"DBPut Family Key Val",
	"Events EventMask",
	"ExtensionState Exten Context",
	"Filter Operation Filter MatchCriteria",
	"GetConfig Filename Category Filter",
	"GetConfigJSON Filename Category Filter",
	"Getvar Channel Variable",
	"Hangup Channel Cause",
	"LocalOptimizeAway Channel",
	"MailboxCount Mailbox",
	"MailboxStatus Mailbox",
	"MixMonitor Channel File options Command",
	"ModuleCheck Module",
	"ModuleLoad Module LoadType",
	"MuteAudio Channel Direction State",
	"Originate Channel Exten Context Priority Application Data Timeout CallerID "
		"Variable Account EarlyMedia Async Codecs ChannelId OtherChannelId PreDialGoSub",
	"Park Channel TimeoutChannel AnnounceChannel Timeout Parkinglot",
	"PJSIPQualify Endpoint",
	"PJSIPShowEndpoint Endpoint",
	"PlayDTMF Channel Digit Duration Receive",
	"QueueAdd Queue Interface Penalty Paused MemberName StateInterface",
	"QueuePause Interface Paused Queue Reason",
	"QueuePenalty Interface Penalty Queue",
	"QueueRemove Queue Interface",
	"QueueStatus Queue Member",
	"QueueSummary Queue",
	"Redirect Channel ExtraChannel Exten ExtraExten Context ExtraContext Priority "
		"ExtraPriority",
	"Reload Module",
	"SendText Channel Message",
	"Setvar Channel Variable Value",
	"ShowDialPlan Extension Context",
	"Status Channel Variables AllVariables",
	"StopMixMonitor Channel MixMonitorID",
	"UserEvent UserEvent",
	"WaitEvent Timeout",
};

static void builtin_headers(const char *action, struct strv *out)
{
	size_t len = strlen(action);

	for (size_t i = 0; i < ARRAY_LEN(known_headers); i++) {
		const char *k = known_headers[i];
		if (!strncasecmp(k, action, len) && k[len] == ' ')
			add_words(out, k + len);
	}
}

/* A line of the [Syntax] part of `manager show command`: "Channel: <value>"
 * or "[Exten:] <value>", maybe with terminal colours. */
static void syntax_key(const char *line, struct strv *out)
{
	char clean[256];
	size_t n = 0;

	for (; *line && n < sizeof clean - 1; line++) {
		if (*line == '\033') {              /* ESC [ ... m */
			while (line[1] && !(line[1] >= '@' && line[1] <= '~' && line[1] != '['))
				line++;
			line += !!line[1];
			continue;
		}
		clean[n++] = *line;
	}
	clean[n] = '\0';
	const char *k = skip_blanks(clean);
	k += *k == '[';
	size_t len = strcspn(k, ":] \t");
	if (len && k[len] == ':' && strncasecmp(k, "Action", len))
		strv_addn(out, k, len);
}

/* Asks Asterisk for the headers of action (needs the `command` permission). */
static void asterisk_headers(struct shell *sh, const char *action, struct strv *out)
{
	struct ami_msg act, reply;
	int in_syntax = 0;

	if (!sh->a || !strv_has(&sh->actions, "Command") || bad_char_name(action, strlen(action)))
		return;
	ami_msg_init(&act);
	ami_msg_init(&reply);
	char *cli = xasprintf("manager show command %s", action);
	ami_msg_add(&act, "Action", "Command");
	ami_msg_add(&act, "Command", cli);
	free(cli);
	if (ami_action(sh->a, &act, &reply) == RC_OK) {
		for (size_t i = 0; i < reply.n; i++) {
			const char *v = ami_msg_value(&reply, i);
			if (strcasecmp(ami_msg_name(&reply, i), "Output"))
				continue;
			if (strstr(v, "[Syntax]"))
				in_syntax = 1;
			else if (in_syntax && strchr(v, '[') && !strchr(v, ':') && strchr(v, ']'))
				in_syntax = 0;      /* the next [Section] */
			else if (in_syntax)
				syntax_key(v, out);
		}
	}
	ami_msg_free(&act);
	ami_msg_free(&reply);
}

const struct strv *shell_action_headers(struct shell *sh, const char *action)
{
	struct headers *h;

	for (size_t i = 0; i < sh->nhdrs; i++)
		if (!strcasecmp(sh->hdrs[i].action, action))
			return &sh->hdrs[i].keys;
	sh->hdrs = xrealloc(sh->hdrs, (sh->nhdrs + 1) * sizeof *sh->hdrs);
	h = &sh->hdrs[sh->nhdrs++];
	h->action = xstrdup(action);
	memset(&h->keys, 0, sizeof h->keys);
	asterisk_headers(sh, action, &h->keys);
	if (!h->keys.n)
		builtin_headers(action, &h->keys);
	if (!strv_has(&h->keys, "ActionID"))
		strv_add(&h->keys, "ActionID");
	return &h->keys;
}

static int collect_channel(const struct ami_msg *ev, void *arg)
{
	const char *ch = ami_msg_is_event(ev) ? ami_msg_get(ev, "Channel") : NULL;

	if (ch)
		strv_add(arg, ch);
	return RC_OK;
}

static void channels(struct shell *sh, const char *prefix, struct strv *out)
{
	struct ami_msg act, reply;
	struct strv names = { 0 };

	if (!sh->a)
		return;
	ami_msg_init(&act);
	ami_msg_init(&reply);
	ami_msg_add(&act, "Action", "CoreShowChannels");
	ami_action_list(sh->a, &act, &reply, collect_channel, &names);
	for (size_t i = 0; i < names.n; i++) {
		char *s = xasprintf("%s%s", prefix, names.v[i]);
		strv_add(out, s);
		free(s);
	}
	strv_free(&names);
	ami_msg_free(&act);
	ami_msg_free(&reply);
}

struct prefixed {
	struct strv *out;
	const char *prefix;
};

static void add_profile(const char *name, void *arg)
{
	struct prefixed *p = arg;
	char *s = xasprintf("%s%s", p->prefix, name);

	strv_add(p->out, s);
	free(s);
}

static void profiles(struct shell *sh, const char *prefix, struct strv *out)
{
	struct prefixed p = { out, prefix };
	char *path = config_path(sh->base.ov.config_file);

	config_list_profiles(path, add_profile, &p);
	free(path);
}

static void add_prefixed(struct strv *out, const char *prefix, const char *const *words)
{
	for (size_t i = 0; words[i]; i++) {
		char *s = xasprintf("%s%s", prefix, words[i]);
		strv_add(out, s);
		free(s);
	}
}

/* The options of a command, read off its --help text ("  -c, --count N"):
 * long names into opts, every name that takes an argument into args. */
static void help_options(const char *help, struct strv *opts, struct strv *args)
{
	for (const char *line = help; *line; line += strcspn(line, "\n") + !!line[strcspn(line, "\n")]) {
		const char *p = skip_blanks(line), *q;
		struct strv names = { 0 };

		if (p == line || *p != '-')
			continue;
		for (;;) {
			q = p + strcspn(p, ", [=\n");
			strv_addn(&names, p, (size_t)(q - p));
			if (q[0] != ',' || q[1] != ' ' || q[2] != '-')
				break;
			p = q + 2;
		}
		int takes_arg = q[0] == ' ' && q[1] && q[1] != ' ' && q[1] != '\n';
		for (size_t i = 0; i < names.n; i++) {
			if (!strncmp(names.v[i], "--", 2))
				strv_add(opts, names.v[i]);
			if (takes_arg)
				strv_add(args, names.v[i]);
		}
		strv_free(&names);
	}
}

/* ---------- completion ---------- */

static struct shell *completing;  /* readline's callbacks take no argument */
static struct strv cands;       /* what the current completion offers */
static size_t cand_next;

static char *candidate(const char *text, int state)
{
	size_t len = strlen(text);

	if (!state)
		cand_next = 0;
	while (cand_next < cands.n) {
		const char *c = cands.v[cand_next++];
		if (!strncasecmp(c, text, len))
			return xstrdup(c);
	}
	return NULL;
}

static int is_channel_key(const char *key, size_t len)
{
	for (size_t i = 0; i + 7 <= len; i++)
		if (!strncasecmp(key + i, "channel", 7))
			return 1;
	return 0;
}

/* After the action name: KEY= names, or channels after Channel=. */
static void complete_headers(struct shell *sh, const char *action, const char *text)
{
	const char *eq = strchr(text, '=');

	if (eq) {
		if (is_channel_key(text, (size_t)(eq - text))) {
			char *prefix = xstrndup(text, (size_t)(eq - text + 1));
			channels(sh, prefix, &cands);
			free(prefix);
		}
		return;
	}
	const struct strv *keys = shell_action_headers(sh, action);
	for (size_t i = 0; i < keys->n; i++) {
		char *s = xasprintf("%s=", keys->v[i]);
		strv_add(&cands, s);
		free(s);
	}
	rl_completion_append_character = '\0';
}

static void option_value(struct shell *sh, const char *opt, const char *prefix)
{
	if (!strcmp(opt, "-p") || !strcmp(opt, "--profile"))
		profiles(sh, prefix, &cands);
	else if (!strcmp(opt, "--format"))
		add_prefixed(&cands, prefix, format_words);
	else if (!strcmp(opt, "--auth"))
		add_prefixed(&cands, prefix, auth_words);
	else if (!strcmp(opt, "--http-auth"))
		add_prefixed(&cands, prefix, http_auth_words);
	else if (!strcmp(opt, "--http-encoding"))
		add_prefixed(&cands, prefix, http_encoding_words);
	else if (!strcmp(opt, "--extra-channel"))
		channels(sh, prefix, &cands);
}

/* Words of a table command: options, option values, operands. */
static void complete_command(struct shell *sh, const struct cmd *c, const struct strv *w,
			     const char *text)
{
	struct strv opts = { 0 }, args = { 0 };
	const char *first = NULL;

	help_options(c->help, &opts, &args);
	help_options(common_options_help, &opts, &args);
	if (w->n > 1 && strv_has(&args, w->v[w->n - 1])) {
		option_value(sh, w->v[w->n - 1], "");
	} else if (!strncmp(text, "--", 2) && strchr(text, '=')) {
		char *name = xstrndup(text, strcspn(text, "="));
		char *prefix = xasprintf("%s=", name);
		option_value(sh, name, prefix);
		free(name);
		free(prefix);
	} else if (*text == '-') {
		for (size_t i = 0; i < opts.n; i++)
			strv_add(&cands, opts.v[i]);
	} else {
		for (size_t i = 1; i < w->n && !first; i++)
			if (w->v[i][0] != '-' && !strv_has(&args, w->v[i - 1]))
				first = w->v[i];
		if (!strcmp(c->name, "action") && !first)
			for (size_t i = 0; i < sh->actions.n; i++)
				strv_add(&cands, sh->actions.v[i]);
		else if (!strcmp(c->name, "action"))
			complete_headers(sh, first, text);
		else if (!strcmp(c->name, "redirect"))
			channels(sh, "", &cands);
	}
	strv_free(&opts);
	strv_free(&args);
}

static void complete_first_word(struct shell *sh)
{
	for (size_t i = 0; i < cmd_count; i++)
		if (cmd_table[i].run != cmd_shell)
			strv_add(&cands, cmd_table[i].name);
	for (size_t i = 0; shell_builtins[i]; i++)
		strv_add(&cands, shell_builtins[i]);
	for (size_t i = 0; i < sh->actions.n; i++)
		strv_add(&cands, sh->actions.v[i]);
}

/* Inside a raw block: "Key: " names of its action, channels after Channel:. */
static void complete_block(struct shell *sh, const struct strv *w)
{
	const char *action = ami_msg_get(&sh->block, "Action");
	size_t len;

	if (w->n == 0) {
		const struct strv *keys = shell_action_headers(sh, action ? action : "");
		for (size_t i = 0; i < keys->n; i++) {
			char *s = xasprintf("%s: ", keys->v[i]);
			strv_add(&cands, s);
			free(s);
		}
		rl_completion_append_character = '\0';
	} else if (w->n == 1 && (len = strlen(w->v[0])) > 1 && w->v[0][len - 1] == ':' &&
		   is_channel_key(w->v[0], len - 1)) {
		channels(sh, "", &cands);
	}
}

static void complete_words(struct shell *sh, const struct strv *w, const char *text)
{
	const struct cmd *c;

	if (sh->in_block)
		complete_block(sh, w);
	else if (w->n == 0)
		complete_first_word(sh);
	else if (!strcasecmp(w->v[0], "Action:") && w->n == 1)
		for (size_t i = 0; i < sh->actions.n; i++)
			strv_add(&cands, sh->actions.v[i]);
	else if (!strcmp(w->v[0], "help") && w->n == 1)
		complete_first_word(sh);
	else if (!strcmp(w->v[0], "events") && w->n == 1)
		add_words(&cands, "on off");
	else if (!strcmp(w->v[0], ".format") && w->n == 1)
		add_prefixed(&cands, "", format_words);
	else if ((c = cmd_find(w->v[0])))
		complete_command(sh, c, w, text);
	else if (w->v[0][0] != '.' && w->v[0][0] != '-')
		complete_headers(sh, w->v[0], text);
}

/* Words are split on blanks only, so "Channel=Local/x@y;1" is one word. */
static char **complete(const char *text, int start, int end)
{
	struct strv w = { 0 };
	char *before = xstrndup(rl_line_buffer, (size_t)start);

	(void)end;
	rl_attempted_completion_over = 1;
	rl_completion_append_character = ' ';
	strv_clear(&cands);
	add_words(&w, before);
	complete_words(completing, &w, text);
	strv_free(&w);
	free(before);
	return rl_completion_matches(text, candidate);
}

void shell_complete_init(struct shell *sh)
{
	completing = sh;
	rl_attempted_completion_function = complete;
}

void shell_complete_free(struct shell *sh)
{
	for (size_t i = 0; i < sh->nhdrs; i++) {
		free(sh->hdrs[i].action);
		strv_free(&sh->hdrs[i].keys);
	}
	free(sh->hdrs);
	sh->hdrs = NULL;
	sh->nhdrs = 0;
	strv_free(&cands);
	completing = NULL;
}
