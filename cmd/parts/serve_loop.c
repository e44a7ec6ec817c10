/* serve_loop.c - the clients of `ami serve`: one poll() loop over
 * non-blocking sockets. Each client has its own place in the recording;
 * what it may be sent goes out with writev as its answers, then runs of
 * consecutive events straight from the recording's buffer. A client whose
 * socket takes nothing for --write-timeout ms is dropped, as Asterisk
 * drops one that cannot take an event within its writetimeout. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "amiserver.h"
#include "cmds.h"
#include "serve.h"

#define AUTH_LIMIT 50               /* Asterisk's authlimit: clients not logged in */
#define BATCH_IOV 256               /* pieces in one writev */
#define BATCH_BYTES (1 << 20)       /* bytes in one writev, about */
#define BATCH_SCAN 65536            /* events looked at for one writev */
#define READ_HOLD (64 * 1024)       /* answers or requests waiting: stop reading */
#define SHUTDOWN_MS 1000            /* to write the last bytes on exit */
#define POLL_CAP_MS 500             /* a signal between the check and poll() waits this */
/* A client's socket holds at most about this much that it has not read:
 * what it reads was then written just before, still in the caches (left
 * to the kernel, several MiB queue up and a fast reader such as ami
 * tail-events runs 1.3 to 1.6 times slower at --speed max). */
#define SOCKET_SEND_BUFFER (128 * 1024)

static const char shutdown_event[] =
	"Event: Shutdown\r\nPrivilege: system,all\r\nShutdown: Cleanly\r\nRestart: False\r\n\r\n";

enum cstate {
	C_LOGIN,        /* greeted, not logged in */
	C_PLAY,         /* logged in: the recording plays */
	C_REJECTED,     /* Login failed: its answer waits AMIS_REJECT_DELAY_MS */
	C_CLOSING,      /* the rest of the output, then close */
};

struct client {
	int fd;
	enum cstate state;
	struct amis_session *s;
	char peer[64];
	int64_t since_us;           /* connected at; C_REJECTED: answer due at */
	struct strbuf pending;      /* answers not yet in a batch */
	struct strbuf flight;       /* answers in the batch being written */
	struct iovec iov[BATCH_IOV];
	int iov_at, iov_n;
	size_t next;                /* the next event of the recording for it */
	uint64_t lap;               /* passes done (--loop) */
	int64_t start_us;           /* its replay began; -1: not yet */
	int blocked;                /* the socket is full: wait for POLLOUT */
	int64_t stalled_us;         /* since when it took nothing; 0: it takes */
	int counted;                /* in loop.unauth */
	int done;
};

struct loop {
	struct serve *sv;
	struct amis_config cfg;
	int64_t period_us;          /* --loop: one pass */
	int64_t started_us;
	struct client **c;
	size_t n, cap;
	struct pollfd *pfd;
	size_t npfd, polled;        /* clients [0, polled) have pfd[1 + i] */
	unsigned unauth;
	int64_t accept_after_us;    /* out of file descriptors: try again then */
	int stopping;
	int64_t stop_at_us;
};

static int64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---------- clients come and go ---------- */

static void uncount(struct loop *L, struct client *c)
{
	if (c->counted) {
		c->counted = 0;
		L->unauth--;
	}
}

/* Ends a client at once; why (for -v) may be NULL. */
static void drop(struct loop *L, struct client *c, const char *why)
{
	if (c->done)
		return;
	if (why)
		log_info("%s: %s", c->peer, why);
	close(c->fd);
	uncount(L, c);
	c->done = 1;
}

/* After its last byte: no more output, whatever it still sends is read
 * away first (an unread byte would turn close() into a reset that can
 * overtake our last answer), then close. */
static void finish(struct loop *L, struct client *c)
{
	char buf[4096];

	shutdown(c->fd, SHUT_WR);
	while (recv(c->fd, buf, sizeof buf, 0) > 0)
		;
	drop(L, c, "closed");
}

static void client_free(struct client *c)
{
	amis_free(c->s);
	strbuf_free(&c->pending);
	strbuf_free(&c->flight);
	free(c);
}

static void set_client_socket(int fd)
{
	int one = 1, sndbuf = SOCKET_SEND_BUFFER;

	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	/* Answers are small writes that must not wait for the peer's ACK. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
}

static void add_client(struct loop *L, int fd, const struct sockaddr *sa, socklen_t salen)
{
	struct client *c = xcalloc(1, sizeof *c);
	char host[64] = "?", port[8] = "?";

	getnameinfo(sa, salen, host, sizeof host, port, sizeof port, NI_NUMERICHOST | NI_NUMERICSERV);
	snprintf(c->peer, sizeof c->peer, "%s:%s", host, port);
	set_client_socket(fd);
	c->fd = fd;
	c->s = amis_new(&L->cfg);
	c->since_us = now_us();
	c->start_us = -1;
	c->counted = 1;
	L->unauth++;
	strbuf_adds(&c->pending, AMIS_BANNER);
	if (L->n == L->cap) {
		L->cap = L->cap ? L->cap * 2 : 16;
		L->c = xrealloc(L->c, L->cap * sizeof *L->c);
	}
	L->c[L->n++] = c;
	log_info("%s: connected", c->peer);
}

static void accept_clients(struct loop *L, int64_t now)
{
	for (;;) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof ss;
		int fd = accept(L->sv->listen_fd, (struct sockaddr *)&ss, &len);

		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				log_warn("cannot take a new client:");
				L->accept_after_us = now + 100000;
			}
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return;
		}
		if (L->unauth >= AUTH_LIMIT) {
			close(fd);      /* like Asterisk past authlimit: before the banner */
			continue;
		}
		add_client(L, fd, (struct sockaddr *)&ss, len);
	}
}

static void reap(struct loop *L)
{
	size_t j = 0;

	for (size_t i = 0; i < L->n; i++) {
		if (L->c[i]->done)
			client_free(L->c[i]);
		else
			L->c[j++] = L->c[i];
	}
	L->n = j;
}

/* ---------- what a client is sent ---------- */

static int64_t due_us(const struct loop *L, const struct client *c, const struct replay_event *e)
{
	if (isinf(L->sv->speed))
		return 0;
	return c->start_us + (int64_t)(((double)c->lap * (double)L->period_us + (double)e->at_us) /
				       L->sv->speed);
}

/* The next event it is to be sent, or NULL at the end of the recording. */
static const struct replay_event *next_event(const struct loop *L, struct client *c)
{
	const struct replay *r = &L->sv->replay;

	if (c->next == r->n) {
		if (!L->sv->loop || r->n == 0)
			return NULL;
		c->next = 0;
		c->lap++;
	}
	return &r->ev[c->next];
}

/* Due events it wants, as few pieces as they are runs in the recording. */
static void add_events(struct loop *L, struct client *c, int64_t now)
{
	const struct replay *r = &L->sv->replay;
	const struct replay_event *e;
	size_t bytes = 0, scanned = 0;
	int first = c->iov_n;

	while (c->iov_n < BATCH_IOV && bytes < BATCH_BYTES && scanned++ < BATCH_SCAN &&
	       (e = next_event(L, c)) && due_us(L, c, e) <= now) {
		char *p = r->buf + e->off;
		struct iovec *last = c->iov_n > first ? &c->iov[c->iov_n - 1] : NULL;

		c->next++;
		if (!amis_wants(c->s, p, e->len, p + e->name_off, e->name_len, e->cls))
			continue;
		if (last && (char *)last->iov_base + last->iov_len == p)
			last->iov_len += e->len;
		else
			c->iov[c->iov_n++] = (struct iovec){ .iov_base = p, .iov_len = e->len };
		bytes += e->len;
	}
}

/* The next writev's pieces: the answers so far, then the due events. */
static int build_batch(struct loop *L, struct client *c, int64_t now)
{
	c->iov_at = c->iov_n = 0;
	c->flight.len = 0;
	if (c->state == C_REJECTED)
		return 0;
	if (c->pending.len) {
		struct strbuf t = c->flight;
		c->flight = c->pending;
		c->pending = t;
		c->iov[c->iov_n++] = (struct iovec){ .iov_base = c->flight.p, .iov_len = c->flight.len };
	}
	if (c->state == C_PLAY && c->start_us >= 0)
		add_events(L, c, now);
	return c->iov_n > 0;
}

static void advance(struct client *c, size_t n)
{
	while (n) {
		struct iovec *v = &c->iov[c->iov_at];
		size_t k = n < v->iov_len ? n : v->iov_len;
		v->iov_base = (char *)v->iov_base + k;
		v->iov_len -= k;
		n -= k;
		if (!v->iov_len)
			c->iov_at++;
	}
}

/* Writes what it can take now. */
static void pump(struct loop *L, struct client *c, int64_t now)
{
	c->blocked = 0;
	for (;;) {
		if (c->iov_at == c->iov_n && !build_batch(L, c, now))
			break;
		ssize_t n = writev(c->fd, c->iov + c->iov_at, c->iov_n - c->iov_at);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				c->blocked = 1;
				if (!c->stalled_us)
					c->stalled_us = now;
				return;
			}
			drop(L, c, "connection lost");
			return;
		}
		c->stalled_us = 0;
		advance(c, (size_t)n);
	}
	c->stalled_us = 0;
	if (c->state == C_CLOSING)
		finish(L, c);
}

/* ---------- what a client says ---------- */

/* After Login, Asterisk greets a session that takes system events with
 * FullyBooted (the uptime here is serve's). */
static void greet(struct loop *L, struct client *c, int64_t now)
{
	char text[160];
	long up = (long)((now - L->started_us) / 1000000);

	if (!(amis_event_mask(c->s) & AMIS_CLASS_SYSTEM))
		return;
	snprintf(text, sizeof text, "Event: FullyBooted\r\nPrivilege: system,all\r\nUptime: %ld\r\n"
		 "LastReload: %ld\r\nStatus: Fully Booted\r\n\r\n", up, up);
	strbuf_adds(&c->pending, text);
}

/* The replay starts once the client takes events: at Login, or for one
 * that logs in with "Events: off" (and sends its filters first, as ami
 * tail-events does), at the Events action that turns them on. */
static void maybe_start(struct client *c, int64_t now)
{
	if (c->state == C_PLAY && c->start_us < 0 && amis_event_mask(c->s))
		c->start_us = now;
}

static void answer(struct loop *L, struct client *c, int64_t now)
{
	while ((c->state == C_LOGIN || c->state == C_PLAY) && c->pending.len <= READ_HOLD) {
		switch (amis_next(c->s, &c->pending)) {
		case AMIS_NONE:
			return;
		case AMIS_DONE:
			maybe_start(c, now);
			break;
		case AMIS_LOGIN:
			log_info("%s: logged in", c->peer);
			uncount(L, c);
			greet(L, c, now);
			c->state = C_PLAY;
			maybe_start(c, now);
			break;
		case AMIS_REJECT:
			log_info("%s: authentication failed", c->peer);
			c->state = C_REJECTED;
			c->since_us = now + AMIS_REJECT_DELAY_MS * 1000;
			return;
		case AMIS_CLOSE:
			log_info("%s: logged off", c->peer);
			c->state = C_CLOSING;
			return;
		}
	}
}

static void client_read(struct loop *L, struct client *c, int64_t now)
{
	char buf[4096];
	ssize_t n = recv(c->fd, buf, sizeof buf, 0);

	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0) {
		drop(L, c, n ? "connection lost" : "closed by the client");
		return;
	}
	amis_feed(c->s, buf, (size_t)n);
	secret_wipe(buf, (size_t)n);    /* it may hold a Secret */
	answer(L, c, now);
}

static int reading(const struct client *c)
{
	return (c->state == C_LOGIN || c->state == C_PLAY) && c->pending.len <= READ_HOLD &&
	       amis_unread(c->s) <= READ_HOLD;
}

/* ---------- time ---------- */

static void check_timers(struct loop *L, struct client *c, int64_t now)
{
	if (c->state == C_LOGIN && now - c->since_us >= AMIS_AUTH_TIMEOUT_MS * 1000LL)
		drop(L, c, "no login within 30 s");
	else if (c->state == C_REJECTED && now >= c->since_us)
		c->state = C_CLOSING;
	else if (c->stalled_us && now - c->stalled_us >= L->sv->write_timeout_ms * 1000LL)
		drop(L, c, "write timeout: it took nothing");
}

static void earliest(int64_t *at, int64_t t)
{
	if (t < *at)
		*at = t;
}

/* When the loop must wake up for a client at the latest. */
static int64_t client_wakeup(struct loop *L, struct client *c)
{
	int64_t at = INT64_MAX;
	const struct replay_event *e;

	if (c->state == C_LOGIN)
		earliest(&at, c->since_us + AMIS_AUTH_TIMEOUT_MS * 1000LL);
	if (c->state == C_REJECTED)
		earliest(&at, c->since_us);
	if (c->stalled_us)
		earliest(&at, c->stalled_us + L->sv->write_timeout_ms * 1000LL);
	if (c->state == C_PLAY && c->start_us >= 0 && !c->blocked && c->iov_at == c->iov_n &&
	    (e = next_event(L, c)))
		earliest(&at, due_us(L, c, e));
	return at;
}

static int poll_timeout(struct loop *L, int64_t now)
{
	int64_t at = now + POLL_CAP_MS * 1000LL;

	if (L->stopping)
		earliest(&at, L->stop_at_us);
	if (L->accept_after_us > now)
		earliest(&at, L->accept_after_us);
	for (size_t i = 0; i < L->n; i++)
		earliest(&at, client_wakeup(L, L->c[i]));
	return at <= now ? 0 : (int)((at - now + 999) / 1000);
}

/* ---------- the loop ---------- */

static void fill_pollfds(struct loop *L, int64_t now)
{
	if (L->npfd < L->n + 1) {
		L->npfd = L->n + 16;
		L->pfd = xrealloc(L->pfd, L->npfd * sizeof *L->pfd);
	}
	L->pfd[0] = (struct pollfd){ .fd = -1 };
	if (!L->stopping && now >= L->accept_after_us)
		L->pfd[0] = (struct pollfd){ .fd = L->sv->listen_fd, .events = POLLIN };
	for (size_t i = 0; i < L->n; i++) {
		struct client *c = L->c[i];
		L->pfd[1 + i] = (struct pollfd){ .fd = c->fd,
			.events = (short)((reading(c) ? POLLIN : 0) | (c->blocked ? POLLOUT : 0)) };
	}
	L->polled = L->n;
}

static void begin_shutdown(struct loop *L, int64_t now)
{
	log_info("stopping: %zu client(s)", L->n);
	L->stopping = 1;
	L->stop_at_us = now + SHUTDOWN_MS * 1000LL;
	for (size_t i = 0; i < L->n; i++) {
		struct client *c = L->c[i];
		if (c->state == C_PLAY) {
			/* As Asterisk tells its sessions when it stops. */
			if (amis_wants(c->s, shutdown_event, sizeof shutdown_event - 1, "Shutdown", 8,
				       AMIS_CLASS_SYSTEM))
				strbuf_adds(&c->pending, shutdown_event);
			c->state = C_CLOSING;
		} else if (c->state != C_CLOSING) {
			drop(L, c, NULL);
		}
	}
}

static void serve_clients(struct loop *L, int64_t now)
{
	for (size_t i = 0; i < L->n; i++) {
		struct client *c = L->c[i];
		short rev = i < L->polled ? L->pfd[1 + i].revents : 0;

		if (rev & POLLIN)
			client_read(L, c, now);
		else if (rev & (POLLERR | POLLHUP | POLLNVAL))
			drop(L, c, "connection lost");
		if (!c->done && (!c->blocked || (rev & POLLOUT)))
			pump(L, c, now);
		if (!c->done && c->state != C_CLOSING)
			answer(L, c, now);      /* requests left while answers were piling up */
		if (!c->done)
			check_timers(L, c, now);
	}
	reap(L);
}

int serve_run(struct serve *sv)
{
	struct loop L;
	int rc = RC_OK;

	memset(&L, 0, sizeof L);
	L.sv = sv;
	L.cfg.user = sv->user;
	L.cfg.secret = sv->secret;
	L.cfg.seed = (uint64_t)now_us() ^ ((uint64_t)getpid() << 32);
	L.period_us = replay_period_us(&sv->replay);
	L.started_us = now_us();
	for (;;) {
		int64_t now = now_us();
		if (interrupted && !L.stopping)
			begin_shutdown(&L, now);
		if (L.stopping && (L.n == 0 || now >= L.stop_at_us))
			break;
		fill_pollfds(&L, now);
		if (poll(L.pfd, L.polled + 1, poll_timeout(&L, now)) < 0 && errno != EINTR) {
			log_error("poll:");
			rc = RC_IO;
			break;
		}
		now = now_us();
		if (L.pfd[0].revents & POLLIN)
			accept_clients(&L, now);
		serve_clients(&L, now);
	}
	for (size_t i = 0; i < L.n; i++)
		drop(&L, L.c[i], NULL);
	reap(&L);
	free(L.c);
	free(L.pfd);
	return rc;
}
