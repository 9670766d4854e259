/* The control socket of vswitchd: a unix-socket server on the control thread's libuv loop that
 * turns framed Requests into calls of a handler and sends back its Responses.
 *
 * It is the daemon's trust boundary: any byte stream from any client must leave the daemon
 * running and other clients served.  Malformed requests get an error Response; a frame over
 * the size limit gets one too, then the connection is closed (the stream cannot be resynced).
 * No client can hold the socket hostage:
 *   - a request must arrive whole within CTL_REQUEST_TIMEOUT_MS of its first byte (or of the
 *     previous request), and replies must be read: a connection whose queued replies make no
 *     progress for CTL_WRITE_TIMEOUT_MS, or pile up past a bound, is closed;
 *   - a connection with nothing in progress for the idle timeout is closed;
 *   - requests being received and replies not yet read hold at most CTL_MAX_BUFFERED bytes
 *     for all clients together (give or take one read): past it, the connection that has
 *     held its bytes longest without progress is closed;
 *   - at the connection limit a new client is still served: the longest-quiet connection of
 *     the process holding the most connections is closed to make room, and no process keeps
 *     more than a share of the slots (its own oldest connection makes room for its newest).
 * Every connection the server closes is counted by reason (ctl_server_get_stats()) and
 * logged, at most one line per CTL_LOG_INTERVAL_MS plus a summary of the rest.
 *
 * Thread: the control thread (the loop's), except ctl_server_get_stats(). */
#ifndef VSWITCH_DAEMON_CTL_SERVER_H
#define VSWITCH_DAEMON_CTL_SERVER_H 1

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#include "proto/vswitch.pb-c.h"

/* Seconds a connection may stay open with no request in progress and no reply pending.
 * Above vswitch-proxy's default resync period (30 s), which is the longest any client of
 * ours stays quiet on a connection it keeps. */
#define CTL_DEFAULT_IDLE_TIMEOUT 90
#define CTL_MAX_IDLE_TIMEOUT 86400
/* Our clients send a request whole as soon as they connect or get the previous reply, and
 * read the reply at once, on a local socket: ten seconds is ample on a loaded node, and a
 * short wait for whoever a stalled client holds up. */
#define CTL_REQUEST_TIMEOUT_MS 10000
#define CTL_WRITE_TIMEOUT_MS 10000
/* Connections open at once, and the share of them one process may hold. */
#define CTL_MAX_CONNS 1024
#define CTL_MAX_CONNS_PER_PROCESS (CTL_MAX_CONNS / 8)
#define CTL_LOG_INTERVAL_MS 10000
/* Room for two requests of the largest size at once (each takes up to twice its size while
 * it arrives), or many replies of the largest size; a bound on what 1024 clients that send
 * huge requests slowly, or never read, could make vswitchd hold. */
#define CTL_MAX_BUFFERED (256u << 20)

/* Why the server closed a connection (a client's own hang-up is not counted):
 * X(ENUM, metric label, log text). */
#define CTL_CLOSE_REASONS(X)                                                                   \
    X(IDLE, "idle", "idle")                                                                    \
    X(SLOW_REQUEST, "slow_request", "request incomplete")                                      \
    X(UNREAD_REPLIES, "unread_replies", "replies unread")                                      \
    X(REPLY_BACKLOG, "reply_backlog", "too many replies unread")                               \
    X(OVERSIZED, "oversized", "request over the size limit")                                   \
    X(MEMORY, "memory", "over the memory budget for clients")                                  \
    X(EVICTED, "evicted", "made room for a new client at the connection limit")                \
    X(PROCESS_SHARE, "process_share", "made room for a newer connection of the same process")

enum ctl_close_reason {
#define CTL_CLOSE_ENUM(ENUM, LABEL, TEXT) CTL_CLOSE_##ENUM,
    CTL_CLOSE_REASONS(CTL_CLOSE_ENUM)
#undef CTL_CLOSE_ENUM
    CTL_CLOSE_N_REASONS
};

/* The metric label of 'reason', e.g. "idle". */
const char *ctl_close_reason_name(enum ctl_close_reason reason);

struct ctl_server_stats {
    size_t conns;                       /* Open now. */
    size_t buffered;                    /* Bytes held for them now (CTL_MAX_BUFFERED). */
    size_t max_conns;                   /* The limit (may be below 1024: see open()). */
    size_t max_conns_per_process;
    unsigned int idle_timeout;          /* Seconds; 0: never. */
    uint64_t accepted;                  /* Connections accepted since start. */
    uint64_t accept_errors;             /* accept() failures. */
    uint64_t closed[CTL_CLOSE_N_REASONS];
};

struct ctl_server;

/* Handles one request and returns its Response (ownership passes to the server, which frees
 * it with ctl_msg_response_free()).  Never NULL. */
typedef Vswitch__Response *ctl_server_handler(const Vswitch__Request *, void *aux);

/* Creates the socket for 'path' (and its directory) without accepting yet, so that start-up
 * can fail early: if another vswitchd answers on 'path' this fails with -EADDRINUSE; a stale
 * socket file is removed.  The socket is bound under a temporary name beside 'path' and
 * appears at 'path' only when ctl_server_start() listens on it: a file at 'path' always
 * accepts connections.  The socket is mode 0600, or 0660 owned by group 'gid' unless
 * 'gid' is (gid_t) -1.  Connections with nothing in progress are closed after
 * 'idle_timeout' seconds (0: never; they are still closed to make room at the limit).
 *
 * The connection limit needs as many descriptors: this raises the process's soft
 * RLIMIT_NOFILE towards the hard one if it is too low, and lowers the limit (logged) if
 * the hard one is too low too, so that accept() never fails for want of a descriptor (libuv
 * would then drop waiting clients unseen).
 *
 * Returns 0 or a negative errno with a message in 'err'. */
int ctl_server_open(uv_loop_t *, const char *path, gid_t gid, unsigned int idle_timeout,
                    ctl_server_handler *, void *aux, struct ctl_server **,
                    char *err, size_t errlen);

/* Starts accepting clients and renames the socket onto its path.  Returns 0 or a negative
 * errno with a message in 'err'. */
int ctl_server_start(struct ctl_server *, char *err, size_t errlen);

/* Copies the counters into '*stats'.  Any thread: the metrics server calls it. */
void ctl_server_get_stats(const struct ctl_server *, struct ctl_server_stats *stats);

/* Disconnects every client, closes and removes the socket.  The memory is released by the
 * loop's close callbacks: run the loop until it has no handles left.  Accepts NULL. */
void ctl_server_close(struct ctl_server *);

#endif
