/* The node's routes into the switch; see node-routes.h.
 *
 * Every route goes via one next hop, NODE_ROUTES_NEXT_HOP, on-link on the host port, and that
 * next hop has a permanent neighbor entry holding the switch's router MAC.  The node so sends
 * every packet for a remote pod or a cluster IP to the router MAC, where the switch routes
 * and balances it like a pod's, and never asks ARP for the addresses behind it: one neighbor
 * entry however many pods and Services there are (as flannel's on-link routes to its VTEPs),
 * and nothing in the switch has to answer ARP for addresses that are not on this node.
 *
 * The preferred source is the gateway, an address of this node's pod CIDR: the answers of a
 * remote pod come back across the overlay (a peer's switch accepts it as from this node's
 * pods) and the switch delivers them to the host port.
 *
 * The routes carry their own protocol number, so that a sync finds what an earlier vswitchd
 * installed (the host port outlives it, and its routes with it) and removes exactly what is
 * no longer wanted, without touching anyone else's routes. */
#include "daemon/node-routes.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#define LOG_MODULE "node-routes"
#include "daemon/nodeport.h"
#include "daemon/vswitchd.h"
#include "dp/dp.h"
#include "lib/log.h"
#include "lib/netlink.h"
#include "lib/util.h"

_Static_assert(DP_HOST_ROUTER_IP == (169u << 24 | 254u << 16 | 1u << 8 | 1u),
               "NODE_ROUTES_NEXT_HOP spells DP_HOST_ROUTER_IP");

static be32 next_hop(void)
{
    return htonl(DP_HOST_ROUTER_IP);
}

static bool wanted(const struct nl_route *r, const struct cidr *dsts, size_t n)
{
    if (r->dst == next_hop() && r->prefix == 32) {
        return true;
    }
    for (size_t i = 0; i < n; i++) {
        if (r->dst == dsts[i].net && r->prefix == dsts[i].prefix) {
            return true;
        }
    }
    return false;
}

int node_routes_sync(const struct vswitchd_config *cfg, const struct cidr *dsts, size_t n,
                     char *err, size_t errlen)
{
    struct nl_route *routes = NULL;
    size_t n_routes = 0;
    unsigned int ifindex;
    struct nl_sock *nl;
    char nl_err[256];
    int error = vswitchd_host_port_open(&ifindex, &nl, err, errlen);

    if (error) {
        return error;
    }
    error = nl_neigh_replace(nl, ifindex, next_hop(), cfg->router_mac, nl_err, sizeof nl_err);
    if (!error) {
        error = nl_route_list(nl, ifindex, &routes, &n_routes, nl_err, sizeof nl_err);
    }
    for (size_t i = 0; !error && i < n_routes; i++) {
        if (routes[i].protocol == NODE_ROUTES_PROTO && !wanted(&routes[i], dsts, n)) {
            error = nl_route_del(nl, &routes[i], nl_err, sizeof nl_err);
            if (error == -ESRCH) {
                error = 0;
            }
        }
    }
    if (!error) {
        /* The next hop itself, on-link: the node's answers to the switch's host router
         * address (see DP_HOST_ROUTER_IP) leave by the host port. */
        struct nl_route r = {
            .dst = next_hop(), .prefix = 32, .oif = ifindex, .prefsrc = cfg->gateway,
            .protocol = NODE_ROUTES_PROTO,
        };

        error = nl_route_replace(nl, &r, nl_err, sizeof nl_err);
    }
    for (size_t i = 0; !error && i < n; i++) {
        struct nl_route r = {
            .dst = dsts[i].net, .prefix = dsts[i].prefix, .gw = next_hop(), .onlink = true,
            .oif = ifindex, .prefsrc = cfg->gateway, .protocol = NODE_ROUTES_PROTO,
        };

        error = nl_route_replace(nl, &r, nl_err, sizeof nl_err);
    }
    free(routes);
    nl_close(nl);
    if (error) {
        snprintf(err, errlen, "node routes through %s: %s", VSWITCHD_HOST_PORT, nl_err);
    }
    return error;
}

int node_routes_update(struct vswitchd *vd)
{
    const struct vswitchd_config *cfg = &vd->cfg;
    struct dp_peer_info *peers = NULL;
    struct cidr *dsts;
    size_t n_peers = 0, n = 0;
    char err[512];
    int error;

    struct dp_lb_info *infos = NULL;
    size_t n_infos = 0, n_external = 0;

    dp_peer_list(vd->dp, &peers, &n_peers);
    if (cfg->has_service_cidr && dp_lb_list(vd->dp, &infos, &n_infos)) {
        n_infos = 0;
    }
    dsts = xmalloc((n_peers + n_infos + 1) * sizeof *dsts);
    for (size_t i = 0; i < n_peers; i++) {
        dsts[n++] = peers[i].pod_cidr;
    }
    if (cfg->has_service_cidr) {
        dsts[n++] = cfg->service_cidr;
    }
    for (size_t i = 0; i < n_infos; i++) {
        be32 vip = infos[i].spec.vip;
        struct cidr host = { .net = vip, .prefix = 32 };
        bool seen = false;

        /* A node address (a NodePort's, or 0.0.0.0: all of them) is delivered locally
         * whatever the routes say: nodeport.h steers those. */
        if (!vip || cidr_contains(&cfg->service_cidr, vip) || vip == cfg->node_ip
            || nodeport_is_node_addr(vd->nodeport, vip)) {
            continue;
        }
        for (size_t j = 0; j < n && !seen; j++) {
            seen = dsts[j].net == vip && dsts[j].prefix == 32;
        }
        if (!seen) {
            dsts[n++] = host;
            n_external++;
        }
    }
    if (infos) {
        dp_lb_info_free(infos, n_infos);
    }
    error = node_routes_sync(cfg, dsts, n, err, sizeof err);
    if (error) {
        LOG_ERR("%s", err);
    } else {
        LOG_DBG("%zu route(s) through %s: %zu peer pod CIDR(s)%s, %zu external service "
                "address(es)", n, VSWITCHD_HOST_PORT, n_peers,
                cfg->has_service_cidr ? ", the service CIDR" : "", n_external);
    }
    free(dsts);
    free(peers);
    return error;
}
