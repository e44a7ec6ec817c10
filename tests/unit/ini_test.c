/* ini_test.c - unit tests for common/ini.c, the INI reader.
 * Ends with "N passed, N failed"; exits 1 when anything failed. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "fixture.h"
#include "ini.h"
#include "util.h"

static char inilog[2048];

static int log_kv(void *arg, const char *section, const char *key, const char *value, int line)
{
	size_t n = strlen(inilog);
	(void)arg;
	snprintf(inilog + n, sizeof(inilog) - n, "%d:%s|%s|%s;", line, section ? section : "-",
		 key ? key : "-", value ? value : "-");
	return 0;
}

static int parse_text(const char *text, size_t len)
{
	FILE *fp = fmemopen((void *)(uintptr_t)text, len, "r");
	int rc;

	inilog[0] = '\0';
	rc = ini_parse_file(fp, log_kv, NULL);
	fclose(fp);
	return rc;
}

static int parse_str(const char *text)
{
	return parse_text(text, strlen(text));
}

static void test_ini(void)
{
	CHECK_INT(parse_str("\xef\xbb\xbf; comment\n# another\n\n[default]\nhost = pbx\n"
			    "  port=5038  \r\n[ pbx1 ]  ; why\nuser = \"op ; x\" # c\n"
			    "secret = a#b ;c\nurl = \"q\\\"u\\\\o\"\nempty =\n"), 0);
	CHECK_STR(inilog, "4:default|-|-;5:default|host|pbx;6:default|port|5038;"
		  "7:pbx1|-|-;8:pbx1|user|op ; x;9:pbx1|secret|a#b;10:pbx1|url|q\"u\\o;"
		  "11:pbx1|empty|;");
	CHECK_INT(parse_str("k = v\n"), 0);
	CHECK_STR(inilog, "1:-|k|v;");                      /* the caller decides */
	CHECK_INT(parse_str("k = v ;c\r\nj = \" x \"\n"), 0);
	CHECK_STR(inilog, "1:-|k|v;2:-|j| x ;");
	CHECK_INT(parse_str("[a]\nno equals sign\n"), 2);
	CHECK_INT(parse_str("[a]\nk = \"open\n"), 2);
	CHECK_INT(parse_str("[a]\nk = \"x\" junk\n"), 2);
	CHECK_INT(parse_str("[a\n"), 1);
	CHECK_INT(parse_str("[]\n"), 1);
	CHECK_INT(parse_str("[a] b\n"), 1);
	CHECK_INT(parse_str("[a]\n = v\n"), 2);
	CHECK_INT(parse_text("[a]\nk = v\0w\n", 11), 2);    /* NUL byte */
	CHECK_INT(parse_str(""), 0);
}

/* ini_open: a missing file, a directory, a FIFO (no hang). */
static void test_open(void)
{
	char *cfg = write_text("cfg", "[a]\nk = v\n", 0644), *d = make_dir("d");
	char *missing = tpath("missing"), *fifo = tpath("fifo");
	FILE *fp;

	CHECK((fp = ini_open(cfg)) != NULL);
	if (fp) {
		inilog[0] = '\0';
		CHECK_INT(ini_parse_file(fp, log_kv, NULL), 0);
		CHECK_STR(inilog, "1:a|-|-;2:a|k|v;");
		fclose(fp);
	}
	errno = 0;
	CHECK(ini_open(missing) == NULL && errno == ENOENT);
	errno = 0;
	CHECK(ini_open(d) == NULL && errno == EISDIR);
	CHECK(mkfifo(fifo, 0600) == 0);
	if (nmade < ARRAY_LEN(made))
		made[nmade++] = xstrdup(fifo);
	CHECK((fp = ini_open(fifo)) != NULL);           /* opens at once, no writer yet */
	if (fp)
		fclose(fp);
	free(cfg);
	free(d);
	free(missing);
	free(fifo);
}

int main(void)
{
	fixture_init("ini_test");
	test_ini();
	test_open();
	cleanup();
	return check_summary();
}
