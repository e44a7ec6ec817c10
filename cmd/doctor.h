/* doctor.h - what the checks of `ami doctor` share (private to cmd/doctor*.c).
 *
 * One run diagnoses one profile (struct doctor). The checks run in order,
 * each bounded by deadlines derived from the profile's timeout, and each
 * leaves a status, what it found (detail) and, when something is wrong,
 * the fix. A check may learn something that belongs to an earlier one
 * (the Asterisk version comes with CoreSettings after login, but is
 * reported by the banner check), so results are printed in check order
 * once every earlier check is complete (doctor_flush). */
#ifndef AMI_DOCTOR_H
#define AMI_DOCTOR_H

#include <stdint.h>

#include "cmds.h"

enum check_id {
	CK_CONFIG, CK_ROUTE, CK_BANNER, CK_TLS, CK_HTTP, CK_LOGIN, CK_PERMS, CK_CLOCK,
	CK_EVENTS, CK_COUNT
};

/* In order of gravity: a check keeps the worst status it noted. */
enum check_status { ST_PENDING, ST_SKIP, ST_PASS, ST_WARN, ST_FAIL };

struct check {
	enum check_status status;
	int done;
	struct strbuf detail, fix;
};

/* Write classes an ami command needs (manager.conf write =), as bits of
 * Asterisk's permission classes. */
enum {
	PERM_SYSTEM = 1 << 0, PERM_CALL = 1 << 1, PERM_LOG = 1 << 2, PERM_VERBOSE = 1 << 3,
	PERM_COMMAND = 1 << 4, PERM_AGENT = 1 << 5, PERM_USER = 1 << 6, PERM_CONFIG = 1 << 7,
	PERM_DTMF = 1 << 8, PERM_REPORTING = 1 << 9, PERM_CDR = 1 << 10,
	PERM_DIALPLAN = 1 << 11, PERM_ORIGINATE = 1 << 12, PERM_AGI = 1 << 13,
	PERM_CC = 1 << 15, PERM_AOC = 1 << 16, PERM_TEST = 1 << 17, PERM_SECURITY = 1 << 18,
	PERM_MESSAGE = 1 << 19,
};
#define PERM_ALL 0x7fffffffu
/* bits -> "call,originate" (in Asterisk's order, "<none>" for 0), into b. */
void perm_text(unsigned mask, struct strbuf *b);

struct doctor {
	struct profile p;
	int resolved;               /* p is a resolved profile */
	struct check c[CK_COUNT];
	int printed;                /* checks printed so far */
	int json, colour;
	int sample_ms;              /* --sample */
	int timeout_ms;             /* bound of each step of a check */
	int64_t start;

	/* What a check learns for those after it. */
	int fd;                     /* TCP: the socket the route check connected */
	void *tls;                  /* TLS: the CURL handle of the verified handshake */
	int tls_fd;                 /* ... and its socket */
	int loopback;               /* the address connected to is this host's */
	char *banner;               /* the greeting line, if read */
	int asterisk[3];            /* version from CoreSettings (or Server:), 0 unknown */
	struct ami *a;              /* the logged-in session */
	int stalled;                /* an action on it went unanswered: it is stuck */
	unsigned write_perm;        /* write classes known to be held */
	unsigned read_perm;         /* from manager show user; 0 unknown */
	int read_known, write_known;  /* manager show user was read */
	int has_command;            /* the user may run Command */
	int multiple_login;         /* allowmultiplelogin: 1 yes, 0 no, -1 unknown */
};

/* Notes what a check found: detail is appended ("; " between notes) and
 * the status becomes st if that is worse. */
void check_note(struct doctor *d, enum check_id id, enum check_status st, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Appends to the fix of a check ("; " between fixes). */
void check_fix(struct doctor *d, enum check_id id, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Marks a check complete (PASS when nothing was noted) and prints what can be. */
void check_done(struct doctor *d, enum check_id id);
/* Completes every check not yet done from id on as SKIP with why. */
void check_skip_rest(struct doctor *d, enum check_id from, const char *why);
int check_failed(const struct doctor *d, enum check_id id);

/* A deadline timeout_ms from now, for one step of a check. */
int64_t doctor_deadline(const struct doctor *d);
/* The lines of diverted diagnostics (log_divert) as one "; "-joined text. */
void divert_text(struct strbuf *lines, char *out, size_t len);

/* Closes what the checks below the session keep (doctor_net.c). */
void doctor_net_free(struct doctor *d);

/* The checks, in doctor_net.c ... */
void check_route(struct doctor *d);
void check_tls(struct doctor *d);
void check_banner_greeting(struct doctor *d);
void check_http(struct doctor *d);
/* ... and doctor_ami.c. */
void check_login(struct doctor *d);
void check_version(struct doctor *d);
void check_perms(struct doctor *d);
void check_clock(struct doctor *d);
void check_events(struct doctor *d);
/* The Asterisk major an AMI version in a banner belongs to ("11.0.0" is 22),
 * or 0 when it cannot tell. */
int asterisk_of_ami(const char *ami_version);

#endif
