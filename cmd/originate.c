/* originate.c - `ami originate CHANNEL (--app APP | --context C --exten E)`:
 * place a call, and with --wait follow it to its answer or its hangup.
 *
 * The Originate is async by default so the session is never blocked; the
 * outcome then comes as an OriginateResponse event carrying our ActionID,
 * and the channel's Hangup is recognised by the Uniqueid we assign up front
 * (ChannelId), because Asterisk's events are not in causal order. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "callfile.h"
#include "cmds.h"
#include "json.h"
#include "term_safe.h"

const char cmd_originate_help[] =
	"usage: ami originate CHANNEL (--app APP [--data DATA] |\n"
	"                             --context C --exten E [--priority P]) [options]\n"
	"\n"
	"Place a call from CHANNEL (Tech/resource, e.g. PJSIP/100 or\n"
	"Local/100@from-internal) to a dialplan extension or to an application.\n"
	"The Originate is sent with Async: true; without --wait the command ends\n"
	"once Asterisk has queued the call and prints \"queued: CHANNEL\".\n"
	"With --wait it follows the call and prints\n"
	"  answered: CHANNEL uniqueid=ID reason=4 (answered)\n"
	"  hangup: CHANNEL uniqueid=ID cause=16 (Normal Clearing)   (--wait=hangup)\n"
	"Exit 0 when answered (and, with --wait=hangup, when the call has ended),\n"
	"1 when Asterisk refuses the call or it is not answered (reason on stderr),\n"
	"6 when -t runs out first.\n"
	"\n"
	"  --app APP               run application APP on the answered channel\n"
	"  --data DATA             arguments of APP\n"
	"  --context C             dialplan context to connect the channel to\n"
	"  --exten E               extension in that context\n"
	"  --priority P            priority number or label (default 1)\n"
	"  --callerid CID          caller ID, e.g. '\"Wake-up\" <100>'\n"
	"  --ring-timeout SECONDS  how long to ring before giving up (default 30)\n"
	"  --var NAME=VALUE        set a channel variable (repeatable); the value\n"
	"                          arrives as typed, commas and quotes included\n"
	"  --account CODE          CDR account code\n"
	"  --codecs LIST           codecs to offer, e.g. ulaw,alaw\n"
	"  --early-media           connect on early media, before the answer\n"
	"  --channel-id ID         Uniqueid to give the channel\n"
	"  --other-channel-id ID   Uniqueid for the second half of a Local channel\n"
	"  --predial-gosub C,E,P   subroutine run on the channel before dialing\n"
	"                          (Asterisk honours it only with --sync and a\n"
	"                          dialplan target)\n"
	"  --wait[=answer|hangup]  follow the call until it is answered (default)\n"
	"                          or until it has ended; -t bounds the whole wait\n"
	"  --sync                  send Async: false: Asterisk answers only once the\n"
	"                          call is answered or failed (implies --wait)\n";

enum {
	OPT_RING_TIMEOUT = OPT_CALL_END, OPT_VAR, OPT_ACCOUNT, OPT_CODECS,
	OPT_EARLY_MEDIA, OPT_CHANNEL_ID, OPT_OTHER_CHANNEL_ID, OPT_PREDIAL_GOSUB,
	OPT_WAIT, OPT_SYNC,
};

static const struct option longopts[] = {
	COMMON_LONGOPTS,
	CALL_LONGOPTS,
	{ "ring-timeout", required_argument, NULL, OPT_RING_TIMEOUT },
	{ "var", required_argument, NULL, OPT_VAR },
	{ "account", required_argument, NULL, OPT_ACCOUNT },
	{ "codecs", required_argument, NULL, OPT_CODECS },
	{ "early-media", no_argument, NULL, OPT_EARLY_MEDIA },
	{ "channel-id", required_argument, NULL, OPT_CHANNEL_ID },
	{ "other-channel-id", required_argument, NULL, OPT_OTHER_CHANNEL_ID },
	{ "predial-gosub", required_argument, NULL, OPT_PREDIAL_GOSUB },
	{ "wait", optional_argument, NULL, OPT_WAIT },
	{ "sync", no_argument, NULL, OPT_SYNC },
	{ NULL, 0, NULL, 0 },
};

/* Asterisk's own default for Timeout, used to bound the wait for the answer. */
#define DEFAULT_RING_MS 30000
/* Slack after the ring timeout before we stop waiting for an OriginateResponse
 * that may never come (a user without the "call" read permission gets none). */
#define ANSWER_SLACK_MS 30000
/* AST_MAX_PUBLIC_UNIQUEID: longer ChannelIds are refused by Asterisk. */
#define MAX_CHANNEL_ID 149

enum wait_mode { WAIT_NONE, WAIT_ANSWER, WAIT_HANGUP };

struct orig_opts {
	const char *channel, *app, *data, *context, *exten, *priority;
	const char *callerid, *account, *codecs, *channel_id, *other_channel_id;
	const char *predial_gosub;
	char **vars;
	size_t nvars;
	int ring_ms;                /* -1: not given */
	int early_media, sync;
	enum wait_mode wait;
};

/* What we learnt about our call so far. */
struct call {
	char id[64];                /* ActionID of our Originate */
	const char *dial;           /* the dial string, until the real name is known */
	const char *chanid;         /* ChannelId sent, or NULL */
	int responded, refused;     /* got the action's Response; it was an Error */
	int outcome_known, answered, hung_up;
	int reason;                 /* -1: not reported */
	char *channel, *uniqueid, *response, *cause, *cause_txt;
	struct ami_msg reply;       /* the action's Response */
};

static const char *reason_text(int reason)
{
	switch (reason) {
	case 0: return "failed";        /* no such channel, or it could not be placed */
	case 1: return "hung up";
	case 2: return "local ring";
	case 3: return "ringing";       /* typical of a no-answer timeout */
	case 4: return "answered";
	case 5: return "busy";
	case 8: return "congested";
	default: return "unknown";
	}
}

static int parse_wait(const char *arg, enum wait_mode *w)
{
	if (!arg || !strcmp(arg, "answer"))
		*w = WAIT_ANSWER;
	else if (!strcmp(arg, "hangup"))
		*w = WAIT_HANGUP;
	else
		return usage_error("--wait: expected answer or hangup, not \"%s\"", arg);
	return RC_CONTINUE;
}

/* Our options, then the shared ones. */
static int set_option(struct orig_opts *o, struct ctx *ctx, int ch, const char *arg)
{
	switch (ch) {
	case OPT_APP: o->app = arg; break;
	case OPT_DATA: o->data = arg; break;
	case OPT_CONTEXT: o->context = arg; break;
	case OPT_EXTEN: o->exten = arg; break;
	case OPT_PRIORITY: o->priority = arg; break;
	case OPT_CALLERID: o->callerid = arg; break;
	case OPT_ACCOUNT: o->account = arg; break;
	case OPT_CODECS: o->codecs = arg; break;
	case OPT_EARLY_MEDIA: o->early_media = 1; break;
	case OPT_CHANNEL_ID: o->channel_id = arg; break;
	case OPT_OTHER_CHANNEL_ID: o->other_channel_id = arg; break;
	case OPT_PREDIAL_GOSUB: o->predial_gosub = arg; break;
	case OPT_SYNC: o->sync = 1; break;
	case OPT_WAIT: return parse_wait(arg, &o->wait);
	case OPT_VAR:
		o->vars = xrealloc(o->vars, (o->nvars + 1) * sizeof *o->vars);
		o->vars[o->nvars++] = (char *)arg;
		break;
	case OPT_RING_TIMEOUT:
		if (parse_seconds(arg, &o->ring_ms) != 0 || o->ring_ms <= 0)
			return usage_error("--ring-timeout: not a positive number of seconds: %s", arg);
		break;
	default:
		return ctx_option(ctx, ch, arg);
	}
	return RC_CONTINUE;
}

static int parse_args(int argc, char **argv, struct ctx *ctx, struct orig_opts *o)
{
	int ch, rc;

	while ((ch = getopt_long(argc, argv, COMMON_SHORTOPTS, longopts, NULL)) != -1) {
		if ((rc = set_option(o, ctx, ch, optarg)) != RC_CONTINUE)
			return rc;
	}
	if (optind >= argc)
		return usage_error("no channel given: ami originate CHANNEL --app APP | "
				   "--context C --exten E");
	o->channel = argv[optind++];
	if (optind < argc) {
		if (!strcmp(argv[optind], "answer") || !strcmp(argv[optind], "hangup"))
			return usage_error("unexpected argument \"%s\" (write --wait=%s)",
					   argv[optind], argv[optind]);
		return usage_error("unexpected argument \"%s\"", argv[optind]);
	}
	return RC_CONTINUE;
}

/* Exactly one target: an application, or a whole context + extension. */
static int check_target(const struct orig_opts *o)
{
	const struct call_target t = { o->app, o->data, o->context, o->exten,
				       o->priority != NULL, 0 };
	const char *problem = call_target_problem(&t);

	return problem ? usage_error("%s", problem) : RC_OK;
}

static int check_channel_id(const char *what, const char *id)
{
	if (!*id)
		return usage_error("%s is empty", what);
	if (strlen(id) > MAX_CHANNEL_ID)
		return usage_error("%s is longer than Asterisk's limit of %d characters",
				   what, MAX_CHANNEL_ID);
	return check_user_value(what, id);
}

static int check_codecs(const char *s)
{
	for (const char *p = s; *p; p++)
		if (!(*p == ',' || *p == '_' || (*p >= '0' && *p <= '9') ||
		      (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
			return usage_error("--codecs: expected a comma list of codec names, "
					   "not \"%s\"", s);
	return check_user_value("--codecs", s);
}

static int check_vars(const struct orig_opts *o)
{
	int rc;

	for (size_t i = 0; i < o->nvars; i++) {
		const char *eq = strchr(o->vars[i], '=');
		if (!eq || eq == o->vars[i])
			return usage_error("--var: expected NAME=VALUE, not \"%s\"", o->vars[i]);
		if ((rc = check_user_value("--var", o->vars[i])) != RC_OK)
			return rc;
	}
	return RC_OK;
}

static int check_values(const struct orig_opts *o)
{
	const struct { const char *what, *value; } plain[] = {
		{ "CHANNEL", o->channel }, { "--app", o->app }, { "--data", o->data },
		{ "--context", o->context }, { "--exten", o->exten },
		{ "--callerid", o->callerid }, { "--account", o->account },
		{ "--predial-gosub", o->predial_gosub },
	};
	int rc;

	for (size_t i = 0; i < ARRAY_LEN(plain); i++)
		if (plain[i].value && (rc = check_user_value(plain[i].what, plain[i].value)) != RC_OK)
			return rc;
	if (!strchr(o->channel, '/') || o->channel[0] == '/')
		return usage_error("CHANNEL must be Tech/resource (e.g. PJSIP/100 or "
				   "Local/100@from-internal), not \"%s\"", o->channel);
	if (o->priority && (rc = check_priority("--priority", o->priority)) != RC_OK)
		return rc;
	if (o->channel_id && (rc = check_channel_id("--channel-id", o->channel_id)) != RC_OK)
		return rc;
	if (o->other_channel_id &&
	    (rc = check_channel_id("--other-channel-id", o->other_channel_id)) != RC_OK)
		return rc;
	if (o->codecs && (rc = check_codecs(o->codecs)) != RC_OK)
		return rc;
	return check_vars(o);
}

/* Asterisk splits a Variable: value at commas and removes quotes and
 * backslashes (AST_STANDARD_APP_ARGS, which also nests on () and []).
 * A backslash before each of those characters makes the value arrive
 * exactly as the user typed it. */
static char *escape_variable(const char *s)
{
	char *out = xmalloc(2 * strlen(s) + 1), *p = out;

	for (; *s; s++) {
		if (strchr("\\\",()[]", *s))
			*p++ = '\\';
		*p++ = *s;
	}
	*p = '\0';
	return out;
}

/* A ChannelId unique enough for one Asterisk: time, our pid, a counter (the
 * shell may originate several calls in the same second). */
static char *make_channel_id(void)
{
	static unsigned n;
	return xasprintf("ami-%lld-%ld-%u", (long long)time(NULL), (long)getpid(), ++n);
}

static void add_if(struct ami_msg *m, const char *name, const char *value)
{
	if (value)
		ami_msg_add(m, name, value);
}

static void build_originate(const struct orig_opts *o, const char *chanid, struct ami_msg *act)
{
	ami_msg_add(act, "Action", "Originate");
	ami_msg_add(act, "Channel", o->channel);
	if (o->app) {
		ami_msg_add(act, "Application", o->app);
		add_if(act, "Data", o->data);
	} else {
		ami_msg_add(act, "Context", o->context);
		ami_msg_add(act, "Exten", o->exten);
		ami_msg_add(act, "Priority", o->priority ? o->priority : "1");
	}
	if (o->ring_ms > 0) {
		char buf[32];
		snprintf(buf, sizeof buf, "%d", o->ring_ms);
		ami_msg_add(act, "Timeout", buf);
	}
	add_if(act, "CallerID", o->callerid);
	for (size_t i = 0; i < o->nvars; i++) {
		char *v = escape_variable(o->vars[i]);
		ami_msg_add(act, "Variable", v);
		free(v);
	}
	add_if(act, "Account", o->account);
	add_if(act, "Codecs", o->codecs);
	if (o->early_media)
		ami_msg_add(act, "EarlyMedia", "true");
	add_if(act, "ChannelId", chanid);
	add_if(act, "OtherChannelId", o->other_channel_id);
	add_if(act, "PreDialGoSub", o->predial_gosub);
	ami_msg_add(act, "Async", o->sync ? "false" : "true");
}

/* Queue's sixth argument names an AGI script. */
static int queue_runs_agi(const char *data)
{
	const char *p = data;

	for (int field = 1; p && field < 6; field++) {
		p = strchr(p, ',');
		if (p)
			p++;
	}
	return p && *p && *p != ',';
}

/* Asterisk refuses some applications and data (CVE-2024-42365) unless the
 * user also has the "system" write permission; say so before it does. */
static void warn_blacklist(const struct orig_opts *o)
{
	static const char *const apps[] = { "agi", "dbdeltree", "exec", "externalivr",
		"mixmonitor", "originate", "reload", "system" };
	static const char *const funcs[] = { "CURL", "DB", "EVAL", "FILE", "ODBC",
		"REALTIME", "SHELL" };

	if (!o->app)
		return;
	for (size_t i = 0; i < ARRAY_LEN(apps); i++)
		if (contains_nocase(o->app, apps[i])) {
			log_warn("Asterisk originates application %s only for users with the "
				 "\"system\" write permission", o->app);
			return;
		}
	for (size_t i = 0; o->data && i < ARRAY_LEN(funcs); i++)
		if (strstr(o->data, funcs[i])) {
			log_warn("--data contains \"%s\": Asterisk accepts it only from users with "
				 "the \"system\" write permission", funcs[i]);
			return;
		}
	if (!strcasecmp(o->app, "queue") && o->data && queue_runs_agi(o->data))
		log_warn("Queue with an AGI script needs the \"system\" write permission");
}

static void warn_ignored(const struct orig_opts *o)
{
	if (!o->predial_gosub)
		return;
	if (o->app)
		log_warn("Asterisk ignores --predial-gosub when the target is an application");
	else if (!o->sync)
		log_warn("Asterisk ignores --predial-gosub with an async originate (add --sync)");
}

static void call_init(struct call *c)
{
	memset(c, 0, sizeof *c);
	c->reason = -1;
	ami_msg_init(&c->reply);
}

static void call_free(struct call *c)
{
	free(c->channel);
	free(c->uniqueid);
	free(c->response);
	free(c->cause);
	free(c->cause_txt);
	ami_msg_free(&c->reply);
}

static void keep(char **dst, const char *value)
{
	if (!value)
		return;
	free(*dst);
	*dst = xstrdup(value);
}

static int header_is(const struct ami_msg *m, const char *name, const char *value)
{
	const char *v = ami_msg_get(m, name);
	return v && value && !strcmp(v, value);
}

static void note_response(struct call *c, const struct ami_msg *m, int sync)
{
	const char *resp = ami_msg_get(m, "Response");

	c->responded = 1;
	ami_msg_copy(&c->reply, m);
	keep(&c->response, resp);
	c->refused = resp && !strcasecmp(resp, "Error");
	/* A synchronous Originate answers only once the call is answered. */
	if (sync && !c->refused) {
		c->outcome_known = c->answered = 1;
		c->reason = 4;
	}
}

static void note_originate_response(struct call *c, const struct ami_msg *m)
{
	const char *resp = ami_msg_get(m, "Response");
	const char *reason = ami_msg_get(m, "Reason");
	const char *uid = ami_msg_get(m, "Uniqueid");
	unsigned long n;

	c->outcome_known = 1;
	c->answered = resp && !strcasecmp(resp, "Success");
	keep(&c->response, resp);
	if (reason && parse_uint(reason, 1000, &n) == 0)
		c->reason = (int)n;
	keep(&c->channel, ami_msg_get(m, "Channel"));
	/* Failures say "<unknown>": the ChannelId we assigned is still the id. */
	if (uid && *uid && strcmp(uid, "<unknown>"))
		keep(&c->uniqueid, uid);
}

static void note_hangup(struct call *c, const struct ami_msg *m)
{
	c->hung_up = 1;
	keep(&c->cause, ami_msg_get(m, "Cause"));
	keep(&c->cause_txt, ami_msg_get(m, "Cause-txt"));
	if (!c->channel)
		keep(&c->channel, ami_msg_get(m, "Channel"));
}

/* Sorts one event into what it tells about our call. Returns 1 when the
 * event concerned us (raw output prints those). The response is not one:
 * ami_await_response has it. */
static int track(struct call *c, const struct ami_msg *m)
{
	const char *ev = ami_msg_get(m, "Event");

	if (!strcasecmp(ev, "OriginateResponse") && header_is(m, "ActionID", c->id)) {
		note_originate_response(c, m);
		return 1;
	}
	if (!c->chanid || !header_is(m, "Uniqueid", c->chanid))
		return 0;
	if (!strcasecmp(ev, "Hangup")) {
		note_hangup(c, m);
		return 1;
	}
	if (!strcasecmp(ev, "Newchannel") && !c->channel)
		keep(&c->channel, ami_msg_get(m, "Channel"));
	return 0;
}

static int call_done(const struct call *c, enum wait_mode wait)
{
	if (!c->responded)
		return 0;
	if (c->refused || wait == WAIT_NONE)
		return 1;
	if (!c->outcome_known)
		return 0;
	return wait == WAIT_ANSWER || !c->answered || c->hung_up;
}

/* A sync answer comes with no event: the dial string is all we know. */
static const char *call_channel(const struct call *c)
{
	return c->channel ? c->channel : c->dial;
}

static const char *call_uniqueid(const struct call *c)
{
	return c->uniqueid ? c->uniqueid : c->chanid;
}

/* -t bounds the whole wait; without it the response gets the session's
 * timeout, the answer the ring timeout plus slack, and the hangup no limit. */
static int64_t deadline_for(const struct call *c, const struct orig_opts *o, struct ami *a,
			    int timeout_ms, int64_t start)
{
	int ring = o->ring_ms > 0 ? o->ring_ms : DEFAULT_RING_MS;

	if (timeout_ms > 0)
		return start + timeout_ms;
	if (timeout_ms == 0)
		return -1;
	if (o->sync && !c->responded)
		return start + ring + ANSWER_SLACK_MS;
	if (!c->responded)
		return ami_timeout_ms(a) > 0 ? start + ami_timeout_ms(a) : -1;
	if (!c->outcome_known)
		return start + ring + ANSWER_SLACK_MS;
	return -1;
}

static int timed_out(const struct call *c, int64_t start)
{
	double s = (now_ms() - start) / 1000.0;

	if (!c->responded)
		log_error("timed out after %.1f s waiting for the response to Originate", s);
	else if (!c->outcome_known)
		log_error("timed out after %.1f s waiting for the OriginateResponse event of "
			  "ActionID %s (none comes without the \"call\" read permission)", s, c->id);
	else
		log_error("timed out after %.1f s waiting for %s (uniqueid %s) to hang up", s,
			  call_channel(c), c->chanid);
	return RC_TIMEOUT;
}

static const char *or_dash(const char *s) { return s && *s ? s : "-"; }

/* The outcome as one object; the numbers Asterisk gives as numbers. */
static void print_json(const struct call *c)
{
	cJSON *o = json_object();
	unsigned long cause;

	json_add_string(o, "response", c->response);
	json_add_string(o, "channel", call_channel(c));
	json_add_string(o, "uniqueid", call_uniqueid(c));
	if (c->reason >= 0)
		cJSON_AddNumberToObject(o, "reason", c->reason);
	else
		cJSON_AddNullToObject(o, "reason");
	json_add_string(o, "reason_text", c->reason >= 0 ? reason_text(c->reason) : NULL);
	if (c->cause && parse_uint(c->cause, 1000, &cause) == 0)
		cJSON_AddNumberToObject(o, "cause", cause);
	else
		json_add_string(o, "cause", c->cause);
	json_add_string(o, "cause_txt", c->cause_txt);
	json_print_line(o);
}

/* A text line that quotes the server (channel, uniqueid, cause): shown
 * through term_safe. Takes line (malloc'd). */
static void print_line(char *line)
{
	term_safe_out(line, strlen(line));
	out_puts("\n");
	free(line);
}

static void print_answered(const struct call *c)
{
	if (out_get_format() == OUT_TEXT && verbosity >= 0)
		print_line(xasprintf("answered: %s uniqueid=%s reason=%d (%s)", call_channel(c),
				     or_dash(call_uniqueid(c)), c->reason, reason_text(c->reason)));
}

static void print_hangup(const struct call *c)
{
	if (out_get_format() == OUT_TEXT && verbosity >= 0)
		print_line(xasprintf("hangup: %s uniqueid=%s cause=%s (%s)", call_channel(c),
				     or_dash(call_uniqueid(c)), or_dash(c->cause),
				     or_dash(c->cause_txt)));
}

/* The final word on a call we followed. */
static int report_outcome(const struct call *c)
{
	if (out_get_format() == OUT_JSON)
		print_json(c);
	if (!c->answered) {
		log_error("not answered: %s uniqueid=%s reason=%d (%s)", call_channel(c),
			  or_dash(call_uniqueid(c)), c->reason, reason_text(c->reason));
		return RC_ACTION;
	}
	if (c->hung_up)
		print_hangup(c);
	return RC_OK;
}

static int report_queued(const struct call *c, const struct orig_opts *o)
{
	if (out_get_format() == OUT_JSON)
		return out_msg(&c->reply);
	if (out_get_format() == OUT_TEXT && verbosity >= 0) {
		out_printf("queued: %s", o->channel);
		if (c->chanid)
			out_printf(" uniqueid=%s", c->chanid);
		out_puts("\n");
	}
	return RC_OK;
}

static int report_refused(const struct call *c)
{
	const char *msg = ami_msg_get(&c->reply, "Message");

	if (out_get_format() == OUT_JSON)
		out_msg(&c->reply);
	log_error("%s", msg ? msg : "Asterisk answered Response: Error");
	return RC_ACTION;
}

/* Raw output shows each message that belongs to the call as it comes. */
static int show_raw(const struct ami_msg *m)
{
	if (out_get_format() != OUT_RAW)
		return RC_OK;
	out_msg(m);
	return out_flush();
}

/* Waits for the response (events are queued by the session meanwhile),
 * then takes events until the call is where --wait wants it. Prints the
 * answer as soon as it is known, so a --wait=hangup caller sees it while
 * the call lasts. */
static int follow(struct ami *a, struct call *c, const struct orig_opts *o, int timeout_ms,
		  int64_t start)
{
	struct ami_msg m;
	int rc, was_known = 0;

	ami_msg_init(&m);
	rc = ami_await_response(a, c->id, "Originate", &m,
				deadline_for(c, o, a, timeout_ms, start));
	if (rc == RC_OK || rc == RC_ACTION) {   /* a refusal is an answer too */
		note_response(c, &m, o->sync);
		rc = show_raw(&m);
	}
	while (rc == RC_OK && !call_done(c, o->wait)) {
		rc = ami_next_event(a, &m, deadline_for(c, o, a, timeout_ms, start));
		if (rc != RC_OK)
			break;
		if (track(c, &m) && (rc = show_raw(&m)) != RC_OK)
			break;
		if (c->outcome_known && !was_known && c->answered && o->wait == WAIT_HANGUP) {
			print_answered(c);
			if ((rc = out_flush()) != RC_OK)
				break;
		}
		was_known = c->outcome_known;
	}
	if (rc == RC_TIMEOUT)
		rc = timed_out(c, start);
	else if (rc != RC_OK && rc != RC_IO)
		log_error("%s", ami_error(a));
	ami_msg_free(&m);
	return rc;
}

static int run(struct ami *a, const struct orig_opts *o, const char *chanid, int timeout_ms)
{
	struct ami_msg act;
	struct call c;
	int rc;

	call_init(&c);
	c.chanid = chanid;
	c.dial = o->channel;
	ami_msg_init(&act);
	build_originate(o, chanid, &act);
	int64_t start = now_ms();
	if ((rc = ami_send(a, &act, c.id)) != RC_OK)
		log_error("%s", ami_error(a));
	else if ((rc = follow(a, &c, o, timeout_ms, start)) == RC_OK) {
		if (c.refused)
			rc = report_refused(&c);
		else if (o->wait == WAIT_NONE)
			rc = report_queued(&c, o);
		else {
			if (o->wait == WAIT_ANSWER && c.answered)
				print_answered(&c);
			rc = report_outcome(&c);
		}
	}
	ami_msg_free(&act);
	call_free(&c);
	return rc;
}

/* Builds the action once without a session, so that every value is
 * checked against Asterisk's limits before anything is sent. */
static int check_wire(const struct orig_opts *o, const char *chanid)
{
	struct ami_msg act;
	char err[300];
	int bad;

	ami_msg_init(&act);
	build_originate(o, chanid, &act);
	ami_msg_add(&act, "ActionID", "ami-0000000000-0000000000-0000000000");
	bad = ami_msg_check_send(&act, err, sizeof err);
	ami_msg_free(&act);
	return bad ? usage_error("%s", err) : RC_OK;
}

int cmd_originate(int argc, char **argv, struct ctx *ctx)
{
	struct orig_opts o;
	struct ami *a;
	char *chanid = NULL;
	int rc;

	memset(&o, 0, sizeof o);
	o.ring_ms = -1;
	if ((rc = parse_args(argc, argv, ctx, &o)) != RC_CONTINUE)
		goto out;           /* --help, or a usage error */
	if ((rc = check_target(&o)) != RC_OK || (rc = check_values(&o)) != RC_OK)
		goto out;
	if (o.sync && o.wait == WAIT_NONE)
		o.wait = WAIT_ANSWER;       /* the response itself is the answer */
	if (o.channel_id)
		chanid = xstrdup(o.channel_id);
	else if (o.wait != WAIT_NONE)
		chanid = make_channel_id(); /* know the Uniqueid before any event */
	if ((rc = check_wire(&o, chanid)) != RC_OK)
		goto out;
	warn_blacklist(&o);
	warn_ignored(&o);
	/* OriginateResponse and Hangup are "call" events; a sync answer needs none. */
	int need_events = o.wait == WAIT_HANGUP || (o.wait == WAIT_ANSWER && !o.sync);
	if ((rc = ctx_session(ctx, &a, need_events ? "call" : "off")) != RC_OK)
		goto out;
	log_info("originating %s%s%s", o.channel, chanid ? " with ChannelId " : "",
		 chanid ? chanid : "");
	rc = run(a, &o, chanid, ctx->ov.timeout_ms);
	ctx_session_done(ctx, a);
out:
	free(chanid);
	free(o.vars);
	return rc;
}
