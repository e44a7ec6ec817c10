/* config.c - `ami config`: the resolved settings and where each came from,
 * printed from the key table (common/config.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmds.h"
#include "json.h"
#include "fleet.h"

const char cmd_config_help[] =
	"usage: ami config [--list] [options]\n"
	"\n"
	"Print the settings a command would use with these options (profile, file,\n"
	"environment and flags resolved) and where each came from; the secret is\n"
	"masked. Connects to nothing.\n"
	"\n"
	"  -l, --list              print the profile names in the config file, then its\n"
	"                          groups as \"@GROUP = PROFILE, ...\" (@all: every profile)\n";

static const struct option longopts[] = {
	COMMON_LONGOPTS,
	{ "list", no_argument, NULL, 'l' },
	{ NULL, 0, NULL, 0 },
};

/* After the options: what a profile may say (ami.conf(5) in short). */
static void print_keys(void)
{
	char text[256];

	out_puts("\nKeys of a profile in the config file, and the variables that set them:\n");
	for (int k = 0; k < K_NFILE_KEYS; k++) {
		config_key_help(k, text, sizeof text);
		out_printf("  %-14s %-14s %s\n", config_keys[k].name,
			   config_keys[k].env ? config_keys[k].env : "", text);
	}
}

static int print_profile(const struct profile *p)
{
	char val[1024];
	const char *path = p->config_path ? p->config_path : "(none)";

	if (out_get_format() == OUT_JSON) {
		cJSON *o = json_object();
		json_add_string(o, "profile", p->name);
		json_add_string(o, "config", path);
		for (int k = 0; k < K_NKEYS; k++) {
			cJSON *key = cJSON_AddObjectToObject(o, config_keys[k].name);
			config_value_text(p, k, val, sizeof val);
			json_add_string(key, "value", val);
			json_add_string(key, "source", p->source[k]);
		}
		return json_print_line(o);
	}
	out_printf("%-14s %s\n", "profile", p->name);
	out_printf("%-14s %s\n", "config", path);
	for (int k = 0; k < K_NKEYS; k++) {
		config_value_text(p, k, val, sizeof val);
		out_printf("%-14s %-32s (%s)\n", config_keys[k].name, val, p->source[k]);
	}
	return RC_OK;
}

static void print_name(const char *name, void *arg)
{
	(void)arg;
	if (name[0] != '@')
		out_printf("%s\n", name);
}

/* "@office = pbx1, pbx2": the first word is what -p takes. */
static void print_group(const char *group, const char *expansion, void *arg)
{
	(void)arg;
	out_printf("%s = %s\n", group, expansion);
}

int cmd_config(int argc, char **argv, struct ctx *ctx)
{
	int ch, rc, list = 0;

	while ((ch = getopt_long(argc, argv, COMMON_SHORTOPTS "l", longopts, NULL)) != -1) {
		if (ch == 'l')
			list = 1;
		else if ((rc = ctx_option(ctx, ch, optarg)) != RC_CONTINUE) {
			if (ch == 'h')
				print_keys();
			return rc;
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument \"%s\"", argv[optind]);
	if (list) {
		char *path = config_path(ctx->ov.config_file);
		rc = config_list_profiles(path, print_name, NULL);
		free(path);
		if (rc == RC_OK)
			rc = fleet_list_groups(ctx->ov.config_file, print_group, NULL);
		return rc;
	}
	struct profile p;
	if ((rc = config_resolve(&p, &ctx->ov, CONFIG_SECRET_OPTIONAL)) != RC_OK)
		return rc;
	rc = print_profile(&p);
	profile_free(&p);
	return rc;
}
