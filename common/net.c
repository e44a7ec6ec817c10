/* net.c - the TCP transport: getaddrinfo loop, connect with a deadline,
 * every read and write bounded by poll() against a monotonic deadline. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "transport.h"
#include "util.h"

struct tcp {
	struct transport t;
	int fd;
};

int wait_fd(struct transport *t, int fd, short events, int64_t deadline)
{
	struct pollfd pfd = { .fd = fd, .events = events };

	for (;;) {
		int r = poll(&pfd, 1, deadline == 0 ? 0 : ms_left(deadline));
		if (r > 0)
			return RC_OK;
		if (r == 0)
			return RC_TIMEOUT;
		if (errno != EINTR)
			return RC_CONNECT;
		if (interrupted && !(t && t->ignore_interrupt))
			return RC_INTERRUPTED;
	}
}

static int tcp_send(struct transport *t, const char *buf, size_t len, int64_t deadline)
{
	struct tcp *c = (struct tcp *)t;

	while (len > 0) {
		int rc = wait_fd(t, c->fd, POLLOUT, deadline);
		if (rc == RC_TIMEOUT)
			snprintf(t->err, sizeof t->err, "timed out sending to the server (it stopped reading)");
		if (rc != RC_OK)
			return rc;
		ssize_t w = send(c->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0) {
			if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
				continue;
			snprintf(t->err, sizeof t->err, "connection lost while sending: %s", strerror(errno));
			return RC_CONNECT;
		}
		buf += w;
		len -= (size_t)w;
	}
	return RC_OK;
}

static int tcp_recv(struct transport *t, char *buf, size_t cap, size_t *got, int64_t deadline)
{
	struct tcp *c = (struct tcp *)t;

	*got = 0;
	for (;;) {
		ssize_t r = recv(c->fd, buf, cap, MSG_DONTWAIT);
		if (r >= 0) {
			*got = (size_t)r;
			return RC_OK;
		}
		if (errno == EINTR) {
			if (interrupted && !t->ignore_interrupt)
				return RC_INTERRUPTED;
			continue;
		}
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			snprintf(t->err, sizeof t->err, "connection lost: %s", strerror(errno));
			return RC_CONNECT;
		}
		int rc = wait_fd(t, c->fd, POLLIN, deadline);
		if (rc != RC_OK)
			return rc;
	}
}

static int tcp_fd(const struct transport *t) { return ((const struct tcp *)t)->fd; }
static int tcp_pending(const struct transport *t) { (void)t; return 0; }

static void tcp_close(struct transport *t)
{
	struct tcp *c = (struct tcp *)t;
	if (c->fd >= 0)
		close(c->fd);
	free(c);
}

static const struct transport_ops tcp_ops = {
	tcp_send, tcp_recv, tcp_fd, tcp_pending, tcp_close,
};

/* Non-blocking connect, then poll for completion until the deadline. */
static int connect_one(const struct addrinfo *ai, int64_t deadline, int *fd_out, int *err)
{
	int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
	if (fd < 0) {
		*err = errno;
		return RC_CONNECT;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS) {
		*err = errno;
		close(fd);
		return RC_CONNECT;
	}
	int rc = wait_fd(NULL, fd, POLLOUT, deadline);
	if (rc != RC_OK) {
		*err = ETIMEDOUT;
		close(fd);
		return rc;
	}
	socklen_t len = sizeof *err;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, err, &len) < 0 || *err) {
		close(fd);
		return RC_CONNECT;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	*fd_out = fd;
	return RC_OK;
}

int tcp_connect_fd(const char *host, unsigned port, int64_t deadline, int *fd_out,
		   char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	struct addrinfo *res, *ai;
	char portstr[16];
	int rc = RC_CONNECT, sys_err = 0;

	snprintf(portstr, sizeof portstr, "%u", port);
	int gai = getaddrinfo(host, portstr, &hints, &res);
	if (gai != 0) {
		snprintf(err, errlen, "cannot resolve host %s: %s", host, gai_strerror(gai));
		return RC_CONNECT;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		rc = connect_one(ai, deadline, fd_out, &sys_err);
		if (rc == RC_OK || rc == RC_TIMEOUT || rc == RC_INTERRUPTED)
			break;
	}
	freeaddrinfo(res);
	if (rc == RC_TIMEOUT)
		snprintf(err, errlen, "timed out connecting to %s port %u", host, port);
	else if (rc == RC_INTERRUPTED)
		snprintf(err, errlen, "interrupted while connecting to %s port %u", host, port);
	else if (rc != RC_OK)
		snprintf(err, errlen, "cannot connect to %s port %u: %s", host, port, strerror(sys_err));
	return rc;
}

int tcp_open(struct transport **out, const char *host, unsigned port, int64_t deadline,
	     char *err, size_t errlen)
{
	int fd, rc = tcp_connect_fd(host, port, deadline, &fd, err, errlen);

	*out = NULL;
	if (rc != RC_OK)
		return rc;
	struct tcp *c = xcalloc(1, sizeof *c);
	c->t.ops = &tcp_ops;
	c->fd = fd;
	*out = &c->t;
	return RC_OK;
}
