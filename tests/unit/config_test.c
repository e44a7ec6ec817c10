/* config_test.c - unit tests for common/config.c and common/md5.c.
 * Ends with "N passed, N failed"; exits 1 when anything failed.
 * Works in a private temp dir with HOME and the AMI_* variables reset. */
#undef _XOPEN_SOURCE              /* readline.pc passes 600 */
#define _XOPEN_SOURCE 700           /* posix_openpt & co. for the prompt test */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "check.h"
#include "config.h"
#include "md5.h"
#include "util.h"

#define CHECK_ERR(s) check_err((s), __LINE__)

/* ---- fixtures ---------------------------------------------------------------- */

static char dir[64];                /* the temp dir */
static char *made[128];             /* files and dirs to remove, in order */
static size_t nmade;
static char errbuf[8192];           /* what the last captured call printed */
static struct profile P;            /* the last resolved profile */
static int saved_stderr = -1;

/* What the last captured call printed has want in it. */
static void check_err(const char *want, int line)
{
	check_at(__FILE__, line, strstr(errbuf, want) != NULL, "%s; stderr was: %s", want, errbuf);
}

static char *tpath(const char *name)
{
	return xasprintf("%s/%s", dir, name);
}

static char *write_file(const char *name, const char *content, size_t len, mode_t mode)
{
	char *path = tpath(name);
	int fd;

	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, content, len) != (ssize_t)len || fchmod(fd, mode) < 0) {
		perror(path);
		exit(1);
	}
	close(fd);
	if (nmade < ARRAY_LEN(made))
		made[nmade++] = xstrdup(path);
	return path;
}

static char *write_text(const char *name, const char *content, mode_t mode)
{
	return write_file(name, content, strlen(content), mode);
}

/* Rewrites a file whose path the caller already has. */
static void put_file(const char *name, const char *content, size_t len, mode_t mode)
{
	free(write_file(name, content, len, mode));
}

static void put_text(const char *name, const char *content, mode_t mode)
{
	put_file(name, content, strlen(content), mode);
}

static char *make_dir(const char *name)
{
	char *path = tpath(name);
	mkdir(path, 0700);
	if (nmade < ARRAY_LEN(made))
		made[nmade++] = xstrdup(path);
	return path;
}

static void cleanup(void)
{
	while (nmade > 0) {
		char *p = made[--nmade];
		if (unlink(p) < 0)
			rmdir(p);
		free(p);
	}
	rmdir(dir);
}

static void capture_start(void)
{
	char *path = tpath("stderr");
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	fflush(stderr);
	saved_stderr = dup(2);
	dup2(fd, 2);
	close(fd);
	free(path);
}

static void capture_end(void)
{
	char *path = tpath("stderr");
	int fd;
	ssize_t n;

	fflush(stderr);
	dup2(saved_stderr, 2);
	close(saved_stderr);
	fd = open(path, O_RDONLY);
	n = fd < 0 ? 0 : read(fd, errbuf, sizeof(errbuf) - 1);
	errbuf[n > 0 ? n : 0] = '\0';
	if (fd >= 0)
		close(fd);
	unlink(path);
	free(path);
}

static void reset_env(void)
{
	static const char *const vars[] = {
		"AMI_CONFIG", "AMI_PROFILE", "AMI_HOST", "AMI_PORT", "AMI_USER", "AMI_SECRET",
		"AMI_TIMEOUT", "AMI_URL", "AMI_TRANSPORT", "XDG_CONFIG_HOME",
	};
	char *home = tpath("home");

	for (size_t i = 0; i < ARRAY_LEN(vars); i++)
		unsetenv(vars[i]);
	setenv("HOME", home, 1);
	free(home);
}

static int resolve(const struct overrides *o, int need)
{
	int rc;

	profile_free(&P);
	capture_start();
	rc = config_resolve(&P, o, need);
	capture_end();
	return rc;
}

/* Resolves with only --config FILE (and an optional profile). */
static int resolve_file(const char *file, const char *profile, int need)
{
	struct overrides o;

	overrides_init(&o);
	o.config_file = file;
	o.profile = profile;
	return resolve(&o, need);
}

/* ---- md5 --------------------------------------------------------------------- */

static void test_md5(void)
{
	static const char *const vec[][2] = {     /* RFC 1321, appendix A.5 */
		{ "", "d41d8cd98f00b204e9800998ecf8427e" },
		{ "a", "0cc175b9c0f1b6a831c399e269772661" },
		{ "abc", "900150983cd24fb0d6963f7d28e17f72" },
		{ "message digest", "f96b697d7cb7938d525a2f31aaf161d0" },
		{ "abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b" },
		{ "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
		  "d174ab98d277d9f5a5611c2c9f419d9f" },
		{ "1234567890123456789012345678901234567890"
		  "1234567890123456789012345678901234567890",
		  "57edf4a22be3c955ac49da2e2107b67a" },
	};
	static const size_t steps[] = { 1, 3, 55, 56, 63, 64, 65, 100 };
	char hex[33];

	for (size_t i = 0; i < ARRAY_LEN(vec); i++) {
		md5_hex(vec[i][0], strlen(vec[i][0]), hex);
		CHECK_STR(hex, vec[i][1]);
	}
	/* Incremental feeding in odd pieces gives the same digest. */
	for (size_t s = 0; s < ARRAY_LEN(steps); s++) {
		const char *m = vec[6][0];
		size_t len = strlen(m);
		struct md5_ctx c;

		md5_init(&c);
		for (size_t off = 0; off < len; off += steps[s])
			md5_update(&c, m + off, len - off < steps[s] ? len - off : steps[s]);
		md5_final_hex(&c, hex);
		CHECK_STR(hex, vec[6][1]);
	}
	/* Asterisk's challenge login: md5(challenge + secret). */
	struct md5_ctx c;
	md5_init(&c);
	md5_update(&c, "12345", 5);
	md5_update(&c, "678", 3);
	md5_final_hex(&c, hex);
	CHECK_STR(hex, "25d55ad283aa400af464c76d713c07ad");   /* md5("12345678") */
	unsigned char raw[16];
	md5_init(&c);
	md5_update(&c, "abc", 3);
	md5_final(&c, raw);
	CHECK(raw[0] == 0x90 && raw[15] == 0x72);
}

/* ---- INI reader -------------------------------------------------------------- */

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

/* ---- paths -------------------------------------------------------------------- */

static void test_paths(void)
{
	char *p, *want;

	reset_env();
	p = config_path("/x/y");
	CHECK_STR(p, "/x/y");
	free(p);
	setenv("AMI_CONFIG", "/from/env", 1);
	p = config_path(NULL);
	CHECK_STR(p, "/from/env");
	free(p);
	setenv("AMI_CONFIG", "", 1);                        /* empty = unset */
	setenv("XDG_CONFIG_HOME", "/xdg", 1);
	p = config_path(NULL);
	CHECK_STR(p, "/xdg/ami/config");
	free(p);
	want = xasprintf("%s/home/.config/ami/config", dir);
	setenv("XDG_CONFIG_HOME", "", 1);
	p = config_path(NULL);
	CHECK_STR(p, want);
	free(p);
	setenv("XDG_CONFIG_HOME", "relative", 1);           /* XDG: ignore relative */
	p = config_path(NULL);
	CHECK_STR(p, want);
	free(p);
	free(want);
	reset_env();
}

/* ---- resolving ------------------------------------------------------------------ */

static const char profiles[] =
	"# test config\n"                                           /* 1 */
	"[default]\n"                                               /* 2 */
	"host = pbx.example.net\n"                                  /* 3 */
	"port = 1111\n"                                             /* 4 */
	"username = cron\n"                                         /* 5 */
	"timeout = 0.25\n"                                          /* 6 */
	"\n"                                                        /* 7 */
	"[pbx1]\n"                                                  /* 8 */
	"host = 10.0.0.1   ; the office\n"                          /* 9 */
	"user = \"op ; erator\"\n"                                  /* 10 */
	"auth = MD5\n"                                              /* 11 */
	"transport = tls\n"                                         /* 12 */
	"insecure = yes\n"                                          /* 13 */
	"cacert = ~/ca.pem\n"                                       /* 14 */
	"secret_file = pbx1.secret\n"                               /* 15 */
	"spool_dir = /tmp/spool\n"                                  /* 16 */
	"http_auth = digest\n"                                      /* 17 */
	"http_encoding = mxml\n"                                    /* 18 */
	"[web]\n"                                                   /* 19 */
	"url = http://web.example:8080/asterisk/\n"                 /* 20 */
	"[empty]\n";                                                /* 21 */

static void test_defaults(void)
{
	struct overrides o;

	reset_env();
	overrides_init(&o);
	CHECK_INT(o.timeout_ms, -1);
	CHECK_INT(o.insecure, -1);
	CHECK_INT(resolve(&o, CONFIG_SECRET_NONE), RC_OK);  /* no file at all */
	CHECK_STR(P.name, "default");
	CHECK(P.config_path == NULL);
	CHECK_STR(P.host, "127.0.0.1");
	CHECK_INT(P.port, 5038);
	CHECK_INT(P.timeout_ms, 10000);
	CHECK_INT(P.transport, TR_TCP);
	CHECK_INT(P.auth, AUTH_PLAIN);
	CHECK_INT(P.http_auth, HTTP_AUTH_COOKIE);
	CHECK_INT(P.http_encoding, HTTP_ENC_RAWMAN);
	CHECK_INT(P.insecure, 0);
	CHECK(P.username == NULL && P.secret == NULL && P.url == NULL && P.cacert == NULL);
	CHECK_STR(P.spool_dir, "/var/spool/asterisk/outgoing");
	for (int k = 0; k < K_NKEYS; k++)
		CHECK_STR(P.source[k], k == K_SECRET ? "none" : "default");
	CHECK_STR(errbuf, "");
	CHECK_STR(profile_key_names[K_HTTP_ENCODING], "http_encoding");
}

static void test_profiles(void)
{
	char *cfg = write_text("profiles", profiles, 0644), *src, *want;
	struct overrides o;

	reset_env();
	CHECK_INT(resolve_file(cfg, NULL, CONFIG_SECRET_NONE), RC_OK);
	CHECK_STR(P.name, "default");
	CHECK_STR(P.config_path, cfg);
	CHECK_STR(P.host, "pbx.example.net");
	CHECK_INT(P.port, 1111);
	CHECK_STR(P.username, "cron");
	CHECK_INT(P.timeout_ms, 250);
	src = xasprintf("%s:3 [default]", cfg);
	CHECK_STR(P.source[K_HOST], src);
	free(src);

	/* A named profile inherits nothing from [default]. */
	CHECK_INT(resolve_file(cfg, "pbx1", CONFIG_SECRET_NONE), RC_OK);
	CHECK_STR(P.name, "pbx1");
	CHECK_STR(P.host, "10.0.0.1");
	CHECK_STR(P.username, "op ; erator");               /* `user` alias, quoted */
	CHECK_INT(P.port, 5039);                            /* tls default */
	CHECK_STR(P.source[K_PORT], "default");
	CHECK_INT(P.timeout_ms, 10000);
	CHECK_INT(P.auth, AUTH_MD5);
	CHECK_INT(P.transport, TR_TLS);
	CHECK_INT(P.insecure, 1);
	CHECK_INT(P.http_auth, HTTP_AUTH_DIGEST);
	CHECK_INT(P.http_encoding, HTTP_ENC_MXML);
	CHECK_STR(P.spool_dir, "/tmp/spool");
	want = xasprintf("%s/home/ca.pem", dir);
	CHECK_STR(P.cacert, want);
	free(want);
	src = xasprintf("%s:10 [pbx1]", cfg);
	CHECK_STR(P.source[K_USERNAME], src);
	free(src);
	/* Not read without need, but the source says where it would come from. */
	CHECK(P.secret == NULL);
	want = xasprintf("%s/pbx1.secret (secret_file at %s:15 [pbx1])", dir, cfg);
	CHECK_STR(P.source[K_SECRET], want);
	free(want);

	/* -p beats AMI_PROFILE, which beats "default". */
	setenv("AMI_PROFILE", "pbx1", 1);
	CHECK_INT(resolve_file(cfg, NULL, CONFIG_SECRET_NONE), RC_OK);
	CHECK_STR(P.name, "pbx1");
	CHECK_INT(resolve_file(cfg, "default", CONFIG_SECRET_NONE), RC_OK);
	CHECK_STR(P.host, "pbx.example.net");
	setenv("AMI_PROFILE", "", 1);
	CHECK_INT(resolve_file(cfg, NULL, CONFIG_SECRET_NONE), RC_OK);
	CHECK_STR(P.name, "default");

	/* An empty section is a profile with all defaults. */
	CHECK_INT(resolve_file(cfg, "empty", CONFIG_SECRET_NONE), RC_OK);
	CHECK_STR(P.host, "127.0.0.1");

	CHECK_INT(resolve_file(cfg, "nope", CONFIG_SECRET_NONE), RC_CONFIG);
	CHECK_ERR("profile \"nope\" not found in ");
	CHECK_ERR("available: default, pbx1, web, empty");
	setenv("AMI_PROFILE", "nope", 1);
	CHECK_INT(resolve_file(cfg, NULL, CONFIG_SECRET_NONE), RC_CONFIG);
	CHECK_ERR("profile \"nope\" not found");

	/* The file found through XDG_CONFIG_HOME. */
	reset_env();
	free(make_dir("xdg"));
	free(make_dir("xdg/ami"));
	char *xdgcfg = write_text("xdg/ami/config", "[default]\nhost = from-xdg\n[p2]\n", 0644);
	char *xdg = tpath("xdg");
	setenv("XDG_CONFIG_HOME", xdg, 1);
	overrides_init(&o);
	CHECK_INT(resolve(&o, CONFIG_SECRET_NONE), RC_OK);
	CHECK_STR(P.host, "from-xdg");
	CHECK_STR(P.config_path, xdgcfg);
	o.profile = "p2";
	CHECK_INT(resolve(&o, CONFIG_SECRET_NONE), RC_OK);
	CHECK_STR(P.host, "127.0.0.1");
	free(xdg);
	free(xdgcfg);
	reset_env();
	free(cfg);
}

static void test_missing_files(void)
{
	struct overrides o;
	char *missing = tpath("does-not-exist"), *d = make_dir("adir");

	reset_env();
	overrides_init(&o);
	o.profile = "pbx1";                                 /* no file, named profile */
	CHECK_INT(resolve(&o, CONFIG_SECRET_NONE), RC_CONFIG);
	CHECK_ERR("profile \"pbx1\" not found: there is no config file");
	o.profile = "default";                              /* always exists */
	CHECK_INT(resolve(&o, CONFIG_SECRET_NONE), RC_OK);
	o.profile = "";
	CHECK_INT(resolve(&o, CONFIG_SECRET_NONE), RC_USAGE);
	CHECK_INT(resolve_file(missing, NULL, CONFIG_SECRET_NONE), RC_CONFIG);
	CHECK_ERR("cannot read config ");
	CHECK_ERR("No such file or directory");
	setenv("AMI_CONFIG", missing, 1);
	overrides_init(&o);
	CHECK_INT(resolve(&o, CONFIG_SECRET_NONE), RC_CONFIG);
	CHECK_ERR("cannot read config ");
	reset_env();
	CHECK_INT(resolve_file(d, NULL, CONFIG_SECRET_NONE), RC_CONFIG);
	CHECK_ERR("Is a directory");
	CHECK_INT(resolve_file("/dev/null", NULL, CONFIG_SECRET_NONE), RC_OK);
	free(missing);
	free(d);
}

/* Writes a one-profile config and checks that it is refused, naming line. */
static void expect_bad_file(const char *text, const char *msg, int line)
{
	char *cfg = write_text("bad", text, 0600);
	char *where = xasprintf("%s:%d: ", cfg, line);

	CHECK_INT(resolve_file(cfg, NULL, CONFIG_SECRET_NONE), RC_CONFIG);
	CHECK_ERR(where);
	CHECK_ERR(msg);
	free(where);
	free(cfg);
}

static void test_bad_files(void)
{
	reset_env();
	expect_bad_file("[default]\ncolour = blue\n", "unknown key \"colour\"", 2);
	expect_bad_file("host = x\n", "outside of any [section]", 1);
	expect_bad_file("[default]\nport = 70000\n", "port: not a port number: 70000", 2);
	expect_bad_file("[default]\nport = 0\n", "not a port number", 2);
	expect_bad_file("[default]\n\nport = 12ab\n", "not a port number", 3);
	expect_bad_file("[default]\ntimeout = soon\n", "timeout: not a number of seconds", 2);
	expect_bad_file("[default]\ntimeout = -1\n", "not a number of seconds", 2);
	expect_bad_file("[default]\nauth = sha1\n", "auth: not plain or md5", 2);
	expect_bad_file("[default]\ntransport = udp\n", "not tcp, tls, http or https", 2);
	expect_bad_file("[default]\ninsecure = maybe\n", "not yes, no, true, false, 1 or 0", 2);
	expect_bad_file("[default]\nhttp_auth = basic\n", "not cookie or digest", 2);
	expect_bad_file("[default]\nhttp_encoding = json\n", "not rawman or mxml", 2);
	expect_bad_file("[default]\nurl = ftp://x/\n", "not an http:// or https:// URL", 2);
	expect_bad_file("[default]\nhost =\n", "empty value", 2);
	expect_bad_file("[default]\nuser = a\rb\n", "control character", 2);
	expect_bad_file("[default]\nhost = x\nwhat\n", "syntax error", 3);
	/* A bad value in a profile nobody asked for still counts. */
	expect_bad_file("[default]\n[other]\nport = x\n", "not a port number", 3);
	/* The secret itself is never repeated in a message. */
	expect_bad_file("[default]\nsecret = a\rTOPSECRET\n", "secret: contains", 2);
	CHECK(strstr(errbuf, "TOPSECRET") == NULL);
}

static void test_precedence(void)
{
	char *cfg = write_text("prec", "[default]\nhost = filehost\nport = 1111\n"
			       "user = fileuser\ntimeout = 3\n", 0644);
	struct overrides o;
	char *src;

	reset_env();
	overrides_init(&o);
	o.config_file = cfg;
	o.host = "flaghost";
	o.port = "3333";
	o.user = "flaguser";
	o.timeout_ms = 2500;
	setenv("AMI_HOST", "envhost", 1);
	setenv("AMI_PORT", "2222", 1);
	setenv("AMI_USER", "envuser", 1);
	setenv("AMI_TIMEOUT", "1.5", 1);
	CHECK_INT(resolve(&o, CONFIG_SECRET_NONE), RC_OK);
	CHECK_STR(P.host, "flaghost");
	CHECK_INT(P.port, 3333);
	CHECK_STR(P.username, "flaguser");
	CHECK_INT(P.timeout_ms, 2500);
	CHECK_STR(P.source[K_HOST], "flag --host");
	CHECK_STR(P.source[K_PORT], "flag --port");
	CHECK_STR(P.source[K_USERNAME], "flag --user");
	CHECK_STR(P.source[K_TIMEOUT], "flag --timeout");

	o.host = o.port = o.user = NULL;
	o.timeout_ms = -1;
	CHECK_INT(resolve(&o, CONFIG_SECRET_NONE), RC_OK);
	CHECK_STR(P.host, "envhost");
	CHECK_INT(P.port, 2222);
	CHECK_STR(P.username, "envuser");
	CHECK_INT(P.timeout_ms, 1500);
	CHECK_STR(P.source[K_HOST], "env AMI_HOST");
	CHECK_STR(P.source[K_PORT], "env AMI_PORT");
	CHECK_STR(P.source[K_USERNAME], "env AMI_USER");
	CHECK_STR(P.source[K_TIMEOUT], "env AMI_TIMEOUT");

	reset_env();
	setenv("AMI_HOST", "", 1);                          /* empty = unset */
	CHECK_INT(resolve(&o, CONFIG_SECRET_NONE), RC_OK);
	CHECK_STR(P.host, "filehost");
	CHECK_INT(P.port, 1111);
	CHECK_STR(P.username, "fileuser");
	CHECK_INT(P.timeout_ms, 3000);
	src = xasprintf("%s:3 [default]", cfg);
	CHECK_STR(P.source[K_PORT], src);
	free(src);

	/* The other flags. */
	o.auth = "md5";
	o.insecure = 1;
	o.cacert = "/ca.pem";
	o.http_auth = "digest";
	o.http_encoding = "mxml";
	CHECK_INT(resolve(&o, CONFIG_SECRET_NONE), RC_OK);
	CHECK_INT(P.auth, AUTH_MD5);
	CHECK_INT(P.insecure, 1);
	CHECK_STR(P.cacert, "/ca.pem");
	CHECK_INT(P.http_auth, HTTP_AUTH_DIGEST);
	CHECK_INT(P.http_encoding, HTTP_ENC_MXML);
	CHECK_STR(P.source[K_INSECURE], "flag --insecure");
	CHECK_STR(P.source[K_CACERT], "flag --cacert");
	for (int k = 0; k < K_NKEYS; k++)
		CHECK(P.source[k] != NULL);
	free(cfg);
}

static void test_bad_values(void)
{
	struct overrides o;

	reset_env();
	overrides_init(&o);
	o.config_file = "/dev/null";
	o.port = "x";
	CHECK_INT(resolve(&o, CONFIG_SECRET_NONE), RC_USAGE);
	CHECK_ERR("--port: not a port number: x");
	o.port = "65536";
	CHECK_INT(resolve(&o, CONFIG_SECRET_NONE), RC_USAGE);
	o.port = "65535";
	CHECK_INT(resolve(&o, CONFIG_SECRET_NONE), RC_OK);
	o.port = NULL;
	o.auth = "sha";
	CHECK_INT(resolve(&o, CONFIG_SECRET_NONE), RC_USAGE);
	CHECK_ERR("--auth: not plain or md5: sha");
	o.auth = NULL;
	o.user = "bob\r\nAction: Originate";
	CHECK_INT(resolve(&o, CONFIG_SECRET_NONE), RC_USAGE);
	CHECK_ERR("--user: contains a control character");
	CHECK(strstr(errbuf, "Originate") == NULL);
	o.user = NULL;
	o.host = "";
	CHECK_INT(resolve(&o, CONFIG_SECRET_NONE), RC_USAGE);
	CHECK_ERR("--host: empty value");
	o.host = NULL;

	setenv("AMI_PORT", "x", 1);
	CHECK_INT(resolve(&o, CONFIG_SECRET_NONE), RC_CONFIG);
	CHECK_ERR("AMI_PORT: not a port number: x");
	reset_env();
	setenv("AMI_TIMEOUT", "1s", 1);
	CHECK_INT(resolve(&o, CONFIG_SECRET_NONE), RC_CONFIG);
	CHECK_ERR("AMI_TIMEOUT: not a number of seconds");
	reset_env();
	setenv("AMI_USER", "a\nb", 1);
	CHECK_INT(resolve(&o, CONFIG_SECRET_NONE), RC_CONFIG);
	CHECK_ERR("AMI_USER: contains a control character");
	reset_env();
	setenv("AMI_TRANSPORT", "sctp", 1);
	CHECK_INT(resolve(&o, CONFIG_SECRET_NONE), RC_CONFIG);
	CHECK_ERR("AMI_TRANSPORT: not tcp, tls, http or https");
	reset_env();
}

static void test_transports(void)
{
	char *cfg = write_text("web", profiles, 0644), *src;
	struct overrides o;

	reset_env();
	overrides_init(&o);
	o.config_file = "/dev/null";
	o.tls = 1;
	CHECK_INT(resolve(&o, CONFIG_SECRET_NONE), RC_OK);
	CHECK_INT(P.transport, TR_TLS);
	CHECK_INT(P.port, 5039);
	CHECK_STR(P.source[K_TRANSPORT], "flag --tls");
	CHECK(P.url == NULL);
	o.transport = "http";
	CHECK_INT(resolve(&o, CONFIG_SECRET_NONE), RC_USAGE);
	CHECK_ERR("--tls conflicts with --transport http");
	o.tls = 0;
	o.host = "pbx";
	CHECK_INT(resolve(&o, CONFIG_SECRET_NONE), RC_OK);
	CHECK_INT(P.port, 8088);
	CHECK_STR(P.url, "http://pbx:8088/");
	CHECK_STR(P.source[K_URL], "default");
	o.transport = "HTTPS";
	CHECK_INT(resolve(&o, CONFIG_SECRET_NONE), RC_OK);
	CHECK_STR(P.url, "https://pbx:8089/");

	/* --url sets transport, host and port. */
	overrides_init(&o);
	o.config_file = "/dev/null";
	o.url = "https://pbx.example/asterisk/";
	CHECK_INT(resolve(&o, CONFIG_SECRET_NONE), RC_OK);
	CHECK_INT(P.transport, TR_HTTPS);
	CHECK_STR(P.host, "pbx.example");
	CHECK_INT(P.port, 443);
	CHECK_STR(P.url, "https://pbx.example/asterisk/");
	CHECK_STR(P.source[K_URL], "flag --url");
	CHECK_STR(P.source[K_HOST], "flag --url");
	CHECK_STR(P.source[K_TRANSPORT], "flag --url");
	o.url = "http://[::1]:8088/";
	CHECK_INT(resolve(&o, CONFIG_SECRET_NONE), RC_OK);
	CHECK_STR(P.host, "::1");
	CHECK_INT(P.port, 8088);
	o.port = "9000";                                   /* a higher source rewrites */
	CHECK_INT(resolve(&o, CONFIG_SECRET_NONE), RC_OK);
	CHECK_STR(P.url, "http://[::1]:9000/");
	o.port = NULL;
	o.url = "http://admin:pw@pbx/";
	CHECK_INT(resolve(&o, CONFIG_SECRET_NONE), RC_USAGE);
	CHECK_ERR("--url: credentials do not belong in a URL");
	CHECK(strstr(errbuf, "pw@") == NULL);
	o.url = "ftp://pbx/";
	CHECK_INT(resolve(&o, CONFIG_SECRET_NONE), RC_USAGE);
	CHECK_ERR("--url: not an http:// or https:// URL");
	o.url = "http://pbx:99999/";
	CHECK_INT(resolve(&o, CONFIG_SECRET_NONE), RC_USAGE);
	o.url = "http://pbx/";
	o.transport = "tcp";
	CHECK_INT(resolve(&o, CONFIG_SECRET_NONE), RC_USAGE);
	CHECK_ERR("--url needs transport http or https");
	o.transport = NULL;
	o.tls = 1;
	CHECK_INT(resolve(&o, CONFIG_SECRET_NONE), RC_USAGE);

	/* A profile's URL, with the host overridden from the environment. */
	overrides_init(&o);
	o.config_file = cfg;
	o.profile = "web";
	CHECK_INT(resolve(&o, CONFIG_SECRET_NONE), RC_OK);
	CHECK_INT(P.transport, TR_HTTP);
	CHECK_STR(P.host, "web.example");
	CHECK_INT(P.port, 8080);
	CHECK_STR(P.url, "http://web.example:8080/asterisk/");
	src = xasprintf("%s:20 [web]", cfg);
	CHECK_STR(P.source[K_URL], src);
	CHECK_STR(P.source[K_TRANSPORT], src);
	free(src);
	setenv("AMI_HOST", "other", 1);
	CHECK_INT(resolve(&o, CONFIG_SECRET_NONE), RC_OK);
	CHECK_STR(P.url, "http://other:8080/asterisk/");
	CHECK_STR(P.source[K_HOST], "env AMI_HOST");
	CHECK(strstr(P.source[K_URL], "rewritten") != NULL);
	setenv("AMI_TRANSPORT", "tcp", 1);                  /* URL unused for TCP */
	CHECK_INT(resolve(&o, CONFIG_SECRET_NONE), RC_OK);
	CHECK_INT(P.transport, TR_TCP);
	CHECK_STR(P.host, "other");
	CHECK_INT(P.port, 5038);
	reset_env();
	setenv("AMI_URL", "https://envurl:8443/x", 1);
	CHECK_INT(resolve(&o, CONFIG_SECRET_NONE), RC_OK);
	CHECK_INT(P.transport, TR_HTTPS);
	CHECK_STR(P.url, "https://envurl:8443/x");
	CHECK_STR(P.source[K_URL], "env AMI_URL");
	reset_env();
	free(cfg);
}

/* ---- secrets ---------------------------------------------------------------------- */

static void test_private_checks(void)
{
	static const mode_t bad_modes[] = { 0644, 0640, 0604, 0601, 0610, 0660, 0666, 0700 | 0004 };
	char *s, *msg;
	char *secret = NULL;
	int fd;

	s = write_text("s", "pw\r\nsecond line\n", 0600);
	CHECK_INT(read_secret_file(s, &secret), RC_OK);
	CHECK_STR(secret, "pw");
	secret_free(secret);
	put_text("s", "only\n", 0400);
	CHECK_INT(read_secret_file(s, &secret), RC_OK);
	CHECK_STR(secret, "only");
	secret_free(secret);
	put_text("s", "no newline", 0700);
	CHECK_INT(read_secret_file(s, &secret), RC_OK);
	CHECK_STR(secret, "no newline");
	secret_free(secret);

	for (size_t i = 0; i < ARRAY_LEN(bad_modes); i++) {
		put_text("s", "pw\n", bad_modes[i]);
		capture_start();
		CHECK_INT(read_secret_file(s, &secret), RC_CONFIG);
		capture_end();
		CHECK(secret == NULL);
		msg = xasprintf("secret file %s has mode %04o; it must be private: chmod 600 %s",
				s, (unsigned)bad_modes[i], s);
		CHECK_ERR(msg);
		free(msg);
	}

	/* Not ours: chown when root, else a root-owned system file. */
	put_text("s", "pw\n", 0600);
	const char *other = s;
	if (getuid() == 0)
		CHECK(chown(s, 4242, 4242) == 0);
	else
		other = "/etc/passwd";
	capture_start();
	CHECK_INT(read_secret_file(other, &secret), RC_CONFIG);
	capture_end();
	CHECK_ERR("is owned by uid");
	if (getuid() == 0)
		CHECK(chown(s, 0, 0) == 0);

	char *d = make_dir("sdir");
	capture_start();
	CHECK_INT(read_secret_file(d, &secret), RC_CONFIG);
	capture_end();
	CHECK_ERR("is not a regular file");
	char *fifo = tpath("fifo");
	CHECK(mkfifo(fifo, 0600) == 0);
	if (nmade < ARRAY_LEN(made))
		made[nmade++] = xstrdup(fifo);
	capture_start();
	CHECK_INT(read_secret_file(fifo, &secret), RC_CONFIG);  /* and no hang */
	capture_end();
	CHECK_ERR("is not a regular file");
	capture_start();
	CHECK_INT(read_secret_file("/nonexistent/s", &secret), RC_CONFIG);
	capture_end();
	CHECK_ERR("cannot open secret file /nonexistent/s");

	/* Bad content. */
	put_text("s", "", 0600);
	capture_start();
	CHECK_INT(read_secret_file(s, &secret), RC_CONFIG);
	capture_end();
	CHECK_ERR("the secret is empty");
	put_text("s", "\r\nx\n", 0600);
	capture_start();
	CHECK_INT(read_secret_file(s, &secret), RC_CONFIG);
	capture_end();
	CHECK_ERR("the secret is empty");
	put_text("s", "a\rb\n", 0600);
	capture_start();
	CHECK_INT(read_secret_file(s, &secret), RC_CONFIG);
	capture_end();
	CHECK_ERR("the secret contains a carriage return");
	put_file("s", "a\0b\n", 4, 0600);
	capture_start();
	CHECK_INT(read_secret_file(s, &secret), RC_CONFIG);
	capture_end();
	CHECK_ERR("the secret contains a NUL byte");
	char big[5000];
	memset(big, 'x', sizeof(big));
	put_file("s", big, sizeof(big), 0600);
	capture_start();
	CHECK_INT(read_secret_file(s, &secret), RC_CONFIG);
	capture_end();
	CHECK_ERR("longer than");

	/* check_private_fd on its own. */
	put_text("s", "pw\n", 0600);
	fd = open(s, O_RDONLY);
	CHECK_INT(check_private_fd(fd, s), RC_OK);
	fchmod(fd, 0620);
	capture_start();
	CHECK_INT(check_private_fd(fd, s), RC_CONFIG);
	capture_end();
	CHECK_ERR("has mode 0620");
	close(fd);
	free(fifo);
	free(d);
	free(s);
}

static void test_secret_sources(void)
{
	char *sf = write_text("pbx1.secret", "from-file\n", 0600);
	char *flagf = write_text("flag.secret", "from-flag\n", 0600);
	char *cfg = write_text("sec", "[default]\nuser = bob\nsecret = inline\n"
			       "secret_file = pbx1.secret\n[pbx1]\nuser = alice\n"
			       "secret_file = pbx1.secret\n[nosecret]\nuser = carol\n", 0600);
	struct overrides o;
	char *src;

	reset_env();
	overrides_init(&o);
	o.config_file = cfg;
	CHECK_INT(resolve(&o, CONFIG_SECRET_REQUIRED), RC_OK);
	CHECK_STR(P.secret, "inline");                      /* secret beats secret_file */
	src = xasprintf("%s:3 [default]", cfg);
	CHECK_STR(P.source[K_SECRET], src);
	free(src);
	o.profile = "pbx1";
	CHECK_INT(resolve(&o, CONFIG_SECRET_REQUIRED), RC_OK);
	CHECK_STR(P.secret, "from-file");
	CHECK(strstr(P.source[K_SECRET], "secret_file at") != NULL);
	setenv("AMI_SECRET", "from-env", 1);
	CHECK_INT(resolve(&o, CONFIG_SECRET_REQUIRED), RC_OK);
	CHECK_STR(P.secret, "from-env");
	CHECK_STR(P.source[K_SECRET], "env AMI_SECRET");
	o.secret_file = flagf;
	CHECK_INT(resolve(&o, CONFIG_SECRET_REQUIRED), RC_OK);
	CHECK_STR(P.secret, "from-flag");
	src = xasprintf("flag --secret-file %s", flagf);
	CHECK_STR(P.source[K_SECRET], src);
	free(src);
	o.secret_stdin = 1;
	CHECK_INT(resolve(&o, CONFIG_SECRET_REQUIRED), RC_USAGE);
	CHECK_ERR("--secret-file and --secret-stdin cannot be used together");
	o.secret_stdin = 0;
	o.secret_file = NULL;
	setenv("AMI_SECRET", "bad\nsecret", 1);
	CHECK_INT(resolve(&o, CONFIG_SECRET_REQUIRED), RC_CONFIG);
	CHECK_ERR("AMI_SECRET contains a line feed");
	reset_env();

	/* None anywhere (stdin is not a terminal here). */
	o.profile = "nosecret";
	CHECK_INT(resolve(&o, CONFIG_SECRET_REQUIRED), RC_CONFIG);
	src = xasprintf("no secret for user carol: use --secret-file, --secret-stdin, "
			"AMI_SECRET or secret_file in %s", cfg);
	CHECK_ERR(src);
	free(src);
	CHECK_INT(resolve(&o, CONFIG_SECRET_OPTIONAL), RC_OK);
	CHECK(P.secret == NULL);
	CHECK_STR(P.source[K_SECRET], "none");
	CHECK_INT(resolve(&o, CONFIG_SECRET_NONE), RC_OK);
	o.profile = "default";
	CHECK_INT(resolve(&o, CONFIG_SECRET_OPTIONAL), RC_OK);
	CHECK_STR(P.secret, "inline");
	CHECK_INT(resolve(&o, CONFIG_SECRET_NONE), RC_OK);
	CHECK(P.secret == NULL);

	/* No username: nothing to log in as. */
	overrides_init(&o);
	o.config_file = "/dev/null";
	setenv("AMI_SECRET", "x", 1);
	CHECK_INT(resolve(&o, CONFIG_SECRET_REQUIRED), RC_CONFIG);
	CHECK_ERR("no username");
	reset_env();

	/* An insecure secret_file named by the profile is refused. */
	chmod(sf, 0644);
	o.config_file = cfg;
	o.profile = "pbx1";
	CHECK_INT(resolve(&o, CONFIG_SECRET_REQUIRED), RC_CONFIG);
	CHECK_ERR("has mode 0644; it must be private: chmod 600 ");
	chmod(sf, 0600);
	free(sf);
	free(flagf);
	free(cfg);
}

static void test_config_file_privacy(void)
{
	char *cfg = write_text("cfgsec", "[default]\nuser = bob\n[other]\nsecret = pw\n", 0644);
	char *msg;

	reset_env();
	/* A secret in any section makes the whole file need 0600. */
	CHECK_INT(resolve_file(cfg, NULL, CONFIG_SECRET_NONE), RC_CONFIG);
	msg = xasprintf("config file %s has mode 0644 and holds a secret (line 4); "
			"it must be private: chmod 600 %s", cfg, cfg);
	CHECK_ERR(msg);
	free(msg);
	chmod(cfg, 0600);
	CHECK_INT(resolve_file(cfg, "other", CONFIG_SECRET_REQUIRED), RC_CONFIG); /* no user */
	CHECK_INT(resolve_file(cfg, NULL, CONFIG_SECRET_NONE), RC_OK);
	/* Without a secret, world-readable is fine. */
	put_text("cfgsec", "[default]\nuser = bob\nsecret_file = /x\n", 0644);
	CHECK_INT(resolve_file(cfg, NULL, CONFIG_SECRET_NONE), RC_OK);
	free(cfg);
}

static void test_secret_stdin(void)
{
	int fds[2], saved = dup(0);
	char rest[32] = "";
	struct overrides o;
	ssize_t n;

	reset_env();
	overrides_init(&o);
	o.config_file = "/dev/null";
	o.user = "bob";
	o.secret_stdin = 1;
	CHECK(pipe(fds) == 0);
	CHECK(write(fds[1], "s3cret\r\nrest\n", 13) == 13);
	close(fds[1]);
	dup2(fds[0], 0);
	close(fds[0]);
	CHECK_INT(resolve(&o, CONFIG_SECRET_REQUIRED), RC_OK);
	CHECK_STR(P.secret, "s3cret");
	CHECK_STR(P.source[K_SECRET], "flag --secret-stdin");
	n = read(0, rest, sizeof(rest) - 1);                /* the next line is left */
	rest[n > 0 ? n : 0] = '\0';
	CHECK_STR(rest, "rest\n");
	CHECK_INT(resolve(&o, CONFIG_SECRET_REQUIRED), RC_CONFIG);  /* EOF now */
	CHECK_ERR("standard input (--secret-stdin): the secret is empty");
	dup2(saved, 0);
	close(saved);
}

/* ---- the prompt, on a pseudo-terminal ---------------------------------------------- */

static void on_sigint(int sig) { interrupted = sig; }

/* In the child: the pty is stdin and the controlling terminal. Exit codes:
 * 0 right secret, 10 + rc otherwise, 3 echo left off. */
static void prompt_child(const char *slave, int handle_sigint)
{
	struct overrides o;
	struct termios t;
	struct profile p;
	int fd, rc;

	setsid();
	if ((fd = open(slave, O_RDWR)) < 0)
		_exit(2);
	dup2(fd, 0);
	dup2(fd, 1);
	alarm(10);
	if (handle_sigint) {
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_sigint;
		sigaction(SIGINT, &sa, NULL);
	} else {
		signal(SIGINT, SIG_DFL);
	}
	setenv("AMI_USER", "bob", 1);
	setenv("AMI_HOST", "pbx", 1);
	overrides_init(&o);
	o.config_file = "/dev/null";
	rc = config_resolve(&p, &o, CONFIG_SECRET_REQUIRED);
	if (tcgetattr(0, &t) < 0 || !(t.c_lflag & ECHO))
		_exit(3);
	if (rc == RC_OK && !strcmp(p.secret, "hunter2"))
		_exit(0);
	if (rc == RC_INTERRUPTED && interrupted == SIGINT)
		_exit(4);
	_exit(10 + rc);
}

/* Reads from the master until want shows up (or 5 s pass); appends to buf. */
static int wait_for(int m, char *buf, size_t cap, const char *want)
{
	size_t len = strlen(buf);
	struct pollfd pfd = { m, POLLIN, 0 };

	while (!strstr(buf, want) && len + 1 < cap) {
		ssize_t n;
		if (poll(&pfd, 1, 5000) <= 0)
			return -1;
		if ((n = read(m, buf + len, cap - len - 1)) <= 0)
			return -1;
		len += (size_t)n;
		buf[len] = '\0';
	}
	return 0;
}

static int run_prompt(const char *input, int handle_sigint, int *status, char *out, size_t cap)
{
	int m = posix_openpt(O_RDWR | O_NOCTTY);
	pid_t pid;

	if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0)
		return -1;
	fflush(NULL);
	if ((pid = fork()) == 0)
		prompt_child(ptsname(m), handle_sigint);
	out[0] = '\0';
	if (wait_for(m, out, cap, "Secret for bob@pbx: ") == 0)
		(void)!write(m, input, strlen(input));
	wait_for(m, out, cap, "\n\n");                      /* drain until EOF or timeout */
	waitpid(pid, status, 0);
	struct termios t;
	int echo = tcgetattr(m, &t) == 0 && (t.c_lflag & ECHO);
	close(m);
	return echo;
}

static void test_prompt(void)
{
	char out[512];
	int status = 0, echo, m = posix_openpt(O_RDWR | O_NOCTTY);

	if (m < 0) {
		fprintf(stderr, "skip: no pseudo-terminals\n");
		return;
	}
	close(m);
	echo = run_prompt("hunter2\n", 1, &status, out, sizeof(out));
	CHECK(strstr(out, "Secret for bob@pbx: ") != NULL);
	CHECK(strstr(out, "hunter2") == NULL);              /* not echoed */
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(echo == 1);
	/* Ctrl-C with the program's handler: rc 130, handler ran, echo back on. */
	echo = run_prompt("\003", 1, &status, out, sizeof(out));
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 4);
	CHECK(echo == 1);
	/* Ctrl-C with the default action: killed, yet the echo is back on. */
	echo = run_prompt("\003", 0, &status, out, sizeof(out));
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGINT);
	CHECK(echo == 1);
}

/* ---- listing --------------------------------------------------------------------- */

static void collect_name(const char *name, void *arg)
{
	char *buf = arg;
	size_t n = strlen(buf);
	snprintf(buf + n, 256 - n, "%s,", name);
}

static void test_list(void)
{
	char *cfg = write_text("list", "; c\n[default]\n[pbx1]\nhost = x\n[web]\n[pbx1]\n", 0644);
	char *bad = write_text("listbad", "[a]\nnonsense\n", 0644);
	char *missing = tpath("nothing-here");
	char names[256] = "";

	CHECK_INT(config_list_profiles(cfg, collect_name, names), RC_OK);
	CHECK_STR(names, "default,pbx1,web,");
	names[0] = '\0';
	CHECK_INT(config_list_profiles(missing, collect_name, names), RC_OK);
	CHECK_STR(names, "");
	capture_start();
	CHECK_INT(config_list_profiles(bad, collect_name, names), RC_CONFIG);
	capture_end();
	CHECK_ERR(":2: syntax error");
	free(cfg);
	free(bad);
	free(missing);
}

int main(void)
{
	int devnull = open("/dev/null", O_RDONLY);

	/* stdin must not be a terminal, or "no secret" cases would prompt. */
	dup2(devnull, 0);
	close(devnull);
	snprintf(dir, sizeof(dir), "/tmp/config_test.XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	free(make_dir("home"));
	log_prog("config_test");

	test_md5();
	test_ini();
	test_paths();
	test_defaults();
	test_profiles();
	test_missing_files();
	test_bad_files();
	test_precedence();
	test_bad_values();
	test_transports();
	test_private_checks();
	test_secret_sources();
	test_config_file_privacy();
	test_secret_stdin();
	test_prompt();
	test_list();

	profile_free(&P);
	cleanup();
	return check_summary();
}
