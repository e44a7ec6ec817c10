/* doctor_ami.c - the checks of `ami doctor` made over a logged-in session:
 * login (plain and MD5), the Asterisk version, permissions, clock and
 * event load.
 *
 * Only read-only actions go out: Login, Challenge, CoreSettings, Ping,
 * ListCommands, Command with "manager show ..." only, Events, Logoff.
 * Permissions come from ListCommands, which lists only the actions the
 * user may run (each with its classes); with the command class, Asterisk's
 * own "manager show user" and "manager show settings" tell the rest. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "doctor.h"
#include "filter.h"

/* ---- permission classes ------------------------------------------------------------ */

static const struct { const char *name; unsigned bit; } classes[] = {
	{ "system", PERM_SYSTEM }, { "call", PERM_CALL }, { "log", PERM_LOG },
	{ "verbose", PERM_VERBOSE }, { "command", PERM_COMMAND }, { "agent", PERM_AGENT },
	{ "user", PERM_USER }, { "config", PERM_CONFIG }, { "dtmf", PERM_DTMF },
	{ "reporting", PERM_REPORTING }, { "cdr", PERM_CDR }, { "dialplan", PERM_DIALPLAN },
	{ "originate", PERM_ORIGINATE }, { "agi", PERM_AGI }, { "cc", PERM_CC },
	{ "aoc", PERM_AOC }, { "test", PERM_TEST }, { "security", PERM_SECURITY },
	{ "message", PERM_MESSAGE },
};

/* "system,call" -> bits; "all" is every class when all_counts (a user's
 * classes), nothing otherwise (ListCommands adds it to every action's). */
static unsigned classes_of(const char *list, int all_counts)
{
	unsigned mask = 0;

	for (const char *s = list; *s;) {
		size_t n = strcspn(s, ",");
		while (n && s[n - 1] == ' ')
			n--;
		if (n == 3 && !strncasecmp(s, "all", 3) && all_counts)
			mask = PERM_ALL;
		for (size_t i = 0; i < ARRAY_LEN(classes); i++)
			if (strlen(classes[i].name) == n && !strncasecmp(s, classes[i].name, n))
				mask |= classes[i].bit;
		s += strcspn(s, ",");
		s += strspn(s, ", ");
	}
	return mask;
}

void perm_text(unsigned mask, struct strbuf *b)
{
	b->len = 0;
	strbuf_adds(b, "");
	for (size_t i = 0; i < ARRAY_LEN(classes); i++) {
		if (!(mask & classes[i].bit))
			continue;
		if (b->len)
			strbuf_add(b, ",", 1);
		strbuf_adds(b, classes[i].name);
	}
	if (!b->len)
		strbuf_adds(b, "<none>");
}

/* ---- small helpers ----------------------------------------------------------------- */

static int action(struct doctor *d, struct ami_msg *reply, const char *name, const char *k1,
		  const char *v1)
{
	struct ami_msg act;
	int rc;

	ami_msg_init(&act);
	ami_msg_add(&act, "Action", name);
	if (k1)
		ami_msg_add(&act, k1, v1);
	rc = ami_action_until(d->a, &act, reply, doctor_deadline(d));
	ami_msg_free(&act);
	if (rc == RC_TIMEOUT)
		d->stalled = 1;
	return rc;
}

/* An action of check id went unanswered although the login was: Asterisk
 * (or what is in front of it) has stopped answering this session, and the
 * checks after this one are skipped rather than each waiting -t. */
static void stalled(struct doctor *d, enum check_id id, const char *action_name)
{
	check_note(d, id, ST_FAIL, "%s: %s", action_name, ami_error(d->a));
	check_fix(d, id, "Asterisk answered the login but not %s within %.1f s: it is "
		  "overloaded or stuck (asterisk -rx 'core show taskprocessors' shows the queues; "
		  "a longer -t tells which)", action_name, d->timeout_ms / 1000.0);
}

/* The lines of a Command's output (Output: headers, or an old server's
 * bare lines), "\n"-separated, into out (also for an error: it says
 * why). RC_* of the action. */
static int cli(struct doctor *d, const char *command, struct strbuf *out)
{
	struct ami_msg reply;
	int rc;

	ami_msg_init(&reply);
	out->len = 0;
	strbuf_adds(out, "");
	rc = action(d, &reply, "Command", "Command", command);
	for (size_t i = 0; (rc == RC_OK || rc == RC_ACTION) && i < reply.n; i++) {
		if (strcasecmp(ami_msg_name(&reply, i), "Output") && *ami_msg_name(&reply, i))
			continue;
		strbuf_adds(out, ami_msg_value(&reply, i));
		strbuf_add(out, "\n", 1);
	}
	ami_msg_free(&reply);
	return rc;
}

/* The value of "label:" in CLI output such as "  Timestamp events:  No"
 * or "allowmultiplelogin: yes", blanks trimmed; NULL when absent. */
static const char *cli_value(const char *text, const char *label, char *buf, size_t len)
{
	size_t n = strlen(label);

	for (const char *s = text; s && *s; s = strchr(s, '\n'), s = s ? s + 1 : NULL) {
		s += strspn(s, " \t");
		if (strncasecmp(s, label, n) || s[n] != ':')
			continue;
		s += n + 1;
		s += strspn(s, " \t");
		size_t v = strcspn(s, "\n");
		while (v && (s[v - 1] == ' ' || s[v - 1] == '\r'))
			v--;
		snprintf(buf, len, "%.*s", (int)v, s);
		return buf;
	}
	return NULL;
}

/* ---- login ------------------------------------------------------------------------- */

static const char *auth_name(int auth) { return auth == AUTH_MD5 ? "MD5" : "plain"; }

/* Digest logs in with the first request: a Ping says whether it did. */
static int digest_ping(struct doctor *d, char *text, size_t len)
{
	struct ami_msg reply;
	int rc;

	ami_msg_init(&reply);
	rc = action(d, &reply, "Ping", NULL, NULL);
	if (rc != RC_OK)
		snprintf(text, len, "%s", ami_error(d->a));
	ami_msg_free(&reply);
	return rc;
}

static void login_failed(struct doctor *d, int rc, const char *text, int64_t ms)
{
	const struct profile *p = &d->p;

	check_note(d, CK_LOGIN, ST_FAIL, "%s (after %.1f s)", *text ? text : "login failed",
		   ms / 1000.0);
	if (rc == RC_AUTH)
		check_fix(d, CK_LOGIN, "Asterisk answers a wrong secret, an unknown user, an "
			  "address refused by permit/deny and a second login under "
			  "allowmultiplelogin = no alike: check secret = in [%s] of manager.conf "
			  "against the one ami uses (%s), that [%s] exists (asterisk -rx 'manager show "
			  "users'), and its permit/deny lines; each failed login costs 1 s", p->username,
			  p->source[K_SECRET], p->username);
	else if (rc == RC_TIMEOUT)
		check_fix(d, CK_LOGIN, "Asterisk did not answer in %.1f s: it is overloaded or "
			  "stuck (a longer -t tells which)", d->timeout_ms / 1000.0);
	else
		check_fix(d, CK_LOGIN, "the server does not speak AMI as Asterisk does: is it "
			  "the AMI port?");
}

/* Logs in with the other method too, on a second session, to tell
 * whether both work. */
static void other_method(struct doctor *d)
{
	struct profile other = d->p;
	struct strbuf said = { 0 };
	struct ami *b = NULL;
	char text[600];
	int64_t start = now_ms();
	int rc;

	other.auth = d->p.auth == AUTH_MD5 ? AUTH_PLAIN : AUTH_MD5;
	log_divert(&said);
	rc = ami_open(&b, &other, "off");
	log_divert(NULL);
	divert_text(&said, text, sizeof text);
	strbuf_free(&said);
	if (rc == RC_OK) {
		check_note(d, CK_LOGIN, ST_PASS, "%s login works too", auth_name(other.auth));
		ami_close(b);
	} else if (strstr(text, "In Use")) {
		d->multiple_login = 0;
		check_note(d, CK_LOGIN, ST_WARN, "a second session as %s is refused (\"Login Already "
			   "In Use\"): allowmultiplelogin = no", d->p.username);
		check_fix(d, CK_LOGIN, "allowmultiplelogin = yes in manager.conf [general] (or "
			  "[%s]), or one AMI user per client", d->p.username);
	} else {
		/* The same secret: the method, or a second session, is refused. */
		check_note(d, CK_LOGIN, ST_PASS, "a second session with %s login was refused after "
			   "%.1f s (%s): %s, or allowmultiplelogin = no for %s", auth_name(other.auth),
			   (now_ms() - start) / 1000.0, text, other.auth == AUTH_MD5 ? "a server "
			   "without MD5 logins (a proxy?)" : "plain logins refused", d->p.username);
	}
}

/* A plain Secret over plain TCP or HTTP to another host can be read on
 * the way. */
static void note_cleartext(struct doctor *d)
{
	const struct profile *p = &d->p;
	int clear = (p->transport == TR_TCP || (p->transport == TR_HTTP &&
		     p->http_auth == HTTP_AUTH_COOKIE)) && p->auth == AUTH_PLAIN;

	if (!clear || d->loopback)
		return;
	check_note(d, CK_LOGIN, ST_WARN, "the secret crosses the network in clear text "
		   "(plain login over %s to %s)", p->transport == TR_TCP ? "TCP" : "HTTP", p->host);
	check_fix(d, CK_LOGIN, "auth = md5 in the profile (--auth md5), or AMI over TLS "
		  "(--tls, or an https:// URL)");
}

void check_login(struct doctor *d)
{
	const struct profile *p = &d->p;
	struct strbuf said = { 0 };
	char text[1024];
	int64_t start = now_ms();
	int digest = p->transport >= TR_HTTP && p->http_auth == HTTP_AUTH_DIGEST;
	int rc;

	log_divert(&said);
	rc = ami_open(&d->a, p, "off");
	log_divert(NULL);
	divert_text(&said, text, sizeof text);
	strbuf_free(&said);
	if (rc == RC_OK && digest && (rc = digest_ping(d, text, sizeof text)) != RC_OK) {
		ami_close(d->a);
		d->a = NULL;
	}
	if (rc != RC_OK) {
		login_failed(d, rc, text, now_ms() - start);
		return check_done(d, CK_LOGIN);
	}
	check_note(d, CK_LOGIN, ST_PASS, "%s login as %s accepted in %lld ms",
		   digest ? "HTTP digest" : auth_name(p->auth), p->username,
		   (long long)(now_ms() - start));
	if (!digest)
		other_method(d);
	note_cleartext(d);
	check_done(d, CK_LOGIN);
}

/* ---- the Asterisk version (completes the banner check) ------------------------------- */

/* Release of each major (year, month) and whether it is LTS: LTS gets 4
 * years of fixes and 1 of security fixes, a standard release 1 and 1
 * (docs.asterisk.org, Asterisk Versions). */
static const struct release { int major, year, month, lts; } releases[] = {
	{ 16, 2018, 10, 1 }, { 17, 2019, 10, 0 }, { 18, 2020, 10, 1 }, { 19, 2021, 11, 0 },
	{ 20, 2022, 11, 1 }, { 21, 2023, 10, 0 }, { 22, 2024, 10, 1 }, { 23, 2025, 10, 0 },
};

int asterisk_of_ami(const char *v)
{
	int major = 0, minor = 0;

	if (sscanf(v, "%d.%d", &major, &minor) < 1)
		return 0;
	if (major >= 4)
		return major + 11;      /* 4 was 15, ..., 11 is 22, 12 is 23 */
	if (major == 1)
		return minor == 1 ? 8 : minor == 2 ? 10 : minor == 3 ? 11 : 4;
	return 13;                  /* 2.x and 3.x: 12 to 14 */
}

static int months(int year, int month) { return year * 12 + month - 1; }

static void note_support(struct doctor *d, int major)
{
	struct tm now;
	time_t t = time(NULL);
	const struct release *r = NULL, *latest_lts = NULL;
	int today;

	gmtime_r(&t, &now);
	today = months(now.tm_year + 1900, now.tm_mon + 1);
	for (size_t i = 0; i < ARRAY_LEN(releases); i++) {
		const struct release *x = &releases[i];
		if (x->major == major)
			r = x;
		if (x->lts && months(x->year, x->month) <= today)
			latest_lts = x;
	}
	if (major > releases[ARRAY_LEN(releases) - 1].major)
		return;
	int eol = r ? months(r->year, r->month) + (r->lts ? 60 : 24) : 0;
	int security = r ? months(r->year, r->month) + (r->lts ? 48 : 12) : 0;
	if (!r || today >= eol) {
		check_note(d, CK_BANNER, ST_WARN, "Asterisk %d is out of support%s: no more security "
			   "fixes", major, r ? "" : " (released before 2018)");
		if (r)
			check_note(d, CK_BANNER, ST_WARN, "it ended in %04d-%02d", eol / 12, eol % 12 + 1);
		check_fix(d, CK_BANNER, "upgrade to a supported release (%d LTS gets fixes until "
			  "%04d-%02d)", latest_lts->major, (months(latest_lts->year,
			  latest_lts->month) + 48) / 12, (months(latest_lts->year,
			  latest_lts->month) + 48) % 12 + 1);
	} else if (today >= security) {
		check_note(d, CK_BANNER, ST_PASS, "Asterisk %d gets security fixes only, until "
			   "%04d-%02d", major, eol / 12, eol % 12 + 1);
	}
}

/* What tail-events can push to this version (filter.c decides the same). */
static void note_features(struct doctor *d)
{
	const int *v = d->asterisk;

	switch (asterisk_match_criteria(v)) {
	case MC_YES:
		check_note(d, CK_BANNER, ST_PASS, "Filter takes MatchCriteria: tail-events pushes "
			   "exact server-side filters");
		break;
	case MC_UNKNOWN:
		check_note(d, CK_BANNER, ST_PASS, "MatchCriteria in 18.26 and later 18.x is not "
			   "settled: tail-events asks with a probe Filter");
		break;
	case MC_NO:
		check_note(d, CK_BANNER, ST_PASS, "filters with MatchCriteria (Filter action, "
			   "eventfilter(...) in manager.conf) need 18.26, 20.11, 21.6, 22.1 or later; "
			   "legacy regex filters work");
		break;
	}
	if (v[0] < 20)
		check_note(d, CK_BANNER, ST_PASS, "disabledevents in manager.conf needs 20 or later");
}

/* "22.10.1", "certified/18.9-cert5": the numbers, or 0 when not a release. */
static int parse_version(const char *s, int v[3])
{
	v[0] = v[1] = v[2] = 0;
	s += strcspn(s, "0123456789");
	return sscanf(s, "%d.%d.%d", &v[0], &v[1], &v[2]) >= 2 && v[0] > 0;
}

void check_version(struct doctor *d)
{
	struct ami_msg reply;
	int rc = RC_CONNECT, major = 0;
	const char *ver = NULL;

	ami_msg_init(&reply);
	if (d->a && (rc = action(d, &reply, "CoreSettings", NULL, NULL)) == RC_OK)
		ver = ami_msg_get(&reply, "AsteriskVersion");
	if (ver && parse_version(ver, d->asterisk))
		check_note(d, CK_BANNER, ST_PASS, "Asterisk %s (CoreSettings)", ver);
	else if (ver)
		check_note(d, CK_BANNER, ST_PASS, "Asterisk %s (CoreSettings): not a release", ver);
	else if (rc == RC_ACTION)
		check_note(d, CK_BANNER, ST_PASS, "CoreSettings refused (%s: it needs write = system "
			   "or reporting)", ami_error(d->a));
	else if (rc == RC_TIMEOUT)
		stalled(d, CK_BANNER, "CoreSettings");
	if (!ver && d->asterisk[0])
		check_note(d, CK_BANNER, ST_PASS, "Asterisk %d.%d.%d (HTTP Server header)",
			   d->asterisk[0], d->asterisk[1], d->asterisk[2]);
	major = d->asterisk[0];
	if (!major && d->banner && strchr(d->banner, '/')) {
		major = asterisk_of_ami(strchr(d->banner, '/') + 1);
		if (major)
			check_note(d, CK_BANNER, ST_PASS, "AMI %s is Asterisk %s%d", strchr(d->banner,
				   '/') + 1, major == 13 ? "12 to " : "", major == 13 ? 14 : major);
	}
	if (major)
		note_support(d, major);
	if (d->asterisk[0])
		note_features(d);
	ami_msg_free(&reply);
	check_done(d, CK_BANNER);
}

/* ---- permissions ------------------------------------------------------------------- */

/* What the ami commands need, and the action that shows the user has it. */
static const struct need {
	const char *action, *cls, *what;
	unsigned bit;
} needs[] = {
	{ "Originate", "originate", "ami originate", PERM_ORIGINATE },
	{ "Command", "command", "ami command", PERM_COMMAND },
	{ "Redirect", "call", "ami redirect", PERM_CALL },
	{ "Filter", "system", "tail-events' server-side filters (without it Asterisk sends "
	  "every event and ami drops them), Originate of system applications", PERM_SYSTEM },
};

struct listed {
	size_t n;
	unsigned held;              /* classes some listed action needs alone */
	int has[ARRAY_LEN(needs)];
};

/* ListCommands: "Originate: Originate a call.  (Priv: originate,all)". */
static void read_listcommands(const struct ami_msg *reply, struct listed *l)
{
	memset(l, 0, sizeof *l);
	for (size_t i = 0; i < reply->n; i++) {
		const char *name = ami_msg_name(reply, i), *priv = strstr(ami_msg_value(reply, i), "(Priv: ");
		if (!priv)
			continue;
		l->n++;
		char list[200];
		snprintf(list, sizeof list, "%.*s", (int)strcspn(priv + 7, ")"), priv + 7);
		unsigned m = classes_of(list, 0);
		if (m && !(m & (m - 1)))
			l->held |= m;
		for (size_t k = 0; k < ARRAY_LEN(needs); k++)
			if (!strcasecmp(name, needs[k].action))
				l->has[k] = 1;
	}
}

/* manager show user NAME: read/write classes, ACL, allowmultiplelogin. */
static void read_user(struct doctor *d, const char *out)
{
	char v[512];

	if (strstr(out, "There is no manager called")) {
		check_note(d, CK_PERMS, ST_PASS, "manager show user: no such user (a user from "
			   "another source, such as realtime?)");
		return;
	}
	if (cli_value(out, "read perm", v, sizeof v)) {
		d->read_perm = classes_of(v, 1), d->read_known = 1;
		check_note(d, CK_PERMS, ST_PASS, "read = %s", v);
	}
	if (cli_value(out, "write perm", v, sizeof v)) {
		d->write_perm = classes_of(v, 1), d->write_known = 1;
		check_note(d, CK_PERMS, ST_PASS, "write = %s", v);
	}
	if (cli_value(out, "ACL", v, sizeof v))
		check_note(d, CK_PERMS, ST_PASS, "ACL (permit/deny) %s", v);
	if (cli_value(out, "allowmultiplelogin", v, sizeof v)) {
		d->multiple_login = !strcasecmp(v, "yes");
		check_note(d, CK_PERMS, ST_PASS, "allowmultiplelogin %s", v);
	}
}

/* manager show settings: what changes what every reader of events gets. */
static void read_settings(struct doctor *d, const char *out)
{
	char v[512];

	if (cli_value(out, "Timestamp events", v, sizeof v))
		check_note(d, CK_PERMS, ST_PASS, "timestampevents %s", v);
	if (cli_value(out, "Channel vars", v, sizeof v))
		check_note(d, CK_PERMS, ST_PASS, "channelvars %s%s", *v ? v : "(none)",
			   *v ? " (a ChanVariable header on every channel event)" : "");
	if (cli_value(out, "Disabled events", v, sizeof v))
		check_note(d, CK_PERMS, ST_PASS, "disabledevents %s", *v ? v : "(none)");
	check_note(d, CK_PERMS, ST_PASS, "writetimeout is not shown by Asterisk (100 ms unless "
		   "writetimeout = in [%s])", d->p.username);
}

/* Why a Command failed: its first line of output, else the Message. */
static void note_cli_error(struct doctor *d, const char *command, const struct strbuf *out)
{
	check_note(d, CK_PERMS, ST_PASS, "%s failed: %.*s", command,
		   out->len ? (int)strcspn(out->p, "\n") : 200, out->len ? out->p : ami_error(d->a));
}

static void read_manager_cli(struct doctor *d)
{
	struct strbuf out = { 0 };
	char *cmd = xasprintf("manager show user %s", d->p.username);

	int rc = cli(d, cmd, &out);

	if (rc == RC_OK)
		read_user(d, out.p);
	else if (rc != RC_TIMEOUT)
		note_cli_error(d, "manager show user", &out);
	if (rc != RC_TIMEOUT && (rc = cli(d, "manager show settings", &out)) == RC_OK)
		read_settings(d, out.p);
	else if (rc != RC_TIMEOUT)
		note_cli_error(d, "manager show settings", &out);
	if (rc == RC_TIMEOUT)
		stalled(d, CK_PERMS, "Command (manager show ...)");
	free(cmd);
	strbuf_free(&out);
}

/* What is missing for which ami command, and the write = line with it. */
static void note_missing(struct doctor *d, const struct listed *l)
{
	struct strbuf line = { 0 };
	unsigned missing = 0;

	for (size_t k = 0; k < ARRAY_LEN(needs); k++) {
		if (l->has[k])
			continue;
		missing |= needs[k].bit;
		check_note(d, CK_PERMS, ST_WARN, "no %s: %s needs write = %s", needs[k].action,
			   needs[k].what, needs[k].cls);
	}
	if (!missing)
		return;
	perm_text((d->write_known ? d->write_perm : l->held) | missing, &line);
	check_fix(d, CK_PERMS, "in manager.conf [%s]: write = %s, then asterisk -rx 'manager "
		  "reload'", d->p.username, line.p);
	strbuf_free(&line);
}

static void note_read(struct doctor *d)
{
	struct strbuf line = { 0 };

	if (!d->read_known || (d->read_perm & PERM_CALL))
		return;
	check_note(d, CK_PERMS, ST_WARN, "no call events (read has no call): tail-events and "
		   "originate --wait see no Newchannel, Hangup or OriginateResponse");
	perm_text(d->read_perm | PERM_CALL, &line);
	check_fix(d, CK_PERMS, "in manager.conf [%s]: read = %s", d->p.username, line.p);
	strbuf_free(&line);
}

void check_perms(struct doctor *d)
{
	struct ami_msg reply;
	struct listed l;
	struct strbuf held = { 0 };
	int rc;

	ami_msg_init(&reply);
	if ((rc = action(d, &reply, "ListCommands", NULL, NULL)) == RC_TIMEOUT) {
		stalled(d, CK_PERMS, "ListCommands");
		ami_msg_free(&reply);
		return check_done(d, CK_PERMS);
	} else if (rc != RC_OK) {
		check_note(d, CK_PERMS, ST_WARN, "ListCommands failed: %s", ami_error(d->a));
		check_fix(d, CK_PERMS, "Asterisk answers ListCommands for any user: is a proxy in "
			  "front of it?");
		ami_msg_free(&reply);
		return check_done(d, CK_PERMS);
	}
	read_listcommands(&reply, &l);
	ami_msg_free(&reply);
	d->write_perm = l.held;
	d->has_command = l.has[1];
	perm_text(l.held, &held);
	check_note(d, CK_PERMS, ST_PASS, "%zu actions allowed (ListCommands); write classes "
		   "seen: %s", l.n, held.p);
	strbuf_free(&held);
	if (d->has_command)
		read_manager_cli(d);
	else
		check_note(d, CK_PERMS, ST_PASS, "without the command class the user's read "
			   "classes and the manager settings cannot be read");
	note_missing(d, &l);
	note_read(d);
	if (d->multiple_login == 0 && d->c[CK_LOGIN].status != ST_WARN) {
		check_note(d, CK_PERMS, ST_WARN, "allowmultiplelogin = no: a second ami as %s (a "
			   "tail-events service, a cron job) is refused", d->p.username);
		check_fix(d, CK_PERMS, "allowmultiplelogin = yes in [%s], or one user per client",
			  d->p.username);
	}
	check_done(d, CK_PERMS);
}

/* ---- clock ------------------------------------------------------------------------- */

void check_clock(struct doctor *d)
{
	struct ami_msg reply;
	double before = now_wall(), after, skew;
	const char *ts;
	int rc;

	ami_msg_init(&reply);
	rc = action(d, &reply, "Ping", NULL, NULL);
	after = now_wall();
	ts = rc == RC_OK ? ami_msg_get(&reply, "Timestamp") : NULL;
	if (rc == RC_TIMEOUT) {
		stalled(d, CK_CLOCK, "Ping");
	} else if (rc != RC_OK) {
		check_note(d, CK_CLOCK, ST_FAIL, "Ping failed: %s", ami_error(d->a));
		check_fix(d, CK_CLOCK, "Asterisk must answer Ping (any user may)");
	} else if (!ts || !*ts) {
		check_note(d, CK_CLOCK, ST_SKIP, "Ping has no Timestamp (Asterisk before 1.8, or a "
			   "proxy)");
	} else {
		skew = strtod(ts, NULL) - (before + after) / 2;
		check_note(d, CK_CLOCK, skew > 2 || skew < -2 ? ST_WARN : ST_PASS, "the server's "
			   "clock is %.2f s %s ours (Ping Timestamp, round trip %.1f ms)",
			   skew < 0 ? -skew : skew, skew < 0 ? "behind" : "ahead of",
			   (after - before) * 1000);
		if (skew > 2 || skew < -2)
			check_fix(d, CK_CLOCK, "keep both clocks in sync with NTP (chrony, "
				  "systemd-timesyncd; timedatectl shows the state): event Timestamps, "
				  "CDRs and call files' times go by the server's clock");
	}
	ami_msg_free(&reply);
	check_done(d, CK_CLOCK);
}
