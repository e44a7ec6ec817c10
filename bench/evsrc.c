/* evsrc.c - a fast fake AMI server that streams events, for `make bench`.
 *
 *   evsrc [--port P] [--events N] [--channels N] [--user U] [--secret S]
 *         [--timeout SEC]
 *
 * Listens on 127.0.0.1:P (0: any free port) and prints "PORT n" on stdout
 * once listening. Serves one client: banner, Login (U/S, default
 * hello/world; any other -> Response: Error and close), then N events
 * replayed from a prebuilt buffer of realistic call events, then
 * "Event: BenchDone". Like Asterisk, a Login with "Events: off" gets no
 * events until an Events action turns them on. Actions sent meanwhile
 * (Filter, Ping, ...) are answered between two events; Logoff gets
 * "Goodbye" and ends the run, also before any event (a snapshot client).
 * With --channels N, CoreShowChannels lists N channels in N/2 bridged
 * two-party calls, the way Asterisk 22 does (for `ami top --once`). It
 * exits on its own when no client comes within SEC seconds (default 30) or
 * the client stays silent for SEC seconds after the stream.
 * Prints "sent=<events> bytes=<n> seconds=<s>" on stderr at the end.
 *
 * Build: cc -O2 -o evsrc evsrc.c */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define REPLAY_MIN (256 * 1024)     /* replay buffer: the calls below, repeated */
#define CHUNK (64 * 1024)           /* most bytes handed to one send() */

/* One call's worth of events, the way Asterisk 20+ writes them. In the
 * templates {E} is the extension, {I} the call number, {X} it in hex, {S}
 * a small number and {P} a port, so consecutive calls differ a little, as
 * in real traffic. */
static const char *const call_events[] = {
	"Event: Newchannel\r\nPrivilege: call,all\r\nChannel: PJSIP/2{E}-0000{X}\r\n"
	"ChannelState: 0\r\nChannelStateDesc: Down\r\nCallerIDNum: 2{E}\r\n"
	"CallerIDName: Desk {E}\r\nConnectedLineNum: <unknown>\r\nConnectedLineName: <unknown>\r\n"
	"Language: en\r\nAccountCode: \r\nContext: office\r\nExten: 600\r\nPriority: 1\r\n"
	"Uniqueid: 1790000000.{I}\r\nLinkedid: 1790000000.{I}\r\n\r\n",
	"Event: Newexten\r\nPrivilege: dialplan,all\r\nChannel: PJSIP/2{E}-0000{X}\r\n"
	"ChannelState: 4\r\nChannelStateDesc: Ring\r\nCallerIDNum: 2{E}\r\n"
	"CallerIDName: Desk {E}\r\nConnectedLineNum: <unknown>\r\nConnectedLineName: <unknown>\r\n"
	"Language: en\r\nAccountCode: \r\nContext: office\r\nExten: 600\r\nPriority: 1\r\n"
	"Uniqueid: 1790000000.{I}\r\nLinkedid: 1790000000.{I}\r\nExtension: 600\r\n"
	"Application: Dial\r\nAppData: PJSIP/queue-a,25,tTr\r\n\r\n",
	"Event: VarSet\r\nPrivilege: dialplan,all\r\nChannel: PJSIP/2{E}-0000{X}\r\n"
	"ChannelState: 4\r\nChannelStateDesc: Ring\r\nCallerIDNum: 2{E}\r\n"
	"CallerIDName: Desk {E}\r\nConnectedLineNum: <unknown>\r\nConnectedLineName: <unknown>\r\n"
	"Language: en\r\nAccountCode: \r\nContext: office\r\nExten: 600\r\nPriority: 1\r\n"
	"Uniqueid: 1790000000.{I}\r\nLinkedid: 1790000000.{I}\r\nVariable: DIALSTATUS\r\n"
	"Value: ANSWER\r\n\r\n",
	"Event: DialState\r\nPrivilege: call,all\r\nChannel: PJSIP/2{E}-0000{X}\r\n"
	"ChannelState: 4\r\nChannelStateDesc: Ring\r\nCallerIDNum: 2{E}\r\n"
	"CallerIDName: Desk {E}\r\nConnectedLineNum: <unknown>\r\nConnectedLineName: <unknown>\r\n"
	"Language: en\r\nAccountCode: \r\nContext: office\r\nExten: 600\r\nPriority: 1\r\n"
	"Uniqueid: 1790000000.{I}\r\nLinkedid: 1790000000.{I}\r\nDialStatus: RINGING\r\n\r\n",
	"Event: PeerStatus\r\nPrivilege: system,all\r\nChannelType: PJSIP\r\nPeer: PJSIP/2{E}\r\n"
	"PeerStatus: Reachable\r\nAddress: 203.0.113.{S}:5060\r\n"
	"Contact: sip:2{E}@203.0.113.{S}:5060;transport=udp;rinstance={X}\r\nRTT: {S}\r\n\r\n",
	"Event: Newstate\r\nPrivilege: call,all\r\nChannel: PJSIP/2{E}-0000{X}\r\n"
	"ChannelState: 6\r\nChannelStateDesc: Up\r\nCallerIDNum: 2{E}\r\n"
	"CallerIDName: \"Desk {E}\" (reception)\r\nConnectedLineNum: 600\r\nConnectedLineName: Queue A\r\n"
	"Language: en\r\nAccountCode: sales\r\nContext: office\r\nExten: 600\r\nPriority: 2\r\n"
	"Uniqueid: 1790000000.{I}\r\nLinkedid: 1790000000.{I}\r\n\r\n",
	"Event: RTCPReceived\r\nPrivilege: reporting,all\r\nChannel: PJSIP/2{E}-0000{X}\r\n"
	"Uniqueid: 1790000000.{I}\r\nSSRC: 0x{X}6b1c\r\nPT: 201(RR)\r\nReportCount: 1\r\n"
	"From: 203.0.113.{S}:{P}\r\nTo: 198.51.100.2:10066\r\nReport0SourceSSRC: 0x1f2e3d4c\r\n"
	"Report0FractionLost: 0\r\nReport0CumulativeLost: {S}\r\nReport0HighestSequence: 18120\r\n"
	"Report0SequenceNumberCycles: 0\r\nReport0IAJitter: 12\r\nReport0LSR: 2857366112\r\n"
	"Report0DLSR: 0.1240\r\n\r\n",
	"Event: Hangup\r\nPrivilege: call,all\r\nChannel: PJSIP/2{E}-0000{X}\r\n"
	"ChannelState: 6\r\nChannelStateDesc: Up\r\nCallerIDNum: 2{E}\r\n"
	"CallerIDName: Desk {E}\r\nConnectedLineNum: 600\r\nConnectedLineName: Queue A\r\n"
	"Language: en\r\nAccountCode: sales\r\nContext: office\r\nExten: 600\r\nPriority: 2\r\n"
	"Uniqueid: 1790000000.{I}\r\nLinkedid: 1790000000.{I}\r\nCause: 16\r\n"
	"Cause-txt: Normal Clearing\r\n\r\n",
};

static char *replay;
static size_t replay_len, *ev_end, replay_events;

static void die(const char *what)
{
	fprintf(stderr, "evsrc: %s: %s\n", what, strerror(errno));
	exit(1);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Appends template t for call number call to the replay buffer. */
static void render(const char *t, int call, size_t cap)
{
	char *o = replay + replay_len, *end = replay + cap - 16;

	for (; *t && o < end; t++) {
		int n = 0;
		if (t[0] != '{' || !t[1] || t[2] != '}') {
			*o++ = *t;
			continue;
		}
		switch (t[1]) {
		case 'E': n = snprintf(o, 16, "%03d", call % 97); break;
		case 'I': n = snprintf(o, 16, "%d", 4000 + call); break;
		case 'X': n = snprintf(o, 16, "%04x", 4000 + call); break;
		case 'S': n = snprintf(o, 16, "%d", 10 + call % 200); break;
		case 'P': n = snprintf(o, 16, "%d", 20000 + call % 9000); break;
		}
		o += n;
		t += 2;
	}
	if (o >= end)
		die("replay buffer");
	replay_len = (size_t)(o - replay);
}

/* Renders calls until the buffer holds at least REPLAY_MIN bytes. */
static void build_replay(void)
{
	size_t cap = REPLAY_MIN + 64 * 1024, ecap = 8192;
	int call = 0;

	replay = malloc(cap);
	ev_end = malloc(ecap * sizeof *ev_end);
	if (!replay || !ev_end)
		die("malloc");
	while (replay_len < REPLAY_MIN) {
		call++;
		for (size_t i = 0; i < sizeof call_events / sizeof *call_events; i++) {
			render(call_events[i], call, cap);
			if (replay_events == ecap && !(ev_end = realloc(ev_end, (ecap *= 2) * sizeof *ev_end)))
				die("realloc");
			ev_end[replay_events++] = replay_len;
		}
	}
}

static void send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && (errno == EINTR || errno == EAGAIN)) {
			struct pollfd pfd = { .fd = fd, .events = POLLOUT };
			poll(&pfd, 1, 1000);
			continue;
		}
		if (w < 0)
			exit(0);        /* the client went away */
		p += w;
		n -= (size_t)w;
	}
}

/* The value of header name in one action block, or "" (copied to out). */
static void header(const char *block, const char *name, char *out, size_t cap)
{
	size_t nl = strlen(name);
	const char *p = block;

	out[0] = '\0';
	while (*p) {
		if (!strncasecmp(p, name, nl) && p[nl] == ':') {
			p += nl + 1;
			while (*p == ' ')
				p++;
			size_t n = strcspn(p, "\r\n");
			snprintf(out, cap, "%.*s", (int)(n < cap ? n : cap - 1), p);
			return;
		}
		p += strcspn(p, "\n");
		if (*p)
			p++;
	}
}

struct client {
	int fd;
	char in[16384];
	size_t inlen;
	int logged_in, events_on, done;
	const char *user, *secret;
	unsigned long channels;     /* what CoreShowChannels lists */
};

/* Appends to a growing buffer (exits when out of memory). */
static void add(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void add(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(*buf + *len, *cap - *len, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < *cap - *len)
			break;
		*cap = *cap * 2 + (size_t)n;
		if (!(*buf = realloc(*buf, *cap)))
			die("realloc");
	}
	*len += (size_t)n;
}

/* CoreShowChannels: channel 2k calls 2k+1; both are in bridge k. */
static void core_show_channels(struct client *c, const char *id)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);

	if (!buf)
		die("malloc");
	add(&buf, &len, &cap, "Response: Success\r\nActionID: %s\r\nEventList: start\r\n"
	    "Message: Channels will follow\r\n\r\n", id);
	for (unsigned long i = 0; i < c->channels; i++) {
		unsigned long me = 1000 + i, peer = 1000 + (i ^ 1), caller = i & ~1UL;
		add(&buf, &len, &cap, "Event: CoreShowChannel\r\nActionID: %s\r\n"
		    "Channel: PJSIP/%lu-%08lx\r\nChannelState: 6\r\nChannelStateDesc: Up\r\n"
		    "CallerIDNum: %lu\r\nCallerIDName: Desk %lu\r\nConnectedLineNum: %lu\r\n"
		    "ConnectedLineName: Desk %lu\r\nLanguage: en\r\nAccountCode: \r\n"
		    "Context: from-internal\r\nExten: %lu\r\nPriority: 1\r\n"
		    "Uniqueid: 1790000000.%lu\r\nLinkedid: 1790000000.%lu\r\n"
		    "Application: %s\r\nApplicationData: %s\r\nDuration: 00:%02lu:%02lu\r\n"
		    "BridgeId: 5e1d0c2a-7f3b-4c8e-9a61-%012lx\r\n\r\n", id, me, i + 1, me, me,
		    peer, peer, 1000 + (caller ^ 1), i, caller, i & 1 ? "AppDial" : "Dial",
		    i & 1 ? "(Outgoing Line)" : "PJSIP/callee,30", i / 2 % 60, i % 60, i / 2);
	}
	add(&buf, &len, &cap, "Event: CoreShowChannelsComplete\r\nActionID: %s\r\n"
	    "EventList: Complete\r\nListItems: %lu\r\n\r\n", id, c->channels);
	send_all(c->fd, buf, len);
	free(buf);
}

/* Answers one complete action. */
static void action(struct client *c, const char *block)
{
	char act[64], id[128], user[128], secret[128], out[512];
	int n;

	header(block, "Action", act, sizeof act);
	header(block, "ActionID", id, sizeof id);
	const char *idline = id[0] ? "ActionID: " : "";
	const char *idend = id[0] ? "\r\n" : "";
	if (!strcasecmp(act, "Login")) {
		header(block, "Username", user, sizeof user);
		header(block, "Secret", secret, sizeof secret);
		if (strcmp(user, c->user) || strcmp(secret, c->secret)) {
			n = snprintf(out, sizeof out, "Response: Error\r\n%s%s%sMessage: Authentication failed\r\n\r\n",
				     idline, id, idend);
			send_all(c->fd, out, (size_t)n);
			exit(0);
		}
		c->logged_in = 1;
		header(block, "Events", user, sizeof user);
		c->events_on = strcasecmp(user, "off") != 0;
		n = snprintf(out, sizeof out, "Response: Success\r\n%s%s%sMessage: Authentication accepted\r\n\r\n",
			     idline, id, idend);
	} else if (!strcasecmp(act, "Logoff")) {
		n = snprintf(out, sizeof out, "Response: Goodbye\r\n%s%s%sMessage: Thanks for all the fish.\r\n\r\n",
			     idline, id, idend);
		c->done = 1;
	} else if (!strcasecmp(act, "Events")) {
		header(block, "EventMask", user, sizeof user);
		c->events_on = strcasecmp(user, "off") != 0;
		n = snprintf(out, sizeof out, "Response: Success\r\n%s%s%sEvents: %s\r\n\r\n",
			     idline, id, idend, c->events_on ? "On" : "Off");
	} else if (!strcasecmp(act, "CoreShowChannels")) {
		core_show_channels(c, id);
		return;
	} else if (!strcasecmp(act, "Ping")) {
		n = snprintf(out, sizeof out, "Response: Success\r\n%s%s%sPing: Pong\r\nTimestamp: %.6f\r\n\r\n",
			     idline, id, idend, now());
	} else {
		n = snprintf(out, sizeof out, "Response: Success\r\n%s%s%sMessage: Done\r\n\r\n",
			     idline, id, idend);
	}
	send_all(c->fd, out, (size_t)n);
}

/* Reads what the client sent and answers each complete action. */
static void read_actions(struct client *c)
{
	ssize_t r = recv(c->fd, c->in + c->inlen, sizeof c->in - 1 - c->inlen, MSG_DONTWAIT);
	char *end;

	if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
		exit(0);
	if (r < 0)
		return;
	c->inlen += (size_t)r;
	c->in[c->inlen] = '\0';
	while ((end = strstr(c->in, "\r\n\r\n")) || (end = strstr(c->in, "\n\n"))) {
		size_t used = (size_t)(end - c->in) + (end[0] == '\r' ? 4 : 2);
		*end = '\0';
		action(c, c->in);
		memmove(c->in, c->in + used, c->inlen - used + 1);
		c->inlen -= used;
	}
	if (c->inlen == sizeof c->in - 1)
		c->inlen = 0;       /* garbage: forget it */
}

/* Streams n events in chunks that end on event boundaries, answering
 * actions between chunks. */
static unsigned long stream(struct client *c, unsigned long n, unsigned long long *bytes)
{
	size_t ev = 0;                  /* next event in the replay buffer */
	unsigned long sent = 0;

	while (sent < n && !c->done) {
		size_t start = ev ? ev_end[ev - 1] : 0, last = ev;
		while (last + 1 < replay_events && sent + (last - ev) + 1 < n &&
		       ev_end[last + 1] - start <= CHUNK)
			last++;
		struct pollfd pfd = { .fd = c->fd, .events = POLLIN | POLLOUT };
		if (poll(&pfd, 1, 10000) <= 0)
			exit(0);
		if (pfd.revents & POLLIN)
			read_actions(c);
		if (!(pfd.revents & POLLOUT))
			continue;
		send_all(c->fd, replay + start, ev_end[last] - start);
		*bytes += ev_end[last] - start;
		sent += last - ev + 1;
		ev = last + 1 == replay_events ? 0 : last + 1;
	}
	return sent;
}

static int listen_on(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((unsigned short)port) };
	socklen_t len = sizeof sa;
	int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0)
		die("socket");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
		die("bind");
	if (listen(fd, 4) < 0)
		die("listen");
	getsockname(fd, (struct sockaddr *)&sa, &len);
	printf("PORT %d\n", ntohs(sa.sin_port));
	fflush(stdout);
	return fd;
}

int main(int argc, char **argv)
{
	struct client c = { .user = "hello", .secret = "world" };
	unsigned long n = 1000;
	int port = 0, timeout = 30;

	for (int i = 1; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (v && !strcmp(argv[i], "--port"))
			port = atoi(v);
		else if (v && !strcmp(argv[i], "--events"))
			n = strtoul(v, NULL, 10);
		else if (v && !strcmp(argv[i], "--channels"))
			c.channels = strtoul(v, NULL, 10);
		else if (v && !strcmp(argv[i], "--user"))
			c.user = v;
		else if (v && !strcmp(argv[i], "--secret"))
			c.secret = v;
		else if (v && !strcmp(argv[i], "--timeout"))
			timeout = atoi(v);
		else {
			fprintf(stderr, "usage: evsrc [--port P] [--events N] [--channels N] "
				"[--user U] [--secret S] [--timeout SEC]\n");
			return 2;
		}
		i++;
	}
	signal(SIGPIPE, SIG_IGN);
	build_replay();
	int lfd = listen_on(port);
	struct pollfd pfd = { .fd = lfd, .events = POLLIN };
	if (poll(&pfd, 1, timeout * 1000) <= 0)
		return 1;
	if ((c.fd = accept(lfd, NULL, NULL)) < 0)
		die("accept");
	close(lfd);
	int one = 1;
	setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	send_all(c.fd, "Asterisk Call Manager/11.0.0\r\n", 30);
	while ((!c.logged_in || !c.events_on) && !c.done) {
		struct pollfd cp = { .fd = c.fd, .events = POLLIN };
		if (poll(&cp, 1, timeout * 1000) <= 0)
			return 1;
		read_actions(&c);
	}
	unsigned long long bytes = 0;
	double t0 = now();
	unsigned long sent = stream(&c, n, &bytes);
	double secs = now() - t0;
	static const char done[] = "Event: BenchDone\r\nPrivilege: user,all\r\n\r\n";
	if (!c.done)
		send_all(c.fd, done, sizeof done - 1);
	while (!c.done) {
		struct pollfd cp = { .fd = c.fd, .events = POLLIN };
		if (poll(&cp, 1, timeout * 1000) <= 0)
			break;
		read_actions(&c);
	}
	fprintf(stderr, "sent=%lu bytes=%llu seconds=%.3f\n", sent, bytes, secs);
	close(c.fd);
	return 0;
}
