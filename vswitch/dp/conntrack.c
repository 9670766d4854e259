/* Flow pairs; see conntrack.h. */
#include "dp/conntrack.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dp/net-headers.h"
#include "lib/hash.h"
#include "lib/util.h"

/* The file starts with a page for the header, so the array stays page-aligned. */
#define CT_FILE_HEADER 4096

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

static size_t clamp_capacity(size_t capacity)
{
    capacity = MAX(capacity, 16);
    return MIN(capacity, (size_t) 1 << 24);
}

/* Everything but the connections array. */
static void init_index(struct ct_table *ct, size_t capacity, const struct ct_timeouts *timeouts)
{
    uint32_t n_buckets = 1;

    /* Two entries per connection; keep the load under one half. */
    while (n_buckets < capacity * 4) {
        n_buckets <<= 1;
    }
    ct->capacity = capacity;
    ct->buckets = xcalloc(n_buckets, sizeof *ct->buckets);
    ct->mask = n_buckets - 1;
    ct->timeouts = *timeouts;
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

#define CT_FILE_VERSION 1

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

/* Links every in-use connection into its chains and every other slot into the free list. */
static size_t rebuild_index(struct ct_table *ct)
{
    size_t adopted = 0;

    ct->free_head = 0;
    ct->n_conns = 0;
    for (uint32_t i = ct->capacity; i-- > 0; ) {
        struct ct_conn *conn = &ct->conns[i];

        /* Only the bytes that cannot hold an invalid value are trusted as they are. */
        if (conn->in_use == 1 && conn->dsr <= 1 && conn->state <= CT_UDP_REPLIED
            && (conn->tuple[0].proto == IP_PROTO_TCP
                || conn->tuple[0].proto == IP_PROTO_UDP)) {
            for (unsigned int d = 0; d < 2; d++) {
                uint32_t *bucket;

                conn->hash[d] = tuple_hash(&conn->tuple[d]);
                bucket = &ct->buckets[conn->hash[d] & ct->mask];
                conn->next[d] = *bucket;
                *bucket = REF(i, d);
            }
            ct->n_conns++;
            adopted++;
        } else {
            conn->in_use = false;
            conn->next[0] = ct->free_head;
            ct->free_head = i + 1;
        }
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
        ct->conns = NULL;
        ct->buckets = NULL;
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

    unlink_dir(ct, conn, CT_DIR_ORIG);
    unlink_dir(ct, conn, CT_DIR_REPLY);
    conn->in_use = false;
    conn->gen++;
    conn->next[0] = ct->free_head;
    ct->free_head = idx + 1;
    ct->n_conns--;
}

static void evict_one(struct ct_table *ct)
{
    for (uint32_t n = 0; n < ct->capacity; n++) {
        struct ct_conn *conn = &ct->conns[ct->evict_cursor];

        ct->evict_cursor = (ct->evict_cursor + 1) % ct->capacity;
        if (conn->in_use) {
            ct_delete(ct, conn);
            ct->evictions++;
            return;
        }
    }
}

static void timeout_for_state(struct ct_table *ct, struct ct_conn *conn)
{
    const struct ct_timeouts *t = &ct->timeouts;

    switch ((enum ct_state) conn->state) {
    case CT_SYN_SENT: conn->timeout_ms = t->tcp_syn_sent_ms; break;
    case CT_ESTABLISHED: conn->timeout_ms = t->tcp_established_ms; break;
    case CT_CLOSING: conn->timeout_ms = t->tcp_closing_ms; break;
    case CT_CLOSED: conn->timeout_ms = t->tcp_closed_ms; break;
    case CT_UDP_UNREPLIED: conn->timeout_ms = t->udp_unreplied_ms; break;
    case CT_UDP_REPLIED: conn->timeout_ms = t->udp_replied_ms; break;
    }
}

struct ct_conn *ct_create(struct ct_table *ct, const struct ct_tuple *orig,
                          const struct ct_tuple *reply, uint32_t policy, bool dsr,
                          uint64_t now_ms)
{
    struct ct_conn *conn;
    uint32_t idx, gen;

    if (!ct->free_head) {
        evict_one(ct);
    }
    idx = ct->free_head - 1;
    conn = &ct->conns[idx];
    ct->free_head = conn->next[0];
    gen = conn->gen;
    memset(conn, 0, sizeof *conn);
    conn->gen = gen;
    conn->in_use = true;
    conn->tuple[CT_DIR_ORIG] = *orig;
    conn->tuple[CT_DIR_REPLY] = *reply;
    conn->policy = policy;
    conn->dsr = dsr;
    conn->used_ms = now_ms;
    conn->state = orig->proto == IP_PROTO_TCP ? CT_SYN_SENT : CT_UDP_UNREPLIED;
    timeout_for_state(ct, conn);
    for (unsigned int d = 0; d < 2; d++) {
        uint32_t *bucket;

        conn->hash[d] = tuple_hash(&conn->tuple[d]);
        bucket = &ct->buckets[conn->hash[d] & ct->mask];
        conn->next[d] = *bucket;
        *bucket = REF(idx, d);
    }
    ct->n_conns++;
    return conn;
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
}

void ct_update(struct ct_table *ct, struct ct_conn *conn, enum ct_dir dir, uint8_t tcp_flags,
               uint32_t len, uint64_t now_ms)
{
    enum ct_state old = conn->state;

    conn->packets[dir]++;
    conn->bytes[dir] += len;
    conn->used_ms = now_ms;

    if (conn->tuple[0].proto != IP_PROTO_TCP) {
        if (dir == CT_DIR_REPLY) {
            conn->state = CT_UDP_REPLIED;
        }
    } else if (tcp_flags & TCP_RST) {
        conn->state = CT_CLOSED;
    } else if (tcp_flags & TCP_FIN) {
        conn->fin_seen |= 1 << dir;
        conn->state = conn->fin_seen == 3 ? CT_CLOSED : CT_CLOSING;
    } else if (conn->state == CT_SYN_SENT && dir == CT_DIR_REPLY) {
        conn->state = CT_ESTABLISHED;
    } else if (conn->state == CT_CLOSED && (tcp_flags & TCP_SYN) && !(tcp_flags & TCP_ACK)) {
        /* The client reuses the port: a new connection on the same pair. */
        conn->state = CT_SYN_SENT;
        conn->fin_seen = 0;
    }
    if (conn->state != old) {
        timeout_for_state(ct, conn);
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
