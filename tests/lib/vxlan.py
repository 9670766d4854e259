#!/usr/bin/python3
"""tests/lib/vxlan.py — hand-made VXLAN (RFC 7348) for the overlay system tests, run inside a
namespace on the underlay.  Standard library only (a UDP socket; the frames come from pkt.py).

  send DST_IP PORT VNI SMAC DMAC SRC_IP DST_IP COUNT
        COUNT datagrams to DST_IP:PORT from an ephemeral port of this namespace, each a VXLAN
        header with the I flag and VNI, then an Ethernet frame SMAC -> DMAC carrying an ICMP
        echo request SRC_IP -> DST_IP (ICMP id 0x5a5a, sequence 1..COUNT); prints "sent COUNT"
"""
import os
import socket
import struct
import sys
import time

sys.dont_write_bytecode = True          # no __pycache__ left in tests/lib
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pkt  # noqa: E402  (tests/lib/pkt.py: eth, ipv4, icmp_echo)

VXLAN_FLAG_I = 0x08


def vxlan_header(vni):
    return struct.pack("!B3xI", VXLAN_FLAG_I, (int(vni) & 0xFFFFFF) << 8)


def send(dst, port, vni, smac, dmac, src_ip, dst_ip, count):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for seq in range(1, int(count) + 1):
        inner = pkt.eth(dmac, smac, 0x0800) + pkt.ipv4(src_ip, dst_ip, 1,
                                                       pkt.icmp_echo(seq=seq))
        s.sendto(vxlan_header(vni) + inner, (dst, int(port)))
        time.sleep(0.01)
    print("sent %d" % int(count), flush=True)
    return 0


def main(argv):
    if len(argv) == 10 and argv[1] == "send":
        return send(*argv[2:])
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
