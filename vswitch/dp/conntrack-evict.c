/* Who makes room in a full flow-pair table (conntrack.h says the rules): the pairs each
 * client address holds (its source), the eviction class of every pair in a FIFO list per
 * source and one for the table, the choice of what to evict, and the count and log of what
 * is refused.  Every choice costs O(1) plus a short bounded scan; nothing is allocated.
 * Datapath thread, as the table. */
#define LOG_MODULE "conntrack"

#include "dp/conntrack.h"
#include "dp/conntrack-private.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "lib/addr.h"
#include "lib/hash.h"
#include "lib/log.h"
#include "lib/util.h"

/* What a new connection may cost a full table: how far down a class list it looks for a
 * pair of a source over its share, and how many slots it sweeps for expired pairs. */
#define CT_EVICT_SCAN 16
#define CT_EXPIRE_SCAN 64
/* Last resort of a full table: the idlest assured pair among this many sampled (Redis's
 * approximated LRU), if it has been idle for at least CT_IDLE_EVICT_MS.  Established TCP
 * lives a day without traffic (--tcp-established-timeout), so clients that vanished without
 * a FIN would otherwise hold the table for that long; 5 minutes of silence is past the
 * keepalive of every common client and server, and a connection that quiet loses only its
 * translation, and only when the table has nothing else to give. */
#define CT_IDLE_SAMPLE 64
#define CT_IDLE_EVICT_MS (300 * 1000)
/* A flood is refused thousands of times a second: say so once in a while, not each time. */
#define CT_LOG_INTERVAL_MS 10000

/* ---- Sources: the pairs each client address holds ---- */

static uint32_t source_bucket(const struct ct_table *ct, be32 ip)
{
    return hash_u32(ip, 0x73726300) & ct->source_mask;
}

static struct ct_source *source_find(const struct ct_table *ct, be32 ip)
{
    for (uint32_t ref = ct->source_buckets[source_bucket(ct, ip)]; ref; ) {
        struct ct_source *src = &ct->sources[ref - 1];

        if (src->ip == ip) {
            return src;
        }
        ref = src->next;
    }
    return NULL;
}

uint32_t ct_source_pairs(const struct ct_table *ct, be32 ip)
{
    const struct ct_source *src = source_find(ct, ip);

    return src ? src->n_pairs : 0;
}

/* Returns the index + 1 of the source 'ip', created if need be.  Cannot run out while a
 * connection slot is free, since every source in use holds a pair. */
static uint32_t source_get(struct ct_table *ct, be32 ip)
{
    struct ct_source *src = source_find(ct, ip);
    uint32_t ref, *bucket;

    if (src) {
        return src - ct->sources + 1;
    }
    if (ct->source_free) {
        ref = ct->source_free;
        ct->source_free = ct->sources[ref - 1].next;
    } else {
        ref = ++ct->source_used;
    }
    src = &ct->sources[ref - 1];
    memset(src, 0, sizeof *src);
    src->ip = ip;
    bucket = &ct->source_buckets[source_bucket(ct, ip)];
    src->next = *bucket;
    *bucket = ref;
    ct->n_sources++;
    return ref;
}

/* One pair fewer for source 'ref'; the source goes with its last pair. */
static void source_put(struct ct_table *ct, uint32_t ref)
{
    struct ct_source *src = &ct->sources[ref - 1];
    uint32_t *link;

    if (--src->n_pairs) {
        return;
    }
    link = &ct->source_buckets[source_bucket(ct, src->ip)];
    while (*link != ref) {
        link = &ct->sources[*link - 1].next;
    }
    *link = src->next;
    src->next = ct->source_free;
    ct->source_free = ref;
    ct->n_sources--;
}

/* ---- Eviction classes ---- */

/* Each class is a circular list threaded through the pairs by index + 1, oldest first (the
 * head's 'prev' is the newest); a pair is on its class's list for the table and on its
 * source's. */
static uint32_t *list_links(struct ct_table *ct, uint32_t ref, bool by_source)
{
    struct ct_conn *conn = &ct->conns[ref - 1];

    return by_source ? conn->source_link : conn->class_link;
}

static void list_append(struct ct_table *ct, uint32_t *head, uint32_t ref, bool by_source)
{
    uint32_t *links = list_links(ct, ref, by_source);

    if (!*head) {
        links[0] = links[1] = ref;
        *head = ref;
    } else {
        uint32_t *first = list_links(ct, *head, by_source);
        uint32_t last = first[0];

        links[0] = last;
        links[1] = *head;
        list_links(ct, last, by_source)[1] = ref;
        first[0] = ref;
    }
}

static void list_remove(struct ct_table *ct, uint32_t *head, uint32_t ref, bool by_source)
{
    uint32_t *links = list_links(ct, ref, by_source);

    if (links[1] == ref) {
        *head = 0;
    } else {
        list_links(ct, links[0], by_source)[1] = links[1];
        list_links(ct, links[1], by_source)[0] = links[0];
        if (*head == ref) {
            *head = links[1];
        }
    }
}

static enum ct_class class_of(const struct ct_conn *conn)
{
    switch ((enum ct_state) conn->state) {
    case CT_CLOSED:
        return CT_CLASS_CLOSED;
    case CT_CLOSING:
        return CT_CLASS_CLOSING;
    case CT_SYN_SENT:
    case CT_ESTABLISHED:
    case CT_UDP_UNREPLIED:
    case CT_UDP_REPLIED:
        break;
    }
    return conn->assured ? CT_CLASS_ASSURED : CT_CLASS_UNASSURED;
}

static void class_enter(struct ct_table *ct, struct ct_conn *conn)
{
    uint32_t ref = ct_index(ct, conn) + 1;
    enum ct_class class = class_of(conn);

    conn->evict_class = class;
    if (class < CT_N_LISTS) {
        list_append(ct, &ct->class_head[class], ref, false);
        list_append(ct, &ct->sources[conn->source - 1].head[class], ref, true);
    }
}

static void class_leave(struct ct_table *ct, struct ct_conn *conn)
{
    uint32_t ref = ct_index(ct, conn) + 1;
    enum ct_class class = conn->evict_class;

    if (class < CT_N_LISTS) {
        list_remove(ct, &ct->class_head[class], ref, false);
        list_remove(ct, &ct->sources[conn->source - 1].head[class], ref, true);
    }
}

void ct_attach(struct ct_table *ct, struct ct_conn *conn)
{
    conn->source = source_get(ct, conn->tuple[CT_DIR_ORIG].src);
    ct->sources[conn->source - 1].n_pairs++;
    class_enter(ct, conn);
}

void ct_detach(struct ct_table *ct, struct ct_conn *conn)
{
    class_leave(ct, conn);
    source_put(ct, conn->source);
    conn->source = 0;
}

void ct_reclassify(struct ct_table *ct, struct ct_conn *conn)
{
    if (class_of(conn) != conn->evict_class) {
        class_leave(ct, conn);
        class_enter(ct, conn);
    }
}

static void evict(struct ct_table *ct, uint32_t ref, enum ct_eviction why)
{
    ct_delete(ct, &ct->conns[ref - 1]);
    ct->evictions++;
    ct->evicted[why]++;
}

/* Recycles the oldest of the source's own pairs that is not assured. */
static bool evict_own(struct ct_table *ct, const struct ct_source *src, enum ct_eviction why)
{
    for (int class = 0; class < CT_N_LISTS; class++) {
        if (src->head[class]) {
            evict(ct, src->head[class], why);
            return true;
        }
    }
    return false;
}

/* The oldest pair of 'class' whose source holds more than 'share', among the first few;
 * failing that, the oldest of all. */
static uint32_t pick_over_share(const struct ct_table *ct, enum ct_class class, uint32_t share)
{
    uint32_t head = ct->class_head[class], ref = head;

    for (int n = 0; ref && n < CT_EVICT_SCAN; n++) {
        const struct ct_conn *conn = &ct->conns[ref - 1];

        if (ct->sources[conn->source - 1].n_pairs > share) {
            return ref;
        }
        ref = conn->class_link[1];
        if (ref == head) {
            break;
        }
    }
    return head;
}

/* The idlest assured connection among the next CT_IDLE_SAMPLE in use, if it has been idle
 * for CT_IDLE_EVICT_MS or more; else 0.  Index + 1. */
static uint32_t pick_idle_assured(struct ct_table *ct, uint64_t now_ms)
{
    uint64_t idlest = CT_IDLE_EVICT_MS;
    uint32_t ref = 0, seen = 0;

    for (uint32_t i = 0; i < ct->capacity && seen < CT_IDLE_SAMPLE; i++) {
        uint32_t idx = ct->idle_cursor;
        const struct ct_conn *conn = &ct->conns[idx];

        ct->idle_cursor = (idx + 1) % ct->capacity;
        if (!conn->in_use) {
            continue;
        }
        seen++;
        if (conn->evict_class == CT_CLASS_ASSURED && now_ms - conn->used_ms >= idlest) {
            idlest = now_ms - conn->used_ms;
            ref = idx + 1;
        }
    }
    return ref;
}

/* Frees a slot of a full table for a new pair from 'ip'.  False if every pair is assured
 * and none of a sample has been idle for CT_IDLE_EVICT_MS. */
static bool free_slot(struct ct_table *ct, be32 ip, uint64_t now_ms)
{
    const struct ct_source *src = source_find(ct, ip);
    uint32_t share = ct->capacity / MAX(ct->n_sources, 1);
    /* With the new pair, the source would hold more than its share: let it pay. */
    bool over = src && src->n_pairs >= share;

    if (ct->class_head[CT_CLASS_CLOSED]) {
        evict(ct, ct->class_head[CT_CLASS_CLOSED], CT_EVICTED_CLOSED);
        return true;
    }
    if (ct_expire(ct, now_ms, CT_EXPIRE_SCAN, NULL, NULL)) {
        return true;
    }
    for (int class = CT_CLASS_UNASSURED; class < CT_N_LISTS; class++) {
        uint32_t ref = over && src->head[class] ? src->head[class]
                                                : pick_over_share(ct, class, share);

        if (ref) {
            evict(ct, ref, class == CT_CLASS_UNASSURED ? CT_EVICTED_UNASSURED
                                                       : CT_EVICTED_CLOSED);
            return true;
        }
    }
    {
        uint32_t ref = pick_idle_assured(ct, now_ms);

        if (ref) {
            evict(ct, ref, CT_EVICTED_IDLE);
            return true;
        }
    }
    return false;
}

/* A dispatch entry refused does not refuse its connection, which goes with Maglev's choice
 * alone: say that, counted apart. */
static int refuse_entry(struct ct_table *ct, enum ct_refusal why, const struct ct_tuple *orig,
                        uint64_t now_ms)
{
    ct->unkept++;
    if (now_ms >= ct->next_unkept_log_ms) {
        char ip[IP_STR_LEN];

        LOG_WARN("%s: a connection from %s dispatched to a backend on another node gets no "
                 "dispatch entry, so it will move if a backend is added (%llu since the last "
                 "message)", why == CT_REFUSED_POD_QUOTA
                 ? "its pairs and entries are at their limit (--max-flow-pairs-per-pod), all "
                   "established"
                 : "flow-pair table full, all established", addr_ip_str(orig->src, ip),
                 (unsigned long long) (ct->unkept - ct->unkept_logged));
        ct->unkept_logged = ct->unkept;
        ct->next_unkept_log_ms = now_ms + CT_LOG_INTERVAL_MS;
    }
    return why == CT_REFUSED_POD_QUOTA ? -EDQUOT : -ENOSPC;
}

static int refuse(struct ct_table *ct, enum ct_refusal why, const struct ct_tuple *orig,
                  enum ct_kind kind, uint64_t now_ms)
{
    uint64_t total;

    if (kind == CT_KIND_DISPATCH) {
        return refuse_entry(ct, why, orig, now_ms);
    }
    ct->refused[why]++;
    total = ct->refused[CT_REFUSED_TABLE_FULL] + ct->refused[CT_REFUSED_POD_QUOTA];
    if (now_ms >= ct->next_log_ms) {
        unsigned long long n = total - ct->refused_logged;
        char ip[IP_STR_LEN];

        addr_ip_str(orig->src, ip);
        if (why == CT_REFUSED_POD_QUOTA) {
            LOG_WARN("%s holds %" PRIu32 " flow pairs, its limit (--max-flow-pairs-per-pod), "
                     "all established: its new connection is refused (%llu refused since "
                     "the last message)", ip, ct_source_pairs(ct, orig->src), n);
        } else {
            LOG_WARN("flow-pair table full (%" PRIu32 " pairs, all established): a new "
                     "connection from %s is refused (%llu refused since the last message)",
                     ct->n_conns, ip, n);
        }
        ct->refused_logged = total;
        ct->next_log_ms = now_ms + CT_LOG_INTERVAL_MS;
    }
    return why == CT_REFUSED_POD_QUOTA ? -EDQUOT : -ENOSPC;
}

int ct_make_room(struct ct_table *ct, const struct ct_tuple *orig, enum ct_kind kind,
                 uint64_t now_ms)
{
    const struct ct_source *src = source_find(ct, orig->src);

    if (src && ct->max_per_source && src->n_pairs >= ct->max_per_source
        && !evict_own(ct, src, CT_EVICTED_POD_QUOTA)) {
        return refuse(ct, CT_REFUSED_POD_QUOTA, orig, kind, now_ms);
    }
    if (!ct->free_head && !free_slot(ct, orig->src, now_ms)) {
        return refuse(ct, CT_REFUSED_TABLE_FULL, orig, kind, now_ms);
    }
    return 0;
}
