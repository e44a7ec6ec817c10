/* fixture.h - a private temp dir for the unit tests of files, secrets and
 * profiles: files made there (and removed at the end), stderr captured,
 * HOME and the AMI_* variables reset. Include after check.h. */
#ifndef FIXTURE_H
#define FIXTURE_H

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

#define CHECK_ERR(s) check_err(__FILE__, __LINE__, (s))

static char dir[64];                /* the temp dir */
static char *made[128];             /* files and dirs to remove, in order */
static size_t nmade;
static char errbuf[8192];           /* what the last captured call printed */
static int saved_stderr = -1;

/* What the last captured call printed has want in it. */
static inline void check_err(const char *file, int line, const char *want)
{
	check_at(file, line, strstr(errbuf, want) != NULL, "%s; stderr was: %s", want, errbuf);
}

static inline char *tpath(const char *name)
{
	return xasprintf("%s/%s", dir, name);
}

static inline char *write_file(const char *name, const char *content, size_t len, mode_t mode)
{
	char *path = tpath(name);
	int fd;

	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, content, len) != (ssize_t)len || fchmod(fd, mode) < 0) {
		perror(path);
		exit(1);
	}
	close(fd);
	if (nmade < ARRAY_LEN(made))
		made[nmade++] = xstrdup(path);
	return path;
}

static inline char *write_text(const char *name, const char *content, mode_t mode)
{
	return write_file(name, content, strlen(content), mode);
}

/* Rewrites a file whose path the caller already has. */
static inline void put_file(const char *name, const char *content, size_t len, mode_t mode)
{
	free(write_file(name, content, len, mode));
}

static inline void put_text(const char *name, const char *content, mode_t mode)
{
	put_file(name, content, strlen(content), mode);
}

static inline char *make_dir(const char *name)
{
	char *path = tpath(name);
	mkdir(path, 0700);
	if (nmade < ARRAY_LEN(made))
		made[nmade++] = xstrdup(path);
	return path;
}

static inline void cleanup(void)
{
	while (nmade > 0) {
		char *p = made[--nmade];
		if (unlink(p) < 0)
			rmdir(p);
		free(p);
	}
	rmdir(dir);
}

static inline void capture_start(void)
{
	char *path = tpath("stderr");
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	fflush(stderr);
	saved_stderr = dup(2);
	dup2(fd, 2);
	close(fd);
	free(path);
}

static inline void capture_end(void)
{
	char *path = tpath("stderr");
	int fd;
	ssize_t n;

	fflush(stderr);
	dup2(saved_stderr, 2);
	close(saved_stderr);
	fd = open(path, O_RDONLY);
	n = fd < 0 ? 0 : read(fd, errbuf, sizeof(errbuf) - 1);
	errbuf[n > 0 ? n : 0] = '\0';
	if (fd >= 0)
		close(fd);
	unlink(path);
	free(path);
}

static inline void reset_env(void)
{
	static const char *const vars[] = {
		"AMI_CONFIG", "AMI_PROFILE", "AMI_HOST", "AMI_PORT", "AMI_USER", "AMI_SECRET",
		"AMI_TIMEOUT", "AMI_URL", "AMI_TRANSPORT", "XDG_CONFIG_HOME",
	};
	char *home = tpath("home");

	for (size_t i = 0; i < ARRAY_LEN(vars); i++)
		unsetenv(vars[i]);
	setenv("HOME", home, 1);
	free(home);
}

/* Makes the temp dir (and HOME in it) for test NAME; stdin becomes
 * /dev/null, so that no "no secret" case can prompt. */
static inline void fixture_init(const char *name)
{
	int devnull = open("/dev/null", O_RDONLY);

	dup2(devnull, 0);
	close(devnull);
	snprintf(dir, sizeof(dir), "/tmp/%s.XXXXXX", name);
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		exit(1);
	}
	free(make_dir("home"));
	log_prog(name);
}

#endif
