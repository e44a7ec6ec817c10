/* tls.c - the AMI stream over TLS (Asterisk's tlsenable, port 5039), and
 * the libcurl set-up shared with the HTTP transport.
 *
 * libcurl in connect-only mode does the TCP connect and the handshake,
 * then curl_easy_send/curl_easy_recv move the bytes. We chose it over
 * OpenSSL directly because libcurl is already a dependency (HTTP), so TLS
 * adds no library, and --cacert/--insecure/hostname checks are the very
 * same code for TLS and HTTPS; what is left here is a byte pipe as small
 * as the TCP one, polling the socket libcurl hands over. */
#include <curl/curl.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ami.h"
#include "transport.h"
#include "util.h"

struct tls {
	struct transport t;
	CURL *curl;
	int fd;
	/* The last curl_easy_recv gave data: the TLS layer may hold more that
	 * poll() on the socket cannot see, so pending() says so. */
	int maybe_more;
	char errbuf[CURL_ERROR_SIZE];
};

/* ---------- shared with http.c ---------- */

static int curl_initialised;

void ami_library_cleanup(void)
{
	if (curl_initialised)
		curl_global_cleanup();
	curl_initialised = 0;
}

int curl_global_once(char *err, size_t errlen)
{
	static int done;
	static CURLcode rc;

	if (!done) {
		curl_initialised = 1;
		rc = curl_global_init(CURL_GLOBAL_DEFAULT);
		done = 1;
	}
	if (rc != CURLE_OK) {
		snprintf(err, errlen, "cannot initialise libcurl: %s", curl_easy_strerror(rc));
		return RC_CONNECT;
	}
	return RC_OK;
}

/* Lets Ctrl-C stop a transfer, except while logging off. */
static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	const struct transport *t = arg;

	(void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
	return interrupted && !t->ignore_interrupt;
}

void curl_common_setup(void *curl, struct transport *t, char *errbuf)
{
	/* No signal tricks: main() owns SIGINT/SIGTERM and ignores SIGPIPE. */
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(curl, CURLOPT_XFERINFODATA, t);
}

int curl_tls_setup(void *curl, const struct profile *p, const char *peer, char *err,
		   size_t errlen)
{
	if (p->cacert) {
		if (access(p->cacert, R_OK) != 0) {
			snprintf(err, errlen, "cannot read the CA file %s (--cacert): %s", p->cacert,
				 strerror(errno));
			return RC_CONFIG;
		}
		curl_easy_setopt(curl, CURLOPT_CAINFO, p->cacert);
	}
	if (p->insecure) {
		log_warn("--insecure: the TLS certificate of %s is not checked; anyone on the path "
			 "can pose as the server and read the secret", peer);
		curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	return RC_OK;
}

const char *curl_reason(void *curl, const char *errbuf, int code)
{
	long os_errno = 0;

	if (code == CURLE_COULDNT_CONNECT &&
	    curl_easy_getinfo(curl, CURLINFO_OS_ERRNO, &os_errno) == CURLE_OK && os_errno)
		return strerror((int)os_errno);
	return errbuf[0] ? errbuf : curl_easy_strerror((CURLcode)code);
}

const char *curl_tls_hint(int code, int http)
{
	switch (code) {
	case CURLE_PEER_FAILED_VERIFICATION:
		return " (give the CA that signed the server's certificate with --cacert FILE, "
		       "or skip the check with --insecure)";
	case CURLE_SSL_CONNECT_ERROR:
		return http ? " (is it an HTTPS port? Asterisk serves HTTP on 8088, HTTPS on 8089)"
			: " (is it a TLS port? plain AMI is 5038, AMI over TLS 5039)";
	default:
		return "";
	}
}

/* ---------- the TLS byte stream ---------- */

static const char *curl_text(const struct tls *c, CURLcode cc)
{
	return curl_reason(c->curl, c->errbuf, cc);
}

static int tls_send(struct transport *t, const char *buf, size_t len, int64_t deadline)
{
	struct tls *c = (struct tls *)t;

	while (len > 0) {
		size_t n = 0;
		CURLcode cc;

		c->errbuf[0] = '\0';
		cc = curl_easy_send(c->curl, buf, len, &n);
		if (cc == CURLE_OK) {
			buf += n;
			len -= n;
			continue;
		}
		if (cc != CURLE_AGAIN) {
			snprintf(t->err, sizeof t->err, "connection lost while sending: %s",
				 curl_text(c, cc));
			return RC_CONNECT;
		}
		/* OpenSSL wants the same buffer again once the socket can take it. */
		int rc = wait_fd(t, c->fd, POLLOUT, deadline);
		if (rc == RC_TIMEOUT)
			snprintf(t->err, sizeof t->err, "timed out sending to the server (it stopped reading)");
		if (rc != RC_OK)
			return rc;
	}
	return RC_OK;
}

static int tls_recv(struct transport *t, char *buf, size_t cap, size_t *got, int64_t deadline)
{
	struct tls *c = (struct tls *)t;

	*got = 0;
	for (;;) {
		size_t n = 0;
		CURLcode cc;

		c->errbuf[0] = '\0';
		cc = curl_easy_recv(c->curl, buf, cap, &n);
		if (cc == CURLE_OK) {           /* n == 0: the server closed */
			*got = n;
			c->maybe_more = n > 0;
			return RC_OK;
		}
		c->maybe_more = 0;
		if (cc != CURLE_AGAIN) {
			snprintf(t->err, sizeof t->err, "connection lost: %s", curl_text(c, cc));
			return RC_CONNECT;
		}
		int rc = wait_fd(t, c->fd, POLLIN, deadline);
		if (rc != RC_OK)
			return rc;
	}
}

static int tls_fd(const struct transport *t) { return ((const struct tls *)t)->fd; }
static int tls_pending(const struct transport *t) { return ((const struct tls *)t)->maybe_more; }

static void tls_close(struct transport *t)
{
	struct tls *c = (struct tls *)t;

	if (c->curl)
		curl_easy_cleanup(c->curl);
	free(c);
}

static const struct transport_ops tls_ops = {
	tls_send, tls_recv, tls_fd, tls_pending, tls_close,
};

/* Why the connect or the handshake failed, worded like the TCP transport. */
static int connect_failed(struct tls *c, CURLcode cc, const struct profile *p, char *err,
			  size_t errlen)
{
	switch (cc) {
	case CURLE_OPERATION_TIMEDOUT:
		snprintf(err, errlen, "timed out connecting to %s port %u (TLS)", p->host, p->port);
		return RC_TIMEOUT;
	case CURLE_ABORTED_BY_CALLBACK:
		snprintf(err, errlen, "interrupted while connecting to %s port %u", p->host, p->port);
		return RC_INTERRUPTED;
	case CURLE_COULDNT_RESOLVE_HOST:
		snprintf(err, errlen, "cannot resolve host %s: %s", p->host, curl_text(c, cc));
		return RC_CONNECT;
	case CURLE_COULDNT_CONNECT:
		snprintf(err, errlen, "cannot connect to %s port %u: %s", p->host, p->port,
			 curl_text(c, cc));
		return RC_CONNECT;
	default:
		snprintf(err, errlen, "TLS with %s port %u failed: %s%s", p->host, p->port,
			 curl_text(c, cc), curl_tls_hint(cc, 0));
		return RC_CONNECT;
	}
}

void curl_tls_target(void *curl, const struct profile *p, long timeout_ms)
{
	char *url = strchr(p->host, ':') ? xasprintf("https://[%s]:%u/", p->host, p->port)
		: xasprintf("https://%s:%u/", p->host, p->port);

	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_CONNECT_ONLY, 1L);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "https");
	/* AMI is not HTTP: no proxy, no ALPN offer of http/1.1. */
	curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(curl, CURLOPT_SSL_ENABLE_ALPN, 0L);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
	free(url);
}

static int tls_setup(struct tls *c, const struct profile *p, int64_t deadline, char *err,
		     size_t errlen)
{
	char *peer = xasprintf("%s port %u", p->host, p->port);
	int rc;

	curl_common_setup(c->curl, &c->t, c->errbuf);
	curl_tls_target(c->curl, p, deadline < 0 ? 0L : (long)ms_left(deadline));
	rc = curl_tls_setup(c->curl, p, peer, err, errlen);
	free(peer);
	return rc;
}

int tls_open(struct transport **out, const struct profile *p, int64_t deadline, char *err,
	     size_t errlen)
{
	struct tls *c;
	curl_socket_t fd = CURL_SOCKET_BAD;
	CURLcode cc;
	int rc;

	*out = NULL;
	if ((rc = curl_global_once(err, errlen)) != RC_OK)
		return rc;
	if (deadline >= 0 && ms_left(deadline) == 0) {
		snprintf(err, errlen, "timed out connecting to %s port %u (TLS)", p->host, p->port);
		return RC_TIMEOUT;
	}
	c = xcalloc(1, sizeof *c);
	c->t.ops = &tls_ops;
	c->fd = -1;
	if (!(c->curl = curl_easy_init())) {
		snprintf(err, errlen, "cannot start libcurl");
		free(c);
		return RC_CONNECT;
	}
	if ((rc = tls_setup(c, p, deadline, err, errlen)) == RC_OK) {
		if ((cc = curl_easy_perform(c->curl)) != CURLE_OK)
			rc = connect_failed(c, cc, p, err, errlen);
		else if (curl_easy_getinfo(c->curl, CURLINFO_ACTIVESOCKET, &fd) != CURLE_OK ||
			 fd == CURL_SOCKET_BAD)
			snprintf(err, errlen, "TLS with %s port %u: libcurl gave no socket", p->host,
				 p->port), rc = RC_CONNECT;
	}
	if (rc != RC_OK) {
		tls_close(&c->t);
		return rc;
	}
	c->fd = (int)fd;
	log_info("TLS handshake with %s port %u done%s", p->host, p->port,
		 p->insecure ? " (certificate not checked)" : ", certificate verified");
	*out = &c->t;
	return RC_OK;
}
