#!/usr/bin/python3
"""tests/lib/robust.py — traffic and abuse tools for the fault, abuse and soak tests
(tests/system/test-fault-*.sh, test-abuse-*.sh, test-soak.sh), run inside a namespace.
Standard library only.  The servers are tests/lib/svc.py's (stream-server greets with its
NAME and echoes; udp-server answers every datagram), plus push-server here.  Times are epoch
seconds; every tool stops early when the file named by $ROBUST_STOP exists.

  hold IP PORT N SECONDS [INTERVAL] [TIMEOUT]
        N connections to a stream-server (through a VIP), each in its own thread doing an echo
        round trip every INTERVAL (0.1 s), waiting up to TIMEOUT (20 s) for each, so a
        connection that stalls while the switch restarts and then recovers counts as alive.
        Prints per connection "conn I NAME ok ROUNDS STALL_MS" (STALL_MS: the longest time
        between two answered round trips) or "conn I NAME KIND EPOCH" for the first failure
        (reset, closed, timeout, corrupt), then "hold alive=A of N max_stall_ms=M".
  push-server PORT NAME
        TCP: greets with NAME, then sends a 32-byte line every 0.05 s until the peer goes.
  push-hold IP PORT N SECONDS [TIMEOUT]
        N connections to a push-server that only read, each failing after TIMEOUT (20 s)
        without a line; prints per connection "conn I NAME ok LINES SILENCE_MS" or "conn I
        NAME KIND EPOCH", then "push alive=A of N max_silence_ms=M".
  churn IP PORT SECONDS [PARALLEL]
        new connections to a stream-server one after another (PARALLEL loops, default 1):
        connect and read the greeting, each within 1 s; prints "EPOCH ok NAME" or
        "EPOCH fail REASON" per attempt and "churn attempts=A ok=O fail=F max_gap_ms=G
        gap_at=EPOCH" (G: the longest time without a successful connection).
  udp-probe IP PORT SECONDS [INTERVAL]
        a datagram every INTERVAL (0.01 s) from one socket to a udp-server; prints "probe
        sent=S answered=A max_gap_ms=G gap_at=EPOCH" (G: the longest time between answers).
  flood-udp IP PORT COUNT [SECONDS]
        datagrams to IP:PORT, each from another source port (20000 and up, wrapping below
        61000), COUNT of them, again and again until SECONDS (0: once) have passed: at least
        COUNT new flows.  Prints "flood sent=N secs=S rate=PER_SECOND".
  ctl-idle SOCKET N SECONDS
        N connections to a control socket that send nothing; prints "idle open=N" once they
        are open, holds them SECONDS, prints "idle closed_by_peer=C".
  ctl-partial SOCKET BYTES SECONDS
        announces a request of 60 MiB and sends BYTES of it, then holds the connection
        SECONDS; prints "partial sent=BYTES".
  ctl-noread SOCKET COUNT SECONDS
        writes COUNT Show requests without reading a reply; prints "noread sent=S
        closed_by_peer=yes|no" after SECONDS.
  ctl-show SOCKET
        one Show request; prints "show ms=MS bytes=B" (the reply's round trip), or "show
        failed ..." and exits 1.
  raw-syn IFACE SMAC DMAC SRC_IP DST_IP DPORT COUNT
        COUNT TCP SYNs (source ports 30000 and up) with the given, possibly spoofed, addresses.
  raw-udp IFACE SMAC DMAC SRC_IP DST_IP DPORT COUNT
        COUNT UDP datagrams likewise (source ports 30000 and up).
  raw-vxlan IFACE SMAC DMAC SRC_IP DST_IP VNI INNER_SRC INNER_DST COUNT
        COUNT VXLAN datagrams (UDP 4789) with the given outer addresses, each carrying an ICMP
        echo request INNER_SRC -> INNER_DST (ICMP id 0x5a5a, inner MACs 0a:58:... of the
        addresses).
  arp-request IFACE SMAC SPA TPA COUNT
        COUNT broadcast ARP requests "who has TPA, tell SPA".
"""
import errno
import os
import select
import socket
import struct
import sys
import threading
import time

sys.dont_write_bytecode = True          # no __pycache__ left in tests/lib
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pkt  # noqa: E402  (tests/lib/pkt.py: eth, ipv4, icmp_echo, csum, raw_socket)
from tool import SHOW, echo_round, out, read_line, run, send_partial, unix  # noqa: E402

STOP = os.environ.get("ROBUST_STOP")


def stopped():
    return bool(STOP) and os.path.exists(STOP)


def failure_kind(e):
    if isinstance(e, ConnectionResetError):
        return "reset"
    if isinstance(e, socket.timeout):
        return "timeout"
    if isinstance(e, ConnectionError) and "closed" in str(e):
        return "closed"
    if getattr(e, "errno", None):
        return "error(%s)" % errno.errorcode.get(e.errno, e.errno)
    return "error(%s)" % e.__class__.__name__


def run_and_report(run, n, results, what, worst_name):
    """Runs run(i) for i < n in threads; prints each result ("conn I NAME ok ROUNDS WORST" or
    a failure) and the summary "WHAT alive=A of N WORST_NAME=W"."""
    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    alive, worst = 0, 0
    for r in results:
        out(r)
        f = r.split()
        if f[3] == "ok":
            alive += 1
            worst = max(worst, int(f[5]))
    out("%s alive=%d of %d %s=%d" % (what, alive, n, worst_name, worst))


# --- established connections -------------------------------------------------------------

def hold(ip, port, n, seconds, interval=0.1, timeout=20):
    n, seconds, interval, timeout = int(n), float(seconds), float(interval), float(timeout)
    conns = []
    for _ in range(n):
        s = socket.create_connection((ip, int(port)), timeout=3)
        conns.append((s, read_line(s, 3)))
    out("ready " + " ".join(name for _, name in conns))
    results = [None] * n
    end = time.time() + seconds

    def run(i):
        s, name = conns[i]
        rounds, last_ok, stall = 0, time.time(), 0.0
        try:
            while time.time() < end and not stopped():
                rounds += 1
                if not echo_round(s, b"ping %d %d\n" % (i, rounds), timeout):
                    results[i] = "conn %d %s corrupt %.3f" % (i, name, time.time())
                    return
                now = time.time()
                stall, last_ok = max(stall, now - last_ok), now
                time.sleep(interval)
            results[i] = "conn %d %s ok %d %d" % (i, name, rounds, stall * 1000)
        except OSError as e:
            results[i] = "conn %d %s %s %.3f" % (i, name, failure_kind(e), time.time())

    run_and_report(run, n, results, "hold", "max_stall_ms")
    for s, _ in conns:
        s.close()


def push_server(port, name):
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("0.0.0.0", int(port)))
    srv.listen(128)
    out("listening")

    def serve(c):
        try:
            c.sendall(("%s\n" % name).encode())
            seq = 0
            while True:
                seq += 1
                c.sendall(b"%031d\n" % seq)
                time.sleep(0.05)
        except OSError:
            pass
        c.close()

    while True:
        c, _ = srv.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()


def push_hold(ip, port, n, seconds, timeout=20):
    n, seconds, timeout = int(n), float(seconds), float(timeout)
    conns = []
    for _ in range(n):
        s = socket.create_connection((ip, int(port)), timeout=3)
        f = s.makefile("rb")
        conns.append((s, f, f.readline().decode().strip()))
    out("ready " + " ".join(name for _, _, name in conns))
    results = [None] * n
    end = time.time() + seconds

    def run(i):
        s, f, name = conns[i]
        lines, last, silence = 0, time.time(), 0.0
        s.settimeout(timeout)
        try:
            while time.time() < end and not stopped():
                if not f.readline().endswith(b"\n"):
                    raise ConnectionError("closed")
                now = time.time()
                lines, silence, last = lines + 1, max(silence, now - last), now
            results[i] = "conn %d %s ok %d %d" % (i, name, lines, silence * 1000)
        except OSError as e:
            results[i] = "conn %d %s %s %.3f" % (i, name, failure_kind(e), time.time())

    run_and_report(run, n, results, "push", "max_silence_ms")
    for s, f, _ in conns:
        f.close()
        s.close()


# --- new connections and probes ----------------------------------------------------------

def churn(ip, port, seconds, parallel=1):
    seconds, parallel = float(seconds), int(parallel)
    lock = threading.Lock()
    stats = {"attempts": 0, "ok": 0, "fail": 0, "oks": []}
    start = time.time()
    end = start + seconds

    def loop():
        while time.time() < end and not stopped():
            t0 = time.time()
            try:
                s = socket.create_connection((ip, int(port)), timeout=1)
                try:
                    name = read_line(s, 1)
                finally:
                    s.close()
                line, ok = "%.3f ok %s" % (t0, name), True
            except OSError as e:
                line, ok = "%.3f fail %s" % (t0, failure_kind(e)), False
                time.sleep(0.01)
            with lock:
                stats["attempts"] += 1
                stats["ok" if ok else "fail"] += 1
                if ok:
                    stats["oks"].append(time.time())
                out(line)

    threads = [threading.Thread(target=loop) for _ in range(parallel)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    times = [start] + sorted(stats["oks"]) + [min(time.time(), end)]
    gap, at = 0.0, start
    for a, b in zip(times, times[1:]):
        if b - a > gap:
            gap, at = b - a, a
    out("churn attempts=%d ok=%d fail=%d max_gap_ms=%d gap_at=%.3f" %
        (stats["attempts"], stats["ok"], stats["fail"], gap * 1000, at))


def udp_probe(ip, port, seconds, interval=0.01):
    seconds, interval = float(seconds), float(interval)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect((ip, int(port)))
    s.setblocking(False)
    start = time.time()
    sent = answered = 0
    last, gap, at = start, 0.0, start
    while time.time() - start < seconds and not stopped():
        try:
            s.send(b"p %d" % sent)
            sent += 1
        except OSError:
            pass
        deadline = time.time() + interval
        while True:
            left = deadline - time.time()
            if left <= 0:
                break
            r, _, _ = select.select([s], [], [], left)
            if not r:
                break
            try:
                s.recv(512)
            except OSError:
                continue
            now = time.time()
            answered += 1
            if now - last > gap:
                gap, at = now - last, last
            last = now
    now = time.time()
    if now - last > gap:
        gap, at = now - last, last
    out("probe sent=%d answered=%d max_gap_ms=%d gap_at=%.3f" % (sent, answered, gap * 1000, at))


def flood_udp(ip, port, count, seconds=0):
    count, seconds = int(count), float(seconds)
    t0 = time.time()
    sent = i = 0
    while not stopped():
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("0.0.0.0", 20000 + i % 41000))
            s.sendto(b"flood %d" % i, (ip, int(port)))
            sent += 1
        except OSError:
            pass
        s.close()
        i += 1
        if i >= count and time.time() - t0 >= seconds:
            break
    secs = time.time() - t0
    out("flood sent=%d secs=%.2f rate=%d" % (sent, secs, sent / max(secs, 0.001)))


# --- the control socket --------------------------------------------------------------------

def ctl_idle(path, n, seconds):
    n, seconds = int(n), float(seconds)
    conns = []
    for _ in range(n):
        try:
            conns.append(unix(path))
        except OSError as e:
            out("idle connect failed after %d: %s" % (len(conns), e))
            break
    out("idle open=%d" % len(conns))
    end = time.time() + seconds
    while time.time() < end and not stopped():
        time.sleep(0.1)
    closed = 0
    for s in conns:
        s.setblocking(False)
        try:
            if s.recv(1) == b"":
                closed += 1
        except BlockingIOError:
            pass
        except OSError:
            closed += 1
        s.close()
    out("idle closed_by_peer=%d" % closed)


def ctl_partial(path, nbytes, seconds):
    nbytes, seconds = int(nbytes), float(seconds)
    s = unix(path)
    send_partial(s, nbytes)
    out("partial sent=%d" % nbytes)
    end = time.time() + seconds
    while time.time() < end and not stopped():
        time.sleep(0.1)
    s.close()


def ctl_noread(path, count, seconds):
    count, seconds = int(count), float(seconds)
    s = unix(path)
    s.setblocking(False)
    sent, closed = 0, False
    end = time.time() + seconds
    data = SHOW * 64
    while sent < count and time.time() < end:
        try:
            n = s.send(data)
            sent += n // len(SHOW)
        except BlockingIOError:
            time.sleep(0.01)
        except OSError:
            closed = True
            break
    while time.time() < end and not closed and not stopped():
        time.sleep(0.1)
        try:
            s.send(SHOW)
        except BlockingIOError:
            pass
        except OSError:
            closed = True
    out("noread sent=%d closed_by_peer=%s" % (sent, "yes" if closed else "no"))
    s.close()


def ctl_show(path):
    t0 = time.monotonic()
    try:
        s = unix(path)
        s.settimeout(10)
        s.sendall(SHOW)
        hdr = b""
        while len(hdr) < 4:
            b = s.recv(4 - len(hdr))
            if not b:
                raise ConnectionError("closed")
            hdr += b
        want, got = struct.unpack("!I", hdr)[0], 0
        while got < want:
            b = s.recv(min(65536, want - got))
            if not b:
                raise ConnectionError("closed")
            got += len(b)
    except OSError as e:
        out("show failed after %d ms: %s" % ((time.monotonic() - t0) * 1000, e))
        return 1
    out("show ms=%d bytes=%d" % ((time.monotonic() - t0) * 1000, got))


# --- raw frames ------------------------------------------------------------------------------

def _l4_csum(src, dst, proto, seg):
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, proto,
                                                                           len(seg))
    return pkt.csum(pseudo + seg)


def _tcp_syn(src, dst, sport, dport):
    h = struct.pack("!HHIIBBHHH", sport, dport, 1, 0, 5 << 4, 0x02, 65535, 0, 0)
    c = _l4_csum(src, dst, 6, h)
    return h[:16] + struct.pack("!H", c) + h[18:]


def _udp(src, dst, sport, dport, payload):
    h = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    c = _l4_csum(src, dst, 17, h) or 0xFFFF
    return h[:6] + struct.pack("!H", c) + h[8:]


def _dispatch_mac(ip):
    return "0a:58:" + ":".join("%02x" % int(b) for b in ip.split("."))


def raw_syn(iface, smac, dmac, sip, dip, dport, count):
    s = pkt.raw_socket(iface)
    frames = [pkt.eth(dmac, smac, 0x0800) +
              pkt.ipv4(sip, dip, 6, _tcp_syn(sip, dip, 30000 + i, int(dport)))
              for i in range(int(count))]
    pkt.send_all(s, frames, 1, gap=0.001)


def raw_udp(iface, smac, dmac, sip, dip, dport, count):
    s = pkt.raw_socket(iface)
    frames = [pkt.eth(dmac, smac, 0x0800) +
              pkt.ipv4(sip, dip, 17, _udp(sip, dip, 30000 + i, int(dport), b"spoof"))
              for i in range(int(count))]
    pkt.send_all(s, frames, 1, gap=0.001)


def raw_vxlan(iface, smac, dmac, sip, dip, vni, isrc, idst, count):
    s = pkt.raw_socket(iface)
    frames = []
    for i in range(int(count)):
        inner = pkt.eth(_dispatch_mac(idst), _dispatch_mac(isrc), 0x0800) + \
            pkt.ipv4(isrc, idst, 1, pkt.icmp_echo(seq=i + 1))
        vx = struct.pack("!B3xI", 0x08, (int(vni) & 0xFFFFFF) << 8) + inner
        frames.append(pkt.eth(dmac, smac, 0x0800) +
                      pkt.ipv4(sip, dip, 17, _udp(sip, dip, 40000 + i, 4789, vx)))
    pkt.send_all(s, frames, 1, gap=0.002)


def arp_request(iface, smac, spa, tpa, count):
    s = pkt.raw_socket(iface)
    req = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, pkt.mac_bytes(smac),
                      socket.inet_aton(spa), b"\0" * 6, socket.inet_aton(tpa))
    pkt.send_all(s, [pkt.eth("ff:ff:ff:ff:ff:ff", smac, 0x0806) + req], int(count), gap=0.01)


if __name__ == "__main__":
    sys.exit(run({
        "hold": hold, "push-server": push_server, "push-hold": push_hold, "churn": churn,
        "udp-probe": udp_probe, "flood-udp": flood_udp, "ctl-idle": ctl_idle,
        "ctl-partial": ctl_partial, "ctl-noread": ctl_noread, "ctl-show": ctl_show,
        "raw-syn": raw_syn, "raw-udp": raw_udp, "raw-vxlan": raw_vxlan,
        "arp-request": arp_request,
    }, sys.argv, __doc__))
