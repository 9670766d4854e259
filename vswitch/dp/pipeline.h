/* The slow path: what the switch does with a packet the flow cache has no entry for.
 *
 * It decides once per flow and returns the decision as an action list for the cache:
 *   1. port security (a pod sends only with its own MAC and IP);
 *   2. flow pairs: a packet of a load-balanced connection, either direction, is translated
 *      as its pair says;
 *   3. LBNAT: the first packet to a policy's VIP:port picks a backend (ClientIP affinity or
 *      Maglev), creates the flow pair and is translated (DNAT, and SNAT when not DSR);
 *   4. L2 delivery to a known MAC, or L3 routing at the gateway MAC.
 * Before the cache, pipeline_before_cache() takes what no cached flow may stand for: ARP
 * (answered here), ICMP errors about a flow pair (translated here, inner header included).
 * Fragments are decided one by one.
 * Datapath thread. */
#ifndef VSWITCH_DP_PIPELINE_H
#define VSWITCH_DP_PIPELINE_H 1

#include "dp/actions.h"
#include "dp/flow-key.h"

struct dp;
struct port;

/* The stages before the flow cache, for packets no cached flow may stand for:
 *   1. port security learning: a pod port added without a MAC takes the source MAC of its
 *      first ARP or IPv4 frame whose source IP is the port's (the cache is flushed then);
 *   2. the ARP responder: a request for an address the switch knows becomes the reply, in
 *      place, sent back on the port it came from.  The switch never floods ARP, so no pod is
 *      ever asked for an address it does not own, a VIP least of all;
 *   3. ICMP errors (RFC 792 destination unreachable, time exceeded, parameter problem) whose
 *      quoted datagram belongs to a flow pair: outer and inner headers are translated, so
 *      path-MTU discovery and port-unreachable work through a VIP.
 * Returns true if it took the packet (its pkt->out_port set, or its drop counted): the cache
 * and pipeline_decide() are skipped.  Returns false for every other packet. */
bool pipeline_before_cache(struct dp *, struct port *in, struct packet *,
                           const struct flow_key *);

/* Decides for 'pkt' (parsed into 'key') received on 'in'.  '*cacheable' is cleared when the
 * decision holds for this packet only (fragments, rejections). */
void pipeline_decide(struct dp *, struct port *in, const struct flow_key *, struct packet *,
                     struct action_list *, bool *cacheable);

/* Builds, in 'pkt', an ARP request from the gateway for the port's IP: a probe that makes a
 * silent pod reveal its MAC.  Sent on that port only. */
void pipeline_build_probe(const struct dp *, const struct port *, struct packet *);

#endif
