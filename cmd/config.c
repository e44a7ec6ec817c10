/* config.c - `ami config`: the resolved settings and where each came from. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmds.h"

const char cmd_config_help[] =
	"usage: ami config [--list] [options]\n"
	"\n"
	"Print the settings a command would use with these options (profile, file,\n"
	"environment and flags resolved) and where each came from; the secret is\n"
	"masked. Connects to nothing.\n"
	"\n"
	"  -l, --list              print the profile names in the config file\n";

static const struct option longopts[] = {
	COMMON_LONGOPTS,
	{ "list", no_argument, NULL, 'l' },
	{ NULL, 0, NULL, 0 },
};

static const char *const transport_names[] = { "tcp", "tls", "http", "https" };

/* The value of key k as text; the secret is never shown. */
static void value_text(const struct profile *p, enum profile_key k, char *buf, size_t len)
{
	switch (k) {
	case K_HOST: snprintf(buf, len, "%s", p->host ? p->host : ""); break;
	case K_PORT: snprintf(buf, len, "%u", p->port); break;
	case K_USERNAME: snprintf(buf, len, "%s", p->username ? p->username : ""); break;
	case K_SECRET: snprintf(buf, len, "%s", p->secret ? "********" : "(none)"); break;
	case K_AUTH: snprintf(buf, len, "%s", p->auth == AUTH_MD5 ? "md5" : "plain"); break;
	case K_TIMEOUT: snprintf(buf, len, "%g", p->timeout_ms / 1000.0); break;
	case K_TRANSPORT: snprintf(buf, len, "%s", transport_names[p->transport]); break;
	case K_URL: snprintf(buf, len, "%s", p->url ? p->url : ""); break;
	case K_CACERT: snprintf(buf, len, "%s", p->cacert ? p->cacert : ""); break;
	case K_INSECURE: snprintf(buf, len, "%s", p->insecure ? "yes" : "no"); break;
	case K_HTTP_AUTH:
		snprintf(buf, len, "%s", p->http_auth == HTTP_AUTH_DIGEST ? "digest" : "cookie");
		break;
	case K_HTTP_ENCODING:
		snprintf(buf, len, "%s", p->http_encoding == HTTP_ENC_MXML ? "mxml" : "rawman");
		break;
	case K_SPOOL_DIR: snprintf(buf, len, "%s", p->spool_dir ? p->spool_dir : ""); break;
	default: buf[0] = '\0';
	}
}

static int print_profile(const struct profile *p)
{
	char val[1024];
	const char *path = p->config_path ? p->config_path : "(none)";

	if (out_get_format() == OUT_JSON) {
		out_puts("{\"profile\":");
		out_json_string(p->name, strlen(p->name));
		out_puts(",\"config\":");
		out_json_string(path, strlen(path));
		for (int k = 0; k < K_NKEYS; k++) {
			const char *src = p->source[k] ? p->source[k] : "default";
			value_text(p, k, val, sizeof val);
			out_printf(",\"%s\":{\"value\":", profile_key_names[k]);
			out_json_string(val, strlen(val));
			out_puts(",\"source\":");
			out_json_string(src, strlen(src));
			out_puts("}");
		}
		return out_puts("}\n");
	}
	out_printf("%-14s %s\n", "profile", p->name);
	out_printf("%-14s %s\n", "config", path);
	for (int k = 0; k < K_NKEYS; k++) {
		value_text(p, k, val, sizeof val);
		out_printf("%-14s %-32s (%s)\n", profile_key_names[k], val,
			   p->source[k] ? p->source[k] : "default");
	}
	return RC_OK;
}

static void print_name(const char *name, void *arg)
{
	(void)arg;
	out_printf("%s\n", name);
}

int cmd_config(int argc, char **argv, struct ctx *ctx)
{
	int ch, rc, list = 0;

	while ((ch = getopt_long(argc, argv, COMMON_SHORTOPTS "l", longopts, NULL)) != -1) {
		if (ch == 'l')
			list = 1;
		else if ((rc = ctx_option(ctx, ch, optarg)) != CTX_CONTINUE)
			return rc;
	}
	if (optind < argc)
		return usage_error("unexpected argument \"%s\"", argv[optind]);
	if (list) {
		char *path = config_path(ctx->ov.config_file);
		rc = config_list_profiles(path, print_name, NULL);
		free(path);
		return rc;
	}
	struct profile p;
	if ((rc = config_resolve(&p, &ctx->ov, CONFIG_SECRET_OPTIONAL)) != RC_OK)
		return rc;
	rc = print_profile(&p);
	profile_free(&p);
	return rc;
}
