/* callfile.c - build and check Asterisk call files, parse schedule times.
 * No I/O: `ami callfile` does the reading, writing and renaming. */
#include "callfile.h"

#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"

/* ---------------------------------------------------------------- build */

void callfile_init(struct callfile *cf)
{
	memset(cf, 0, sizeof *cf);
	cf->priority = cf->wait_time = cf->max_retries = cf->retry_time = -1;
	cf->always_delete = -1;
}

static int fail(char *err, size_t errsz, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errsz, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errsz, fmt, ap);
	va_end(ap);
	return -1;
}

static int is_blank_byte(unsigned char c)
{
	return c < 33;      /* what ast_skip_blanks/ast_trim_blanks drop */
}

/* Refuses a value Asterisk's reader would not give back byte for byte. */
static int check_value(const char *label, const char *v, char *err, size_t errsz)
{
	size_t n = strlen(v);
	const char *bad = bad_char_name(v, n);

	if (bad)
		return fail(err, errsz, "%s contains %s; refusing to write it", label, bad);
	if (n && is_blank_byte((unsigned char)v[0]))
		return fail(err, errsz, "%s starts with a blank, which Asterisk's reader drops", label);
	if (n && is_blank_byte((unsigned char)v[n - 1]))
		return fail(err, errsz, "%s ends with a blank, which Asterisk's reader drops", label);
	for (size_t i = 0; i < n; i++)
		if (v[i] == '#' && (i == 0 || v[i - 1] == ' ' || v[i - 1] == '\t'))
			return fail(err, errsz, "%s has a '#' %s: Asterisk's reader takes it as "
				    "the start of a comment", label, i ? "after a blank" : "first");
	return 0;
}

/* Appends "Key: value\n", escaping ';' as "\;" (the reader's only escape). */
static int add_line(struct strbuf *b, const char *key, const char *label, const char *v,
		    char *err, size_t errsz)
{
	size_t start = b->len;

	if (check_value(label, v, err, errsz) != 0)
		return -1;
	strbuf_add(b, key, strlen(key));
	strbuf_add(b, ": ", 2);
	for (const char *s = v; *s; s++) {
		if (*s == ';')
			strbuf_add(b, "\\", 1);
		strbuf_add(b, s, 1);
	}
	strbuf_add(b, "\n", 1);
	if (b->len - start >= CALLFILE_LINE_MAX)
		return fail(err, errsz, "%s is too long: its line would be %zu bytes and Asterisk "
			    "skips lines of %d bytes or more", label, b->len - start, CALLFILE_LINE_MAX);
	return 0;
}

static int add_opt(struct strbuf *b, const char *key, const char *label, const char *v,
		   char *err, size_t errsz)
{
	if (!v || !*v)
		return 0;
	return add_line(b, key, label, v, err, errsz);
}

static int add_num(struct strbuf *b, const char *key, const char *label, long v, long min,
		   char *err, size_t errsz)
{
	char num[32];

	if (v == -1)
		return 0;
	if (v < min || v > INT_MAX)
		return fail(err, errsz, "%s must be a whole number from %ld to %d", label, min, INT_MAX);
	snprintf(num, sizeof num, "%ld", v);
	return add_line(b, key, label, num, err, errsz);
}

static int check_channel(const char *ch, char *err, size_t errsz)
{
	const char *slash;

	if (!ch || !*ch)
		return fail(err, errsz, "no channel given (e.g. PJSIP/100)");
	slash = strchr(ch, '/');
	if (!slash || slash == ch || !slash[1])
		return fail(err, errsz, "channel \"%s\" is not Tech/Dest (e.g. PJSIP/100): "
			    "Asterisk's reader needs both parts", ch);
	return 0;
}

const char *call_target_problem(const struct call_target *t)
{
	int place = t->context || t->exten;

	if (t->app && place)
		return "give either --app or --context/--exten, not both";
	if (!t->app && !place)
		return t->no_app ? "no target: give --context C --exten E [--priority P]"
				 : "no target: give --app APP [--data DATA], "
				   "or --context C --exten E [--priority P]";
	if (t->data && !t->app)
		return "--data goes with --app APP";
	if (t->has_priority && !place)
		return "--priority goes with --context and --exten (--priority needs a dialplan place)";
	if (place && !t->exten)
		return "--context needs --exten E too: they go together";
	if (place && !t->context)
		return "--exten needs --context C too: they go together";
	return NULL;
}

/* Exactly one target (call_target_problem), and none of it empty. */
static int check_target(const struct callfile *cf, char *err, size_t errsz)
{
	const struct call_target t = { cf->app, cf->data, cf->context, cf->exten,
				       cf->priority != -1, 0 };
	const char *problem = call_target_problem(&t);
	int exten = cf->context || cf->exten;

	if (problem)
		return fail(err, errsz, "%s", problem);
	if (cf->app && !*cf->app)
		return fail(err, errsz, "--app is empty");
	if (exten && (!*cf->context || !*cf->exten))
		return fail(err, errsz, "--context and --exten must not be empty");
	return 0;
}

static int add_target(struct strbuf *b, const struct callfile *cf, char *err, size_t errsz)
{
	if (cf->app) {
		if (add_line(b, "Application", "--app", cf->app, err, errsz) != 0)
			return -1;
		return add_opt(b, "Data", "--data", cf->data, err, errsz);
	}
	if (add_line(b, "Context", "--context", cf->context, err, errsz) != 0 ||
	    add_line(b, "Extension", "--exten", cf->exten, err, errsz) != 0)
		return -1;
	return add_num(b, "Priority", "--priority", cf->priority == -1 ? 1 : cf->priority, 1,
		       err, errsz);
}

static int add_vars(struct strbuf *b, const struct callfile *cf, char *err, size_t errsz)
{
	for (size_t i = 0; i < cf->nvars; i++) {
		const char *v = cf->vars[i], *eq = strchr(v, '=');

		if (!eq || eq == v || is_blank_byte((unsigned char)eq[-1]))
			return fail(err, errsz, "--set \"%s\": expected NAME=VALUE (a name without "
				    "blanks around it, then '=')", v);
		if (add_line(b, "Setvar", "--set", v, err, errsz) != 0)
			return -1;
	}
	return 0;
}

static int add_flags(struct strbuf *b, const struct callfile *cf, char *err, size_t errsz)
{
	if (add_opt(b, "Codecs", "--codecs", cf->codecs, err, errsz) != 0)
		return -1;
	if (cf->archive)
		strbuf_add(b, "Archive: yes\n", 13);
	if (cf->always_delete == 1)
		strbuf_add(b, "AlwaysDelete: yes\n", 18);
	else if (cf->always_delete == 0)
		strbuf_add(b, "AlwaysDelete: no\n", 17);
	if (cf->early_media)    /* the reader's spelling, not AMI's EarlyMedia */
		strbuf_add(b, "early_media: yes\n", 17);
	return 0;
}

char *callfile_build(const struct callfile *cf, size_t *len, char *err, size_t errsz)
{
	struct strbuf b = { NULL, 0, 0 };
	int r;

	if (check_channel(cf->channel, err, errsz) != 0 || check_target(cf, err, errsz) != 0)
		return NULL;
	r = add_line(&b, "Channel", "the channel", cf->channel, err, errsz);
	if (!r)
		r = add_opt(&b, "CallerID", "--callerid", cf->callerid, err, errsz);
	if (!r)
		r = add_num(&b, "WaitTime", "--wait-time", cf->wait_time, 1, err, errsz);
	if (!r)
		r = add_num(&b, "MaxRetries", "--max-retries", cf->max_retries, 0, err, errsz);
	if (!r)
		r = add_num(&b, "RetryTime", "--retry-time", cf->retry_time, 1, err, errsz);
	if (!r)
		r = add_opt(&b, "Account", "--account", cf->account, err, errsz);
	if (!r)
		r = add_target(&b, cf, err, errsz);
	if (!r)
		r = add_vars(&b, cf, err, errsz);
	if (!r)
		r = add_flags(&b, cf, err, errsz);
	if (r) {
		free(b.p);
		return NULL;
	}
	*len = b.len;
	return b.p;
}

/* ---------------------------------------------------------------- check */

static void problem(struct cf_report *r, unsigned line, enum cf_severity sev,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void problem(struct cf_report *r, unsigned line, enum cf_severity sev,
		    const char *fmt, ...)
{
	va_list ap;
	char buf[512];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 8;
		r->p = xrealloc(r->p, r->cap * sizeof *r->p);
	}
	r->p[r->n].line = line;
	r->p[r->n].sev = sev;
	r->p[r->n].msg = xstrdup(buf);
	r->n++;
	if (sev == CF_ERROR)
		r->errors++;
}

/* Keys the reader knows; single ones remember their line to spot repeats. */
enum key {
	KEY_CHANNEL, KEY_CALLERID, KEY_APPLICATION, KEY_DATA, KEY_MAXRETRIES,
	KEY_CONTEXT, KEY_EXTENSION, KEY_PRIORITY, KEY_RETRYTIME, KEY_WAITTIME,
	KEY_ACCOUNT, KEY_ALWAYSDELETE, KEY_ARCHIVE, KEY_EARLY_MEDIA, KEY_NSINGLE,
	KEY_CODECS = KEY_NSINGLE, KEY_SETVAR, KEY_SET, KEY_RETRY, KEY_STARTRETRY,
	KEY_ENDRETRY, KEY_ABORTRETRY, KEY_DELAYEDRETRY, KEY_UNKNOWN
};

static const char *const key_names[KEY_UNKNOWN] = {
	"channel", "callerid", "application", "data", "maxretries", "context",
	"extension", "priority", "retrytime", "waittime", "account", "alwaysdelete",
	"archive", "early_media", "codecs", "setvar", "set", "retry", "startretry",
	"endretry", "abortretry", "delayedretry",
};

/* Frequent mistakes, mostly AMI Originate spellings. */
static const struct { const char *wrong, *right; } key_hints[] = {
	{ "earlymedia", "early_media" }, { "early-media", "early_media" },
	{ "exten", "Extension" }, { "app", "Application" }, { "appdata", "Data" },
	{ "variable", "Setvar" }, { "var", "Setvar" }, { "timeout", "WaitTime" },
	{ "accountcode", "Account" }, { "caller_id", "CallerID" }, { "cid", "CallerID" },
	{ "maxretry", "MaxRetries" }, { "retries", "MaxRetries" },
	{ "always_delete", "AlwaysDelete" },
};

struct checker {
	struct cf_report *r;
	unsigned seen[KEY_NSINGLE];     /* line of the last occurrence, 0 = none */
	unsigned chan_line, app_line, exten_line, context_line, data_line, prio_line;
	unsigned early_line;
};

static enum key lookup_key(const char *k)
{
	for (int i = 0; i < KEY_UNKNOWN; i++)
		if (!strcasecmp(k, key_names[i]))
			return (enum key)i;
	return KEY_UNKNOWN;
}

static void replace(char **dst, const char *v)
{
	free(*dst);
	*dst = xstrdup(v);
}

/* sscanf("%30d") as the reader uses it: sign, digits, junk after ignored.
 * Returns 1 and sets *junk when characters follow the number. */
static int scan_int(const char *s, int *out, int *junk)
{
	const char *p = s;
	long v = 0;
	int neg = 0;

	while (isspace((unsigned char)*p))
		p++;
	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	if (!isdigit((unsigned char)*p))
		return 0;
	while (isdigit((unsigned char)*p) && p - s < 30) {
		v = v * 10 + (*p++ - '0');
		if (v > (long)INT_MAX + 1)
			return 0;
	}
	if ((!neg && v > INT_MAX))
		return 0;
	*out = neg ? (int)-v : (int)v;
	*junk = *p != '\0';
	return 1;
}

static void check_number(struct checker *c, unsigned line, const char *key, const char *v,
			 int *dst, int min, int dflt)
{
	int n, junk;

	if (!scan_int(v, &n, &junk) || n < min) {
		problem(c->r, line, CF_WARNING, "%s \"%s\" is not a whole number of at least %d: "
			"Asterisk uses %d", key, v, min, dflt);
		*dst = dflt;
		return;
	}
	if (junk)
		problem(c->r, line, CF_WARNING, "%s \"%s\": Asterisk reads only the number %d "
			"and ignores the rest", key, v, n);
	*dst = n;
}

static void check_priority(struct checker *c, unsigned line, const char *v)
{
	int n, junk;

	c->prio_line = line;
	if (!scan_int(v, &n, &junk) || n < 1) {
		problem(c->r, line, CF_ERROR, "Priority \"%s\" is not a number: Asterisk's spool "
			"reader only takes numbers (no labels) and uses priority 1", v);
		c->r->s.priority = 1;
		return;
	}
	if (junk)
		problem(c->r, line, CF_WARNING, "Priority \"%s\": Asterisk reads only the number %d "
			"and ignores the rest", v, n);
	c->r->s.priority = n;
}

static int word_in(const char *v, const char *const *words)
{
	for (; *words; words++)
		if (!strcasecmp(v, *words))
			return 1;
	return 0;
}

static void check_bool(struct checker *c, unsigned line, const char *key, const char *v,
		       int *dst)
{
	static const char *const yes[] = { "yes", "true", "y", "t", "1", "on", NULL };
	static const char *const no[] = { "no", "false", "n", "f", "0", "off", NULL };

	*dst = word_in(v, yes);
	if (!*dst && !word_in(v, no))
		problem(c->r, line, CF_WARNING, "%s \"%s\" is neither yes nor no: Asterisk reads "
			"it as no", key, v);
}

static void check_channel_value(struct checker *c, unsigned line, char *v)
{
	char *slash = strchr(v, '/');

	c->chan_line = line;
	if (!slash) {
		problem(c->r, line, CF_WARNING, "Channel \"%s\" should be Tech/Dest: Asterisk "
			"ignores this line", v);
		return;
	}
	free(c->r->s.tech);
	free(c->r->s.dest);
	c->r->s.tech = xstrndup(v, (size_t)(slash - v));
	c->r->s.dest = xstrdup(slash + 1);
}

static void check_setvar(struct checker *c, unsigned line, const char *key, const char *v)
{
	const char *eq = strchr(v, '=');

	if (!eq)
		problem(c->r, line, CF_WARNING, "malformed %s \"%s\": should be \"%s: "
			"variable=value\"; Asterisk ignores it", key, v, key);
	else if (eq == v)
		problem(c->r, line, CF_WARNING, "%s \"%s\" has an empty variable name", key, v);
}

static void unknown_key(struct checker *c, unsigned line, const char *k)
{
	size_t n = strlen(k), a = 0, z = n;

	if (!strcasecmp(k, "status")) {
		problem(c->r, line, CF_WARNING, "unknown key 'Status' (Asterisk appends it when "
			"it archives a processed call file)");
		return;
	}
	for (size_t i = 0; i < ARRAY_LEN(key_hints); i++)
		if (!strcasecmp(k, key_hints[i].wrong)) {
			problem(c->r, line, CF_WARNING, "unknown key '%s' (Asterisk ignores it); "
				"did you mean %s?", k, key_hints[i].right);
			return;
		}
	while (a < n && is_blank_byte((unsigned char)k[a]))
		a++;
	while (z > a && is_blank_byte((unsigned char)k[z - 1]))
		z--;
	if (a != 0 || z != n) {
		char *t = xstrndup(k + a, z - a);
		int known = lookup_key(t) != KEY_UNKNOWN;
		free(t);
		if (known) {
			problem(c->r, line, CF_WARNING, "unknown key '%s': Asterisk does not trim "
				"blanks around keys, write it without them", k);
			return;
		}
	}
	problem(c->r, line, CF_WARNING, "unknown key '%s' (Asterisk ignores it)", k);
}

static void note_repeat(struct checker *c, enum key k, unsigned line, const char *name)
{
	if (k >= KEY_NSINGLE)
		return;
	if (c->seen[k])
		problem(c->r, line, CF_WARNING, "%s repeats line %u: Asterisk uses the last one",
			name, c->seen[k]);
	c->seen[k] = line;
}

static void apply_key(struct checker *c, unsigned line, char *key, char *v)
{
	struct cf_summary *s = &c->r->s;
	enum key k = lookup_key(key);

	note_repeat(c, k, line, key);
	switch (k) {
	case KEY_CHANNEL: check_channel_value(c, line, v); break;
	case KEY_CALLERID: break;
	case KEY_APPLICATION: replace(&s->app, v); c->app_line = line; break;
	case KEY_DATA: replace(&s->data, v); c->data_line = line; break;
	case KEY_MAXRETRIES: check_number(c, line, key, v, &s->max_retries, 0, 0); break;
	case KEY_CONTEXT: replace(&s->context, v); c->context_line = line; break;
	case KEY_EXTENSION: replace(&s->exten, v); c->exten_line = line; break;
	case KEY_PRIORITY: check_priority(c, line, v); break;
	case KEY_RETRYTIME: check_number(c, line, key, v, &s->retry_time, 1, 300); break;
	case KEY_WAITTIME: check_number(c, line, key, v, &s->wait_time, 1, 45); break;
	case KEY_ACCOUNT: break;
	case KEY_ALWAYSDELETE: check_bool(c, line, key, v, &s->always_delete); break;
	case KEY_ARCHIVE: check_bool(c, line, key, v, &s->archive); break;
	case KEY_EARLY_MEDIA:
		check_bool(c, line, key, v, &s->early_media);
		c->early_line = line;
		break;
	case KEY_CODECS: break;
	case KEY_SETVAR: case KEY_SET: check_setvar(c, line, key, v); break;
	case KEY_RETRY: case KEY_ENDRETRY: case KEY_ABORTRETRY: s->retries++; break;
	case KEY_STARTRETRY: case KEY_DELAYEDRETRY: break;
	case KEY_UNKNOWN:
		if (!strcasecmp(key, "status"))
			replace(&s->status, v);
		unknown_key(c, line, key);
		break;
	}
}

/* The reader's comment rules, in its order: '#' at the start or after a
 * blank ends the line; then the first ';' not written "\;" ends it, and each
 * "\;" loses its backslash (the reader then skips the character after the
 * ';', so ";;" after "\;" survives: kept as is, byte for byte). */
static void strip_comments(char *buf)
{
	char *c = buf;

	while ((c = strchr(c, '#'))) {
		if (c == buf || c[-1] == ' ' || c[-1] == '\t')
			*c = '\0';
		else
			c++;
	}
	c = buf;
	while ((c = strchr(c, ';'))) {
		if (c > buf && c[-1] == '\\') {
			memmove(c - 1, c, strlen(c) + 1);
			c++;
		} else {
			*c = '\0';
			break;
		}
	}
}

static void check_line(struct checker *c, unsigned line, char *buf)
{
	char *colon, *v;
	size_t n;

	strip_comments(buf);
	n = strlen(buf);
	while (n > 0 && is_blank_byte((unsigned char)buf[n - 1]))
		buf[--n] = '\0';
	if (n == 0)
		return;
	if (!(colon = strchr(buf, ':'))) {
		problem(c->r, line, CF_WARNING, "syntax error: no ':' (Asterisk ignores this line)");
		return;
	}
	*colon = '\0';
	for (v = colon + 1; *v && is_blank_byte((unsigned char)*v); v++)
		;
	apply_key(c, line, buf, v);
}

/* Problems of the file as a whole, found after the last line. */
static void check_file(struct checker *c)
{
	struct cf_summary *s = &c->r->s;
	int has_app = s->app && *s->app, has_exten = s->exten && *s->exten;

	if (!s->tech || !*s->tech || !s->dest || !*s->dest)
		problem(c->r, c->chan_line, CF_ERROR, "%s: Asterisk deletes this file without "
			"calling", c->chan_line ? "the Channel is not Tech/Dest" : "no Channel line");
	if (!has_app && !has_exten)
		problem(c->r, 0, CF_ERROR, "no target: neither Application nor Extension, so "
			"Asterisk deletes this file without calling");
	if (has_app && has_exten)
		problem(c->r, c->exten_line, CF_ERROR, "both Application and Extension: Asterisk "
			"runs the application and ignores Context, Extension and Priority");
	if (has_exten && !(s->context && *s->context))
		problem(c->r, c->exten_line, CF_ERROR, "Extension without a Context");
	if (has_app && !has_exten && (c->context_line || c->prio_line))
		problem(c->r, c->context_line ? c->context_line : c->prio_line, CF_WARNING,
			"Context/Priority without an Extension: Asterisk ignores them");
	if (c->data_line && !has_app)
		problem(c->r, c->data_line, CF_WARNING, "Data without an Application: Asterisk "
			"ignores it");
	if (s->early_media && has_app)
		problem(c->r, c->early_line, CF_WARNING, "early_media applies to extension calls "
			"only: Asterisk ignores it with an Application");
}

void callfile_check(const char *buf, size_t len, struct cf_report *r)
{
	struct checker c;
	unsigned line = 0;
	size_t pos = 0;

	memset(r, 0, sizeof *r);
	memset(&c, 0, sizeof c);
	c.r = r;
	r->s.priority = 1;
	r->s.retry_time = 300;
	r->s.wait_time = 45;
	r->s.always_delete = 1;
	while (pos < len) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t seg = nl ? (size_t)(nl - (buf + pos)) + 1 : len - pos;
		size_t content = nl ? seg - 1 : seg;

		line++;
		if (seg >= CALLFILE_LINE_MAX) {
			problem(r, line, CF_WARNING, "line is %zu bytes long: Asterisk skips lines of "
				"%d bytes or more", seg, CALLFILE_LINE_MAX);
		} else {
			char *tmp = xstrndup(buf + pos, content);
			if (strlen(tmp) != content)
				problem(r, line, CF_WARNING, "NUL byte: Asterisk ignores the rest of "
					"the line");
			check_line(&c, line, tmp);
			free(tmp);
		}
		pos += seg;
	}
	check_file(&c);
}

void cf_report_free(struct cf_report *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->p[i].msg);
	free(r->p);
	free(r->s.tech);
	free(r->s.dest);
	free(r->s.app);
	free(r->s.data);
	free(r->s.context);
	free(r->s.exten);
	free(r->s.status);
	memset(r, 0, sizeof *r);
}

char *cf_target(const struct cf_summary *s)
{
	if (s->app && *s->app)
		return xasprintf("%s(%s)", s->app, s->data ? s->data : "");
	if (s->exten && *s->exten)
		return xasprintf("%s@%s:%d", s->exten, s->context ? s->context : "", s->priority);
	return NULL;
}

/* ---------------------------------------------------------------- times */

/* Reads exactly n digits. */
static int take_digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -1;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

static int parse_epoch(const char *s, time_t *out, char *err, size_t errsz)
{
	unsigned long v;

	if (parse_uint(s, (unsigned long)INT_MAX * 4, &v) != 0)
		return fail(err, errsz, "\"@%s\": expected @ and seconds since 1970", s);
	*out = (time_t)v;
	return 0;
}

/* "Z", "+HH", "+HHMM" or "+HH:MM" after the time; *utc set when present. */
static int parse_offset(const char **p, int *utc, long *off)
{
	int h, m = 0, sign;

	*utc = 0;
	*off = 0;
	if (**p == 'Z' || **p == 'z') {
		(*p)++;
		*utc = 1;
		return 0;
	}
	if (**p != '+' && **p != '-')
		return 0;
	sign = **p == '-' ? -1 : 1;
	(*p)++;
	if (take_digits(p, 2, &h) != 0)
		return -1;
	if (**p == ':')
		(*p)++;
	if (isdigit((unsigned char)**p) && take_digits(p, 2, &m) != 0)
		return -1;
	if (h > 23 || m > 59)
		return -1;
	*utc = 1;
	*off = sign * (h * 3600L + m * 60L);
	return 0;
}

static int days_in_month(int y, int m)
{
	static const int d[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return m == 2 && leap ? 29 : d[m - 1];
}

/* "YYYY-MM-DD HH:MM[:SS[.frac]]" into tm; leaves *p after it. */
static int parse_datetime(const char **p, struct tm *tm)
{
	int Y, M, D, h, m, sec = 0;

	if (take_digits(p, 4, &Y) || *(*p)++ != '-' || take_digits(p, 2, &M) ||
	    *(*p)++ != '-' || take_digits(p, 2, &D))
		return -1;
	if (**p != ' ' && **p != 'T' && **p != 't')
		return -1;
	(*p)++;
	if (take_digits(p, 2, &h) || *(*p)++ != ':' || take_digits(p, 2, &m))
		return -1;
	if (**p == ':') {
		(*p)++;
		if (take_digits(p, 2, &sec))
			return -1;
		if (**p == '.' || **p == ',')   /* fractions: the spool counts seconds */
			for ((*p)++; isdigit((unsigned char)**p); (*p)++)
				;
	}
	if (Y < 1970 || M < 1 || M > 12 || D < 1 || D > days_in_month(Y, M) || h > 23 ||
	    m > 59 || sec > 59)
		return -1;
	memset(tm, 0, sizeof *tm);
	tm->tm_year = Y - 1900;
	tm->tm_mon = M - 1;
	tm->tm_mday = D;
	tm->tm_hour = h;
	tm->tm_min = m;
	tm->tm_sec = sec;
	return 0;
}

int cf_parse_at(const char *s, time_t *out, char *err, size_t errsz)
{
	const char *p = s;
	struct tm tm, chk;
	long off;
	int utc;
	time_t t;

	if (*s == '@')
		return parse_epoch(s + 1, out, err, errsz);
	if (parse_datetime(&p, &tm) != 0 || parse_offset(&p, &utc, &off) != 0 || *p)
		return fail(err, errsz, "\"%s\": expected YYYY-MM-DD HH:MM[:SS], ISO 8601 "
			    "(YYYY-MM-DDTHH:MM:SS[Z|+HH:MM]) or @EPOCH", s);
	if (utc) {
		*out = timegm(&tm) - off;
		return 0;
	}
	chk = tm;
	tm.tm_isdst = -1;
	if ((t = mktime(&tm)) == (time_t)-1 || !localtime_r(&t, &tm))
		return fail(err, errsz, "\"%s\": cannot convert this local time", s);
	if (tm.tm_hour != chk.tm_hour || tm.tm_min != chk.tm_min || tm.tm_mday != chk.tm_mday)
		return fail(err, errsz, "\"%s\" does not exist in local time (a daylight saving "
			    "change skips it)", s);
	*out = t;
	return 0;
}

int cf_parse_duration(const char *s, long *secs)
{
	const long max = 10L * 366 * 86400;     /* ten years: anything longer is a typo */
	long total = 0;
	const char *p = s;
	int units = 0;

	if (!isdigit((unsigned char)*p))
		return -1;
	while (*p) {
		long v = 0, unit;

		if (!isdigit((unsigned char)*p))
			return -1;
		while (isdigit((unsigned char)*p)) {
			v = v * 10 + (*p++ - '0');
			if (v > max)
				return -1;
		}
		units++;
		switch (*p) {
		case '\0':     /* a bare number means seconds, but not after "1h" */
			if (units > 1)
				return -1;
			unit = 1;
			break;
		case 's': unit = 1; p++; break;
		case 'm': unit = 60; p++; break;
		case 'h': unit = 3600; p++; break;
		case 'd': unit = 86400; p++; break;
		case 'w': unit = 7 * 86400; p++; break;
		default: return -1;
		}
		if (v > max / unit || (total += v * unit) > max)
			return -1;
	}
	*secs = total;
	return 0;
}
