/* The proxy's side of the control protocol: a long-lived connection to vswitchd, what the
 * switch is known to hold, and the sync that sends it the difference to the wanted state as
 * one transactional Batch.
 *
 *   - On connecting it reads the switch's policies (DumpPolicies) and peers (Show); the
 *     policies named DESIRED_NAME_PREFIX are the proxy's, the others were made by hand and
 *     are never touched (a Service that claims their VIP is reported, not programmed).
 *   - A vswitchd that restarts closes the connection; the proxy sees the socket readable
 *     (applier_fd()), reconnects, reads the state again and sends what differs, so nothing
 *     that is already right is touched and no flow pair is disturbed.
 *   - vswitchd also closes a connection that stays idle for its --ctl-idle-timeout (when
 *     --sync-period is longer).  That close is routine: the proxy reconnects at once, at
 *     debug level, because a connection held open is what tells it of a restart.  A request
 *     that crosses the close (sent on a connection quiet for a second or more, closed with
 *     no answer) is sent again once on a new connection.  A close right after an answer
 *     and a failed reconnect stay warnings; a reconnect that finds vswitchd restarted (by
 *     its uptime) is logged at info.
 *   - An operation that vswitchd refuses (the Batch reply names it) is logged, left out and
 *     the rest of the batch sent again: one bad Service never blocks the others.  It is not
 *     tried again until its object changes.
 *
 * Used from the sync thread only. */
#ifndef VSWITCH_PROXY_APPLIER_H
#define VSWITCH_PROXY_APPLIER_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/ctl-client.h"
#include "proxy/desired.h"
#include "proxy/strmap.h"

struct applier_stats {
    uint64_t connects;          /* Connections made (the first, then reconnects). */
    uint64_t batches;           /* Batches vswitchd applied. */
    uint64_t ops;               /* Operations in them. */
    uint64_t unchanged;         /* Of those, adds that found their result in place. */
    uint64_t rejected;          /* Operations vswitchd refused. */
    uint64_t failures;          /* Syncs that failed (connection, or the batch as a whole). */
    uint64_t foreign;           /* Service ports left alone: a hand-made policy holds the VIP. */
};

struct applier {
    char *ctl_path;
    int timeout_ms;
    bool sync_peers;            /* Manage the overlay peers (--sync-peers). */
    struct ctl_client *client;  /* NULL while disconnected. */
    bool overlay;               /* vswitchd runs with --node-ip: peers can be added. */
    uint64_t last_used_ms;      /* time_msec() of the connection's last answer, or of its
                                 * connect: how long it has been idle. */
    uint64_t answered_ms;       /* time_msec() of vswitchd's last answer on any connection: a
                                 * vswitchd that started later is a restarted one. */
    bool closed_idle;           /* The connection was found closed after a quiet spell: the
                                 * next connect is routine unless it fails. */
    struct desired have;        /* What vswitchd holds of the proxy's, while connected. */
    struct strmap foreign;      /* Services of hand-made policies -> whether warned; kept
                                 * across reconnects, so each is reported once per vswitchd */
    struct strmap rejected;     /* "lb:SERVICE" / "peer:IP" -> the refused struct policy or
                                 * struct peer, left out while it stays the same */
    struct applier_stats stats;
};

void applier_init(struct applier *, const char *ctl_path, int timeout_ms, bool sync_peers);
void applier_destroy(struct applier *);

/* Connects and reads the switch's state.  Returns 0 or a negative errno with a message. */
int applier_connect(struct applier *, char *err, size_t errlen);
/* Reads the switch's state again over the connection (a periodic resync repairs drift, such
 * as a policy of the proxy's deleted by hand); 'verbose' logs it at info.  Returns 0 or a
 * negative errno (then disconnected). */
int applier_refresh(struct applier *, bool verbose, char *err, size_t errlen);
void applier_disconnect(struct applier *);
static inline bool applier_connected(const struct applier *a)
{
    return a->client != NULL;
}
/* The connection's socket, to poll() for POLLIN/POLLHUP (vswitchd went away), or -1. */
int applier_fd(const struct applier *);
/* Called when applier_fd() is readable: vswitchd never writes unasked, so the connection is
 * closed (or broken); disconnects, and the next applier_connect() (or applier_sync()) treats
 * a plain close as routine.  Returns true if it disconnected. */
bool applier_check_closed(struct applier *);

struct applier_result {
    size_t ops;                 /* Operations sent in the batch that succeeded (0: nothing
                                 * differed, no batch was sent). */
    size_t del_policies, add_policies, del_peers, add_peers;
    size_t rejected;            /* Refused in this sync. */
    size_t foreign;             /* Services left alone for hand-made policies. */
};

/* Makes vswitchd hold 'want' (consumed: it becomes the known state on success, is freed on
 * failure), connecting first if needed.  Returns 0 or a negative errno with a message; after
 * a failure the sync should be retried (with backoff). */
int applier_sync(struct applier *, struct desired *want, struct applier_result *,
                 char *err, size_t errlen);

#endif
