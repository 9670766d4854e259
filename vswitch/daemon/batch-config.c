/* Batch checking; see batch-config.h.
 *
 * The state a batch moves through is simulated, not applied: policies by service key in an
 * open-addressing map whose values point at the policy the key holds at that point of the
 * batch (the env's, or the last add-lb's), and peers in a copy of the peer table.  A batch of
 * n operations over p installed policies costs O(n + p) for policies and O(n x peers) for
 * peers, whose table is small. */
#include "daemon/batch-config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/hash.h"
#include "lib/util.h"

/* ---- Policies by key ---- */

struct lb_slot {
    uint64_t key;
    const struct lb_config *state;  /* NULL: no policy (deleted in the batch). */
    bool used;
};

struct lb_map {
    struct lb_slot *slots;
    size_t mask;
};

static uint64_t service_key(const struct lb_service *svc)
{
    return (uint64_t) svc->vip << 32 | (uint32_t) svc->port << 8 | svc->proto;
}

static void lb_map_init(struct lb_map *map, size_t n)
{
    size_t size = 16;

    while (size < 2 * n) {
        size *= 2;
    }
    map->slots = xcalloc(size, sizeof *map->slots);
    map->mask = size - 1;
}

/* The slot of 'key', claimed for it if it was free. */
static struct lb_slot *lb_map_slot(struct lb_map *map, uint64_t key)
{
    for (size_t i = hash_mix64(key); ; i++) {
        struct lb_slot *slot = &map->slots[i & map->mask];

        if (!slot->used) {
            slot->used = true;
            slot->key = key;
            return slot;
        }
        if (slot->key == key) {
            return slot;
        }
    }
}

/* ---- Operations ---- */

bool batch_lb_config_equal(const struct lb_config *a, const struct lb_config *b)
{
    if (a->service.vip != b->service.vip || a->service.port != b->service.port
        || a->service.proto != b->service.proto || a->dsr != b->dsr
        || a->affinity_timeout != b->affinity_timeout || strcmp(a->name, b->name)
        || a->n_backends != b->n_backends) {
        return false;
    }
    for (size_t i = 0; i < a->n_backends; i++) {
        if (a->backends[i].ip != b->backends[i].ip
            || a->backends[i].port != b->backends[i].port) {
            return false;
        }
    }
    return true;
}

/* Appends " WORD" to 'buf': as written when it is short and printable, else quoted. */
static void append_word(char *buf, size_t size, const char *word)
{
    size_t used = strlen(buf), len = strlen(word);
    char q[STR_QUOTE_LEN];

    for (size_t i = 0; i < len && len <= STR_QUOTE_MAX; i++) {
        if (word[i] <= 0x20 || word[i] >= 0x7f || word[i] == '"') {
            len = STR_QUOTE_MAX + 1;
        }
    }
    snprintf(buf + used, size - used, " %s", len && len <= STR_QUOTE_MAX ? word
                                                                          : str_quote(word, q));
}

const char *batch_op_describe(const Vswitch__BatchOp *op, char buf[BATCH_OP_DESC_LEN])
{
    switch (op->op_case) {
    case VSWITCH__BATCH_OP__OP_ADD_LB:
        snprintf(buf, BATCH_OP_DESC_LEN, "add-lb");
        append_word(buf, BATCH_OP_DESC_LEN, op->add_lb->service);
        break;
    case VSWITCH__BATCH_OP__OP_DEL_LB:
        snprintf(buf, BATCH_OP_DESC_LEN, "del-lb");
        append_word(buf, BATCH_OP_DESC_LEN, op->del_lb->service);
        break;
    case VSWITCH__BATCH_OP__OP_ADD_PEER:
        snprintf(buf, BATCH_OP_DESC_LEN, "add-peer");
        append_word(buf, BATCH_OP_DESC_LEN, op->add_peer->node_ip);
        append_word(buf, BATCH_OP_DESC_LEN, op->add_peer->pod_cidr);
        break;
    case VSWITCH__BATCH_OP__OP_DEL_PEER:
        snprintf(buf, BATCH_OP_DESC_LEN, "del-peer");
        append_word(buf, BATCH_OP_DESC_LEN, op->del_peer->node_ip);
        break;
    case VSWITCH__BATCH_OP__OP__NOT_SET:
    default:
        snprintf(buf, BATCH_OP_DESC_LEN, "unknown");
        break;
    }
    return buf;
}

static int check_lb_op(const Vswitch__BatchOp *msg, const struct batch_config_env *env,
                       struct lb_map *map, struct batch_op *op, char *err, size_t errlen)
{
    struct lb_slot *slot;
    int error;

    if (msg->op_case == VSWITCH__BATCH_OP__OP_ADD_LB) {
        op->type = BATCH_OP_ADD_LB;
        error = lb_config_from_msg(msg->add_lb, &env->lb, &op->lb, err, errlen);
    } else {
        op->type = BATCH_OP_DEL_LB;
        /* Only the syntax, as del-lb: what an older configuration let in can go. */
        error = lb_service_parse(msg->del_lb->service, NULL, &op->lb.service, err, errlen);
    }
    if (error) {
        return error;
    }
    slot = lb_map_slot(map, service_key(&op->lb.service));
    op->prior_lb = slot->state;
    if (op->type == BATCH_OP_ADD_LB) {
        op->unchanged = op->prior_lb && batch_lb_config_equal(op->prior_lb, &op->lb);
        slot->state = &op->lb;
    } else {
        op->absent = !op->prior_lb;
        slot->state = NULL;
    }
    return 0;
}

static struct peer_config *find_peer(struct peer_config *peers, size_t n, be32 node_ip)
{
    for (size_t i = 0; i < n; i++) {
        if (peers[i].node_ip == node_ip) {
            return &peers[i];
        }
    }
    return NULL;
}

/* 'table' holds '*n' peers and has room for one more. */
static int check_peer_op(const Vswitch__BatchOp *msg, const struct batch_config_env *env,
                         struct peer_config *table, size_t *n, struct batch_op *op,
                         char *err, size_t errlen)
{
    struct peer_config *cur;
    int error;

    if (msg->op_case == VSWITCH__BATCH_OP__OP_ADD_PEER) {
        op->type = BATCH_OP_ADD_PEER;
        error = peer_config_from_msg(msg->add_peer, &env->peer, &op->peer, err, errlen);
        if (!error) {
            error = peer_config_check_table(&op->peer, table, *n, err, errlen);
        }
    } else {
        op->type = BATCH_OP_DEL_PEER;
        /* Only the syntax: a peer stored without an overlay can still be deleted. */
        error = peer_node_ip_parse(msg->del_peer->node_ip, NULL, &op->peer.node_ip, err,
                                   errlen);
    }
    if (error) {
        return error;
    }
    cur = find_peer(table, *n, op->peer.node_ip);
    op->prior_peer = cur != NULL;
    if (cur) {
        op->prior_cidr = cur->pod_cidr;
    }
    if (op->type == BATCH_OP_ADD_PEER) {
        op->unchanged = cur && cur->pod_cidr.net == op->peer.pod_cidr.net
                        && cur->pod_cidr.prefix == op->peer.pod_cidr.prefix;
        if (!cur) {
            cur = &table[(*n)++];
        }
        *cur = op->peer;
    } else {
        op->absent = !cur;
        if (cur) {
            *cur = table[--*n];
        }
    }
    return 0;
}

int batch_config_from_msg(const Vswitch__Batch *msg, const struct batch_config_env *env,
                          struct batch_config *batch, size_t *failed_op, char *err,
                          size_t errlen)
{
    struct lb_map map = { NULL, 0 };
    struct peer_config *table = NULL;
    size_t n_peers = 0, n_lb = 0, n_peer = 0;
    int error = 0;

    memset(batch, 0, sizeof *batch);
    *failed_op = 0;
    for (size_t i = 0; i < msg->n_ops; i++) {
        switch (msg->ops[i]->op_case) {
        case VSWITCH__BATCH_OP__OP_ADD_LB:
        case VSWITCH__BATCH_OP__OP_DEL_LB:
            n_lb++;
            break;
        case VSWITCH__BATCH_OP__OP_ADD_PEER:
        case VSWITCH__BATCH_OP__OP_DEL_PEER:
            n_peer++;
            break;
        case VSWITCH__BATCH_OP__OP__NOT_SET:
        default:
            /* An operation of a newer client unpacks as an unknown field. */
            *failed_op = i + 1;
            snprintf(err, errlen, "unknown or empty operation (is the client newer than "
                     "vswitchd?)");
            return -EOPNOTSUPP;
        }
    }

    batch->ops = xcalloc(msg->n_ops, sizeof *batch->ops);
    batch->n_lb_ops = n_lb;
    batch->n_peer_ops = n_peer;
    if (n_lb) {
        lb_map_init(&map, env->n_policies + n_lb);
        for (size_t i = 0; i < env->n_policies; i++) {
            lb_map_slot(&map, service_key(&env->policies[i].service))->state =
                &env->policies[i];
        }
    }
    if (n_peer) {
        table = xmalloc((env->n_peers + n_peer) * sizeof *table);
        if (env->n_peers) {
            memcpy(table, env->peers, env->n_peers * sizeof *table);
        }
        n_peers = env->n_peers;
    }
    for (size_t i = 0; i < msg->n_ops && !error; i++) {
        const Vswitch__BatchOp *m = msg->ops[i];
        struct batch_op *op = &batch->ops[i];

        if (m->op_case == VSWITCH__BATCH_OP__OP_ADD_LB
            || m->op_case == VSWITCH__BATCH_OP__OP_DEL_LB) {
            error = check_lb_op(m, env, &map, op, err, errlen);
        } else {
            error = check_peer_op(m, env, table, &n_peers, op, err, errlen);
        }
        if (error) {
            *failed_op = i + 1;
            break;
        }
        batch->n_ops++;
        batch->n_unchanged += op->unchanged;
        batch->n_absent += op->absent;
    }
    free(map.slots);
    free(table);
    if (error) {
        batch_config_destroy(batch);
    }
    return error;
}

void batch_config_destroy(struct batch_config *batch)
{
    if (batch) {
        for (size_t i = 0; i < batch->n_ops; i++) {
            lb_config_destroy(&batch->ops[i].lb);
        }
        free(batch->ops);
        memset(batch, 0, sizeof *batch);
    }
}
