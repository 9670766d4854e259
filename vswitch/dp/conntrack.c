/* Flow pairs; see conntrack.h. */
#define LOG_MODULE "conntrack"

#include "dp/conntrack.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dp/net-headers.h"
#include "lib/addr.h"
#include "lib/hash.h"
#include "lib/log.h"
#include "lib/util.h"

/* The file starts with a page for the header, so the array stays page-aligned. */
#define CT_FILE_HEADER 4096

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

#define REF(IDX, DIR) ((((IDX) + 1) << 1) | (DIR))
#define REF_IDX(REF) (((REF) >> 1) - 1)
#define REF_DIR(REF) ((REF) & 1)

static uint32_t tuple_hash(const struct ct_tuple *t)
{
    return hash_words64((const uint64_t *) t, 2, 0x63740000);
}

static bool tuple_equal(const struct ct_tuple *a, const struct ct_tuple *b)
{
    const uint64_t *x = (const uint64_t *) a, *y = (const uint64_t *) b;

    return x[0] == y[0] && x[1] == y[1];
}

/* The directions a connection is indexed under: a dispatch entry has no reply. */
static unsigned int n_dirs(const struct ct_conn *conn)
{
    return ct_is_dispatch(conn) ? 1 : 2;
}

static size_t clamp_capacity(size_t capacity)
{
    capacity = MAX(capacity, 16);
    return MIN(capacity, (size_t) 1 << 24);
}

/* Everything but the connections array. */
static void init_index(struct ct_table *ct, size_t capacity, const struct ct_timeouts *timeouts)
{
    uint32_t n_buckets = 1, n_source_buckets = 1;

    /* Two entries per connection; keep the load under one half. */
    while (n_buckets < capacity * 4) {
        n_buckets <<= 1;
    }
    while (n_source_buckets < capacity) {
        n_source_buckets <<= 1;
    }
    ct->capacity = capacity;
    ct->buckets = xcalloc(n_buckets, sizeof *ct->buckets);
    ct->mask = n_buckets - 1;
    ct->timeouts = *timeouts;
    /* As many sources as pairs, so that a new pair always finds one; handed out in order
     * (source_get), so the pages of those never used are never touched. */
    ct->sources = xcalloc(capacity, sizeof *ct->sources);
    ct->source_buckets = xcalloc(n_source_buckets, sizeof *ct->source_buckets);
    ct->source_mask = n_source_buckets - 1;
}

void ct_set_max_per_source(struct ct_table *ct, uint32_t max)
{
    ct->max_per_source = max;
}

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

/* Counts a new or adopted pair against its source and lists it under its class. */
static void attach(struct ct_table *ct, struct ct_conn *conn)
{
    conn->source = source_get(ct, conn->tuple[CT_DIR_ORIG].src);
    ct->sources[conn->source - 1].n_pairs++;
    class_enter(ct, conn);
}

static void detach(struct ct_table *ct, struct ct_conn *conn)
{
    class_leave(ct, conn);
    source_put(ct, conn->source);
    conn->source = 0;
}

void ct_init(struct ct_table *ct, size_t capacity, const struct ct_timeouts *timeouts)
{
    capacity = clamp_capacity(capacity);
    memset(ct, 0, sizeof *ct);
    ct->conns = xcalloc(capacity, sizeof *ct->conns);
    init_index(ct, capacity, timeouts);
    ct_flush(ct);
}

struct ct_file_header {
    char magic[8];                  /* "vswpairs" */
    uint32_t version;
    uint32_t conn_size;
    uint64_t capacity;
    char boot_id[40];               /* /proc/sys/kernel/random/boot_id: times are per boot. */
};
_Static_assert(sizeof(struct ct_file_header) <= CT_FILE_HEADER, "header fits its page");

/* 2: eviction classes (the 'assured' byte and the bookkeeping after it).  Dispatch entries
 * came without a new version, on purpose: they are kind 2 in the byte that every switch of
 * version 2 checks to be 0 or 1, so such a switch (a rollback) drops them and keeps the
 * pairs, and a file without them reads as before.  A new version would have cost every
 * flow pair at the upgrade. */
#define CT_FILE_VERSION 2

static void read_boot_id(char *buf, size_t size)
{
    FILE *f = fopen("/proc/sys/kernel/random/boot_id", "re");

    memset(buf, 0, size);
    if (f) {
        if (!fgets(buf, size, f)) {
            buf[0] = '\0';
        }
        fclose(f);
    }
}

/* Puts 'conn' (slot 'idx') at the head of the chain of each of its tuples and counts it. */
static void link_chains(struct ct_table *ct, struct ct_conn *conn, uint32_t idx)
{
    for (unsigned int d = 0; d < n_dirs(conn); d++) {
        uint32_t *bucket;

        conn->hash[d] = tuple_hash(&conn->tuple[d]);
        bucket = &ct->buckets[conn->hash[d] & ct->mask];
        conn->next[d] = *bucket;
        *bucket = REF(idx, d);
    }
    ct->n_conns++;
    ct->n_dispatch += ct_is_dispatch(conn);
}

/* Links every in-use connection into its chains, its source and its class, and every other
 * slot into the free list. */
static size_t rebuild_index(struct ct_table *ct)
{
    size_t adopted = 0;

    ct->free_head = 0;
    ct->n_conns = 0;
    ct->n_dispatch = 0;
    for (uint32_t i = ct->capacity; i-- > 0; ) {
        struct ct_conn *conn = &ct->conns[i];

        /* Only the bytes that cannot hold an invalid value are trusted as they are. */
        if (conn->in_use == 1 && conn->kind <= CT_KIND_DISPATCH
            && conn->state <= CT_UDP_REPLIED && conn->assured <= 1
            && (conn->tuple[0].proto == IP_PROTO_TCP
                || conn->tuple[0].proto == IP_PROTO_UDP)) {
            link_chains(ct, conn, i);
            adopted++;
        } else {
            conn->in_use = false;
            conn->next[0] = ct->free_head;
            ct->free_head = i + 1;
        }
    }
    /* In a second pass, in table order: the age order of the lists died with the process. */
    CT_FOR_EACH (conn, ct) {
        attach(ct, conn);
    }
    return adopted;
}

int ct_init_file(struct ct_table *ct, size_t capacity, const struct ct_timeouts *timeouts,
                 const char *path)
{
    struct ct_file_header want, *have;
    size_t size;
    struct stat st;
    void *map;
    int fd, error;

    capacity = clamp_capacity(capacity);
    memset(&want, 0, sizeof want);
    memcpy(want.magic, "vswpairs", 8);
    want.version = CT_FILE_VERSION;
    want.conn_size = sizeof(struct ct_conn);
    want.capacity = capacity;
    read_boot_id(want.boot_id, sizeof want.boot_id);
    size = CT_FILE_HEADER + capacity * sizeof(struct ct_conn);

    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        error = -errno;
        goto fallback;
    }
    /* One owner at a time: two switches writing one table would corrupt each other's
     * chains.  The lock goes with the process, crash included. */
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        error = errno == EWOULDBLOCK ? -EBUSY : -errno;
        close(fd);
        goto fallback;
    }
    if (fstat(fd, &st) < 0 || ((size_t) st.st_size != size && ftruncate(fd, 0) < 0)
        || ftruncate(fd, size) < 0) {
        error = -errno;
        close(fd);
        goto fallback;
    }
    map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) {
        error = -errno;
        close(fd);
        goto fallback;
    }

    memset(ct, 0, sizeof *ct);
    ct->map_fd = fd;
    ct->conns = (struct ct_conn *) ((uint8_t *) map + CT_FILE_HEADER);
    ct->map_size = size;
    init_index(ct, capacity, timeouts);
    have = map;
    if (memcmp(have, &want, sizeof want)) {
        /* Another boot, size or layout: nothing in it can be trusted. */
        memset(ct->conns, 0, capacity * sizeof *ct->conns);
        *have = want;
    }
    return rebuild_index(ct);

fallback:
    ct_init(ct, capacity, timeouts);
    return error;
}

void ct_destroy(struct ct_table *ct)
{
    if (ct) {
        if (ct->map_size) {
            munmap((uint8_t *) ct->conns - CT_FILE_HEADER, ct->map_size);
            close(ct->map_fd);
        } else {
            free(ct->conns);
        }
        free(ct->buckets);
        free(ct->sources);
        free(ct->source_buckets);
        ct->conns = NULL;
        ct->buckets = NULL;
        ct->sources = NULL;
        ct->source_buckets = NULL;
    }
}

struct ct_conn *ct_lookup(const struct ct_table *ct, const struct ct_tuple *t, enum ct_dir *dir)
{
    uint32_t hash = tuple_hash(t);

    for (uint32_t ref = ct->buckets[hash & ct->mask]; ref; ) {
        struct ct_conn *conn = &ct->conns[REF_IDX(ref)];
        unsigned int d = REF_DIR(ref);

        if (conn->hash[d] == hash && tuple_equal(&conn->tuple[d], t)) {
            *dir = d;
            return conn;
        }
        ref = conn->next[d];
    }
    return NULL;
}

static void unlink_dir(struct ct_table *ct, struct ct_conn *conn, unsigned int dir)
{
    uint32_t want = REF(ct_index(ct, conn), dir);
    uint32_t *link = &ct->buckets[conn->hash[dir] & ct->mask];

    while (*link && *link != want) {
        link = &ct->conns[REF_IDX(*link)].next[REF_DIR(*link)];
    }
    if (*link) {
        *link = conn->next[dir];
    }
}

void ct_delete(struct ct_table *ct, struct ct_conn *conn)
{
    uint32_t idx = ct_index(ct, conn);

    for (unsigned int d = 0; d < n_dirs(conn); d++) {
        unlink_dir(ct, conn, d);
    }
    detach(ct, conn);
    ct->n_dispatch -= ct_is_dispatch(conn);
    conn->in_use = false;
    conn->gen++;
    conn->next[0] = ct->free_head;
    ct->free_head = idx + 1;
    ct->n_conns--;
}

static void timeout_for_state(struct ct_table *ct, struct ct_conn *conn)
{
    const struct ct_timeouts *t = &ct->timeouts;

    switch ((enum ct_state) conn->state) {
    case CT_SYN_SENT: conn->timeout_ms = t->tcp_syn_sent_ms; break;
    case CT_ESTABLISHED: conn->timeout_ms = t->tcp_established_ms; break;
    case CT_CLOSING: conn->timeout_ms = t->tcp_closing_ms; break;
    case CT_CLOSED: conn->timeout_ms = t->tcp_closed_ms; break;
    case CT_UDP_UNREPLIED:
        /* A dispatch entry never sees the reply: a stream is known by going on. */
        conn->timeout_ms = conn->assured ? t->udp_replied_ms : t->udp_unreplied_ms;
        break;
    case CT_UDP_REPLIED: conn->timeout_ms = t->udp_replied_ms; break;
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
static bool make_room(struct ct_table *ct, be32 ip, uint64_t now_ms)
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

/* Takes a free slot for a new connection of orig->src, making room as the header says, and
 * clears it.  Returns 0, or the refusal. */
static int conn_alloc(struct ct_table *ct, const struct ct_tuple *orig, enum ct_kind kind,
                      uint64_t now_ms, struct ct_conn **connp)
{
    const struct ct_source *src = source_find(ct, orig->src);
    struct ct_conn *conn;
    uint32_t gen;

    if (src && ct->max_per_source && src->n_pairs >= ct->max_per_source
        && !evict_own(ct, src, CT_EVICTED_POD_QUOTA)) {
        return refuse(ct, CT_REFUSED_POD_QUOTA, orig, kind, now_ms);
    }
    if (!ct->free_head && !make_room(ct, orig->src, now_ms)) {
        return refuse(ct, CT_REFUSED_TABLE_FULL, orig, kind, now_ms);
    }
    conn = &ct->conns[ct->free_head - 1];
    ct->free_head = conn->next[0];
    gen = conn->gen;
    memset(conn, 0, sizeof *conn);
    conn->gen = gen;
    conn->in_use = true;
    conn->kind = kind;
    conn->tuple[CT_DIR_ORIG] = *orig;
    conn->used_ms = now_ms;
    conn->created_ds = now_ms / 100;
    *connp = conn;
    return 0;
}

/* Indexes the filled-in 'conn' and counts it. */
static void conn_insert(struct ct_table *ct, struct ct_conn *conn)
{
    timeout_for_state(ct, conn);
    link_chains(ct, conn, ct_index(ct, conn));
    attach(ct, conn);
}

int ct_create(struct ct_table *ct, const struct ct_tuple *orig, const struct ct_tuple *reply,
              uint32_t policy, bool dsr, uint64_t now_ms, struct ct_conn **connp)
{
    struct ct_conn *conn;
    int error = conn_alloc(ct, orig, dsr ? CT_KIND_PAIR_DSR : CT_KIND_PAIR_SNAT, now_ms, &conn);

    if (error) {
        return error;
    }
    conn->tuple[CT_DIR_REPLY] = *reply;
    conn->policy = policy;
    conn->state = orig->proto == IP_PROTO_TCP ? CT_SYN_SENT : CT_UDP_UNREPLIED;
    conn_insert(ct, conn);
    *connp = conn;
    return 0;
}

int ct_create_dispatch(struct ct_table *ct, const struct ct_tuple *orig, be32 backend_ip,
                       be16 backend_port, uint32_t policy, uint8_t tcp_flags, uint64_t now_ms,
                       struct ct_conn **connp)
{
    struct ct_conn *conn;
    int error = conn_alloc(ct, orig, CT_KIND_DISPATCH, now_ms, &conn);

    if (error) {
        return error;
    }
    conn->tuple[CT_DIR_REPLY].src = backend_ip;
    conn->tuple[CT_DIR_REPLY].sport = backend_port;
    conn->tuple[CT_DIR_REPLY].proto = orig->proto;
    conn->policy = policy;
    if (orig->proto != IP_PROTO_TCP) {
        conn->state = CT_UDP_UNREPLIED;
    } else if ((tcp_flags & (TCP_SYN | TCP_ACK)) == TCP_SYN) {
        conn->state = CT_SYN_SENT;
    } else {
        /* Picked up under way: assured by the client's next packet (dispatch_update). */
        conn->state = CT_ESTABLISHED;
    }
    conn_insert(ct, conn);
    *connp = conn;
    return 0;
}

void ct_flush(struct ct_table *ct)
{
    memset(ct->buckets, 0, (size_t) (ct->mask + 1) * sizeof *ct->buckets);
    for (uint32_t i = 0; i < ct->capacity; i++) {
        if (ct->conns[i].in_use) {
            ct->conns[i].gen++;
        }
        ct->conns[i].in_use = false;
        ct->conns[i].next[0] = i + 2 <= ct->capacity ? i + 2 : 0;
    }
    ct->free_head = 1;
    ct->n_conns = 0;
    ct->n_dispatch = 0;
    memset(ct->source_buckets, 0, (size_t) (ct->source_mask + 1) * sizeof *ct->source_buckets);
    ct->source_free = 0;
    ct->source_used = 0;
    ct->n_sources = 0;
    memset(ct->class_head, 0, sizeof ct->class_head);
}

/* The state machine of a dispatch entry, which sees the client's packets only. */
static void dispatch_update(struct ct_conn *conn, uint8_t tcp_flags, uint64_t now_ms)
{
    if (conn->tuple[0].proto != IP_PROTO_TCP) {
        /* The same 2 s as a pair's, counted from the first datagram rather than the first
         * answer: a DNS query and its retransmission stay unassured. */
        conn->assured |= (uint16_t) (now_ms / 100 - conn->created_ds) >= 20;
    } else if (tcp_flags & TCP_RST) {
        conn->state = CT_CLOSED;
    } else if (tcp_flags & TCP_FIN) {
        conn->fin_seen |= 1 << CT_DIR_ORIG;
        conn->state = CT_CLOSING;
    } else if ((tcp_flags & (TCP_SYN | TCP_ACK)) == TCP_SYN) {
        if (conn->state == CT_CLOSED || conn->state == CT_CLOSING) {
            /* The client reuses the port: a new connection, to the same backend, whose
             * node may still hold the old pair for this tuple and will reuse it too. */
            conn->state = CT_SYN_SENT;
            conn->fin_seen = 0;
            conn->assured = 0;
        }
    } else if (conn->state == CT_SYN_SENT && (tcp_flags & TCP_ACK)) {
        /* The client's ACK after its SYN: it heard the backend's SYN-ACK, so this is not
         * a half-open flood. */
        conn->state = CT_ESTABLISHED;
        conn->assured = 1;
    } else if (conn->state == CT_ESTABLISHED && conn->packets[CT_DIR_ORIG] > 1) {
        /* Picked up under way, and the client goes on. */
        conn->assured = 1;
    }
}

void ct_update(struct ct_table *ct, struct ct_conn *conn, enum ct_dir dir, uint8_t tcp_flags,
               uint32_t len, uint64_t now_ms)
{
    enum ct_state old = conn->state;
    uint8_t was_assured = conn->assured;

    conn->packets[dir]++;
    conn->bytes[dir] += len;
    conn->used_ms = now_ms;

    if (ct_is_dispatch(conn)) {
        dispatch_update(conn, tcp_flags, now_ms);
    } else if (conn->tuple[0].proto != IP_PROTO_TCP) {
        if (conn->state == CT_UDP_REPLIED) {
            /* More after the first answer, and for 2 s or more: a stream or a dialogue,
             * not a probe nor a DNS query and its twin (Linux's rule for UDP streams).
             * The wrapped age may read young again after 109 min: then it waits. */
            conn->assured |= (uint16_t) (now_ms / 100 - conn->created_ds) >= 20;
        } else if (dir == CT_DIR_REPLY) {
            conn->state = CT_UDP_REPLIED;
        }
    } else if (tcp_flags & TCP_RST) {
        conn->state = CT_CLOSED;
    } else if (tcp_flags & TCP_FIN) {
        conn->fin_seen |= 1 << dir;
        conn->state = conn->fin_seen == 3 ? CT_CLOSED : CT_CLOSING;
    } else if (conn->state == CT_SYN_SENT && dir == CT_DIR_REPLY) {
        conn->state = CT_ESTABLISHED;
    } else if (conn->state == CT_ESTABLISHED && dir == CT_DIR_ORIG) {
        /* The client acknowledged the backend: not a half-open flood. */
        conn->assured = 1;
    } else if (conn->state == CT_CLOSED && (tcp_flags & TCP_SYN) && !(tcp_flags & TCP_ACK)) {
        /* The client reuses the port: a new connection on the same pair. */
        conn->state = CT_SYN_SENT;
        conn->fin_seen = 0;
        conn->assured = 0;
    }
    if (conn->state != old || conn->assured != was_assured) {
        timeout_for_state(ct, conn);
    }
    if ((conn->state != old || conn->assured != was_assured)
        && class_of(conn) != conn->evict_class) {
        class_leave(ct, conn);
        class_enter(ct, conn);
    }
}

size_t ct_expire(struct ct_table *ct, uint64_t now_ms, uint32_t budget,
                 void (*on_delete)(struct ct_conn *, void *), void *aux)
{
    size_t n = 0;

    budget = MIN(budget, ct->capacity);
    for (uint32_t i = 0; i < budget; i++) {
        struct ct_conn *conn = &ct->conns[ct->expire_cursor];

        ct->expire_cursor = (ct->expire_cursor + 1) % ct->capacity;
        if (conn->in_use && now_ms - conn->used_ms > conn->timeout_ms) {
            if (on_delete) {
                on_delete(conn, aux);
            }
            ct_delete(ct, conn);
            n++;
        }
    }
    return n;
}

const char *ct_state_name(enum ct_state state)
{
    switch (state) {
    case CT_SYN_SENT: return "SYN_SENT";
    case CT_ESTABLISHED: return "ESTABLISHED";
    case CT_CLOSING: return "CLOSING";
    case CT_CLOSED: return "CLOSED";
    case CT_UDP_UNREPLIED: return "UNREPLIED";
    case CT_UDP_REPLIED: return "REPLIED";
    }
    return "?";
}
