/* Action lists: what the datapath does to a packet once it knows its flow.  The slow path
 * compiles a decision into a short list; the flow cache stores it; every later packet of the
 * flow runs the list and nothing else. */
#ifndef VSWITCH_DP_ACTIONS_H
#define VSWITCH_DP_ACTIONS_H 1

#include <stddef.h>
#include <stdint.h>

#include "dp/drop.h"
#include "dp/packet.h"
#include "lib/types.h"

enum action_type {
    ACTION_SET_ETH,     /* Rewrite source and destination MAC. */
    ACTION_DEC_TTL,     /* TTL - 1 with the IPv4 checksum updated; drop if it would reach 0. */
    ACTION_OUTPUT,      /* Send on 'port'.  Terminal. */
    ACTION_DROP,        /* Drop for 'reason'.  Terminal. */
};

struct action {
    uint8_t type;
    uint8_t pad_;
    uint16_t reason;                /* ACTION_DROP: enum drop_reason. */
    uint32_t port;                  /* ACTION_OUTPUT: port number. */
    struct eth_addr eth_src;        /* ACTION_SET_ETH. */
    struct eth_addr eth_dst;
};

#define ACTIONS_MAX 6
struct action_list {
    uint8_t n;
    struct action a[ACTIONS_MAX];
};

static inline void action_list_init(struct action_list *list)
{
    list->n = 0;
}

void actions_set_eth(struct action_list *, struct eth_addr src, struct eth_addr dst);
void actions_dec_ttl(struct action_list *);
void actions_output(struct action_list *, uint32_t port);
void actions_drop(struct action_list *, enum drop_reason);

/* Runs 'list' on 'pkt': on return pkt->out_port is the port to send on, or 0 with
 * pkt->drop_reason set. */
void actions_execute(const struct action_list *list, struct packet *pkt);

/* "set_eth(src=..,dst=..),dec_ttl,output:NAME"; 'port_name' maps a port number to a name. */
void actions_format(const struct action_list *, const char *(*port_name)(uint32_t, void *),
                    void *aux, char *buf, size_t size);

#endif
