/* shell.c - `ami shell`: many commands on one logged-in session.
 *
 * A line is a command of the table (run in-process through cmd_run, with
 * ctx->ami set so every command reuses the open session), a built-in
 * (help, quit, events, .format), a raw `Action:` block sent at its blank
 * line as in telnet, or any other word: shorthand for `action WORD ...`.
 *
 * On a terminal, input goes through readline's callback interface so that
 * one poll() can watch both the keyboard and the AMI socket: events (after
 * `events on`) and a lost connection are printed above the prompt while
 * the user types, and readline redraws the line. Otherwise every line of
 * stdin (or FILE) is run in turn, and the first failure ends the run with
 * its exit status, so a file of actions is a dependable batch job. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <readline/readline.h>
#include <readline/history.h>

#include "glob.h"
#include "shell.h"
#include "term_safe.h"

const char cmd_shell_help[] =
	"usage: ami shell [-k] [FILE] [options]\n"
	"\n"
	"Log in once and run many commands on that session. On a terminal: line\n"
	"editing, history and Tab completion of commands, options, action and\n"
	"header names, channels and profiles. Otherwise (a pipe, a file, or FILE;\n"
	"- is stdin) each line is run with no prompt, and the first failing command\n"
	"ends the run with its exit status.\n"
	"\n"
	"Each line is one of (# starts a comment; quote with '...', \"...\" or \\):\n"
	"  COMMAND [ARGS]          a command of `ami --list`, e.g. ping -c 3\n"
	"  NAME [KEY=VALUE ...]    the action NAME, as with `action NAME ...`\n"
	"  Action: NAME            a raw block of Key: Value lines, sent at the empty line\n"
	"  events on [GLOB ...]    show events (those whose name matches) between commands\n"
	"  events off              stop showing them (the default)\n"
	"  .format text|raw|json   output format of the commands that follow\n"
	"  help [COMMAND|ACTION]   this text, a command's usage, an action's headers\n"
	"  quit, exit, Logoff      log off and leave (Ctrl-D too)\n"
	"\n"
	"  -k, --keep-going        go on after a failing command (the exit status is\n"
	"                          then that of the first failure)\n";

static const struct option longopts[] = {
	COMMON_LONGOPTS,
	{ "keep-going", no_argument, NULL, 'k' },
	{ NULL, 0, NULL, 0 },
};

#define HISTORY_MAX 1000
#define DRAIN_MAX 500           /* events per turn, so typing is never starved */
#define HTTP_EVENTS_MS 1000     /* over HTTP, how often events are fetched */

const char *const shell_builtins[] = { "help", "quit", "exit", "events", ".format", NULL };

/* readline's callbacks take no argument: they find the shell here. */
static struct shell *cur;
static volatile sig_atomic_t winch;

/* ---------- small helpers ---------- */

void strv_addn(struct strv *s, const char *str, size_t n)
{
	if (s->n + 1 >= s->cap) {
		s->cap = s->cap ? s->cap * 2 : 16;
		s->v = xrealloc(s->v, s->cap * sizeof *s->v);
	}
	s->v[s->n++] = xstrndup(str, n);
	s->v[s->n] = NULL;
}

void strv_add(struct strv *s, const char *str) { strv_addn(s, str, strlen(str)); }

void strv_clear(struct strv *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	s->n = 0;
	if (s->v)
		s->v[0] = NULL;
}

void strv_free(struct strv *s)
{
	strv_clear(s);
	free(s->v);
	s->v = NULL;
	s->cap = 0;
}

int strv_has(const struct strv *s, const char *str)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcasecmp(s->v[i], str))
			return 1;
	return 0;
}

static int cmp_ci(const void *x, const void *y)
{
	return strcasecmp(*(char *const *)x, *(char *const *)y);
}

const char *skip_blanks(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

void add_words(struct strv *out, const char *s)
{
	while (*(s = skip_blanks(s))) {
		size_t n = strcspn(s, " \t");
		strv_addn(out, s, n);
		s += n;
	}
}

static char *lower_dup(const char *s)
{
	char *d = xstrdup(s);
	for (char *p = d; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p += 'a' - 'A';
	return d;
}

/* One word at *pp (not blank): quotes removed, into buf. Returns its
 * length, or -1 for an unterminated quote. */
static long one_word(const char **pp, char *buf)
{
	const char *p = *pp;
	long n = 0;

	while (*p && *p != ' ' && *p != '\t') {
		if (*p == '\'') {
			const char *end = strchr(p + 1, '\'');
			if (!end)
				return -1;
			memcpy(buf + n, p + 1, (size_t)(end - p - 1));
			n += end - p - 1;
			p = end + 1;
		} else if (*p == '"') {
			for (p++; *p && *p != '"'; buf[n++] = *p++)
				if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
					p++;
			if (!*p++)
				return -1;
		} else {
			if (*p == '\\' && p[1])
				p++;
			buf[n++] = *p++;
		}
	}
	*pp = p;
	return n;
}

/* Splits a line into words as a POSIX shell would, without expansions:
 * '...' is literal, "..." takes \" and \\, a backslash quotes the next
 * character, and # at the start of a word begins a comment. */
static int split_words(const char *p, struct strv *out)
{
	char *buf = xmalloc(strlen(p) + 1);
	long n;

	while (*(p = skip_blanks(p)) && *p != '#') {
		if ((n = one_word(&p, buf)) < 0) {
			free(buf);
			strv_clear(out);
			log_error("unterminated quote");
			return RC_USAGE;
		}
		strv_addn(out, buf, (size_t)n);
	}
	free(buf);
	return RC_OK;
}

/* ---------- the session ---------- */

static void prompt_hide(struct shell *sh);
static void prompt_show(struct shell *sh);

static int print_msg(const struct ami_msg *m, void *arg)
{
	(void)arg;
	return out_msg(m) == RC_OK ? RC_OK : RC_IO;
}

static void session_lost(struct shell *sh)
{
	log_error("lost the connection to %s: %s%s", ami_host_label(sh->a), ami_error(sh->a),
		  sh->interactive ? "; the next command logs in again" : "");
	ami_close(sh->a);
	sh->a = sh->base.ami = NULL;
}

static int event_wanted(const struct shell *sh, const struct ami_msg *ev)
{
	const char *name = ami_msg_get(ev, "Event");
	size_t len = name ? strlen(name) : 0;

	if (!sh->filters.n)
		return 1;
	for (size_t i = 0; i < sh->filters.n; i++)
		if (glob_match(sh->filters.v[i], name ? name : "", len))
			return 1;
	return 0;
}

/* Takes the events already received (queued while a command ran, or on
 * the socket; over HTTP, what a WaitEvent with Timeout 0 brings): prints
 * those asked for, above the prompt when one is shown, and drops the rest.
 * Notices a closed connection. */
static void drain(struct shell *sh)
{
	int rc, shown = 0, n = 0;

	sh->more = 0;
	if (!sh->a)
		return;
	while (n++ < DRAIN_MAX && (rc = ami_next_event(sh->a, &sh->ev, 0)) == RC_OK) {
		if (!sh->events || !event_wanted(sh, &sh->ev))
			continue;
		if (!shown++)
			prompt_hide(sh);
		out_msg(&sh->ev);
	}
	if (n > DRAIN_MAX) {
		sh->more = 1;
	} else if (rc == RC_CONNECT || rc == RC_PROTOCOL) {
		if (!shown++)
			prompt_hide(sh);
		out_flush();
		session_lost(sh);
	}
	if (shown) {
		out_flush();
		prompt_show(sh);
	}
	if (sh->a && !ami_can_poll(sh->a))   /* it has just asked for events */
		sh->next_fetch = now_ms() + HTTP_EVENTS_MS;
}

/* The names of the actions this user may send (ListCommands: one header
 * per action, "Name: Synopsis  (Priv: ...)"). */
static void load_actions(struct shell *sh)
{
	struct ami_msg act, reply;

	ami_msg_init(&act);
	ami_msg_init(&reply);
	ami_msg_add(&act, "Action", "ListCommands");
	if (ami_action(sh->a, &act, &reply) == RC_OK) {
		strv_clear(&sh->actions);
		for (size_t i = 0; i < reply.n; i++)
			if (strstr(ami_msg_value(&reply, i), "(Priv:"))
				strv_add(&sh->actions, ami_msg_name(&reply, i));
		if (sh->actions.n)
			qsort(sh->actions.v, sh->actions.n, sizeof *sh->actions.v, cmp_ci);
	}
	ami_msg_free(&act);
	ami_msg_free(&reply);
}

/* After the connection was lost: log in again (interactive only). */
static int ensure_session(struct shell *sh)
{
	int rc;

	if (sh->a)
		return RC_OK;
	if (!sh->interactive)
		return RC_CONNECT;
	if ((rc = ami_open(&sh->a, &sh->prof, "off")) != RC_OK)
		return rc;
	sh->base.ami = sh->a;
	log_warn("logged in again to %s", ami_host_label(sh->a));
	if (sh->events && ami_set_events(sh->a, "on") != RC_OK)
		log_error("events on: %s", ami_error(sh->a));
	if (!sh->actions.n)
		load_actions(sh);
	return RC_OK;
}

/* A command may have turned events on (tail-events): off again unless the
 * user wants them, then the events that came meanwhile. */
static void after_command(struct shell *sh)
{
	if (!sh->a)
		return;
	if (!sh->events && ami_events_on(sh->a))
		ami_set_events(sh->a, "off");
	drain(sh);
}

/* ---------- history ---------- */

/* $AMI_HISTFILE (/dev/null: none), $XDG_STATE_HOME/ami/history,
 * ~/.local/state/ami/history. Missing directories are made 0700. */
static char *history_path(void)
{
	const char *e = getenv("AMI_HISTFILE");

	if (e && *e)
		return strcmp(e, "/dev/null") ? xstrdup(e) : NULL;
	return state_file_path("history");
}

static void history_open(struct shell *sh)
{
	char *path = history_path();
	int fd;

	stifle_history(HISTORY_MAX);
	if (!path)
		return;
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0600);
	if (fd < 0 || fchmod(fd, 0600) != 0) {
		log_warn("no history: cannot open %s:", path);
		if (fd >= 0)
			close(fd);
		free(path);
		return;
	}
	close(fd);
	read_history(path);
	sh->histfile = path;
}

/* A line that carries a secret is never saved: Secret: or Key: headers,
 * anything mentioning a secret, and a Login action in any form. */
static int secret_line(const struct shell *sh, const char *line)
{
	struct strv w = { 0 };
	int login;

	if (sh->block_secret || contains_nocase(line, "secret") || contains_nocase(line, "key:"))
		return 1;
	add_words(&w, line);
	login = w.n && (!strcasecmp(w.v[0], "login") ||
			(w.n > 1 && !strcasecmp(w.v[1], "login") &&
			 (!strcmp(w.v[0], "action") || !strcasecmp(w.v[0], "action:"))) ||
			!strncasecmp(w.v[0], "action:login", 12));
	strv_free(&w);
	return login;
}

static void history_add(struct shell *sh, const char *line)
{
	HIST_ENTRY *last = history_length ? history_get(history_base + history_length - 1) : NULL;

	if (!*skip_blanks(line) || secret_line(sh, line) || (last && !strcmp(last->line, line)))
		return;
	add_history(line);
	using_history();
	/* Appended at once, so a killed shell loses nothing. */
	if (sh->histfile && append_history(1, sh->histfile) == 0 && ++sh->hist_added % 100 == 0)
		history_truncate_file(sh->histfile, HISTORY_MAX);
}

/* ---------- built-ins ---------- */

static int shell_help(void)
{
	out_puts("Commands (each on the open session; `help COMMAND` for its options):\n");
	for (size_t i = 0; i < cmd_count; i++)
		if (cmd_table[i].run != cmd_shell)
			out_printf("  %-12s %s\n", cmd_table[i].name, cmd_table[i].summary);
	out_puts("\nBuilt-ins:\n"
		 "  help [COMMAND|ACTION]   this text, a command's usage, an action's headers\n"
		 "  events on [GLOB ...]    show events (whose name matches) between prompts\n"
		 "  events off              stop showing events\n"
		 "  .format text|raw|json   output format of the commands that follow\n"
		 "  quit, exit              log off and leave (also Ctrl-D)\n"
		 "\nAny other word is an action: CoreStatus, Getvar Variable=X (as `action`).\n"
		 "A line `Action: NAME` starts a raw block of `Key: Value` lines, sent at the\n"
		 "empty line. Tab completes commands, options, actions, headers, channels.\n");
	return RC_OK;
}

static int run_table(struct shell *sh, const struct cmd *c, int argc, char **argv);

static int builtin_help(struct shell *sh, int argc, char **argv)
{
	const struct cmd *c;

	if (argc == 1)
		return shell_help();
	if ((c = cmd_find(argv[1])) && c->run != cmd_shell) {
		char *hargv[] = { argv[1], (char *)"--help", NULL };
		return run_table(sh, c, 2, hargv);
	}
	for (size_t i = 0; shell_builtins[i]; i++)
		if (!strcmp(argv[1], shell_builtins[i]))
			return shell_help();
	if (!sh->actions.n && sh->a)
		load_actions(sh);       /* batch mode does not load them at login */
	const struct strv *keys = shell_action_headers(sh, argv[1]);
	if (keys->n < 2 && !strv_has(&sh->actions, argv[1])) {     /* ActionID only */
		log_error("help: no command, built-in or known action \"%s\"", argv[1]);
		return RC_USAGE;
	}
	out_printf("%s", argv[1]);
	for (size_t i = 0; i < keys->n; i++) {     /* the server's words */
		out_puts(" ");
		term_safe_out(keys->v[i], strlen(keys->v[i]));
		out_puts("=...");
	}
	out_puts("\n");
	return RC_OK;
}

static int events_on(struct shell *sh, int argc, char **argv)
{
	int rc;

	if ((rc = ensure_session(sh)) != RC_OK)
		return rc;
	strv_clear(&sh->filters);
	for (int i = 2; i < argc; i++) {
		char *g = lower_dup(argv[i]);
		strv_add(&sh->filters, g);
		free(g);
	}
	if (!ami_events_on(sh->a) && (rc = ami_set_events(sh->a, "on")) != RC_OK) {
		log_error("events on: %s", ami_error(sh->a));
		return rc;
	}
	sh->events = 1;
	return RC_OK;
}

/* Events sent before this still show: they have all come once Events off
 * is answered (over HTTP too: see ami_events_on). */
static void events_off(struct shell *sh)
{
	if (sh->a && ami_events_on(sh->a))
		ami_set_events(sh->a, "off");
	drain(sh);
	sh->events = 0;
	strv_clear(&sh->filters);
}

static int builtin_events(struct shell *sh, int argc, char **argv)
{
	if (argc == 1) {
		out_printf("events %s", sh->events ? "on" : "off");
		for (size_t i = 0; i < sh->filters.n; i++)
			out_printf(" %s", sh->filters.v[i]);
		return out_puts("\n");
	}
	if (!strcmp(argv[1], "on"))
		return events_on(sh, argc, argv);
	if (strcmp(argv[1], "off") || argc > 2) {
		log_error("events: expected `events on [GLOB ...]` or `events off`");
		return RC_USAGE;
	}
	events_off(sh);
	return RC_OK;
}

static int builtin_format(struct shell *sh, int argc, char **argv)
{
	enum out_format f;

	if (argc == 1)
		return out_printf(".format %s\n", format_words[sh->fmt]);
	if (argc > 2 || out_parse_format(argv[1], &f) != 0) {
		log_error(".format: expected text, raw or json");
		return RC_USAGE;
	}
	sh->fmt = sh->base.fmt = f;
	out_set_format(f);
	return RC_OK;
}

/* ---------- running a line ---------- */

/* A command of the table, in-process, on a fresh copy of the shell's
 * context: its options last for this line only. */
static int run_table(struct shell *sh, const struct cmd *c, int argc, char **argv)
{
	struct ctx ctx = sh->base;
	char **args = xcalloc((size_t)argc + 1, sizeof *args);
	int saved = verbosity, rc;

	memcpy(args, argv, (size_t)argc * sizeof *args);    /* cmd_run replaces args[0] */
	out_set_format(sh->fmt);
	rc = cmd_run(c, argc, args, &ctx);
	free(args);
	verbosity = saved;
	out_set_format(sh->fmt);
	log_prog("ami shell");
	if (out_flush() != RC_OK && rc == RC_OK)
		rc = RC_IO;
	return rc;
}

static int is_logoff(const char *action) { return !strcasecmp(action, "Logoff"); }

/* Commands that never use the session need no new login. */
static int needs_session(const struct cmd *c)
{
	return strcmp(c->name, "config") && strcmp(c->name, "callfile");
}

static int run_words(struct shell *sh, int argc, char **argv)
{
	const struct cmd *c = cmd_find(argv[0]);
	int rc;

	if (!strcmp(argv[0], "help"))
		return builtin_help(sh, argc, argv);
	if (!strcmp(argv[0], "quit") || !strcmp(argv[0], "exit") || is_logoff(argv[0]) ||
	    (c && !strcmp(c->name, "action") && argc == 2 && is_logoff(argv[1]))) {
		sh->quit = 1;
		return RC_OK;
	}
	if (!strcmp(argv[0], "events"))
		return builtin_events(sh, argc, argv);
	if (!strcmp(argv[0], ".format"))
		return builtin_format(sh, argc, argv);
	if ((c && c->run == cmd_shell) || (!c && (argv[0][0] == '-' || argv[0][0] == '.'))) {
		log_error("%s: not a command here (try help)", argv[0]);
		return RC_USAGE;
	}
	if ((!c || needs_session(c)) && (rc = ensure_session(sh)) != RC_OK)
		return rc;
	if (c)
		return run_table(sh, c, argc, argv);
	/* Shorthand: NAME KEY=VALUE... is `action NAME KEY=VALUE...`. */
	char **args = xcalloc((size_t)argc + 2, sizeof *args);
	args[0] = (char *)"action";
	memcpy(args + 1, argv, (size_t)argc * sizeof *args);
	rc = run_table(sh, cmd_find("action"), argc + 1, args);
	free(args);
	return rc;
}

static void block_start(struct shell *sh)
{
	ami_msg_clear(&sh->block);
	sh->in_block = 1;
	sh->block_bad = 0;
}

static void block_abandon(struct shell *sh)
{
	sh->in_block = sh->block_secret = 0;
	ami_msg_clear(&sh->block);
}

/* One "Key: Value" line of a raw block. A bad line spoils the block. */
static void block_add(struct shell *sh, const char *line)
{
	const char *colon = strchr(line, ':'), *bad = bad_char_name(line, strlen(line));
	size_t n;

	line = skip_blanks(line);
	n = colon ? (size_t)(colon - line) : 0;
	while (n && (line[n - 1] == ' ' || line[n - 1] == '\t'))
		n--;
	if (bad) {
		log_error("a line of the block contains %s; the block will not be sent", bad);
	} else if (!colon || !n || strcspn(line, " \t") < n) {
		log_error("not a \"Key: Value\" line; the block will not be sent");
	} else {
		const char *v = skip_blanks(colon + 1);
		ami_msg_addn(&sh->block, line, n, v, strlen(v));
		if (!strncasecmp(line, "Action", n) && n == 6 && !strcasecmp(v, "Login"))
			sh->block_secret = 1;
		return;
	}
	sh->block_bad = 1;
}

/* The blank line: send the block as it is, like telnet would. */
static int block_end(struct shell *sh)
{
	struct ami_msg reply;
	const char *action = ami_msg_get(&sh->block, "Action");
	int rc;

	sh->in_block = sh->block_secret = 0;
	if (sh->block_bad)
		return RC_USAGE;
	if (action && is_logoff(action)) {
		sh->quit = 1;
		return RC_OK;
	}
	if ((rc = ensure_session(sh)) != RC_OK)
		return rc;
	ami_msg_init(&reply);
	out_set_format(sh->fmt);
	rc = ami_action_list(sh->a, &sh->block, &reply, print_msg, NULL);
	if (rc != RC_OK && rc != RC_IO)
		log_error("%s", ami_error(sh->a));
	ami_msg_free(&reply);
	ami_msg_clear(&sh->block);
	if (out_flush() != RC_OK && rc == RC_OK)
		rc = RC_IO;
	return rc;
}

/* Runs one input line. RC_CONTINUE when no command ran (blank, comment, a line
 * inside a raw block); otherwise the command's RC_*. */
static int run_line(struct shell *sh, const char *line)
{
	const char *p = skip_blanks(line);
	struct strv w = { 0 };
	int rc;

	if (sh->in_block) {
		if (!*p)
			return block_end(sh);
		if (*p != '#')
			block_add(sh, p);
		return RC_CONTINUE;
	}
	if (!*p || *p == '#')
		return RC_CONTINUE;
	if (!strncasecmp(p, "Action:", 7)) {
		block_start(sh);
		block_add(sh, p);
		return RC_CONTINUE;
	}
	if ((rc = split_words(p, &w)) == RC_OK)
		rc = w.n ? run_words(sh, (int)w.n, w.v) : RC_CONTINUE;
	strv_free(&w);
	return rc;
}

/* A line, then what follows every command: the session's event state,
 * pending events, a lost connection. Ctrl-C on a terminal stopped the
 * command, not the shell: it is forgotten before the session is used. */
static int run_line_fully(struct shell *sh, const char *line)
{
	int rc = run_line(sh, line);

	if (sh->interactive && interrupted == SIGINT) {
		interrupted = 0;
		out_puts("\n");        /* after the ^C the terminal echoed */
		out_flush();
	}
	if (rc != RC_CONTINUE && !interrupted)
		after_command(sh);
	return rc;
}

/* ---------- batch mode ---------- */

static int stop_code(void)
{
	return interrupted == SIGTERM ? RC_TERMINATED : RC_INTERRUPTED;
}

static int batch(struct shell *sh, FILE *in)
{
	char *buf = NULL;
	size_t cap = 0;
	ssize_t len;
	unsigned long lineno = 0;
	int rc, first = RC_OK;

	while (!sh->quit && !interrupted && (len = getline(&buf, &cap, in)) >= 0) {
		lineno++;
		while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
			buf[--len] = '\0';
		if (memchr(buf, '\0', (size_t)len)) {
			log_error("line %lu contains a NUL byte", lineno);
			rc = RC_USAGE;
		} else {
			rc = run_line_fully(sh, buf);
		}
		if (interrupted)
			break;
		if (!sh->a && rc != RC_CONTINUE && !sh->quit) {
			rc = RC_CONNECT;        /* nothing after this line could work */
			first = first ? first : rc;
			break;
		}
		if (rc == RC_CONTINUE || rc == RC_OK)
			continue;
		first = first ? first : rc;
		if (out_broken_pipe() || !sh->keep_going) {
			log_error("stopped at line %lu (exit status %d)", lineno, rc);
			break;
		}
	}
	if (!interrupted && ferror(in) && !sh->quit) {
		log_error("cannot read the commands:");
		first = first ? first : RC_IO;
	}
	clearerr(in);
	free(buf);
	if (sh->in_block && !interrupted && (first == RC_OK || sh->keep_going)) {
		rc = block_end(sh);         /* the last block needs no blank line */
		after_command(sh);
		first = first ? first : rc;
	}
	return interrupted ? stop_code() : first;
}

/* ---------- interactive mode ---------- */

static const char *prompt_text(const struct shell *sh)
{
	static char buf[300];

	if (sh->in_block)
		return "... ";
	snprintf(buf, sizeof buf, "ami %s%s> ", sh->label,
		 !sh->a ? " (disconnected)" : sh->events ? " (events)" : "");
	return buf;
}

static void on_line(char *line)
{
	/* Removed here, or readline would print the next prompt before the
	 * command has run. */
	rl_callback_handler_remove();
	cur->rl_active = 0;
	cur->line = line;
	cur->got_line = 1;
}

static void prompt_install(struct shell *sh)
{
	rl_callback_handler_install(prompt_text(sh), on_line);
	sh->rl_active = 1;
}

/* Clears the prompt and the line being typed, for output above them. */
static void prompt_hide(struct shell *sh)
{
	if (!sh->rl_active)
		return;
	rl_clear_visible_line();
	fflush(rl_outstream);
}

static void prompt_show(struct shell *sh)
{
	if (!sh->rl_active)
		return;
	rl_set_prompt(prompt_text(sh));
	rl_on_new_line();
	rl_redisplay();
}

/* Ctrl-C at the prompt: drop the line (and a raw block), as bash does. */
static void cancel_line(struct shell *sh)
{
	interrupted = 0;
	if (!sh->rl_active)
		return;
	rl_point = rl_end;
	rl_redisplay();
	rl_free_line_state();
	rl_callback_sigcleanup();
	fputs("^C\n", rl_outstream);
	fflush(rl_outstream);
	rl_callback_handler_remove();
	block_abandon(sh);
	prompt_install(sh);
}

static void handle_line(struct shell *sh, char *line)
{
	if (!line) {            /* Ctrl-D */
		fputs("\n", rl_outstream);
		fflush(rl_outstream);
		sh->quit = 1;
		return;
	}
	history_add(sh, line);
	fflush(rl_outstream);
	run_line_fully(sh, line);
}

static void on_winch(int sig)
{
	(void)sig;
	winch = 1;
}

static void on_hangup(int sig) { interrupted = sig; }

static void setup_readline(struct shell *sh)
{
	static char breaks[] = " \t\n";
	struct sigaction sa;

	cur = sh;
	rl_readline_name = "ami";
	shell_complete_init(sh);
	rl_completer_word_break_characters = breaks;
	rl_variable_bind("completion-ignore-case", "on");
	/* Signals are ours: SIGINT sets `interrupted` and wakes poll(). */
	rl_catch_signals = 0;
	rl_catch_sigwinch = 0;
	memset(&sa, 0, sizeof sa);
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_winch;
	sigaction(SIGWINCH, &sa, NULL);
	sa.sa_handler = on_hangup;
	sigaction(SIGHUP, &sa, NULL);
	history_open(sh);
}

static void banner(const struct shell *sh)
{
	if (verbosity < 0)
		return;
	char *greeting = term_safe_dup(ami_banner(sh->a));     /* none over HTTP */

	out_printf("Logged in to %s%s%s%s as %s.\n"
		   "Type help for the commands, Tab to complete, Ctrl-D to quit.\n",
		   ami_host_label(sh->a), *greeting ? " (" : "", greeting, *greeting ? ")" : "",
		   sh->prof.username);
	free(greeting);
	out_flush();
}

/* How long interactive_step may wait for a key: forever, except over HTTP
 * with events on, where they are asked for every HTTP_EVENTS_MS, typing or
 * not (fetch: there is no socket to poll for them). */
static int wait_for_key_ms(struct shell *sh, int fetch)
{
	if (sh->more)
		return 0;
	if (!fetch || !sh->events)
		return -1;
	int64_t left = sh->next_fetch - now_ms();
	return left <= 0 ? 0 : left > HTTP_EVENTS_MS ? HTTP_EVENTS_MS : (int)left;
}

/* Waits for a key or for AMI data, and handles what came. */
static void interactive_step(struct shell *sh)
{
	int fetch = sh->a && !ami_can_poll(sh->a);
	int sock = sh->a ? ami_fd(sh->a) : -1;     /* -1 over HTTP */
	struct pollfd pfd[2] = {
		{ .fd = STDIN_FILENO, .events = POLLIN },
		{ .fd = sock, .events = POLLIN },
	};
	int r = poll(pfd, 2, wait_for_key_ms(sh, fetch));

	if (r < 0) {
		if (errno != EINTR) {
			log_error("poll:");
			sh->quit = 1;
		}
		return;
	}
	if ((fetch && sh->events && now_ms() >= sh->next_fetch) || sh->more || pfd[1].revents)
		drain(sh);      /* over HTTP: one WaitEvent that returns at once */
	if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR))
		rl_callback_read_char();
	else if (pfd[0].revents & POLLNVAL)
		sh->quit = 1;
	if (sh->got_line) {
		sh->got_line = 0;
		handle_line(sh, sh->line);
		free(sh->line);
		sh->line = NULL;
		if (!sh->quit)
			prompt_install(sh);
	}
}

static int interactive(struct shell *sh)
{
	load_actions(sh);
	setup_readline(sh);
	banner(sh);
	drain(sh);
	prompt_install(sh);
	while (!sh->quit) {
		if (interrupted == SIGINT)
			cancel_line(sh);
		else if (interrupted)
			break;
		if (winch) {
			winch = 0;
			rl_resize_terminal();
		}
		interactive_step(sh);
	}
	if (sh->rl_active)
		rl_callback_handler_remove();
	if (interrupted)
		fputs("\n", rl_outstream);
	fflush(rl_outstream);
	if (sh->histfile)
		history_truncate_file(sh->histfile, HISTORY_MAX);
	if (interrupted == SIGHUP)
		return 128 + SIGHUP;
	return interrupted ? stop_code() : RC_OK;
}

/* ---------- set-up ---------- */

static int shell_login(struct shell *sh)
{
	int rc = config_resolve(&sh->prof, &sh->base.ov, CONFIG_SECRET_REQUIRED);

	if (rc != RC_OK)
		return rc;
	sh->have_prof = 1;
	sh->label = xstrdup(sh->prof.name && strcmp(sh->prof.name, "default") ? sh->prof.name
			    : sh->prof.url && sh->prof.transport >= TR_HTTP ? sh->prof.url
			    : sh->prof.host);
	if ((rc = ami_open(&sh->a, &sh->prof, "off")) != RC_OK)
		return rc;
	sh->base.ami = sh->a;
	sh->base.shell_profile = &sh->prof;
	sh->base.in_shell = 1;
	sh->base.ov.secret_stdin = 0;   /* read once; stdin now holds commands */
	return RC_OK;
}

static void shell_free(struct shell *sh)
{
	if (sh->a)
		ami_close(sh->a);
	if (sh->have_prof)
		profile_free(&sh->prof);
	shell_complete_free(sh);
	strv_free(&sh->actions);
	strv_free(&sh->filters);
	ami_msg_free(&sh->ev);
	ami_msg_free(&sh->block);
	free(sh->label);
	free(sh->histfile);
	cur = NULL;
}

int cmd_shell(int argc, char **argv, struct ctx *ctx)
{
	struct shell sh;
	const char *file = NULL;
	FILE *in = stdin;
	int ch, rc, keep_going = 0;

	while ((ch = getopt_long(argc, argv, COMMON_SHORTOPTS "k", longopts, NULL)) != -1) {
		if (ch == 'k')
			keep_going = 1;
		else if ((rc = ctx_option(ctx, ch, optarg)) != RC_CONTINUE)
			return rc;
	}
	if (optind < argc)
		file = argv[optind++];
	if (optind < argc)
		return usage_error("unexpected argument \"%s\"", argv[optind]);
	if (ctx->ami)
		return usage_error("already in the shell");
	if (file && strcmp(file, "-") && !(in = fopen(file, "r"))) {
		log_error("cannot read %s:", file);
		return RC_IO;
	}
	memset(&sh, 0, sizeof sh);
	sh.base = *ctx;
	sh.fmt = ctx->fmt;
	sh.keep_going = keep_going;
	sh.interactive = !file && isatty(STDIN_FILENO);
	ami_msg_init(&sh.ev);
	ami_msg_init(&sh.block);
	rc = shell_login(&sh);
	if (rc == RC_OK)
		rc = sh.interactive ? interactive(&sh) : batch(&sh, in);
	if (sh.events && !interrupted)
		events_off(&sh);    /* the events the last commands caused */
	shell_free(&sh);
	if (in != stdin)
		fclose(in);
	return rc;
}
