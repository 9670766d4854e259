/* NodePorts on the node's own addresses: what vswitchd does outside the switch so that a
 * policy with VIP 0.0.0.0 ("any address of this node", vsctl add-lb 0.0.0.0:PORT/PROTO)
 * receives the traffic a client sends to NODE_IP:PORT.
 *
 *   - It learns the node's addresses by netlink (a dump at start and at every address event
 *     of its namespace): every IPv4 address but the loopback ones and the host port's.  The
 *     datapath gets them (dp_node_addrs_set), so the NodePort policies answer there, for
 *     pods of this node too.
 *   - While a NodePort policy exists (or a policy whose VIP is one of those addresses, as
 *     vswitch-proxy --nodeport-addresses makes), it steers: the tc program of
 *     nodeport-steer.h on every interface holding a node address (the uplinks, never the
 *     host port or pod ports; at ingress) and at the loopback device's egress (the node's
 *     own connections to its addresses) redirects those packets into the host port.  With
 *     no NodePort policy nothing is attached.  Where the kernel refuses the program, it says why once
 *     and goes on without steering (the policies still answer pods and the peers' dispatch).
 *   - Replies leave the switch into the node through the host port with a node address as
 *     their source, which Linux drops as a martian unless the host port accepts local
 *     sources: accept_local=1 and rp_filter=2 (loose) on vsw0 alone.
 *   - A clean exit detaches the program from every uplink and lo.
 *
 * Control thread (the libuv loop). */
#ifndef VSWITCH_DAEMON_NODEPORT_H
#define VSWITCH_DAEMON_NODEPORT_H 1

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "lib/types.h"

struct nodeport;
struct vswitchd;

/* Sets the host port's sysctls, learns the addresses, and steers if policies ask for it;
 * watches the addresses on 'loop' from then on.  A failure to steer is logged, not
 * returned; returns 0 or a negative errno (no netlink socket) with a message. */
int nodeport_open(struct vswitchd *, uv_loop_t *loop, struct nodeport **, char *err,
                  size_t errlen);
/* Detaches the program from every uplink and lo, and frees everything.  Accepts NULL. */
void nodeport_close(struct nodeport *);

/* Brings the steering table and the attachments in line with the policies: called after
 * every policy change.  Accepts NULL (a vswitchd without a node: tests). */
void nodeport_sync(struct nodeport *);

/* Whether 'ip' is one of the node's addresses as last learned.  False for NULL. */
bool nodeport_is_node_addr(const struct nodeport *, be32 ip);

#define NODEPORT_MAX_UPLINKS 16
#define NODEPORT_MAX_ADDRS 64           /* As many as the datapath keeps (LB_NODE_ADDRS_MAX). */

/* For show and metrics. */
struct nodeport_info {
    const char *steering;           /* "tc" (attached), "idle" (no NodePort policy),
                                     * "refused" (the kernel said no) */
    size_t n_addrs;
    be32 addrs[NODEPORT_MAX_ADDRS];
    size_t n_uplinks;
    char uplinks[NODEPORT_MAX_UPLINKS][IF_NAMESIZE];
    bool local;                     /* Also at lo's egress: the node's own connections. */
    size_t n_entries;               /* (address, port, protocol) steered. */
    uint64_t steered;               /* Frames the program redirected into the switch. */
    uint64_t own_socket;            /* Frames to a NodePort left to the node's own
                                     * connection. */
};
void nodeport_info(const struct nodeport *, struct nodeport_info *);
/* The steering program's counters alone (zero before it is loaded): for the metrics thread,
 * which may call it while the control thread changes the rest. */
struct np_steer_stats;
void nodeport_counters(const struct nodeport *, struct np_steer_stats *);

#endif
