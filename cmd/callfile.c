/* callfile.c - `ami callfile`: build an Asterisk call file and move it into
 * the outgoing spool in one step, so Asterisk (which acts on any regular
 * file that appears there, at once with inotify) never reads half a file.
 * `check` lints call files as Asterisk reads them; `list` shows the pending
 * ones. The file format rules live in common/callfile.c (no I/O there). */
#define _GNU_SOURCE     /* renameat2(RENAME_NOREPLACE) */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "callfile.h"
#include "cmds.h"
#include "json.h"

#define FILE_MAX (16 * 1024 * 1024)     /* larger "call files" are not call files */
#define GONE_GRACE_MS 2000              /* see wait_loop() */

const char cmd_callfile_help[] =
	"usage: ami callfile [options] CHANNEL (--app APP [--data DATA] |\n"
	"                    --context CONTEXT --exten EXTEN [--priority N])\n"
	"       ami callfile check FILE...\n"
	"       ami callfile list [--spool DIR]\n"
	"\n"
	"Write an Asterisk call file and move it into the outgoing spool in one step\n"
	"(temporary file next to the spool, fsync, mtime, owner, rename), so Asterisk\n"
	"never reads a partial file; print the spooled file's path. `check` reports\n"
	"what Asterisk's spool reader would complain about (FILE:LINE: message, exit 1\n"
	"on any problem). `list` prints the pending call files and when each is due.\n"
	"\n"
	"The call:\n"
	"      --app APP           application to run when the channel answers\n"
	"      --data DATA         its arguments\n"
	"      --context CONTEXT   or start the dialplan in CONTEXT,\n"
	"      --exten EXTEN       at EXTEN,\n"
	"      --priority N        priority N (a number; default 1)\n"
	"      --callerid CID      caller ID, e.g. '\"Wake-up\" <100>'\n"
	"      --wait-time S       ring S seconds per attempt (Asterisk's default 45)\n"
	"      --max-retries N     retries after the first attempt (default 0)\n"
	"      --retry-time S      seconds between attempts (default 300)\n"
	"      --account CODE      CDR account code\n"
	"      --set NAME=VALUE    set a channel variable (repeatable)\n"
	"      --codecs LIST       codecs to offer, e.g. alaw,ulaw (default slin)\n"
	"      --archive           Asterisk moves the file to outgoing_done with a\n"
	"                          Status: line instead of deleting it\n"
	"      --always-delete[=yes|no]  no: keep the file after the call if its\n"
	"                          mtime is in the future (Asterisk's default: yes)\n"
	"      --early-media       connect on early media (extension calls only)\n"
	"When and where:\n"
	"      --at TIME           call at TIME: 'YYYY-MM-DD HH:MM[:SS]' (local time),\n"
	"                          ISO 8601 (YYYY-MM-DDTHH:MM:SS[Z|+HH:MM]) or @EPOCH\n"
	"      --in DURATION       call after DURATION: 90s, 15m, 2h, 1d, 1h30m\n"
	"      --force             accept a time in the past, replace a same-named file\n"
	"      --spool DIR         spool directory (default: the profile's spool_dir,\n"
	"                          else " DEFAULT_SPOOL ")\n"
	"      --name NAME         file name in the spool (default ami-TIME-PID-RAND.call)\n"
	"      --owner USER[:GROUP]  owner of the file (default: the spool's owner)\n"
	"      --tmp-dir DIR       directory for the temporary file (default: the\n"
	"                          spool's parent; must be on the spool's filesystem)\n"
	"      --print             write the file to stdout instead of spooling it\n"
	"      --wait              with --archive: wait until Asterisk archives the\n"
	"                          file, print its Status:, exit 0 only if Completed;\n"
	"                          -t bounds the wait (default: no limit)\n"
	"Exit: 0 ok; 1 check found problems, or the call did not complete; 2 usage;\n"
	"6 --wait timed out; 8 spooling failed (then nothing was spooled).\n";

enum {
	OPT_WAIT_TIME = OPT_CALL_END, OPT_MAX_RETRIES, OPT_RETRY_TIME, OPT_ACCOUNT, OPT_SET, OPT_CODECS,
	OPT_ARCHIVE, OPT_ALWAYS_DELETE, OPT_EARLY_MEDIA, OPT_AT, OPT_IN, OPT_FORCE, OPT_SPOOL,
	OPT_NAME, OPT_OWNER, OPT_TMP_DIR, OPT_PRINT, OPT_WAIT
};

static const struct option longopts[] = {
	COMMON_LONGOPTS,
	CALL_LONGOPTS,
	{ "wait-time", required_argument, NULL, OPT_WAIT_TIME },
	{ "max-retries", required_argument, NULL, OPT_MAX_RETRIES },
	{ "retry-time", required_argument, NULL, OPT_RETRY_TIME },
	{ "account", required_argument, NULL, OPT_ACCOUNT },
	{ "set", required_argument, NULL, OPT_SET },
	{ "codecs", required_argument, NULL, OPT_CODECS },
	{ "archive", no_argument, NULL, OPT_ARCHIVE },
	{ "always-delete", optional_argument, NULL, OPT_ALWAYS_DELETE },
	{ "early-media", no_argument, NULL, OPT_EARLY_MEDIA },
	{ "at", required_argument, NULL, OPT_AT },
	{ "in", required_argument, NULL, OPT_IN },
	{ "force", no_argument, NULL, OPT_FORCE },
	{ "spool", required_argument, NULL, OPT_SPOOL },
	{ "name", required_argument, NULL, OPT_NAME },
	{ "owner", required_argument, NULL, OPT_OWNER },
	{ "tmp-dir", required_argument, NULL, OPT_TMP_DIR },
	{ "print", no_argument, NULL, OPT_PRINT },
	{ "wait", no_argument, NULL, OPT_WAIT },
	{ NULL, 0, NULL, 0 },
};

struct opts {
	struct callfile cf;
	const char **vars;
	const char *at, *in, *spool, *name, *owner, *tmp_dir;
	int force, print, wait;
	int call_opts;          /* options that only make sense for a new call */
};

/* One spooling in progress: the paths involved and the file's identity. */
struct spool {
	char *dir;              /* the spool directory, without trailing '/' */
	char *parent;           /* its parent: temporary file, outgoing_done */
	char *path;             /* where the call file ends up */
	char *tmp;              /* the temporary file while it exists */
	struct stat dir_st;
	dev_t dev;              /* the spooled file, to recognise it later */
	ino_t ino;
};

/* ------------------------------------------------------------ options */

static int parse_count(const char *opt, const char *arg, long min, long *out)
{
	unsigned long v;

	if (parse_uint(arg, INT_MAX, &v) != 0 || (long)v < min)
		return usage_error("%s: expected a whole number of at least %ld, not \"%s\"",
				   opt, min, arg);
	*out = (long)v;
	return RC_CONTINUE;
}

static int parse_priority(const char *arg, long *out)
{
	unsigned long v;

	if (parse_uint(arg, INT_MAX, &v) != 0 || v < 1)
		return usage_error("--priority \"%s\" is not a number: Asterisk's call-file reader "
				   "only takes numeric priorities (no labels); give the label's "
				   "number", arg);
	*out = (long)v;
	return RC_CONTINUE;
}

static int parse_yes_no(const char *arg, int *out)
{
	if (!arg || !strcmp(arg, "yes"))
		*out = 1;
	else if (!strcmp(arg, "no"))
		*out = 0;
	else
		return usage_error("--always-delete: expected yes or no, not \"%s\"", arg);
	return RC_CONTINUE;
}

static void add_var(struct opts *o, const char *v)
{
	o->vars = xrealloc(o->vars, (o->cf.nvars + 1) * sizeof *o->vars);
	o->vars[o->cf.nvars++] = v;
	o->cf.vars = o->vars;
}

/* The options that describe the call itself (counted), then the shared
 * ones. */
static int call_option(struct opts *o, struct ctx *ctx, int ch, const char *arg)
{
	struct callfile *cf = &o->cf;
	int rc = RC_CONTINUE;

	switch (ch) {
	case OPT_APP: cf->app = arg; break;
	case OPT_DATA: cf->data = arg; break;
	case OPT_CONTEXT: cf->context = arg; break;
	case OPT_EXTEN: cf->exten = arg; break;
	case OPT_PRIORITY: rc = parse_priority(arg, &cf->priority); break;
	case OPT_CALLERID: cf->callerid = arg; break;
	case OPT_WAIT_TIME: rc = parse_count("--wait-time", arg, 1, &cf->wait_time); break;
	case OPT_MAX_RETRIES: rc = parse_count("--max-retries", arg, 0, &cf->max_retries); break;
	case OPT_RETRY_TIME: rc = parse_count("--retry-time", arg, 1, &cf->retry_time); break;
	case OPT_ACCOUNT: cf->account = arg; break;
	case OPT_SET: add_var(o, arg); break;
	case OPT_CODECS: cf->codecs = arg; break;
	case OPT_ARCHIVE: cf->archive = 1; break;
	case OPT_ALWAYS_DELETE: rc = parse_yes_no(arg, &cf->always_delete); break;
	case OPT_EARLY_MEDIA: cf->early_media = 1; break;
	case OPT_AT: o->at = arg; break;
	case OPT_IN: o->in = arg; break;
	case OPT_FORCE: o->force = 1; break;
	case OPT_NAME: o->name = arg; break;
	case OPT_OWNER: o->owner = arg; break;
	case OPT_TMP_DIR: o->tmp_dir = arg; break;
	case OPT_PRINT: o->print = 1; break;
	case OPT_WAIT: o->wait = 1; break;
	default: return ctx_option(ctx, ch, arg);
	}
	o->call_opts++;
	return rc;
}

static int parse_options(int argc, char **argv, struct ctx *ctx, struct opts *o)
{
	int ch, rc;

	while ((ch = getopt_long(argc, argv, COMMON_SHORTOPTS, longopts, NULL)) != -1) {
		if (ch == OPT_SPOOL) {
			o->spool = optarg;
			continue;
		}
		if ((rc = call_option(o, ctx, ch, optarg)) != RC_CONTINUE)
			return rc;
	}
	return RC_CONTINUE;
}

/* --------------------------------------------------------- small helpers */

static void fmt_time(time_t t, int iso, char *buf, size_t n)
{
	struct tm tm;
	char z[8];

	localtime_r(&t, &tm);
	if (!iso) {
		strftime(buf, n, "%Y-%m-%d %H:%M:%S", &tm);
		return;
	}
	utc_offset_iso(&tm, z);
	strftime(buf, n, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + strlen(buf), n - strlen(buf), "%s", z);
}

static int read_fd(int fd, char **buf, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *p = xmalloc(cap);

	for (;;) {
		ssize_t r;
		if (n == cap) {
			if (cap >= FILE_MAX) {
				free(p);
				errno = EFBIG;
				return -1;
			}
			p = xrealloc(p, cap *= 2);
		}
		r = read(fd, p + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			free(p);
			return -1;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	*buf = p;
	*len = n;
	return 0;
}

static int read_path(const char *path, char **buf, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), r, saved;

	if (fd < 0)
		return -1;
	r = read_fd(fd, buf, len);
	saved = errno;
	close(fd);
	errno = saved;
	return r;
}

/* The spool directory: --spool, else the profile's spool_dir. */
static int resolve_spool(const struct opts *o, struct ctx *ctx, char **dir)
{
	struct profile p;
	int rc;

	if (o->spool) {
		if (!*o->spool)
			return usage_error("--spool is empty");
		*dir = xstrdup(o->spool);
		return RC_OK;
	}
	if ((rc = config_resolve(&p, &ctx->ov, CONFIG_SECRET_NONE)) != RC_OK)
		return rc;
	*dir = xstrdup(p.spool_dir);
	profile_free(&p);
	return RC_OK;
}

/* ------------------------------------------------------------ check */

static void print_problem(const char *file, const struct cf_problem *p)
{
	const char *sev = p->sev == CF_ERROR ? "error" : "warning";

	if (out_get_format() != OUT_JSON) {
		out_printf("%s:%u: %s: %s\n", file, p->line, sev, p->msg);
		return;
	}
	cJSON *o = json_object();
	json_add_string(o, "file", file);
	cJSON_AddNumberToObject(o, "line", p->line);
	json_add_string(o, "severity", sev);
	json_add_string(o, "message", p->msg);
	json_print_line(o);
}

static int check_one(const char *file, size_t *problems)
{
	struct cf_report r;
	const char *label = strcmp(file, "-") ? file : "<stdin>";
	char *buf;
	size_t len;
	int rc = strcmp(file, "-") ? read_path(file, &buf, &len) : read_fd(0, &buf, &len);

	if (rc != 0) {
		log_error("cannot read %s:", label);
		return RC_IO;
	}
	callfile_check(buf, len, &r);
	for (size_t i = 0; i < r.n; i++)
		print_problem(label, &r.p[i]);
	if (r.n == 0)
		log_info("%s: ok", label);
	*problems += r.n;
	cf_report_free(&r);
	free(buf);
	return RC_OK;
}

static int run_check(int n, char **files, const struct opts *o)
{
	size_t problems = 0;
	int io = 0;

	if (o->call_opts || o->spool)
		return usage_error("check takes only FILE arguments");
	if (n == 0)
		return usage_error("check: no FILE given");
	for (int i = 0; i < n; i++)
		if (check_one(files[i], &problems) != RC_OK)
			io = 1;
	if (out_flush() != RC_OK)
		return RC_IO;
	return io ? RC_IO : problems ? RC_ACTION : RC_OK;
}

/* ------------------------------------------------------------ list */

struct entry {
	char *name;
	time_t due;
	struct cf_report r;
};

static int by_due(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	if (x->due != y->due)
		return x->due < y->due ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* Reads every regular file, as Asterisk would (dot-files included). */
static int load_entries(const char *dir, struct entry **out, size_t *count)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0;

	*out = NULL;
	if (!d) {
		log_error("cannot read the spool directory %s:", dir);
		return RC_IO;
	}
	while ((de = readdir(d))) {
		char *path = xasprintf("%s/%s", dir, de->d_name), *buf;
		struct stat st;
		size_t len;

		if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
			free(path);     /* gone meanwhile (just processed), or no file */
			continue;
		}
		if (read_path(path, &buf, &len) != 0) {
			if (errno != ENOENT)
				log_warn("cannot read %s:", path);
			free(path);
			continue;
		}
		*out = xrealloc(*out, (n + 1) * sizeof **out);
		(*out)[n].name = xstrdup(de->d_name);
		(*out)[n].due = st.st_mtime;
		callfile_check(buf, len, &(*out)[n].r);
		free(buf);
		free(path);
		n++;
	}
	closedir(d);
	if (n > 1)      /* *out is NULL for an empty spool, and qsort's may not be */
		qsort(*out, n, sizeof **out, by_due);
	*count = n;
	return RC_OK;
}

static void print_entry_json(const char *dir, const struct entry *e)
{
	const struct cf_summary *s = &e->r.s;
	char due[40], *path = xasprintf("%s/%s", dir, e->name);
	char *chan = s->tech ? xasprintf("%s/%s", s->tech, s->dest) : NULL;
	int app = s->app && *s->app;
	cJSON *o = json_object();

	fmt_time(e->due, 1, due, sizeof due);
	json_add_string(o, "file", e->name);
	json_add_string(o, "path", path);
	json_add_string(o, "due", due);
	cJSON_AddNumberToObject(o, "due_epoch", (double)e->due);
	json_add_string(o, "channel", chan);
	json_add_string(o, "application", app ? s->app : NULL);
	json_add_string(o, "data", app ? s->data : NULL);
	json_add_string(o, "context", app ? NULL : s->context);
	json_add_string(o, "extension", app ? NULL : s->exten);
	if (!app && s->exten)
		cJSON_AddNumberToObject(o, "priority", s->priority);
	cJSON_AddNumberToObject(o, "retries", s->retries);
	cJSON_AddBoolToObject(o, "valid", !e->r.errors);
	json_print_line(o);
	free(path);
	free(chan);
}

static void print_entries_text(const struct entry *e, size_t n)
{
	int wc = 1, wt = 1;
	char due[40];

	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < n; i++) {
			const struct cf_summary *s = &e[i].r.s;
			char *chan = s->tech ? xasprintf("%s/%s", s->tech, s->dest) : xstrdup("-");
			char *target = cf_target(s);
			const char *t = target ? target : "-";

			if (pass == 0) {
				wc = (int)strlen(chan) > wc ? (int)strlen(chan) : wc;
				wt = (int)strlen(t) > wt ? (int)strlen(t) : wt;
			} else {
				fmt_time(e[i].due, 0, due, sizeof due);
				out_printf("%s  %-*s  %-*s  %s%s\n", due, wc, chan, wt, t,
					   e[i].name, e[i].r.errors ? "  [invalid]" : "");
			}
			free(chan);
			free(target);
		}
	}
}

static int run_list(int n, char **args, struct opts *o, struct ctx *ctx)
{
	struct entry *e;
	size_t count;
	char *dir;
	int rc;

	if (o->call_opts)
		return usage_error("list takes only --spool");
	if (n > 0)
		return usage_error("list: unexpected argument \"%s\"", args[0]);
	if ((rc = resolve_spool(o, ctx, &dir)) != RC_OK)
		return rc;
	if ((rc = load_entries(dir, &e, &count)) == RC_OK) {
		if (out_get_format() == OUT_JSON)
			for (size_t i = 0; i < count; i++)
				print_entry_json(dir, &e[i]);
		else
			print_entries_text(e, count);
		for (size_t i = 0; i < count; i++) {
			free(e[i].name);
			cf_report_free(&e[i].r);
		}
		free(e);
		rc = out_flush();
	}
	free(dir);
	return rc;
}

/* ------------------------------------------------------------ spooling */

static void spool_free(struct spool *sp)
{
	free(sp->dir);
	free(sp->parent);
	free(sp->path);
	free(sp->tmp);
}

static char *default_name(void)
{
	unsigned short r;
	time_t now = time(NULL);
	struct tm tm;
	char ts[32];

	if (getentropy(&r, sizeof r) != 0)
		r = (unsigned short)(now ^ getpid());
	localtime_r(&now, &tm);
	strftime(ts, sizeof ts, "%Y%m%dT%H%M%S", &tm);
	return xasprintf("ami-%s-%ld-%04x.call", ts, (long)getpid(), r);
}

/* Paths, and the spool directory must exist: we never create it, as a
 * wrong --spool would otherwise swallow calls Asterisk never sees. */
static int spool_open(struct spool *sp, const char *dir, const char *name)
{
	size_t n = strlen(dir);
	char *slash;

	while (n > 1 && dir[n - 1] == '/')
		n--;
	sp->dir = xstrndup(dir, n);
	slash = strrchr(sp->dir, '/');
	if (!slash)
		sp->parent = xstrdup(".");
	else
		sp->parent = slash == sp->dir ? xstrdup("/") : xstrndup(sp->dir,
							(size_t)(slash - sp->dir));
	sp->path = name ? xasprintf("%s/%s", sp->dir, name) : NULL;
	if (stat(sp->dir, &sp->dir_st) != 0) {
		log_error("cannot spool into %s:", sp->dir);
		return RC_IO;
	}
	if (!S_ISDIR(sp->dir_st.st_mode)) {
		errno = ENOTDIR;
		log_error("cannot spool into %s:", sp->dir);
		return RC_IO;
	}
	return RC_OK;
}

/* The temporary file must not be in the spool (Asterisk would read it, dot
 * or not) and must be on its filesystem (rename(2) cannot cross one). */
static int make_temp(struct spool *sp, const char *tmp_dir, int *fd)
{
	const char *dir = tmp_dir ? tmp_dir : sp->parent;
	struct stat st;

	if (stat(dir, &st) != 0) {
		log_error("cannot spool %s: temporary directory %s:", sp->path, dir);
		return RC_IO;
	}
	if (st.st_dev == sp->dir_st.st_dev && st.st_ino == sp->dir_st.st_ino)
		return usage_error("--tmp-dir must not be the spool: Asterisk would read the "
				   "temporary file before it is complete");
	if (st.st_dev != sp->dir_st.st_dev) {
		log_error("cannot spool %s: %s is not on the spool's filesystem, so the file "
			  "could not be renamed into the spool in one step", sp->path, dir);
		return RC_IO;
	}
	sp->tmp = xasprintf("%s/.ami-callfile-XXXXXX", dir);
	if ((*fd = mkstemp(sp->tmp)) < 0) {
		log_error("cannot spool %s: creating a temporary file in %s:", sp->path, dir);
		free(sp->tmp);
		sp->tmp = NULL;
		return RC_IO;
	}
	return RC_OK;
}

/* A name first, then a number, as chown(1) does; *gid gets the primary group. */
static int lookup_user(const char *s, uid_t *uid, gid_t *gid)
{
	struct passwd *pw = getpwnam(s);
	unsigned long v;

	if (!pw && parse_uint(s, UINT_MAX - 1, &v) == 0)
		pw = getpwuid((uid_t)v);
	else if (!pw)
		return -1;
	*uid = pw ? pw->pw_uid : (uid_t)v;
	if (pw)
		*gid = pw->pw_gid;
	return 0;
}

static int lookup_group(const char *s, gid_t *gid)
{
	struct group *gr = getgrnam(s);
	unsigned long v;

	if (gr)
		*gid = gr->gr_gid;
	else if (parse_uint(s, UINT_MAX - 1, &v) == 0)
		*gid = (gid_t)v;
	else
		return -1;
	return 0;
}

/* --owner USER[:GROUP]; GROUP defaults to USER's primary group. */
static int lookup_owner(const char *spec, uid_t *uid, gid_t *gid)
{
	char *user = xstrdup(spec), *group = strchr(user, ':');
	int rc = RC_OK;

	if (group)
		*group++ = '\0';
	if (!*user || lookup_user(user, uid, gid) != 0)
		rc = usage_error("--owner: no such user \"%s\"", user);
	else if (group && *group && lookup_group(group, gid) != 0)
		rc = usage_error("--owner: no such group \"%s\"", group);
	free(user);
	return rc;
}

/* Asterisk appends to the file and resets its mtime on every attempt, so it
 * must own it, or at least share its group. Default owner: the spool's. */
static int set_owner(int fd, const struct spool *sp, const char *spec)
{
	uid_t uid = sp->dir_st.st_uid;
	gid_t gid = sp->dir_st.st_gid;
	struct stat st;
	mode_t mode;
	int rc;

	if (spec && (rc = lookup_owner(spec, &uid, &gid)) != RC_OK)
		return rc;
	if (fstat(fd, &st) != 0)
		return RC_IO;
	if ((st.st_uid != uid || st.st_gid != gid) && fchown(fd, uid, gid) != 0) {
		if (spec) {
			log_error("cannot spool %s: giving it to %s:", sp->path, spec);
			return RC_IO;
		}
		if (fchown(fd, (uid_t)-1, gid) != 0)    /* not root: the group may do */
			log_debug("cannot give %s to group %u:", sp->tmp, (unsigned)gid);
	}
	if (fstat(fd, &st) != 0)
		return RC_IO;
	mode = st.st_uid == uid ? 0640 : st.st_gid == gid ? 0660 : 0644;
	if (mode == 0644)
		log_warn("%s stays owned by %u:%u, not the spool's %u:%u: Asterisk can read it "
			 "but not record retries in it (run as root or as the spool's owner)",
			 sp->path, (unsigned)st.st_uid, (unsigned)st.st_gid, (unsigned)uid,
			 (unsigned)gid);
	if (fchmod(fd, mode) != 0) {
		log_error("cannot spool %s: chmod %s:", sp->path, sp->tmp);
		return RC_IO;
	}
	return RC_OK;
}

/* Writes, dates, owns, syncs and closes the temporary file. */
static int fill_temp(int fd, struct spool *sp, const char *text, size_t len, time_t due,
		     int has_due, const char *owner)
{
	struct timespec ts[2] = { { due, 0 }, { due, 0 } };
	struct stat st;
	int rc;

	if (full_write(fd, text, len) != 0) {
		log_error("cannot spool %s: writing %s:", sp->path, sp->tmp);
		return RC_IO;
	}
	/* After the last write, which would reset it: Asterisk calls at the mtime. */
	if (has_due && futimens(fd, ts) != 0) {
		log_error("cannot spool %s: setting the time of %s:", sp->path, sp->tmp);
		return RC_IO;
	}
	if ((rc = set_owner(fd, sp, owner)) != RC_OK)
		return rc;
	if (fsync(fd) != 0 || fstat(fd, &st) != 0) {
		log_error("cannot spool %s: syncing %s:", sp->path, sp->tmp);
		return RC_IO;
	}
	sp->dev = st.st_dev;
	sp->ino = st.st_ino;
	return RC_OK;
}

/* The one step Asterisk sees. Without --force an existing file of the same
 * name is kept (rename would replace a pending call without a word). */
static int publish(struct spool *sp, int force)
{
	int r;

	if (force) {
		r = rename(sp->tmp, sp->path);
	} else {
		r = renameat2(AT_FDCWD, sp->tmp, AT_FDCWD, sp->path, RENAME_NOREPLACE);
		if (r != 0 && (errno == EINVAL || errno == ENOSYS)) {
			struct stat st;     /* no RENAME_NOREPLACE here (NFS...): check first */
			if (lstat(sp->path, &st) == 0) {
				errno = EEXIST;
			} else {
				r = rename(sp->tmp, sp->path);
			}
		}
	}
	if (r == 0)
		return RC_OK;
	if (errno == EEXIST)
		log_error("cannot spool %s: a file of that name is already there (choose "
			  "another --name, or --force to replace it)", sp->path);
	else
		log_error("cannot spool %s: renaming %s:", sp->path, sp->tmp);
	return RC_IO;
}

static void sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0) {      /* best effort: some filesystems refuse it */
		if (fsync(fd) != 0)
			log_debug("fsync %s:", dir);
		close(fd);
	}
}

/* ------------------------------------------------------------ --wait */

struct waiter {
	int fd;                 /* inotify, or -1: then we only poll */
	int done_wd;            /* watch on outgoing_done, -1 until it exists */
	char *done_dir, *done_path;
};

static void watch_done(struct waiter *w)
{
	if (w->fd >= 0 && w->done_wd < 0)
		w->done_wd = inotify_add_watch(w->fd, w->done_dir,
					       IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE | IN_ONLYDIR);
}

/* Set up before the rename, so no event of ours can be missed. Asterisk
 * creates outgoing_done on first use: the parent's watch reports that. */
static void waiter_open(struct waiter *w, const struct spool *sp, const char *name)
{
	w->done_dir = xasprintf("%s/outgoing_done", sp->parent);
	w->done_path = xasprintf("%s/%s", w->done_dir, name);
	w->done_wd = -1;
	w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->fd < 0) {
		log_debug("inotify unavailable, polling instead:");
		return;
	}
	inotify_add_watch(w->fd, sp->parent, IN_CREATE | IN_MOVED_TO | IN_ONLYDIR);
	inotify_add_watch(w->fd, sp->dir, IN_DELETE | IN_MOVED_FROM | IN_ONLYDIR);
	watch_done(w);
}

static void waiter_close(struct waiter *w)
{
	if (w->fd >= 0)
		close(w->fd);
	free(w->done_dir);
	free(w->done_path);
}

/* 1: archived with a Status (in *status); 0: pending; -1: neither here nor
 * there. Asterisk renames the file (same inode) and then appends Status:. */
static int wait_outcome(const struct waiter *w, const struct spool *sp, char **status)
{
	struct stat st;
	struct cf_report r;
	char *buf;
	size_t len;

	if (stat(w->done_path, &st) == 0 && st.st_ino == sp->ino && st.st_dev == sp->dev) {
		if (read_path(w->done_path, &buf, &len) != 0)
			return 0;
		callfile_check(buf, len, &r);
		free(buf);
		*status = r.s.status ? xstrdup(r.s.status) : NULL;
		cf_report_free(&r);
		return *status ? 1 : 0;
	}
	if (stat(sp->path, &st) == 0 && st.st_ino == sp->ino && st.st_dev == sp->dev)
		return 0;
	return -1;
}

static void drain(int fd)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));

	while (read(fd, buf, sizeof buf) > 0)
		;
}

static int report_status(const struct waiter *w, const char *status)
{
	if (out_get_format() == OUT_JSON) {
		cJSON *o = json_object();
		json_add_string(o, "file", w->done_path);
		json_add_string(o, "status", status);
		json_print_line(o);
	} else {
		out_printf("Status: %s\n", status);
	}
	if (strcmp(status, "Completed"))
		log_error("the call did not complete: Status: %s", status);
	return strcmp(status, "Completed") ? RC_ACTION : RC_OK;
}

static int wait_loop(struct waiter *w, const struct spool *sp, int timeout_ms)
{
	int64_t deadline = timeout_ms >= 0 ? now_ms() + timeout_ms : -1, gone = -1;
	char *status = NULL;

	for (;;) {
		int r = wait_outcome(w, sp, &status), left = ms_left(deadline);

		if (r == 1) {
			r = report_status(w, status);
			free(status);
			return r;
		}
		/* Gone from the spool and not archived: give a racing rename and
		 * append a moment, then say so rather than wait forever. */
		gone = r < 0 ? (gone < 0 ? now_ms() : gone) : -1;
		if (gone >= 0 && now_ms() - gone > GONE_GRACE_MS) {
			log_error("%s left the spool but did not reach %s", sp->path, w->done_dir);
			return RC_ACTION;
		}
		if (interrupted)
			return RC_INTERRUPTED;
		if (left == 0) {
			log_error("timed out after %.1f s waiting for %s to reach %s (it stays "
				  "spooled)", timeout_ms / 1000.0, sp->path, w->done_dir);
			return RC_TIMEOUT;
		}
		/* inotify wakes us early; the tick covers what it cannot see. */
		struct pollfd pfd = { .fd = w->fd, .events = POLLIN };
		int tick = w->fd >= 0 ? 1000 : 200;
		poll(&pfd, w->fd >= 0 ? 1 : 0, left < 0 || left > tick ? tick : left);
		if (w->fd >= 0)
			drain(w->fd);
		watch_done(w);
	}
}

/* ------------------------------------------------------------ a new call */

static int check_name(const char *name)
{
	int rc;

	if ((rc = check_user_value("--name", name)) != RC_OK)
		return rc;
	if (!*name || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, ".."))
		return usage_error("--name \"%s\": expected a file name, without '/'", name);
	return RC_OK;
}

/* When Asterisk should call; *has_due = 0 means as soon as it sees the file. */
static int due_time(const struct opts *o, time_t *due, int *has_due)
{
	char err[256], when[40];
	time_t now = time(NULL);
	long secs;

	*due = now;
	*has_due = o->at || o->in;
	if (o->at && o->in)
		return usage_error("give --at or --in, not both");
	if (o->at && cf_parse_at(o->at, due, err, sizeof err) != 0)
		return usage_error("--at %s", err);
	if (o->in && cf_parse_duration(o->in, &secs) != 0)
		return usage_error("--in \"%s\": expected a duration such as 90s, 15m, 2h, 1d "
				   "or 1h30m", o->in);
	if (o->in)
		*due = now + secs;
	if (o->at && *due < now && !o->force) {
		fmt_time(*due, 0, when, sizeof when);
		return usage_error("--at %s is in the past (use --force to spool it anyway: "
				   "Asterisk then calls at once)", when);
	}
	return RC_OK;
}

static int check_combination(const struct opts *o)
{
	if (o->wait && !o->cf.archive)
		return usage_error("--wait needs --archive: without it Asterisk deletes the file "
				   "when the call ends and leaves no Status to wait for");
	if (o->wait && o->print)
		return usage_error("--wait and --print do not go together: nothing is spooled");
	if (o->name)
		return check_name(o->name);
	return RC_OK;
}

static int print_file(const char *text, size_t len, time_t due, int has_due)
{
	char when[40];

	if (has_due) {
		fmt_time(due, 0, when, sizeof when);
		log_warn("the due time %s is not part of the file: set it as the mtime "
			 "(touch -d @%lld FILE) before moving the file into the spool", when,
			 (long long)due);
	}
	out_write(text, len);
	return out_flush();
}

static int report_spooled(const struct spool *sp, time_t due)
{
	char when[40];

	fmt_time(due, out_get_format() == OUT_JSON, when, sizeof when);
	if (out_get_format() == OUT_JSON) {
		cJSON *o = json_object();
		json_add_string(o, "file", sp->path);
		json_add_string(o, "due", when);
		cJSON_AddNumberToObject(o, "due_epoch", (double)due);
		json_print_line(o);
	} else if (verbosity >= 0) {
		out_printf("%s\n", sp->path);
	}
	log_info("spooled %s, due %s", sp->path, when);
	return out_flush();
}

/* Temporary file, rename, then (--wait) the outcome. */
static int spool_call(const struct opts *o, struct ctx *ctx, const char *text, size_t len,
		      time_t due, int has_due)
{
	struct spool sp = { 0 };
	struct waiter w = { .fd = -1, .done_wd = -1 };
	char *dir = NULL, *name = o->name ? xstrdup(o->name) : default_name();
	int fd = -1, rc;

	if ((rc = resolve_spool(o, ctx, &dir)) != RC_OK || (rc = spool_open(&sp, dir, name)) != RC_OK)
		goto out;
	if ((rc = make_temp(&sp, o->tmp_dir, &fd)) != RC_OK)
		goto out;
	rc = fill_temp(fd, &sp, text, len, due, has_due, o->owner);
	if (close(fd) != 0 && rc == RC_OK) {
		log_error("cannot spool %s: closing %s:", sp.path, sp.tmp);
		rc = RC_IO;
	}
	if (rc == RC_OK && o->wait)
		waiter_open(&w, &sp, name);
	if (rc == RC_OK && (rc = publish(&sp, o->force)) == RC_OK) {
		free(sp.tmp);
		sp.tmp = NULL;
		sync_dir(sp.dir);
		rc = report_spooled(&sp, due);
		if (o->wait)
			rc = wait_loop(&w, &sp, ctx->ov.timeout_ms);
	}
out:
	if (sp.tmp && unlink(sp.tmp) != 0)
		log_error("cannot remove the temporary file %s:", sp.tmp);
	if (o->wait)
		waiter_close(&w);
	spool_free(&sp);
	free(dir);
	free(name);
	return rc;
}

static int run_call(int n, char **ops, struct opts *o, struct ctx *ctx)
{
	char err[512], *text;
	size_t len;
	time_t due;
	int rc, has_due;

	if (n == 0)
		return usage_error("no channel given (e.g. ami callfile PJSIP/100 --app Playback "
				   "--data hello-world)");
	if (n > 1)
		return usage_error("unexpected argument \"%s\"", ops[1]);
	o->cf.channel = ops[0];
	if ((rc = check_combination(o)) != RC_OK || (rc = due_time(o, &due, &has_due)) != RC_OK)
		return rc;
	if (!(text = callfile_build(&o->cf, &len, err, sizeof err)))
		return usage_error("%s", err);
	if (o->cf.early_media && o->cf.app)
		log_warn("--early-media applies to --exten calls only: Asterisk ignores it with --app");
	rc = o->print ? print_file(text, len, due, has_due)
		      : spool_call(o, ctx, text, len, due, has_due);
	free(text);
	return rc;
}

int cmd_callfile(int argc, char **argv, struct ctx *ctx)
{
	struct opts o;
	int rc, n;
	char **ops;

	memset(&o, 0, sizeof o);
	callfile_init(&o.cf);
	rc = parse_options(argc, argv, ctx, &o);
	if (rc == RC_CONTINUE && ctx_profile_is_list(ctx))
		rc = RC_FANOUT;         /* a call file is for one PBX */
	if (rc == RC_CONTINUE) {
		n = argc - optind;
		ops = argv + optind;
		if (n > 0 && !strcmp(ops[0], "check"))
			rc = run_check(n - 1, ops + 1, &o);
		else if (n > 0 && !strcmp(ops[0], "list"))
			rc = run_list(n - 1, ops + 1, &o, ctx);
		else
			rc = run_call(n, ops, &o, ctx);
	}
	free(o.vars);
	return rc;
}
