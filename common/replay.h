/* replay.h - a recording held in memory for replay (ami serve): the wire
 * bytes of every event back to back in one buffer, and per event where it
 * is, when it was received, its class and its name. A server sends runs of
 * consecutive events with one write and paces them by their times. */
#ifndef AMI_REPLAY_H
#define AMI_REPLAY_H

#include <stddef.h>
#include <stdint.h>
#include "msg.h"

struct replay_event {
	size_t off;                 /* in buf: the event, blank line included */
	uint32_t len;
	uint32_t cls;               /* class bits of its Privilege (amis_class_of) */
	uint32_t name_off, name_len;    /* its Event: value, from off */
	int64_t at_us;              /* microseconds after the first event; never
				     * less than the event before it's */
};

struct replay {
	char *buf;
	size_t len, cap;
	struct replay_event *ev;
	size_t n, ncap;
	int64_t first_us;           /* ReceivedAt of the first timed event, epoch us */
	int timed;                  /* some event had a ReceivedAt */
};

void replay_init(struct replay *r);
void replay_free(struct replay *r);

/* Adds one message received at epoch seconds `at` (NAN: not known, then it
 * counts as received with the one before). A message that is not an event
 * (no Event: header) is left out (returns 0). Its ReceivedAt header, which
 * the recorder added, is left out of the bytes kept. Returns 1 when kept. */
int replay_add_msg(struct replay *r, const struct ami_msg *m, double at);
/* The same from the message's wire bytes, kept as they are but for the
 * ReceivedAt line (wire must end with its blank line). */
int replay_add_wire(struct replay *r, const char *wire, size_t len, double at);
/* The same from a view: its wire bytes when it has them, else its headers
 * written as "Name: value" lines (a line without a name as it was). */
int replay_add_view(struct replay *r, const struct ami_view *v, double at);

/* For --loop: microseconds from the first event of a pass to the first of
 * the next: the recording's length plus its mean gap between events, at
 * least a second. */
int64_t replay_period_us(const struct replay *r);

#endif
