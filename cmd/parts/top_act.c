/* top_act.c - what the panel's keys do to calls: Hangup (h), Redirect (t
 * and T) and a ChanSpy Originate from the operator's own phone (b), each
 * reporting Success or Asterisk's message in the status line. Also the
 * operator's phone, remembered per profile in $XDG_STATE_HOME/ami/top-spy. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "top.h"

#define SPY_FILE "top-spy"
#define SPY_RING_MS "30000"     /* how long the operator's phone rings */

const char *top_bad_input(const char *s)
{
	return bad_char_name(s, strlen(s));
}

/* The channel a row stands for: the call's caller, or the row's channel. */
static const struct pbx_channel *row_channel(const struct row *r)
{
	struct pbx_call_view v;

	switch (r->type) {
	case ROW_CALL:
		pbx_call_view(r->e, &v);
		return v.caller;
	case ROW_CHANNEL: case ROW_CONF_MEMBER: case ROW_QUEUE_CALLER:
		return r->e;
	default:
		return NULL;
	}
}

size_t top_row_describe(const struct row *r, char *out, size_t len)
{
	const struct pbx_channel *ch = row_channel(r);
	struct pbx_call_view v;
	char from[80], to[80];

	*out = '\0';
	if (!ch)
		return 0;
	if (r->type != ROW_CALL) {
		snprintf(out, len, "%s", ch->name);
		return 1;
	}
	pbx_call_view(r->e, &v);
	snprintf(from, sizeof from, "%s", *v.caller_num ? v.caller_num : v.caller->name);
	snprintf(to, sizeof to, "%s", *v.callee_num ? v.callee_num : "?");
	snprintf(out, len, "the call %s -> %s (%zu channel%s)", from, to, v.call->channels.n,
		 v.call->channels.n == 1 ? "" : "s");
	return v.call->channels.n;
}

/* The Message of a refusal, else the session's error. */
static const char *why(const struct top *t, int rc, const struct ami_msg *reply)
{
	const char *m = rc == RC_ACTION ? ami_msg_get(reply, "Message") : NULL;

	return m ? m : t->a ? ami_error(t->a) : t->cause;
}

/* ---------- h: Hangup ---------- */

static int hangup_one(struct top *t, const char *name, struct ami_msg *reply)
{
	struct ami_msg act;
	int rc;

	ami_msg_init(&act);
	ami_msg_add(&act, "Action", "Hangup");
	ami_msg_add(&act, "Channel", name);
	rc = top_action(t, &act, reply);
	ami_msg_free(&act);
	return rc;
}

static int gone(const struct ami_msg *reply)
{
	const char *m = ami_msg_get(reply, "Message");

	return m && contains_nocase(m, "no such channel");
}

/* A call ends with all its channels: each gets a Hangup, the first
 * (the caller) first. Once one is hung up the others may go by
 * themselves before their turn: "No such channel" for them is success. */
void top_hangup(struct top *t, const struct row *r)
{
	const struct pbx_channel *one = row_channel(r);
	struct ami_msg reply;
	char **names;
	size_t n = 0;
	int rc = RC_OK, first_rc = RC_OK;
	char err[600] = "";

	if (!one) {
		top_note(t, 2, "nothing to hang up here: select a call or a channel");
		return;
	}
	if (r->type == ROW_CALL) {
		const struct pbx_call *call = r->e;
		names = xcalloc(call->channels.n + 1, sizeof *names);
		names[n++] = xstrdup(one->name);
		for (const struct pbx_channel *ch = call->channels.first; ch; ch = ch->in_call.next)
			if (ch != one)
				names[n++] = xstrdup(ch->name);
	} else {
		names = xcalloc(1, sizeof *names);
		names[n++] = xstrdup(one->name);
	}
	ami_msg_init(&reply);
	/* The model may change under us (events read while waiting): the
	 * names were copied first. */
	for (size_t i = 0; i < n && t->a; i++) {
		rc = hangup_one(t, names[i], &reply);
		if (rc == RC_OK || (i > 0 && rc == RC_ACTION && gone(&reply)))
			continue;
		if (!*err) {
			first_rc = rc;
			snprintf(err, sizeof err, "Hangup %s: %s", names[i], why(t, rc, &reply));
		}
	}
	if (first_rc != RC_OK)
		top_note(t, 2, "%s", err);
	else if (n == 1)
		top_note(t, 1, "Success: hung up %s", names[0]);
	else
		top_note(t, 1, "Success: hung up the call of %s (%zu channels)", names[0], n);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	ami_msg_free(&reply);
}

/* ---------- t, T: Redirect ---------- */

/* The half of the caller's side that is in the bridge. */
static const struct pbx_channel *bridged_half(const struct pbx_channel *ch,
					      const struct pbx_bridge *b)
{
	if (ch->bridge == b)
		return ch;
	return ch->local_peer && ch->local_peer->bridge == b ? ch->local_peer : NULL;
}

/* Who moves: main, and extra (or NULL). A call row moves whole when it is
 * a two-party bridge and both is set: its two bridged channels, in one
 * Redirect. Otherwise the caller (its bridged half when bridged: the other
 * party is then hung up by Asterisk), or the row's channel. */
static void movers(const struct row *r, int both, const struct pbx_channel **main_ch,
		   const struct pbx_channel **extra)
{
	struct pbx_call_view v;

	*extra = NULL;
	*main_ch = row_channel(r);
	if (r->type != ROW_CALL || !*main_ch)
		return;
	pbx_call_view(r->e, &v);
	if (!v.bridge)
		return;
	const struct pbx_channel *half = bridged_half(v.caller, v.bridge);
	if (half)
		*main_ch = half;
	if (both && half && v.bridge->members.n == 2) {
		const struct pbx_channel *a = v.bridge->members.first, *b = a->in_bridge.next;
		*extra = a == half ? b : a;
	}
}

size_t top_transfer_describe(const struct row *r, int both, char *out, size_t len)
{
	const struct pbx_channel *m, *x;

	movers(r, both, &m, &x);
	*out = '\0';
	if (!m)
		return 0;
	snprintf(out, len, "%s%s%s", m->name, x ? " and " : "", x ? x->name : "");
	return x ? 2 : 1;
}

/* "300" or "300@from-internal"; the context defaults to the channel's. */
static int parse_dest(struct top *t, const char *dest, const struct pbx_channel *ch,
		      char *exten, char *context)
{
	const char *at = strchr(dest, '@'), *bad = top_bad_input(dest);
	size_t elen = at ? (size_t)(at - dest) : strlen(dest);

	if (bad) {
		top_note(t, 2, "the destination contains %s; nothing sent", bad);
		return -1;
	}
	if (elen == 0 || elen > PBX_MAX_STR || (at && (!at[1] || strlen(at + 1) > PBX_MAX_STR))) {
		top_note(t, 2, "transfer: expected exten[@context], not \"%s\"", dest);
		return -1;
	}
	memcpy(exten, dest, elen);
	exten[elen] = '\0';
	snprintf(context, PBX_MAX_STR + 1, "%s", at ? at + 1 : ch->context);
	if (!*context) {
		top_note(t, 2, "transfer: the context of %s is not known: write %s@CONTEXT",
			 ch->name, exten);
		return -1;
	}
	return 0;
}

void top_transfer(struct top *t, const struct row *r, const char *dest, int both)
{
	const struct pbx_channel *m, *x;
	char exten[PBX_MAX_STR + 1], context[PBX_MAX_STR + 1], mname[PBX_MAX_STR + 1];
	char xname[PBX_MAX_STR + 1] = "", err[300];
	struct ami_msg act, reply;
	int rc;

	movers(r, both, &m, &x);
	if (!m) {
		top_note(t, 2, "nothing to transfer here: select a call or a channel");
		return;
	}
	if (parse_dest(t, dest, m, exten, context) != 0)
		return;
	snprintf(mname, sizeof mname, "%s", m->name);
	if (x)
		snprintf(xname, sizeof xname, "%s", x->name);
	ami_msg_init(&act);
	ami_msg_init(&reply);
	ami_msg_add(&act, "Action", "Redirect");
	ami_msg_add(&act, "Channel", mname);
	ami_msg_add(&act, "Context", context);
	ami_msg_add(&act, "Exten", exten);
	ami_msg_add(&act, "Priority", "1");
	if (*xname) {
		ami_msg_add(&act, "ExtraChannel", xname);
		ami_msg_add(&act, "ExtraContext", context);
		ami_msg_add(&act, "ExtraExten", exten);
		ami_msg_add(&act, "ExtraPriority", "1");
	}
	if (ami_msg_check_send(&act, err, sizeof err) != 0)
		top_note(t, 2, "transfer: %s", err);
	else if ((rc = top_action(t, &act, &reply)) != RC_OK)
		top_note(t, 2, "Redirect %s: %s", mname, why(t, rc, &reply));
	else
		top_note(t, 1, "Success: %s%s%s sent to %s@%s", mname, *xname ? " and " : "", xname,
			 exten, context);
	ami_msg_free(&act);
	ami_msg_free(&reply);
}

/* ---------- b: ChanSpy ---------- */

const char *top_spy_target(const struct row *r)
{
	const struct pbx_channel *ch = row_channel(r);

	return ch ? ch->name : "";
}

void top_spy(struct top *t, const struct row *r)
{
	static unsigned seq;
	const struct pbx_channel *target = row_channel(r);
	char data[PBX_MAX_STR + 16], err[300];
	struct ami_msg act, reply;
	int rc;

	if (!target) {
		top_note(t, 2, "nothing to listen to here: select a call or a channel");
		return;
	}
	if (strchr(target->name, ',')) {    /* it would split ChanSpy's arguments */
		top_note(t, 2, "cannot spy on %s: a comma in its name", target->name);
		return;
	}
	snprintf(data, sizeof data, "%s,qE%s%s", target->name, t->whisper ? "w" : "",
		 t->barge ? "B" : "");
	snprintf(t->spy_id, sizeof t->spy_id, "top-spy-%d-%u", (int)getpid(), ++seq);
	ami_msg_init(&act);
	ami_msg_init(&reply);
	ami_msg_add(&act, "Action", "Originate");
	ami_msg_add(&act, "ActionID", t->spy_id);
	ami_msg_add(&act, "Channel", t->spy_from);
	ami_msg_add(&act, "Application", "ChanSpy");
	ami_msg_add(&act, "Data", data);
	ami_msg_add(&act, "Timeout", SPY_RING_MS);
	ami_msg_add(&act, "Async", "true");
	if (ami_msg_check_send(&act, err, sizeof err) != 0)
		top_note(t, 2, "ChanSpy: %s", err);
	else if ((rc = top_action(t, &act, &reply)) != RC_OK)
		top_note(t, 2, "Originate %s: %s", t->spy_from, why(t, rc, &reply));
	else
		top_note(t, 1, "Success: calling %s to %s %s", t->spy_from,
			 t->barge ? "barge into" : t->whisper ? "whisper to" : "listen to", target->name);
	ami_msg_free(&act);
	ami_msg_free(&reply);
}

void top_spy_event(struct top *t, const struct ami_msg *ev)
{
	const char *resp = ami_msg_get(ev, "Response"), *reason = ami_msg_get(ev, "Reason");

	if (resp && !strcasecmp(resp, "Success"))
		top_note(t, 1, "%s answered: ChanSpy is on", t->spy_from);
	else
		top_note(t, 2, "%s did not answer (reason %s): no ChanSpy", t->spy_from,
			 reason ? reason : "?");
	t->spy_id[0] = '\0';
}

/* The file that remembers each profile's phone: "PROFILE<TAB>CHANNEL"
 * lines; NULL when there is no place for it. */
static char *spy_path(void)
{
	return state_file_path(SPY_FILE);
}

void top_spy_load(struct top *t)
{
	char *path = spy_path(), line[600];
	const char *prof = top_profile_name(t);
	size_t plen = strlen(prof);
	FILE *f;

	if (!path || !(f = fopen(path, "r"))) {
		free(path);
		return;
	}
	while (fgets(line, sizeof line, f)) {
		line[strcspn(line, "\n")] = '\0';
		if (!strncmp(line, prof, plen) && line[plen] == '\t' && !top_bad_input(line + plen + 1))
			snprintf(t->spy_from, sizeof t->spy_from, "%s", line + plen + 1);
	}
	fclose(f);
	free(path);
}

/* Rewrites the file with this profile's line replaced, through a private
 * temporary file renamed over it. */
static int spy_save(const struct top *t, const char *path)
{
	char *tmp = xasprintf("%s.%d", path, (int)getpid()), line[600];
	const char *prof = top_profile_name(t);
	size_t plen = strlen(prof);
	FILE *in = fopen(path, "r"), *out = NULL;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600), rc = -1;

	if (fd >= 0 && fchmod(fd, 0600) == 0 && (out = fdopen(fd, "w"))) {
		fd = -1;
		while (in && fgets(line, sizeof line, in))
			if (strncmp(line, prof, plen) || line[plen] != '\t')
				fputs(line, out);
		fprintf(out, "%s\t%s\n", prof, t->spy_from);
		rc = fflush(out) == 0 && fsync(fileno(out)) == 0 ? 0 : -1;
		rc |= fclose(out);
		if (rc == 0)
			rc = rename(tmp, path);
	}
	if (fd >= 0)
		close(fd);
	if (rc != 0)
		unlink(tmp);
	if (in)
		fclose(in);
	free(tmp);
	return rc;
}

int top_spy_remember(struct top *t, const char *channel)
{
	const char *bad = top_bad_input(channel);
	char *path;

	if (bad || !strchr(channel, '/') || channel[0] == '/' || strchr(channel, '\t') ||
	    strlen(channel) > PBX_MAX_STR) {
		top_note(t, 2, "your phone must be a channel like PJSIP/100%s%s", bad ? ", without " : "",
			 bad ? bad : "");
		return -1;
	}
	snprintf(t->spy_from, sizeof t->spy_from, "%s", channel);
	if ((path = spy_path()) && spy_save(t, path) != 0)
		top_note(t, 2, "cannot remember %s in %s: %s", channel, path, strerror(errno));
	free(path);
	return 0;
}
