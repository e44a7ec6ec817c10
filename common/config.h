/* config.h - connection profiles: INI file, environment, flags, secrets.
 * Precedence per key: flags > environment > profile > defaults, resolved in
 * one place (config_resolve) which remembers where each value came from. */
#ifndef AMI_CONFIG_H
#define AMI_CONFIG_H

#include <stdio.h>

enum transport_kind { TR_TCP, TR_TLS, TR_HTTP, TR_HTTPS };
enum auth_kind { AUTH_PLAIN, AUTH_MD5 };
enum http_auth_kind { HTTP_AUTH_COOKIE, HTTP_AUTH_DIGEST };
enum http_encoding_kind { HTTP_ENC_RAWMAN, HTTP_ENC_MXML };

/* Keys of a profile, in the order `ami config` prints them. */
enum profile_key {
	K_HOST, K_PORT, K_USERNAME, K_SECRET, K_AUTH, K_TIMEOUT, K_TRANSPORT, K_URL,
	K_CACERT, K_INSECURE, K_HTTP_AUTH, K_HTTP_ENCODING, K_SPOOL_DIR, K_NKEYS
};
extern const char *const profile_key_names[K_NKEYS];

struct profile {
	char *name;                 /* profile name ("default" when none given) */
	char *config_path;          /* file read, or NULL when there was none */
	char *host;
	unsigned port;
	char *username;
	char *secret;               /* never printed; freed with secret_free() */
	enum auth_kind auth;
	int timeout_ms;
	enum transport_kind transport;
	char *url;                  /* HTTP base URL, e.g. http://pbx:8088/asterisk/ */
	char *cacert;
	int insecure;               /* skip TLS verification */
	enum http_auth_kind http_auth;
	enum http_encoding_kind http_encoding;
	char *spool_dir;
	char *source[K_NKEYS];      /* "flag --host", "env AMI_HOST", "FILE:LINE", "default" */
};

/* What the command line said; NULL (or -1 for numbers) means "not given". */
struct overrides {
	const char *config_file, *profile, *host, *port, *user, *secret_file, *auth;
	const char *transport, *url, *cacert, *http_auth, *http_encoding;
	int secret_stdin;
	int timeout_ms;             /* -1 = not given */
	int insecure;               /* -1 = not given */
	int tls;                    /* --tls given */
};
void overrides_init(struct overrides *o);

/* Values of need_secret for config_resolve. */
enum { CONFIG_SECRET_NONE = 0, CONFIG_SECRET_REQUIRED = 1, CONFIG_SECRET_OPTIONAL = 2 };

/* Resolves every key. need_secret: CONFIG_SECRET_REQUIRED also finds the
 * secret (files are checked for privacy; a prompt on /dev/tty is the last
 * resort when interactive); CONFIG_SECRET_OPTIONAL looks for one without
 * prompting and without failing when there is none.
 * Returns RC_OK, RC_CONFIG or RC_USAGE; the message is already printed. */
int config_resolve(struct profile *out, const struct overrides *o, int need_secret);
void profile_free(struct profile *p);

/* The config file to read: explicit, $AMI_CONFIG, $XDG_CONFIG_HOME/ami/config,
 * ~/.config/ami/config. Returns a malloc'd path (which may not exist). */
char *config_path(const char *explicit_file);
/* Calls each(name) for every [section] of the file; RC_OK or RC_CONFIG. */
int config_list_profiles(const char *path, void (*each)(const char *name, void *arg), void *arg);

/* Minimal INI reader: "[section]", "key = value", ';' and '#' comments.
 * kv returns 0 to go on. Returns 0, or the number of the first bad line. */
int ini_parse_file(FILE *fp, int (*kv)(void *arg, const char *section, const char *key,
		   const char *value, int lineno), void *arg);

/* Refuses (RC_CONFIG, message printed) a secret file that is not a regular
 * file owned by us with no group/other permissions. */
int check_private_fd(int fd, const char *path);
/* Reads the first line of a private file into a malloc'd secret. */
int read_secret_file(const char *path, char **secret);

#endif
