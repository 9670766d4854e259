/* The control API of the overlay's peers (dp.h): declare, remove and list the remote nodes and
 * their pod CIDRs.
 *
 * Arguments are checked against this node's own address and pod CIDR here; the peer table
 * changes on the datapath thread through dp_call() (dp.c), with a flush of the flow cache.
 * Control thread. */
#include "dp/dp.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "dp/dp-thread.h"
#include "lib/util.h"

struct peer_args {
    be32 node_ip;
    struct cidr cidr;
    int error;
};

static void peer_set_cmd(struct dp *dp, void *args_)
{
    struct peer_args *args = args_;

    args->error = peer_table_set(&dp->peers, args->node_ip, &args->cidr);
    if (!args->error) {
        flow_cache_flush(&dp->cache);
    }
}

int dp_peer_set(struct dp *dp, be32 node_ip, const struct cidr *pod_cidr, char *err,
                size_t errlen)
{
    struct peer_args args = { .node_ip = node_ip, .cidr = *pod_cidr };
    char ip[IP_STR_LEN];

    if (!dp->vxlan) {
        snprintf(err, errlen, "no overlay: vswitchd was started without --node-ip");
        return -EINVAL;
    }
    if (node_ip == dp->cfg.node_ip) {
        snprintf(err, errlen, "%s is this node's own address", addr_ip_str(node_ip, ip));
        return -EINVAL;
    }
    if ((pod_cidr->net & cidr_mask(MIN(pod_cidr->prefix, dp->cfg.pod_cidr.prefix)))
        == (dp->cfg.pod_cidr.net & cidr_mask(MIN(pod_cidr->prefix,
                                                  dp->cfg.pod_cidr.prefix)))) {
        snprintf(err, errlen, "pod CIDR overlaps this node's %s/%d",
                 addr_ip_str(dp->cfg.pod_cidr.net, ip), dp->cfg.pod_cidr.prefix);
        return -EINVAL;
    }
    dp_call(dp, peer_set_cmd, &args);
    if (args.error == -EEXIST) {
        snprintf(err, errlen, "pod CIDR overlaps another peer's");
    } else if (args.error) {
        snprintf(err, errlen, "%s", strerror(-args.error));
    }
    return args.error;
}

static void peer_del_cmd(struct dp *dp, void *args_)
{
    struct peer_args *args = args_;

    args->error = peer_table_del(&dp->peers, args->node_ip);
    if (!args->error) {
        flow_cache_flush(&dp->cache);
    }
}

int dp_peer_del(struct dp *dp, be32 node_ip)
{
    struct peer_args args = { .node_ip = node_ip };

    dp_call(dp, peer_del_cmd, &args);
    return args.error;
}

struct peer_list_args {
    struct dp_peer_info *peers;
    size_t n;
};

static void peer_list_cmd(struct dp *dp, void *args_)
{
    struct peer_list_args *args = args_;

    args->n = dp->peers.n_peers;
    args->peers = xcalloc(args->n + 1, sizeof *args->peers);
    for (size_t i = 0; i < args->n; i++) {
        const struct peer *p = &dp->peers.peers[i];

        args->peers[i] = (struct dp_peer_info) {
            .node_ip = p->node_ip, .pod_cidr = p->pod_cidr,
            .tx_packets = p->tx_packets, .tx_bytes = p->tx_bytes,
            .rx_packets = p->rx_packets, .rx_bytes = p->rx_bytes,
        };
    }
}

int dp_peer_list(struct dp *dp, struct dp_peer_info **peers, size_t *n)
{
    struct peer_list_args args;

    dp_call(dp, peer_list_cmd, &args);
    *peers = args.peers;
    *n = args.n;
    return 0;
}
