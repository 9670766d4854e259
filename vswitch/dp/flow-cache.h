/* The exact-match flow cache: flow key -> action list, with per-flow counters.
 *
 * Owned by one datapath thread; no locking.  Entries live in one array allocated at creation
 * (no allocation per packet or per flow) and are chained by index from a bucket array twice
 * as large, so a lookup is one hash, usually one bucket and one 40-byte compare.  When the
 * cache is full the oldest-visited entry under a clock hand is evicted and counted: a cache
 * may forget, the slow path will decide again. */
#ifndef VSWITCH_DP_FLOW_CACHE_H
#define VSWITCH_DP_FLOW_CACHE_H 1

#include <stddef.h>
#include <stdint.h>

#include "dp/actions.h"
#include "dp/flow-key.h"

struct flow_entry {
    struct flow_key key;
    uint32_t hash;
    uint32_t next;                  /* Index + 1 of the next entry in the chain; 0 ends it. */
    uint64_t packets;
    uint64_t bytes;
    uint64_t used_ms;               /* Last packet, in time_msec(). */
    struct action_list actions;
    bool in_use;
    uint8_t fast;                   /* The kernel fast path's state of the entry, kept by
                                     * dp-offload.c; 0 when inserted. */
};

struct flow_cache {
    struct flow_entry *entries;
    uint32_t capacity;
    uint32_t *buckets;              /* Index + 1 of the chain's head; 0 is empty. */
    uint32_t mask;
    uint32_t free_head;             /* Index + 1 of the first free entry. */
    uint32_t n_flows;
    uint32_t clock_hand;
    uint64_t evictions;
    /* Called for every entry about to go (removed, evicted, expired, flushed, or replaced
     * by an insert of the same key), while it still holds its key and actions: the kernel
     * fast path forgets the flow it installed for it.  NULL: nothing to tell. */
    void (*on_remove)(struct flow_entry *, void *aux);
    void *aux;
};

/* 'capacity' is clamped to [16, 1<<22].  Aborts on out of memory (start-up only). */
void flow_cache_init(struct flow_cache *, size_t capacity);
void flow_cache_destroy(struct flow_cache *);

struct flow_entry *flow_cache_lookup(const struct flow_cache *, const struct flow_key *,
                                     uint32_t hash);
/* Installs 'key' -> 'actions'; evicts if full.  Replaces an entry with the same key. */
struct flow_entry *flow_cache_insert(struct flow_cache *, const struct flow_key *,
                                     uint32_t hash, const struct action_list *,
                                     uint64_t now_ms);
void flow_cache_remove(struct flow_cache *, struct flow_entry *);
void flow_cache_flush(struct flow_cache *);
/* Removes entries idle for more than 'idle_ms'; returns how many. */
size_t flow_cache_expire(struct flow_cache *, uint64_t now_ms, uint64_t idle_ms);

#define FLOW_CACHE_FOR_EACH(ENTRY, CACHE)                                           \
    for (struct flow_entry *ENTRY = (CACHE)->entries;                             \
         ENTRY < (CACHE)->entries + (CACHE)->capacity; ENTRY++)                    \
        if (ENTRY->in_use)

#endif
