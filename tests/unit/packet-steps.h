/* Table-driven packet tests (Katran's fixtures, Cilium's PKTGEN/SETUP/CHECK): one step is a
 * packet injected on a port of a scene and what the switch must do with it, forward it as an
 * expected packet or drop it under a reason.  test-lb.c and test-preserve-dip.c build their
 * tables of cases from these steps.  Criterion-only: the fuzzers use scene.h alone. */
#ifndef VSWITCH_TESTS_PACKET_STEPS_H
#define VSWITCH_TESTS_PACKET_STEPS_H 1

#include <stdbool.h>
#include <stdint.h>

#include "dp/drop.h"
#include "dp/net-headers.h"
#include "pkt-builder.h"
#include "scene.h"

/* A step's TCP or UDP packet, written as it travels: MACs, then source and destination. */
#define TCP_FROM(ETH_SRC, ETH_DST, SRC, SPORT, DST, DPORT, ...)                          \
    { .eth_src = ETH_SRC, .eth_dst = ETH_DST, .ip_src = SRC, .ip_dst = DST,             \
      .sport = SPORT, .dport = DPORT, __VA_ARGS__ }
#define UDP_FROM(ETH_SRC, ETH_DST, SRC, SPORT, DST, DPORT, ...)                          \
    TCP_FROM(ETH_SRC, ETH_DST, SRC, SPORT, DST, DPORT, .proto = IP_PROTO_UDP, __VA_ARGS__)

struct packet_step {
    const char *in;                     /* The port it arrives on; NULL ends the steps. */
    struct pkt_spec pkt;                /* What arrives. */
    enum drop_reason verdict;           /* 0: forwarded, else counted under this reason. */
    const char *out;                    /* Forwarded: the one port it leaves on... */
    struct pkt_spec want;               /* ...as this packet. */
    bool made;                          /* The switch made it (a RST, an ICMP error): the
                                         * headers are compared, not every byte. */
};

/* Runs step 'i' of case 'name' on 's' and asserts the verdict, the drop counted or the one
 * packet out on the expected port.  An IPv4 'want' is then compared as a header summary,
 * byte for byte unless the switch made the packet, with checksums that verify; any other
 * 'want' (an ARP answer) is left to the caller.  Returns the length of the frame that left,
 * copied into 'out', or -1 when the step was a drop. */
int packet_step_run(struct scene *s, const char *name, size_t i, const struct packet_step *st,
                    uint8_t *out, size_t size);

#endif
