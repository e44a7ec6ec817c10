/* fanout.h - one command against many PBXes at once (-p pbx1,pbx2, -p @group).
 *
 * The first ami runs one child per profile: forked without exec, it runs
 * ami_main again on the same arguments, told its one profile through
 * AMI_FANOUT_PROFILE. The first ami reads the children's stdout and stderr
 * through pipes with poll() and forwards whole records, each tagged with
 * its profile: json gets "AmiProfile" as its first
 * key, text a "pbx1: " prefix on every line (names padded to one width),
 * raw an "AmiProfile: pbx1" header after each message's first line. So the
 * blocking session of common/ stays as it is: each child has one. */
#ifndef AMI_FANOUT_H
#define AMI_FANOUT_H

#include "cmds.h"

/* A command that takes a list: its whole output per profile is one unit,
 * printed in the order the profiles were named, each as soon as it and
 * those before it are done (--unordered: as each completes). Returns the
 * exit status: 0 when every profile succeeded, else that of the first
 * failed one in the order named; one stderr line per failed profile and a
 * summary line. */
int fanout_units(struct ctx *ctx);

/* What tail-events does across the merged stream. */
struct fanout_stream {
	unsigned long count;        /* stop after this many events (0: no limit) */
	int idle_ms;                /* exit 6 when no event came for this long (0: never) */
	int reconnect;              /* the children reconnect by themselves */
};

/* tail-events over a list: the children's events merged in arrival order,
 * records never interleaved; --count and --idle apply to the merged
 * stream; a child that stops at its --until ends the stream; a child that
 * loses its connection (without --reconnect) ends only its own stream: an
 * AmiDisconnected event and a stderr line say so. */
int fanout_tail(struct ctx *ctx, const struct fanout_stream *opt);

/* In a child: the one profile it runs for (NULL in the first ami). */
const char *fanout_child_profile(void);

#endif
