/* config_test.c - unit tests for common/config.c: the key table, paths,
 * profiles, precedence, values, transports, where the secret comes from.
 * Ends with "N passed, N failed"; exits 1 when anything failed.
 * Works in a private temp dir with HOME and the AMI_* variables reset. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "fixture.h"
#include "config.h"
#include "util.h"

static struct profile P;            /* the last resolved profile */

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
	for (int k = 0; k < K_NFILE_KEYS; k++)
		CHECK(o.key[k] == NULL);
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
	CHECK_STR(config_keys[K_HTTP_ENCODING].name, "http_encoding");
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
	o.key[K_HOST] = "flaghost";
	o.key[K_PORT] = "3333";
	o.key[K_USERNAME] = "flaguser";
	o.key[K_TIMEOUT] = "2.5";
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

	o.key[K_HOST] = o.key[K_PORT] = o.key[K_USERNAME] = NULL;
	o.key[K_TIMEOUT] = NULL;
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
	o.key[K_AUTH] = "md5";
	o.key[K_INSECURE] = "yes";
	o.key[K_CACERT] = "/ca.pem";
	o.key[K_HTTP_AUTH] = "digest";
	o.key[K_HTTP_ENCODING] = "mxml";
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
	o.key[K_PORT] = "x";
	CHECK_INT(resolve(&o, CONFIG_SECRET_NONE), RC_USAGE);
	CHECK_ERR("--port: not a port number: x");
	o.key[K_PORT] = "65536";
	CHECK_INT(resolve(&o, CONFIG_SECRET_NONE), RC_USAGE);
	o.key[K_PORT] = "65535";
	CHECK_INT(resolve(&o, CONFIG_SECRET_NONE), RC_OK);
	o.key[K_PORT] = NULL;
	o.key[K_AUTH] = "sha";
	CHECK_INT(resolve(&o, CONFIG_SECRET_NONE), RC_USAGE);
	CHECK_ERR("--auth: not plain or md5: sha");
	o.key[K_AUTH] = NULL;
	o.key[K_USERNAME] = "bob\r\nAction: Originate";
	CHECK_INT(resolve(&o, CONFIG_SECRET_NONE), RC_USAGE);
	CHECK_ERR("--user: contains a control character");
	CHECK(strstr(errbuf, "Originate") == NULL);
	o.key[K_USERNAME] = NULL;
	o.key[K_HOST] = "";
	CHECK_INT(resolve(&o, CONFIG_SECRET_NONE), RC_USAGE);
	CHECK_ERR("--host: empty value");
	o.key[K_HOST] = NULL;

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
	o.key[K_TRANSPORT] = "tls";                         /* --tls */
	CHECK_INT(resolve(&o, CONFIG_SECRET_NONE), RC_OK);
	CHECK_INT(P.transport, TR_TLS);
	CHECK_INT(P.port, 5039);
	CHECK_STR(P.source[K_TRANSPORT], "flag --tls");
	CHECK(P.url == NULL);
	o.key[K_TRANSPORT] = NULL;
	o.key[K_HOST] = "pbx";
	setenv("AMI_TRANSPORT", "http", 1);
	CHECK_INT(resolve(&o, CONFIG_SECRET_NONE), RC_OK);
	CHECK_INT(P.port, 8088);
	CHECK_STR(P.url, "http://pbx:8088/");
	CHECK_STR(P.source[K_URL], "default");
	setenv("AMI_TRANSPORT", "HTTPS", 1);
	CHECK_INT(resolve(&o, CONFIG_SECRET_NONE), RC_OK);
	CHECK_STR(P.url, "https://pbx:8089/");
	reset_env();

	/* --url sets transport, host and port. */
	overrides_init(&o);
	o.config_file = "/dev/null";
	o.key[K_URL] = "https://pbx.example/asterisk/";
	CHECK_INT(resolve(&o, CONFIG_SECRET_NONE), RC_OK);
	CHECK_INT(P.transport, TR_HTTPS);
	CHECK_STR(P.host, "pbx.example");
	CHECK_INT(P.port, 443);
	CHECK_STR(P.url, "https://pbx.example/asterisk/");
	CHECK_STR(P.source[K_URL], "flag --url");
	CHECK_STR(P.source[K_HOST], "flag --url");
	CHECK_STR(P.source[K_TRANSPORT], "flag --url");
	o.key[K_URL] = "http://[::1]:8088/";
	CHECK_INT(resolve(&o, CONFIG_SECRET_NONE), RC_OK);
	CHECK_STR(P.host, "::1");
	CHECK_INT(P.port, 8088);
	o.key[K_PORT] = "9000";                                   /* a higher source rewrites */
	CHECK_INT(resolve(&o, CONFIG_SECRET_NONE), RC_OK);
	CHECK_STR(P.url, "http://[::1]:9000/");
	o.key[K_PORT] = NULL;
	o.key[K_URL] = "http://admin:pw@pbx/";
	CHECK_INT(resolve(&o, CONFIG_SECRET_NONE), RC_USAGE);
	CHECK_ERR("--url: credentials do not belong in a URL");
	CHECK(strstr(errbuf, "pw@") == NULL);
	o.key[K_URL] = "ftp://pbx/";
	CHECK_INT(resolve(&o, CONFIG_SECRET_NONE), RC_USAGE);
	CHECK_ERR("--url: not an http:// or https:// URL");
	o.key[K_URL] = "http://pbx:99999/";
	CHECK_INT(resolve(&o, CONFIG_SECRET_NONE), RC_USAGE);
	o.key[K_URL] = "http://pbx/";
	setenv("AMI_TRANSPORT", "tcp", 1);                  /* the flag's URL says http */
	CHECK_INT(resolve(&o, CONFIG_SECRET_NONE), RC_OK);
	CHECK_INT(P.transport, TR_HTTP);
	CHECK_STR(P.source[K_TRANSPORT], "flag --url");
	reset_env();
	o.key[K_TRANSPORT] = "tls";                         /* --tls --url */
	CHECK_INT(resolve(&o, CONFIG_SECRET_NONE), RC_USAGE);
	CHECK_ERR("--tls conflicts with --url");

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
	o.key[K_SECRET_FILE] = flagf;
	CHECK_INT(resolve(&o, CONFIG_SECRET_REQUIRED), RC_OK);
	CHECK_STR(P.secret, "from-flag");
	src = xasprintf("flag --secret-file %s", flagf);
	CHECK_STR(P.source[K_SECRET], src);
	free(src);
	o.secret_stdin = 1;
	CHECK_INT(resolve(&o, CONFIG_SECRET_REQUIRED), RC_USAGE);
	CHECK_ERR("--secret-file and --secret-stdin cannot be used together");
	o.secret_stdin = 0;
	o.key[K_SECRET_FILE] = NULL;
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

/* --secret-stdin is read only when a secret is looked for, and once (the
 * line itself: secret_test.c). */
static void test_secret_stdin(void)
{
	int fds[2], saved = dup(0);
	struct overrides o;

	reset_env();
	overrides_init(&o);
	o.config_file = "/dev/null";
	o.key[K_USERNAME] = "bob";
	o.secret_stdin = 1;
	CHECK(pipe(fds) == 0);
	CHECK(write(fds[1], "s3cret\n", 7) == 7);
	close(fds[1]);
	dup2(fds[0], 0);
	close(fds[0]);
	CHECK_INT(resolve(&o, CONFIG_SECRET_NONE), RC_OK);
	CHECK_STR(P.source[K_SECRET], "flag --secret-stdin");
	CHECK(P.secret == NULL);
	CHECK_INT(resolve(&o, CONFIG_SECRET_REQUIRED), RC_OK);
	CHECK_STR(P.secret, "s3cret");
	CHECK_INT(resolve(&o, CONFIG_SECRET_REQUIRED), RC_CONFIG);  /* read once: EOF now */
	dup2(saved, 0);
	close(saved);
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
	fixture_init("config_test");
	test_paths();
	test_defaults();
	test_profiles();
	test_missing_files();
	test_bad_files();
	test_precedence();
	test_bad_values();
	test_transports();
	test_secret_sources();
	test_config_file_privacy();
	test_secret_stdin();
	test_list();

	profile_free(&P);
	cleanup();
	return check_summary();
}
