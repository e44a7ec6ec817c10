/* json_test.c - unit tests for common/json.c: the --json summaries built
 * with cJSON come out as one valid NDJSON line each, keys in order, NULL as
 * null, and bytes that are not UTF-8 read as Latin-1 (as the event writer
 * does), read back with cJSON's parser.
 * Ends with "N passed, N failed"; exits 1 when anything failed. */
#define _GNU_SOURCE                     /* memfd_create */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Reports go to stderr: stdout is where the output under test goes. */
#define CHECK_OUT stderr
#include "check.h"
#include "json.h"
#include "output.h"
#include "util.h"

static char line[4096];

/* What was printed since the last call (stdout is a memfd). */
static const char *printed(void)
{
	off_t n;

	out_flush();
	n = lseek(STDOUT_FILENO, 0, SEEK_CUR);
	if (n < 0 || (size_t)n >= sizeof line || pread(STDOUT_FILENO, line, (size_t)n, 0) != n)
		n = 0;
	line[n] = '\0';
	if (ftruncate(STDOUT_FILENO, 0) != 0 || lseek(STDOUT_FILENO, 0, SEEK_SET) != 0)
		abort();
	return line;
}

static void test_line(void)
{
	cJSON *o = json_object(), *in;

	json_add_string(o, "host", "127.0.0.1:5038");
	cJSON_AddNumberToObject(o, "seq", 1);
	cJSON_AddNumberToObject(o, "time_ms", 0.412);
	json_add_string(o, "cause", NULL);
	cJSON_AddBoolToObject(o, "valid", 1);
	in = cJSON_AddObjectToObject(o, "port");
	json_add_string(in, "value", "5038");
	CHECK_INT(json_print_line(o), RC_OK);
	CHECK_STR(printed(), "{\"host\":\"127.0.0.1:5038\",\"seq\":1,\"time_ms\":0.412,"
		  "\"cause\":null,\"valid\":true,\"port\":{\"value\":\"5038\"}}\n");
	o = json_object();
	cJSON_AddNumberToObject(o, "due_epoch", 4102444800.0);
	json_print_line(o);
	CHECK_STR(printed(), "{\"due_epoch\":4102444800}\n");
}

static void test_strings(void)
{
	static const char *const cases[][2] = {
		{ "plain", "plain" },
		{ "q\"b\\s/", "q\"b\\s/" },
		{ "CR\r LF\n TAB\t BEL\a", "CR\r LF\n TAB\t BEL\a" },
		{ "\xc3\xa9t\xc3\xa9", "\xc3\xa9t\xc3\xa9" },           /* UTF-8 stays */
		{ "\xe9t\xe9", "\xc3\xa9t\xc3\xa9" },                   /* Latin-1 becomes it */
		{ "\xe2\x82", "\xc3\xa2\xc2\x82" },                     /* a cut sequence */
		{ "\xff", "\xc3\xbf" },
	};

	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		cJSON *o = json_object(), *back;
		const cJSON *v;

		json_add_string(o, "s", cases[i][0]);
		json_print_line(o);
		printed();
		CHECKF(strchr(line, '\n') == line + strlen(line) - 1, "one line: %s", line);
		back = cJSON_Parse(line);
		v = back ? cJSON_GetObjectItemCaseSensitive(back, "s") : NULL;
		CHECKF(cJSON_IsString(v) && !strcmp(v->valuestring, cases[i][1]),
		       "case %zu: %s", i, line);
		cJSON_Delete(back);
	}
}

int main(void)
{
	int fd = memfd_create("json_test", 0);

	if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0) {
		perror("memfd");
		return 1;
	}
	close(fd);
	test_line();
	test_strings();
	return check_summary();
}
