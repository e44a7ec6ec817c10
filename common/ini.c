/* ini.c - the INI reader: lines in, (section, key, value) out. */
#include "ini.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; }

static char *trim(char *s)
{
	size_t n;

	while (is_space(*s))
		s++;
	n = strlen(s);
	while (n > 0 && is_space(s[n - 1]))
		s[--n] = '\0';
	return s;
}

/* Nothing but blanks and maybe a comment. */
static int only_comment(const char *s)
{
	while (is_space(*s))
		s++;
	return !*s || *s == ';' || *s == '#';
}

/* "..." with \" and \\ as the only escapes; rewritten in place. */
static char *quoted_value(char *s)
{
	char *src = s + 1, *dst = s;

	for (;;) {
		if (!*src)
			return NULL;                /* unterminated */
		if (*src == '\\' && (src[1] == '"' || src[1] == '\\')) {
			*dst++ = src[1];
			src += 2;
		} else if (*src == '"') {
			break;
		} else {
			*dst++ = *src++;
		}
	}
	*dst = '\0';
	return only_comment(src + 1) ? s : NULL;
}

/* The text after '=': quoted, or bare up to a ';' or '#' that follows
 * whitespace (so "a#b" and URLs with fragments survive). */
static char *ini_value(char *s)
{
	char *v = s;

	while (is_space(*v))
		v++;
	if (*v == '"')
		return quoted_value(v);
	for (char *p = s; *p; p++) {
		if (is_space(*p) && (p[1] == ';' || p[1] == '#')) {
			*p = '\0';
			break;
		}
	}
	return trim(s);
}

/* One line; nonzero when it is bad or kv said stop. */
static int ini_line(char *line, size_t len, int lineno, char **section, ini_kv_fn kv, void *arg)
{
	char *s, *end, *key, *value;

	if (strlen(line) != len)
		return 1;                   /* a NUL byte: this is no text file */
	if (len > 0 && line[len - 1] == '\n')
		line[--len] = '\0';
	if (lineno == 1 && !strncmp(line, "\xef\xbb\xbf", 3))
		line += 3;                  /* a UTF-8 byte order mark */
	s = trim(line);
	if (only_comment(s))
		return 0;
	if (*s == '[') {
		if (!(end = strchr(s, ']')) || !only_comment(end + 1))
			return 1;
		*end = '\0';
		if (!*(s = trim(s + 1)))
			return 1;
		free(*section);
		*section = xstrdup(s);
		return kv(arg, s, NULL, NULL, lineno);
	}
	if (!(end = strchr(s, '=')))
		return 1;
	*end = '\0';
	key = trim(s);
	if (!*key || !(value = ini_value(end + 1)))
		return 1;
	return kv(arg, *section, key, value, lineno);
}

int ini_parse_file(FILE *fp, ini_kv_fn kv, void *arg)
{
	char *line = NULL, *section = NULL;
	size_t cap = 0;
	ssize_t n;
	int lineno = 0, bad = 0;

	while (!bad && (n = getline(&line, &cap, fp)) >= 0) {
		lineno++;
		if (ini_line(line, (size_t)n, lineno, &section, kv, arg))
			bad = lineno;
	}
	if (!bad && ferror(fp))
		bad = -1;
	if (line)
		secret_wipe(line, cap);
	free(line);
	free(section);
	return bad;
}

FILE *ini_open(const char *path)
{
	/* O_NONBLOCK: the open itself must not wait for a FIFO's writer. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	struct stat st;
	FILE *fp;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0 || (S_ISDIR(st.st_mode) && (errno = EISDIR))) {
		int e = errno;
		close(fd);
		errno = e;
		return NULL;
	}
	fcntl(fd, F_SETFL, 0);          /* a FIFO (--config <(...)) may block now */
	if (!(fp = fdopen(fd, "r")))
		close(fd);
	return fp;
}
