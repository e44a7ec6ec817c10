#!/usr/bin/env python3
"""fake_ami_http.py - fake_ami.py plus the other ways Asterisk 22 serves AMI.

Runs fake_ami.py's TCP server and, sharing its simulated PBX (one World, so
a call made over HTTP shows up as events over TLS), optionally:

  --tls         AMI over TLS (manager.conf tlsenable) on its own port: the
                same byte stream after the handshake
  --http        AMI over HTTP (http.conf enabled, manager.conf webenabled):
                /rawman and /mxml with a cookie session, /arawman and /amxml
                with HTTP digest auth; --https serves it over TLS instead
  --cert/--key  the certificate and key for --tls and --https

Prints "READY <tcp port> <tls port or 0> <http port or 0>" when listening.
Every other option is fake_ami.py's (--log, --violations, --channels,
--events, --calls, ...); fake_ami.py's --webenabled no takes the AMI URIs
away (404, as with manager.conf webenabled = no). The byte formats follow the captures in
tests/captures/asterisk-22 (http-*.txt, tls-*.txt; README quirks 27-35):

  * Set-Cookie: mansession_id="%08x"; Version=1; Max-Age=<httptimeout> on
    every cookie-mode answer; a missing, unknown or expired cookie quietly
    gets a new unauthenticated session, which answers "Permission denied"
    to everything but Login/Logoff/Challenge (quirk 28).
  * Sessions live 5 s before Login and --httptimeout (60) s after each
    request once logged in (reference section 2 item 37).
  * Every AMI error is HTTP 200 with a "Response: Error" body.
  * Events only come through WaitEvent: "Response: Success / Message:
    Waiting for Event completed.", the queued events, "Event:
    WaitEventComplete". It returns at once when anything is queued; its
    Timeout is capped at httptimeout - 10; a session with no event mask
    gets all events once it calls WaitEvent (as Asterisk's action_waitevent
    does); a newer WaitEvent on the session ends the older one.
  * /mxml: xml_translate()'s format (lower-cased names, non-alphanumerics as
    '_', repeats as name-2, name-3, values trimmed and XML-escaped, lines
    without a colon as opaque_data).
  * Digest: 401 with WWW-authenticate: Digest algorithm=MD5,
    realm="asterisk", nonce="%08x", qop="auth", opaque=<nonce>; the
    nonce-count must grow; one AMI session per nonce; no cookie.

What a client must not do is written to --violations: parameters in a URL
(GET), a secret or key in a URL, CR/LF/NUL in a parameter, two WaitEvents
in flight on one session.

HTTP-only options:
  --httptimeout S     Max-Age and the authenticated session lifetime (60)
  --http-prefix P     serve under /P/ (http.conf prefix)
  --http-forget N     forget a session after it served N requests (a
                      deterministic "session expired")
  --http-hostile M    every request to an AMI endpoint is answered badly:
                      status-500 | redirect (to another path) |
                      redirect-loop (302 to the very URL asked for) | html |
                      empty | bad-xml | hang | truncated-chunked (a chunked
                      body that stops inside its first chunk, then close)
Each request line is logged as "HTTP <method> <path>"; digest checks as
"DIGEST ok|fail <user>"; TLS handshakes as "TLS <version>" or
"TLS HANDSHAKE FAILED <reason>".
"""

import argparse
import hashlib
import os
import random
import re
import select
import socket
import ssl
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fake_ami as fa  # noqa: E402

UNAUTH_LIFETIME = 5
REALM = "asterisk"

# ---------------------------------------------------------------------------
# /mxml: what xml_translate() and xml_copy_escape() in main/manager.c write.


def xml_name(name):
    return "".join(c.lower() if c.isascii() and c.isalnum() else "_" for c in name)


def xml_value(v):
    return (v.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("'", "&apos;"))


def xml_translate(data):
    out = ["<ajax-response>\n"]
    inobj = in_data = False
    counts = {}
    for line in re.split(r"\r\n|\n", fa.to_str(data)):
        val = line.rstrip(fa.BLANKS)
        if not val:
            if in_data:
                out.append("'")
                in_data = False
            if inobj:
                out.append(" /></response>\n")
                inobj = False
            continue
        if not inobj:
            out.append("<response type='object' id='unknown'><generic")
            counts, inobj = {}, True
        if in_data:
            out.append("\n" + xml_value(val))
            continue
        name, colon, rest = val.partition(":")
        if colon:
            name, value = name.rstrip(fa.BLANKS), rest.lstrip(fa.BLANKS)
        else:
            name, value, in_data = "Opaque-data", name, True
        counts[name] = counts.get(name, 0) + 1
        suffix = "-%d" % counts[name] if counts[name] > 1 else ""
        out.append(" %s%s='%s" % (xml_name(name), suffix, xml_value(value)))
        if not in_data:
            out.append("'")
    if in_data:
        out.append("'")
    if inobj:
        out.append(" /></response>\n")
    out.append("</ajax-response>\n")
    return fa.to_bytes("".join(out))


# ---------------------------------------------------------------------------
# HTTP sessions.

class HttpSink:
    """The Session's output for HTTP: responses go to the answer of the
    request being served (per thread: a WaitEvent may wait while another
    request runs), events to a queue only WaitEvent empties."""

    def __init__(self, local_address, remote_address):
        self.local_address, self.remote_address = local_address, remote_address
        self.cond = threading.Condition()
        self.events = []            # (Event, force) in arrival order
        self.outs = {}
        self.waiter = None          # the WaitEvent currently waiting
        self.waiting = 0

    def begin(self):
        self.outs[threading.get_ident()] = []

    def take(self):
        return b"".join(self.outs.pop(threading.get_ident(), []))

    def write(self, data):
        # The captures show no FullyBooted over HTTP: the Login answer is
        # the response alone.
        if data.startswith(b"Event: FullyBooted\r\n"):
            return
        self.outs.setdefault(threading.get_ident(), []).append(data)

    def queue(self, ev, force):
        with self.cond:
            self.events.append((ev, force))
            self.cond.notify_all()

    def event(self, data):
        self.queue(fa.Event(data), True)

    def close(self):
        pass

    def abort(self):
        pass

    def wait_below(self, limit):
        while True:
            with self.cond:
                if sum(len(e.data) for e, _ in self.events) <= limit:
                    return
            time.sleep(0.01)


class HttpSession(fa.Session):
    """An AMI session reached over HTTP (cookie or digest)."""

    def __init__(self, world, sink, conn_id, mid):
        super().__init__(world, sink, conn_id)
        self.mid = mid
        self.expires = time.time() + UNAUTH_LIFETIME
        self.served = 0

    def set_busy(self, busy):
        # Events never go into an HTTP answer, so they need no holding back.
        super().set_busy(False)

    def post_event(self, ev, force=False):
        # Asterisk keeps every event for the session and applies the mask
        # and filters when WaitEvent hands them out.
        with self.lock:
            if self.closing or not self.authenticated:
                return False
        self.sink.queue(ev, force)
        return True

    def refused(self, req):
        action = req.get("Action", skip_empty=True)
        return (action and not self.authenticated
                and action.lower() not in ("login", "logoff", "challenge"))

    def check_ids(self, req):
        # A refused request is sent again, same ActionID, once the client
        # has logged in on this (new) session: not a reused ActionID.
        if not self.refused(req):
            super().check_ids(req)

    def process(self, req):
        if self.refused(req):
            # Normal over HTTP: a session that expired comes back as a new
            # one, and the client cannot know before it asks.
            self.error(req, "Permission denied")
            return None
        return super().process(req)

    def act_waitevent(self, req):
        sink = self.sink
        timeout = fa.leading_int(req.get("Timeout"))
        cap = max(0, int(self.expires - time.time()) - 10)
        if timeout is None or timeout < 0 or timeout > cap:
            timeout = cap
        if self.mask == 0:
            self.mask = fa.INT_MAX      # "make sure we record events"
        token = object()
        with sink.cond:
            if sink.waiting:
                self.violation("two WaitEvent requests in flight on one session")
            sink.waiter = token
            sink.waiting += 1
            sink.cond.notify_all()
            end = time.monotonic() + timeout
            while not sink.events and sink.waiter is token and not self.closing:
                left = end - time.monotonic()
                if left <= 0:
                    break
                sink.cond.wait(left)
            queued = sink.events if sink.waiter is token else []
            if sink.waiter is token:
                sink.events = []
            sink.waiting -= 1
        self.send(self.response(req, "Success", ["Message: Waiting for Event completed."]))
        for ev, force in queued:
            if force or self.wants(ev):
                sink.write(ev.data)
        aid = req.get("ActionID")
        self.send(["Event: WaitEventComplete"] + (["ActionID: " + aid] if aid else []))
        return None


class HttpState:
    """Sessions by cookie, digest nonces, and the options of the server."""

    def __init__(self, world, opts, local_address):
        self.world, self.opts, self.rec = world, opts, world.rec
        self.local_address = local_address
        self.lock = threading.Lock()
        self.sessions = {}
        self.nonces = {}
        self.conn_id = 100000

    def new_session(self, remote):
        with self.lock:
            self.conn_id += 1
            mid = random.getrandbits(32) or 1
            while mid in self.sessions:
                mid = random.getrandbits(32) or 1
            sink = HttpSink(self.local_address, "IPV4/TCP/%s/%d" % remote[:2])
            s = HttpSession(self.world, sink, self.conn_id, mid)
            self.sessions[mid] = s
        return s

    def drop(self, s):
        with self.lock:
            self.sessions.pop(s.mid, None)
        s.end()

    def find(self, mid):
        now = time.time()
        with self.lock:
            dead = [s for s in self.sessions.values() if s.expires < now]
            for s in dead:
                del self.sessions[s.mid]
            s = self.sessions.get(mid)
        for d in dead:
            self.rec.log("HTTP SESSION EXPIRED %08x" % d.mid)
            d.end()
        return s

    def touch(self, s):
        """Asterisk renews a session's lifetime with each request."""
        life = self.opts.httptimeout if s.authenticated else UNAUTH_LIFETIME
        s.expires = time.time() + life

    def served(self, s, result):
        s.served += 1
        self.touch(s)
        forget = self.opts.http_forget and s.served >= self.opts.http_forget
        if result == fa.CLOSE or forget:
            if forget:
                self.rec.log("HTTP SESSION FORGOTTEN %08x" % s.mid)
            self.drop(s)

    # --- digest --------------------------------------------------------------

    def new_nonce(self):
        with self.lock:
            nonce = "%08x" % random.getrandbits(32)
            self.nonces[nonce] = {"nc": 0, "session": None}
        return nonce

    def digest(self, method, header, remote):
        """The session of a valid Authorization header, or None."""
        if not header.startswith("Digest "):
            if header:
                self.rec.log("DIGEST missing (%s)" % header.split(" ", 1)[0])
            return None
        f = {k: (q if q else t) for k, q, t in
             re.findall(r'(\w+)=(?:"([^"]*)"|([^\s,]*))', header[7:])}
        user = fa.find_user(f.get("username"))
        entry = self.nonces.get(f.get("nonce", ""))
        if not user or not entry:
            self.rec.log("DIGEST fail %s" % f.get("username"))
            return None
        md5 = lambda s: hashlib.md5(fa.to_bytes(s)).hexdigest()  # noqa: E731
        ha1 = md5("%s:%s:%s" % (f.get("username"), REALM, user.secret))
        ha2 = md5("%s:%s" % (method, f.get("uri", "")))
        if f.get("qop"):
            want = md5(":".join([ha1, f["nonce"], f.get("nc", ""), f.get("cnonce", ""),
                                 f["qop"], ha2]))
        else:
            want = md5("%s:%s:%s" % (ha1, f["nonce"], ha2))
        try:
            nc = int(f.get("nc", "0"), 16)
        except ValueError:
            nc = 0
        with self.lock:
            if f.get("response") != want or (f.get("qop") and nc <= entry["nc"]):
                self.rec.log("DIGEST fail %s" % user.name)
                return None
            entry["nc"] = nc
            s = entry["session"]
        if s is None or s.closing:
            s = self.new_session(remote)
            s.user, s.readperm, s.writeperm = user, user.readperm, user.writeperm
            s.mask = 0                  # no Login, no Events: header
            s.session_tv = time.time()
            s.authenticated = True
            entry["session"] = s
        self.rec.log("DIGEST ok %s" % user.name)
        return s


# ---------------------------------------------------------------------------
# The HTTP server.

HTML = ('<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">\r\n<html><head>\r\n'
        '<title>%d %s</title>\r\n</head><body>\r\n<h1>%s</h1>\r\n<p>%s</p>\r\n<hr />\r\n'
        '<address>Asterisk/%s</address>\r\n</body></html>\r\n')


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        # Headers and body go out in two writes: without this, Nagle and the
        # client's delayed ACK add 40 ms to every request.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def version_string(self):
        return "Asterisk/" + fa.ASTERISK_VERSION

    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        self.serve("GET")

    def do_POST(self):
        self.serve("POST")

    @property
    def state(self):
        return self.server.state

    def send_common(self, code, ctype, length, extra=()):
        self.send_response(code)
        self.send_header("Cache-Control", "no-cache, no-store")
        for name, value in extra:
            self.send_header(name, value)
        self.send_header("Content-type", ctype)
        self.send_header("Content-Length", str(length))
        self.end_headers()

    def send_html(self, code, title, text, extra=()):
        body = (HTML % (code, title, title, text, fa.ASTERISK_VERSION)).encode()
        self.send_common(code, "text/html", len(body), extra)
        self.wfile.write(body)

    def send_ami(self, data, mxml, mid=None):
        body = xml_translate(data) if mxml else data
        extra = []
        if mid is not None:
            extra.append(("Set-Cookie", 'mansession_id="%08x"; Version=1; Max-Age=%d'
                          % (mid, self.state.opts.httptimeout)))
        extra.append(("Pragma", "SuppressEvents"))
        self.send_common(200, "text/xml" if mxml else "text/plain", len(body), extra)
        self.wfile.write(body)

    def params(self, method, query, body):
        st = self.state
        pairs = urllib.parse.parse_qsl(query, keep_blank_values=True, errors="surrogateescape")
        for name, _ in pairs:
            if name.lower() in ("secret", "key"):
                st.world.rec.violation(0, "%s sent in the URL: %s" % (name, self.path[:60]))
        if pairs:
            st.world.rec.violation(0, "parameters in the URL (%s %s): send a POST form"
                                   % (method, self.path.split("?")[0]))
        ctype = self.headers.get("Content-Type", "")
        if method == "POST" and ctype.startswith("application/x-www-form-urlencoded"):
            pairs += urllib.parse.parse_qsl(fa.to_str(body), keep_blank_values=True,
                                            errors="surrogateescape")
        elif method == "POST" and body:
            st.world.rec.violation(0, "POST body of type %r" % ctype)
        for name, value in pairs:
            if re.search(r"[\r\n\x00]", name + value):
                st.world.rec.violation(0, "CR, LF or NUL in parameter %r" % name)
        return pairs

    def hostile(self, mxml):
        mode = self.state.opts.http_hostile
        if mode == "status-500":
            self.send_html(500, "Internal Server Error", "Something broke")
        elif mode == "redirect":
            self.send_html(302, "Found", "Moved", [("Location", "http://127.0.0.1:%d/elsewhere/rawman"
                                                    % self.server.server_address[1])])
        elif mode == "redirect-loop":
            self.send_html(302, "Found", "Moved", [("Location", "http://127.0.0.1:%d%s"
                                                    % (self.server.server_address[1], self.path))])
        elif mode == "html":
            body = b"<html><body>Manager Tester</body></html>\r\n"
            self.send_common(200, "text/html", len(body))
            self.wfile.write(body)
        elif mode == "empty":
            self.send_common(200, "text/xml" if mxml else "text/plain", 0)
        elif mode == "bad-xml":
            body = b"<ajax-response>\n<response type='object' id='unknown'><generic response=Success"
            self.send_common(200, "text/xml", len(body))
            self.wfile.write(body)
        elif mode == "hang":
            time.sleep(self.state.opts.lifetime)
        elif mode == "truncated-chunked":
            # Raw bytes: a chunk of 0x100 bytes announced, 23 sent, then the close.
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                             b"Transfer-Encoding: chunked\r\n\r\n100\r\nResponse: Success\r\nMess")
            self.close_connection = True
        else:
            return False
        return True

    def serve(self, method):
        st = self.state
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        st.rec.log("HTTP %s %s" % (method, self.path))
        path, _, query = self.path.partition("?")
        prefix = "/" + st.opts.http_prefix.strip("/") + "/" if st.opts.http_prefix else "/"
        endpoint = path[len(prefix):] if path.startswith(prefix) else ""
        mxml = endpoint in ("mxml", "amxml")
        if endpoint in ("rawman", "mxml", "arawman", "amxml") and not fa.MANAGER.webenabled:
            endpoint = ""           # webenabled = no: manager.c registers no URI
        if endpoint in ("rawman", "mxml", "arawman", "amxml") and self.hostile(mxml):
            return
        if endpoint in ("rawman", "mxml"):
            self.run(st.find(self.cookie()), method, query, body, mxml, cookie=True)
        elif endpoint in ("arawman", "amxml"):
            s = st.digest(method, self.headers.get("Authorization", ""), self.client_address)
            if s is None:
                nonce = st.new_nonce()
                self.send_html(401, "Unauthorized", "You have no access to this page.", [(
                    "WWW-authenticate", 'Digest algorithm=MD5, realm="%s", nonce="%s", '
                    'qop="auth", opaque="%s"' % (REALM, nonce, nonce))])
                return
            self.run(s, method, query, body, mxml, cookie=False)
        else:
            self.send_html(404, "Not Found", "The requested URL was not found on this server.")

    def cookie(self):
        m = re.search(r'mansession_id="?([0-9a-fA-F]+)"?', self.headers.get("Cookie", ""))
        return int(m.group(1), 16) if m else None

    def run(self, s, method, query, body, mxml, cookie):
        st = self.state
        if s is None:
            s = st.new_session(self.client_address)
        pairs = self.params(method, query, body)
        lines = ["%s: %s" % (name, value) for name, value in pairs]
        req = fa.Request(lines[:fa.MAX_HEADERS], too_many=len(lines) > fa.MAX_HEADERS)
        st.touch(s)
        s.sink.begin()
        result = s.handle(req)
        data = s.sink.take()
        st.served(s, result)
        self.send_ami(data, mxml, s.mid if cookie else None)


class HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, world, opts, ctx):
        super().__init__(("127.0.0.1", 0), Handler)
        self.ctx = ctx
        self.state = HttpState(world, opts, "IPV4/%s/127.0.0.1/%d"
                               % ("TLS" if ctx else "TCP", self.server_address[1]))

    def get_request(self):
        sock, addr = super().get_request()
        if self.ctx:
            sock = self.ctx.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr

    def finish_request(self, request, client_address):
        if self.ctx:
            try:
                request.settimeout(5)
                request.do_handshake()
                request.settimeout(None)
                self.state.rec.log("TLS %s" % request.version())
            except (ssl.SSLError, OSError) as e:
                self.state.rec.log("TLS HANDSHAKE FAILED %s" % e)
                return
        super().finish_request(request, client_address)

    def handle_error(self, request, client_address):
        pass        # a client that went away mid-answer (timeouts, Ctrl-C)


# ---------------------------------------------------------------------------
# AMI over TLS: the handshake, then a pump between the TLS socket and one
# end of a socketpair whose other end is an ordinary TcpConnection (so the
# TLS side needs no second copy of the AMI logic, and one thread does all
# SSL calls: OpenSSL objects must not be used by two threads at once).

def pump(tls, plain):
    tls.setblocking(False)
    plain.setblocking(False)
    to_tls, to_plain = b"", b""
    tls_open = plain_open = True
    while tls_open or plain_open or to_tls:
        rl = ([tls] if tls_open and not to_plain else []) + ([plain] if plain_open and not to_tls else [])
        wl = ([tls] if to_tls else []) + ([plain] if to_plain else [])
        if not rl and not wl:
            break
        if tls in rl and tls.pending():
            r, w = [tls], []
        else:
            r, w, _ = select.select(rl, wl, [], 1.0)
        try:
            if tls in r:
                try:
                    data = tls.recv(65536)
                    if data:
                        to_plain += data
                    else:
                        tls_open = False
                        plain.shutdown(socket.SHUT_WR)
                except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                    pass
            if plain in r:
                data = plain.recv(65536)
                if data:
                    to_tls += data
                else:
                    plain_open = False
            if tls in w and to_tls:
                try:
                    to_tls = to_tls[tls.send(to_tls):]
                except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                    pass
            if plain in w and to_plain:
                to_plain = to_plain[plain.send(to_plain):]
            if not plain_open and not to_tls:
                break
        except (OSError, ssl.SSLError):
            break
    try:
        tls.setblocking(True)
        tls.settimeout(1)
        tls.unwrap()                # close_notify: a clean end of the TLS stream
    except (OSError, ssl.SSLError, ValueError):
        pass
    for s in (tls, plain):
        try:
            s.close()
        except OSError:
            pass


def serve_tls_conn(world, ctx, raw, peer, conn_id, port):
    raw.settimeout(5)
    try:
        tls = ctx.wrap_socket(raw, server_side=True)
    except (ssl.SSLError, OSError) as e:
        world.rec.log("TLS HANDSHAKE FAILED %s" % e)
        raw.close()
        return
    world.rec.log("TLS %s" % tls.version())
    ours, theirs = socket.socketpair()
    conn = fa.TcpConnection(world, theirs, peer, conn_id)
    conn.local_address = "IPV4/TLS/127.0.0.1/%d" % port
    conn.start()
    pump(tls, ours)


def serve_tls(world, srv, ctx):
    port = srv.getsockname()[1]
    conn_id = 50000
    while not world.stop.is_set():
        try:
            sock, peer = srv.accept()
        except socket.timeout:
            continue
        except OSError:
            return
        conn_id += 1
        threading.Thread(target=serve_tls_conn, args=(world, ctx, sock, peer, conn_id, port),
                         daemon=True).start()


# ---------------------------------------------------------------------------

def parse_args(argv):
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--tls", action="store_true")
    p.add_argument("--http", action="store_true")
    p.add_argument("--https", action="store_true")
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--httptimeout", type=int, default=60)
    p.add_argument("--http-prefix", default="")
    p.add_argument("--http-forget", type=int, default=0)
    p.add_argument("--http-hostile", choices=["status-500", "redirect", "redirect-loop", "html",
                                              "empty", "bad-xml", "hang", "truncated-chunked"])
    ours, rest = p.parse_known_args(argv)
    opts = fa.parse_args(rest)
    for k, v in vars(ours).items():
        setattr(opts, k, v)
    if (opts.tls or opts.https) and not (opts.cert and opts.key):
        p.error("--tls and --https need --cert and --key")
    return opts


def main(argv=None):
    opts = parse_args(argv)
    world = fa.make_world(opts)
    ctx = None
    if opts.cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(opts.cert, opts.key)
    tcp = fa.listener()
    world.port = tcp.getsockname()[1]
    tls_port = http_port = 0
    if opts.tls:
        tls = fa.listener()
        tls_port = world.tls_port = tls.getsockname()[1]
        threading.Thread(target=serve_tls, args=(world, tls, ctx), daemon=True).start()
    if opts.http or opts.https:
        httpd = HttpServer(world, opts, ctx if opts.https else None)
        http_port = httpd.server_address[1]
        threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.2},
                         daemon=True).start()
    fa.run(world, tcp, "READY %d %d %d" % (world.port, tls_port, http_port))


if __name__ == "__main__":
    main()
