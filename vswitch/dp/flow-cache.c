/* Exact-match flow cache; see flow-cache.h. */
#include "dp/flow-cache.h"

#include <stdlib.h>

#include "lib/util.h"

void flow_cache_init(struct flow_cache *fc, size_t capacity)
{
    uint32_t n_buckets = 1;

    capacity = MAX(capacity, 16);
    capacity = MIN(capacity, (size_t) 1 << 22);
    while (n_buckets < capacity * 2) {
        n_buckets <<= 1;
    }
    memset(fc, 0, sizeof *fc);
    fc->capacity = capacity;
    fc->entries = xcalloc(capacity, sizeof *fc->entries);
    fc->buckets = xcalloc(n_buckets, sizeof *fc->buckets);
    fc->mask = n_buckets - 1;
    flow_cache_flush(fc);
}

void flow_cache_destroy(struct flow_cache *fc)
{
    if (fc) {
        free(fc->entries);
        free(fc->buckets);
        fc->entries = NULL;
        fc->buckets = NULL;
    }
}

struct flow_entry *flow_cache_lookup(const struct flow_cache *fc, const struct flow_key *key,
                                     uint32_t hash)
{
    for (uint32_t i = fc->buckets[hash & fc->mask]; i; i = fc->entries[i - 1].next) {
        struct flow_entry *e = &fc->entries[i - 1];

        if (e->hash == hash && flow_key_equal(&e->key, key)) {
            return e;
        }
    }
    return NULL;
}

void flow_cache_remove(struct flow_cache *fc, struct flow_entry *e)
{
    uint32_t idx = e - fc->entries + 1;
    uint32_t *link = &fc->buckets[e->hash & fc->mask];

    if (fc->on_remove) {
        fc->on_remove(e, fc->aux);
    }
    while (*link && *link != idx) {
        link = &fc->entries[*link - 1].next;
    }
    if (*link) {
        *link = e->next;
    }
    e->in_use = false;
    e->next = fc->free_head;
    fc->free_head = idx;
    fc->n_flows--;
}

static void evict_one(struct flow_cache *fc)
{
    for (uint32_t n = 0; n < fc->capacity; n++) {
        struct flow_entry *e = &fc->entries[fc->clock_hand];

        fc->clock_hand = (fc->clock_hand + 1) % fc->capacity;
        if (e->in_use) {
            flow_cache_remove(fc, e);
            fc->evictions++;
            return;
        }
    }
}

struct flow_entry *flow_cache_insert(struct flow_cache *fc, const struct flow_key *key,
                                     uint32_t hash, const struct action_list *actions,
                                     uint64_t now_ms)
{
    struct flow_entry *e = flow_cache_lookup(fc, key, hash);
    uint32_t *bucket;

    if (e) {
        if (fc->on_remove) {
            fc->on_remove(e, fc->aux);
        }
        e->actions = *actions;
        e->fast = 0;
        return e;
    }
    if (!fc->free_head) {
        evict_one(fc);
    }
    e = &fc->entries[fc->free_head - 1];
    fc->free_head = e->next;

    e->key = *key;
    e->hash = hash;
    e->packets = e->bytes = 0;
    e->used_ms = now_ms;
    e->actions = *actions;
    e->in_use = true;
    e->fast = 0;
    bucket = &fc->buckets[hash & fc->mask];
    e->next = *bucket;
    *bucket = e - fc->entries + 1;
    fc->n_flows++;
    return e;
}

void flow_cache_flush(struct flow_cache *fc)
{
    memset(fc->buckets, 0, (size_t) (fc->mask + 1) * sizeof *fc->buckets);
    for (uint32_t i = 0; i < fc->capacity; i++) {
        if (fc->on_remove && fc->entries[i].in_use) {
            fc->on_remove(&fc->entries[i], fc->aux);
        }
        fc->entries[i].in_use = false;
        fc->entries[i].next = i + 2 <= fc->capacity ? i + 2 : 0;
    }
    fc->free_head = 1;
    fc->n_flows = 0;
}

size_t flow_cache_expire(struct flow_cache *fc, uint64_t now_ms, uint64_t idle_ms)
{
    size_t n = 0;

    FLOW_CACHE_FOR_EACH (e, fc) {
        if (now_ms - e->used_ms > idle_ms) {
            flow_cache_remove(fc, e);
            n++;
        }
    }
    return n;
}
