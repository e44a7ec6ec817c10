/* asterisk_filter.h - Asterisk's event filters as main/manager.c applies
 * them (action_filter, manager_add_filter, filter_cmp_fn, match_eventdata,
 * should_send_event), written from reading them, for the tests of
 * common/filter.c: what a session of that Asterisk would receive.
 *
 *   struct ast_filters fs = { 0 };
 *   ast_filter_add(&fs, criteria, filter, match_criteria) -> NULL or the error text
 *   ast_should_send(&fs, event_text)      event_text: "Event: X\r\n...\r\n\r\n"
 *   ast_filters_free(&fs);
 */
#ifndef ASTERISK_FILTER_H
#define ASTERISK_FILTER_H

#include <regex.h>
#include <stdlib.h>
#include <string.h>

#define AST_FILTER_FORMAT "Filter was formatted incorrectly.  Check the syntax of the filter given."
#define AST_FILTER_COMPILE "Filter did not compile.  Check the syntax of the filter given."

enum ast_method { AM_REGEX, AM_EXACT, AM_STARTS, AM_ENDS, AM_CONTAINS, AM_NONE };

struct ast_filter {
	enum ast_method method;
	int has_regex;
	regex_t re;
	char *string;               /* the pattern of a string method */
	unsigned name_hash;         /* 0: any name */
	char *header;               /* "Name:" or NULL */
	int exclude;
};

struct ast_filters {
	struct ast_filter *inc, *exc;
	size_t ninc, nexc;
};

/* ast_str_hash(): djb2 with xor, made positive. */
static inline unsigned ast_hash(const char *s)
{
	int h = 5381;

	while (*s)
		h = (int)((unsigned)h * 33u ^ (unsigned char)*s++);
	return (unsigned)(h < 0 ? -(long)h : h);
}

/* ast_skip_blanks(), ast_trim_blanks(): every byte below 33. */
static inline char *ast_skip(char *s)
{
	while (*s && (unsigned char)*s < 33)
		s++;
	return s;
}

static inline char *ast_strip_both(char *s)
{
	size_t n;

	s = ast_skip(s);
	n = strlen(s);
	while (n && (unsigned char)s[n - 1] < 33)
		s[--n] = '\0';
	return s;
}

/* The advanced options, "action(...),name(...),..." with its ")" added as
 * action_filter() does; 0 or -1 (formatted incorrectly). */
static inline int ast_parse_options(struct ast_filter *f, const char *criteria, int *found)
{
	char *temp = malloc(strlen(criteria) + 2), *save = NULL, *opt, *text;

	strcpy(temp, criteria);
	strcat(temp, ")");
	text = ast_strip_both(temp);
	*found = 0;
	if (!*text || text[strlen(text) - 1] != ')') {
		free(temp);
		return -1;
	}
	for (opt = strtok_r(text, " ,)", &save); opt; opt = strtok_r(NULL, " ,)", &save)) {
		char *v = strchr(opt, '(');
		int bit = !strncmp(opt, "action", 6) ? 1 : !strncmp(opt, "name", 4) ? 2 :
			  !strncmp(opt, "header", 6) ? 4 : !strncmp(opt, "method", 6) ? 8 : 0;
		if (!bit || !v) {       /* a missing '(' crashes Asterisk: never sent */
			free(temp);
			return -1;
		}
		v = ast_strip_both(v + 1);
		if (!*v && bit != 1) {
			free(temp);
			return -1;
		}
		if (bit == 1 && strcmp(v, "include") && strcmp(v, "exclude")) {
			free(temp);
			return -1;
		}
		if (bit == 1) {
			f->exclude = !strcmp(v, "exclude");
		} else if (bit == 2) {
			f->name_hash = ast_hash(v);
		} else if (bit == 4) {
			size_t n = strlen(v);
			free(f->header);
			f->header = malloc(n + 2);
			strcpy(f->header, v);
			if (v[n - 1] != ':')
				strcat(f->header, ":");
		} else {
			static const char *const names[] = { "regex", "exact", "starts_with",
							      "ends_with", "contains", "none" };
			int m = -1;
			for (int i = 0; i < 6; i++)
				if (!strcmp(v, names[i]))
					m = i;
			if (m < 0) {
				free(temp);
				return -1;
			}
			f->method = (enum ast_method)m;
		}
		*found |= bit;
	}
	free(temp);
	return 0;
}

static inline void ast_filter_clear(struct ast_filter *f)
{
	if (f->has_regex)
		regfree(&f->re);
	free(f->string);
	free(f->header);
	memset(f, 0, sizeof *f);
}

/* The Filter action: criteria and filter are the header values (NULL when
 * absent); match_criteria: the version knows MatchCriteria (else it is
 * ignored and Filter is a regex). NULL on success, else the error text. */
static inline const char *ast_filter_add(struct ast_filters *fs, const char *criteria,
					 const char *filter, int match_criteria)
{
	struct ast_filter f = { 0 };
	char *pat = strdup(filter ? filter : ""), *p = ast_skip(pat);
	int advanced = match_criteria && criteria && *ast_skip((char *)criteria), found = 0;

	f.method = AM_REGEX;
	if (*p == '!') {
		f.exclude = 1;
		p++;
	}
	if (advanced) {
		char *c = strdup(ast_skip((char *)criteria));
		f.method = AM_NONE;
		if (ast_parse_options(&f, c, &found) < 0 || !found ||
		    (!*p && f.method != AM_NONE) || (*p && f.method == AM_NONE) ||
		    (!(found & 6) && f.method == AM_NONE)) {
			free(c);
			free(pat);
			ast_filter_clear(&f);
			return AST_FILTER_FORMAT;
		}
		free(c);
	} else if (!*p && match_criteria) {
		free(pat);
		return AST_FILTER_FORMAT;       /* a legacy filter needs a pattern */
	}
	if (*p && f.method == AM_REGEX) {
		if (regcomp(&f.re, p, REG_EXTENDED | REG_NOSUB)) {
			free(pat);
			ast_filter_clear(&f);
			return AST_FILTER_COMPILE;
		}
		f.has_regex = 1;
	} else if (*p) {
		f.string = strdup(p);
	} else if (!match_criteria) {
		/* before MatchCriteria an empty regex compiled and matched all */
		regcomp(&f.re, "", REG_EXTENDED | REG_NOSUB);
		f.has_regex = 1;
	}
	free(pat);
	if (f.exclude) {
		fs->exc = realloc(fs->exc, (fs->nexc + 1) * sizeof *fs->exc);
		fs->exc[fs->nexc++] = f;
	} else {
		fs->inc = realloc(fs->inc, (fs->ninc + 1) * sizeof *fs->inc);
		fs->inc[fs->ninc++] = f;
	}
	return NULL;
}

static inline int ast_match_data(const struct ast_filter *f, const char *data)
{
	size_t n, m;

	switch (f->method) {
	case AM_REGEX:
		return !f->has_regex || regexec(&f->re, data, 0, NULL, 0) == 0;
	case AM_STARTS:
		return !strncmp(data, f->string, strlen(f->string));
	case AM_ENDS:
		n = strlen(data), m = strlen(f->string);
		return m <= n && !strcmp(data + n - m, f->string);
	case AM_CONTAINS:
		return strstr(data, f->string) != NULL;
	case AM_EXACT:
		return !strcmp(data, f->string);
	case AM_NONE:
		return 1;
	}
	return 0;
}

/* filter_cmp_fn(): the name's hash, then the whole text or each line that
 * starts with the header (its value after the blanks, empty ones skipped). */
static inline int ast_filter_matches(const struct ast_filter *f, const char *text,
				     unsigned name_hash)
{
	char *copy, *line, *next;
	int match = 0;

	if (f->name_hash && f->name_hash != name_hash)
		return 0;
	if (!f->header)
		return ast_match_data(f, text);
	copy = strdup(text);
	for (line = copy; line && *line && !match; line = next) {
		size_t hl = strlen(f->header);
		next = strchr(line, '\n');
		if (next) {
			*next++ = '\0';
			if (next - line >= 2 && next[-2] == '\r')
				next[-2] = '\0';
		}
		if (!strncmp(line, f->header, hl)) {
			char *v = ast_skip(line + hl);
			if (*v)
				match = ast_match_data(f, v);
		}
	}
	free(copy);
	return match;
}

static inline int ast_any(const struct ast_filter *v, size_t n, const char *text, unsigned h)
{
	for (size_t i = 0; i < n; i++)
		if (ast_filter_matches(&v[i], text, h))
			return 1;
	return 0;
}

/* should_send_event(): includes (if any) must match one, then no exclude. */
static inline int ast_should_send(const struct ast_filters *fs, const char *text)
{
	char name[256] = "";
	const char *end;

	if (!strncmp(text, "Event: ", 7) && (end = strstr(text, "\r\n")) &&
	    (size_t)(end - text - 7) < sizeof name) {
		memcpy(name, text + 7, (size_t)(end - text - 7));
		name[end - text - 7] = '\0';
	}
	if (fs->ninc && !ast_any(fs->inc, fs->ninc, text, ast_hash(name)))
		return 0;
	return !ast_any(fs->exc, fs->nexc, text, ast_hash(name));
}

static inline void ast_filters_free(struct ast_filters *fs)
{
	for (size_t i = 0; i < fs->ninc; i++)
		ast_filter_clear(&fs->inc[i]);
	for (size_t i = 0; i < fs->nexc; i++)
		ast_filter_clear(&fs->exc[i]);
	free(fs->inc);
	free(fs->exc);
	memset(fs, 0, sizeof *fs);
}

#endif
