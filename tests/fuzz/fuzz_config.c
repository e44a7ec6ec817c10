/* fuzz_config.c - libFuzzer target for the config loader (common/config.c
 * over common/ini.c) and the number parsers it shares with the options
 * (common/util.c).
 *
 * data[0] is a control byte, the rest is a config file:
 *   bits 0-1  the profile asked for: none, "default", "pbx", "a b"
 *   bit  2    the file is mode 0600 (else 0644: a secret in it is refused)
 *   bits 3-4  what config_resolve looks for: no secret, an optional one
 *   bits 5-7  after how many lines ini_parse_file's callback says stop
 *             (0: never)
 * Each input goes through
 *   1. ini_parse_file over fmemopen(), checking what the callback gets:
 *      no line ends or NULs, trimmed non-empty keys, rising line numbers;
 *   2. config_list_profiles and config_resolve on the same bytes as a
 *      real file (a memfd named by /proc/self/fd/N), checking the profile
 *      it resolves: every value valid, nothing with CR or LF, a source for
 *      every key;
 *   3. parse_seconds / parse_uint / bad_char_name on each line.
 *
 * The loader prints its complaints on stderr; they go to /dev/null unless
 * FUZZ_VERBOSE is set (ASan and libFuzzer write to fd 2 directly).
 *
 *   make fuzz FUZZ_SECONDS=60       (all targets), or by hand:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_POSIX_C_SOURCE=200809L \
 *       -D_DEFAULT_SOURCE -Icommon tests/fuzz/fuzz_config.c common/config.c \
 *       common/ini.c common/secret.c common/util.c -o fuzz_config
 *   ./fuzz_config -max_total_time=60 tests/fuzz/corpus/config */
#define _GNU_SOURCE                     /* memfd_create */
#include "config.h"
#include "ini.h"
#include "util.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int memfd = -1;
static char memfd_path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char *const vars[] = {
		"AMI_CONFIG", "AMI_PROFILE", "AMI_HOST", "AMI_PORT", "AMI_USER", "AMI_SECRET",
		"AMI_TIMEOUT", "AMI_TRANSPORT", "AMI_URL", "XDG_CONFIG_HOME",
	};

	(void)argc;
	(void)argv;
	for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
		unsetenv(vars[i]);
	/* "~/x" paths in the file: somewhere that holds no secrets. */
	setenv("HOME", "/nonexistent-fuzz-home", 1);
	if (!getenv("FUZZ_VERBOSE")) {
		FILE *null = fopen("/dev/null", "w");
		if (null)
			stderr = null;      /* glibc: stderr is an assignable FILE * */
	}
	memfd = memfd_create("fuzz-config", 0);
	if (memfd < 0)
		abort();
	snprintf(memfd_path, sizeof memfd_path, "/proc/self/fd/%d", memfd);
	return 0;
}

/* ---- 1. the INI reader -------------------------------------------------- */

struct ini_state {
	int last_line;
	int calls, stop_after;
	int lines;                  /* lines in the input, for the "bad line" check */
};

static int no_line_end(const char *s)
{
	return !strchr(s, '\n');
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

static int ini_kv(void *arg, const char *section, const char *key, const char *value,
		  int lineno)
{
	struct ini_state *st = arg;
	size_t n;

	if (lineno <= st->last_line || lineno > st->lines)
		abort();
	st->last_line = lineno;
	if (!key) {
		/* A section header: a name, trimmed, without ']' or line end. */
		if (!section || !*section || value || strchr(section, ']') ||
		    !no_line_end(section) || is_blank(section[0]) ||
		    is_blank(section[strlen(section) - 1]))
			abort();
	} else {
		n = strlen(key);
		if (!value || !n || strchr(key, '=') || is_blank(key[0]) || is_blank(key[n - 1]) ||
		    !no_line_end(key) || !no_line_end(value))
			abort();
		if (section && !*section)
			abort();
	}
	return ++st->calls == st->stop_after;
}

static int count_lines(const uint8_t *d, size_t n)
{
	int lines = 0;

	for (size_t i = 0; i < n; i++)
		lines += d[i] == '\n';
	return lines + (n > 0 && d[n - 1] != '\n');
}

static void fuzz_ini(const uint8_t *d, size_t n, int stop_after)
{
	struct ini_state st = { 0, 0, stop_after, count_lines(d, n) };
	FILE *fp;
	int bad;

	if (n == 0)
		return;                 /* fmemopen refuses an empty buffer */
	fp = fmemopen((void *)d, n, "r");
	if (!fp)
		abort();
	bad = ini_parse_file(fp, ini_kv, &st);
	fclose(fp);
	/* 0, or the line that was bad or where the callback stopped. */
	if (bad < 0 || bad > st.lines || (stop_after && st.calls == stop_after && bad != st.last_line))
		abort();
}

/* ---- 2. the loader on a real file --------------------------------------- */

static int clean(const char *s)
{
	return s && !bad_char_name(s, strlen(s));
}

static void check_profile(const struct profile *p, int need_secret)
{
	if (!clean(p->name) || !clean(p->host) || !*p->host || p->port < 1 || p->port > 65535 ||
	    p->timeout_ms < 0 || !clean(p->spool_dir))
		abort();
	if (p->username && !clean(p->username))
		abort();
	if (p->secret && (need_secret == CONFIG_SECRET_NONE || !clean(p->secret) || !*p->secret))
		abort();
	if ((p->transport == TR_HTTP || p->transport == TR_HTTPS) && !clean(p->url))
		abort();
	if ((p->cacert && !clean(p->cacert)) || (p->url && !clean(p->url)))
		abort();
	for (int k = 0; k < K_NKEYS; k++)
		if (!p->source[k] || !clean(p->source[k]))
			abort();
}

/* A section name is any text without a line end (even a CR inside it):
 * it is never sent anywhere, only matched against -p. */
static void each_profile(const char *name, void *arg)
{
	(*(int *)arg)++;
	if (!*name || !no_line_end(name))
		abort();
}

static int write_memfd(const uint8_t *d, size_t n, int private)
{
	if (ftruncate(memfd, 0) < 0 || pwrite(memfd, d, n, 0) != (ssize_t)n ||
	    fchmod(memfd, private ? 0600 : 0644) < 0)
		return -1;
	return 0;
}

static void fuzz_loader(const uint8_t *d, size_t n, unsigned ctl)
{
	static const char *const profiles[] = { NULL, "default", "pbx", "a b" };
	static const int needs[] = {
		CONFIG_SECRET_NONE, CONFIG_SECRET_OPTIONAL, CONFIG_SECRET_OPTIONAL, CONFIG_SECRET_NONE,
	};
	struct overrides o;
	struct profile p;
	int count = 0, need = needs[(ctl >> 3) & 3], rc;

	if (write_memfd(d, n, ctl & 4) < 0)
		return;
	rc = config_list_profiles(memfd_path, each_profile, &count);
	if (rc != RC_OK && rc != RC_CONFIG)
		abort();
	overrides_init(&o);
	o.config_file = memfd_path;
	o.profile = profiles[ctl & 3];
	rc = config_resolve(&p, &o, need);
	if (rc == RC_OK) {
		check_profile(&p, need);
		profile_free(&p);
	} else if (rc != RC_CONFIG && rc != RC_USAGE) {
		abort();
	}
}

/* ---- 3. number parsers, line by line -------------------------------------- */

static void fuzz_numbers(const uint8_t *d, size_t n)
{
	size_t pos = 0;

	while (pos < n) {
		const uint8_t *nl = memchr(d + pos, '\n', n - pos);
		size_t len = nl ? (size_t)(nl - (d + pos)) : n - pos;
		char *s = xstrndup((const char *)d + pos, len);
		unsigned long u;
		int ms;

		if (parse_seconds(s, &ms) == 0 && (ms < 0 || ms > 2000000000))
			abort();
		if (parse_uint(s, 65535, &u) == 0 && u > 65535)
			abort();
		if (parse_uint(s, 2147483647UL, &u) == 0 && u > 2147483647UL)
			abort();
		int dirty = strlen(s) != len || memchr(d + pos, '\r', len) != NULL;
		if ((bad_char_name((const char *)d + pos, len) != NULL) != dirty)
			abort();            /* a line has no LF: CR or NUL make it bad */
		free(s);
		pos += len + 1;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned ctl;

	if (size < 1)
		return 0;
	ctl = data[0];
	data++;
	size--;
	fuzz_ini(data, size, (int)(ctl >> 5));
	fuzz_loader(data, size, ctl);
	fuzz_numbers(data, size);
	return 0;
}
