/* shell.h - what shell.c and shell_complete.c share: the shell's state and
 * its string vectors. Private to `ami shell`. */
#ifndef AMI_SHELL_H
#define AMI_SHELL_H

#include "cmds.h"

struct strv {
	char **v;
	size_t n, cap;
};

struct headers {                /* header names of one action, for completion */
	char *action;
	struct strv keys;
};

struct shell {
	struct ctx base;            /* the shell's options; base.ami is the session */
	struct profile prof;        /* kept to reconnect (tail-events too) */
	int have_prof;
	struct ami *a;              /* NULL once the connection is lost */
	char *label;                /* profile name or host, for the prompt */
	enum out_format fmt;
	int interactive, keep_going, quit;
	int events;                 /* `events on` */
	struct strv filters;        /* its globs, lower case */
	struct ami_msg ev;
	/* a raw `Action:` block being read */
	int in_block, block_bad, block_secret;
	struct ami_msg block;
	/* completion */
	struct strv actions;        /* from ListCommands */
	struct headers *hdrs;
	size_t nhdrs;
	/* the terminal */
	int rl_active;              /* a prompt is shown (callback installed) */
	int more;                   /* events left to drain: do not sleep */
	int64_t next_fetch;         /* HTTP: when to ask for events again */
	char *line;                 /* the line readline handed over */
	int got_line;
	char *histfile;
	unsigned long hist_added;
};

/* The built-in words of a line, NULL-terminated. */
extern const char *const shell_builtins[];

void strv_addn(struct strv *s, const char *str, size_t n);
void strv_add(struct strv *s, const char *str);
void strv_clear(struct strv *s);
void strv_free(struct strv *s);
int strv_has(const struct strv *s, const char *str);   /* ASCII case ignored */
const char *skip_blanks(const char *s);
/* Adds the blank-separated words of s. */
void add_words(struct strv *out, const char *s);

/* shell_complete.c: Tab completion on readline for sh, until
 * shell_complete_free. */
void shell_complete_init(struct shell *sh);
void shell_complete_free(struct shell *sh);
/* The header names of action (asked of Asterisk once, else a built-in
 * list), ActionID last. */
const struct strv *shell_action_headers(struct shell *sh, const char *action);

#endif
