/* The VXLAN port (RFC 7348): the overlay's end in this switch, a UDP socket on the node's
 * underlay address.  Encapsulation is the 8-byte VXLAN header in front of the inner frame;
 * the kernel's UDP socket adds the outer IPv4/UDP headers, and with UDP_SEGMENT sends a
 * whole segmented 64 KiB frame in one call.  The socket asks for UDP GRO, so the kernel hands
 * over the datagrams of one flow that arrived together in one buffer, and the port joins
 * their TCP segments again (gro.h) as it unpacks them.  Decapsulation checks the VNI flag
 * and the VNI; the peer check belongs to the datapath, which knows the peers.
 *
 * Checksums: the kernel's outer UDP checksum covers each datagram whole.  The inner TCP or
 * UDP checksum is either complete or, with remote checksum offload, partial (the sender
 * never reads the payload to sum it); a received partial one stays partial, marked in the
 * packet's virtio-net header like a pod's own, and whoever needs it complete completes it
 * (a pod's kernel on veth never does: it trusts a partial checksum as a local one). */
#ifndef VSWITCH_DP_PORT_VXLAN_H
#define VSWITCH_DP_PORT_VXLAN_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/types.h"

struct port;

#define VXLAN_PORT_NAME "vxlan"

/* RFC 7348 section 5: flags (I bit = VNI valid), reserved, VNI, reserved. */
#define VXLAN_HDR_LEN 8
#define VXLAN_FLAG_VNI 0x08
/* Remote checksum offload (draft-herbert-vxlan-rco, Linux's remcsum): a flag in the first
 * reserved byte, and in the last byte where the inner L4 checksum starts, in 2-byte units
 * from the inner Ethernet header, with the top bit set for UDP (its checksum 6 bytes in)
 * and clear for TCP (16 bytes in).  The checksum field holds the pseudo-header sum. */
#define VXLAN_FLAG_RCO 0x20
#define VXLAN_RCO_UDP 0x80
#define VXLAN_RCO_START_MASK 0x7f
#define VXLAN_DEFAULT_PORT 4789
/* Outer IPv4 (20) + UDP (8) + VXLAN (8) + inner Ethernet (14). */
#define VXLAN_OVERHEAD 50

/* Opens the overlay port bound to node_ip:udp_port (host order) for 'vni'; the inner IPv4
 * packets it sends carry at most 'mtu' bytes (TCP frames from pods are cut to fit).  With
 * 'remote_csum' the inner TCP and UDP checksums it sends are left for the receiver to
 * complete (VXLAN RCO); it accepts such packets either way.  Control thread. */
int port_vxlan_open(be32 node_ip, uint16_t udp_port, uint32_t vni, uint16_t mtu,
                    bool remote_csum, struct port **, char *err, size_t errlen);

#endif
