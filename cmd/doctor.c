/* doctor.c - `ami doctor`: why AMI does not work, or will not work for
 * what ami is asked to do, and how to fix it.
 *
 * Nine checks in order (config, route, banner, tls, http, login,
 * permissions, clock, events), each ending in PASS, WARN, FAIL or SKIP with
 * what it found and, for WARN and FAIL, the fix: the manager.conf or
 * http.conf line, the chmod, the flag. The network and TLS/HTTP checks are
 * in doctor_net.c, those made over a logged-in session in doctor_ami.c.
 * Only read-only actions are sent; every wait has a deadline.
 *
 * One profile per run (doctor_profile), so that a profile list can be
 * diagnosed one after the other once the fan-out exists. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "doctor.h"
#include "secret.h"
#include "term_safe.h"

const char cmd_doctor_help[] =
	"usage: ami doctor [--sample SECONDS] [options]\n"
	"\n"
	"Diagnose the AMI of a profile: configuration, name and route, the\n"
	"greeting and Asterisk version, TLS, HTTP, login, permissions, clock\n"
	"and event load. One line per check (PASS, WARN, FAIL or SKIP, what was\n"
	"found, the fix), then a verdict; --json: one object per check with\n"
	"Check, Status, Detail and Fix. Only read-only actions are sent.\n"
	"Exit 0 when no check failed (warnings allowed), 1 when one failed,\n"
	"2 usage, 3 when the profile cannot be resolved.\n"
	"\n"
	"      --sample SECONDS    measure the event load for SECONDS (default 5;\n"
	"                          0 skips the check)\n";

enum { OPT_SAMPLE = OPT_CMD_BASE };

static const struct option longopts[] = {
	COMMON_LONGOPTS,
	{ "sample", required_argument, NULL, OPT_SAMPLE },
	{ NULL, 0, NULL, 0 },
};

static const char *const check_names[CK_COUNT] = {
	"config", "route", "banner", "tls", "http", "login", "permissions", "clock", "events",
};
static const char *const status_words[] = { "", "SKIP", "PASS", "WARN", "FAIL" };
static const char *const status_colours[] = { "", "", "\033[32m", "\033[33m", "\033[31m" };

/* ---- recording results ------------------------------------------------------- */

static void vappend(struct strbuf *b, const char *fmt, va_list ap)
{
	char small[512];
	va_list again;
	int n;

	va_copy(again, ap);
	n = vsnprintf(small, sizeof small, fmt, ap);
	if (n < 0) {
		va_end(again);
		return;
	}
	if (b->len)
		strbuf_add(b, "; ", 2);
	if ((size_t)n < sizeof small) {
		strbuf_add(b, small, (size_t)n);
	} else {
		char *big = xmalloc((size_t)n + 1);
		vsnprintf(big, (size_t)n + 1, fmt, again);
		strbuf_add(b, big, (size_t)n);
		free(big);
	}
	va_end(again);
}

void check_note(struct doctor *d, enum check_id id, enum check_status st, const char *fmt, ...)
{
	va_list ap;

	if (d->c[id].status < st)
		d->c[id].status = st;
	va_start(ap, fmt);
	vappend(&d->c[id].detail, fmt, ap);
	va_end(ap);
}

void check_fix(struct doctor *d, enum check_id id, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vappend(&d->c[id].fix, fmt, ap);
	va_end(ap);
}

int check_failed(const struct doctor *d, enum check_id id)
{
	return d->c[id].status == ST_FAIL;
}

int64_t doctor_deadline(const struct doctor *d)
{
	return now_ms() + d->timeout_ms;
}

void divert_text(struct strbuf *lines, char *out, size_t len)
{
	size_t o = 0;

	out[0] = '\0';
	for (const char *s = lines->p ? lines->p : ""; *s && o + 1 < len;) {
		size_t n = strcspn(s, "\n");
		int w = snprintf(out + o, len - o, "%s%.*s", o ? "; " : "", (int)n, s);
		o = w > 0 && (size_t)w < len - o ? o + (size_t)w : len - 1;
		s += n + (s[n] == '\n');
	}
	lines->len = 0;
}

/* ---- printing ------------------------------------------------------------------ */

static void print_json(const struct doctor *d, enum check_id id)
{
	const struct check *c = &d->c[id];
	int show_fix = c->status == ST_WARN || c->status == ST_FAIL;

	out_printf("{\"Check\":\"%s\",\"Status\":\"%s\",\"Detail\":", check_names[id],
		   status_words[c->status]);
	out_json_string(c->detail.p ? c->detail.p : "", c->detail.len);
	out_puts(",\"Fix\":");
	out_json_string(show_fix && c->fix.p ? c->fix.p : "", show_fix ? c->fix.len : 0);
	out_puts("}\n");
}

static void print_text(const struct doctor *d, enum check_id id)
{
	const struct check *c = &d->c[id];
	int bad = c->status == ST_WARN || c->status == ST_FAIL;

	if (verbosity < 0 && !bad)
		return;
	if (d->colour && *status_colours[c->status])
		out_printf("%s%s\033[0m", status_colours[c->status], status_words[c->status]);
	else
		out_puts(status_words[c->status]);
	out_printf("  %-11s ", check_names[id]);
	term_safe_out(c->detail.p ? c->detail.p : "", c->detail.len);
	if (bad && c->fix.len) {
		out_puts(" -- fix: ");
		term_safe_out(c->fix.p, c->fix.len);
	}
	out_puts("\n");
}

/* Prints the checks that are complete and follow the last one printed. */
static void doctor_flush(struct doctor *d)
{
	while (d->printed < CK_COUNT && d->c[d->printed].done) {
		if (d->json)
			print_json(d, d->printed);
		else
			print_text(d, d->printed);
		d->printed++;
	}
	out_flush();
}

void check_done(struct doctor *d, enum check_id id)
{
	if (d->c[id].done)
		return;
	if (d->c[id].status == ST_PENDING)
		d->c[id].status = ST_PASS;
	d->c[id].done = 1;
	doctor_flush(d);
}

void check_skip_rest(struct doctor *d, enum check_id from, const char *why)
{
	for (int id = from; id < CK_COUNT; id++) {
		if (d->c[id].done)
			continue;
		if (d->c[id].status == ST_PENDING)
			check_note(d, id, ST_SKIP, "%s", why);
		check_done(d, id);
	}
}

/* "FAIL: route, login failed; events warned; 5 passed, 1 skipped in 3.1 s" */
static void print_verdict(const struct doctor *d)
{
	int count[ST_FAIL + 1] = { 0 };
	struct strbuf failed = { 0 }, warned = { 0 };
	enum check_status worst = ST_PASS;

	for (int id = 0; id < CK_COUNT; id++) {
		enum check_status st = d->c[id].status;
		struct strbuf *b = st == ST_FAIL ? &failed : st == ST_WARN ? &warned : NULL;
		count[st]++;
		if (st > worst)
			worst = st;
		if (b) {
			if (b->len)
				strbuf_add(b, ", ", 2);
			strbuf_adds(b, check_names[id]);
		}
	}
	if (d->json || (verbosity < 0 && worst == ST_PASS))
		goto done;
	if (d->colour)
		out_printf("%s%s\033[0m:", status_colours[worst], status_words[worst]);
	else
		out_printf("%s:", status_words[worst]);
	if (failed.len)
		out_printf(" %s failed;", failed.p);
	if (warned.len)
		out_printf(" %s warned;", warned.p);
	out_printf(" %d passed, %d skipped in %.1f s\n", count[ST_PASS], count[ST_SKIP],
		   (now_ms() - d->start) / 1000.0);
done:
	strbuf_free(&failed);
	strbuf_free(&warned);
}

/* ---- check 1: the configuration ------------------------------------------------ */

/* The fix for what config_resolve refused (its message is the detail). */
static void config_fix(struct doctor *d, const char *said, const struct ctx *ctx)
{
	const char *chmod = strstr(said, "chmod 600 ");
	char *path = config_path(ctx->ov.config_file);

	if (chmod)
		check_fix(d, CK_CONFIG, "%.*s", (int)strcspn(chmod, ";"), chmod);
	else if (strstr(said, "not by you"))
		check_fix(d, CK_CONFIG, "the file must be yours (chown it, or copy it and "
			  "chmod 600 the copy)");
	else if (strstr(said, "not found"))
		check_fix(d, CK_CONFIG, "add a [%s] section to %s, or pick one that exists "
			  "(ami config --list)", ctx->ov.profile ? ctx->ov.profile :
			  getenv("AMI_PROFILE") ? getenv("AMI_PROFILE") : "default", path);
	else if (strstr(said, "cannot read config"))
		check_fix(d, CK_CONFIG, "give a readable file with --config or AMI_CONFIG, or "
			  "create %s", path);
	else if (strstr(said, "secret"))
		check_fix(d, CK_CONFIG, "a private file with the secret on its first line: "
			  "secret_file = PATH in the profile (chmod 600 PATH)");
	else
		check_fix(d, CK_CONFIG, "correct the value named (ami config --help lists the "
			  "keys; see ami.conf(5))");
	free(path);
}

/* "host pbx1 (FILE:3 [pbx1])" for the keys that matter to this transport. */
static void config_sources(struct doctor *d)
{
	static const int always[] = { K_HOST, K_PORT, K_USERNAME, K_AUTH, K_TRANSPORT, K_TIMEOUT };
	const struct profile *p = &d->p;
	char val[300];

	check_note(d, CK_CONFIG, ST_PASS, "profile \"%s\" (%s%s)", p->name,
		   p->config_path ? "from " : "no config file",
		   p->config_path ? p->config_path : "");
	for (size_t i = 0; i < ARRAY_LEN(always); i++) {
		int k = always[i];
		config_value_text(p, k, val, sizeof val);
		check_note(d, CK_CONFIG, ST_PASS, "%s %s%s (%s)", config_keys[k].name,
			   *val ? val : "(none)", k == K_TIMEOUT ? " s" : "", p->source[k]);
	}
	for (int k = K_URL; k <= K_HTTP_ENCODING; k++) {
		int http = k == K_URL || k == K_HTTP_AUTH || k == K_HTTP_ENCODING;
		if (http ? p->transport < TR_HTTP : p->transport == TR_TCP || p->transport == TR_HTTP)
			continue;
		if (k == K_CACERT && !p->cacert)
			continue;
		config_value_text(p, k, val, sizeof val);
		check_note(d, CK_CONFIG, ST_PASS, "%s %s (%s)", config_keys[k].name, val,
			   p->source[k]);
	}
}

static void config_secret(struct doctor *d)
{
	struct profile *p = &d->p;
	const char *src = p->source[K_SECRET];

	if (!p->username) {
		check_note(d, CK_CONFIG, ST_FAIL, "no username");
		check_fix(d, CK_CONFIG, "username = NAME in [%s]%s%s, or --user / AMI_USER",
			  p->name, p->config_path ? " of " : "",
			  p->config_path ? p->config_path : "");
		return;
	}
	if (!p->secret && isatty(0) && secret_prompt(p->username, p->host, &p->secret) == RC_OK) {
		free(p->source[K_SECRET]);
		src = p->source[K_SECRET] = xstrdup("prompt on /dev/tty");
	}
	if (!p->secret) {
		check_note(d, CK_CONFIG, ST_FAIL, "no secret for user %s", p->username);
		check_fix(d, CK_CONFIG, "secret_file = PATH in [%s] (a private file: chmod 600 "
			  "PATH), or --secret-file, --secret-stdin or AMI_SECRET", p->name);
		return;
	}
	/* A secret read from a file was checked: the file is private. */
	check_note(d, CK_CONFIG, ST_PASS, "secret from %s%s", src, strncmp(src, "env", 3) &&
		   strncmp(src, "prompt", 6) && strcmp(src, "flag --secret-stdin") ? " (private)" : "");
}

/* RC_OK to go on; RC_CONFIG when the profile cannot be resolved. */
static int check_config(struct doctor *d, const struct ctx *ctx)
{
	struct strbuf said = { 0 };
	char text[1024];
	int rc;

	log_divert(&said);
	rc = config_resolve(&d->p, &ctx->ov, CONFIG_SECRET_OPTIONAL);
	log_divert(NULL);
	if (rc != RC_OK) {
		divert_text(&said, text, sizeof text);
		strbuf_free(&said);
		if (rc != RC_CONFIG)    /* a usage error was printed; Ctrl-C */
			return rc;
		check_note(d, CK_CONFIG, ST_FAIL, "%s", *text ? text : "the profile cannot be "
			   "resolved");
		config_fix(d, text, ctx);
		return rc;
	}
	strbuf_free(&said);
	d->resolved = 1;
	config_sources(d);
	config_secret(d);
	return RC_OK;
}

/* ---- the run ------------------------------------------------------------------- */

/* The TLS or HTTP check of another transport. */
static void not_used(struct doctor *d, enum check_id id)
{
	check_note(d, id, ST_SKIP, "not used (transport %s)", transport_words[d->p.transport]);
	check_done(d, id);
}

/* Ends the run before check `from` when cond (a failure that makes the
 * rest meaningless) or a signal says so: what is pending before it is
 * completed as it stands, the rest skipped with why. */
static int stop_before(struct doctor *d, enum check_id from, int cond, const char *why)
{
	if (!cond && !interrupted)
		return 0;
	for (int id = 0; id < (int)from; id++)
		check_done(d, id);
	check_skip_rest(d, from, interrupted ? "interrupted" : why);
	return 1;
}

/* The checks made over the network, in order; each skips what its failure
 * makes meaningless. */
static void run_checks(struct doctor *d)
{
	int tls = d->p.transport == TR_TLS || d->p.transport == TR_HTTPS;
	int http = d->p.transport >= TR_HTTP;

	check_route(d);
	if (stop_before(d, CK_BANNER, check_failed(d, CK_ROUTE), "no connection (see route)"))
		return;
	if (tls)
		check_tls(d);
	else
		not_used(d, CK_TLS);
	check_banner_greeting(d);
	if (stop_before(d, CK_HTTP, check_failed(d, CK_BANNER) || check_failed(d, CK_TLS),
			"no AMI server to talk to (see above)"))
		return;
	if (http)
		check_http(d);
	else
		not_used(d, CK_HTTP);
	if (stop_before(d, CK_LOGIN, check_failed(d, CK_HTTP),
			"AMI over HTTP does not answer (see http)") ||
	    stop_before(d, CK_LOGIN, check_failed(d, CK_CONFIG), "no credentials (see config)"))
		return;
	check_login(d);
	check_version(d);
	if (stop_before(d, CK_PERMS, !d->a, "not logged in (see login)") ||
	    stop_before(d, CK_PERMS, d->stalled, "the server stopped answering (see banner)"))
		return;
	check_perms(d);
	if (stop_before(d, CK_CLOCK, d->stalled, "the server stopped answering (see permissions)"))
		return;
	check_clock(d);
	if (stop_before(d, CK_EVENTS, d->stalled, "the server stopped answering (see clock)") ||
	    stop_before(d, CK_EVENTS, d->sample_ms == 0, "--sample 0"))
		return;
	check_events(d);
}

static void doctor_free(struct doctor *d)
{
	if (d->a)
		ami_close(d->a);
	doctor_net_free(d);
	free(d->banner);
	for (int id = 0; id < CK_COUNT; id++) {
		strbuf_free(&d->c[id].detail);
		strbuf_free(&d->c[id].fix);
	}
	if (d->resolved)
		profile_free(&d->p);
}

/* Diagnoses the profile ov names; the exit status of the whole. */
static int doctor_profile(const struct ctx *ctx, int sample_ms)
{
	struct doctor d;
	const char *no_colour = getenv("NO_COLOR");
	int rc;

	memset(&d, 0, sizeof d);
	d.fd = -1;
	d.start = now_ms();
	d.sample_ms = sample_ms;
	d.json = ctx->fmt == OUT_JSON;
	d.colour = !d.json && isatty(1) && !(no_colour && *no_colour);
	d.multiple_login = -1;
	rc = check_config(&d, ctx);
	if (rc != RC_OK && rc != RC_CONFIG) {
		doctor_free(&d);
		return rc;
	}
	check_done(&d, CK_CONFIG);
	if (rc == RC_CONFIG) {
		check_skip_rest(&d, CK_ROUTE, "the profile cannot be resolved (see config)");
	} else {
		d.timeout_ms = d.p.timeout_ms > 0 ? d.p.timeout_ms : 10000;
		run_checks(&d);
	}
	print_verdict(&d);
	if (rc == RC_OK)
		for (int id = 0; id < CK_COUNT; id++)
			if (d.c[id].status == ST_FAIL)
				rc = RC_ACTION;
	doctor_free(&d);
	return interrupted ? RC_INTERRUPTED : rc;
}

int cmd_doctor(int argc, char **argv, struct ctx *ctx)
{
	int ch, rc, sample_ms = 5000;

	while ((ch = getopt_long(argc, argv, COMMON_SHORTOPTS, longopts, NULL)) != -1) {
		if (ch == OPT_SAMPLE) {
			if (parse_seconds(optarg, &sample_ms) != 0)
				return usage_error("--sample: not a number of seconds: %s", optarg);
		} else if ((rc = ctx_option(ctx, ch, optarg)) != RC_CONTINUE) {
			return rc;
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument \"%s\"", argv[optind]);
	if (ctx->fmt == OUT_RAW)
		return usage_error("--format raw: doctor prints text or json");
	return doctor_profile(ctx, sample_ms);
}
