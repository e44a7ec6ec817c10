/* serve.h - what the parts of `ami serve` share: serve.c (options, the
 * listening socket), serve_loop.c (the clients) and serve_load.c (reading
 * the recording). */
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

/* Reads sv->file into sv->replay: RC_OK, or RC_PROTOCOL naming the byte
 * offset of the damage, RC_IO when it cannot be read. */
int serve_load(struct serve *sv);
/* Serves clients until SIGINT or SIGTERM; RC_OK then. */
int serve_run(struct serve *sv);

#endif
