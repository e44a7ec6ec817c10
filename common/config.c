/* config.c - connection profiles: INI file, environment, flags, secrets.
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

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "util.h"

const char *const profile_key_names[K_NKEYS] = {
	"host", "port", "username", "secret", "auth", "timeout", "transport", "url",
	"cacert", "insecure", "http_auth", "http_encoding", "spool_dir",
};

#define KX_SECRET_FILE K_NKEYS          /* a file-only key, beyond profile_key */
#define NFKEYS (K_NKEYS + 1)
#define SECRET_MAX 4096                 /* longer "secrets" are a mistake */
#define DEFAULT_SPOOL "/var/spool/asterisk/outgoing"

enum layer { L_FLAG, L_ENV, L_FILE, NLAYERS };

static const struct { const char *name; int key; } file_keys[] = {
	{ "host", K_HOST }, { "port", K_PORT }, { "username", K_USERNAME },
	{ "user", K_USERNAME }, { "secret", K_SECRET }, { "secret_file", KX_SECRET_FILE },
	{ "auth", K_AUTH }, { "timeout", K_TIMEOUT }, { "transport", K_TRANSPORT },
	{ "url", K_URL }, { "cacert", K_CACERT }, { "insecure", K_INSECURE },
	{ "http_auth", K_HTTP_AUTH }, { "http_encoding", K_HTTP_ENCODING },
	{ "spool_dir", K_SPOOL_DIR },
};

/* Option and variable names, for sources and messages (NULL: none). */
static const char *const flag_names[K_NKEYS] = {
	"--host", "--port", "--user", NULL, "--auth", "--timeout", "--transport", "--url",
	"--cacert", "--insecure", "--http-auth", "--http-encoding", NULL,
};
static const char *const env_names[K_NKEYS] = {
	"AMI_HOST", "AMI_PORT", "AMI_USER", NULL, NULL, "AMI_TIMEOUT", "AMI_TRANSPORT",
	"AMI_URL", NULL, NULL, NULL, NULL, NULL,
};

/* Word lists in enum order. */
static const char *const transport_words[] = { "tcp", "tls", "http", "https", NULL };
static const char *const auth_words[] = { "plain", "md5", NULL };
static const char *const http_auth_words[] = { "cookie", "digest", NULL };
static const char *const encoding_words[] = { "rawman", "mxml", NULL };
static const char *const bool_words[] = { "no", "yes", "false", "true", "0", "1", NULL };

void overrides_init(struct overrides *o)
{
	memset(o, 0, sizeof(*o));
	o->timeout_ms = -1;
	o->insecure = -1;
}

/* An empty variable counts as unset (as XDG says for its own). */
static const char *env(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? v : NULL;
}

/* ---- INI reader ---------------------------------------------------------- */

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; }

static char *trim(char *s)
{
	size_t n;

	while (is_space(*s))
		s++;
	n = strlen(s);
	while (n > 0 && is_space(s[n - 1]))
		s[--n] = '\0';
	return s;
}

/* Nothing but blanks and maybe a comment. */
static int only_comment(const char *s)
{
	while (is_space(*s))
		s++;
	return !*s || *s == ';' || *s == '#';
}

/* "..." with \" and \\ as the only escapes; rewritten in place. */
static char *quoted_value(char *s)
{
	char *src = s + 1, *dst = s;

	for (;;) {
		if (!*src)
			return NULL;                /* unterminated */
		if (*src == '\\' && (src[1] == '"' || src[1] == '\\')) {
			*dst++ = src[1];
			src += 2;
		} else if (*src == '"') {
			break;
		} else {
			*dst++ = *src++;
		}
	}
	*dst = '\0';
	return only_comment(src + 1) ? s : NULL;
}

/* The text after '=': quoted, or bare up to a ';' or '#' that follows
 * whitespace (so "a#b" and URLs with fragments survive). */
static char *ini_value(char *s)
{
	char *v = s;

	while (is_space(*v))
		v++;
	if (*v == '"')
		return quoted_value(v);
	for (char *p = s; *p; p++) {
		if (is_space(*p) && (p[1] == ';' || p[1] == '#')) {
			*p = '\0';
			break;
		}
	}
	return trim(s);
}

typedef int (*ini_kv_fn)(void *arg, const char *section, const char *key,
			 const char *value, int lineno);

/* One line; nonzero when it is bad or kv said stop. */
static int ini_line(char *line, size_t len, int lineno, char **section, ini_kv_fn kv, void *arg)
{
	char *s, *end, *key, *value;

	if (strlen(line) != len)
		return 1;                   /* a NUL byte: this is no text file */
	if (len > 0 && line[len - 1] == '\n')
		line[--len] = '\0';
	if (lineno == 1 && !strncmp(line, "\xef\xbb\xbf", 3))
		line += 3;                  /* a UTF-8 byte order mark */
	s = trim(line);
	if (only_comment(s))
		return 0;
	if (*s == '[') {
		if (!(end = strchr(s, ']')) || !only_comment(end + 1))
			return 1;
		*end = '\0';
		if (!*(s = trim(s + 1)))
			return 1;
		free(*section);
		*section = xstrdup(s);
		return kv(arg, s, NULL, NULL, lineno);
	}
	if (!(end = strchr(s, '=')))
		return 1;
	*end = '\0';
	key = trim(s);
	if (!*key || !(value = ini_value(end + 1)))
		return 1;
	return kv(arg, *section, key, value, lineno);
}

/* kv is also called once per section header, with key and value NULL, so
 * that empty sections are seen; keys before any header get section NULL.
 * Returns -1 when reading failed (errno set). The line buffer is wiped: it
 * may have held a secret. */
int ini_parse_file(FILE *fp, ini_kv_fn kv, void *arg)
{
	char *line = NULL, *section = NULL;
	size_t cap = 0;
	ssize_t n;
	int lineno = 0, bad = 0;

	while (!bad && (n = getline(&line, &cap, fp)) >= 0) {
		lineno++;
		if (ini_line(line, (size_t)n, lineno, &section, kv, arg))
			bad = lineno;
	}
	if (!bad && ferror(fp))
		bad = -1;
	if (line)
		secret_wipe(line, cap);
	free(line);
	free(section);
	return bad;
}

/* ---- values ---------------------------------------------------------------- */

static int word_index(const char *v, const char *const *words)
{
	for (int i = 0; words[i]; i++)
		if (!strcasecmp(v, words[i]))
			return i;
	return -1;
}

static void replace(char **field, const char *v)
{
	free(*field);
	*field = xstrdup(v);
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

static const char *check_url(const char *v)
{
	struct url u;
	const char *err = url_parse(v, &u);
	free(u.host);
	return err;
}

/* Parses v for key k into p, replacing an earlier value. Returns NULL, or
 * what is wrong with v. One function, so a value means the same from a
 * flag, a variable or the file. */
static const char *set_value(struct profile *p, int k, const char *v)
{
	unsigned long n;
	int i = 0, ms;

	if (bad_char_name(v, strlen(v)))
		return "contains a control character (CR or LF)";
	if (!*v)
		return "empty value";
	switch (k) {
	case K_HOST: replace(&p->host, v); break;
	case K_PORT:
		if (parse_uint(v, 65535, &n) || n == 0)
			return "not a port number";
		p->port = (unsigned)n;
		break;
	case K_USERNAME: replace(&p->username, v); break;
	case K_SECRET: secret_free(p->secret); p->secret = xstrdup(v); break;
	case K_AUTH:
		if ((i = word_index(v, auth_words)) < 0)
			return "not plain or md5";
		p->auth = (enum auth_kind)i;
		break;
	case K_TIMEOUT:
		if (parse_seconds(v, &ms))
			return "not a number of seconds";
		p->timeout_ms = ms;
		break;
	case K_TRANSPORT:
		if ((i = word_index(v, transport_words)) < 0)
			return "not tcp, tls, http or https";
		p->transport = (enum transport_kind)i;
		break;
	case K_URL:
		if (check_url(v))
			return check_url(v);
		replace(&p->url, v);
		break;
	case K_CACERT: replace(&p->cacert, v); break;
	case K_INSECURE:
		if ((i = word_index(v, bool_words)) < 0)
			return "not yes, no, true, false, 1 or 0";
		p->insecure = i % 2;
		break;
	case K_HTTP_AUTH:
		if ((i = word_index(v, http_auth_words)) < 0)
			return "not cookie or digest";
		p->http_auth = (enum http_auth_kind)i;
		break;
	case K_HTTP_ENCODING:
		if ((i = word_index(v, encoding_words)) < 0)
			return "not rawman or mxml";
		p->http_encoding = (enum http_encoding_kind)i;
		break;
	case K_SPOOL_DIR: replace(&p->spool_dir, v); break;
	default: break;             /* secret_file: any non-empty path */
	}
	return NULL;
}

/* Whether a bad value may be repeated in the message: not a secret, not a
 * URL (it may hold credentials), nothing that would break the line. */
static int echo_ok(int k, const char *v)
{
	return k != K_SECRET && k != K_URL && !bad_char_name(v, strlen(v));
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

/* ---- permission checks and secret reading ---------------------------------- */

static int check_private(int fd, const char *kind, const char *path, const char *why)
{
	struct stat st;

	if (fstat(fd, &st) < 0) {
		log_error("cannot check %s %s:", kind, path);
		return RC_CONFIG;
	}
	if (!S_ISREG(st.st_mode)) {
		log_error("%s %s is not a regular file%s", kind, path, why);
		return RC_CONFIG;
	}
	if (st.st_uid != getuid()) {
		log_error("%s %s is owned by uid %u, not by you (uid %u)%s; it must be yours",
			  kind, path, (unsigned)st.st_uid, (unsigned)getuid(), why);
		return RC_CONFIG;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		log_error("%s %s has mode %04o%s; it must be private: chmod 600 %s",
			  kind, path, (unsigned)(st.st_mode & 07777), why, path);
		return RC_CONFIG;
	}
	return RC_OK;
}

int check_private_fd(int fd, const char *path)
{
	return check_private(fd, "secret file", path, "");
}

enum line_status { LINE_OK, LINE_EOF, LINE_LONG, LINE_ERR, LINE_INTR };

/* Reads one line a byte at a time, so nothing after it is consumed (stdin
 * may carry a script next) and no stdio buffer keeps a copy. EINTR retries
 * unless *stop was set by the signal. Trailing CR/LF are stripped. */
static enum line_status read_line(int fd, char *buf, size_t cap, size_t *len,
				  volatile sig_atomic_t *stop)
{
	char c = 0;
	ssize_t n;
	enum line_status st = LINE_OK;

	*len = 0;
	for (;;) {
		n = read(fd, &c, 1);
		if (n < 0 && errno == EINTR && !*stop)
			continue;
		if (n < 0) {
			st = errno == EINTR ? LINE_INTR : LINE_ERR;
			break;
		}
		if (n == 0) {
			st = *len ? LINE_OK : LINE_EOF;
			break;
		}
		if (c == '\n')
			break;
		if (*len == cap) {
			st = LINE_LONG;
			break;
		}
		buf[(*len)++] = c;
	}
	secret_wipe(&c, 1);
	while (*len > 0 && (buf[*len - 1] == '\r' || buf[*len - 1] == '\n'))
		(*len)--;
	buf[*len] = '\0';
	return st;
}

/* Turns what read_line got into a malloc'd secret, or prints why not. */
static int take_secret(enum line_status st, char *buf, size_t len, const char *what,
		       char **secret)
{
	const char *bad = bad_char_name(buf, len);
	int rc = RC_CONFIG;

	if (st == LINE_INTR)
		rc = RC_INTERRUPTED;
	else if (st == LINE_ERR)
		log_error("cannot read %s:", what);
	else if (st == LINE_LONG)
		log_error("%s: the secret is longer than %d bytes", what, SECRET_MAX);
	else if (len == 0)
		log_error("%s: the secret is empty", what);
	else if (bad)
		log_error("%s: the secret contains %s", what, bad);
	else {
		*secret = xstrndup(buf, len);
		rc = RC_OK;
	}
	secret_wipe(buf, SECRET_MAX + 1);
	free(buf);
	return rc;
}

int read_secret_file(const char *path, char **secret)
{
	/* O_NONBLOCK: opening a FIFO must not hang before fstat refuses it. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	char *buf, *what;
	enum line_status st;
	size_t len;
	int rc;

	*secret = NULL;
	if (fd < 0) {
		log_error("cannot open secret file %s:", path);
		return RC_CONFIG;
	}
	if ((rc = check_private_fd(fd, path)) != RC_OK) {
		close(fd);
		return rc;
	}
	buf = xmalloc(SECRET_MAX + 1);
	what = xasprintf("secret file %s", path);
	st = read_line(fd, buf, SECRET_MAX, &len, &interrupted);
	rc = take_secret(st, buf, len, what, secret);
	free(what);
	close(fd);
	return rc;
}

static int read_secret_stdin(char **secret)
{
	char *buf = xmalloc(SECRET_MAX + 1);
	size_t len;
	enum line_status st = read_line(0, buf, SECRET_MAX, &len, &interrupted);

	return take_secret(st, buf, len, "standard input (--secret-stdin)", secret);
}

/* ---- the prompt ------------------------------------------------------------ */

static volatile sig_atomic_t prompt_signal;
static const int prompt_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP, SIGTTIN, SIGTTOU };

static void on_prompt_signal(int sig) { prompt_signal = sig; }

/* While echo is off, our handler only notes the signal (no SA_RESTART, so
 * read() returns); the terminal is restored before the signal is passed
 * on to whatever handled it before. */
static void catch_signals(struct sigaction old[])
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_prompt_signal;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < ARRAY_LEN(prompt_signals); i++)
		sigaction(prompt_signals[i], &sa, &old[i]);
}

static void release_signals(const struct sigaction old[])
{
	for (size_t i = 0; i < ARRAY_LEN(prompt_signals); i++)
		sigaction(prompt_signals[i], &old[i], NULL);
}

static int is_stop_signal(int sig) { return sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU; }

/* One attempt: echo off, prompt, read a line, echo restored. */
static enum line_status prompt_once(int tty, const struct termios *saved, const char *prompt,
				    char *buf, size_t *len)
{
	struct termios quiet = *saved;
	enum line_status st;
	ssize_t w;

	quiet.c_lflag &= ~(tcflag_t)ECHO;   /* ISIG stays: Ctrl-C must work */
	if (tcsetattr(tty, TCSAFLUSH, &quiet) < 0)
		return LINE_ERR;
	w = write(tty, prompt, strlen(prompt));
	st = w < 0 ? LINE_ERR : prompt_signal ? LINE_INTR :
		read_line(tty, buf, SECRET_MAX, len, &prompt_signal);
	tcsetattr(tty, TCSAFLUSH, saved);
	w = write(tty, "\n", 1);
	(void)w;
	return st;
}

/* Asks on /dev/tty. Returns RC_OK, RC_CONFIG, RC_INTERRUPTED, or -1 when
 * there is no terminal to ask on. Ctrl-Z stops us with the echo restored
 * and asks again after `fg`; other signals end the prompt. */
static int prompt_secret(const char *user, const char *host, char **secret)
{
	struct sigaction old[ARRAY_LEN(prompt_signals)];
	struct termios saved;
	char *buf, *prompt;
	size_t len = 0;
	enum line_status st;
	int tty = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC), sig;

	if (tty < 0 || tcgetattr(tty, &saved) < 0) {
		if (tty >= 0)
			close(tty);
		return -1;
	}
	buf = xmalloc(SECRET_MAX + 1);
	prompt = xasprintf("Secret for %s@%s: ", user, host);
	for (;;) {
		prompt_signal = 0;
		catch_signals(old);
		st = prompt_once(tty, &saved, prompt, buf, &len);
		release_signals(old);
		sig = prompt_signal;
		if (!sig)
			break;
		raise(sig);                 /* the old handler, or the default action */
		if (!is_stop_signal(sig)) {
			st = LINE_INTR;
			break;
		}
	}
	free(prompt);
	close(tty);
	return take_secret(st, buf, len, "/dev/tty", secret);
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
	char *fval[NFKEYS];         /* the wanted section's values */
	int fline[NFKEYS];
	const char *val[NLAYERS][K_NKEYS];
	char *src[NLAYERS][K_NKEYS];
	char *url_host[NLAYERS], url_port[NLAYERS][8];
	char timeout_buf[32];
};

static int lookup_key(const char *name)
{
	for (size_t i = 0; i < ARRAY_LEN(file_keys); i++)
		if (!strcasecmp(name, file_keys[i].name))
			return file_keys[i].key;
	return -1;
}

/* Checks one key of any section; keeps it when the section is wanted. */
static int file_kv(void *arg, const char *section, const char *key, const char *value,
		   int lineno)
{
	struct resolver *r = arg;
	struct profile scratch;
	const char *err;
	int k;

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
	err = set_value(&scratch, k, value);
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
		int is_path = k == KX_SECRET_FILE || k == K_CACERT || k == K_SPOOL_DIR;
		secret_free(r->fval[k]);
		r->fval[k] = is_path ? file_path_value(r->path, value) : xstrdup(value);
		r->fline[k] = lineno;
	}
	return 0;
}

/* Opens a config file; a missing one is reported as ENOENT. Directories
 * are refused here because fopen() would accept them. */
static FILE *open_config(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	struct stat st;
	FILE *fp;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0 || (S_ISDIR(st.st_mode) && (errno = EISDIR))) {
		int e = errno;
		close(fd);
		errno = e;
		return NULL;
	}
	fcntl(fd, F_SETFL, 0);          /* a FIFO (--config <(...)) may block now */
	if (!(fp = fdopen(fd, "r")))
		close(fd);
	return fp;
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
		rc = check_private(fileno(fp), "config file", r->path, why);
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
	if (!(fp = open_config(r->path))) {
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
		return usage_error("%s: %s%s%s", flag_names[k], err, sep, v);
	if (l == L_ENV)
		log_error("%s: %s%s%s", env_names[k], err, sep, v);
	else
		log_error("%s: %s%s%s", r->src[l][k], err, sep, v);
	return RC_CONFIG;
}

static int collect_flags(struct resolver *r)
{
	const struct overrides *o = r->o;
	const char *fv[K_NKEYS] = {
		o->host, o->port, o->user, NULL, o->auth, NULL, o->transport, o->url,
		o->cacert, NULL, o->http_auth, o->http_encoding, NULL,
	};
	int k;

	if (o->timeout_ms >= 0) {
		snprintf(r->timeout_buf, sizeof(r->timeout_buf), "%d.%03d",
			 o->timeout_ms / 1000, o->timeout_ms % 1000);
		fv[K_TIMEOUT] = r->timeout_buf;
	}
	if (o->insecure >= 0)
		fv[K_INSECURE] = o->insecure ? "yes" : "no";
	for (k = 0; k < K_NKEYS; k++)
		if (fv[k])
			set_cand(r, L_FLAG, k, fv[k], xasprintf("flag %s", flag_names[k]));
	if (o->tls) {
		if (o->transport && strcasecmp(o->transport, "tls"))
			return usage_error("--tls conflicts with --transport %s", o->transport);
		if (o->url)
			return usage_error("--tls conflicts with --url (use an https:// URL)");
		set_cand(r, L_FLAG, K_TRANSPORT, "tls", xstrdup("flag --tls"));
	}
	k = o->transport ? word_index(o->transport, transport_words) : -1;
	if (o->url && (k == TR_TCP || k == TR_TLS))
		return usage_error("--url needs transport http or https, not %s", o->transport);
	return RC_OK;
}

static void collect_env_file(struct resolver *r)
{
	for (int k = 0; k < K_NKEYS; k++) {
		const char *v = env_names[k] && k != K_SECRET ? env(env_names[k]) : NULL;
		if (v)
			set_cand(r, L_ENV, k, v, xasprintf("env %s", env_names[k]));
		if (r->fval[k] && k != K_SECRET)
			set_cand(r, L_FILE, k, r->fval[k], xasprintf("%s:%d [%s]", r->path,
								   r->fline[k], r->pname));
	}
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
	static const unsigned ports[] = { 5038, 5039, 8088, 8089 };

	switch (k) {
	case K_HOST: p->host = xstrdup("127.0.0.1"); break;
	case K_PORT: p->port = ports[p->transport]; break;
	case K_TIMEOUT: p->timeout_ms = 10000; break;
	case K_SPOOL_DIR: p->spool_dir = xstrdup(DEFAULT_SPOOL); break;
	default: break;             /* the zero value is the default */
	}
	p->source[k] = xstrdup("default");
}

/* The first layer that has key k wins. */
static int resolve_key(struct resolver *r, int k)
{
	for (int l = 0; l < NLAYERS; l++) {
		const char *err;

		if (!r->val[l][k])
			continue;
		if ((err = set_value(r->p, k, r->val[l][k])))
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

static char *file_source(const struct resolver *r, int k)
{
	return xasprintf("%s:%d [%s]", r->path, r->fline[k], r->pname);
}

/* Where the secret comes from, in order; *src says it. Reads it only when
 * need (not CONFIG_SECRET_NONE). Returns RC_*, or -1 when there is none. */
static int find_secret(struct resolver *r, int need, char **src)
{
	const struct overrides *o = r->o;
	struct profile *p = r->p;
	const char *e = env("AMI_SECRET"), *bad;

	if (o->secret_file && o->secret_stdin)
		return usage_error("--secret-file and --secret-stdin cannot be used together");
	if (o->secret_file) {
		*src = xasprintf("flag --secret-file %s", o->secret_file);
		return need ? read_secret_file(o->secret_file, &p->secret) : RC_OK;
	}
	if (o->secret_stdin) {
		*src = xstrdup("flag --secret-stdin");
		return need ? read_secret_stdin(&p->secret) : RC_OK;
	}
	if (e) {
		*src = xstrdup("env AMI_SECRET");
		if (need && (bad = bad_char_name(e, strlen(e)))) {
			log_error("AMI_SECRET contains %s", bad);
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
	if (r->fval[KX_SECRET_FILE]) {
		char *at = file_source(r, KX_SECRET_FILE);
		*src = xasprintf("%s (secret_file at %s)", r->fval[KX_SECRET_FILE], at);
		free(at);
		return need ? read_secret_file(r->fval[KX_SECRET_FILE], &p->secret) : RC_OK;
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
		rc = prompt_secret(p->username, p->host, &p->secret);
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
	for (int k = 0; k < NFKEYS; k++)
		secret_free(r->fval[k]);
	for (int l = 0; l < NLAYERS; l++) {
		free(r->url_host[l]);
		for (int k = 0; k < K_NKEYS; k++)
			free(r->src[l][k]);
	}
	names_free(&r->sections);
	free(r->path);
}

static int choose_profile(struct resolver *r)
{
	const char *e = env("AMI_PROFILE");

	if (r->o->profile && !*r->o->profile)
		return usage_error("--profile: empty profile name");
	r->pname = r->o->profile ? r->o->profile : e ? e : "default";
	r->pname_given = r->o->profile || e;
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
		rc = collect_flags(&r);
	if (rc == RC_OK) {
		collect_env_file(&r);
		rc = collect_urls(&r);
	}
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
	free(p->host);
	free(p->username);
	secret_free(p->secret);
	free(p->url);
	free(p->cacert);
	free(p->spool_dir);
	for (int k = 0; k < K_NKEYS; k++)
		free(p->source[k]);
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
	const char *path;
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
	struct lister ls = { path, { NULL, 0 }, each, arg };
	char iobuf[BUFSIZ];
	FILE *fp = open_config(path);
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
