/* Which control connection is closed when a limit is hit, and how closes are counted and
 * logged; see ctl-server.h for the limits and ctl-server-private.h for the calls.
 *
 * The timeouts are checked by one sweep a second over every connection: at most 1024 of
 * them, cheaper than a timer each and exact enough for limits counted in seconds.  Times are
 * the loop's clock (uv_now()).  A sweep that comes late because a handler held the loop
 * expires nothing: what clients sent meanwhile has not been read yet, and whether they read
 * what was sent to them cannot be known until the loop has written again. */
#include "daemon/ctl-server.h"

#include <stdio.h>
#include <stdlib.h>

#define LOG_MODULE "ctl"
#include "daemon/ctl-server-private.h"
#include "lib/ctl-msg.h"
#include "lib/log.h"
#include "lib/util.h"

static const char *const reason_names[] = {
#define CTL_CLOSE_NAME(ENUM, LABEL, TEXT) LABEL,
    CTL_CLOSE_REASONS(CTL_CLOSE_NAME)
#undef CTL_CLOSE_NAME
};

static const char *const reason_texts[] = {
#define CTL_CLOSE_TEXT(ENUM, LABEL, TEXT) TEXT,
    CTL_CLOSE_REASONS(CTL_CLOSE_TEXT)
#undef CTL_CLOSE_TEXT
};

const char *ctl_close_reason_name(enum ctl_close_reason reason)
{
    return reason < CTL_CLOSE_N_REASONS ? reason_names[reason] : "unknown";
}

static struct ctl_process **process_bucket(struct ctl_server *server, pid_t pid)
{
    return &server->processes[(uint32_t) pid % CTL_PROCESS_BUCKETS];
}

struct ctl_process *ctl_process_ref(struct ctl_server *server, pid_t pid, uid_t uid)
{
    struct ctl_process **bucket = process_bucket(server, pid);
    struct ctl_process *p;

    for (p = *bucket; p; p = p->next) {
        if (p->pid == pid) {
            p->n_conns++;
            return p;
        }
    }
    p = xmalloc(sizeof *p);
    p->pid = pid;
    p->uid = uid;
    p->n_conns = 1;
    p->next = *bucket;
    *bucket = p;
    return p;
}

void ctl_process_unref(struct ctl_server *server, struct ctl_process *p)
{
    struct ctl_process **pp;

    if (--p->n_conns) {
        return;
    }
    for (pp = process_bucket(server, p->pid); *pp != p; pp = &(*pp)->next) {
        continue;
    }
    *pp = p->next;
    free(p);
}

static uint64_t secs(uint64_t ms)
{
    return (ms + 500) / 1000;
}

void ctl_log_unlogged(struct ctl_server *server, uint64_t now)
{
    enum log_level level = LOG_LVL_INFO;
    char list[256];
    size_t len = 0;
    uint64_t total = 0;

    if (now < server->log_next_ms) {
        return;
    }
    list[0] = '\0';
    for (int r = 0; r < CTL_CLOSE_N_REASONS; r++) {
        if (server->unlogged[r]) {
            len += snprintf(list + len, sizeof list - MIN(len, sizeof list), "%s%llu %s",
                            total ? ", " : "", (unsigned long long) server->unlogged[r],
                            reason_names[r]);
            len = MIN(len, sizeof list - 1);
            total += server->unlogged[r];
            if (r != CTL_CLOSE_IDLE) {
                level = LOG_LVL_WARN;
            }
            server->unlogged[r] = 0;
        }
    }
    if (total) {
        log_msg(level, LOG_MODULE, "closed %llu more control connections: %s",
                (unsigned long long) total, list);
        server->log_next_ms = now + CTL_LOG_INTERVAL_MS;
    }
}

void ctl_note_close(struct ctl_conn *conn, enum ctl_close_reason reason, const char *detail)
{
    struct ctl_server *server = conn->server;
    uint64_t now = uv_now(server->loop);

    ctl_counter_inc(&server->stat_closed[reason]);
    if (now < server->log_next_ms) {
        server->unlogged[reason]++;
        return;
    }
    server->log_next_ms = now + CTL_LOG_INTERVAL_MS;
    log_msg(reason == CTL_CLOSE_IDLE ? LOG_LVL_INFO : LOG_LVL_WARN, LOG_MODULE,
            "closing a control connection of pid %ld (uid %ld): %s: %s",
            conn->process ? (long) conn->process->pid : -1L,
            conn->process ? (long) conn->process->uid : -1L, reason_texts[reason], detail);
}

void ctl_conn_drop(struct ctl_conn *conn, enum ctl_close_reason reason, const char *detail)
{
    ctl_note_close(conn, reason, detail);
    ctl_conn_close(conn);
}

/* Since when 'conn' has held what it holds without progress. */
static uint64_t conn_stalled_since(const struct ctl_conn *conn)
{
    if (ctl_conn_unsent(conn)) {
        return conn->write_ms;
    }
    return ctl_msg_decoder_pending(&conn->decoder) ? conn->request_ms : conn->active_ms;
}

void ctl_shed(struct ctl_server *server)
{
    uint64_t now = uv_now(server->loop);

    while (server->buffered > CTL_MAX_BUFFERED) {
        struct ctl_conn *victim = NULL;
        char detail[160];

        for (struct ctl_conn *c = server->conns; c; c = c->next) {
            /* Small buffers are every connection's: closing them would free little. */
            if (c->buffered > CTL_KEEP_BUF
                && (!victim || conn_stalled_since(c) < conn_stalled_since(victim))) {
                victim = c;
            }
        }
        if (!victim) {
            break;
        }
        snprintf(detail, sizeof detail, "%zu bytes held for all clients, over %u; this one "
                 "held %zu bytes, without progress for %llu s", server->buffered,
                 CTL_MAX_BUFFERED, victim->buffered,
                 (unsigned long long) secs(now - conn_stalled_since(victim)));
        ctl_conn_drop(victim, CTL_CLOSE_MEMORY, detail);
    }
}

/* Returns why 'conn' must be closed now, with details in 'detail', or -1 if it may stay. */
static int conn_expired(const struct ctl_conn *conn, uint64_t now, char *detail, size_t size)
{
    uint64_t idle_ms = conn->server->idle_timeout_ms;
    size_t unsent = ctl_conn_unsent(conn);
    size_t partial;

    if (unsent) {
        if (now - conn->write_ms < CTL_WRITE_TIMEOUT_MS) {
            return -1;
        }
        snprintf(detail, size, "%zu bytes waiting, none read for %llu s", unsent,
                 (unsigned long long) secs(now - conn->write_ms));
        return CTL_CLOSE_UNREAD_REPLIES;
    }
    if (conn->close_when_flushed) {
        return -1;
    }
    partial = ctl_msg_decoder_pending(&conn->decoder);
    if (partial) {
        if (now - conn->request_ms < CTL_REQUEST_TIMEOUT_MS) {
            return -1;
        }
        snprintf(detail, size, "%zu bytes of it after %llu s", partial,
                 (unsigned long long) secs(now - conn->request_ms));
        return CTL_CLOSE_SLOW_REQUEST;
    }
    if (!idle_ms || now - conn->active_ms < idle_ms) {
        return -1;
    }
    snprintf(detail, size, "nothing sent or pending for %llu s",
             (unsigned long long) secs(now - conn->active_ms));
    return CTL_CLOSE_IDLE;
}

void ctl_sweep(uv_timer_t *timer)
{
    struct ctl_server *server = timer->data;
    uint64_t now = uv_now(server->loop);
    bool late = now - server->last_sweep_ms > 3 * CTL_SWEEP_MS;
    struct ctl_conn *conn, *next;

    server->last_sweep_ms = now;
    for (conn = server->conns; conn; conn = next) {
        char detail[96];
        int reason;

        next = conn->next;
        ctl_conn_check_written(conn, now);
        if (!late && (reason = conn_expired(conn, now, detail, sizeof detail)) >= 0) {
            ctl_conn_drop(conn, reason, detail);
        }
    }
    ctl_log_unlogged(server, now);
}

void ctl_make_room(struct ctl_server *server, struct ctl_conn *newcomer)
{
    uint64_t now = uv_now(server->loop);
    struct ctl_conn *victim = NULL;
    char detail[128];

    if (newcomer->process->n_conns > server->max_per_process) {
        for (struct ctl_conn *c = server->conns; c; c = c->next) {
            if (c != newcomer && c->process == newcomer->process
                && (!victim || c->active_ms < victim->active_ms)) {
                victim = c;
            }
        }
        snprintf(detail, sizeof detail, "its share is %zu connections; this one was quiet "
                 "for %llu s", server->max_per_process,
                 (unsigned long long) secs(now - victim->active_ms));
        ctl_conn_drop(victim, CTL_CLOSE_PROCESS_SHARE, detail);
        victim = NULL;
    }
    if (server->n_conns > server->max_conns) {
        /* The heaviest holder pays first, so that a process opening connections in a loop
         * closes its own and not those of the CNI plugin or the proxy. */
        for (struct ctl_conn *c = server->conns; c; c = c->next) {
            if (c != newcomer
                && (!victim || c->process->n_conns > victim->process->n_conns
                    || (c->process->n_conns == victim->process->n_conns
                        && c->active_ms < victim->active_ms))) {
                victim = c;
            }
        }
        snprintf(detail, sizeof detail, "%zu connections open, %zu of them by this process; "
                 "this one was quiet for %llu s", server->n_conns, victim->process->n_conns,
                 (unsigned long long) secs(now - victim->active_ms));
        ctl_conn_drop(victim, CTL_CLOSE_EVICTED, detail);
    }
}
