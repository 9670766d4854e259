#!/usr/bin/python3
"""tests/lib/pkt.py — traffic tools for the system tests, run inside a namespace.

Standard library only (raw AF_PACKET sockets, struct), so it runs under Debian's python3 with
nothing else.  Subcommands:

  xfer-server PORT                       accept one TCP connection, read to EOF, print
                                         "BYTES SHA256" of what arrived
  xfer-client IP PORT BYTES              send BYTES of pseudo-random data, print "BYTES SHA256"
  udp-echo-server PORT                   echo every UDP datagram back (until killed)
  udp-echo-client IP PORT SIZE...        one datagram per SIZE, each must come back intact
  malformed IFACE SRC_MAC DST_MAC SRC_IP DST_IP COUNT
                                         send COUNT of each malformed frame kind; prints
                                         "kind=sent" per kind (see MALFORMED below)
  icmp IFACE SRC_MAC DST_MAC SRC_IP DST_IP COUNT
                                         COUNT well-formed ICMP echo requests with the given
                                         (possibly spoofed) addresses, ICMP id 0x5a5a
  garp IFACE MAC IP COUNT                gratuitous ARP replies claiming IP at MAC, broadcast
  pcap-bad FILE                          count frames in a pcap that are malformed IPv4 or
                                         carry ICMP id 0x5a5a; prints "bad=N marked=N total=N"
  ctl-garbage SOCKET                     write malformed control messages to a unix socket
"""
import hashlib
import os
import random
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
MARK_ID = 0x5A5A


def mac_bytes(mac):
    return bytes(int(x, 16) for x in mac.split(":"))


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def eth(dst, src, etype):
    return mac_bytes(dst) + mac_bytes(src) + struct.pack("!H", etype)


def ipv4(src, dst, proto, payload, ihl=5, total=None, ttl=64, ident=0x1234, opts=b""):
    total = 4 * ihl + len(payload) if total is None else total
    hdr = struct.pack("!BBHHHBBH4s4s", (4 << 4) | (ihl & 0xF), 0, total & 0xFFFF, ident, 0,
                      ttl, proto, 0, socket.inet_aton(src), socket.inet_aton(dst)) + opts
    c = csum(hdr[:20] + opts)
    hdr = hdr[:10] + struct.pack("!H", c) + hdr[12:]
    return hdr + payload


def icmp_echo(ident=MARK_ID, seq=1, data=b"vswitch-test"):
    h = struct.pack("!BBHHH", 8, 0, 0, ident, seq) + data
    return h[:2] + struct.pack("!H", csum(h)) + h[4:]


def raw_socket(iface):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((iface, 0))
    return s


def send_all(sock, frames, count, gap=0.0005):
    for _ in range(count):
        for f in frames:
            sock.send(f)
            if gap:
                time.sleep(gap)


# --- TCP transfer with a checksum of the bytes ------------------------------------------------

def xfer_server(port):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", int(port)))
    ls.listen(1)
    print("listening", flush=True)
    c, _ = ls.accept()
    h, n = hashlib.sha256(), 0
    while True:
        b = c.recv(1 << 20)
        if not b:
            break
        h.update(b)
        n += len(b)
    print(n, h.hexdigest(), flush=True)


def xfer_client(ip, port, nbytes):
    nbytes = int(nbytes)
    rnd = random.Random(0x7653)
    block = rnd.randbytes(1 << 22)
    s = socket.create_connection((ip, int(port)), timeout=30)
    h, sent = hashlib.sha256(), 0
    while sent < nbytes:
        off = sent % len(block)
        chunk = memoryview(block)[off:off + min(len(block) - off, nbytes - sent, 1 << 20)]
        s.sendall(chunk)
        h.update(chunk)
        sent += len(chunk)
    s.shutdown(socket.SHUT_WR)
    s.recv(1)
    s.close()
    print(sent, h.hexdigest(), flush=True)


# --- UDP echo --------------------------------------------------------------------------------

def udp_echo_server(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", int(port)))
    print("listening", flush=True)
    while True:
        data, peer = s.recvfrom(65535)
        s.sendto(data, peer)


def udp_echo_client(ip, port, *sizes):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(1.0)
    s.connect((ip, int(port)))
    failed = 0
    for i, size in enumerate(int(x) for x in sizes):
        payload = bytes((i + j) & 0xFF for j in range(size))
        for _attempt in range(3):
            s.send(payload)
            try:
                got = s.recv(65535)
            except socket.timeout:
                continue
            if got == payload:
                print("size=%d ok" % size)
                break
        else:
            print("size=%d LOST or corrupted" % size)
            failed += 1
    sys.exit(1 if failed else 0)


# --- malformed frames ---------------------------------------------------------------------------

def malformed(iface, smac, dmac, sip, dip, count):
    """Each kind of malformed frame a pod could send; the switch must drop and count them all."""
    e = eth(dmac, smac, 0x0800)
    tcp_ok = struct.pack("!HHIIBBHHH", 40000, 5201, 1, 0, 5 << 4, 0x02, 65535, 0, 0)
    kinds = {
        # Runts: a 14-byte Ethernet header and nothing more or a few bytes of IPv4.
        "runt_eth_only": e,
        "runt_ip_8_bytes": e + ipv4(sip, dip, 1, b"")[:8],
        # Bad IHL: < 5 words, and > the bytes present.
        "bad_ihl_3": e + ipv4(sip, dip, 1, icmp_echo(), ihl=3),
        "bad_ihl_15": e + ipv4(sip, dip, 1, b"", ihl=15, total=60)[:40],
        # Total length larger than the frame, and smaller than the header.
        "bad_total_len_long": e + ipv4(sip, dip, 1, icmp_echo(), total=1400),
        "bad_total_len_short": e + ipv4(sip, dip, 1, icmp_echo(), total=12),
        # Not IPv4 at all in the version nibble.
        "bad_version": e + bytes([0x65]) + ipv4(sip, dip, 1, icmp_echo())[1:],
        # Truncated L4 headers: TCP cut at 8 bytes, TCP data offset < 5, UDP at 4 bytes.
        "truncated_tcp": e + ipv4(sip, dip, 6, tcp_ok[:8]),
        "tcp_doff_2": e + ipv4(sip, dip, 6, tcp_ok[:12] + bytes([2 << 4]) + tcp_ok[13:]),
        "truncated_udp": e + ipv4(sip, dip, 17, struct.pack("!HH", 40000, 5201)),
        "truncated_icmp": e + ipv4(sip, dip, 1, b"\x08"),
    }
    s = raw_socket(iface)
    for name, frame in kinds.items():
        send_all(s, [frame], int(count))
        print("%s=%s" % (name, count))


def icmp(iface, smac, dmac, sip, dip, count):
    s = raw_socket(iface)
    frames = [eth(dmac, smac, 0x0800) + ipv4(sip, dip, 1, icmp_echo(seq=i + 1))
              for i in range(int(count))]
    send_all(s, frames, 1, gap=0.002)


def garp(iface, mac, ip, count):
    s = raw_socket(iface)
    arp = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 2, mac_bytes(mac),
                      socket.inet_aton(ip), b"\xff" * 6, socket.inet_aton(ip))
    req = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, mac_bytes(mac),
                      socket.inet_aton(ip), b"\0" * 6, socket.inet_aton(ip))
    frames = [eth("ff:ff:ff:ff:ff:ff", mac, 0x0806) + arp,
              eth("ff:ff:ff:ff:ff:ff", mac, 0x0806) + req]
    send_all(s, frames, int(count), gap=0.005)


# --- pcap analysis --------------------------------------------------------------------------

def ipv4_malformed(p, wire_len):
    """p: the captured bytes of an IPv4 packet (maybe cut by the snap length); wire_len: its
    length on the wire."""
    if wire_len < 20 or len(p) < 20 or p[0] >> 4 != 4:
        return True
    ihl = (p[0] & 0xF) * 4
    total = struct.unpack("!H", p[2:4])[0]
    if ihl < 20 or wire_len < ihl or total < ihl or total > wire_len:
        return True
    if len(p) < wire_len:
        return False            # cut by the snap length: only the IP header could be checked
    frag = struct.unpack("!H", p[6:8])[0] & 0x1FFF
    if frag:
        return False
    l4 = p[ihl:total]
    proto = p[9]
    if proto == 6:
        return len(l4) < 20 or (l4[12] >> 4) < 5 or len(l4) < (l4[12] >> 4) * 4
    if proto == 17:
        return len(l4) < 8
    if proto == 1:
        return len(l4) < 8
    return False


def pcap_bad(path):
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    off, bad, marked, total = 24, 0, 0, 0
    while off + 16 <= len(data):
        _, _, caplen, wire_len = struct.unpack(endian + "IIII", data[off:off + 16])
        frame = data[off + 16:off + 16 + caplen]
        off += 16 + caplen
        total += 1
        if len(frame) < 14:
            bad += 1
            continue
        etype = struct.unpack("!H", frame[12:14])[0]
        if etype == 0x0800:
            p = frame[14:]
            if ipv4_malformed(p, wire_len - 14):
                bad += 1
            elif p[9] == 1:
                ihl = (p[0] & 0xF) * 4
                if len(p) >= ihl + 8 and struct.unpack("!H", p[ihl + 4:ihl + 6])[0] == MARK_ID:
                    marked += 1
        elif etype not in (0x0806, 0x86DD):
            bad += 1
    print("bad=%d marked=%d total=%d" % (bad, marked, total))


# --- control socket abuse -------------------------------------------------------------------

def ctl_garbage(path):
    cases = [
        b"\x00\x00\x00\x05garbage",                  # a frame of non-protobuf bytes
        b"\xff\xff\xff\xff" + b"A" * 64,              # length prefix of 4 GiB
        b"\x7f\xff\xff\xff",                          # huge length, then the peer goes away
        b"\x00\x00\x00\x40" + b"\x0a\x05",            # truncated body
        b"\x00\x00\x00\x00",                          # empty message
        b"\x00\x00\x00\x06\x08\xff\xff\xff\xff\x0f",  # a field with a bad varint
        os.urandom(4096),                             # noise
    ]
    for i, c in enumerate(cases):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(2.0)
        s.connect(path)
        try:
            s.sendall(c)
            s.shutdown(socket.SHUT_WR)
            s.recv(65536)
        except OSError:
            pass
        s.close()
        print("case %d sent" % i)


if __name__ == "__main__":
    sys.dont_write_bytecode = True          # no __pycache__ left in tests/lib
    from tool import run
    sys.exit(run({
        "xfer-server": xfer_server, "xfer-client": xfer_client,
        "udp-echo-server": udp_echo_server, "udp-echo-client": udp_echo_client,
        "malformed": malformed, "icmp": icmp, "garp": garp,
        "pcap-bad": pcap_bad, "ctl-garbage": ctl_garbage,
    }, sys.argv, __doc__))
