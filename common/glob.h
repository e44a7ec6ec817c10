/* glob.h - shell globs (*, ?, [...], \x), ASCII case-insensitive, on
 * strings that need not end in NUL (an event name in a read buffer):
 * what --event, --match KEY=GLOB and the shell's `events on GLOB` take.
 * Not fnmatch(3): FNM_CASEFOLD is a GNU extension, and it wants a NUL. */
#ifndef AMI_GLOB_H
#define AMI_GLOB_H

#include <stddef.h>

/* Whether pattern p (NUL-terminated) matches s[0..n). */
int glob_match(const char *p, const char *s, size_t n);

/* A pattern prepared for many matches: one without a wildcard is compared
 * as a plain string. s must live as long as the pat. */
struct pat {
	const char *s;
	size_t len;
	int literal;
};
void pat_init(struct pat *p, const char *s);
int pat_match(const struct pat *p, const char *s, size_t n);

#endif
