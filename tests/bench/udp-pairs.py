#!/usr/bin/python3
"""tests/bench/udp-pairs.py IFACE SRC_MAC DST_MAC SRC_IP VIP DPORTS COUNT — one UDP datagram
per (source port, destination port) to VIP, COUNT of them, written to IFACE (a pod's eth0) as
raw frames, so that the switch creates COUNT flow pairs for `make bench` to weigh.  DPORTS is a
comma-separated list of the service ports; source ports run from 1024 upwards, every DPORT for
one source port before the next.  Paced at about 100,000 frames per second so that the
switch's receive ring keeps up; sending again creates only the pairs that are missing.
"""
import os
import socket
import struct
import sys
import time

sys.dont_write_bytecode = True     # no __pycache__ left in tests/lib
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import pkt  # noqa: E402  (tests/lib/pkt.py: Ethernet and IPv4 builders)


def main(argv):
    if len(argv) != 8:
        sys.stderr.write(__doc__)
        return 2
    iface, smac, dmac, sip, vip, dports, count = argv[1:]
    dports, count = [int(p) for p in dports.split(",")], int(count)
    if count > (65536 - 1024) * len(dports):
        sys.stderr.write("udp-pairs: at most %d pairs for %d ports\n"
                         % ((65536 - 1024) * len(dports), len(dports)))
        return 2
    s = pkt.raw_socket(iface)
    e = pkt.eth(dmac, smac, 0x0800)
    sent, t0 = 0, time.monotonic()
    for sport in range(1024, 65536):
        for dport in dports:
            if sent == count:
                break
            udp = struct.pack("!HHHH", sport, dport, 8 + 4, 0) + b"pair"
            s.send(e + pkt.ipv4(sip, vip, socket.IPPROTO_UDP, udp))
            sent += 1
            if sent % 1000 == 0:
                ahead = sent / 100000.0 - (time.monotonic() - t0)
                if ahead > 0:
                    time.sleep(ahead)
        if sent == count:
            break
    print("sent %d in %.2f s" % (sent, time.monotonic() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
