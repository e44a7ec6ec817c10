/* secret.c - reading a secret without leaving copies behind: one byte at a
 * time (no stdio buffer keeps it), wiped buffers, private files only. */
#include "secret.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "util.h"

/* systemd hands a service its credentials (LoadCredential=) in a directory
 * that only the service can read, named by $CREDENTIALS_DIRECTORY. Where it
 * can, systemd leaves a file there root's, mode 0400, and lets the service's
 * (dynamic) user read it through an ACL, whose mask shows as group read: a
 * file of that directory is private when it is ours or root's and gives
 * others nothing. */
static int is_credential(const char *path, const struct stat *st)
{
	const char *dir = getenv("CREDENTIALS_DIRECTORY");
	size_t n = dir ? strlen(dir) : 0;

	return n && !strncmp(path, dir, n) && path[n] == '/' && path[n + 1] &&
	       !strchr(path + n + 1, '/') && (st->st_uid == getuid() || st->st_uid == 0) &&
	       !(st->st_mode & (S_IWGRP | S_IXGRP | S_IRWXO));
}

int secret_check_private(int fd, const char *kind, const char *path, const char *why)
{
	struct stat st;

	if (fstat(fd, &st) < 0) {
		log_error("cannot check %s %s:", kind, path);
		return RC_CONFIG;
	}
	if (!S_ISREG(st.st_mode)) {
		log_error("%s %s is not a regular file%s", kind, path, why);
		return RC_CONFIG;
	}
	if (is_credential(path, &st))
		return RC_OK;
	if (st.st_uid != getuid()) {
		log_error("%s %s is owned by uid %u, not by you (uid %u)%s; it must be yours",
			  kind, path, (unsigned)st.st_uid, (unsigned)getuid(), why);
		return RC_CONFIG;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		log_error("%s %s has mode %04o%s; it must be private: chmod 600 %s",
			  kind, path, (unsigned)(st.st_mode & 07777), why, path);
		return RC_CONFIG;
	}
	return RC_OK;
}

enum line_status { LINE_OK, LINE_EOF, LINE_LONG, LINE_ERR, LINE_INTR };

/* Reads one line a byte at a time, so nothing after it is consumed (stdin
 * may carry a script next) and no stdio buffer keeps a copy. EINTR retries
 * unless *stop was set by the signal. Trailing CR/LF are stripped. */
static enum line_status read_line(int fd, char *buf, size_t cap, size_t *len,
				  volatile sig_atomic_t *stop)
{
	char c = 0;
	ssize_t n;
	enum line_status st = LINE_OK;

	*len = 0;
	for (;;) {
		n = read(fd, &c, 1);
		if (n < 0 && errno == EINTR && !*stop)
			continue;
		if (n < 0) {
			st = errno == EINTR ? LINE_INTR : LINE_ERR;
			break;
		}
		if (n == 0) {
			st = *len ? LINE_OK : LINE_EOF;
			break;
		}
		if (c == '\n')
			break;
		if (*len == cap) {
			st = LINE_LONG;
			break;
		}
		buf[(*len)++] = c;
	}
	secret_wipe(&c, 1);
	while (*len > 0 && (buf[*len - 1] == '\r' || buf[*len - 1] == '\n'))
		(*len)--;
	buf[*len] = '\0';
	return st;
}

/* Turns what read_line got into a malloc'd secret, or prints why not. */
static int take_secret(enum line_status st, char *buf, size_t len, const char *what,
		       char **secret)
{
	const char *bad = bad_char_name(buf, len);
	int rc = RC_CONFIG;

	if (st == LINE_INTR)
		rc = RC_INTERRUPTED;
	else if (st == LINE_ERR)
		log_error("cannot read %s:", what);
	else if (st == LINE_LONG)
		log_error("%s: the secret is longer than %d bytes", what, SECRET_MAX);
	else if (len == 0)
		log_error("%s: the secret is empty", what);
	else if (bad)
		log_error("%s: the secret contains %s", what, bad);
	else {
		*secret = xstrndup(buf, len);
		rc = RC_OK;
	}
	secret_wipe(buf, SECRET_MAX + 1);
	free(buf);
	return rc;
}

int secret_read_file(const char *path, char **secret)
{
	/* O_NONBLOCK: opening a FIFO must not hang before fstat refuses it. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	char *buf, *what;
	enum line_status st;
	size_t len;
	int rc;

	*secret = NULL;
	if (fd < 0) {
		log_error("cannot open secret file %s:", path);
		return RC_CONFIG;
	}
	if ((rc = secret_check_private(fd, "secret file", path, "")) != RC_OK) {
		close(fd);
		return rc;
	}
	buf = xmalloc(SECRET_MAX + 1);
	what = xasprintf("secret file %s", path);
	st = read_line(fd, buf, SECRET_MAX, &len, &interrupted);
	rc = take_secret(st, buf, len, what, secret);
	free(what);
	close(fd);
	return rc;
}

int secret_read_stdin(char **secret)
{
	char *buf = xmalloc(SECRET_MAX + 1);
	size_t len;
	enum line_status st = read_line(0, buf, SECRET_MAX, &len, &interrupted);

	return take_secret(st, buf, len, "standard input (--secret-stdin)", secret);
}

/* ---- the prompt ------------------------------------------------------------ */

static volatile sig_atomic_t prompt_signal;
static const int prompt_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP, SIGTTIN, SIGTTOU };

static void on_prompt_signal(int sig) { prompt_signal = sig; }

/* While echo is off, our handler only notes the signal (no SA_RESTART, so
 * read() returns); the terminal is restored before the signal is passed
 * on to whatever handled it before. */
static void catch_signals(struct sigaction old[])
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_prompt_signal;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < ARRAY_LEN(prompt_signals); i++)
		sigaction(prompt_signals[i], &sa, &old[i]);
}

static void release_signals(const struct sigaction old[])
{
	for (size_t i = 0; i < ARRAY_LEN(prompt_signals); i++)
		sigaction(prompt_signals[i], &old[i], NULL);
}

static int is_stop_signal(int sig) { return sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU; }

/* One attempt: echo off, prompt, read a line, echo restored. */
static enum line_status prompt_once(int tty, const struct termios *saved, const char *prompt,
				    char *buf, size_t *len)
{
	struct termios quiet = *saved;
	enum line_status st;
	ssize_t w;

	quiet.c_lflag &= ~(tcflag_t)ECHO;   /* ISIG stays: Ctrl-C must work */
	if (tcsetattr(tty, TCSAFLUSH, &quiet) < 0)
		return LINE_ERR;
	w = write(tty, prompt, strlen(prompt));
	st = w < 0 ? LINE_ERR : prompt_signal ? LINE_INTR :
		read_line(tty, buf, SECRET_MAX, len, &prompt_signal);
	tcsetattr(tty, TCSAFLUSH, saved);
	w = write(tty, "\n", 1);
	(void)w;
	return st;
}

int secret_prompt(const char *user, const char *host, char **secret)
{
	struct sigaction old[ARRAY_LEN(prompt_signals)];
	struct termios saved;
	char *buf, *prompt;
	size_t len = 0;
	enum line_status st;
	int tty = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC), sig;

	if (tty < 0 || tcgetattr(tty, &saved) < 0) {
		if (tty >= 0)
			close(tty);
		return -1;
	}
	buf = xmalloc(SECRET_MAX + 1);
	prompt = xasprintf("Secret for %s@%s: ", user, host);
	for (;;) {
		prompt_signal = 0;
		catch_signals(old);
		st = prompt_once(tty, &saved, prompt, buf, &len);
		release_signals(old);
		sig = prompt_signal;
		if (!sig)
			break;
		raise(sig);                 /* the old handler, or the default action */
		if (!is_stop_signal(sig)) {
			st = LINE_INTR;
			break;
		}
	}
	free(prompt);
	close(tty);
	return take_secret(st, buf, len, "/dev/tty", secret);
}
