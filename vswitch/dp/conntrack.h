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
 * that the connection they were compiled for is gone.
 *
 * The table is bounded, and a full table must not let one pod's flood of new connections
 * kill the established connections of others.  Every pair is counted against its source (the
 * client's address, the original direction's source) and sorted into an eviction class, as
 * Linux conntrack's early drop does with its ASSURED bit:
 *   - closed (RST, or FIN both ways): garbage that only waits for its timeout;
 *   - unassured: the client never answered the backend (TCP: no ACK after the SYN-ACK, so
 *     SYN floods and scans; UDP: nothing after the first reply, or not yet 2 s old, so
 *     one-shot probes and DNS queries);
 *   - closing (one FIN): possibly a half-closed stream, so taken after the unassured;
 *   - assured: a live two-way connection.  Evicted to make room only when it has been idle
 *     for 5 minutes (the idlest of a sample; the established timeout is a day, so clients
 *     that vanish without a FIN do not hold the table that long); else the new connection
 *     is refused (-ENOSPC), and the client's retransmission tries again.
 * A source may hold at most 'max_per_source' pairs: at its limit, its own oldest closed,
 * unassured or closing pair is recycled, else its new connection is refused (-EDQUOT).
 * When the table is full, a closed pair goes first, then a pair idle past its timeout that
 * the aging sweep has not reached yet, then an unassured pair and last a closing one, each
 * preferably of a source holding more than its fair share (capacity / sources).  Every
 * class is kept in a FIFO list per source and one for the whole table, so each choice costs
 * O(1) (plus a short bounded scan); nothing is allocated after ct_init.
 *
 * The table also holds *dispatch entries*, the client's node's half of DSR across the overlay
 * (DESIGN.md): a connection sent by MAC to a backend on another node, recorded under its
 * original tuple only, with the backend it went to, so that its later packets follow that
 * backend even after Maglev would choose another (a backend added to the policy), a flush of
 * the flow cache or a restart.  The reply never passes this node: an entry has no reply
 * tuple, translates nothing and its state machine sees only the client's side.  Entries
 * count against the table and their client's limit, are sorted into the same classes and
 * are evicted by the same rules as pairs. */
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
    uint32_t tcp_established_ms;    /* --tcp-established-timeout: a day, as Linux's. */
    uint32_t tcp_closing_ms;
    uint32_t tcp_closed_ms;
    uint32_t udp_unreplied_ms;
    uint32_t udp_replied_ms;
};

/* Eviction classes, in the order a full table gives them up; assured pairs are kept. */
enum ct_class {
    CT_CLASS_CLOSED,                /* RST, or FIN both ways. */
    CT_CLASS_UNASSURED,             /* The client has not answered the backend yet. */
    CT_CLASS_CLOSING,               /* One FIN. */
    CT_N_LISTS,                     /* Classes kept in eviction lists. */
    CT_CLASS_ASSURED = CT_N_LISTS,  /* Both sides spoke, the client after the backend. */
};

/* What a connection object is.  The values of the flow pairs are those of the 'dsr' byte
 * that this byte was before dispatch entries existed, so a file from then is adopted as it
 * is, and a switch from then drops the dispatch entries of a newer file as invalid. */
enum ct_kind {
    CT_KIND_PAIR_SNAT = 0,          /* Flow pair that also SNATs the client (not DSR). */
    CT_KIND_PAIR_DSR = 1,           /* Flow pair that keeps the client's address. */
    CT_KIND_DISPATCH = 2,           /* Dispatch entry: forward only (see above). */
};

struct ct_conn {
    /* [CT_DIR_ORIG], [CT_DIR_REPLY].  A dispatch entry has no reply: its [CT_DIR_REPLY]
     * holds only the backend (src, sport; the rest zero), where a pair's reply tuple holds
     * it too, so code asking either kind for its backend reads the same fields.  It is
     * never indexed. */
    struct ct_tuple tuple[2];
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
    uint8_t kind;                   /* enum ct_kind. */
    uint64_t packets[2];
    uint64_t bytes[2];
    uint8_t assured;                /* 0 or 1: a live two-way connection, or a dispatched
                                     * client that went on (ct_update). */
    /* Eviction bookkeeping, rebuilt on adoption and never read from the file. */
    uint8_t evict_class;            /* enum ct_class. */
    uint16_t created_ds;            /* Creation, in 100 ms units, wrapped: UDP's age. */
    uint32_t source;                /* Index + 1 in the table's sources. */
    uint32_t class_link[2];         /* Prev, next (index + 1) in the table's list of its
                                     * class... */
    uint32_t source_link[2];        /* ...and in its source's. */
};
_Static_assert(sizeof(struct ct_conn) == 128, "a flow pair is two cache lines");

/* The pairs held by one client address. */
struct ct_source {
    be32 ip;
    uint32_t n_pairs;
    uint32_t next;                  /* Hash chain, or free list: index + 1; 0 ends. */
    uint32_t head[CT_N_LISTS];      /* Oldest pair of each class (index + 1), or 0. */
};

/* Why pairs were evicted before their time: to make room in a full table (by class), or to
 * keep a source within its limit (any class but assured). */
enum ct_eviction {
    CT_EVICTED_CLOSED,              /* Closed or closing. */
    CT_EVICTED_UNASSURED,
    CT_EVICTED_POD_QUOTA,           /* A source's own pair, recycled at its limit. */
    CT_EVICTED_IDLE,                /* Assured, but silent for minutes: a full table's last
                                     * resort (the established timeout is a day). */
    CT_N_EVICTIONS,
};

/* Why new connections were refused. */
enum ct_refusal {
    CT_REFUSED_TABLE_FULL,          /* -ENOSPC: every pair is assured. */
    CT_REFUSED_POD_QUOTA,           /* -EDQUOT: the source is at its limit, all assured. */
    CT_N_REFUSALS,
};

struct ct_table {
    struct ct_conn *conns;          /* Heap, or a shared file mapping (see ct_init_file). */
    size_t map_size;                /* Non-zero when 'conns' is mapped... */
    int map_fd;                     /* ...from this file, locked while we own it. */
    uint32_t capacity;
    uint32_t *buckets;
    uint32_t mask;
    uint32_t free_head;             /* Index + 1. */
    uint32_t n_conns;               /* Pairs and dispatch entries... */
    uint32_t n_dispatch;            /* ...of which dispatch entries. */
    uint32_t expire_cursor;
    uint32_t idle_cursor;           /* Where the next sample of idle assured pairs starts. */
    struct ct_timeouts timeouts;

    uint32_t max_per_source;        /* Pairs one client address may hold; 0: no limit. */
    struct ct_source *sources;      /* 'capacity' of them: a source holds at least one pair. */
    uint32_t *source_buckets;
    uint32_t source_mask;
    uint32_t source_free;           /* Index + 1 of a freed source... */
    uint32_t source_used;           /* ...else the first never used. */
    uint32_t n_sources;
    uint32_t class_head[CT_N_LISTS];    /* Oldest pair of each class, index + 1, or 0. */

    uint64_t evictions;             /* All of evicted[]. */
    uint64_t evicted[CT_N_EVICTIONS];
    uint64_t refused[CT_N_REFUSALS];
    uint64_t refused_logged;        /* Refusals up to the last log message... */
    uint64_t next_log_ms;           /* ...and when the next may be written. */
    uint64_t unkept;                /* Dispatch entries refused (their connections were
                                     * not), as refused[] counts... */
    uint64_t unkept_logged;         /* ...and likewise logged. */
    uint64_t next_unkept_log_ms;
};

/* 'capacity' clamped to [16, 1<<24].  Aborts on out of memory (start-up only).  No limit
 * per source until ct_set_max_per_source(). */
void ct_init(struct ct_table *, size_t capacity, const struct ct_timeouts *);
/* At most 'max' pairs per client address (0: no limit).  Pairs already held stay. */
void ct_set_max_per_source(struct ct_table *, uint32_t max);

/* Like ct_init(), but the connections live in the file 'path' (on tmpfs, /run), shared with
 * the next process that opens it: a vswitchd restarted after a crash adopts the flow pairs of
 * the one before, so established connections keep their translation whichever side speaks
 * first.  A file from another boot, capacity or layout is started afresh.  Only the array is
 * trusted: chains, free list, sources and eviction lists are rebuilt from it, so a write
 * torn by the crash costs at most that one connection.  The file is locked for as long as the table lives; another
 * process's table gives -EBUSY.  Returns the number of connections adopted, or a negative
 * errno (the table is then initialised in memory, as by ct_init). */
int ct_init_file(struct ct_table *, size_t capacity, const struct ct_timeouts *,
                 const char *path);
void ct_destroy(struct ct_table *);

struct ct_conn *ct_lookup(const struct ct_table *, const struct ct_tuple *, enum ct_dir *dir);
/* Creates a connection for 'orig' and 'reply' (neither may exist) and stores it in '*conn'.
 * Makes room as the header comment says, counting what it evicts.  Returns 0, -EDQUOT when
 * orig->src is at its limit with only assured pairs, or -ENOSPC when the table is full of
 * assured pairs; refusals are counted, and logged at most every 10 s. */
int ct_create(struct ct_table *, const struct ct_tuple *orig, const struct ct_tuple *reply,
              uint32_t policy, bool dsr, uint64_t now_ms, struct ct_conn **conn);
/* Creates a dispatch entry for 'orig' (which may not exist), sent to 'backend_ip' and
 * 'backend_port' (network order) of policy slot 'policy', with 'tcp_flags' of its first
 * packet: a SYN opens it, anything else picks up a connection already under way (its
 * entry was lost, or the switch restarted without its file).  Makes room and refuses as
 * ct_create() does, but counts and logs a refusal as an entry not kept ('unkept'): the
 * caller still dispatches the connection. */
int ct_create_dispatch(struct ct_table *, const struct ct_tuple *orig, be32 backend_ip,
                       be16 backend_port, uint32_t policy, uint8_t tcp_flags, uint64_t now_ms,
                       struct ct_conn **conn);
void ct_delete(struct ct_table *, struct ct_conn *);
void ct_flush(struct ct_table *);

/* Accounts a packet of 'len' bytes with 'tcp_flags' in direction 'dir' and moves the state
 * machine: both directions seen -> established, then the client again -> assured, FIN/RST
 * -> shorter timeouts.  A dispatch entry (always CT_DIR_ORIG) sees the client only: its ACK
 * after its SYN -> established and assured; a FIN -> closing, until idle for the closing
 * timeout (the server's FIN never shows here); a RST -> closed.  UDP stays unreplied, and
 * is assured, with the replied timeout, once the client still sends 2 s after the first. */
void ct_update(struct ct_table *, struct ct_conn *, enum ct_dir dir, uint8_t tcp_flags,
               uint32_t len, uint64_t now_ms);

/* Deletes connections idle past their timeout among the next 'budget' slots (the scan goes
 * round the table across calls, so no call stalls the datapath).  Returns how many, and
 * calls 'on_delete' for each before it goes. */
size_t ct_expire(struct ct_table *, uint64_t now_ms, uint32_t budget,
                 void (*on_delete)(struct ct_conn *, void *), void *aux);

const char *ct_state_name(enum ct_state);

/* Pairs held by client address 'ip' now. */
uint32_t ct_source_pairs(const struct ct_table *, be32 ip);

static inline bool ct_is_dispatch(const struct ct_conn *conn)
{
    return conn->kind == CT_KIND_DISPATCH;
}

static inline uint32_t ct_index(const struct ct_table *ct, const struct ct_conn *conn)
{
    return conn - ct->conns;
}

#define CT_FOR_EACH(CONN, CT)                                                       \
    for (struct ct_conn *CONN = (CT)->conns; CONN < (CT)->conns + (CT)->capacity; CONN++) \
        if (CONN->in_use)

#endif
