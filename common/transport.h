/* transport.h - byte streams under an AMI session (private to common/, and
 * to ami doctor, which looks below the session: cmd/parts/doctor_net.c).
 * The session formats and parses; a transport only moves bytes, each call
 * bounded by a deadline (a now_ms() value; 0 = do not wait; -1 = forever). */
#ifndef AMI_TRANSPORT_H
#define AMI_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>
#include "config.h"

struct transport;

struct transport_ops {
	/* Sends all of buf. RC_OK, RC_TIMEOUT, RC_CONNECT, RC_INTERRUPTED; HTTP
	 * (which gets one whole AMI message per call) also RC_AUTH and
	 * RC_PROTOCOL, from HTTP statuses and bodies, and RC_USAGE for an
	 * action too big for Asterisk's form limit (nothing sent). */
	int (*send)(struct transport *t, const char *buf, size_t len, int64_t deadline);
	/* Reads what is there (at most cap); *got = 0 means the peer closed.
	 * Same codes as send. */
	int (*recv)(struct transport *t, char *buf, size_t cap, size_t *got, int64_t deadline);
	/* The socket to poll, or -1 (HTTP: no stream; recv long-polls). */
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

/* The base URL of AMI over HTTP for url: its path is the http.conf prefix
 * (an endpoint name at its end, such as rawman, is dropped; a "/" is
 * added), without query or fragment. Malloc'd; endpoints are appended. */
char *http_base_url(const char *url);

/* libcurl helpers shared by tls.c and http.c (curl is a CURL *; curl.h
 * stays out of this header). curl_global_once: RC_OK or RC_CONNECT.
 * curl_common_setup: no signals, error buffer, Ctrl-C aborts transfers
 * (unless t->ignore_interrupt). curl_tls_setup: --cacert (RC_CONFIG when
 * unreadable) and --insecure (with a warning naming peer).
 * curl_tls_hint: advice to append to a TLS error (of HTTPS when http), or "".
 * curl_reason: why the transfer failed with curl_code: the OS error of a
 * refused connect, else the error buffer, else libcurl's text for the code. */
int curl_global_once(char *err, size_t errlen);
void curl_common_setup(void *curl, struct transport *t, char *errbuf);
int curl_tls_setup(void *curl, const struct profile *p, const char *peer, char *err,
		   size_t errlen);
/* curl_tls_target: a connect-only handshake with p's host and port, as the
 * TLS transport makes it (no proxy, no ALPN); timeout_ms 0 = no limit. */
void curl_tls_target(void *curl, const struct profile *p, long timeout_ms);
const char *curl_tls_hint(int curl_code, int http);
const char *curl_reason(void *curl, const char *errbuf, int curl_code);

/* Waits for fd to become ready (POLLIN/POLLOUT) until deadline.
 * RC_OK, RC_TIMEOUT, RC_INTERRUPTED (a signal asked us to stop). */
int wait_fd(struct transport *t, int fd, short events, int64_t deadline);

#endif
