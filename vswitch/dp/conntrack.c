/* Flow pairs: the table's index (one hash chain per tuple, so both directions find a
 * connection), creation, deletion, the state machine and aging; see conntrack.h.  Who is
 * evicted to make room lives in conntrack-evict.c, the table kept in a file across restarts
 * in conntrack-file.c.  Datapath thread. */
#include "dp/conntrack.h"
#include "dp/conntrack-private.h"

#include <stdlib.h>
#include <string.h>

#include "dp/net-headers.h"
#include "lib/hash.h"
#include "lib/util.h"

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

size_t ct_clamp_capacity(size_t capacity)
{
    capacity = MAX(capacity, 16);
    return MIN(capacity, (size_t) 1 << 24);
}

void ct_init_index(struct ct_table *ct, size_t capacity, const struct ct_timeouts *timeouts)
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
     * (source_get in conntrack-evict.c), so the pages of those never used are never touched. */
    ct->sources = xcalloc(capacity, sizeof *ct->sources);
    ct->source_buckets = xcalloc(n_source_buckets, sizeof *ct->source_buckets);
    ct->source_mask = n_source_buckets - 1;
}

void ct_set_max_per_source(struct ct_table *ct, uint32_t max)
{
    ct->max_per_source = max;
}

void ct_init(struct ct_table *ct, size_t capacity, const struct ct_timeouts *timeouts)
{
    capacity = ct_clamp_capacity(capacity);
    memset(ct, 0, sizeof *ct);
    ct->conns = xcalloc(capacity, sizeof *ct->conns);
    ct_init_index(ct, capacity, timeouts);
    ct_flush(ct);
}

void ct_link_chains(struct ct_table *ct, struct ct_conn *conn, uint32_t idx)
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

void ct_destroy(struct ct_table *ct)
{
    if (ct) {
        if (ct->map_size) {
            ct_file_unmap(ct);
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
    ct_detach(ct, conn);
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


/* Takes a free slot for a new connection of orig->src, making room as the header says, and
 * clears it.  Returns 0, or the refusal. */
static int conn_alloc(struct ct_table *ct, const struct ct_tuple *orig, enum ct_kind kind,
                      uint64_t now_ms, struct ct_conn **connp)
{
    struct ct_conn *conn;
    uint32_t gen;
    int error = ct_make_room(ct, orig, kind, now_ms);

    if (error) {
        return error;
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
    ct_link_chains(ct, conn, ct_index(ct, conn));
    ct_attach(ct, conn);
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
        ct_reclassify(ct, conn);
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