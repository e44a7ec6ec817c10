/* transport.h - byte streams under an AMI session (private to common/).
 * The session formats and parses; a transport only moves bytes, each call
 * bounded by a deadline (a now_ms() value; 0 = do not wait; -1 = forever). */
#ifndef AMI_TRANSPORT_H
#define AMI_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>
#include "config.h"

struct transport;

struct transport_ops {
	/* Sends all of buf. RC_OK, RC_TIMEOUT, RC_CONNECT, RC_INTERRUPTED. */
	int (*send)(struct transport *t, const char *buf, size_t len, int64_t deadline);
	/* Reads what is there (at most cap); *got = 0 means the peer closed. */
	int (*recv)(struct transport *t, char *buf, size_t cap, size_t *got, int64_t deadline);
	int (*fd)(const struct transport *t);
	/* Bytes already received but not yet returned by recv (TLS, HTTP). */
	int (*pending)(const struct transport *t);
	void (*close)(struct transport *t);
};

struct transport {
	const struct transport_ops *ops;
	char err[512];          /* text of the last error */
	int ignore_interrupt;   /* set while logging off after Ctrl-C */
};

/* A connected, non-blocking TCP socket (used by tcp_open and tls_open). */
int tcp_connect_fd(const char *host, unsigned port, int64_t deadline, int *fd_out,
		   char *err, size_t errlen);

/* Each opens a connection or returns an RC_* with the reason in err. */
int tcp_open(struct transport **out, const char *host, unsigned port, int64_t deadline,
	     char *err, size_t errlen);
int tls_open(struct transport **out, const struct profile *p, int64_t deadline,
	     char *err, size_t errlen);
int http_open(struct transport **out, const struct profile *p, int64_t deadline,
	      char *err, size_t errlen);

/* Waits for fd to become ready (POLLIN/POLLOUT) until deadline.
 * RC_OK, RC_TIMEOUT, RC_INTERRUPTED (a signal asked us to stop). */
int wait_fd(struct transport *t, int fd, short events, int64_t deadline);

#endif
