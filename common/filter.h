/* filter.h - the event filters `ami tail-events` asks Asterisk for (the
 * Filter action), planned from its client-side options. I/O-free.
 *
 * The client-side filter decides what is printed; the server's only saves
 * bandwidth. So what is asked of Asterisk must let through at least every
 * event the client-side filter wants: a translation is exact where
 * Asterisk can express the option, wider where it cannot, and absent
 * where nothing safe can be said. Asterisk's rules (main/manager.c:
 * manager_add_filter, filter_cmp_fn, match_eventdata, should_send_event):
 *   - an event passes when there is no filter; when there are includes, it
 *     must match one of them; then it must match no exclude;
 *   - name(N) compares a hash of the event's name (case matters);
 *     header(H) looks at each line starting "H:" (case matters), the value
 *     after every leading byte below 33, and never at an empty value;
 *     without header() the method sees the whole event text;
 *   - exact, starts_with, ends_with and contains compare bytes (case
 *     matters); regex is a POSIX ERE (REG_EXTENDED, case matters); none
 *     matches anything;
 *   - MatchCriteria came with Asterisk 20.11, 21.6 and 22.1; before, the
 *     header is ignored and Filter is a regex on the event text ('!'
 *     excludes), which later versions still take (the legacy form).
 * ami's globs and names ignore case, so names, header names and values are
 * sent as they are only where Asterisk spells them that way or case cannot
 * matter; elsewhere as regular expressions that ignore case themselves
 * ([Cc][Hh]...). */
#ifndef AMI_FILTER_H
#define AMI_FILTER_H

#include <stddef.h>

#include "util.h"

/* ---- which Asterisk takes MatchCriteria ---- */

/* "22.10.1", "certified-20.7-cert3", "certified/18.9-cert5": v = {22, 10, 1}.
 * 1 for a release number, 0 otherwise ("GIT-master-1a2b3c", v zeroed). */
int asterisk_version_parse(const char *s, int v[3]);

enum match_criteria { MC_NO, MC_YES, MC_UNKNOWN };
/* Whether Asterisk v (from asterisk_version_parse; zeros: unknown) takes
 * Filter's MatchCriteria: 20.11, 21.6, 22.1 and later releases do, older
 * ones do not. 18.26 and later 18.x are MC_UNKNOWN: whether the feature
 * was backported there is not settled, so ask the server (filter_probe). */
enum match_criteria asterisk_match_criteria(const int v[3]);

/* A Filter action that tells the two forms apart without changing what
 * the session receives: with MatchCriteria it is an exclude that matches no
 * event (Response: Success); without, its Filter is a regex that does not
 * compile (Response: Error, "Filter did not compile"). */
#define FILTER_PROBE_CRITERIA "action(exclude),name(AmiFilterProbe),method(exact)"
#define FILTER_PROBE_FILTER "("

/* ---- the plan ---- */

struct sf_match {               /* --match KEY=GLOB (glob NULL: KEY~REGEX) */
	const char *key;
	size_t klen;
	const char *glob;
	const char *text;           /* "KEY=GLOB" or "KEY~REGEX", for -vv */
};

struct sf_until {               /* --until EVENT[:KEY=GLOB] */
	const char *event;
	const struct sf_match *m;   /* NULL: by name only */
};

struct sf_options {
	const char *const *events;      /* --event globs: one must match */
	size_t nevents;
	const char *const *excludes;    /* --exclude-event globs */
	size_t nexcludes;
	const struct sf_match *matches; /* all must match */
	size_t nmatches;
	const struct sf_until *untils;  /* always printed */
	size_t nuntils;
};

struct sf_filter {
	char *criteria;     /* the MatchCriteria header, NULL: none (legacy form) */
	char *filter;       /* the Filter header, NULL: none */
	int include;
	char *origin;       /* the options it stands for, for -vv */
};

struct sf_plan {
	struct sf_filter *f;
	size_t n, cap;
	struct strbuf notes;    /* lines: what stays client-side, what is wider, why */
};

/* Plans the filters for options o, in the MatchCriteria form (criteria)
 * or the legacy one. Includes come first. */
void sf_plan(struct sf_plan *p, const struct sf_options *o, int criteria);
void sf_plan_free(struct sf_plan *p);

/* An include every event matches, in the legacy form that every version
 * takes: what opens the filter again when one of the includes was refused. */
#define FILTER_ALL_EVENTS "^Event: "

/* The Filter action's MatchCriteria and Filter as one line for -vv. */
char *sf_describe(const struct sf_filter *f);

#endif
