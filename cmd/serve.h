/* serve.h - what the two parts of `ami serve` share: serve.c (options, the
 * recording, the listening socket) and serve_loop.c (the clients). */
#ifndef AMI_SERVE_H
#define AMI_SERVE_H

#include "replay.h"

struct serve {
	const char *file;           /* the recording; "-" is stdin */
	const char *listen;         /* ADDR:PORT */
	const char *user;           /* the Username accepted */
	char *secret;               /* its secret */
	double speed;               /* replay speed; INFINITY: no pauses */
	int loop;                   /* start again after the last event */
	int write_timeout_ms;
	int listen_fd;
	struct replay replay;
};

/* Serves clients until SIGINT or SIGTERM; RC_OK then. */
int serve_run(struct serve *sv);

#endif
