/* Flow pairs: one connection object per load-balanced connection, indexed under both its
 * original tuple (client -> VIP, as the client sends it) and its reply tuple (backend ->
 * client, as the backend sends it), so either direction finds it with one lookup (OVS
 * conntrack-private.h key_node[CT_DIRS], VPP cnat_session).
 *
 * The translation is implied by the two tuples: a packet of the original direction leaves
 * with the reply tuple reversed (source = reply.dst, destination = reply.src), a reply leaves
 * with the original tuple reversed.  Both are known from the first packet, so no direction is
 * ever "unseen" (the Antrea #5025 trap).
 *
 * Owned by the datapath thread.  Connections live in one preallocated array and are referred
 * to by index; a generation number, bumped whenever a slot is freed, lets cached flows notice
 * that the connection they were compiled for is gone. */
#ifndef VSWITCH_DP_CONNTRACK_H
#define VSWITCH_DP_CONNTRACK_H 1

#include <stddef.h>
#include <stdint.h>

#include "lib/types.h"

enum ct_dir { CT_DIR_ORIG = 0, CT_DIR_REPLY = 1 };

struct ct_tuple {
    be32 src;
    be32 dst;
    be16 sport;
    be16 dport;
    uint8_t proto;
    uint8_t pad_[3];
};
_Static_assert(sizeof(struct ct_tuple) == 16, "tuple is two 64-bit words");

enum ct_state {
    CT_SYN_SENT,            /* TCP, only the client spoke. */
    CT_ESTABLISHED,         /* TCP, both directions seen. */
    CT_CLOSING,             /* TCP, a FIN was seen. */
    CT_CLOSED,              /* TCP, RST, or FINs both ways. */
    CT_UDP_UNREPLIED,
    CT_UDP_REPLIED,
};

struct ct_timeouts {
    uint32_t tcp_syn_sent_ms;
    uint32_t tcp_established_ms;    /* The flow TTL: 240 s as in VFP. */
    uint32_t tcp_closing_ms;
    uint32_t tcp_closed_ms;
    uint32_t udp_unreplied_ms;
    uint32_t udp_replied_ms;
};

struct ct_conn {
    struct ct_tuple tuple[2];       /* [CT_DIR_ORIG], [CT_DIR_REPLY]. */
    uint32_t next[2];               /* Hash chains: (index + 1) << 1 | dir; 0 ends. */
    uint32_t hash[2];
    uint32_t gen;
    uint32_t policy;                /* Slot of the policy that created it. */
    uint64_t used_ms;
    uint32_t timeout_ms;
    uint8_t state;                  /* enum ct_state. */
    uint8_t fin_seen;               /* Bit per direction. */
    /* Bytes rather than bools: adoption reads them from a file that may hold anything. */
    uint8_t in_use;                 /* 0 or 1. */
    uint8_t dsr;                    /* 0 or 1. */
    uint64_t packets[2];
    uint64_t bytes[2];
};

struct ct_table {
    struct ct_conn *conns;          /* Heap, or a shared file mapping (see ct_init_file). */
    size_t map_size;                /* Non-zero when 'conns' is mapped... */
    int map_fd;                     /* ...from this file, locked while we own it. */
    uint32_t capacity;
    uint32_t *buckets;
    uint32_t mask;
    uint32_t free_head;             /* Index + 1. */
    uint32_t n_conns;
    uint32_t expire_cursor;
    uint32_t evict_cursor;
    uint64_t evictions;
    struct ct_timeouts timeouts;
};

/* 'capacity' clamped to [16, 1<<24].  Aborts on out of memory (start-up only). */
void ct_init(struct ct_table *, size_t capacity, const struct ct_timeouts *);

/* Like ct_init(), but the connections live in the file 'path' (on tmpfs, /run), shared with
 * the next process that opens it: a vswitchd restarted after a crash adopts the flow pairs of
 * the one before, so established connections keep their translation whichever side speaks
 * first.  A file from another boot, capacity or layout is started afresh.  Only the array is
 * trusted: chains and free list are rebuilt from it, so a write torn by the crash costs at
 * most that one connection.  The file is locked for as long as the table lives; another
 * process's table gives -EBUSY.  Returns the number of connections adopted, or a negative
 * errno (the table is then initialised in memory, as by ct_init). */
int ct_init_file(struct ct_table *, size_t capacity, const struct ct_timeouts *,
                 const char *path);
void ct_destroy(struct ct_table *);

struct ct_conn *ct_lookup(const struct ct_table *, const struct ct_tuple *, enum ct_dir *dir);
/* Creates a connection for 'orig' and 'reply' (neither may exist).  When the table is full
 * the least recently scanned connection is evicted and counted.  Never fails. */
struct ct_conn *ct_create(struct ct_table *, const struct ct_tuple *orig,
                          const struct ct_tuple *reply, uint32_t policy, bool dsr,
                          uint64_t now_ms);
void ct_delete(struct ct_table *, struct ct_conn *);
void ct_flush(struct ct_table *);

/* Accounts a packet of 'len' bytes with 'tcp_flags' in direction 'dir' and moves the state
 * machine: both directions seen -> established, FIN/RST -> shorter timeouts. */
void ct_update(struct ct_table *, struct ct_conn *, enum ct_dir dir, uint8_t tcp_flags,
               uint32_t len, uint64_t now_ms);

/* Deletes connections idle past their timeout among the next 'budget' slots (the scan goes
 * round the table across calls, so no call stalls the datapath).  Returns how many, and
 * calls 'on_delete' for each before it goes. */
size_t ct_expire(struct ct_table *, uint64_t now_ms, uint32_t budget,
                 void (*on_delete)(struct ct_conn *, void *), void *aux);

const char *ct_state_name(enum ct_state);

static inline uint32_t ct_index(const struct ct_table *ct, const struct ct_conn *conn)
{
    return conn - ct->conns;
}

#define CT_FOR_EACH(CONN, CT)                                                       \
    for (struct ct_conn *CONN = (CT)->conns; CONN < (CT)->conns + (CT)->capacity; CONN++) \
        if (CONN->in_use)

#endif
