/* The control socket server's insides, shared by its two files: ctl-server.c (the socket,
 * requests and replies) and ctl-server-limits.c (timeouts, shares, the memory budget and the
 * accounting of closes).  Nothing outside them includes it.
 *
 * Thread: the control thread, as ctl-server.h. */
#ifndef VSWITCH_DAEMON_CTL_SERVER_PRIVATE_H
#define VSWITCH_DAEMON_CTL_SERVER_PRIVATE_H 1

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#include "daemon/ctl-server.h"
#include "lib/ctl-msg.h"

/* Bytes of replies a client may leave unread before it is dropped.  One reply of any size is
 * always accepted onto an empty queue, so a big dump is never refused for its size alone. */
#define CTL_CONN_MAX_QUEUED (4u << 20)
#define CTL_READ_BUF 16384
/* A request buffer that grew past this is freed once its request is in: a client that sent
 * one huge request keeps no memory while it idles. */
#define CTL_KEEP_BUF 65536
#define CTL_SWEEP_MS 1000
/* Descriptors left to the rest of the daemon (ports, database, metrics) when the
 * descriptor limit is too low for CTL_MAX_CONNS connections. */
#define CTL_FD_RESERVE 512
#define CTL_PROCESS_BUCKETS 64

/* A process at the other end of connections (SO_PEERCRED): the unit of fairness.  Every
 * client is root or in --ctl-group, so the user says little; one process is one program. */
struct ctl_process {
    struct ctl_process *next;   /* In its bucket. */
    pid_t pid;
    uid_t uid;
    size_t n_conns;
};

struct ctl_server {
    uv_pipe_t listener;
    uv_timer_t sweep;
    uv_loop_t *loop;
    char *path;
    char *tmp_path;             /* Where the socket is bound until it listens; NULL after. */
    dev_t dev;                  /* Of the socket file, to remove only our own at close. */
    ino_t ino;
    ctl_server_handler *handler;
    void *aux;
    struct ctl_conn *conns;     /* Doubly linked list of open connections. */
    size_t n_conns;
    size_t max_conns;
    size_t max_per_process;
    size_t buffered;            /* Request buffers and queued replies of every client. */
    uint64_t idle_timeout_ms;   /* 0: never. */
    struct ctl_process *processes[CTL_PROCESS_BUCKETS];
    size_t n_handles;           /* Listener, sweep timer, connections not yet closed. */
    bool sweeping;              /* The sweep timer is initialised. */
    bool closing;
    uint64_t last_sweep_ms;

    /* Closes are logged one line per CTL_LOG_INTERVAL_MS; those in between are summed up. */
    uint64_t log_next_ms;
    uint64_t unlogged[CTL_CLOSE_N_REASONS];

    /* Counters: written by the control thread, read by the metrics thread. */
    atomic_size_t stat_conns;
    atomic_size_t stat_buffered;
    _Atomic uint64_t stat_accepted;
    _Atomic uint64_t stat_accept_errors;
    _Atomic uint64_t stat_closed[CTL_CLOSE_N_REASONS];
};

struct ctl_conn {
    uv_pipe_t pipe;
    struct ctl_server *server;
    struct ctl_conn *prev, *next;
    struct ctl_process *process;    /* NULL until accepted; then it is in the list. */
    struct ctl_msg_decoder decoder;
    size_t queued;              /* Bytes of replies handed to libuv and not yet written. */
    size_t buffered;            /* Its part of server->buffered. */
    uint64_t sent;              /* Bytes of replies handed to libuv, ever. */
    uint64_t written_seen;      /* Of those, written to the socket at the last look. */
    uint64_t active_ms;         /* Last byte read, or last progress writing. */
    uint64_t request_ms;        /* When the incomplete request began; 0: none. */
    uint64_t write_ms;          /* Last progress writing while replies wait. */
    bool closing;
    bool close_when_flushed;
    char rbuf[CTL_READ_BUF];
};

static inline void ctl_counter_inc(_Atomic uint64_t *counter)
{
    atomic_fetch_add_explicit(counter, 1, memory_order_relaxed);
}

/* ctl-server.c */

/* Closes 'conn' (again: nothing) and takes it off the server's list; its memory goes with the
 * handle's close callback. */
void ctl_conn_close(struct ctl_conn *);
/* Bytes of replies libuv still holds for 'conn'. */
size_t ctl_conn_unsent(const struct ctl_conn *);
/* Notes whether the client took any of its replies since the last look. */
void ctl_conn_check_written(struct ctl_conn *, uint64_t now);

/* ctl-server-limits.c */

/* The process 'pid' (with user 'uid') with one more connection, or one less (freed at none). */
struct ctl_process *ctl_process_ref(struct ctl_server *, pid_t pid, uid_t uid);
void ctl_process_unref(struct ctl_server *, struct ctl_process *);

/* Counts that the server closes 'conn' for 'reason' and logs it, or sums it up for later if a
 * close was logged less than CTL_LOG_INTERVAL_MS ago.  ctl_conn_drop() also closes it. */
void ctl_note_close(struct ctl_conn *, enum ctl_close_reason, const char *detail);
void ctl_conn_drop(struct ctl_conn *, enum ctl_close_reason, const char *detail);
/* Logs the closes not logged yet, if any, once the interval allows ('now' UINT64_MAX:
 * always). */
void ctl_log_unlogged(struct ctl_server *, uint64_t now);

/* Closes connections while the server holds more than CTL_MAX_BUFFERED bytes for its
 * clients, the one stalled longest first: a client sending or reading a big message at full
 * speed keeps making progress, one that stalls does not. */
void ctl_shed(struct ctl_server *);
/* The newcomer is in: if it takes its process past its share, or the server past its limit,
 * another connection makes room.  The newcomer itself is always served. */
void ctl_make_room(struct ctl_server *, struct ctl_conn *newcomer);
/* The sweep timer's callback: closes the connections past a timeout. */
void ctl_sweep(uv_timer_t *);

#endif
