"""tests/lib/tool.py — what the tests' Python tools (pkt.py, svc.py, robust.py, ctlabuse.py)
share: the command dispatch of their command lines, output a shell test can follow line by
line, lines read from a TCP peer, and the clients of vswitchd's control socket.  Standard
library only."""
import socket
import struct
import sys

SHOW = b"\x00\x00\x00\x03\x82\x01\x00"     # Request { show: Show {} }, framed


def run(cmds, argv, doc):
    """Runs the command argv[1] of 'cmds' with the arguments after it; the usage 'doc' and
    status 2 when there is no such command."""
    if len(argv) < 2 or argv[1] not in cmds:
        sys.stderr.write(doc)
        return 2
    return cmds[argv[1]](*argv[2:]) or 0


def out(line):
    print(line, flush=True)


def read_line(s, timeout):
    """One line from 's' within 'timeout' seconds, stripped; ConnectionError if closed."""
    s.settimeout(timeout)
    buf = b""
    while not buf.endswith(b"\n"):
        b = s.recv(256)
        if not b:
            raise ConnectionError("closed")
        buf += b
    return buf.decode(errors="replace").strip()


def echo_round(s, msg, timeout):
    """Sends 'msg' on 's' and reads as many bytes back within 'timeout' seconds; True if they
    are 'msg'.  ConnectionError if the peer closed, socket.timeout if it was too slow."""
    s.sendall(msg)
    s.settimeout(timeout)
    got = b""
    while len(got) < len(msg):
        b = s.recv(len(msg) - len(got))
        if not b:
            raise ConnectionError("closed")
        got += b
    return got == msg


def unix(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    return s


def send_partial(s, nbytes):
    """Announces a 60 MiB request on control connection 's' and sends 'nbytes' of it."""
    s.sendall(struct.pack("!I", 60 << 20))
    chunk = b"\x0a" * 65536
    sent = 0
    while sent < nbytes:
        n = min(len(chunk), nbytes - sent)
        s.sendall(chunk[:n])
        sent += n
