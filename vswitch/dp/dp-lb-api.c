/* The control API of load balancing (dp.h): set, delete and list policies (one at a time or
 * many in one pass), and dump the flow pairs and dispatch entries they created.
 *
 * Policies are validated and built here, on the calling thread (a Maglev table takes a few
 * hundred microseconds); lb_apply_cmd swaps them into the table on the datapath thread
 * through dp_call() (dp.c) and deletes the flow pairs a change orphaned.  Control thread. */
#include "dp/dp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "dp/dp-offload.h"
#include "dp/dp-thread.h"
#include "dp/net-headers.h"
#include "lib/util.h"

static int validate_lb_spec(const struct dp_lb_spec *spec, char *err, size_t errlen)
{
    if (spec->proto != IP_PROTO_TCP && spec->proto != IP_PROTO_UDP) {
        snprintf(err, errlen, "protocol %u is neither tcp (6) nor udp (17)", spec->proto);
        return -EINVAL;
    }
    if (!spec->port) {
        snprintf(err, errlen, "VIP port must be 1-65535");
        return -EINVAL;
    }
    if (spec->n_source_ranges > DP_LB_MAX_SOURCE_RANGES) {
        snprintf(err, errlen, "%zu source ranges, at most %d", spec->n_source_ranges,
                 DP_LB_MAX_SOURCE_RANGES);
        return -EINVAL;
    }
    if (spec->preserve_dip && !spec->vip) {
        snprintf(err, errlen, "preserve-dip needs backends that hold the VIP, and no backend "
                 "can hold 0.0.0.0 (every node address, a NodePort)");
        return -EINVAL;
    }
    if (spec->preserve_dip && !spec->dsr) {
        snprintf(err, errlen, "preserve-dip is a form of DSR: it cannot SNAT");
        return -EINVAL;
    }
    if (spec->n_backends > DP_LB_MAX_BACKENDS) {
        snprintf(err, errlen, "%zu backends, at most %d", spec->n_backends,
                 DP_LB_MAX_BACKENDS);
        return -EINVAL;
    }
    if (spec->affinity_timeout > DP_LB_MAX_AFFINITY) {
        snprintf(err, errlen, "affinity timeout %u s, at most %d", spec->affinity_timeout,
                 DP_LB_MAX_AFFINITY);
        return -EINVAL;
    }
    for (size_t i = 0; i < spec->n_backends; i++) {
        if (!spec->backends[i].port) {
            snprintf(err, errlen, "backend %zu: port must be 1-65535", i + 1);
            return -EINVAL;
        }
        /* Classic L2 DSR rewrites no port: the pipeline relies on it. */
        if (spec->preserve_dip && spec->backends[i].port != spec->port) {
            snprintf(err, errlen, "backend %zu: port %u differs from the VIP port %u, which "
                     "preserve-dip keeps", i + 1, spec->backends[i].port, spec->port);
            return -EINVAL;
        }
    }
    return 0;
}

/* Deletes the flow pairs and dispatch entries of the policies marked in 'affected' (by
 * slot) that lb_keeps_connection() lets go: all of a policy that is gone, UDP to a backend
 * no longer in its policy.  One pass over the table, however many policies changed. */
static void delete_orphaned_pairs(struct dp *dp, const uint8_t *affected, uint32_t n_slots)
{
    CT_FOR_EACH (conn, &dp->ct) {
        const struct ct_tuple *reply = &conn->tuple[CT_DIR_REPLY];
        const struct lb_policy *p;

        if (conn->policy >= n_slots || !affected[conn->policy]) {
            continue;
        }
        p = lb_policy_at(&dp->lb, conn->policy);
        if (!lb_keeps_connection(p, conn->tuple[CT_DIR_ORIG].proto, reply->src,
                                 ntohs(reply->sport))) {
            ct_delete(&dp->ct, conn);
        }
    }
}

/* True if every backend of 'old' is still in 'new': no flow pair can be orphaned. */
static bool keeps_backends(const struct lb_policy *old, const struct lb_policy *new)
{
    for (size_t i = 0; i < old->spec.n_backends; i++) {
        if (!lb_has_backend(new, old->backends[i].ip, old->backends[i].port)) {
            return false;
        }
    }
    return true;
}

struct lb_apply_args {
    const struct dp_lb_change *changes;
    struct lb_policy **policies;    /* In: built for each add.  Out: what to free. */
    size_t n;
    size_t n_removed;               /* Out: how many deletes found their policy. */
};

static void lb_apply_cmd(struct dp *dp, void *args_)
{
    struct lb_apply_args *args = args_;
    uint8_t *affected = NULL;
    uint32_t n_affected_slots = 0;
    bool scan = false;

    args->n_removed = 0;
    for (size_t i = 0; i < args->n; i++) {
        const struct dp_lb_spec *spec = &args->changes[i].spec;
        struct lb_policy *gone;

        if (args->changes[i].del) {
            gone = lb_remove(&dp->lb, spec->vip, spec->port, spec->proto);
            args->n_removed += gone != NULL;
        } else {
            gone = lb_insert(&dp->lb, args->policies[i]);
            if (gone && keeps_backends(gone, args->policies[i])) {
                args->policies[i] = gone;
                continue;
            }
        }
        args->policies[i] = gone;
        if (gone && dp->ct.n_conns) {
            if (gone->slot >= n_affected_slots) {
                uint32_t n = MAX(dp->lb.n_slots, gone->slot + 1);

                affected = xrealloc(affected, n);
                memset(affected + n_affected_slots, 0, n - n_affected_slots);
                n_affected_slots = n;
            }
            affected[gone->slot] = 1;
            scan = true;
        }
    }
    if (scan) {
        delete_orphaned_pairs(dp, affected, n_affected_slots);
    }
    free(affected);
    /* Cached decisions may have been taken without a policy (a VIP routed to the host). */
    flow_cache_flush(&dp->cache);
}

int dp_lb_apply(struct dp *dp, const struct dp_lb_change *changes, size_t n, size_t *failed,
                char *err, size_t errlen)
{
    struct lb_apply_args args = { .changes = changes, .n = n };
    int error;

    for (size_t i = 0; i < n; i++) {
        if (!changes[i].del && (error = validate_lb_spec(&changes[i].spec, err, errlen))) {
            if (failed) {
                *failed = i;
            }
            return error;
        }
    }
    args.policies = xcalloc(n + 1, sizeof *args.policies);
    for (size_t i = 0; i < n; i++) {
        if (!changes[i].del) {
            args.policies[i] = lb_policy_new(&changes[i].spec);
        }
    }
    dp_call(dp, lb_apply_cmd, &args);
    for (size_t i = 0; i < n; i++) {
        lb_policy_free(args.policies[i]);
    }
    free(args.policies);
    return 0;
}

int dp_lb_set(struct dp *dp, const struct dp_lb_spec *spec, char *err, size_t errlen)
{
    struct dp_lb_change change = { .del = false, .spec = *spec };

    return dp_lb_apply(dp, &change, 1, NULL, err, errlen);
}

int dp_lb_del(struct dp *dp, be32 vip, uint16_t port, uint8_t proto)
{
    struct dp_lb_change change = {
        .del = true, .spec = { .vip = vip, .port = port, .proto = proto },
    };
    struct lb_apply_args args = { .changes = &change, .n = 1 };
    struct lb_policy *policy = NULL;

    args.policies = &policy;
    dp_call(dp, lb_apply_cmd, &args);
    lb_policy_free(policy);
    return args.n_removed ? 0 : -ENOENT;
}

struct lb_list_args {
    struct dp_lb_info *infos;
    size_t n;
};

static void lb_list_cmd(struct dp *dp, void *args_)
{
    struct lb_list_args *args = args_;
    uint32_t *pairs;

    /* The hits the kernel fast path counted since the last housekeeping round. */
    dp_offload_sync(dp);
    pairs = xcalloc(dp->lb.n_slots + 1, sizeof *pairs);

    CT_FOR_EACH (conn, &dp->ct) {
        if (conn->policy < dp->lb.n_slots && !ct_is_dispatch(conn)) {
            pairs[conn->policy]++;
        }
    }
    args->infos = xcalloc(dp->lb.n_policies + 1, sizeof *args->infos);
    args->n = 0;
    for (uint32_t s = 0; s < dp->lb.n_slots; s++) {
        const struct lb_policy *p = dp->lb.slots[s];
        struct dp_lb_info *info;

        if (!p) {
            continue;
        }
        info = &args->infos[args->n++];
        info->spec = p->spec;
        info->backends = xmalloc((p->spec.n_backends + 1) * sizeof *info->backends);
        memcpy(info->backends, p->backends, p->spec.n_backends * sizeof *info->backends);
        info->spec.backends = info->backends;
        info->packets = p->packets;
        info->bytes = p->bytes;
        info->connections = p->connections;
        info->dispatched = p->dispatched;
        info->rejected = p->rejected;
        info->active_pairs = pairs[s];
    }
    free(pairs);
}

int dp_lb_list(struct dp *dp, struct dp_lb_info **infos, size_t *n)
{
    struct lb_list_args args;

    dp_call(dp, lb_list_cmd, &args);
    *infos = args.infos;
    *n = args.n;
    return 0;
}

void dp_lb_info_free(struct dp_lb_info *infos, size_t n)
{
    if (infos) {
        for (size_t i = 0; i < n; i++) {
            free(infos[i].backends);
        }
        free(infos);
    }
}

static struct dp_tuple dp_tuple_from(const struct ct_tuple *t)
{
    struct dp_tuple out = {
        .src = t->src, .dst = t->dst, .sport = ntohs(t->sport), .dport = ntohs(t->dport),
    };
    return out;
}

struct conn_dump_args {
    struct dp_conn_info *conns;
    size_t n;
};

/* How long 'conn', idle for 'idle' ms, has left before it expires. */
static uint64_t ttl_left(const struct ct_conn *conn, uint64_t idle)
{
    return idle < conn->timeout_ms ? conn->timeout_ms - idle : 0;
}

static void conn_dump_cmd(struct dp *dp, void *args_)
{
    struct conn_dump_args *args = args_;

    dp_offload_sync(dp);
    args->conns = xcalloc(dp->ct.n_conns - dp->ct.n_dispatch + 1, sizeof *args->conns);
    args->n = 0;
    CT_FOR_EACH (conn, &dp->ct) {
        struct dp_conn_info *info;
        const struct lb_policy *p = lb_policy_at(&dp->lb, conn->policy);
        uint64_t idle = dp->now_ms - conn->used_ms;

        if (ct_is_dispatch(conn)) {
            continue;
        }
        info = &args->conns[args->n++];
        info->proto = conn->tuple[0].proto;
        info->orig = dp_tuple_from(&conn->tuple[CT_DIR_ORIG]);
        info->reply = dp_tuple_from(&conn->tuple[CT_DIR_REPLY]);
        str_copy(info->policy, p ? p->spec.name : "", sizeof info->policy);
        info->dsr = conn->kind == CT_KIND_PAIR_DSR;
        info->state = ct_state_name(conn->state);
        for (int d = 0; d < 2; d++) {
            info->packets[d] = conn->packets[d];
            info->bytes[d] = conn->bytes[d];
        }
        info->idle_ms = idle;
        info->ttl_ms = ttl_left(conn, idle);
    }
}

int dp_conn_dump(struct dp *dp, struct dp_conn_info **conns, size_t *n)
{
    struct conn_dump_args args;

    dp_call(dp, conn_dump_cmd, &args);
    *conns = args.conns;
    *n = args.n;
    return 0;
}

struct dispatch_dump_args {
    struct dp_dispatch_info *entries;
    size_t n;
};

static void dispatch_dump_cmd(struct dp *dp, void *args_)
{
    struct dispatch_dump_args *args = args_;

    args->entries = xcalloc(dp->ct.n_dispatch + 1, sizeof *args->entries);
    args->n = 0;
    CT_FOR_EACH (conn, &dp->ct) {
        struct dp_dispatch_info *info;
        const struct lb_policy *p = lb_policy_at(&dp->lb, conn->policy);
        const struct ct_tuple *backend = &conn->tuple[CT_DIR_REPLY];
        uint64_t idle = dp->now_ms - conn->used_ms;

        if (!ct_is_dispatch(conn)) {
            continue;
        }
        info = &args->entries[args->n++];
        info->proto = conn->tuple[0].proto;
        info->orig = dp_tuple_from(&conn->tuple[CT_DIR_ORIG]);
        info->backend.ip = backend->src;
        info->backend.port = ntohs(backend->sport);
        str_copy(info->policy, p ? p->spec.name : "", sizeof info->policy);
        info->state = ct_state_name(conn->state);
        info->packets = conn->packets[CT_DIR_ORIG];
        info->bytes = conn->bytes[CT_DIR_ORIG];
        info->idle_ms = idle;
        info->ttl_ms = ttl_left(conn, idle);
    }
}

int dp_dispatch_dump(struct dp *dp, struct dp_dispatch_info **entries, size_t *n)
{
    struct dispatch_dump_args args;

    dp_call(dp, dispatch_dump_cmd, &args);
    *entries = args.entries;
    *n = args.n;
    return 0;
}

struct node_addrs_args {
    const be32 *addrs;
    size_t n;
    size_t kept;                    /* Out. */
};

static void node_addrs_cmd(struct dp *dp, void *args_)
{
    struct node_addrs_args *args = args_;

    args->kept = lb_set_node_addrs(&dp->lb, args->addrs, args->n);
    /* Cached decisions about those addresses (routed to the host, or balanced) change. */
    flow_cache_flush(&dp->cache);
}

size_t dp_node_addrs_set(struct dp *dp, const be32 *addrs, size_t n)
{
    struct node_addrs_args args = { .addrs = addrs, .n = n };

    dp_call(dp, node_addrs_cmd, &args);
    return args.kept;
}
