#!/usr/bin/python3
"""tests/lib/ctlabuse.py — clients that misuse vswitchd's control socket, for
tests/system/test-abuse-ctl.sh (tests/lib/robust.py has the simpler ones: ctl-show,
ctl-noread).  Standard library only.  A connection counts as closed by the server when
poll() reports the peer gone (POLLHUP, POLLRDHUP or POLLERR), which needs no read: a client
that must not read its replies can still tell.  Times are milliseconds.

  hold SOCKET PROCS PER_PROC SECONDS
        PROCS processes (each its own pid) open PER_PROC connections each, all at once, that
        send nothing; prints "hold open=N" once every connect() has returned, keeps them for
        SECONDS, then prints "hold proc I open=N closed_by_peer=C" per process and
        "hold closed_by_peer=C of N".
  quiet SOCKET WAIT
        the CNI plugin's pattern: connects, sends nothing for WAIT seconds (its IPAM call),
        then a Show; prints "quiet ok ms=T" (the Show's round trip) or "quiet failed: WHY".
  pulse SOCKET SECONDS INTERVAL
        one connection with a Show every INTERVAL seconds, each reply read; prints "pulse ok
        rounds=N" or "pulse failed rounds=N: WHY".
  idle SOCKET SECONDS [shows]
        one connection that sends nothing (after one Show and its reply with "shows");
        prints "idle closed_after_ms=T" (since its last byte) or "idle open" after SECONDS.
  slowloris SOCKET SECONDS INTERVAL
        announces a 1000-byte request and sends one byte of it every INTERVAL seconds;
        prints "slowloris closed_after_ms=T sent=B" (since the first byte) or "slowloris open
        sent=B" after SECONDS.
  partial SOCKET BYTES SECONDS
        announces a 60 MiB request and sends BYTES of it at once; prints "partial sent=B",
        then "partial closed_after_ms=T" (since the last byte) or "partial open".
  partials SOCKET N BYTES SECONDS
        N connections, one after the other, each announcing a 60 MiB request and sending
        BYTES of it; prints "partials sent=S" (how many got all their bytes out), then
        "partials closed_by_peer=C of N" after SECONDS.
  stuck SOCKET REQUESTS SECONDS
        sends REQUESTS Show requests at once, then neither reads nor writes: the replies pile
        up in the server; prints "stuck sent=N", then "stuck closed_after_ms=T" (since the
        last request) or "stuck open".
"""
import os
import resource
import select
import struct
import sys
import time

sys.dont_write_bytecode = True          # no __pycache__ left in tests/lib
from tool import SHOW, out, run, send_partial, unix  # noqa: E402  (tests/lib/tool.py)

GONE = select.POLLHUP | select.POLLRDHUP | select.POLLERR


def ms_since(t):
    return int((time.monotonic() - t) * 1000)


def gone(s, timeout):
    """Waits up to 'timeout' seconds for the server to close 's'; True if it did."""
    p = select.poll()
    p.register(s, GONE)
    return bool(p.poll(max(0, int(timeout * 1000))))


def wait_closed(s, seconds):
    """Returns the ms until the server closed 's', or None after 'seconds'."""
    t0 = time.monotonic()
    return ms_since(t0) if gone(s, seconds) else None


def transact(s, timeout=10):
    s.settimeout(timeout)
    s.sendall(SHOW)
    buf = b""
    while len(buf) < 4 or len(buf) < 4 + struct.unpack("!I", buf[:4])[0]:
        b = s.recv(65536)
        if not b:
            raise ConnectionError("closed by the server")
        buf += b


def hold(path, procs, per_proc, seconds):
    procs, per_proc, seconds = int(procs), int(per_proc), float(seconds)
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    children = []
    for i in range(procs):
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            conns = []
            try:
                for _ in range(per_proc):
                    conns.append(unix(path))
            except OSError:
                pass
            os.write(w, b"%d\n" % len(conns))
            time.sleep(seconds)
            closed = sum(gone(s, 0) for s in conns)
            os.write(w, b"%d %d\n" % (len(conns), closed))
            os._exit(0)
        os.close(w)
        children.append((pid, os.fdopen(r)))
    opened = [int(f.readline() or 0) for _, f in children]
    out("hold open=%d" % sum(opened))
    total = closed = 0
    for i, (pid, f) in enumerate(children):
        n, c = (int(x) for x in (f.readline() or "0 0").split())
        os.waitpid(pid, 0)
        out("hold proc %d open=%d closed_by_peer=%d" % (i, n, c))
        total += n
        closed += c
    out("hold closed_by_peer=%d of %d" % (closed, total))


def quiet(path, wait):
    try:
        s = unix(path)
        time.sleep(float(wait))
        t0 = time.monotonic()
        transact(s)
    except OSError as e:
        out("quiet failed: %s" % e)
        return 1
    out("quiet ok ms=%d" % ms_since(t0))


def pulse(path, seconds, interval):
    end = time.monotonic() + float(seconds)
    rounds = 0
    try:
        s = unix(path)
        while time.monotonic() < end:
            transact(s)
            rounds += 1
            time.sleep(float(interval))
    except OSError as e:
        out("pulse failed rounds=%d: %s" % (rounds, e))
        return 1
    out("pulse ok rounds=%d" % rounds)


def idle(path, seconds, shows=None):
    s = unix(path)
    if shows:
        transact(s)
    ms = wait_closed(s, float(seconds))
    out("idle open" if ms is None else "idle closed_after_ms=%d" % ms)


def slowloris(path, seconds, interval):
    s = unix(path)
    s.sendall(struct.pack("!I", 1000))
    t0, sent, end = time.monotonic(), 4, time.monotonic() + float(seconds)
    while time.monotonic() < end:
        if gone(s, float(interval)):
            out("slowloris closed_after_ms=%d sent=%d" % (ms_since(t0), sent))
            return
        try:
            s.send(b"\x0a")
            sent += 1
        except OSError:
            out("slowloris closed_after_ms=%d sent=%d" % (ms_since(t0), sent))
            return
    out("slowloris open sent=%d" % sent)


def partial(path, nbytes, seconds):
    nbytes = int(nbytes)
    s = unix(path)
    send_partial(s, nbytes)
    out("partial sent=%d" % nbytes)
    ms = wait_closed(s, float(seconds))
    out("partial open" if ms is None else "partial closed_after_ms=%d" % ms)


def partials(path, n, nbytes, seconds):
    chunk = b"\x0a" * (1 << 20)
    conns, sent = [], 0
    for _ in range(int(n)):
        s = unix(path)
        conns.append(s)
        try:
            s.sendall(struct.pack("!I", 60 << 20))
            for _ in range(int(nbytes) >> 20):
                s.sendall(chunk)
            sent += 1
        except OSError:
            pass
    out("partials sent=%d" % sent)
    time.sleep(float(seconds))
    out("partials closed_by_peer=%d of %d" % (sum(gone(s, 0) for s in conns), len(conns)))


def stuck(path, requests, seconds):
    s = unix(path)
    s.sendall(SHOW * int(requests))
    out("stuck sent=%s" % requests)
    ms = wait_closed(s, float(seconds))
    out("stuck open" if ms is None else "stuck closed_after_ms=%d" % ms)


if __name__ == "__main__":
    sys.exit(run({"hold": hold, "quiet": quiet, "pulse": pulse, "idle": idle,
                  "slowloris": slowloris, "partial": partial, "partials": partials,
                  "stuck": stuck}, sys.argv, __doc__))
