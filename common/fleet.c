/* fleet.c - a profile value that names several profiles, expanded through
 * the config file's [@group] sections. Only the section names and the
 * groups' "profiles" lines are read here; config_resolve reads each
 * profile when it is used. */
#include "fleet.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "ini.h"
#include "util.h"

#define GROUP_DEPTH_MAX 32          /* groups naming groups, at most this deep */

struct group {
	char *name;                 /* with its '@' */
	char *profiles;             /* the "profiles" value, or NULL */
	int line;
};

/* The sections of the config file, in file order. */
struct book {
	char *path;
	char **profiles;
	size_t nprofiles;
	struct group *groups;
	size_t ngroups;
	int failed;
};

int fleet_is_list(const char *spec)
{
	return spec && (spec[0] == '@' || strchr(spec, ','));
}

static void push_name(char ***v, size_t *n, const char *name)
{
	*v = xrealloc(*v, (*n + 1) * sizeof **v);
	(*v)[(*n)++] = xstrdup(name);
}

static int book_kv(void *arg, const char *section, const char *key, const char *value,
		   int lineno)
{
	struct book *b = arg;
	struct group *g;

	if (!section)
		return 0;       /* config_resolve reports keys outside any section */
	if (!key) {
		if (section[0] != '@') {
			push_name(&b->profiles, &b->nprofiles, section);
			return 0;
		}
		if (!strcmp(section, "@") || !strcmp(section, "@all")) {
			log_error("%s:%d: [%s] cannot be defined: %s", b->path, lineno, section,
				  section[1] ? "@all is every profile of the file" : "a group needs a name");
			b->failed = 1;
			return 1;
		}
		b->groups = xrealloc(b->groups, (b->ngroups + 1) * sizeof *b->groups);
		b->groups[b->ngroups++] = (struct group){ xstrdup(section), NULL, lineno };
		return 0;
	}
	if (section[0] != '@')
		return 0;
	g = &b->groups[b->ngroups - 1];
	if (strcasecmp(key, "profiles")) {
		log_error("%s:%d: unknown key \"%s\" in group [%s]: a group has only \"profiles = "
			  "NAME, NAME, @GROUP\"", b->path, lineno, key, section);
		b->failed = 1;
		return 1;
	}
	free(g->profiles);
	g->profiles = xstrdup(value);
	g->line = lineno;
	return 0;
}

static void book_free(struct book *b)
{
	for (size_t i = 0; i < b->nprofiles; i++)
		free(b->profiles[i]);
	for (size_t i = 0; i < b->ngroups; i++) {
		free(b->groups[i].name);
		free(b->groups[i].profiles);
	}
	free(b->profiles);
	free(b->groups);
	free(b->path);
	memset(b, 0, sizeof *b);
}

/* A missing file has no sections (then only "default" can be named). */
static int book_read(struct book *b, const char *explicit_file)
{
	FILE *fp;
	int bad;

	memset(b, 0, sizeof *b);
	b->path = config_path(explicit_file);
	if (!(fp = ini_open(b->path))) {
		if (errno == ENOENT && !explicit_file)
			return RC_OK;
		log_error("cannot read config %s:", b->path);
		return RC_CONFIG;
	}
	bad = ini_parse_file(fp, book_kv, b);
	fclose(fp);
	if (bad && !b->failed)
		log_error("%s:%d: syntax error: not a [section], key = value or comment line",
			  b->path, bad);
	return bad ? RC_CONFIG : RC_OK;
}

static const struct group *find_group(const struct book *b, const char *name)
{
	for (size_t i = 0; i < b->ngroups; i++)
		if (!strcmp(b->groups[i].name, name))
			return &b->groups[i];
	return NULL;
}

static int is_profile(const struct book *b, const char *name)
{
	for (size_t i = 0; i < b->nprofiles; i++)
		if (!strcmp(b->profiles[i], name))
			return 1;
	return !strcmp(name, "default");       /* defaults apply without a section */
}

static void add_once(struct fleet *f, const char *name)
{
	for (size_t i = 0; i < f->n; i++)
		if (!strcmp(f->names[i], name))
			return;
	push_name(&f->names, &f->n, name);
}

struct expansion {
	const struct book *b;
	struct fleet *f;
	const char *stack[GROUP_DEPTH_MAX];     /* the groups being expanded */
	size_t depth;
};

static int expand_list(struct expansion *x, const char *list, const char *where);

static int expand_group(struct expansion *x, const char *name, const char *where)
{
	const struct group *g;
	char here[64];
	int rc;

	if (!strcmp(name, "@all")) {
		for (size_t i = 0; i < x->b->nprofiles; i++)
			add_once(x->f, x->b->profiles[i]);
		return RC_OK;
	}
	for (size_t i = 0; i < x->depth; i++) {
		if (strcmp(x->stack[i], name))
			continue;
		log_error("%s: group %s names itself (through %s)", x->b->path, name, where);
		return RC_CONFIG;
	}
	if (!(g = find_group(x->b, name))) {
		log_error("unknown group \"%s\" (named in %s): no [%s] in %s", name, where, name,
			  x->b->path);
		return RC_CONFIG;
	}
	if (!g->profiles || !*g->profiles) {
		log_error("%s:%d: group [%s] has no \"profiles = ...\" line", x->b->path, g->line,
			  name);
		return RC_CONFIG;
	}
	if (x->depth == GROUP_DEPTH_MAX) {
		log_error("%s: groups nested more than %d deep at %s", x->b->path, GROUP_DEPTH_MAX,
			  name);
		return RC_CONFIG;
	}
	x->stack[x->depth++] = name;
	snprintf(here, sizeof here, "[%s]", name);
	rc = expand_list(x, g->profiles, here);
	x->depth--;
	return rc;
}

/* "a, b, @g": names separated by commas, blanks around them ignored. */
static int expand_list(struct expansion *x, const char *list, const char *where)
{
	const char *p = list;
	int rc = RC_OK;

	while (rc == RC_OK) {
		size_t len = strcspn(p, ","), lead = strspn(p, " \t");
		char *name;
		while (len > lead && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (len <= lead) {
			log_error("an empty profile name in %s: \"%s\"", where, list);
			return RC_CONFIG;
		}
		name = xstrndup(p + lead, len - lead);
		if (name[0] == '@')
			rc = expand_group(x, name, where);
		else if (is_profile(x->b, name))
			add_once(x->f, name);
		else {
			log_error("unknown profile \"%s\" (named in %s): no [%s] in %s", name, where,
				  name, x->b->path);
			rc = RC_CONFIG;
		}
		free(name);
		p += strcspn(p, ",");
		if (!*p)
			break;
		p++;
	}
	return rc;
}

int fleet_expand(struct fleet *f, const char *explicit_file, const char *spec)
{
	struct book b;
	struct expansion x;
	int rc;

	memset(f, 0, sizeof *f);
	if ((rc = book_read(&b, explicit_file)) != RC_OK) {
		book_free(&b);
		return rc;
	}
	memset(&x, 0, sizeof x);
	x.b = &b;
	x.f = f;
	rc = expand_list(&x, spec, "the profile list");
	if (rc == RC_OK && f->n == 0) {
		log_error("\"%s\" names no profile (%s has none)", spec, b.path);
		rc = RC_CONFIG;
	}
	book_free(&b);
	if (rc != RC_OK)
		fleet_free(f);
	return rc;
}

void fleet_free(struct fleet *f)
{
	for (size_t i = 0; i < f->n; i++)
		free(f->names[i]);
	free(f->names);
	memset(f, 0, sizeof *f);
}

int fleet_list_groups(const char *explicit_file,
		      void (*each)(const char *group, const char *expansion, void *arg), void *arg)
{
	struct book b;
	int rc = book_read(&b, explicit_file);

	for (size_t i = 0; rc == RC_OK && i <= b.ngroups; i++) {
		const char *name = i ? b.groups[i - 1].name : "@all";
		struct fleet f = { NULL, 0 };
		struct expansion x;
		struct strbuf s = { NULL, 0, 0 };
		memset(&x, 0, sizeof x);
		x.b = &b;
		x.f = &f;
		if (expand_group(&x, name, "the list") == RC_OK) {
			for (size_t k = 0; k < f.n; k++) {
				strbuf_adds(&s, k ? ", " : "");
				strbuf_adds(&s, f.names[k]);
			}
		} else {
			strbuf_adds(&s, "(cannot be expanded, see above)");
		}
		each(name, s.p ? s.p : "", arg);
		strbuf_free(&s);
		fleet_free(&f);
	}
	book_free(&b);
	return rc;
}
