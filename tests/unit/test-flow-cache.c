/* The exact-match flow cache: insert, lookup, replace, remove, eviction when full, expiry. */
#include <arpa/inet.h>
#include <criterion/criterion.h>

#include "dp/flow-cache.h"

static struct flow_key key_n(uint32_t n)
{
    struct flow_key key;

    memset(&key, 0, sizeof key);
    key.in_port = 1;
    key.dl_type = htons(0x0800);
    key.nw_src = htonl(0x0a000000 | n);
    key.tp_src = htons(n & 0xffff);
    return key;
}

static struct action_list out_to(uint32_t port)
{
    struct action_list acts;

    action_list_init(&acts);
    actions_output(&acts, port);
    return acts;
}

Test(flow_cache, insert_lookup_remove)
{
    struct flow_cache fc;
    struct flow_key k = key_n(1);
    struct action_list acts = out_to(7);
    struct flow_entry *e;

    flow_cache_init(&fc, 64);
    cr_assert_null(flow_cache_lookup(&fc, &k, flow_key_hash(&k)));
    e = flow_cache_insert(&fc, &k, flow_key_hash(&k), &acts, 100);
    cr_assert_not_null(e);
    cr_assert_eq(flow_cache_lookup(&fc, &k, flow_key_hash(&k)), e);
    cr_assert_eq(e->actions.a[0].port, 7u);
    cr_assert_eq(fc.n_flows, 1u);

    acts = out_to(9);
    cr_assert_eq(flow_cache_insert(&fc, &k, flow_key_hash(&k), &acts, 100), e,
                 "same key replaces in place");
    cr_assert_eq(e->actions.a[0].port, 9u);
    cr_assert_eq(fc.n_flows, 1u);

    flow_cache_remove(&fc, e);
    cr_assert_null(flow_cache_lookup(&fc, &k, flow_key_hash(&k)));
    cr_assert_eq(fc.n_flows, 0u);
    flow_cache_destroy(&fc);
}

Test(flow_cache, many_keys_in_colliding_buckets)
{
    struct flow_cache fc;
    struct action_list acts = out_to(1);

    flow_cache_init(&fc, 1024);
    for (uint32_t i = 0; i < 1000; i++) {
        struct flow_key k = key_n(i);

        /* Force chains: every key in one bucket. */
        flow_cache_insert(&fc, &k, 5, &acts, 0)->actions.a[0].port = i;
    }
    for (uint32_t i = 0; i < 1000; i++) {
        struct flow_key k = key_n(i);
        struct flow_entry *e = flow_cache_lookup(&fc, &k, 5);

        cr_assert_not_null(e, "key %u", i);
        cr_assert_eq(e->actions.a[0].port, i);
    }
    for (uint32_t i = 0; i < 1000; i += 2) {
        struct flow_key k = key_n(i);

        flow_cache_remove(&fc, flow_cache_lookup(&fc, &k, 5));
    }
    for (uint32_t i = 0; i < 1000; i++) {
        struct flow_key k = key_n(i);

        cr_assert_eq(flow_cache_lookup(&fc, &k, 5) != NULL, i % 2 == 1, "key %u", i);
    }
    flow_cache_destroy(&fc);
}

Test(flow_cache, full_cache_evicts_and_counts)
{
    struct flow_cache fc;
    struct action_list acts = out_to(1);

    flow_cache_init(&fc, 16);
    for (uint32_t i = 0; i < 40; i++) {
        struct flow_key k = key_n(i);

        cr_assert_not_null(flow_cache_insert(&fc, &k, flow_key_hash(&k), &acts, 0));
    }
    cr_assert_eq(fc.n_flows, 16u);
    cr_assert_eq(fc.evictions, 24u);
    {
        struct flow_key last = key_n(39);

        cr_assert_not_null(flow_cache_lookup(&fc, &last, flow_key_hash(&last)),
                           "the newest flow is always present");
    }
    flow_cache_destroy(&fc);
}

Test(flow_cache, expire_idle_only)
{
    struct flow_cache fc;
    struct action_list acts = out_to(1);
    struct flow_key old = key_n(1), fresh = key_n(2);

    flow_cache_init(&fc, 64);
    flow_cache_insert(&fc, &old, flow_key_hash(&old), &acts, 1000);
    flow_cache_insert(&fc, &fresh, flow_key_hash(&fresh), &acts, 9000);
    cr_assert_eq(flow_cache_expire(&fc, 12000, 5000), 1u);
    cr_assert_null(flow_cache_lookup(&fc, &old, flow_key_hash(&old)));
    cr_assert_not_null(flow_cache_lookup(&fc, &fresh, flow_key_hash(&fresh)));
    flow_cache_flush(&fc);
    cr_assert_eq(fc.n_flows, 0u);
    cr_assert_null(flow_cache_lookup(&fc, &fresh, flow_key_hash(&fresh)));
    flow_cache_destroy(&fc);
}

/* on_remove: what the kernel fast path counts on to delete the flow it installed for an
 * entry, whichever way the entry goes, while the entry still holds its key. */
struct removals {
    uint32_t n;
    uint32_t last_src;              /* Host order. */
};

static void count_removal(struct flow_entry *e, void *aux)
{
    struct removals *r = aux;

    cr_assert(e->in_use, "told before the entry is freed");
    r->n++;
    r->last_src = ntohl(e->key.nw_src);
}

Test(flow_cache, on_remove_sees_every_way_out)
{
    struct flow_cache fc;
    struct action_list acts = out_to(1);
    struct removals r = { 0 };
    struct flow_key k;
    struct flow_entry *e;

    flow_cache_init(&fc, 16);
    fc.on_remove = count_removal;
    fc.aux = &r;

    k = key_n(1);
    e = flow_cache_insert(&fc, &k, flow_key_hash(&k), &acts, 0);
    e->fast = 1;
    flow_cache_remove(&fc, e);
    cr_assert_eq(r.n, 1u, "remove");
    cr_assert_eq(r.last_src, 0x0a000001u);

    e = flow_cache_insert(&fc, &k, flow_key_hash(&k), &acts, 0);
    cr_assert_eq(e->fast, 0, "a new entry starts with no fast path state");
    e->fast = 1;
    flow_cache_insert(&fc, &k, flow_key_hash(&k), &acts, 0);
    cr_assert_eq(r.n, 2u, "replaced by an insert of the same key");
    cr_assert_eq(e->fast, 0);

    for (uint32_t i = 2; i <= 16; i++) {
        k = key_n(i);
        flow_cache_insert(&fc, &k, flow_key_hash(&k), &acts, 5000);
    }
    cr_assert_eq(r.n, 2u, "filling the cache removes nothing");
    k = key_n(17);
    flow_cache_insert(&fc, &k, flow_key_hash(&k), &acts, 0);
    cr_assert_eq(r.n, 3u, "eviction from a full cache");
    cr_assert_eq(r.last_src, 0x0a000001u, "the clock hand's first entry went");

    cr_assert_eq(flow_cache_expire(&fc, 12000, 10000), 1u);
    cr_assert_eq(r.n, 4u, "expiry");
    cr_assert_eq(r.last_src, 0x0a000011u, "the idle one went");

    flow_cache_flush(&fc);
    cr_assert_eq(r.n, 4u + 15u, "flush: each entry in use, once");
    flow_cache_destroy(&fc);
}
