/* The node's routes into the switch: every peer's pod CIDR and the service CIDR, through the
 * host port, in the node's network namespace (where vswitchd runs).  With them the node and
 * its hostNetwork processes reach pods on other nodes and cluster IPs, which the switch
 * routes and balances as it does for pods, and pods reach the nodes' own addresses and get
 * the answers back.  vsw0's own pod CIDR route comes with its address (main.c).
 *
 * Called on the control thread: netlink requests to the kernel of the namespace vswitchd
 * runs in, no setns. */
#ifndef VSWITCH_DAEMON_NODE_ROUTES_H
#define VSWITCH_DAEMON_NODE_ROUTES_H 1

#include <stddef.h>

#include "lib/addr.h"

struct vswitchd;
struct vswitchd_config;

/* rtm_protocol of the routes vswitchd installs ("proto 86" in `ip route`): how a sync tells
 * its own routes from everyone else's.  Unassigned in iproute2's rt_protos. */
#define NODE_ROUTES_PROTO 86
#define NODE_ROUTES_PROTO_STR "86"
/* The next hop of every route: DP_HOST_ROUTER_IP, a link-local address that stands for the
 * switch's router, with a permanent neighbor entry (the router MAC) and an on-link route of
 * its own on the host port (the switch uses it as the source of the node's connections to
 * itself through a Service). */
#define NODE_ROUTES_NEXT_HOP "169.254.1.1"

/* Makes the routes through the host port that vswitchd owns exactly 'dsts' (of 'n') and the
 * next hop's own: installs or replaces each (never duplicated), deletes the others it
 * installed before, and sets the next hop's neighbor entry.  Returns 0 or a negative errno
 * with a message. */
int node_routes_sync(const struct vswitchd_config *, const struct cidr *dsts, size_t n,
                     char *err, size_t errlen);

/* node_routes_sync() with what 'vd' wants now: each peer's pod CIDR, and --service-cidr.
 * Logs a failure and returns it. */
int node_routes_update(struct vswitchd *vd);

#endif
