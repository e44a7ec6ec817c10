/* secret_test.c - unit tests for common/secret.c: private files, the
 * first line of stdin, and the no-echo prompt on a pseudo-terminal.
 * Ends with "N passed, N failed"; exits 1 when anything failed.
 * Works in a private temp dir with HOME and the AMI_* variables reset. */
#undef _XOPEN_SOURCE              /* readline.pc passes 600 */
#define _XOPEN_SOURCE 700           /* posix_openpt & co. for the prompt test */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "check.h"
#include "fixture.h"
#include "config.h"
#include "secret.h"
#include "util.h"

static void test_private_checks(void)
{
	static const mode_t bad_modes[] = { 0644, 0640, 0604, 0601, 0610, 0660, 0666, 0700 | 0004 };
	char *s, *msg;
	char *secret = NULL;
	int fd;

	s = write_text("s", "pw\r\nsecond line\n", 0600);
	CHECK_INT(secret_read_file(s, &secret), RC_OK);
	CHECK_STR(secret, "pw");
	secret_free(secret);
	put_text("s", "only\n", 0400);
	CHECK_INT(secret_read_file(s, &secret), RC_OK);
	CHECK_STR(secret, "only");
	secret_free(secret);
	put_text("s", "no newline", 0700);
	CHECK_INT(secret_read_file(s, &secret), RC_OK);
	CHECK_STR(secret, "no newline");
	secret_free(secret);

	for (size_t i = 0; i < ARRAY_LEN(bad_modes); i++) {
		put_text("s", "pw\n", bad_modes[i]);
		capture_start();
		CHECK_INT(secret_read_file(s, &secret), RC_CONFIG);
		capture_end();
		CHECK(secret == NULL);
		msg = xasprintf("secret file %s has mode %04o; it must be private: chmod 600 %s",
				s, (unsigned)bad_modes[i], s);
		CHECK_ERR(msg);
		free(msg);
	}

	/* Not ours: chown when root, else a root-owned system file. */
	put_text("s", "pw\n", 0600);
	const char *other = s;
	if (getuid() == 0)
		CHECK(chown(s, 4242, 4242) == 0);
	else
		other = "/etc/passwd";
	capture_start();
	CHECK_INT(secret_read_file(other, &secret), RC_CONFIG);
	capture_end();
	CHECK_ERR("is owned by uid");
	if (getuid() == 0)
		CHECK(chown(s, 0, 0) == 0);

	char *d = make_dir("sdir");
	capture_start();
	CHECK_INT(secret_read_file(d, &secret), RC_CONFIG);
	capture_end();
	CHECK_ERR("is not a regular file");
	char *fifo = tpath("fifo");
	CHECK(mkfifo(fifo, 0600) == 0);
	if (nmade < ARRAY_LEN(made))
		made[nmade++] = xstrdup(fifo);
	capture_start();
	CHECK_INT(secret_read_file(fifo, &secret), RC_CONFIG);  /* and no hang */
	capture_end();
	CHECK_ERR("is not a regular file");
	capture_start();
	CHECK_INT(secret_read_file("/nonexistent/s", &secret), RC_CONFIG);
	capture_end();
	CHECK_ERR("cannot open secret file /nonexistent/s");

	/* Bad content. */
	put_text("s", "", 0600);
	capture_start();
	CHECK_INT(secret_read_file(s, &secret), RC_CONFIG);
	capture_end();
	CHECK_ERR("the secret is empty");
	put_text("s", "\r\nx\n", 0600);
	capture_start();
	CHECK_INT(secret_read_file(s, &secret), RC_CONFIG);
	capture_end();
	CHECK_ERR("the secret is empty");
	put_text("s", "a\rb\n", 0600);
	capture_start();
	CHECK_INT(secret_read_file(s, &secret), RC_CONFIG);
	capture_end();
	CHECK_ERR("the secret contains a carriage return");
	put_file("s", "a\0b\n", 4, 0600);
	capture_start();
	CHECK_INT(secret_read_file(s, &secret), RC_CONFIG);
	capture_end();
	CHECK_ERR("the secret contains a NUL byte");
	char big[5000];
	memset(big, 'x', sizeof(big));
	put_file("s", big, sizeof(big), 0600);
	capture_start();
	CHECK_INT(secret_read_file(s, &secret), RC_CONFIG);
	capture_end();
	CHECK_ERR("longer than");

	/* secret_check_private on its own. */
	put_text("s", "pw\n", 0600);
	fd = open(s, O_RDONLY);
	CHECK_INT(secret_check_private(fd, "secret file", s, ""), RC_OK);
	fchmod(fd, 0620);
	capture_start();
	CHECK_INT(secret_check_private(fd, "secret file", s, ""), RC_CONFIG);
	capture_end();
	CHECK_ERR("has mode 0620");
	close(fd);
	free(fifo);
	free(d);
	free(s);
}

/* Only the first line is taken: what follows stays for the next reader. */
static void test_stdin(void)
{
	int fds[2], saved = dup(0);
	char rest[32] = "", *secret = NULL;
	ssize_t n;

	CHECK(pipe(fds) == 0);
	CHECK(write(fds[1], "s3cret\r\nrest\n", 13) == 13);
	close(fds[1]);
	dup2(fds[0], 0);
	close(fds[0]);
	CHECK_INT(secret_read_stdin(&secret), RC_OK);
	CHECK_STR(secret, "s3cret");
	secret_free(secret);
	n = read(0, rest, sizeof(rest) - 1);                /* the next line is left */
	rest[n > 0 ? n : 0] = '\0';
	CHECK_STR(rest, "rest\n");
	secret = NULL;
	capture_start();
	CHECK_INT(secret_read_stdin(&secret), RC_CONFIG);   /* EOF now */
	capture_end();
	CHECK(secret == NULL);
	CHECK_ERR("standard input (--secret-stdin): the secret is empty");
	dup2(saved, 0);
	close(saved);
}

/* ---- the prompt, on a pseudo-terminal ---------------------------------------------- */

static void on_sigint(int sig) { interrupted = sig; }

/* In the child: the pty is stdin and the controlling terminal. Exit codes:
 * 0 right secret, 10 + rc otherwise, 3 echo left off. */
static void prompt_child(const char *slave, int handle_sigint)
{
	struct overrides o;
	struct termios t;
	struct profile p;
	int fd, rc;

	setsid();
	if ((fd = open(slave, O_RDWR)) < 0)
		_exit(2);
	dup2(fd, 0);
	dup2(fd, 1);
	alarm(10);
	if (handle_sigint) {
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_sigint;
		sigaction(SIGINT, &sa, NULL);
	} else {
		signal(SIGINT, SIG_DFL);
	}
	setenv("AMI_USER", "bob", 1);
	setenv("AMI_HOST", "pbx", 1);
	overrides_init(&o);
	o.config_file = "/dev/null";
	rc = config_resolve(&p, &o, CONFIG_SECRET_REQUIRED);
	if (tcgetattr(0, &t) < 0 || !(t.c_lflag & ECHO))
		_exit(3);
	if (rc == RC_OK && !strcmp(p.secret, "hunter2"))
		_exit(0);
	if (rc == RC_INTERRUPTED && interrupted == SIGINT)
		_exit(4);
	_exit(10 + rc);
}

/* Reads from the master until want shows up (or 5 s pass); appends to buf. */
static int wait_for(int m, char *buf, size_t cap, const char *want)
{
	size_t len = strlen(buf);
	struct pollfd pfd = { m, POLLIN, 0 };

	while (!strstr(buf, want) && len + 1 < cap) {
		ssize_t n;
		if (poll(&pfd, 1, 5000) <= 0)
			return -1;
		if ((n = read(m, buf + len, cap - len - 1)) <= 0)
			return -1;
		len += (size_t)n;
		buf[len] = '\0';
	}
	return 0;
}

static int run_prompt(const char *input, int handle_sigint, int *status, char *out, size_t cap)
{
	int m = posix_openpt(O_RDWR | O_NOCTTY);
	pid_t pid;

	if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0)
		return -1;
	fflush(NULL);
	if ((pid = fork()) == 0)
		prompt_child(ptsname(m), handle_sigint);
	out[0] = '\0';
	if (wait_for(m, out, cap, "Secret for bob@pbx: ") == 0)
		(void)!write(m, input, strlen(input));
	wait_for(m, out, cap, "\n\n");                      /* drain until EOF or timeout */
	waitpid(pid, status, 0);
	struct termios t;
	int echo = tcgetattr(m, &t) == 0 && (t.c_lflag & ECHO);
	close(m);
	return echo;
}

static void test_prompt(void)
{
	char out[512];
	int status = 0, echo, m = posix_openpt(O_RDWR | O_NOCTTY);

	if (m < 0) {
		fprintf(stderr, "skip: no pseudo-terminals\n");
		return;
	}
	close(m);
	echo = run_prompt("hunter2\n", 1, &status, out, sizeof(out));
	CHECK(strstr(out, "Secret for bob@pbx: ") != NULL);
	CHECK(strstr(out, "hunter2") == NULL);              /* not echoed */
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(echo == 1);
	/* Ctrl-C with the program's handler: rc 130, handler ran, echo back on. */
	echo = run_prompt("\003", 1, &status, out, sizeof(out));
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 4);
	CHECK(echo == 1);
	/* Ctrl-C with the default action: killed, yet the echo is back on. */
	echo = run_prompt("\003", 0, &status, out, sizeof(out));
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGINT);
	CHECK(echo == 1);
}

int main(void)
{
	fixture_init("secret_test");
	test_private_checks();
	test_stdin();
	test_prompt();
	cleanup();
	return check_summary();
}
