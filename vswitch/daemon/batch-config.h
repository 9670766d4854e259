/* A Batch as vswitchd checks it before applying anything: every operation parsed and
 * validated (lib/lb-config.h, daemon/peer-config.h), in order, against the state the earlier
 * operations of the batch leave behind, so that the apply step that follows cannot meet an
 * error the check could have found.  For each operation it also records what its key held
 * before it (for undoing the operation in reverse order) and whether it changes anything
 * (an add that finds exactly its result in place, a delete that finds nothing).
 *
 * Pure C without the daemon's state: this node and the policies and peers in place are
 * passed in. */
#ifndef VSWITCH_DAEMON_BATCH_CONFIG_H
#define VSWITCH_DAEMON_BATCH_CONFIG_H 1

#include <stddef.h>

#include "lib/lb-config.h"
#include "daemon/peer-config.h"
#include "proto/vswitch.pb-c.h"

enum batch_op_type {
    BATCH_OP_ADD_LB,
    BATCH_OP_DEL_LB,
    BATCH_OP_ADD_PEER,
    BATCH_OP_DEL_PEER,
};

struct batch_op {
    enum batch_op_type type;
    struct lb_config lb;            /* ADD_LB: the policy.  DEL_LB: lb.service only. */
    struct peer_config peer;        /* ADD_PEER: the peer.  DEL_PEER: peer.node_ip only. */

    /* What the key held just before this operation. */
    const struct lb_config *prior_lb;   /* *_LB: the policy, or NULL if there was none;
                                         * points into the env's policies or at an earlier
                                         * operation's 'lb'. */
    bool prior_peer;                /* *_PEER: the node was a peer... */
    struct cidr prior_cidr;         /* ...with this pod CIDR. */

    bool unchanged;                 /* ADD_*: the key held exactly this already. */
    bool absent;                    /* DEL_*: the key held nothing. */
};

/* The state a batch starts from. */
struct batch_config_env {
    struct lb_config_env lb;            /* This node, for add-lb. */
    struct peer_config_env peer;        /* This node, for add-peer. */
    const struct lb_config *policies;   /* Installed now, any order; must outlive the */
    size_t n_policies;                  /* batch_config (prior_lb may point into it). */
    const struct peer_config *peers;    /* Installed now, any order. */
    size_t n_peers;
};

struct batch_config {
    struct batch_op *ops;
    size_t n_ops;
    size_t n_lb_ops, n_peer_ops;
    size_t n_unchanged, n_absent;
};

/* Checks every operation of 'msg' in order and fills 'batch' (destroy it with
 * batch_config_destroy() on success; nothing to free on failure).  Returns 0, or a negative
 * errno with '*failed_op' set to the operation at fault (from 1) and what is wrong with it in
 * 'err', without the operation's name (batch_op_describe() gives that). */
int batch_config_from_msg(const Vswitch__Batch *msg, const struct batch_config_env *,
                          struct batch_config *batch, size_t *failed_op, char *err,
                          size_t errlen);
/* Accepts NULL. */
void batch_config_destroy(struct batch_config *);

/* "add-lb 10.96.0.1:80/tcp", "add-peer 192.168.50.2 10.244.2.0/24": the operation and its
 * key as the client wrote them (empty, long or unprintable words quoted and cut), for
 * messages.  Returns 'buf'. */
#define BATCH_OP_DESC_LEN 192
const char *batch_op_describe(const Vswitch__BatchOp *, char buf[BATCH_OP_DESC_LEN]);

/* True if the two policies install the same thing (service, name, DSR, affinity, backends
 * in order). */
bool batch_lb_config_equal(const struct lb_config *, const struct lb_config *);

#endif
