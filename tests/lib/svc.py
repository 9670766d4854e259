#!/usr/bin/python3
"""tests/lib/svc.py — service (load-balancer) traffic tools for the system tests, run inside a
pod namespace.  Standard library only.  Every server answers with its own NAME and the peer
address it saw, so a test can tell which backend served a connection and whether the client's
address survived (DSR) or was rewritten to the gateway (non-DSR, hairpin).

  http-server PORT NAME        HTTP (python http.server, threaded): every GET is answered with
                               "NAME PEER_IP PEER_PORT\\n"; one line "req NAME PEER_IP" per
                               request on stdout
  stream-server PORT NAME      TCP: sends "NAME\\n" on accept, then echoes what it reads
  streams IP PORT WANT SECONDS [MAXCONN]
                               opens connections to IP:PORT until WANT distinct servers have
                               answered (at most MAXCONN tries, default 60), keeps one per
                               server, prints "ready NAME...", then sends one line per
                               connection every 0.1 s for SECONDS, each echo checked; prints
                               per connection "NAME ok ROUNDS", or "NAME reset|closed|timeout|
                               corrupt EPOCH_SECONDS" for the first failure; a round trip
                               times out after $SVC_TIMEOUT seconds (default 2)
  udp-server PORT NAME         UDP: answers each datagram with "NAME PEER_IP PEER_PORT"
  udp-ask IP PORT SECONDS [INTERVAL]
                               one connected UDP socket (a fixed source port): a datagram every
                               INTERVAL (default 0.1 s), prints "EPOCH NAME" per answer or
                               "EPOCH lost"; stops after SECONDS or when the file named by
                               $SVC_STOP exists
  tcp-refused IP PORT          a connect must be refused (RST) within 2 s: prints "refused MS"
                               and exits 0, else prints what happened and exits 1
  udp-refused IP PORT          a datagram on a connected socket must get ICMP port unreachable
                               (ConnectionRefusedError) within 2 s; same output convention
"""
import http.server
import os
import select
import socket
import socketserver
import sys
import threading
import time

sys.dont_write_bytecode = True          # no __pycache__ left in tests/lib
from tool import echo_round, read_line, run  # noqa: E402  (tests/lib/tool.py)


def _listening():
    print("listening", flush=True)


# --- HTTP --------------------------------------------------------------------------------------

def http_server(port, name):
    lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            ip, p = self.client_address[:2]
            body = ("%s %s %d\n" % (name, ip, p)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)
            with lock:
                print("req %s %s" % (name, ip), flush=True)

        def log_message(self, *args):
            pass

    class Server(http.server.ThreadingHTTPServer):
        allow_reuse_address = True
        daemon_threads = True
        request_queue_size = 128

        def server_bind(self):
            # HTTPServer's own looks up the host's name (socket.getfqdn), which waits for DNS
            # when the host's name is not in /etc/hosts and the resolver is out of the pod's
            # reach: no name is needed here.
            socketserver.TCPServer.server_bind(self)
            self.server_name, self.server_port = "svc", self.server_address[1]

    srv = Server(("0.0.0.0", int(port)), Handler)
    _listening()
    srv.serve_forever()


# --- TCP streams -------------------------------------------------------------------------------

def stream_server(port, name):
    class Handler(socketserver.BaseRequestHandler):
        def handle(self):
            s = self.request
            s.sendall(("%s\n" % name).encode())
            while True:
                try:
                    b = s.recv(65536)
                except OSError:
                    return
                if not b:
                    return
                s.sendall(b)

    class Server(socketserver.ThreadingTCPServer):
        allow_reuse_address = True
        daemon_threads = True

    srv = Server(("0.0.0.0", int(port)), Handler)
    _listening()
    srv.serve_forever()


def streams(ip, port, want, seconds, maxconn=60):
    want, seconds, maxconn = int(want), float(seconds), int(maxconn)
    conns = {}
    for _ in range(maxconn):
        s = socket.create_connection((ip, int(port)), timeout=3)
        name = read_line(s, 3)
        if name in conns:
            s.close()
        else:
            conns[name] = s
        if len(conns) >= want:
            break
    print("ready " + " ".join(sorted(conns)), flush=True)
    timeout = float(os.environ.get("SVC_TIMEOUT", "2"))
    result, rounds = {}, 0
    end = time.time() + seconds
    while time.time() < end and len(result) < len(conns):
        rounds += 1
        msg = ("ping %d\n" % rounds).encode()
        for name, s in conns.items():
            if name in result:
                continue
            try:
                if not echo_round(s, msg, timeout):
                    result[name] = "corrupt %.3f" % time.time()
            except ConnectionResetError:
                result[name] = "reset %.3f" % time.time()
            except socket.timeout:
                result[name] = "timeout %.3f" % time.time()
            except OSError as e:
                kind = "closed" if "closed" in str(e) else "error(%s)" % e.__class__.__name__
                result[name] = "%s %.3f" % (kind, time.time())
        time.sleep(0.1)
    for name in sorted(conns):
        print("%s %s" % (name, result.get(name, "ok %d" % rounds)), flush=True)
        conns[name].close()


# --- UDP ---------------------------------------------------------------------------------------

def udp_server(port, name):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", int(port)))
    _listening()
    while True:
        _data, peer = s.recvfrom(65535)
        s.sendto(("%s %s %d" % (name, peer[0], peer[1])).encode(), peer)


def udp_ask(ip, port, seconds, interval=0.1):
    seconds, interval = float(seconds), float(interval)
    stop = os.environ.get("SVC_STOP")
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect((ip, int(port)))
    print("sport %d" % s.getsockname()[1], flush=True)
    start, seq = time.time(), 0
    while seq * interval < seconds and not (stop and os.path.exists(stop)):
        t0 = time.time()
        seq += 1
        deadline = start + seq * interval
        try:
            s.send(b"q %d" % seq)
        except ConnectionRefusedError:
            answer = "refused"
        else:
            answer = "lost"
            r, _, _ = select.select([s], [], [], max(deadline - time.time(), 0))
            if r:
                try:
                    answer = s.recv(512).decode().split()[0]
                except ConnectionRefusedError:
                    answer = "refused"
        print("%.3f %s" % (t0, answer), flush=True)
        if seq * interval < seconds:
            time.sleep(max(deadline - time.time(), 0))


def _refused(kind, fn):
    t0 = time.monotonic()
    try:
        what = fn()
    except ConnectionRefusedError:
        print("refused %d" % ((time.monotonic() - t0) * 1000))
        return 0
    except socket.timeout:
        what = "timed out"
    except OSError as e:
        what = "error %s" % e
    print("%s not refused after %d ms: %s" % (kind, (time.monotonic() - t0) * 1000, what))
    return 1


def tcp_refused(ip, port):
    def go():
        s = socket.create_connection((ip, int(port)), timeout=2)
        return "connected to %s" % (s.getpeername(),)
    return _refused("TCP", go)


def udp_refused(ip, port):
    def go():
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(2)
        s.connect((ip, int(port)))
        s.send(b"hello")
        return "answered %r" % s.recv(512)
    return _refused("UDP", go)


if __name__ == "__main__":
    sys.exit(run({
        "http-server": http_server, "stream-server": stream_server, "streams": streams,
        "udp-server": udp_server, "udp-ask": udp_ask, "tcp-refused": tcp_refused,
        "udp-refused": udp_refused,
    }, sys.argv, __doc__))
