/* The slow path: what the switch does with a packet the flow cache has no entry for.
 *
 * It decides once per flow, from the port tables and the flow key alone, and returns the
 * decision as an action list for the cache; ARP is answered here directly and never cached
 * (it is rare, and its answer depends on fields outside the key).  Datapath thread. */
#ifndef VSWITCH_DP_PIPELINE_H
#define VSWITCH_DP_PIPELINE_H 1

#include "dp/actions.h"
#include "dp/flow-key.h"

struct dp;
struct port;

/* Port security, then L2 delivery to a known MAC or L3 routing at the gateway MAC. */
void pipeline_decide(const struct dp *, const struct port *in, const struct flow_key *,
                     struct action_list *);

/* ARP responder: turns a request for an address the switch knows into the reply, in place,
 * and sets pkt->out_port to the port it came from; otherwise sets the drop reason.  The
 * switch never floods ARP, so no pod is ever asked for an address it does not own. */
void pipeline_arp(struct dp *, struct port *in, struct packet *, const struct flow_key *);

/* Port security learning: a pod port added without a MAC takes the source MAC of its first
 * ARP or IPv4 frame whose source IP is the port's.  Returns true if it learned. */
bool pipeline_learn(struct dp *, struct port *in, const struct flow_key *);

/* Builds, in 'pkt', an ARP request from the gateway for the port's IP: a probe that makes a
 * silent pod reveal its MAC.  Sent on that port only. */
void pipeline_build_probe(const struct dp *, const struct port *, struct packet *);

#endif
