/* doctor_net.c - the checks of `ami doctor` below the AMI session: name
 * and route, the greeting, TLS and HTTP.
 *
 * The route check resolves the name (bounded: in a child process) and
 * connects to every address at once, each with the same deadline, so a
 * host with four addresses behind a silent firewall costs one timeout,
 * not four, and each address gets its own verdict: connected, refused (a
 * RST: the host is up, nothing listens), silent (the SYN went unanswered:
 * a firewall drops it, or the host is down) or unreachable (no route).
 * TLS is probed with libcurl in connect-only mode as the TLS transport
 * does, with CURLOPT_CERTINFO for the certificate; when verification
 * fails, a second handshake without it reads the certificate to say why
 * (expired, another name, an unknown CA). HTTP is probed with Challenge,
 * the one action Asterisk answers before Login without complaint. */
#define _GNU_SOURCE     /* pipe2, strptime, timegm */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "doctor.h"
#include "transport.h"

#define MAX_ADDRS 8
#define GREETING_MAX 1024
#define CERT_WARN_DAYS 30
#define RESOLVE_TIMED_OUT 1     /* not a getaddrinfo code (those are negative) */

static int wait_readable(int fd, int64_t deadline);

/* ---- name and route -------------------------------------------------------------- */

enum conn_state { CONN_PENDING, CONN_OK, CONN_REFUSED, CONN_SILENT, CONN_UNREACHABLE, CONN_ERROR };

struct attempt {
	char addr[NI_MAXHOST];
	int fd, err;
	enum conn_state state;
	double ms;                  /* until the result */
};

/* The monotonic clock in milliseconds, to the microsecond. */
static double clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* The addresses of a name, as getaddrinfo gave them (at most MAX_ADDRS). */
struct addrs {
	int rc;                     /* 0, a getaddrinfo code, or RESOLVE_TIMED_OUT */
	int sys_errno;              /* for EAI_SYSTEM */
	size_t n;
	struct addr {
		int family, socktype, protocol;
		socklen_t len;
		struct sockaddr_storage sa;
	} a[MAX_ADDRS];
};

static void addrs_of(const struct addrinfo *res, struct addrs *out)
{
	for (out->n = 0; res && out->n < MAX_ADDRS; res = res->ai_next, out->n++) {
		struct addr *a = &out->a[out->n];
		a->family = res->ai_family, a->socktype = res->ai_socktype;
		a->protocol = res->ai_protocol, a->len = res->ai_addrlen;
		memcpy(&a->sa, res->ai_addr, res->ai_addrlen);
	}
}

static void lookup(const char *host, const char *service, int flags, struct addrs *out)
{
	struct addrinfo hints = { .ai_flags = flags, .ai_family = AF_UNSPEC,
				  .ai_socktype = SOCK_STREAM }, *res = NULL;

	memset(out, 0, sizeof *out);
	out->rc = getaddrinfo(host, service, &hints, &res);
	out->sys_errno = errno;
	if (out->rc == 0)
		addrs_of(res, out);
	if (res)
		freeaddrinfo(res);
}

/* getaddrinfo bounded by deadline. It has no deadline of its own (a DNS
 * server that does not answer costs resolv.conf's timeouts and retries),
 * so a name is looked up by a child process that writes what it found to
 * a pipe, and is killed at the deadline. (glibc's getaddrinfo_a would do
 * it in a thread, but leaves that thread's resolver state behind.) A
 * numeric address needs no lookup. */
static void resolve(const char *host, const char *service, int64_t deadline, struct addrs *out)
{
	int fds[2];
	pid_t pid;
	ssize_t got = 0;

	lookup(host, service, AI_NUMERICHOST, out);
	if (out->rc != EAI_NONAME || pipe2(fds, O_CLOEXEC) < 0)
		return;
	if ((pid = fork()) == 0) {
		close(fds[0]);
		lookup(host, service, 0, out);
		ssize_t w = write(fds[1], out, sizeof *out);   /* < PIPE_BUF: one piece */
		_exit(w == (ssize_t)sizeof *out ? 0 : 1);
	}
	close(fds[1]);
	out->rc = RESOLVE_TIMED_OUT;
	if (pid > 0 && wait_readable(fds[0], deadline) == RC_OK)
		got = read(fds[0], out, sizeof *out);
	if (pid > 0 && got != (ssize_t)sizeof *out) {
		kill(pid, SIGKILL);
		memset(out, 0, sizeof *out);
		out->rc = RESOLVE_TIMED_OUT;
	}
	close(fds[0]);
	while (pid > 0 && waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

static enum conn_state conn_state_of(int err)
{
	switch (err) {
	case 0: return CONN_OK;
	case ECONNREFUSED: return CONN_REFUSED;
	case ETIMEDOUT: return CONN_SILENT;
	case EHOSTUNREACH: case ENETUNREACH: case EHOSTDOWN: case ENETDOWN:
		return CONN_UNREACHABLE;
	default: return CONN_ERROR;
	}
}

static void attempt_start(struct attempt *at, const struct addr *ai, double start)
{
	const struct sockaddr *sa = (const struct sockaddr *)&ai->sa;

	if (getnameinfo(sa, ai->len, at->addr, sizeof at->addr, NULL, 0, NI_NUMERICHOST))
		snprintf(at->addr, sizeof at->addr, "?");
	at->fd = socket(ai->family, ai->socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->protocol);
	if (at->fd < 0 || (connect(at->fd, sa, ai->len) < 0 && errno != EINPROGRESS)) {
		at->err = errno;
		at->state = conn_state_of(at->err);
		at->ms = clock_ms() - start;
		if (at->fd >= 0)
			close(at->fd);
		at->fd = -1;
	}
}

/* Connects to every address at once; each has the same deadline. */
static size_t connect_all(struct attempt *at, const struct addrs *res, int64_t deadline)
{
	struct pollfd pfd[MAX_ADDRS];
	size_t n, map[MAX_ADDRS];
	double start = clock_ms();

	for (n = 0; n < res->n; n++)
		attempt_start(&at[n], &res->a[n], start);
	for (;;) {
		size_t np = 0;
		for (size_t i = 0; i < n; i++)
			if (at[i].state == CONN_PENDING)
				pfd[np] = (struct pollfd){ .fd = at[i].fd, .events = POLLOUT }, map[np++] = i;
		if (np == 0)
			break;
		int r = poll(pfd, np, ms_left(deadline));
		if (r < 0 && errno == EINTR && !interrupted)
			continue;
		if (r <= 0) {           /* the deadline (or Ctrl-C): no answer is an answer */
			for (size_t i = 0; i < np; i++)
				at[map[i]].state = CONN_SILENT, at[map[i]].ms = clock_ms() - start;
			break;
		}
		for (size_t i = 0; i < np; i++) {
			struct attempt *a = &at[map[i]];
			socklen_t len = sizeof a->err;
			if (!pfd[i].revents)
				continue;
			if (getsockopt(a->fd, SOL_SOCKET, SO_ERROR, &a->err, &len) < 0)
				a->err = errno;
			a->state = conn_state_of(a->err);
			a->ms = clock_ms() - start;
		}
	}
	for (size_t i = 0; i < n; i++)
		if (at[i].state != CONN_OK && at[i].fd >= 0)
			close(at[i].fd), at[i].fd = -1;
	return n;
}

static const char *conn_text(const struct attempt *a, char *buf, size_t len)
{
	switch (a->state) {
	case CONN_OK: snprintf(buf, len, "connected in %.2f ms", a->ms); break;
	case CONN_REFUSED: snprintf(buf, len, "refused (RST: the host answers, nothing listens)"); break;
	case CONN_SILENT: snprintf(buf, len, "no answer within %.1f s (silently dropped)", a->ms / 1000.0); break;
	case CONN_UNREACHABLE: snprintf(buf, len, "unreachable: %s", strerror(a->err)); break;
	default: snprintf(buf, len, "failed: %s", strerror(a->err)); break;
	}
	return buf;
}

/* Where the server side of a refused connection is configured. */
static void fix_refused(struct doctor *d)
{
	const struct profile *p = &d->p;

	switch (p->transport) {
	case TR_TLS:
		check_fix(d, CK_ROUTE, "in manager.conf [general]: enabled = yes, tlsenable = yes, "
			  "tlsbindaddr = 0.0.0.0:%u and tlscertfile = (the certificate and key), then "
			  "asterisk -rx 'module reload manager'; or a firewall REJECT rule", p->port);
		break;
	case TR_HTTP:
		check_fix(d, CK_ROUTE, "in http.conf [general]: enabled = yes, bindaddr = 0.0.0.0, "
			  "bindport = %u, then asterisk -rx 'module reload http'; or a firewall REJECT "
			  "rule", p->port);
		break;
	case TR_HTTPS:
		check_fix(d, CK_ROUTE, "in http.conf [general]: enabled = yes, tlsenable = yes, "
			  "tlsbindaddr = 0.0.0.0:%u and tlscertfile = (the certificate), then "
			  "asterisk -rx 'module reload http'; or a firewall REJECT rule", p->port);
		break;
	default:
		check_fix(d, CK_ROUTE, "in manager.conf [general]: enabled = yes, port = %u, "
			  "bindaddr = 0.0.0.0 (or an address of this host), then asterisk -rx "
			  "'module reload manager'; or a firewall REJECT rule%s", p->port,
			  p->port < 1024 ? " (Asterisk's port = takes 1024 to 65535)" : "");
	}
}

/* The fix for the first address that stops ami, by what happened to it. */
static void route_fix(struct doctor *d, const struct attempt *a)
{
	switch (a->state) {
	case CONN_REFUSED:
		fix_refused(d);
		break;
	case CONN_SILENT:
		check_fix(d, CK_ROUTE, "let TCP port %u from this host through every firewall on the "
			  "way, the server's own included (iptables, nftables, firewalld), and check "
			  "that %s is up", d->p.port, a->addr);
		break;
	case CONN_UNREACHABLE:
		check_fix(d, CK_ROUTE, "check the address (host = in the profile, -H) and the route "
			  "to it (ip route get %s); a firewall answering icmp-host-prohibited looks "
			  "the same", a->addr);
		break;
	default:
		check_fix(d, CK_ROUTE, "check the address (host = in the profile, -H)");
	}
}

/* Which address ami's TCP transport ends up on: it tries them in order,
 * passes over a refused or unreachable one, but a silent one takes the
 * whole timeout. libcurl (TLS, HTTP) tries several at once. -1: none. */
static int usable_address(const struct doctor *d, const struct attempt *at, size_t n,
			  int *blocker)
{
	*blocker = -1;
	for (size_t i = 0; i < n; i++) {
		if (at[i].state == CONN_OK)
			return (int)i;
		if (at[i].state == CONN_SILENT && d->p.transport == TR_TCP) {
			*blocker = (int)i;
			return -1;
		}
		if (*blocker < 0 || at[i].state == CONN_SILENT)
			*blocker = (int)i;
	}
	return -1;
}

static void note_resolve_failure(struct doctor *d, int rc, int sys_errno)
{
	const char *host = d->p.host;

	if (rc == RESOLVE_TIMED_OUT)
		check_note(d, CK_ROUTE, ST_FAIL, "cannot resolve %s: no answer from DNS within %.1f s",
			   host, d->timeout_ms / 1000.0);
	else
		check_note(d, CK_ROUTE, ST_FAIL, "cannot resolve %s: %s", host,
			   rc == EAI_SYSTEM ? strerror(sys_errno) : gai_strerror(rc));
	check_fix(d, CK_ROUTE, "check the name (host = in the profile, -H) or give an address; "
		  "getent hosts %s shows what this host resolves%s", host,
		  rc == RESOLVE_TIMED_OUT ? " (and /etc/resolv.conf which DNS server it asks)" : "");
}

/* Whether the TCP transport (or libcurl) gets through, and what to fix. */
static void route_verdict(struct doctor *d, struct attempt *at, size_t n)
{
	int blocker, chosen = usable_address(d, at, n, &blocker);
	const char *a;

	if (chosen < 0) {
		check_note(d, CK_ROUTE, ST_FAIL, "%s", blocker >= 0 && blocker < (int)n - 1 &&
			   at[blocker].state == CONN_SILENT ? "ami tries the addresses in this order "
			   "and waits out its timeout on a silent one" : "no address connects");
		route_fix(d, &at[blocker < 0 ? 0 : blocker]);
		return;
	}
	if (blocker >= 0 && at[blocker].state == CONN_SILENT) {
		check_note(d, CK_ROUTE, ST_WARN, "%s is silent: a client that tries it first waits out "
			   "its timeout", at[blocker].addr);
		route_fix(d, &at[blocker]);
	}
	a = at[chosen].addr;
	d->loopback = !strncmp(a, "127.", 4) || !strcmp(a, "::1") || !strncmp(a, "::ffff:127.", 11);
	if (d->p.transport == TR_TCP)
		d->fd = at[chosen].fd, at[chosen].fd = -1;     /* the greeting is read from it */
}

void check_route(struct doctor *d)
{
	struct attempt at[MAX_ADDRS];
	struct addrs res;
	char service[16], text[160];
	int64_t start = now_ms(), resolve_ms;
	size_t n;

	memset(at, 0, sizeof at);
	snprintf(service, sizeof service, "%u", d->p.port);
	resolve(d->p.host, service, doctor_deadline(d), &res);
	if (res.rc != 0 || res.n == 0) {
		note_resolve_failure(d, res.rc ? res.rc : EAI_NONAME, res.sys_errno);
		return check_done(d, CK_ROUTE);
	}
	resolve_ms = now_ms() - start;
	n = connect_all(at, &res, doctor_deadline(d));
	if (n > 1 || strcmp(d->p.host, at[0].addr))
		check_note(d, CK_ROUTE, ST_PASS, "%s resolves to %zu address%s in %lld ms", d->p.host,
			   n, n == 1 ? "" : "es", (long long)resolve_ms);
	for (size_t i = 0; i < n; i++)
		check_note(d, CK_ROUTE, ST_PASS, "%s port %u %s", at[i].addr, d->p.port,
			   conn_text(&at[i], text, sizeof text));
	route_verdict(d, at, n);
	for (size_t i = 0; i < n; i++)
		if (at[i].fd >= 0)
			close(at[i].fd);
	check_done(d, CK_ROUTE);
}

/* ---- the greeting ------------------------------------------------------------------ */

/* Waits for the socket (TCP or under TLS) to be readable. */
static int wait_readable(int fd, int64_t deadline)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	for (;;) {
		int r = poll(&pfd, 1, ms_left(deadline));
		if (r > 0)
			return RC_OK;
		if (r == 0)
			return RC_TIMEOUT;
		if (errno != EINTR || interrupted)
			return RC_INTERRUPTED;
	}
}

/* Reads until a line end, the peer closes, or the deadline. */
static void read_greeting(struct doctor *d, char *buf, size_t cap, size_t *len, int *closed,
			  int64_t deadline)
{
	int fd = d->tls ? d->tls_fd : d->fd;

	*len = 0;
	*closed = 0;
	while (*len < cap && !memchr(buf, '\n', *len)) {
		size_t got = 0;
		int again = 0;
		if (d->tls) {
			CURLcode cc = curl_easy_recv(d->tls, buf + *len, cap - *len, &got);
			again = cc == CURLE_AGAIN;
			if (cc != CURLE_OK && !again)
				got = 0;
		} else {
			ssize_t r = recv(fd, buf + *len, cap - *len, MSG_DONTWAIT);
			again = r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR);
			got = r > 0 ? (size_t)r : 0;
		}
		if (!again && got == 0) {
			*closed = 1;
			return;
		}
		*len += got;
		if (again && wait_readable(fd, deadline) != RC_OK)
			return;
	}
}

/* What to tell about a port that accepts but says nothing. */
static const char *silent_port_hint(const struct profile *p)
{
	if (p->transport == TR_TLS)
		return "Asterisk sends its greeting right after the handshake: it may be stuck";
	if (p->port == 5039)
		return "5039 is AMI over TLS's port: --tls";
	if (p->port == 8088 || p->port == 8089)
		return "that is Asterisk's HTTP port: --url http://HOST:PORT/";
	return "a TLS port waits for the client to start (--tls), an HTTP port for a request "
	       "(--url http://HOST:PORT/); otherwise the server is stuck";
}

static void greeting_verdict(struct doctor *d, const char *buf, size_t len, int closed,
			     int64_t ms)
{
	const struct profile *p = &d->p;
	int n = (int)strcspn(buf, "\r\n");

	if (len == 0 && closed) {
		check_note(d, CK_BANNER, ST_FAIL, "%s port %u closed the connection before its "
			   "greeting", p->host, p->port);
		check_fix(d, CK_BANNER, "Asterisk closes at once when authlimit (manager.conf "
			  "[general], default 50) unauthenticated sessions are open: find the "
			  "clients that connect and never log in; or this port is not AMI's");
	} else if (len == 0) {
		check_note(d, CK_BANNER, ST_FAIL, "connected, but no greeting within %.1f s",
			   ms / 1000.0);
		check_fix(d, CK_BANNER, "%s", silent_port_hint(p));
	} else if (strstr(buf, "Call Manager") && (size_t)n < len) {
		d->banner = xstrndup(buf, (size_t)n);
		check_note(d, CK_BANNER, ST_PASS, "\"%s\" in %lld ms", d->banner, (long long)ms);
	} else if (!strncmp(buf, "HTTP/", 5)) {
		check_note(d, CK_BANNER, ST_FAIL, "an HTTP server answers (\"%.*s\")", n > 60 ? 60 : n,
			   buf);
		check_fix(d, CK_BANNER, "for AMI over HTTP: --url http://%s:%u/ (url = in the "
			  "profile)", p->host, p->port);
	} else if ((unsigned char)buf[0] == 0x15 || (unsigned char)buf[0] == 0x16) {
		check_note(d, CK_BANNER, ST_FAIL, "a TLS server answers");
		check_fix(d, CK_BANNER, "--tls (transport = tls in the profile)");
	} else {
		check_note(d, CK_BANNER, ST_FAIL, "not an AMI server: it greeted with \"%.*s\"",
			   n > 60 ? 60 : n, buf);
		check_fix(d, CK_BANNER, "give the AMI port: port = in manager.conf [general] "
			  "(default 5038), port = in the profile or --port");
	}
}

void check_banner_greeting(struct doctor *d)
{
	char buf[GREETING_MAX + 1];
	size_t len;
	int closed;
	int64_t start = now_ms();

	if (d->p.transport >= TR_HTTP) {
		check_note(d, CK_BANNER, ST_PASS, "AMI over HTTP has no greeting");
		return;
	}
	if (check_failed(d, CK_TLS)) {
		check_note(d, CK_BANNER, ST_SKIP, "no TLS session (see tls)");
		return;
	}
	read_greeting(d, buf, GREETING_MAX, &len, &closed, doctor_deadline(d));
	buf[len] = '\0';
	greeting_verdict(d, buf, len, closed, now_ms() - start);
	if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
}

/* ---- TLS ----------------------------------------------------------------------------- */

struct tls_probe {
	CURL *curl;
	struct transport t;         /* for curl_common_setup: Ctrl-C ends a handshake */
	char errbuf[CURL_ERROR_SIZE];
	char proto[128];            /* "TLSv1.3 / TLS_AES_256_GCM_SHA384" */
	CURLcode cc;
	int64_t ms;
};

struct cert {
	char subject[256], issuer[256], names[512], expires[64];
	time_t not_after;
	int n;                      /* certificates in the chain shown */
};

/* libcurl's verbose text says which protocol and cipher were agreed. */
static int on_debug(CURL *c, curl_infotype type, char *data, size_t size, void *arg)
{
	static const char tag[] = "SSL connection using ";
	struct tls_probe *t = arg;
	size_t n = sizeof tag - 1;

	(void)c;
	if (type == CURLINFO_TEXT && size > n && !strncmp(data, tag, n)) {
		size_t len = strcspn(data + n, "\r\n");
		if (len > size - n)
			len = size - n;
		snprintf(t->proto, sizeof t->proto, "%.*s", (int)len, data + n);
	}
	return 0;
}

/* One connect-only handshake with host:port; verify 0 turns verification
 * off (to read a certificate that fails it). RC_OK; RC_CONNECT when it
 * failed (t->cc says why; t->curl is NULL when libcurl could not start);
 * RC_CONFIG for an unreadable --cacert (noted). */
static int tls_handshake(struct doctor *d, struct tls_probe *t, const struct profile *p,
			 int verify)
{
	char *peer = xasprintf("%s port %u", p->host, p->port), err[300];
	struct strbuf said = { 0 };
	int64_t start = now_ms();
	int rc = RC_OK;

	memset(t, 0, sizeof *t);
	if (curl_global_once(err, sizeof err) != RC_OK || !(t->curl = curl_easy_init())) {
		check_note(d, CK_TLS, ST_FAIL, "cannot start libcurl: %s", err);
		check_fix(d, CK_TLS, "install libcurl 4 (ami loads libcurl.so.4 for TLS and HTTP)");
		free(peer);
		return RC_CONNECT;
	}
	curl_common_setup(t->curl, &t->t, t->errbuf);
	curl_tls_target(t->curl, p, d->timeout_ms);
	curl_easy_setopt(t->curl, CURLOPT_CERTINFO, 1L);
	curl_easy_setopt(t->curl, CURLOPT_VERBOSE, 1L);
	curl_easy_setopt(t->curl, CURLOPT_DEBUGFUNCTION, on_debug);
	curl_easy_setopt(t->curl, CURLOPT_DEBUGDATA, t);
	if (verify) {
		log_divert(&said);      /* --insecure's warning: the check says it */
		rc = curl_tls_setup(t->curl, p, peer, err, sizeof err);
		log_divert(NULL);
		strbuf_free(&said);
	} else {
		curl_easy_setopt(t->curl, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(t->curl, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	free(peer);
	if (rc != RC_OK) {
		check_note(d, CK_TLS, ST_FAIL, "%s", err);
		check_fix(d, CK_TLS, "cacert = a readable PEM file in the profile (--cacert)");
		return RC_CONFIG;
	}
	t->cc = curl_easy_perform(t->curl);
	t->ms = now_ms() - start;
	return t->cc == CURLE_OK ? RC_OK : RC_CONNECT;
}

static void tls_probe_free(struct tls_probe *t)
{
	if (t->curl)
		curl_easy_cleanup(t->curl);
	t->curl = NULL;
}

/* "Jan  2 00:00:00 2020 GMT" (OpenSSL) or "2020-01-02 00:00:00 GMT". */
static time_t cert_time(const char *s)
{
	struct tm tm;

	memset(&tm, 0, sizeof tm);
	if (strptime(s, "%b %d %H:%M:%S %Y", &tm) || strptime(s, "%Y-%m-%d %H:%M:%S", &tm))
		return timegm(&tm);
	return (time_t)-1;
}

static void copy_field(char *dst, size_t cap, const char *entry, const char *key)
{
	size_t n = strlen(key);

	if (!strncasecmp(entry, key, n) && entry[n] == ':')
		snprintf(dst, cap, "%s", entry + n + 1 + strspn(entry + n + 1, " "));
}

static void cert_read(CURL *c, struct cert *out)
{
	struct curl_certinfo *ci = NULL;

	memset(out, 0, sizeof *out);
	out->not_after = (time_t)-1;
	if (curl_easy_getinfo(c, CURLINFO_CERTINFO, &ci) != CURLE_OK || !ci || ci->num_of_certs < 1)
		return;
	out->n = ci->num_of_certs;
	for (struct curl_slist *s = ci->certinfo[0]; s; s = s->next) {
		copy_field(out->subject, sizeof out->subject, s->data, "Subject");
		copy_field(out->issuer, sizeof out->issuer, s->data, "Issuer");
		copy_field(out->expires, sizeof out->expires, s->data, "Expire date");
		copy_field(out->names, sizeof out->names, s->data, "X509v3 Subject Alternative Name");
	}
	for (char *p = out->names; *p; p++)        /* one line */
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	if (*out->expires && (out->not_after = cert_time(out->expires)) != (time_t)-1) {
		struct tm tm;
		gmtime_r(&out->not_after, &tm);
		strftime(out->expires, sizeof out->expires, "%Y-%m-%d %H:%M UTC", &tm);
	}
}

static long days_left(const struct cert *c)
{
	double s = difftime(c->not_after, time(NULL));

	return (long)(s >= 0 ? s / 86400 : s / 86400 - 1);
}

static void note_cert(struct doctor *d, const struct cert *c)
{
	if (!c->n) {
		check_note(d, CK_TLS, ST_PASS, "libcurl gave no certificate details");
		return;
	}
	check_note(d, CK_TLS, ST_PASS, "certificate %s%s%s%s, issuer %s%s", c->subject,
		   *c->names ? " (" : "", c->names, *c->names ? ")" : "", c->issuer,
		   !strcmp(c->subject, c->issuer) ? " (self-signed)" : "");
}

/* Where the server's certificate is configured, for a fix. */
static const char *certfile_where(const struct profile *p)
{
	return p->transport == TR_HTTPS ? "tlscertfile = in http.conf [general]"
		: "tlscertfile = in manager.conf [general]";
}

static void note_expiry(struct doctor *d, const struct cert *c)
{
	long days;

	if (c->not_after == (time_t)-1)
		return;
	days = days_left(c);
	if (days < 0) {
		check_note(d, CK_TLS, ST_FAIL, "the certificate expired on %s (%ld days ago)",
			   c->expires, -days);
		check_fix(d, CK_TLS, "renew it and point %s at the new one, then asterisk -rx "
			  "'module reload %s'", certfile_where(&d->p),
			  d->p.transport == TR_HTTPS ? "http" : "manager");
	} else if (days < CERT_WARN_DAYS) {
		check_note(d, CK_TLS, ST_WARN, "the certificate expires in %ld days (%s)", days,
			   c->expires);
		check_fix(d, CK_TLS, "renew it before %s and point %s at the new one", c->expires,
			  certfile_where(&d->p));
	} else {
		check_note(d, CK_TLS, ST_PASS, "valid for %ld more days (until %s)", days, c->expires);
	}
}

/* Why verification failed, from libcurl's text and the certificate. */
static void explain_verify_failure(struct doctor *d, const struct tls_probe *t,
				   const struct cert *c)
{
	const char *why = curl_reason(t->curl, t->errbuf, t->cc);
	const struct profile *p = &d->p;

	check_note(d, CK_TLS, ST_FAIL, "the certificate does not verify: %s", why);
	note_cert(d, c);
	if (c->not_after != (time_t)-1 && days_left(c) < 0) {
		note_expiry(d, c);
	} else if (strstr(why, "name") || strstr(why, "match")) {
		const char *dns = strstr(c->names, "DNS:");
		struct in6_addr a6;
		int numeric = inet_pton(AF_INET, p->host, &a6) == 1 || inet_pton(AF_INET6, p->host, &a6) == 1;
		if (dns)
			check_fix(d, CK_TLS, "connect by a name the certificate holds: -H %.*s (host = "
				  "in the profile)", (int)strcspn(dns + 4, ", "), dns + 4);
		check_fix(d, CK_TLS, "or reissue it with subjectAltName = %s:%s and point %s at it",
			  numeric ? "IP" : "DNS", p->host, certfile_where(p));
	} else {
		check_fix(d, CK_TLS, "give the CA that signed it: --cacert FILE (cacert = FILE in "
			  "the profile); for a self-signed certificate the certificate itself "
			  "(openssl s_client -connect %s:%u -showcerts </dev/null prints it); "
			  "--insecure skips the check", p->host, p->port);
	}
}

/* With --insecure: would verification pass? Says what dropping it needs. */
static void tell_insecure(struct doctor *d)
{
	struct profile strict = d->p;
	struct tls_probe t;

	strict.insecure = 0;
	check_note(d, CK_TLS, ST_WARN, "the certificate is not checked (--insecure): anyone on "
		   "the path can pose as the server and read the secret");
	if (tls_handshake(d, &t, &strict, 1) == RC_OK) {
		check_fix(d, CK_TLS, "it verifies: drop --insecure (insecure = no)");
	} else {
		if (t.curl && t.cc != CURLE_OK)
			check_note(d, CK_TLS, ST_WARN, "verified it would fail: %s",
				   curl_reason(t.curl, t.errbuf, t.cc));
		check_fix(d, CK_TLS, "--cacert FILE with the CA that signed it (the certificate "
			  "itself when self-signed), then drop --insecure");
	}
	tls_probe_free(&t);
}

static void tls_handshake_failed(struct doctor *d, struct tls_probe *t)
{
	const struct profile *p = &d->p;

	if (t->cc == CURLE_OPERATION_TIMEDOUT) {
		check_note(d, CK_TLS, ST_FAIL, "no TLS handshake within %.1f s", t->ms / 1000.0);
		check_fix(d, CK_TLS, "%s", p->transport == TR_TLS ? "is it the TLS port? "
			  "tlsbindaddr = 0.0.0.0:5039 in manager.conf [general]"
			  : "is it the HTTPS port? tlsbindaddr = 0.0.0.0:8089 in http.conf [general]");
	} else {
		check_note(d, CK_TLS, ST_FAIL, "the TLS handshake failed: %s",
			   curl_reason(t->curl, t->errbuf, t->cc));
		check_fix(d, CK_TLS, "%s", p->transport == TR_TLS ? "use the TLS port "
			  "(tlsenable = yes, tlsbindaddr = 0.0.0.0:5039 in manager.conf [general]; "
			  "plain AMI is 5038: drop --tls)" : "use the HTTPS port (tlsenable = yes, "
			  "tlsbindaddr = 0.0.0.0:8089 in http.conf [general]; plain HTTP is 8088: "
			  "http://)");
	}
}

void check_tls(struct doctor *d)
{
	struct tls_probe t, plain;
	struct cert c;
	curl_socket_t fd = CURL_SOCKET_BAD;
	int rc = tls_handshake(d, &t, &d->p, 1);

	if (rc == RC_OK) {
		cert_read(t.curl, &c);
		check_note(d, CK_TLS, ST_PASS, "%s in %lld ms", *t.proto ? t.proto : "handshake done",
			   (long long)t.ms);
		note_cert(d, &c);
		if (d->p.insecure)
			tell_insecure(d);
		else
			check_note(d, CK_TLS, ST_PASS, "chain and name verified (%s)",
				   d->p.cacert ? d->p.cacert : "the system's CAs");
		note_expiry(d, &c);
		if (d->p.transport == TR_TLS &&
		    curl_easy_getinfo(t.curl, CURLINFO_ACTIVESOCKET, &fd) == CURLE_OK &&
		    fd != CURL_SOCKET_BAD) {
			d->tls = t.curl, d->tls_fd = (int)fd;   /* the greeting comes through it */
			t.curl = NULL;
		}
	} else if (rc == RC_CONNECT && t.curl && t.cc == CURLE_PEER_FAILED_VERIFICATION) {
		if (tls_handshake(d, &plain, &d->p, 0) == RC_OK)
			cert_read(plain.curl, &c);
		else
			memset(&c, 0, sizeof c), c.not_after = (time_t)-1;
		explain_verify_failure(d, &t, &c);
		tls_probe_free(&plain);
	} else if (rc == RC_CONNECT && t.curl) {
		tls_handshake_failed(d, &t);
	}
	tls_probe_free(&t);
	check_done(d, CK_TLS);
}

void doctor_net_free(struct doctor *d)
{
	if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
	if (d->tls)
		curl_easy_cleanup(d->tls);
	d->tls = NULL;
}

/* ---- HTTP ---------------------------------------------------------------------------- */

struct http_answer {
	long status;
	char server[64], location[200], auth[80], type[64];
	int max_age;                /* of the mansession_id cookie; -1 none */
	struct strbuf body;         /* its first BODY_KEEP bytes */
	CURLcode cc;
	char errbuf[CURL_ERROR_SIZE];
	struct transport t;
};

#define BODY_KEEP 4096

static size_t on_http_body(char *p, size_t size, size_t n, void *arg)
{
	struct http_answer *a = arg;
	size_t len = size * n;

	if (a->body.len < BODY_KEEP)
		strbuf_add(&a->body, p, len < BODY_KEEP - a->body.len ? len : BODY_KEEP - a->body.len);
	return len;
}

/* Copies the value of header name from line p (printable bytes only). */
static int take_header(const char *p, size_t len, const char *name, char *dst, size_t cap)
{
	size_t n = strlen(name), o = 0;

	if (len <= n || strncasecmp(p, name, n) || p[n] != ':')
		return 0;
	for (p += n + 1, len -= n + 1; len && (*p == ' ' || *p == '\t'); p++, len--)
		;
	for (; len && *p != '\r' && *p != '\n' && o + 1 < cap; p++, len--)
		dst[o++] = (*p >= 0x20 && *p < 0x7f) ? *p : '?';
	dst[o] = '\0';
	return 1;
}

static size_t on_http_header(char *p, size_t size, size_t n, void *arg)
{
	struct http_answer *a = arg;
	size_t len = size * n;
	char cookie[200];
	const char *age;

	take_header(p, len, "Server", a->server, sizeof a->server);
	take_header(p, len, "Location", a->location, sizeof a->location);
	take_header(p, len, "WWW-Authenticate", a->auth, sizeof a->auth);
	if (take_header(p, len, "Set-Cookie", cookie, sizeof cookie) &&
	    !strncasecmp(cookie, "mansession_id=", 14) && (age = strcasestr(cookie, "Max-Age=")))
		a->max_age = atoi(age + 8);
	return len;
}

/* One POST of form to url; the answer in a. */
static void http_post(struct doctor *d, const char *url, const char *form, struct http_answer *a)
{
	struct strbuf said = { 0 };
	char err[300];
	char *ct = NULL;
	CURL *c;

	memset(a, 0, sizeof *a);
	a->max_age = -1;
	a->cc = CURLE_FAILED_INIT;
	if (curl_global_once(err, sizeof err) != RC_OK || !(c = curl_easy_init()))
		return;
	curl_common_setup(c, &a->t, a->errbuf);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "ami-doctor/" AMI_VERSION);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, form);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)d->timeout_ms);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_http_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, a);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_http_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, a);
	log_divert(&said);          /* --insecure: the tls check says it */
	if (strncasecmp(url, "https:", 6) || curl_tls_setup(c, &d->p, url, err, sizeof err) == RC_OK)
		a->cc = curl_easy_perform(c);
	log_divert(NULL);
	strbuf_free(&said);
	if (a->cc == CURLE_OK) {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &a->status);
		if (curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct)
			snprintf(a->type, sizeof a->type, "%s", ct);
	} else {
		char why[CURL_ERROR_SIZE];
		snprintf(why, sizeof why, "%s", curl_reason(c, a->errbuf, a->cc));
		memcpy(a->errbuf, why, sizeof why);
	}
	curl_easy_cleanup(c);
}

static int answered_ami(const struct http_answer *a, const char *type)
{
	return a->cc == CURLE_OK && a->status == 200 && !strncasecmp(a->type, type, strlen(type)) &&
	       a->body.p && (strstr(a->body.p, "Response:") || strstr(a->body.p, "response"));
}

/* "Asterisk/22.10.1" in Server: is a version when CoreSettings cannot be had. */
static void note_server(struct doctor *d, const struct http_answer *a)
{
	if (!strncasecmp(a->server, "Asterisk/", 9) && !d->asterisk[0])
		sscanf(a->server + 9, "%d.%d.%d", &d->asterisk[0], &d->asterisk[1], &d->asterisk[2]);
}

/* The first answer from rawman (or mxml) was not AMI: why, and the fix. */
static void http_not_ami(struct doctor *d, const char *url, const struct http_answer *a,
			 const char *root)
{
	const char *server = *a->server ? a->server : "no Server header";

	if (a->cc != CURLE_OK) {
		check_note(d, CK_HTTP, ST_FAIL, "POST %s: %s", url, a->errbuf);
		check_fix(d, CK_HTTP, "%s", strstr(a->errbuf, "HTTP/0.9") ? "an answer that is not "
			  "HTTP, such as AMI's greeting: for plain AMI use --port (and no --url)" :
			  "is it Asterisk's HTTP port? bindport = (8088) or, for https, tlsbindaddr = "
			  "(:8089) in http.conf [general]");
	} else if (a->status == 404) {
		check_note(d, CK_HTTP, ST_FAIL, "POST %s: 404 Not Found (%s)", url, server);
		check_fix(d, CK_HTTP, "webenabled = yes (and enabled = yes) in manager.conf "
			  "[general], then asterisk -rx 'module reload manager'; if http.conf "
			  "[general] has prefix = P, the URL is %sP/", root);
	} else if (a->status >= 300 && a->status < 400) {
		check_note(d, CK_HTTP, ST_FAIL, "POST %s: HTTP %ld redirect to %s", url, a->status,
			   *a->location ? a->location : "(no Location)");
		check_fix(d, CK_HTTP, "ami does not follow redirects (the secret would go "
			  "along): give the final URL with --url (url = in the profile)");
	} else if (a->status == 401) {
		check_note(d, CK_HTTP, ST_FAIL, "POST %s: 401 (%s): something in front of Asterisk "
			   "wants authentication", url, server);
		check_fix(d, CK_HTTP, "reach Asterisk's own HTTP server, or use --http-auth "
			  "digest (/arawman) if it is Asterisk's");
	} else {
		check_note(d, CK_HTTP, ST_FAIL, "POST %s: HTTP %ld, Content-Type %s (%s): not "
			   "Asterisk's AMI", url, a->status, *a->type ? a->type : "(none)", server);
		check_fix(d, CK_HTTP, "give the URL of Asterisk's HTTP server (http.conf "
			  "bindaddr:bindport, plus its prefix) with --url");
	}
}

/* What /arawman says without credentials: 401 with a Digest challenge. */
static void http_digest(struct doctor *d, const char *base, const char *form)
{
	struct http_answer a;
	char *url = xasprintf("%sarawman", base);
	int digest = d->p.http_auth == HTTP_AUTH_DIGEST;

	http_post(d, url, form, &a);
	if (a.cc == CURLE_OK && a.status == 401 && !strncasecmp(a.auth, "Digest", 6))
		check_note(d, CK_HTTP, ST_PASS, "digest authentication (/arawman) available");
	else if (digest)
		check_note(d, CK_HTTP, ST_FAIL, "POST %s gave no digest challenge (%s)", url,
			   a.cc != CURLE_OK ? a.errbuf : a.status == 404 ? "404" : "no 401"),
		check_fix(d, CK_HTTP, "Asterisk serves /arawman with webenabled = yes; behind a "
			  "proxy, let the Authorization header through; or --http-auth cookie");
	else
		check_note(d, CK_HTTP, ST_PASS, "no digest authentication at /arawman");
	strbuf_free(&a.body);
	free(url);
}

static void http_encodings(struct doctor *d, const char *base, const char *root,
			   const char *form, struct http_answer *raw)
{
	struct http_answer xml;
	char *url = xasprintf("%smxml", base);
	int mxml = d->p.http_encoding == HTTP_ENC_MXML;

	http_post(d, url, form, &xml);
	check_note(d, CK_HTTP, ST_PASS, "%srawman answers (%s, %s)", base, raw->type,
		   *raw->server ? raw->server : "no Server header");
	if (answered_ami(&xml, "text/xml"))
		check_note(d, CK_HTTP, ST_PASS, "mxml answers");
	else if (mxml)
		http_not_ami(d, url, &xml, root);
	else
		check_note(d, CK_HTTP, ST_PASS, "mxml does not answer (HTTP %ld)", xml.status);
	strbuf_free(&xml.body);
	free(url);
	if (raw->max_age < 0) {
		check_note(d, CK_HTTP, ST_WARN, "no mansession_id cookie in the answer");
		check_fix(d, CK_HTTP, "a proxy in front of Asterisk must pass Set-Cookie through");
	} else if (raw->max_age <= 10) {
		check_note(d, CK_HTTP, ST_WARN, "session cookie Max-Age %d s: WaitEvent can wait "
			   "at most httptimeout - 10 s, so events are polled every second",
			   raw->max_age);
		check_fix(d, CK_HTTP, "httptimeout = 60 in manager.conf [general]");
	} else {
		check_note(d, CK_HTTP, ST_PASS, "session cookie Max-Age %d s (httptimeout)",
			   raw->max_age);
	}
}

/* scheme://host:port/ of a base URL. */
static char *root_of(const char *base)
{
	const char *host = strstr(base, "://");
	size_t n = host ? (size_t)(host + 3 - base) + strcspn(host + 3, "/") : strlen(base);

	return xasprintf("%.*s/", (int)n, base);
}

/* A 404 under a prefix: does AMI answer without it? */
static int answers_at_root(struct doctor *d, const char *base, const char *root,
			   const char *form)
{
	struct http_answer a;
	char *url = xasprintf("%srawman", root);
	int yes = 0;

	if (strcmp(base, root)) {
		http_post(d, url, form, &a);
		yes = answered_ami(&a, "text/plain");
		strbuf_free(&a.body);
	}
	if (yes) {
		check_note(d, CK_HTTP, ST_FAIL, "POST %srawman: 404, but AMI answers at %s: http.conf "
			   "has no prefix, or another one", base, root);
		check_fix(d, CK_HTTP, "url = %s in the profile (--url %s)", root, root);
	}
	free(url);
	return yes;
}

void check_http(struct doctor *d)
{
	static const char form[] = "Action=Challenge&ActionID=ami-doctor-http&AuthType=MD5";
	char *base = http_base_url(d->p.url), *url = xasprintf("%srawman", base);
	char *root = root_of(base);
	struct http_answer raw;

	http_post(d, url, form, &raw);
	note_server(d, &raw);
	if (answered_ami(&raw, "text/plain"))
		http_encodings(d, base, root, form, &raw);
	else if (raw.cc != CURLE_OK || raw.status != 404 || !answers_at_root(d, base, root, form))
		http_not_ami(d, url, &raw, root);
	if (!check_failed(d, CK_HTTP))
		http_digest(d, base, form);
	strbuf_free(&raw.body);
	free(url);
	free(root);
	free(base);
	check_done(d, CK_HTTP);
}
