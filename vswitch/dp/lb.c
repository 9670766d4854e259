/* Load-balancing table; see lb.h. */
#include "dp/lb.h"

#include <arpa/inet.h>
#include <stdlib.h>

#include "dp/maglev.h"
#include "dp/net-headers.h"
#include "lib/hash.h"
#include "lib/util.h"

/* ClientIP affinity: client address -> backend, open addressing, bounded.  A full table
 * replaces the stalest entry it probes; affinity is a preference, not a promise. */
#define AFFINITY_SLOTS 4096
#define AFFINITY_PROBES 8

struct lb_affinity_entry {
    be32 client;
    struct dp_lb_backend backend;
    uint64_t used_ms;
};

struct lb_affinity {
    struct lb_affinity_entry entries[AFFINITY_SLOTS];
};

static uint64_t policy_key(be32 vip, uint16_t port, uint8_t proto)
{
    return (uint64_t) vip << 32 | (uint32_t) port << 8 | proto;
}

static uint32_t key_hash(uint64_t key)
{
    return (uint32_t) hash_mix64(key);
}

static int backend_cmp(const void *a_, const void *b_)
{
    const struct dp_lb_backend *a = a_, *b = b_;
    uint32_t x = ntohl(a->ip), y = ntohl(b->ip);

    if (x != y) {
        return x < y ? -1 : 1;
    }
    return a->port < b->port ? -1 : a->port > b->port;
}

void lb_table_init(struct lb_table *lb)
{
    memset(lb, 0, sizeof *lb);
    lb->mask = 1023;
    lb->buckets = xcalloc(lb->mask + 1, sizeof *lb->buckets);
    lb->vip_mask = 1023;
    lb->vip_refs = xcalloc(lb->vip_mask + 1, sizeof *lb->vip_refs);
    lb->vip_keys = xcalloc(lb->vip_mask + 1, sizeof *lb->vip_keys);
}

void lb_table_destroy(struct lb_table *lb)
{
    if (!lb) {
        return;
    }
    for (uint32_t i = 0; i < lb->n_slots; i++) {
        lb_policy_free(lb->slots[i]);
    }
    free(lb->slots);
    free(lb->buckets);
    free(lb->vip_refs);
    free(lb->vip_keys);
    memset(lb, 0, sizeof *lb);
}

struct lb_policy *lb_policy_new(const struct dp_lb_spec *spec)
{
    struct lb_policy *p = xcalloc(1, sizeof *p);

    p->spec = *spec;
    p->backends = xmalloc(MAX(spec->n_backends, 1) * sizeof *p->backends);
    if (spec->n_backends) {
        memcpy(p->backends, spec->backends, spec->n_backends * sizeof *p->backends);
    }
    qsort(p->backends, spec->n_backends, sizeof *p->backends, backend_cmp);
    p->spec.backends = p->backends;
    if (spec->n_backends) {
        p->maglev_size = maglev_size(spec->n_backends);
        p->maglev = xmalloc(p->maglev_size * sizeof *p->maglev);
        maglev_build(p->backends, spec->n_backends, p->maglev);
    }
    if (spec->affinity_timeout) {
        p->affinity = xcalloc(1, sizeof *p->affinity);
    }
    return p;
}

void lb_policy_free(struct lb_policy *p)
{
    if (p) {
        free(p->backends);
        free(p->maglev);
        free(p->affinity);
        free(p);
    }
}

struct lb_policy *lb_lookup(const struct lb_table *lb, be32 vip, be16 port, uint8_t proto)
{
    uint64_t key = policy_key(vip, ntohs(port), proto);

    for (uint32_t s = lb->buckets[key_hash(key) & lb->mask]; s; s = lb->slots[s - 1]->next) {
        struct lb_policy *p = lb->slots[s - 1];

        if (policy_key(p->spec.vip, p->spec.port, p->spec.proto) == key) {
            return p;
        }
    }
    return NULL;
}

struct lb_policy *lb_lookup_dst(const struct lb_table *lb, be32 dst, be16 port, uint8_t proto)
{
    struct lb_policy *p = lb_lookup(lb, dst, port, proto);

    if (!p && dst && lb_is_node_addr(lb, dst)) {
        p = lb_lookup(lb, 0, port, proto);
    }
    return p;
}

size_t lb_set_node_addrs(struct lb_table *lb, const be32 *addrs, size_t n)
{
    lb->n_node_addrs = MIN(n, LB_NODE_ADDRS_MAX);
    if (lb->n_node_addrs) {
        memcpy(lb->node_addrs, addrs, lb->n_node_addrs * sizeof *addrs);
    }
    return lb->n_node_addrs;
}

bool lb_is_node_addr(const struct lb_table *lb, be32 ip)
{
    for (uint32_t i = 0; i < lb->n_node_addrs; i++) {
        if (lb->node_addrs[i] == ip) {
            return true;
        }
    }
    return false;
}

static uint32_t *vip_find(const struct lb_table *lb, be32 vip, bool *found)
{
    for (uint32_t i = hash_u32(vip, 7); ; i++) {
        uint32_t slot = i & lb->vip_mask;

        if (!lb->vip_refs[slot] || lb->vip_keys[slot] == vip) {
            *found = lb->vip_refs[slot] != 0;
            return &lb->vip_refs[slot];
        }
    }
}

bool lb_is_vip(const struct lb_table *lb, be32 ip)
{
    bool found;

    vip_find(lb, ip, &found);
    return ip && found;
}

bool lb_preserve_dip_backs(const struct lb_table *lb, be32 vip, uint8_t proto, be16 port,
                           be32 ip)
{
    const struct lb_policy *p;

    if (!lb_is_vip(lb, vip)) {
        return false;
    }
    if (proto == IP_PROTO_TCP || proto == IP_PROTO_UDP) {
        p = lb_lookup(lb, vip, port, proto);
        return p && p->spec.preserve_dip && lb_has_backend(p, ip, ntohs(port));
    }
    /* Without ports: any policy of the VIP.  Rare packets (ARP, ICMP errors), so a scan. */
    for (uint32_t s = 0; s < lb->n_slots; s++) {
        p = lb->slots[s];
        if (p && p->spec.vip == vip && p->spec.preserve_dip
            && lb_has_backend(p, ip, p->spec.port)) {
            return true;
        }
    }
    return false;
}

static void vip_rehash(struct lb_table *lb, uint32_t new_mask)
{
    uint32_t *old_refs = lb->vip_refs, old_mask = lb->vip_mask;
    be32 *old_keys = lb->vip_keys;

    lb->vip_mask = new_mask;
    lb->vip_refs = xcalloc(new_mask + 1, sizeof *lb->vip_refs);
    lb->vip_keys = xcalloc(new_mask + 1, sizeof *lb->vip_keys);
    for (uint32_t i = 0; i <= old_mask; i++) {
        if (old_refs[i]) {
            bool found;
            uint32_t *ref = vip_find(lb, old_keys[i], &found);

            *ref = old_refs[i];
            lb->vip_keys[ref - lb->vip_refs] = old_keys[i];
        }
    }
    free(old_refs);
    free(old_keys);
}

/* Open addressing without tombstones: on removal, rebuild the table (removals are rare and
 * the table holds one entry per VIP). */
static void vip_adjust(struct lb_table *lb, be32 vip, int delta)
{
    bool found;
    uint32_t *ref = vip_find(lb, vip, &found);

    if (delta > 0) {
        if (!found) {
            lb->vip_keys[ref - lb->vip_refs] = vip;
        }
        (*ref)++;
        if (!found && lb->n_policies * 2 > lb->vip_mask) {
            vip_rehash(lb, lb->vip_mask * 2 + 1);
        }
    } else if (found && --*ref == 0) {
        vip_rehash(lb, lb->vip_mask);
    }
}

static void buckets_rehash(struct lb_table *lb, uint32_t new_mask)
{
    free(lb->buckets);
    lb->mask = new_mask;
    lb->buckets = xcalloc(new_mask + 1, sizeof *lb->buckets);
    for (uint32_t i = 0; i < lb->n_slots; i++) {
        struct lb_policy *p = lb->slots[i];

        if (p) {
            uint32_t *b = &lb->buckets[key_hash(policy_key(p->spec.vip, p->spec.port,
                                                           p->spec.proto)) & lb->mask];
            p->next = *b;
            *b = i + 1;
        }
    }
}

struct lb_policy *lb_insert(struct lb_table *lb, struct lb_policy *p)
{
    struct lb_policy *old = lb_lookup(lb, p->spec.vip, htons(p->spec.port), p->spec.proto);
    uint32_t slot;

    if (old) {
        if (p->affinity && old->affinity) {
            /* Clients keep their backend across a change of the backend set, as long as it
             * stays in the set (checked on use). */
            struct lb_affinity *tmp = p->affinity;

            p->affinity = old->affinity;
            old->affinity = tmp;
        }
        p->slot = old->slot;
        p->next = old->next;
        p->packets = old->packets;
        p->bytes = old->bytes;
        p->connections = old->connections;
        p->dispatched = old->dispatched;
        p->rejected = old->rejected;
        lb->slots[p->slot] = p;
        /* The chain links by slot, so the chain itself is unchanged. */
        return old;
    }
    for (slot = 0; slot < lb->n_slots && lb->slots[slot]; slot++) {
        continue;
    }
    if (slot == lb->n_slots) {
        uint32_t n = lb->n_slots ? lb->n_slots * 2 : 64;

        lb->slots = xrealloc(lb->slots, n * sizeof *lb->slots);
        memset(lb->slots + lb->n_slots, 0, (n - lb->n_slots) * sizeof *lb->slots);
        lb->n_slots = n;
    }
    p->slot = slot;
    lb->slots[slot] = p;
    lb->n_policies++;
    if (lb->n_policies > lb->mask + 1) {
        buckets_rehash(lb, lb->mask * 2 + 1);
    } else {
        uint32_t *b = &lb->buckets[key_hash(policy_key(p->spec.vip, p->spec.port,
                                                       p->spec.proto)) & lb->mask];
        p->next = *b;
        *b = slot + 1;
    }
    vip_adjust(lb, p->spec.vip, +1);
    return NULL;
}

struct lb_policy *lb_remove(struct lb_table *lb, be32 vip, uint16_t port, uint8_t proto)
{
    struct lb_policy *p = lb_lookup(lb, vip, htons(port), proto);
    uint32_t *link;

    if (!p) {
        return NULL;
    }
    link = &lb->buckets[key_hash(policy_key(vip, port, proto)) & lb->mask];
    while (*link != p->slot + 1) {
        link = &lb->slots[*link - 1]->next;
    }
    *link = p->next;
    lb->slots[p->slot] = NULL;
    lb->n_policies--;
    vip_adjust(lb, vip, -1);
    return p;
}

bool lb_has_backend(const struct lb_policy *p, be32 ip, uint16_t port)
{
    struct dp_lb_backend key = { .ip = ip, .port = port };

    return p->spec.n_backends
           && bsearch(&key, p->backends, p->spec.n_backends, sizeof key, backend_cmp);
}

bool lb_source_allowed(const struct lb_policy *p, be32 client)
{
    for (size_t i = 0; i < p->spec.n_source_ranges; i++) {
        if (cidr_contains(&p->spec.source_ranges[i], client)) {
            return true;
        }
    }
    return !p->spec.n_source_ranges;
}

bool lb_keeps_connection(const struct lb_policy *p, uint8_t proto, be32 ip, uint16_t port)
{
    return p && (proto == IP_PROTO_TCP || lb_has_backend(p, ip, port));
}

bool lb_may_reopen(const struct lb_policy *p, be32 ip, uint16_t port)
{
    return p && lb_has_backend(p, ip, port);
}

bool lb_conn_reopens_elsewhere(const struct lb_table *lb, const struct ct_conn *conn,
                               enum ct_dir dir, uint8_t tcp_flags)
{
    const struct ct_tuple *backend = &conn->tuple[CT_DIR_REPLY];

    return dir == CT_DIR_ORIG && conn->tuple[CT_DIR_ORIG].proto == IP_PROTO_TCP
           && (tcp_flags & (TCP_SYN | TCP_ACK)) == TCP_SYN
           && (conn->state == CT_CLOSED || conn->state == CT_CLOSING)
           && !lb_may_reopen(lb_policy_at(lb, conn->policy), backend->src,
                             ntohs(backend->sport));
}

static const struct dp_lb_backend *affinity_get(struct lb_policy *p, be32 client,
                                                uint64_t now_ms)
{
    uint32_t h = hash_u32(client, 11);
    uint64_t timeout_ms = (uint64_t) p->spec.affinity_timeout * 1000;

    for (uint32_t i = 0; i < AFFINITY_PROBES; i++) {
        struct lb_affinity_entry *e = &p->affinity->entries[(h + i) % AFFINITY_SLOTS];

        if (e->client == client && e->used_ms && now_ms - e->used_ms <= timeout_ms
            && lb_has_backend(p, e->backend.ip, e->backend.port)) {
            e->used_ms = now_ms;
            return &e->backend;
        }
    }
    return NULL;
}

static void affinity_put(struct lb_policy *p, be32 client, const struct dp_lb_backend *b,
                         uint64_t now_ms)
{
    uint32_t h = hash_u32(client, 11);
    struct lb_affinity_entry *victim = NULL;

    for (uint32_t i = 0; i < AFFINITY_PROBES; i++) {
        struct lb_affinity_entry *e = &p->affinity->entries[(h + i) % AFFINITY_SLOTS];

        if (e->client == client || !e->used_ms) {
            victim = e;
            break;
        }
        if (!victim || e->used_ms < victim->used_ms) {
            victim = e;
        }
    }
    victim->client = client;
    victim->backend = *b;
    victim->used_ms = now_ms;
}

const struct dp_lb_backend *lb_select(struct lb_policy *p, be32 client, be32 dst, be16 sport,
                                      be16 dport, uint64_t now_ms)
{
    const struct dp_lb_backend *b;

    if (!p->spec.n_backends) {
        return NULL;
    }
    if (p->affinity && (b = affinity_get(p, client, now_ms)) != NULL) {
        return b;
    }
    b = &p->backends[p->maglev[maglev_flow_hash(client, dst, sport, dport, p->spec.proto)
                               % p->maglev_size]];
    if (p->affinity) {
        affinity_put(p, client, b, now_ms);
    }
    return b;
}
