/* glob.c - shell globs for event names and header values (see glob.h). */
#include "glob.h"

#include <string.h>
#include <strings.h>

static int fold(int c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* A [...] class starting after '[' against c (any case). Returns 1/0 and
 * sets *end past the ']'; -1 when the class is not closed. */
static int glob_class(const char *p, int c, const char **end)
{
	int neg = 0, hit = 0;
	const char *first;

	if (*p == '!' || *p == '^')
		neg = 1, p++;
	first = p;
	while (*p && (*p != ']' || p == first)) {
		int lo = (unsigned char)*p++, hi;
		if (lo == '\\' && *p)
			lo = (unsigned char)*p++;
		hi = lo;
		if (p[0] == '-' && p[1] && p[1] != ']') {
			hi = (unsigned char)p[1];
			p += 2;
			if (hi == '\\' && *p)
				hi = (unsigned char)*p++;
		}
		if ((fold(c) >= fold(lo) && fold(c) <= fold(hi)) || (c >= lo && c <= hi))
			hit = 1;
	}
	if (*p != ']')
		return -1;
	*end = p + 1;
	return hit != neg;
}

int glob_match(const char *p, const char *s, size_t n)
{
	const char *star = NULL;
	size_t i = 0, star_i = 0;

	while (i < n) {
		const char *next = p + 1;
		int c = (unsigned char)s[i], ok;

		if (*p == '*') {
			star = ++p;
			star_i = i;
			continue;
		}
		if (*p == '?') {
			ok = 1;
		} else if (*p == '[') {
			ok = glob_class(p + 1, c, &next);
			if (ok < 0)
				ok = c == '[', next = p + 1;
		} else if (*p == '\\' && p[1]) {
			ok = fold(c) == fold((unsigned char)p[1]);
			next = p + 2;
		} else {
			ok = *p && fold(c) == fold((unsigned char)*p);
		}
		if (ok) {
			p = next;
			i++;
		} else if (star) {
			p = star;
			i = ++star_i;
		} else {
			return 0;
		}
	}
	while (*p == '*')
		p++;
	return *p == '\0';
}

void pat_init(struct pat *p, const char *s)
{
	p->s = s;
	p->len = strlen(s);
	p->literal = !strpbrk(s, "*?[\\");
}

int pat_match(const struct pat *p, const char *s, size_t n)
{
	if (p->literal)
		return n == p->len && !strncasecmp(p->s, s, n);
	return glob_match(p->s, s, n);
}
