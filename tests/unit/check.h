/* check.h - what the unit tests share: the pass/fail counters, the CHECK
 * macros, and the summary line "N passed, N failed" that make check adds up.
 *
 * A failed check prints one line, "FAIL file:line: what" (a newline in
 * what shows as " || "). Reports and the summary go to CHECK_OUT, stdout
 * unless the test defines it before including this file. */
#ifndef CHECK_H
#define CHECK_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#ifndef CHECK_OUT
#define CHECK_OUT stdout
#endif

static int passed, failed;

#define CHECK(cond) check_at(__FILE__, __LINE__, (cond) != 0, "%s", #cond)
/* CHECKF(cond, fmt, ...) reports the printf-style text when cond fails. */
#define CHECKF(cond, ...) check_at(__FILE__, __LINE__, (cond) != 0, __VA_ARGS__)
#define CHECK_STR(got, want) check_str_at(__FILE__, __LINE__, (got), (want), #got)
#define CHECK_INT(got, want) check_int_at(__FILE__, __LINE__, (long)(got), (long)(want), #got)

/* Counts one check; returns ok. */
__attribute__((format(printf, 4, 5)))
static inline int check_at(const char *file, int line, int ok, const char *fmt, ...)
{
	char text[2048];
	va_list ap;

	if (ok) {
		passed++;
		return 1;
	}
	failed++;
	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	fprintf(CHECK_OUT, "FAIL %s:%d: ", file, line);
	for (const char *c = text; *c; c++) {
		if (*c == '\n')
			fputs(" || ", CHECK_OUT);
		else
			putc(*c, CHECK_OUT);
	}
	putc('\n', CHECK_OUT);
	fflush(CHECK_OUT);
	return 0;
}

/* Two strings are equal when both are NULL or both hold the same text. */
static inline int check_str_at(const char *file, int line, const char *got, const char *want,
			       const char *what)
{
	int ok = got && want ? !strcmp(got, want) : got == want;

	return check_at(file, line, ok, "%s: got \"%s\", want \"%s\"", what,
			got ? got : "(null)", want ? want : "(null)");
}

static inline int check_int_at(const char *file, int line, long got, long want, const char *what)
{
	return check_at(file, line, got == want, "%s: got %ld, want %ld", what, got, want);
}

/* Prints "N passed, N failed"; returns the exit status, 1 when anything failed. */
static inline int check_summary(void)
{
	fprintf(CHECK_OUT, "%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}

#endif
