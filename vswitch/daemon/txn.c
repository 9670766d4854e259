/* The control transaction; see txn.h.
 *
 * Order: check everything (against snapshots of the datapath's policies and peers), write
 * everything to the database inside one open transaction, apply to the datapath, commit.
 * Writing the database first means its failures (a full disk, a locked file) come before the
 * datapath is touched; the commit, the one step that can still fail after, is undone in the
 * datapath by reverting each applied operation, last first, to what its key held before it
 * (batch_op.prior_*), which is always a state the datapath accepted.
 *
 * Operations that change nothing (an add-lb equal to the installed policy, an add-peer
 * equal to the peer, a delete of what is absent) are written to the database but skipped in
 * the datapath, so a resync that repeats what is in place disturbs no flow pair and costs no
 * Maglev table rebuild. */
#include "daemon/txn.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_MODULE "batch"
#include "daemon/batch-config.h"
#include "daemon/db.h"
#include "daemon/node-routes.h"
#include "daemon/nodeport.h"
#include "dp/dp.h"
#include "lib/log.h"
#include "lib/util.h"

/* The control protocol's limits are the datapath's. */
_Static_assert(LB_CONFIG_NAME_MAX == DP_LB_NAME_MAX, "policy name limits differ");
_Static_assert(LB_CONFIG_MAX_BACKENDS == DP_LB_MAX_BACKENDS, "backend limits differ");
_Static_assert(LB_CONFIG_MAX_AFFINITY == DP_LB_MAX_AFFINITY, "affinity limits differ");
_Static_assert(LB_CONFIG_MAX_SOURCE_RANGES == DP_LB_MAX_SOURCE_RANGES,
               "source range limits differ");

void txn_policy_spec(const struct lb_config *p, struct dp_lb_spec *spec)
{
    struct dp_lb_backend *backends = xmalloc((p->n_backends + 1) * sizeof *backends);

    for (size_t i = 0; i < p->n_backends; i++) {
        backends[i].ip = p->backends[i].ip;
        backends[i].port = p->backends[i].port;
    }
    *spec = (struct dp_lb_spec) {
        .vip = p->service.vip,
        .port = p->service.port,
        .proto = p->service.proto,
        .dsr = p->dsr,
        .preserve_dip = p->preserve_dip,
        .n_source_ranges = p->n_source_ranges,
        .affinity_timeout = p->affinity_timeout,
        .n_backends = p->n_backends,
        .backends = backends,
    };
    memcpy(spec->source_ranges, p->source_ranges,
           p->n_source_ranges * sizeof *p->source_ranges);
    str_copy(spec->name, p->name, sizeof spec->name);
}

int txn_policy_install(struct vswitchd *vd, const struct lb_config *p, char *err,
                       size_t errlen)
{
    struct dp_lb_spec spec;
    int error;

    txn_policy_spec(p, &spec);
    err[0] = '\0';
    error = dp_lb_set(vd->dp, &spec, err, errlen);
    if (error && !*err) {
        snprintf(err, errlen, "%s", strerror(-error));
    }
    free((void *) spec.backends);
    return error;
}

/* The datapath's policies as lb_configs, the state a batch starts from. */
static void snapshot_policies(struct vswitchd *vd, struct lb_config **policiesp, size_t *np)
{
    struct dp_lb_info *infos;
    struct lb_config *policies;
    size_t n;

    *policiesp = NULL;
    *np = 0;
    if (dp_lb_list(vd->dp, &infos, &n)) {
        return;
    }
    policies = xcalloc(n + 1, sizeof *policies);
    for (size_t i = 0; i < n; i++) {
        const struct dp_lb_spec *spec = &infos[i].spec;
        struct lb_config *p = &policies[i];

        p->service.vip = spec->vip;
        p->service.port = spec->port;
        p->service.proto = spec->proto;
        p->dsr = spec->dsr;
        p->preserve_dip = spec->preserve_dip;
        p->n_source_ranges = spec->n_source_ranges;
        memcpy(p->source_ranges, spec->source_ranges,
               spec->n_source_ranges * sizeof *spec->source_ranges);
        p->affinity_timeout = spec->affinity_timeout;
        str_copy(p->name, spec->name, sizeof p->name);
        p->n_backends = spec->n_backends;
        p->backends = spec->n_backends ? xmalloc(spec->n_backends * sizeof *p->backends)
                                       : NULL;
        for (size_t b = 0; b < spec->n_backends; b++) {
            p->backends[b].ip = spec->backends[b].ip;
            p->backends[b].port = spec->backends[b].port;
        }
    }
    dp_lb_info_free(infos, n);
    *policiesp = policies;
    *np = n;
}

static void snapshot_peers(struct vswitchd *vd, struct peer_config **peersp, size_t *np)
{
    struct dp_peer_info *infos;
    struct peer_config *peers;
    size_t n;

    *peersp = NULL;
    *np = 0;
    if (dp_peer_list(vd->dp, &infos, &n)) {
        return;
    }
    peers = xcalloc(n + 1, sizeof *peers);
    for (size_t i = 0; i < n; i++) {
        peers[i].node_ip = infos[i].node_ip;
        peers[i].pod_cidr = infos[i].pod_cidr;
    }
    free(infos);
    *peersp = peers;
    *np = n;
}

/* "policy for 10.96.0.10:80/tcp", "peer 192.168.50.2": the key of 'op', for messages. */
static const char *op_key(const struct batch_op *op, char buf[64])
{
    char s[LB_SERVICE_STR_LEN], ip[IP_STR_LEN];

    if (op->type == BATCH_OP_ADD_LB || op->type == BATCH_OP_DEL_LB) {
        snprintf(buf, 64, "policy for %s", lb_service_str(&op->lb.service, s));
    } else {
        snprintf(buf, 64, "peer %s", addr_ip_str(op->peer.node_ip, ip));
    }
    return buf;
}

/* Writes 'op' into the open transaction.  A delete of a missing row is not an error here
 * ('*missing' says so). */
static int db_apply(struct vswitchd *vd, const struct batch_op *op, bool *replaced,
                    bool *missing, char *err, size_t errlen)
{
    int error;

    *replaced = *missing = false;
    switch (op->type) {
    case BATCH_OP_ADD_LB:
        return db_policy_put(vd->db, &op->lb, replaced, err, errlen);
    case BATCH_OP_DEL_LB:
        error = db_policy_delete(vd->db, &op->lb.service, err, errlen);
        break;
    case BATCH_OP_ADD_PEER:
        return db_peer_put(vd->db, &op->peer, replaced, err, errlen);
    case BATCH_OP_DEL_PEER:
        error = db_peer_delete(vd->db, op->peer.node_ip, err, errlen);
        break;
    default:
        abort();
    }
    *missing = error == -ENOENT;
    return *missing ? 0 : error;
}

static int dp_install_peer(struct vswitchd *vd, be32 node_ip, const struct cidr *cidr,
                           char *err, size_t errlen)
{
    int error;

    err[0] = '\0';
    error = dp_peer_set(vd->dp, node_ip, cidr, err, errlen);
    if (error && !*err) {
        snprintf(err, errlen, "%s", strerror(-error));
    }
    return error;
}

/* Applies 'op' to the datapath. */
static int dp_apply(struct vswitchd *vd, const struct batch_op *op, char *err, size_t errlen)
{
    const struct lb_service *svc = &op->lb.service;
    int error;

    switch (op->type) {
    case BATCH_OP_ADD_LB:
        return txn_policy_install(vd, &op->lb, err, errlen);
    case BATCH_OP_DEL_LB:
        error = dp_lb_del(vd->dp, svc->vip, svc->port, svc->proto);
        break;
    case BATCH_OP_ADD_PEER:
        return dp_install_peer(vd, op->peer.node_ip, &op->peer.pod_cidr, err, errlen);
    case BATCH_OP_DEL_PEER:
        error = dp_peer_del(vd->dp, op->peer.node_ip);
        break;
    default:
        abort();
    }
    if (error && error != -ENOENT) {
        snprintf(err, errlen, "%s", strerror(-error));
        return error;
    }
    return 0;
}

/* Puts back in the datapath what the key of 'op' held before it. */
static void dp_revert(struct vswitchd *vd, const struct batch_op *op)
{
    const struct lb_service *svc = &op->lb.service;
    char err[256], key[64];
    int error = 0;

    switch (op->type) {
    case BATCH_OP_ADD_LB:
    case BATCH_OP_DEL_LB:
        if (op->prior_lb) {
            error = txn_policy_install(vd, op->prior_lb, err, sizeof err);
        } else {
            error = dp_lb_del(vd->dp, svc->vip, svc->port, svc->proto);
            error = error == -ENOENT ? 0 : error;
            snprintf(err, sizeof err, "%s", strerror(-error));
        }
        break;
    case BATCH_OP_ADD_PEER:
    case BATCH_OP_DEL_PEER:
        if (op->prior_peer) {
            error = dp_install_peer(vd, op->peer.node_ip, &op->prior_cidr, err, sizeof err);
        } else {
            error = dp_peer_del(vd->dp, op->peer.node_ip);
            error = error == -ENOENT ? 0 : error;
            snprintf(err, sizeof err, "%s", strerror(-error));
        }
        break;
    }
    if (error) {
        LOG_ERR("cannot put the %s back as it was: %s; the datapath and the database differ "
                "until vswitchd restarts", op_key(op, key), err);
    }
}

/* Undoes the datapath changes of ops[0, n), last first. */
static void dp_revert_all(struct vswitchd *vd, const struct batch_config *batch, size_t n)
{
    while (n-- > 0) {
        const struct batch_op *op = &batch->ops[n];

        if (!op->unchanged && !op->absent) {
            dp_revert(vd, op);
        }
    }
}

static bool batch_op_is_peer(const struct batch_op *op)
{
    return op->type == BATCH_OP_ADD_PEER || op->type == BATCH_OP_DEL_PEER;
}

/* Undoes the peer changes of ops[0, n), last first. */
static void dp_revert_peers(struct vswitchd *vd, const struct batch_config *batch, size_t n)
{
    while (n-- > 0) {
        const struct batch_op *op = &batch->ops[n];

        if (!op->unchanged && !op->absent && batch_op_is_peer(op)) {
            dp_revert(vd, op);
        }
    }
}

/* Every policy op of the batch in one dp_lb_apply: one pass of the datapath thread, one
 * flow-cache flush and at most one scan of the flow pairs, however many services change.
 * On failure nothing changed and '*failed' is the op's index. */
static int dp_apply_policies(struct vswitchd *vd, const struct batch_config *batch,
                             size_t *failed, char *err, size_t errlen)
{
    struct dp_lb_change *changes = xcalloc(batch->n_ops + 1, sizeof *changes);
    size_t *op_of = xcalloc(batch->n_ops + 1, sizeof *op_of);
    size_t n = 0, failed_change = 0;
    int error;

    for (size_t i = 0; i < batch->n_ops; i++) {
        const struct batch_op *op = &batch->ops[i];

        if (op->unchanged || op->absent || batch_op_is_peer(op)) {
            continue;
        }
        if (op->type == BATCH_OP_ADD_LB) {
            txn_policy_spec(&op->lb, &changes[n].spec);
        } else {
            changes[n].del = true;
            changes[n].spec.vip = op->lb.service.vip;
            changes[n].spec.port = op->lb.service.port;
            changes[n].spec.proto = op->lb.service.proto;
        }
        op_of[n++] = i;
    }
    err[0] = '\0';
    error = dp_lb_apply(vd->dp, changes, n, &failed_change, err, errlen);
    if (error) {
        *failed = op_of[failed_change];
        if (!*err) {
            snprintf(err, errlen, "%s", strerror(-error));
        }
    }
    for (size_t i = 0; i < n; i++) {
        free((void *) changes[i].spec.backends);
    }
    free(changes);
    free(op_of);
    return error;
}

static double ms_since(uint64_t *t)
{
    uint64_t now = time_usec(), d = now - *t;

    *t = now;
    return d / 1000.0;
}

/* Sets 'err' to "op N (DESC): WHAT", or WHAT alone for a single command. */
static void __attribute__((format(printf, 6, 7)))
op_error(const Vswitch__Batch *msg, size_t op, bool single, char *err, size_t errlen,
         const char *fmt, ...)
{
    char what[768], desc[BATCH_OP_DESC_LEN];
    va_list args;

    va_start(args, fmt);
    vsnprintf(what, sizeof what, fmt, args);
    va_end(args);
    if (single || !op) {
        snprintf(err, errlen, "%s", what);
    } else {
        snprintf(err, errlen, "op %zu (%s): %s", op, batch_op_describe(msg->ops[op - 1], desc),
                 what);
    }
}

int txn_apply(struct vswitchd *vd, const Vswitch__Batch *msg, bool single,
              struct txn_result *result, char *err, size_t errlen)
{
    struct batch_config_env env = {
        .lb = { .pod_cidr = vd->cfg.pod_cidr, .gateway = vd->cfg.gateway },
        .peer = { .node_ip = vd->cfg.node_ip, .pod_cidr = vd->cfg.pod_cidr },
    };
    struct lb_config *policies = NULL;
    struct peer_config *peers = NULL;
    struct batch_config batch;
    bool has_lb = false, has_peer = false;
    char why[512], key[64];
    double t_check, t_db, t_dp, t_commit;
    uint64_t t = time_usec();
    size_t i;
    int error;

    memset(result, 0, sizeof *result);
    for (i = 0; i < msg->n_ops; i++) {
        has_lb |= msg->ops[i]->op_case == VSWITCH__BATCH_OP__OP_ADD_LB
                  || msg->ops[i]->op_case == VSWITCH__BATCH_OP__OP_DEL_LB;
        has_peer |= msg->ops[i]->op_case == VSWITCH__BATCH_OP__OP_ADD_PEER
                    || msg->ops[i]->op_case == VSWITCH__BATCH_OP__OP_DEL_PEER;
    }
    if (has_lb) {
        snapshot_policies(vd, &policies, &env.n_policies);
        env.policies = policies;
    }
    if (has_peer) {
        snapshot_peers(vd, &peers, &env.n_peers);
        env.peers = peers;
    }
    error = batch_config_from_msg(msg, &env, &batch, &result->failed_op, why, sizeof why);
    if (error) {
        op_error(msg, result->failed_op, single, err, errlen, "%s", why);
        goto out_free;
    }
    t_check = ms_since(&t);
    if (!batch.n_ops) {
        goto out;
    }

    /* The database, in a transaction that stays open until the datapath has everything. */
    error = db_begin(vd->db, why, sizeof why);
    if (error) {
        op_error(msg, 0, single, err, errlen, "%s; nothing was applied", why);
        goto out;
    }
    for (i = 0; i < batch.n_ops; i++) {
        const struct batch_op *op = &batch.ops[i];
        bool replaced, missing;

        error = db_apply(vd, op, &replaced, &missing, why, sizeof why);
        if (error) {
            result->failed_op = i + 1;
            op_error(msg, i + 1, single, err, errlen, "cannot store the %s: %s; nothing was "
                     "applied", op_key(op, key), why);
            break;
        }
        if (single && missing && op->absent) {
            char ip[IP_STR_LEN], svc[LB_SERVICE_STR_LEN];

            error = -ENOENT;
            result->failed_op = i + 1;
            if (op->type == BATCH_OP_DEL_PEER) {
                op_error(msg, i + 1, single, err, errlen, "no peer %s",
                         addr_ip_str(op->peer.node_ip, ip));
            } else {
                op_error(msg, i + 1, single, err, errlen, "no policy for %s",
                         lb_service_str(&op->lb.service, svc));
            }
            break;
        }
        result->replaced += replaced;
    }
    if (error) {
        db_rollback(vd->db);
        goto out;
    }
    t_db = ms_since(&t);

    /* Peers one by one, then every policy change in one pass of the datapath thread. */
    for (i = 0; i < batch.n_ops; i++) {
        const struct batch_op *op = &batch.ops[i];

        if (op->unchanged || op->absent || !batch_op_is_peer(op)) {
            continue;
        }
        error = dp_apply(vd, op, why, sizeof why);
        if (error) {
            LOG_ERR("the datapath refused the %s: %s; undoing the batch's earlier peers",
                    op_key(op, key), why);
            dp_revert_peers(vd, &batch, i);
            db_rollback(vd->db);
            result->failed_op = i + 1;
            op_error(msg, i + 1, single, err, errlen, "the datapath refused the %s: %s; "
                     "nothing was applied", op_key(op, key), why);
            goto out;
        }
    }
    error = dp_apply_policies(vd, &batch, &i, why, sizeof why);
    if (error) {
        dp_revert_peers(vd, &batch, batch.n_ops);
        db_rollback(vd->db);
        result->failed_op = i + 1;
        op_error(msg, i + 1, single, err, errlen, "the datapath refused the %s: %s; nothing "
                 "was applied", op_key(&batch.ops[i], key), why);
        goto out;
    }
    t_dp = ms_since(&t);

    error = db_commit(vd->db, why, sizeof why);
    if (error) {
        LOG_ERR("%s; undoing the batch's %zu datapath change(s)", why, batch.n_ops);
        dp_revert_all(vd, &batch, batch.n_ops);
        op_error(msg, 0, single, err, errlen, "%s; nothing was applied", why);
        goto out;
    }
    t_commit = ms_since(&t);
    if ((has_peer || (has_lb && vd->cfg.has_service_cidr)) && vd->owns_node_routes) {
        /* After the commit: a route the kernel refuses does not undo the peer or the
         * policy, and the next change or a restart tries again.  Policies count where
         * their VIPs can be external addresses (node-routes.h). */
        node_routes_update(vd);
    }
    if (has_lb) {
        nodeport_sync(vd->nodeport);
    }

    result->applied = batch.n_ops;
    result->unchanged = batch.n_unchanged;
    result->absent = batch.n_absent;
    if (!single) {
        LOG_INFO("batch of %zu op(s) applied (%zu policy and %zu peer op(s), %zu unchanged, "
                 "%zu absent) in %.1f ms: check %.1f, database %.1f, datapath %.1f, commit "
                 "%.1f", batch.n_ops, batch.n_lb_ops, batch.n_peer_ops, batch.n_unchanged,
                 batch.n_absent, t_check + t_db + t_dp + t_commit, t_check, t_db, t_dp,
                 t_commit);
    }
out:
    batch_config_destroy(&batch);
out_free:
    for (i = 0; i < env.n_policies; i++) {
        lb_config_destroy(&policies[i]);
    }
    free(policies);
    free(peers);
    return error;
}
