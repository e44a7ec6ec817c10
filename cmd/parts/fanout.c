/* fanout.c - one command against many PBXes at once: a child ami per
 * profile, their output merged here by whole records, each tagged with
 * its profile (see fanout.h).
 *
 * Children, not one process with many sessions: the session layer stays
 * blocking and simple, a slow or dead PBX costs a process, not a stall of
 * the others, and each child keeps every guarantee of a single run (its
 * deadlines, its slow-reader queue, its Logoff on Ctrl-C). A child dies
 * with us (PR_SET_PDEATHSIG), and we wait for every child we started. */
#define _GNU_SOURCE         /* pipe2 */
#include "fanout.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fleet.h"

#define READ_CHUNK (64 * 1024)
#define READ_BUDGET (4 * READ_CHUNK)  /* from one pipe per wait */
#define STOP_WAIT_MS 3000           /* after we stop them, children get this long */

struct child {
	const char *name;
	pid_t pid;                  /* 0: not started; -1: reaped */
	int out, err;               /* pipes, -1 once closed */
	struct strbuf obuf;         /* stdout not yet forwarded */
	struct strbuf ebuf;         /* stderr: an unfinished line (streams), all (units) */
	char *last_err;             /* its last stderr line, for the failure line */
	struct ami_parser *raw;     /* raw output, framed into messages */
	int status;                 /* exit status once reaped */
	int printed;                /* units: its output has gone out */
};

struct fanout {
	struct ctx *ctx;
	struct fleet fleet;
	struct child *kids;
	size_t *done;               /* wait_children's list of the children that ended */
	size_t width;               /* the longest name: text prefixes line up */
	size_t started, running, parallel;
	int raw;                    /* records are AMI messages (raw output) */
	int json;
	int streaming;
};

const char *fanout_child_profile(void)
{
	const char *p = getenv("AMI_FANOUT_PROFILE");
	return p && *p ? p : NULL;
}

/* ---------- tagging ---------- */

/* One line of a child's output, tagged; the line ends with its '\n' (or
 * the output does). */
static int put_line(struct fanout *f, const struct child *k, const char *s, size_t n)
{
	if (f->json && n && s[0] == '{') {
		out_write("{\"AmiProfile\":", 14);
		out_json_string(k->name, strlen(k->name));
		if (n > 1 && s[1] != '}')
			out_write(",", 1);
		return out_write(s + 1, n - 1);
	}
	out_printf("%s:%*s", k->name, (int)(f->width - strlen(k->name) + 1), "");
	return out_write(s, n);
}

/* A raw message: its first line, the tag, the rest. */
static int put_message(const struct child *k, const char *s, size_t n)
{
	const char *nl = memchr(s, '\n', n);
	size_t first = nl ? (size_t)(nl - s) + 1 : n;

	out_write(s, first);
	out_printf("AmiProfile: %s%s", k->name, first > 1 && s[first - 2] == '\r' ? "\r\n" : "\n");
	return out_write(s + first, n - first);
}

/* Event records forwarded, our own markers not counted: a record that
 * starts with an event named Ami... is ami's (AmiDropped, AmiReconnect). */
static int is_marker(const struct fanout *f, const char *s, size_t n)
{
	static const char json[] = "{\"Event\":\"Ami", raw[] = "Event: Ami";

	if (f->json)
		return n >= sizeof json - 1 && !memcmp(s, json, sizeof json - 1);
	if (f->raw)
		return n >= sizeof raw - 1 && !strncasecmp(s, raw, sizeof raw - 1);
	s = memchr(s, ' ', n);          /* text: "HH:MM:SS.mmm Name ..." */
	return s && !strncmp(s + 1, "Ami", 3);
}

/* Forwards the complete records in k's stdout buffer (all of it at the
 * end: last) and keeps the rest; with events, counts the events among them
 * and stops at count in all (0: no limit). */
static int put_records(struct fanout *f, struct child *k, int last, unsigned long *events,
		       unsigned long count)
{
	struct strbuf *b = &k->obuf;
	size_t pos = 0;
	int rc = RC_OK;

	if (f->raw) {
		struct ami_view v;
		ami_parser_feed(k->raw, b->p ? b->p : "", b->len);
		b->len = 0;
		while (rc == RC_OK && (!count || *events < count) &&
		       ami_parser_next_view(k->raw, &v, 0) > 0) {
			if (!v.wire)
				continue;
			rc = put_message(k, v.wire, v.wire_len);
			if (events)
				*events += !is_marker(f, v.wire, v.wire_len);
		}
		if (last && rc == RC_OK && ami_parser_pending(k->raw))
			rc = out_write("\n", 1);    /* what never made a message: nothing to tag */
		return rc;
	}
	while (rc == RC_OK && pos < b->len && (!count || *events < count)) {
		const char *nl = memchr(b->p + pos, '\n', b->len - pos);
		size_t end = nl ? (size_t)(nl - b->p) + 1 : b->len;
		if (!nl && !last)
			break;
		rc = put_line(f, k, b->p + pos, end - pos);
		if (events)
			*events += !is_marker(f, b->p + pos, end - pos);
		if (!nl && rc == RC_OK)
			rc = out_write("\n", 1);
		pos = end;
	}
	if (pos) {
		memmove(b->p, b->p + pos, b->len - pos);
		b->len -= pos;
	}
	return rc;
}

/* ---------- stderr ---------- */

/* "ami ping: cannot connect ..." -> "cannot connect ...": the child's own
 * name for itself says nothing here. */
static const char *reason_of(const char *line)
{
	const char *colon;

	if (strncmp(line, "ami", 3) || !(colon = strstr(line, ": ")))
		return line;
	return colon + 2;
}

static void put_err_line(const struct fanout *f, const struct child *k, const char *line)
{
	fprintf(stderr, "%s:%*s%s\n", k->name, (int)(f->width - strlen(k->name) + 1), "",
		reason_of(line));
}

/* Streams: each complete stderr line goes out at once, tagged (with the
 * unfinished one too at the end: last). */
static void take_err(const struct fanout *f, struct child *k, int last)
{
	struct strbuf *b = &k->ebuf;
	size_t pos = 0;

	while (pos < b->len) {
		const char *nl = memchr(b->p + pos, '\n', b->len - pos);
		size_t end = nl ? (size_t)(nl - b->p) : b->len;
		if (!nl && !last)
			break;
		free(k->last_err);
		k->last_err = xstrndup(b->p + pos, end - pos);
		put_err_line(f, k, k->last_err);
		pos = end + 1;
	}
	if (pos >= b->len) {
		b->len = 0;
	} else if (pos) {
		memmove(b->p, b->p + pos, b->len - pos);
		b->len -= pos;
	}
}

/* Units: the child's stderr, every line but its last as it was, the last
 * (the reason it failed) with its exit status. */
static void put_unit_err(const struct fanout *f, struct child *k)
{
	struct strbuf *b = &k->ebuf;
	size_t pos = 0;

	while (pos < b->len) {
		const char *nl = memchr(b->p + pos, '\n', b->len - pos);
		size_t end = nl ? (size_t)(nl - b->p) : b->len;
		char *line = xstrndup(b->p + pos, end - pos);
		int lastline = end + 1 >= b->len;
		if (lastline && k->status != RC_OK)
			fprintf(stderr, "%s:%*s%s (exit %d)\n", k->name,
				(int)(f->width - strlen(k->name) + 1), "", reason_of(line), k->status);
		else
			put_err_line(f, k, line);
		free(line);
		pos = end + 1;
	}
	if (!b->len && k->status != RC_OK)
		fprintf(stderr, "%s:%*sfailed (exit %d)\n", k->name,
			(int)(f->width - strlen(k->name) + 1), "", k->status);
	b->len = 0;
}

/* ---------- children ---------- */

/* In the child, forked without exec (an exec, with its dynamic linking,
 * costs milliseconds a child of a hundred does not need): it starts over
 * as a new ami on the same arguments, told its profile, with nothing of
 * ours but what fork copied (the other children's pipes are closed, what
 * we had not written yet is forgotten). */
static void run_child(struct fanout *f, struct child *k)
{
	int argc = 0;

	for (size_t i = 0; i < f->started; i++) {
		if (f->kids[i].out >= 0)
			close(f->kids[i].out);
		if (f->kids[i].err >= 0)
			close(f->kids[i].err);
	}
	out_forget();
	out_set_format(OUT_TEXT);
	verbosity = 0;
	opt_reset();
	setenv("AMI_FANOUT_PROFILE", k->name, 1);
	while (f->ctx->argv[argc])
		argc++;
	_exit(ami_main(argc, f->ctx->argv));
}

static int start_child(struct fanout *f, struct child *k)
{
	int out[2], err[2];
	pid_t parent = getpid();

	if (pipe2(out, O_CLOEXEC) < 0)
		return -1;
	if (pipe2(err, O_CLOEXEC) < 0) {
		close(out[0]);
		close(out[1]);
		return -1;
	}
	fflush(stdout);
	fflush(stderr);
	if ((k->pid = fork()) < 0) {
		close(out[0]), close(out[1]), close(err[0]), close(err[1]);
		return -1;
	}
	if (k->pid == 0) {          /* the child: dies with us, then is ami again */
		int null = open("/dev/null", O_RDONLY);
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(RC_INTERRUPTED);
		if (null < 0 || dup2(null, STDIN_FILENO) < 0 || dup2(out[1], STDOUT_FILENO) < 0 ||
		    dup2(err[1], STDERR_FILENO) < 0)
			_exit(RC_IO);
		int orig[] = { null, out[0], out[1], err[0], err[1] };
		for (size_t i = 0; i < ARRAY_LEN(orig); i++)
			if (orig[i] > STDERR_FILENO)    /* unless it was a std fd itself */
				close(orig[i]);
		run_child(f, k);
	}
	close(out[1]);
	close(err[1]);
	k->out = out[0];
	k->err = err[0];
	fcntl(k->out, F_SETFL, O_NONBLOCK);
	fcntl(k->err, F_SETFL, O_NONBLOCK);
	f->running++;
	return 0;
}

/* Starts children while fewer than --parallel run. */
static int start_more(struct fanout *f)
{
	while (f->started < f->fleet.n && f->running < f->parallel) {
		struct child *k = &f->kids[f->started++];
		if (start_child(f, k) < 0) {
			log_error("%s: cannot start a child ami:", k->name);
			k->pid = -1;
			k->status = RC_IO;
			return RC_IO;
		}
	}
	return RC_OK;
}

/* Reads what a pipe has into b, at most READ_BUDGET at a time: a child
 * that writes as fast as we read must not grow b without end (what it
 * has not written yet waits in its own bounded queue). 1: more may
 * come; 0: closed. */
static int drain_fd(int *fd, struct strbuf *b)
{
	char chunk[READ_CHUNK];

	for (size_t got = 0; got < READ_BUDGET;) {
		ssize_t n = read(*fd, chunk, sizeof chunk);
		if (n > 0) {
			strbuf_add(b, chunk, (size_t)n);
			if ((size_t)n < sizeof chunk)
				return 1;
			got += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 1;
		close(*fd);
		*fd = -1;
		return 0;
	}
	return 1;
}

/* Both pipes closed: the child is ending; wait for it. */
static void reap(struct fanout *f, struct child *k)
{
	int st;

	while (waitpid(k->pid, &st, 0) < 0 && errno == EINTR)
		;
	k->status = WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? 128 + WTERMSIG(st) : RC_IO;
	k->pid = -1;
	f->running--;
}

/* Tells every running child to stop, then waits for them (killing those
 * that take too long). */
static void stop_all(struct fanout *f, int sig)
{
	int64_t deadline = now_ms() + STOP_WAIT_MS;

	for (size_t i = 0; i < f->started; i++)
		if (f->kids[i].pid > 0)
			kill(f->kids[i].pid, sig);
	for (size_t i = 0; i < f->started; i++) {
		struct child *k = &f->kids[i];
		int st;
		while (k->pid > 0) {
			pid_t r = waitpid(k->pid, &st, WNOHANG);
			if (r == k->pid || (r < 0 && errno != EINTR)) {
				k->status = r == k->pid && WIFEXITED(st) ? WEXITSTATUS(st) : RC_INTERRUPTED;
				k->pid = -1;
				f->running--;
			} else if (ms_left(deadline) == 0) {
				kill(k->pid, SIGKILL);
			} else {
				poll(NULL, 0, 20);
			}
		}
	}
}

/* ---------- the loop ---------- */

static int setup(struct fanout *f, struct ctx *ctx, int streaming)
{
	const char *spec = ctx->ov.profile ? ctx->ov.profile : getenv("AMI_PROFILE");
	int rc;

	memset(f, 0, sizeof *f);
	f->ctx = ctx;
	f->streaming = streaming;
	if (ctx->ov.secret_stdin)
		return usage_error("--secret-stdin reads one secret; with several profiles give "
				   "each its own secret_file");
	if (!ctx->argv)
		return usage_error("%s acts on one PBX: -p takes one profile here", ctx->cmd->name);
	if ((rc = fleet_expand(&f->fleet, ctx->ov.config_file, spec)) != RC_OK)
		return rc;
	f->kids = xcalloc(f->fleet.n, sizeof *f->kids);
	f->done = xcalloc(f->fleet.n, sizeof *f->done);
	for (size_t i = 0; i < f->fleet.n; i++) {
		struct child *k = &f->kids[i];
		k->name = f->fleet.names[i];
		k->out = k->err = -1;
		if (strlen(k->name) > f->width)
			f->width = strlen(k->name);
	}
	f->parallel = ctx->parallel ? ctx->parallel : 32;
	f->json = out_get_format() == OUT_JSON;
	f->raw = out_get_format() == OUT_RAW && strcmp(ctx->cmd->name, "ping") &&
		 strcmp(ctx->cmd->name, "doctor");
	if (f->raw)
		for (size_t i = 0; i < f->fleet.n; i++)
			f->kids[i].raw = ami_parser_new(NULL, 0);
	return RC_OK;
}

static void cleanup(struct fanout *f)
{
	for (size_t i = 0; f->kids && i < f->fleet.n; i++) {
		struct child *k = &f->kids[i];
		if (k->out >= 0)
			close(k->out);
		if (k->err >= 0)
			close(k->err);
		strbuf_free(&k->obuf);
		strbuf_free(&k->ebuf);
		free(k->last_err);
		ami_parser_free(k->raw);
	}
	free(f->kids);
	free(f->done);
	fleet_free(&f->fleet);
}

/* Waits for any child's output; fills each buffer. Returns the children
 * that finished (pipes closed and reaped) in f->done[0, *ndone). */
static int wait_children(struct fanout *f, int timeout_ms, size_t *ndone)
{
	struct pollfd *pfd = xcalloc(2 * f->started + 1, sizeof *pfd);
	size_t *who = xcalloc(2 * f->started + 1, sizeof *who);
	size_t np = 0;
	int r;

	*ndone = 0;
	for (size_t i = 0; i < f->started; i++) {
		if (f->kids[i].out >= 0) {
			pfd[np] = (struct pollfd){ .fd = f->kids[i].out, .events = POLLIN };
			who[np++] = i;
		}
		if (f->kids[i].err >= 0) {
			pfd[np] = (struct pollfd){ .fd = f->kids[i].err, .events = POLLIN };
			who[np++] = i;
		}
	}
	r = poll(pfd, np, timeout_ms);
	for (size_t j = 0; r > 0 && j < np; j++) {
		struct child *k = &f->kids[who[j]];
		if (!pfd[j].revents)
			continue;
		if (pfd[j].fd == k->out)
			drain_fd(&k->out, &k->obuf);
		else
			drain_fd(&k->err, &k->ebuf);
	}
	for (size_t i = 0; i < f->started; i++) {
		struct child *k = &f->kids[i];
		if (k->pid > 0 && k->out < 0 && k->err < 0) {
			reap(f, k);
			f->done[(*ndone)++] = i;
		}
	}
	free(pfd);
	free(who);
	return r < 0 && errno != EINTR ? RC_IO : RC_OK;
}

/* The exit status of the run, the failure lines already printed: 0, or
 * the status of the first failed profile in the order named. */
static int verdict(const struct fanout *f)
{
	size_t failed = 0;
	int rc = RC_OK;

	for (size_t i = 0; i < f->fleet.n; i++) {
		if (f->kids[i].status == RC_OK)
			continue;
		if (!failed++)
			rc = f->kids[i].status;
	}
	if (failed)
		log_error("%zu of %zu profiles failed", failed, f->fleet.n);
	return rc;
}

/* Units: the next outputs that may go out, in order (or as they come). */
static int print_units(struct fanout *f)
{
	int rc = RC_OK;

	for (size_t i = 0; i < f->fleet.n && rc == RC_OK; i++) {
		struct child *k = &f->kids[i];
		if (k->printed)
			continue;
		if (k->pid != -1) {     /* not done yet */
			if (f->ctx->unordered)
				continue;
			break;
		}
		rc = put_records(f, k, 1, NULL, 0);
		if (rc == RC_OK)
			rc = out_flush();
		put_unit_err(f, k);
		k->printed = 1;
	}
	return rc;
}

int fanout_units(struct ctx *ctx)
{
	struct fanout f;
	int rc = setup(&f, ctx, 0);

	if (rc != RC_OK) {
		cleanup(&f);
		return rc;
	}
	rc = start_more(&f);
	while (rc == RC_OK && f.running > 0) {
		size_t nd;
		if ((rc = wait_children(&f, -1, &nd)) == RC_OK && nd)
			rc = start_more(&f);
		if (rc == RC_OK && nd)
			rc = print_units(&f);
		if (interrupted && rc == RC_OK) {
			stop_all(&f, interrupted);   /* a Ctrl-C reached them too: wait */
			rc = interrupted == SIGTERM ? RC_TERMINATED : RC_INTERRUPTED;
		}
	}
	if (rc != RC_OK)
		stop_all(&f, SIGTERM);
	else
		rc = verdict(&f);
	cleanup(&f);
	return rc;
}

/* ---------- tail-events ---------- */


/* A child's stream ended by a lost connection: say so in the stream. */
static int put_disconnected(struct fanout *f, struct child *k)
{
	const char *why = k->last_err ? reason_of(k->last_err) : "connection lost";
	char code[16];
	struct ami_msg m;
	int rc;

	snprintf(code, sizeof code, "%d", k->status);
	if (!f->json && !f->raw) {
		struct timespec ts;
		struct tm tm;
		char when[16];
		clock_gettime(CLOCK_REALTIME, &ts);
		localtime_r(&ts.tv_sec, &tm);
		strftime(when, sizeof when, "%H:%M:%S", &tm);
		out_printf("%s:%*s%s.%03ld AmiDisconnected Exit=%s Cause=\"", k->name,
			   (int)(f->width - strlen(k->name) + 1), "", when, ts.tv_nsec / 1000000, code);
		for (const char *p = why; *p; p++)
			out_printf(*p == '"' || *p == '\\' ? "\\%c" : "%c", *p);
		return out_puts("\"\n");
	}
	ami_msg_init(&m);
	if (f->json)
		ami_msg_add(&m, "AmiProfile", k->name);
	ami_msg_add(&m, "Event", "AmiDisconnected");
	if (!f->json)
		ami_msg_add(&m, "AmiProfile", k->name);
	ami_msg_add(&m, "Exit", code);
	ami_msg_add(&m, "Cause", why);
	rc = out_msg(&m);
	ami_msg_free(&m);
	return rc;
}

int fanout_tail(struct ctx *ctx, const struct fanout_stream *opt)
{
	struct fanout f;
	unsigned long events = 0;
	int64_t idle_until = opt->idle_ms ? now_ms() + opt->idle_ms : -1;
	int rc = setup(&f, ctx, 1), stop = 0;

	if (rc != RC_OK) {
		cleanup(&f);
		return rc;
	}
	f.parallel = f.fleet.n;         /* a stream needs every profile at once */
	rc = start_more(&f);
	while (rc == RC_OK && f.running > 0 && !stop) {
		size_t nd;
		unsigned long before = events;
		rc = wait_children(&f, idle_until < 0 ? -1 : ms_left(idle_until), &nd);
		for (size_t i = 0; i < f.started && rc == RC_OK; i++) {
			struct child *k = &f.kids[i];
			rc = put_records(&f, k, 0, &events, opt->count);
			take_err(&f, k, k->err < 0);
		}
		for (size_t j = 0; j < nd && rc == RC_OK; j++) {
			struct child *k = &f.kids[f.done[j]];
			if (k->status == RC_OK)
				stop = 1;       /* its --until came: the stream ends */
			else if (k->status == RC_CONNECT || k->status == RC_PROTOCOL)
				rc = put_disconnected(&f, k);
		}
		if (rc == RC_OK)
			rc = out_flush();
		if (opt->count && events >= opt->count)
			stop = 1;
		if (events != before && opt->idle_ms)
			idle_until = now_ms() + opt->idle_ms;
		if (rc == RC_OK && !stop && idle_until >= 0 && ms_left(idle_until) == 0) {
			log_warn("no event for %.1f s (--idle)", opt->idle_ms / 1000.0);
			rc = RC_TIMEOUT;
		}
		if (interrupted && rc == RC_OK)
			rc = interrupted == SIGTERM ? RC_TERMINATED : RC_INTERRUPTED;
	}
	if (rc != RC_OK || stop || f.running > 0)
		stop_all(&f, SIGTERM);
	for (size_t i = 0; i < f.started; i++)
		take_err(&f, &f.kids[i], 1);
	if (rc == RC_OK && !stop)
		rc = verdict(&f);       /* every stream ended by itself */
	cleanup(&f);
	return rc;
}
