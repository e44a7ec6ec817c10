/* config.h - connection profiles: the table of their keys, and their
 * resolution from flags, environment, the config file and defaults.
 * Precedence per key: flags > environment > profile > defaults, resolved in
 * one place (config_resolve) which remembers where each value came from. */
#ifndef AMI_CONFIG_H
#define AMI_CONFIG_H

#include <stddef.h>

enum transport_kind { TR_TCP, TR_TLS, TR_HTTP, TR_HTTPS };
enum auth_kind { AUTH_PLAIN, AUTH_MD5 };
enum http_auth_kind { HTTP_AUTH_COOKIE, HTTP_AUTH_DIGEST };
enum http_encoding_kind { HTTP_ENC_RAWMAN, HTTP_ENC_MXML };

/* The words of those enums, in enum order, NULL-terminated: words[v] is
 * how v is written, and word_index() (util.h) reads it back. */
extern const char *const transport_words[], *const auth_words[],
	*const http_auth_words[], *const http_encoding_words[];

#define DEFAULT_SPOOL "/var/spool/asterisk/outgoing"

/* Keys of a profile, in the order `ami config` prints them. The keys past
 * K_NKEYS are in the file only and feed another key: secret_file says
 * where the secret is. */
enum profile_key {
	K_HOST, K_PORT, K_USERNAME, K_SECRET, K_AUTH, K_TIMEOUT, K_TRANSPORT, K_URL,
	K_CACERT, K_INSECURE, K_HTTP_AUTH, K_HTTP_ENCODING, K_SPOOL_DIR, K_NKEYS,
	K_SECRET_FILE = K_NKEYS, K_NFILE_KEYS
};

/* What a key's value is; it decides how the value is read, kept, shown
 * and whether a bad one may be repeated in a message. KT_TEXT to KT_URL
 * are kept as char *, the others as unsigned (port) or int. */
enum key_type {
	KT_TEXT,
	KT_PATH,                    /* in the file, "~/" is $HOME and relative is the file's dir */
	KT_SECRET,                  /* never repeated, never printed */
	KT_URL,                     /* http[s]://host[:port][/path]; never repeated (credentials) */
	KT_PORT,                    /* 1 to 65535 */
	KT_SECONDS,                 /* decimals allowed; kept in milliseconds */
	KT_WORD,                    /* one of words[], ASCII case ignored; kept as its index */
	KT_BOOL,                    /* yes/no, true/false, 1/0 */
};

/* The one table of keys: the file, the flags, the environment, the
 * defaults and `ami config` all read it. */
struct config_key {
	const char *name;           /* in the file and in `ami config` */
	const char *alias;          /* another name for it in the file, or NULL */
	enum key_type type;
	const char *const *words;   /* KT_WORD: the values, in enum order */
	const char *flag;           /* the option that sets it, or NULL */
	const char *env;            /* the environment variable that sets it, or NULL */
	const char *dflt;           /* the default as text; NULL: none, or port's rule */
	const char *help;           /* one line for `ami config --help` */
	size_t field;               /* offsetof its value in struct profile; 0: not kept */
};
extern const struct config_key config_keys[K_NFILE_KEYS];

/* name comes first, so no key's field is at offset 0 (config_key.field). */
struct profile {
	char *name;                 /* profile name ("default" when none given) */
	char *config_path;          /* file read, or NULL when there was none */
	char *host;
	unsigned port;
	char *username;
	char *secret;               /* never printed; freed with secret_free() */
	int auth;                   /* enum auth_kind */
	int timeout_ms;
	int transport;              /* enum transport_kind */
	char *url;                  /* HTTP base URL, e.g. http://pbx:8088/asterisk/ */
	char *cacert;
	int insecure;               /* skip TLS verification */
	int http_auth;              /* enum http_auth_kind */
	int http_encoding;          /* enum http_encoding_kind */
	char *spool_dir;
	char *source[K_NKEYS];      /* "flag --host", "env AMI_HOST", "FILE:LINE [NAME]", "default" */
};

/* What key k is, for `ami config --help`: its help, words and default. */
void config_key_help(int k, char *buf, size_t len);
/* key k's value in p as `ami config` shows it (the secret masked). */
void config_value_text(const struct profile *p, int k, char *buf, size_t len);

/* What the command line said. */
struct overrides {
	const char *config_file, *profile;
	const char *key[K_NFILE_KEYS];  /* from config_keys[k].flag; NULL: not given */
	int secret_stdin;
	int timeout_ms;             /* -t as parsed, for the commands' own waits; -1 = not given */
};
void overrides_init(struct overrides *o);

/* Values of need_secret for config_resolve. */
enum { CONFIG_SECRET_NONE = 0, CONFIG_SECRET_REQUIRED = 1, CONFIG_SECRET_OPTIONAL = 2 };

/* Resolves every key. need_secret: CONFIG_SECRET_REQUIRED also finds the
 * secret (files are checked for privacy; a prompt on /dev/tty is the last
 * resort when interactive); CONFIG_SECRET_OPTIONAL looks for one without
 * prompting and without failing when there is none.
 * Returns RC_OK, RC_CONFIG, RC_USAGE or RC_INTERRUPTED; the message is
 * already printed. */
int config_resolve(struct profile *out, const struct overrides *o, int need_secret);
void profile_free(struct profile *p);

/* The config file to read: explicit, $AMI_CONFIG, $XDG_CONFIG_HOME/ami/config,
 * ~/.config/ami/config. Returns a malloc'd path (which may not exist). */
char *config_path(const char *explicit_file);
/* Calls each(name) for every [section] of the file; RC_OK or RC_CONFIG. */
int config_list_profiles(const char *path, void (*each)(const char *name, void *arg), void *arg);

#endif
