/* config.c - connection profiles: the key table, and resolving a profile
 * from flags, environment, the config file and defaults.
 *
 * Profiles do not inherit: a named section such as [pbx1] stands alone and
 * takes nothing from [default], as in the AWS CLI's config file. A value
 * that seems to come from nowhere would be harder to debug than a repeated
 * line, and `ami config` shows where every value came from anyway.
 *
 * The whole file is checked (unknown keys, bad values in every section), so
 * a typo fails loudly the first time the file is used, not when someone
 * finally picks that profile. */
#include "config.h"
#include "fleet.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "ini.h"
#include "secret.h"
#include "util.h"

const char *const transport_words[] = { "tcp", "tls", "http", "https", NULL };
const char *const auth_words[] = { "plain", "md5", NULL };
const char *const http_auth_words[] = { "cookie", "digest", NULL };
const char *const http_encoding_words[] = { "rawman", "mxml", NULL };
/* Pairs: an even index is no, an odd one yes. */
static const char *const bool_words[] = { "no", "yes", "false", "true", "0", "1", NULL };

#define FIELD(f) offsetof(struct profile, f)

/* name, alias, type, words, flag, env, default, help, field */
const struct config_key config_keys[K_NFILE_KEYS] = {
	[K_HOST] = { "host", NULL, KT_TEXT, NULL, "--host", "AMI_HOST", "127.0.0.1",
		     "AMI host, a name or an address", FIELD(host) },
	[K_PORT] = { "port", NULL, KT_PORT, NULL, "--port", "AMI_PORT", NULL,
		     "AMI port (5038; tls 5039, http 8088, https 8089)", FIELD(port) },
	[K_USERNAME] = { "username", "user", KT_TEXT, NULL, "--user", "AMI_USER", NULL,
			 "AMI username", FIELD(username) },
	[K_SECRET] = { "secret", NULL, KT_SECRET, NULL, NULL, "AMI_SECRET", NULL,
		       "the secret; the file must then be private", FIELD(secret) },
	[K_AUTH] = { "auth", NULL, KT_WORD, auth_words, "--auth", NULL, "plain",
		     "login method", FIELD(auth) },
	[K_TIMEOUT] = { "timeout", NULL, KT_SECONDS, NULL, "--timeout", "AMI_TIMEOUT", "10",
			"seconds per connect, login, response", FIELD(timeout_ms) },
	/* --tls is the one option that sets the transport. */
	[K_TRANSPORT] = { "transport", NULL, KT_WORD, transport_words, "--tls", "AMI_TRANSPORT",
			  "tcp", "transport", FIELD(transport) },
	[K_URL] = { "url", NULL, KT_URL, NULL, "--url", "AMI_URL", NULL,
		    "HTTP base URL, e.g. http://pbx:8088/asterisk/", FIELD(url) },
	[K_CACERT] = { "cacert", NULL, KT_PATH, NULL, "--cacert", NULL, NULL,
		       "CA certificates (PEM) to verify TLS with", FIELD(cacert) },
	[K_INSECURE] = { "insecure", NULL, KT_BOOL, NULL, "--insecure", NULL, "no",
			 "skip the TLS certificate check", FIELD(insecure) },
	[K_HTTP_AUTH] = { "http_auth", NULL, KT_WORD, http_auth_words, "--http-auth", NULL,
			  "cookie", "HTTP login", FIELD(http_auth) },
	[K_HTTP_ENCODING] = { "http_encoding", NULL, KT_WORD, http_encoding_words,
			      "--http-encoding", NULL, "rawman", "HTTP body", FIELD(http_encoding) },
	[K_SPOOL_DIR] = { "spool_dir", NULL, KT_PATH, NULL, NULL, NULL, DEFAULT_SPOOL,
			  "call files", FIELD(spool_dir) },
	/* Not kept: find_secret reads the secret from it. */
	[K_SECRET_FILE] = { "secret_file", NULL, KT_PATH, NULL, "--secret-file", NULL, NULL,
			    "private file whose first line is the secret", 0 },
};

enum layer { L_FLAG, L_ENV, L_FILE, NLAYERS };

void overrides_init(struct overrides *o)
{
	memset(o, 0, sizeof(*o));
	o->timeout_ms = -1;
}

/* An empty variable counts as unset (as XDG says for its own). */
static const char *env(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? v : NULL;
}

/* ---- values ---------------------------------------------------------------- */

/* "a, b or c": what a KT_WORD key accepts. */
static void words_text(const char *const *words, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (int i = 0; words[i] && n < len; i++) {
		const char *sep = i == 0 ? "" : words[i + 1] ? ", " : " or ";
		n += (size_t)snprintf(buf + n, len - n, "%s%s", sep, words[i]);
	}
}

static void *field_of(struct profile *p, int k)
{
	return (char *)p + config_keys[k].field;
}

/* Whether key k is kept as a char * (KT_TEXT to KT_URL) in the profile. */
static int kept_as_text(int k)
{
	return config_keys[k].field && config_keys[k].type <= KT_URL;
}

struct url {
	int https;
	char *host;
	unsigned port;
	const char *path;           /* points into the parsed string; "" or "/..." */
};

/* Splits http[s]://host[:port][/path]. Returns NULL, or what is wrong. */
static const char *url_parse(const char *s, struct url *u)
{
	const char *h, *end, *colon = NULL;
	unsigned long port;

	memset(u, 0, sizeof(*u));
	if (!strncasecmp(s, "http://", 7))
		h = s + 7;
	else if (!strncasecmp(s, "https://", 8))
		h = s + 8, u->https = 1;
	else
		return "not an http:// or https:// URL";
	end = h + strcspn(h, "/?#");
	if (memchr(h, '@', (size_t)(end - h)))
		return "credentials do not belong in a URL (argv and logs show it)";
	if (*h == '[') {                /* [IPv6]:port */
		const char *rb = memchr(h, ']', (size_t)(end - h));
		if (!rb || (rb + 1 != end && rb[1] != ':'))
			return "bad IPv6 address in URL";
		u->host = xstrndup(h + 1, (size_t)(rb - h - 1));
		colon = rb + 1 != end ? rb + 1 : NULL;
	} else {
		colon = memchr(h, ':', (size_t)(end - h));
		u->host = xstrndup(h, (size_t)((colon ? colon : end) - h));
	}
	u->port = u->https ? 443 : 80;
	u->path = end;
	if (colon) {
		char *p = xstrndup(colon + 1, (size_t)(end - colon - 1));
		int bad = parse_uint(p, 65535, &port) || port == 0;
		free(p);
		if (bad)
			return "bad port in URL";
		u->port = (unsigned)port;
	}
	return *u->host ? NULL : "no host in URL";
}

/* Reads v, the text of key k, into its field of p (if it has one),
 * replacing an earlier value. Returns NULL, or what is wrong with v (in
 * err when it is made up). One function, so a value means the same from a
 * flag, a variable or the file. */
static const char *set_value(struct profile *p, int k, const char *v, char err[128])
{
	const struct config_key *key = &config_keys[k];
	unsigned long n = 0;
	int i = 0, ms = 0;

	if (bad_char_name(v, strlen(v)))
		return "contains a control character (CR or LF)";
	if (!*v)
		return "empty value";
	switch (key->type) {
	case KT_URL: {
		struct url u;
		const char *bad = url_parse(v, &u);
		free(u.host);
		if (bad)
			return bad;
		break;
	}
	case KT_PORT:
		if (parse_uint(v, 65535, &n) || n == 0)
			return "not a port number";
		break;
	case KT_SECONDS:
		if (parse_seconds(v, &ms))
			return "not a number of seconds";
		break;
	case KT_WORD:
		if ((i = word_index(v, key->words)) < 0) {
			memcpy(err, "not ", 5);
			words_text(key->words, err + 4, 124);
			return err;
		}
		break;
	case KT_BOOL:
		if ((i = word_index(v, bool_words)) < 0)
			return "not yes, no, true, false, 1 or 0";
		i %= 2;
		break;
	default:
		break;
	}
	if (!key->field)
		return NULL;
	switch (key->type) {
	case KT_PORT: *(unsigned *)field_of(p, k) = (unsigned)n; break;
	case KT_SECONDS: *(int *)field_of(p, k) = ms; break;
	case KT_WORD: case KT_BOOL: *(int *)field_of(p, k) = i; break;
	default:                    /* kept as text */
		secret_free(*(char **)field_of(p, k));  /* a secret must be wiped */
		*(char **)field_of(p, k) = xstrdup(v);
	}
	return NULL;
}

void config_key_help(int k, char *buf, size_t len)
{
	const struct config_key *key = &config_keys[k];
	char words[128] = "";
	int n;

	if (key->words) {
		memcpy(words, ": ", 3);
		words_text(key->words, words + 2, sizeof words - 2);
	}
	n = snprintf(buf, len, "%s%s", key->help, words);
	if (key->alias && n >= 0 && (size_t)n < len)
		n += snprintf(buf + n, len - (size_t)n, " (\"%s\" too)", key->alias);
	if (key->dflt && n >= 0 && (size_t)n < len)
		snprintf(buf + n, len - (size_t)n, " (default %s)", key->dflt);
}

void config_value_text(const struct profile *p, int k, char *buf, size_t len)
{
	const struct config_key *key = &config_keys[k];
	const void *f = (const char *)p + key->field;
	const char *s = kept_as_text(k) ? *(char *const *)f : NULL;

	switch (key->type) {
	case KT_SECRET: snprintf(buf, len, "%s", s ? "********" : "(none)"); break;
	case KT_PORT: snprintf(buf, len, "%u", *(const unsigned *)f); break;
	case KT_SECONDS: snprintf(buf, len, "%g", *(const int *)f / 1000.0); break;
	case KT_WORD: snprintf(buf, len, "%s", key->words[*(const int *)f]); break;
	case KT_BOOL: snprintf(buf, len, "%s", bool_words[*(const int *)f]); break;
	default: snprintf(buf, len, "%s", s ? s : "");
	}
}

/* Whether a bad value may be repeated in the message: not a secret, not a
 * URL (it may hold credentials), nothing that would break the line. */
static int echo_ok(int k, const char *v)
{
	return config_keys[k].type != KT_SECRET && config_keys[k].type != KT_URL &&
	       !bad_char_name(v, strlen(v));
}

static const char *home_dir(void)
{
	const char *h = env("HOME");
	struct passwd *pw;

	if (h)
		return h;
	pw = getpwuid(getuid());
	return pw && pw->pw_dir ? pw->pw_dir : "/";
}

/* Paths in the file: "~/x" is under $HOME, and a relative path is relative
 * to the file's directory, so cron jobs need not care about their cwd. */
static char *file_path_value(const char *cfg, const char *v)
{
	const char *slash = strrchr(cfg, '/');

	if (!strncmp(v, "~/", 2))
		return xasprintf("%s%s", home_dir(), v + 1);
	if (*v == '/' || !slash)
		return xstrdup(v);
	return xasprintf("%.*s/%s", (int)(slash - cfg), cfg, v);
}

/* ---- reading the file ------------------------------------------------------ */

struct names { char **v; size_t n; };

static int names_add(struct names *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->v[i], name))
			return 0;
	s->v = xrealloc(s->v, (s->n + 1) * sizeof(*s->v));
	s->v[s->n++] = xstrdup(name);
	return 1;
}

static void names_free(struct names *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
}

struct resolver {
	const struct overrides *o;
	struct profile *p;
	const char *pname;          /* the profile wanted */
	int pname_given;            /* by -p or AMI_PROFILE */
	char *path;
	int file_found, failed, secret_line;
	struct names sections;
	char *fval[K_NFILE_KEYS];   /* the wanted section's values */
	int fline[K_NFILE_KEYS];
	const char *val[NLAYERS][K_NKEYS];
	char *src[NLAYERS][K_NKEYS];
	char *url_host[NLAYERS], url_port[NLAYERS][8];
};

static int lookup_key(const char *name)
{
	for (int k = 0; k < K_NFILE_KEYS; k++)
		if (!strcasecmp(name, config_keys[k].name) ||
		    (config_keys[k].alias && !strcasecmp(name, config_keys[k].alias)))
			return k;
	return -1;
}

/* Checks one key of any section; keeps it when the section is wanted. */
static int file_kv(void *arg, const char *section, const char *key, const char *value,
		   int lineno)
{
	struct resolver *r = arg;
	struct profile scratch;
	const char *err;
	char errbuf[128];
	int k;

	if (section && section[0] == '@')
		return 0;       /* a group: fleet.c reads it when it is named */
	if (!key) {
		names_add(&r->sections, section);
		return 0;
	}
	r->failed = 1;
	if (!section) {
		log_error("%s:%d: \"%s\" is outside of any [section]", r->path, lineno, key);
		return 1;
	}
	if ((k = lookup_key(key)) < 0) {
		log_error("%s:%d: unknown key \"%s\"", r->path, lineno, key);
		return 1;
	}
	memset(&scratch, 0, sizeof(scratch));
	err = set_value(&scratch, k, value, errbuf);
	profile_free(&scratch);
	if (err) {
		int show = echo_ok(k, value);
		log_error("%s:%d: %s: %s%s%s", r->path, lineno, key, err, show ? ": " : "",
			  show ? value : "");
		return 1;
	}
	r->failed = 0;
	if (k == K_SECRET && !r->secret_line)
		r->secret_line = lineno;
	if (!strcmp(section, r->pname)) {
		secret_free(r->fval[k]);
		r->fval[k] = config_keys[k].type == KT_PATH ? file_path_value(r->path, value)
							     : xstrdup(value);
		r->fline[k] = lineno;
	}
	return 0;
}

static void report_parse_error(const char *path, int bad)
{
	if (bad < 0)
		log_error("cannot read config %s:", path);
	else
		log_error("%s:%d: syntax error: not a [section], key = value or comment line",
			  path, bad);
}

/* Parses the file through our own stdio buffer, so that it can be wiped. */
static int parse_config(FILE *fp, struct resolver *r)
{
	char iobuf[BUFSIZ];
	int bad, rc = RC_OK;

	setvbuf(fp, iobuf, _IOFBF, sizeof(iobuf));
	bad = ini_parse_file(fp, file_kv, r);
	if (bad) {
		if (!r->failed)
			report_parse_error(r->path, bad);
		rc = RC_CONFIG;
	} else if (r->secret_line) {
		char *why = xasprintf(" and holds a secret (line %d)", r->secret_line);
		rc = secret_check_private(fileno(fp), "config file", r->path, why);
		free(why);
	}
	fclose(fp);
	secret_wipe(iobuf, sizeof(iobuf));
	return rc;
}

static int check_profile_exists(struct resolver *r)
{
	char *list = NULL;

	if (!r->pname_given || !strcmp(r->pname, "default"))
		return RC_OK;
	for (size_t i = 0; i < r->sections.n; i++)
		if (!strcmp(r->sections.v[i], r->pname))
			return RC_OK;
	for (size_t i = 0; i < r->sections.n; i++) {
		char *l = xasprintf("%s%s%s", list ? list : "", list ? ", " : "", r->sections.v[i]);
		free(list);
		list = l;
	}
	if (!r->file_found)
		log_error("profile \"%s\" not found: there is no config file %s", r->pname, r->path);
	else
		log_error("profile \"%s\" not found in %s; %s%s", r->pname, r->path,
			  list ? "available: " : "the file has no profiles", list ? list : "");
	free(list);
	return RC_CONFIG;
}

static int read_config(struct resolver *r)
{
	int explicit_file = r->o->config_file || env("AMI_CONFIG");
	FILE *fp;
	int rc;

	r->path = config_path(r->o->config_file);
	if (!(fp = ini_open(r->path))) {
		if (explicit_file || (errno != ENOENT && errno != ENOTDIR)) {
			log_error("cannot read config %s:", r->path);
			return RC_CONFIG;
		}
		return check_profile_exists(r);
	}
	r->file_found = 1;
	if ((rc = parse_config(fp, r)) != RC_OK)
		return rc;
	r->p->config_path = xstrdup(r->path);
	return check_profile_exists(r);
}

/* ---- resolving ------------------------------------------------------------- */

static char *file_source(const struct resolver *r, int k)
{
	return xasprintf("%s:%d [%s]", r->path, r->fline[k], r->pname);
}

static void set_cand(struct resolver *r, enum layer l, int k, const char *v, char *src)
{
	r->val[l][k] = v;
	free(r->src[l][k]);
	r->src[l][k] = src;
}

/* Prints what is wrong with a value from layer l: a usage error for a flag. */
static int layer_error(struct resolver *r, enum layer l, int k, const char *err, const char *v)
{
	int show = echo_ok(k, v);
	const char *sep = show ? ": " : "";

	if (!show)
		v = "";
	if (l == L_FLAG)
		return usage_error("%s: %s%s%s", config_keys[k].flag, err, sep, v);
	if (l == L_ENV)
		log_error("%s: %s%s%s", config_keys[k].env, err, sep, v);
	else
		log_error("%s: %s%s%s", r->src[l][k], err, sep, v);
	return RC_CONFIG;
}

/* The secret is not among them: find_secret has its own order. */
static int collect_layers(struct resolver *r)
{
	const struct overrides *o = r->o;

	if (o->key[K_TRANSPORT] && o->key[K_URL])
		return usage_error("--tls conflicts with --url (use an https:// URL)");
	for (int k = 0; k < K_NKEYS; k++) {
		const char *v = config_keys[k].env && k != K_SECRET ? env(config_keys[k].env) : NULL;

		if (o->key[k])
			set_cand(r, L_FLAG, k, o->key[k], xasprintf("flag %s", config_keys[k].flag));
		if (v)
			set_cand(r, L_ENV, k, v, xasprintf("env %s", config_keys[k].env));
		if (r->fval[k] && k != K_SECRET)
			set_cand(r, L_FILE, k, r->fval[k], file_source(r, k));
	}
	return RC_OK;
}

/* A URL given in a layer also says transport, host and port in that layer,
 * unless the layer names them itself. Host and port are only used once the
 * transport is known to be HTTP (see use_url_hosts). */
static int collect_urls(struct resolver *r)
{
	for (int l = 0; l < NLAYERS; l++) {
		const char *v = r->val[l][K_URL];
		const char *err;
		struct url u;

		if (!v)
			continue;
		if ((err = url_parse(v, &u))) {
			free(u.host);
			return layer_error(r, l, K_URL, err, v);
		}
		r->url_host[l] = u.host;
		snprintf(r->url_port[l], sizeof(r->url_port[l]), "%u", u.port);
		if (!r->val[l][K_TRANSPORT])
			set_cand(r, l, K_TRANSPORT, u.https ? "https" : "http",
				 xstrdup(r->src[l][K_URL]));
	}
	return RC_OK;
}

static void use_url_hosts(struct resolver *r)
{
	for (int l = 0; l < NLAYERS; l++) {
		if (!r->url_host[l])
			continue;
		if (!r->val[l][K_HOST])
			set_cand(r, l, K_HOST, r->url_host[l], xstrdup(r->src[l][K_URL]));
		if (!r->val[l][K_PORT])
			set_cand(r, l, K_PORT, r->url_port[l], xstrdup(r->src[l][K_URL]));
	}
}

static void set_default(struct profile *p, int k)
{
	static const unsigned ports[] = { 5038, 5039, 8088, 8089 };    /* by transport */
	char err[128];

	if (k == K_PORT)
		p->port = ports[p->transport];
	else if (config_keys[k].dflt)
		set_value(p, k, config_keys[k].dflt, err);
	p->source[k] = xstrdup("default");
}

/* The first layer that has key k wins. */
static int resolve_key(struct resolver *r, int k)
{
	for (int l = 0; l < NLAYERS; l++) {
		const char *err;
		char errbuf[128];

		if (!r->val[l][k])
			continue;
		if ((err = set_value(r->p, k, r->val[l][k], errbuf)))
			return layer_error(r, l, k, err, r->val[l][k]);
		r->p->source[k] = r->src[l][k];
		r->src[l][k] = NULL;
		return RC_OK;
	}
	set_default(r->p, k);
	return RC_OK;
}

static int resolve_keys(struct resolver *r)
{
	int rc = resolve_key(r, K_TRANSPORT);

	if (rc == RC_OK && r->p->transport >= TR_HTTP)
		use_url_hosts(r);
	for (int k = 0; k < K_NKEYS && rc == RC_OK; k++)
		if (k != K_TRANSPORT && k != K_SECRET)
			rc = resolve_key(r, k);
	return rc;
}

/* For HTTP the URL is what gets used, so it must agree with host, port and
 * transport, which may come from higher layers: rebuild it from them,
 * keeping its path (e.g. Asterisk's http.conf prefix). */
static void resolve_url(struct profile *p)
{
	struct url u = { 0 };
	int https = p->transport == TR_HTTPS;
	const char *path = "/";
	char *url;

	if (p->transport < TR_HTTP)
		return;
	if (p->url) {
		url_parse(p->url, &u);      /* valid: resolve_key checked it */
		if (u.https == https && !strcmp(u.host, p->host) && u.port == p->port) {
			free(u.host);
			return;
		}
		path = *u.path ? u.path : "/";
	}
	if (strchr(p->host, ':'))       /* an IPv6 address needs brackets */
		url = xasprintf("%s://[%s]:%u%s", https ? "https" : "http", p->host, p->port, path);
	else
		url = xasprintf("%s://%s:%u%s", https ? "https" : "http", p->host, p->port, path);
	if (p->url) {
		char *src = xasprintf("%s, rewritten for host, port and transport",
				      p->source[K_URL]);
		free(p->source[K_URL]);
		p->source[K_URL] = src;
	}
	free(u.host);
	free(p->url);
	p->url = url;
}

/* ---- the secret -------------------------------------------------------------- */

/* Where the secret comes from, in order; *src says it. Reads it only when
 * need (not CONFIG_SECRET_NONE). Returns RC_*, or -1 when there is none. */
static int find_secret(struct resolver *r, int need, char **src)
{
	const struct overrides *o = r->o;
	struct profile *p = r->p;
	const char *e = env(config_keys[K_SECRET].env), *bad;
	const char *flag_file = o->key[K_SECRET_FILE], *file_file = r->fval[K_SECRET_FILE];

	if (flag_file && o->secret_stdin)
		return usage_error("--secret-file and --secret-stdin cannot be used together");
	if (flag_file) {
		*src = xasprintf("flag --secret-file %s", flag_file);
		return need ? secret_read_file(flag_file, &p->secret) : RC_OK;
	}
	if (o->secret_stdin) {
		*src = xstrdup("flag --secret-stdin");
		return need ? secret_read_stdin(&p->secret) : RC_OK;
	}
	if (e) {
		*src = xasprintf("env %s", config_keys[K_SECRET].env);
		if (need && (bad = bad_char_name(e, strlen(e)))) {
			log_error("%s contains %s", config_keys[K_SECRET].env, bad);
			return RC_CONFIG;
		}
		p->secret = need ? xstrdup(e) : NULL;
		return RC_OK;
	}
	if (r->fval[K_SECRET]) {
		*src = file_source(r, K_SECRET);
		p->secret = need ? xstrdup(r->fval[K_SECRET]) : NULL;
		return RC_OK;
	}
	if (file_file) {
		char *at = file_source(r, K_SECRET_FILE);
		*src = xasprintf("%s (secret_file at %s)", file_file, at);
		free(at);
		return need ? secret_read_file(file_file, &p->secret) : RC_OK;
	}
	return -1;
}

static int resolve_secret(struct resolver *r, int need)
{
	struct profile *p = r->p;
	char *src = NULL;
	int rc;

	if (need == CONFIG_SECRET_REQUIRED && !p->username) {
		log_error("no username: use --user, AMI_USER or username in %s", r->path);
		return RC_CONFIG;
	}
	rc = find_secret(r, need, &src);
	if (rc < 0 && need == CONFIG_SECRET_REQUIRED && isatty(0)) {
		free(src);
		src = xstrdup("prompt on /dev/tty");
		rc = secret_prompt(p->username, p->host, &p->secret);
	}
	if (rc < 0 && need == CONFIG_SECRET_REQUIRED) {
		log_error("no secret for user %s: use --secret-file, --secret-stdin, AMI_SECRET "
			  "or secret_file in %s", p->username, r->path);
		rc = RC_CONFIG;
	}
	if (rc < 0) {
		free(src);
		src = xstrdup("none");
		rc = RC_OK;
	}
	p->source[K_SECRET] = src;
	return rc;
}

/* ---- entry points -------------------------------------------------------------- */

static void resolver_free(struct resolver *r)
{
	for (int k = 0; k < K_NFILE_KEYS; k++)
		secret_free(r->fval[k]);
	for (int l = 0; l < NLAYERS; l++) {
		free(r->url_host[l]);
		for (int k = 0; k < K_NKEYS; k++)
			free(r->src[l][k]);
	}
	names_free(&r->sections);
	free(r->path);
}

/* The profile wanted. A list or a group is for cmd/parts/fanout.c, which runs
 * one ami per profile and tells each which one through AMI_FANOUT_PROFILE
 * (it wins over -p and AMI_PROFILE, which still name the list there). */
static int choose_profile(struct resolver *r)
{
	const char *e = env("AMI_PROFILE"), *one = env("AMI_FANOUT_PROFILE");

	if (r->o->profile && !*r->o->profile)
		return usage_error("--profile: empty profile name");
	r->pname = one ? one : r->o->profile ? r->o->profile : e ? e : "default";
	r->pname_given = one || r->o->profile || e;
	if (fleet_is_list(r->pname))
		return RC_FANOUT;
	r->p->name = xstrdup(r->pname);
	return RC_OK;
}

int config_resolve(struct profile *out, const struct overrides *o, int need_secret)
{
	struct resolver r;
	int rc;

	memset(out, 0, sizeof(*out));
	memset(&r, 0, sizeof(r));
	r.o = o;
	r.p = out;
	rc = choose_profile(&r);
	if (rc == RC_OK)
		rc = read_config(&r);
	if (rc == RC_OK)
		rc = collect_layers(&r);
	if (rc == RC_OK)
		rc = collect_urls(&r);
	if (rc == RC_OK)
		rc = resolve_keys(&r);
	if (rc == RC_OK) {
		resolve_url(out);
		rc = resolve_secret(&r, need_secret);
	}
	resolver_free(&r);
	if (rc != RC_OK)
		profile_free(out);
	return rc;
}

void profile_free(struct profile *p)
{
	free(p->name);
	free(p->config_path);
	for (int k = 0; k < K_NKEYS; k++) {
		if (kept_as_text(k))
			secret_free(*(char **)field_of(p, k));
		free(p->source[k]);
	}
	memset(p, 0, sizeof(*p));
}

char *config_path(const char *explicit_file)
{
	const char *e = env("AMI_CONFIG"), *xdg = env("XDG_CONFIG_HOME");

	if (explicit_file)
		return xstrdup(explicit_file);
	if (e)
		return xstrdup(e);
	if (xdg && *xdg == '/')         /* XDG: relative paths are invalid, ignore them */
		return xasprintf("%s/ami/config", xdg);
	return xasprintf("%s/.config/ami/config", home_dir());
}

struct lister {
	struct names seen;
	void (*each)(const char *name, void *arg);
	void *arg;
};

static int list_kv(void *arg, const char *section, const char *key, const char *value,
		   int lineno)
{
	struct lister *ls = arg;

	(void)value;
	(void)lineno;
	if (!key && names_add(&ls->seen, section))
		ls->each(section, ls->arg);
	return 0;
}

/* A missing file simply has no profiles: completions call this. Only the
 * syntax is checked; config_resolve checks keys and values. */
int config_list_profiles(const char *path, void (*each)(const char *name, void *arg), void *arg)
{
	struct lister ls = { { NULL, 0 }, each, arg };
	char iobuf[BUFSIZ];
	FILE *fp = ini_open(path);
	int bad;

	if (!fp) {
		if (errno == ENOENT)
			return RC_OK;
		log_error("cannot read config %s:", path);
		return RC_CONFIG;
	}
	setvbuf(fp, iobuf, _IOFBF, sizeof(iobuf));
	bad = ini_parse_file(fp, list_kv, &ls);
	if (bad)
		report_parse_error(path, bad);
	fclose(fp);
	secret_wipe(iobuf, sizeof(iobuf));
	names_free(&ls.seen);
	return bad ? RC_CONFIG : RC_OK;
}
