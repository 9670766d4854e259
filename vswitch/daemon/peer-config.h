/* Overlay peers as the control protocol carries them: parsing and validation of a peer's
 * node address and pod CIDR ("192.168.50.2", "10.244.2.0/24"), against this node and against
 * the peers already declared.  vswitchd checks every AddPeer and DelPeer with it, so vsctl,
 * the proxy and the batch get the same rules and the same messages, each saying what is
 * wrong ("pod CIDR \"10.244.2.1/24\": host bits are set (the network is 10.244.2.0/24)").
 *
 * Pure C without the daemon's state: this node's address and pod CIDR, and the peer table,
 * are passed in. */
#ifndef VSWITCH_DAEMON_PEER_CONFIG_H
#define VSWITCH_DAEMON_PEER_CONFIG_H 1

#include <stddef.h>

#include "lib/addr.h"
#include "lib/types.h"
#include "proto/vswitch.pb-c.h"

/* The datapath's bound (PEER_TABLE_MAX_PEERS in dp/peer-table.h). */
#define PEER_CONFIG_MAX_PEERS 8192
/* A pod CIDR needs its gateway (first address) and room for pods, as --pod-cidr. */
#define PEER_CONFIG_MAX_PREFIX 30

/* A validated peer. */
struct peer_config {
    be32 node_ip;
    struct cidr pod_cidr;
};

/* This node, which a peer must not collide with. */
struct peer_config_env {
    be32 node_ip;                   /* --node-ip; 0: no overlay, so every add-peer fails. */
    struct cidr pod_cidr;           /* --pod-cidr. */
};

/* Parses a peer's node address (del-peer's argument): an IPv4 address that is unicast and
 * not this node's own.  Returns 0 or -EINVAL with a message in 'err'. */
int peer_node_ip_parse(const char *s, const struct peer_config_env *, be32 *ip, char *err,
                       size_t errlen);

/* Checks 'req' against this node ('env') and fills 'peer': the overlay must be configured,
 * the node address as for peer_node_ip_parse() and outside both pod CIDRs, the pod CIDR a
 * unicast network of prefix 30 or shorter with its host bits zero, not overlapping this
 * node's pod CIDR nor holding this node's address.  Returns 0 or -EINVAL with a message. */
int peer_config_from_msg(const Vswitch__AddPeer *req, const struct peer_config_env *,
                         struct peer_config *peer, char *err, size_t errlen);

/* The checks of peer_config_from_msg() that depend on 'env', for a peer read back from the
 * database after this node's configuration may have changed.  Returns 0 or -EINVAL. */
int peer_config_check_env(const struct peer_config *, const struct peer_config_env *,
                          char *err, size_t errlen);

/* Checks 'peer' against the table it would join, 'peers' (any order; an entry with the same
 * node address is the one it replaces and is skipped): its pod CIDR must not overlap another
 * peer's, its node address must not be inside another peer's pod CIDR nor its CIDR hold
 * another peer's node address, and the table must have room.  Returns 0, -EEXIST (overlap)
 * or -ENOSPC, with a message that names the other peer. */
int peer_config_check_table(const struct peer_config *peer, const struct peer_config *peers,
                            size_t n, char *err, size_t errlen);

/* "10.244.2.0/24" into 'buf'; returns 'buf'. */
const char *peer_cidr_str(const struct cidr *, char buf[IP_STR_LEN]);

#endif
