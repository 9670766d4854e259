/* Shared by the slow path's own files (pipeline.c, pipeline-arp.c) only. */
#ifndef VSWITCH_DP_PIPELINE_PRIVATE_H
#define VSWITCH_DP_PIPELINE_PRIVATE_H 1

#include "dp/flow-key.h"

struct dp;
struct packet;
struct port;

/* Answers the ARP request in 'pkt' received on 'in' (turned into the reply in place, its
 * pkt->out_port set to 'in') or counts its drop.  Datapath thread. */
void pipeline_arp(struct dp *, struct port *in, struct packet *, const struct flow_key *);

#endif
