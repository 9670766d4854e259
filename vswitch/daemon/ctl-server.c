/* The control socket server; see ctl-server.h.  This file listens, accepts, reads requests and
 * writes replies; ctl-server-limits.c decides which connection is closed when a limit is hit.
 *
 * Requests on one connection are answered in order, synchronously in the read callback: a
 * handler is quick (a database commit, a command to the datapath thread), and doing one thing
 * at a time keeps every change atomic with respect to every other client. */
#include "daemon/ctl-server.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define LOG_MODULE "ctl"
#include "daemon/ctl-server-private.h"
#include "daemon/fs-util.h"
#include "lib/ctl-msg.h"
#include "lib/log.h"
#include "lib/util.h"

struct ctl_write {
    uv_write_t req;
    struct ctl_conn *conn;
    size_t len;
    uint8_t *frame;
};

static void server_unref(struct ctl_server *server)
{
    if (!--server->n_handles && server->closing) {
        free(server->path);
        free(server->tmp_path);
        free(server);
    }
}

static void conn_closed(uv_handle_t *handle)
{
    struct ctl_conn *conn = handle->data;
    struct ctl_server *server = conn->server;

    ctl_msg_decoder_destroy(&conn->decoder);
    free(conn);
    server_unref(server);
}

/* Brings server->buffered up to date with what 'conn' holds now. */
static void conn_account(struct ctl_conn *conn)
{
    struct ctl_server *server = conn->server;
    size_t buffered = conn->closing ? 0 : conn->decoder.cap + conn->queued;

    server->buffered = server->buffered - conn->buffered + buffered;
    conn->buffered = buffered;
    atomic_store_explicit(&server->stat_buffered, server->buffered, memory_order_relaxed);
}

void ctl_conn_close(struct ctl_conn *conn)
{
    struct ctl_server *server = conn->server;

    if (conn->closing) {
        return;
    }
    conn->closing = true;
    conn_account(conn);
    if (conn->process) {
        if (conn->prev) {
            conn->prev->next = conn->next;
        } else {
            server->conns = conn->next;
        }
        if (conn->next) {
            conn->next->prev = conn->prev;
        }
        server->n_conns--;
        atomic_store_explicit(&server->stat_conns, server->n_conns, memory_order_relaxed);
        ctl_process_unref(server, conn->process);
    }
    uv_close((uv_handle_t *) &conn->pipe, conn_closed);
}

size_t ctl_conn_unsent(const struct ctl_conn *conn)
{
    return uv_stream_get_write_queue_size((const uv_stream_t *) &conn->pipe);
}

void ctl_conn_check_written(struct ctl_conn *conn, uint64_t now)
{
    uint64_t written = conn->sent - ctl_conn_unsent(conn);

    if (written != conn->written_seen) {
        conn->written_seen = written;
        conn->write_ms = conn->active_ms = now;
    }
}

static void write_done(uv_write_t *req, int status)
{
    struct ctl_write *w = req->data;
    struct ctl_conn *conn = w->conn;

    conn->queued -= w->len;
    free(w->frame);
    free(w);
    if (conn->closing) {
        return;
    }
    conn_account(conn);
    if (status < 0) {
        LOG_DBG("client write failed: %s", uv_strerror(status));
        ctl_conn_close(conn);
        return;
    }
    ctl_conn_check_written(conn, uv_now(conn->server->loop));
    if (conn->close_when_flushed && !conn->queued) {
        ctl_conn_close(conn);
    }
}

/* Queues 'resp' to the client and frees it. */
static void conn_send(struct ctl_conn *conn, Vswitch__Response *resp)
{
    struct ctl_write *w;
    uint8_t *frame;
    size_t len, unsent;
    uv_buf_t buf;
    int error;

    error = ctl_msg_frame(&resp->base, CTL_MSG_MAX_REPLY, &frame, &len);
    if (error) {
        size_t size = protobuf_c_message_get_packed_size(&resp->base);

        ctl_msg_response_free(resp);
        resp = ctl_msg_response_error(-EMSGSIZE, "reply of %zu bytes exceeds the maximum of "
                                      "%u bytes", size, CTL_MSG_MAX_REPLY);
        error = ctl_msg_frame(&resp->base, CTL_MSG_MAX_REPLY, &frame, &len);
    }
    ctl_msg_response_free(resp);
    if (error) {
        abort();                /* An error reply always fits. */
    }
    if (conn->queued && conn->queued + len > CTL_CONN_MAX_QUEUED) {
        char detail[64];

        snprintf(detail, sizeof detail, "%zu bytes waiting", conn->queued);
        free(frame);
        ctl_conn_drop(conn, CTL_CLOSE_REPLY_BACKLOG, detail);
        return;
    }

    w = xmalloc(sizeof *w);
    w->req.data = w;
    w->conn = conn;
    w->len = len;
    w->frame = frame;
    buf = uv_buf_init((char *) frame, len);
    unsent = ctl_conn_unsent(conn);
    error = uv_write(&w->req, (uv_stream_t *) &conn->pipe, &buf, 1, write_done);
    if (error) {
        LOG_DBG("client write failed: %s", uv_strerror(error));
        free(frame);
        free(w);
        ctl_conn_close(conn);
        return;
    }
    if (!unsent) {
        /* The write clock starts now: nothing was waiting before. */
        conn->write_ms = uv_now(conn->server->loop);
    }
    conn->queued += len;
    conn->sent += len;
    conn_account(conn);
    ctl_shed(conn->server);
}

static void conn_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
    struct ctl_conn *conn = handle->data;

    *buf = uv_buf_init(conn->rbuf, sizeof conn->rbuf);
}

/* Answers the whole requests received.  Returns how many. */
static int conn_handle_frames(struct ctl_conn *conn)
{
    struct ctl_server *server = conn->server;
    const uint8_t *body;
    size_t len;
    int n, handled = 0;

    while (!conn->closing && (n = ctl_msg_decoder_next(&conn->decoder, &body, &len))) {
        Vswitch__Request *req;
        Vswitch__Response *resp;

        if (n < 0) {
            char detail[64];

            /* The frame's end is unknown, so nothing after it can be read: answer, then
             * hang up once the answer is out. */
            snprintf(detail, sizeof detail, "more than %u bytes announced",
                     CTL_MSG_MAX_REQUEST);
            ctl_note_close(conn, CTL_CLOSE_OVERSIZED, detail);
            uv_read_stop((uv_stream_t *) &conn->pipe);
            conn->close_when_flushed = true;
            conn_send(conn, ctl_msg_response_error(-EMSGSIZE, "request exceeds the maximum "
                                                   "of %u bytes", CTL_MSG_MAX_REQUEST));
            return handled;
        }
        if (ctl_msg_unpack_request(body, len, &req)) {
            LOG_DBG("malformed request of %zu bytes", len);
            resp = ctl_msg_response_error(-EBADMSG, "malformed request: not a valid "
                                          "vswitch.Request message");
        } else {
            resp = server->handler(req, server->aux);
            ctl_msg_request_free(req);
        }
        conn_send(conn, resp);
        handled++;
    }
    return handled;
}

static void conn_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    struct ctl_conn *conn = stream->data;
    uint64_t now = uv_now(conn->server->loop);
    int handled;

    if (nread < 0) {
        if (nread != UV_EOF) {
            LOG_DBG("client read failed: %s", uv_strerror(nread));
        } else if (ctl_msg_decoder_pending(&conn->decoder)) {
            LOG_DBG("client hung up in the middle of a request");
        }
        ctl_conn_close(conn);
        return;
    }
    if (!nread) {
        return;
    }
    conn->active_ms = now;
    ctl_msg_decoder_feed(&conn->decoder, buf->base, nread);
    handled = conn_handle_frames(conn);
    /* A request's clock starts with its first byte, or with the end of the request before
     * it when both came in one read: a client that trickles bytes in runs out of time
     * however steadily it trickles. */
    if (!ctl_msg_decoder_pending(&conn->decoder)) {
        conn->request_ms = 0;
        if (conn->decoder.cap > CTL_KEEP_BUF && !conn->close_when_flushed) {
            ctl_msg_decoder_destroy(&conn->decoder);
            ctl_msg_decoder_init(&conn->decoder, CTL_MSG_MAX_REQUEST);
        }
    } else if (handled || !conn->request_ms) {
        conn->request_ms = now;
    }
    if (!conn->closing) {
        conn_account(conn);
        ctl_shed(conn->server);
    }
}

static void on_connection(uv_stream_t *listener, int status)
{
    struct ctl_server *server = listener->data;
    struct ucred cred = { .pid = 0, .uid = (uid_t) -1 };
    socklen_t cred_len = sizeof cred;
    struct ctl_conn *conn;
    uv_os_fd_t fd;
    int error;

    if (status < 0) {
        ctl_counter_inc(&server->stat_accept_errors);
        LOG_WARN("accepting a client failed: %s", uv_strerror(status));
        return;
    }
    conn = xcalloc(1, sizeof *conn);
    conn->server = server;
    ctl_msg_decoder_init(&conn->decoder, CTL_MSG_MAX_REQUEST);
    uv_pipe_init(server->loop, &conn->pipe, 0);
    conn->pipe.data = conn;
    server->n_handles++;

    error = uv_accept(listener, (uv_stream_t *) &conn->pipe);
    if (error) {
        ctl_counter_inc(&server->stat_accept_errors);
        LOG_WARN("accepting a client failed: %s", uv_strerror(error));
        ctl_conn_close(conn);
        return;
    }
    ctl_counter_inc(&server->stat_accepted);
    if (!uv_fileno((uv_handle_t *) &conn->pipe, &fd)
        && getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cred_len)) {
        /* Counted with the other clients of unknown process, as pid 0. */
        LOG_DBG("no credentials for a client: %s", strerror(errno));
    }
    conn->process = ctl_process_ref(server, cred.pid, cred.uid);
    conn->active_ms = uv_now(server->loop);
    conn->next = server->conns;
    if (server->conns) {
        server->conns->prev = conn;
    }
    server->conns = conn;
    server->n_conns++;
    atomic_store_explicit(&server->stat_conns, server->n_conns, memory_order_relaxed);
    ctl_make_room(server, conn);

    error = uv_read_start((uv_stream_t *) &conn->pipe, conn_alloc, conn_read);
    if (error) {
        LOG_WARN("reading from a client failed: %s", uv_strerror(error));
        ctl_conn_close(conn);
    }
}

/* Fails if a live daemon answers on 'path'; removes a stale socket file. */
static int check_existing(const char *path, char *err, size_t errlen)
{
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    struct stat st;
    int fd, error;

    if (lstat(path, &st) < 0) {
        if (errno == ENOENT) {
            return 0;
        }
        error = errno;
        snprintf(err, errlen, "cannot check control socket %s: %s", path, strerror(error));
        return -error;
    }
    if (!S_ISSOCK(st.st_mode)) {
        snprintf(err, errlen, "control socket path %s exists and is not a socket; "
                 "refusing to replace it", path);
        return -EEXIST;
    }
    memcpy(sun.sun_path, path, strlen(path) + 1);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        error = errno;
        snprintf(err, errlen, "cannot create a socket: %s", strerror(error));
        return -error;
    }
    error = connect(fd, (struct sockaddr *) &sun, sizeof sun) < 0 ? errno : 0;
    close(fd);
    if (!error || error == EAGAIN) {
        snprintf(err, errlen, "another vswitchd is already running: it answers on %s", path);
        return -EADDRINUSE;
    }
    if (error != ECONNREFUSED) {
        snprintf(err, errlen, "cannot check control socket %s: %s", path, strerror(error));
        return -error;
    }
    LOG_INFO("removing stale control socket %s", path);
    if (unlink(path) < 0 && errno != ENOENT) {
        error = errno;
        snprintf(err, errlen, "cannot remove stale control socket %s: %s", path,
                 strerror(error));
        return -error;
    }
    return 0;
}

static void server_handle_closed(uv_handle_t *handle)
{
    server_unref(handle->data);
}

/* Returns how many connections the descriptor limit leaves room for, after raising the
 * soft limit if it is below what CTL_MAX_CONNS needs (systemd's default soft limit is 1024;
 * its hard limit is far higher). */
static size_t fit_descriptor_limit(void)
{
    const rlim_t want = CTL_MAX_CONNS + CTL_FD_RESERVE;
    struct rlimit rl;
    size_t n;

    if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= want) {
        return CTL_MAX_CONNS;
    }
    if (rl.rlim_max == RLIM_INFINITY || rl.rlim_max > rl.rlim_cur) {
        struct rlimit raised = {
            .rlim_cur = rl.rlim_max == RLIM_INFINITY ? want : MIN(want, rl.rlim_max),
            .rlim_max = rl.rlim_max,
        };

        if (!setrlimit(RLIMIT_NOFILE, &raised)) {
            LOG_INFO("raised the descriptor limit from %llu to %llu for the control socket's "
                     "clients", (unsigned long long) rl.rlim_cur,
                     (unsigned long long) raised.rlim_cur);
            rl.rlim_cur = raised.rlim_cur;
        }
    }
    if (rl.rlim_cur >= want) {
        return CTL_MAX_CONNS;
    }
    n = rl.rlim_cur > 2 * CTL_FD_RESERVE ? rl.rlim_cur - CTL_FD_RESERVE : rl.rlim_cur / 2;
    n = MAX(n, 8);
    LOG_WARN("the descriptor limit (RLIMIT_NOFILE) is %llu: at most %zu control connections "
             "instead of %d", (unsigned long long) rl.rlim_cur, n, CTL_MAX_CONNS);
    return n;
}

int ctl_server_open(uv_loop_t *loop, const char *path, gid_t gid, unsigned int idle_timeout,
                    ctl_server_handler *handler, void *aux, struct ctl_server **serverp,
                    char *err, size_t errlen)
{
    struct sockaddr_un sun;
    struct ctl_server *server;
    mode_t mode = gid == (gid_t) -1 ? 0600 : 0660;
    mode_t old_umask;
    struct stat st;
    int error;

    char tmp[sizeof sun.sun_path + 32];

    *serverp = NULL;
    /* Bound under a temporary name and renamed onto 'path' once it listens
     * (ctl_server_start()): a client that connects as soon as the file exists, as kubelet's
     * CNI calls and scripts do, is never refused by a socket that does not listen yet. */
    snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long) getpid());
    if (strlen(tmp) >= sizeof sun.sun_path) {
        snprintf(err, errlen, "control socket path %s is longer than %zu bytes (with the "
                 "temporary suffix it is bound under first)", path,
                 sizeof sun.sun_path - 1 - (strlen(tmp) - strlen(path)));
        return -ENAMETOOLONG;
    }
    error = fs_make_parent_dir(path, 0755, err, errlen);
    if (error) {
        return error;
    }
    error = check_existing(path, err, errlen);
    if (error) {
        return error;
    }

    server = xcalloc(1, sizeof *server);
    server->loop = loop;
    server->path = xstrdup(path);
    server->tmp_path = xstrdup(tmp);
    server->handler = handler;
    server->aux = aux;
    server->idle_timeout_ms = (uint64_t) idle_timeout * 1000;
    server->max_conns = fit_descriptor_limit();
    server->max_per_process = MAX(server->max_conns * CTL_MAX_CONNS_PER_PROCESS
                                  / CTL_MAX_CONNS, 1);
    uv_pipe_init(loop, &server->listener, 0);
    server->listener.data = server;
    server->n_handles = 1;

    /* The umask makes the socket private from its creation, before the chmod below widens
     * it to the group: no moment exists where others could connect. */
    old_umask = umask(0177);
    unlink(tmp);                /* Left by a vswitchd of this pid that died starting. */
    error = uv_pipe_bind(&server->listener, tmp);
    umask(old_umask);
    if (error) {
        snprintf(err, errlen, "cannot create control socket %s: %s", tmp, uv_strerror(error));
        goto error;
    }
    if (gid != (gid_t) -1 && chown(tmp, (uid_t) -1, gid) < 0) {
        error = -errno;
        snprintf(err, errlen, "cannot give control socket %s to group %u: %s", path,
                 (unsigned) gid, strerror(errno));
        goto error_unlink;
    }
    if (chmod(tmp, mode) < 0 || stat(tmp, &st) < 0) {
        error = -errno;
        snprintf(err, errlen, "cannot set the mode of control socket %s: %s", path,
                 strerror(errno));
        goto error_unlink;
    }
    server->dev = st.st_dev;
    server->ino = st.st_ino;
    *serverp = server;
    return 0;

error_unlink:
    unlink(tmp);
error:
    server->closing = true;
    uv_close((uv_handle_t *) &server->listener, server_handle_closed);
    return error;
}

int ctl_server_start(struct ctl_server *server, char *err, size_t errlen)
{
    int error = uv_listen((uv_stream_t *) &server->listener, 128, on_connection);

    if (error) {
        snprintf(err, errlen, "cannot listen on control socket %s: %s", server->path,
                 uv_strerror(error));
        return error;
    }
    /* Listening: only now does the socket appear under its name, atomically (a stale one
     * that ctl_server_open() found dead is replaced the same way). */
    if (rename(server->tmp_path, server->path) < 0) {
        error = -errno;
        snprintf(err, errlen, "cannot move control socket %s to %s: %s", server->tmp_path,
                 server->path, strerror(errno));
        return error;
    }
    free(server->tmp_path);
    server->tmp_path = NULL;
    uv_timer_init(server->loop, &server->sweep);
    server->sweep.data = server;
    server->n_handles++;
    server->sweeping = true;
    server->last_sweep_ms = uv_now(server->loop);
    uv_timer_start(&server->sweep, ctl_sweep, CTL_SWEEP_MS, CTL_SWEEP_MS);
    if (server->idle_timeout_ms) {
        LOG_INFO("listening on %s (at most %zu clients, %zu per process; idle ones closed "
                 "after %llu s)", server->path, server->max_conns, server->max_per_process,
                 (unsigned long long) server->idle_timeout_ms / 1000);
    } else {
        LOG_INFO("listening on %s (at most %zu clients, %zu per process; idle ones kept)",
                 server->path, server->max_conns, server->max_per_process);
    }
    return 0;
}

void ctl_server_get_stats(const struct ctl_server *server, struct ctl_server_stats *stats)
{
    memset(stats, 0, sizeof *stats);
    stats->conns = atomic_load_explicit(&server->stat_conns, memory_order_relaxed);
    stats->buffered = atomic_load_explicit(&server->stat_buffered, memory_order_relaxed);
    stats->max_conns = server->max_conns;
    stats->max_conns_per_process = server->max_per_process;
    stats->idle_timeout = server->idle_timeout_ms / 1000;
    stats->accepted = atomic_load_explicit(&server->stat_accepted, memory_order_relaxed);
    stats->accept_errors = atomic_load_explicit(&server->stat_accept_errors,
                                                memory_order_relaxed);
    for (int r = 0; r < CTL_CLOSE_N_REASONS; r++) {
        stats->closed[r] = atomic_load_explicit(&server->stat_closed[r], memory_order_relaxed);
    }
}

void ctl_server_close(struct ctl_server *server)
{
    struct stat st;

    if (!server || server->closing) {
        return;
    }
    server->closing = true;
    ctl_log_unlogged(server, UINT64_MAX);
    while (server->conns) {
        ctl_conn_close(server->conns);
    }
    /* Another vswitchd may have replaced a socket it found dead: leave that one alone. */
    if (server->tmp_path) {
        unlink(server->tmp_path);
    } else if (!stat(server->path, &st) && st.st_dev == server->dev &&
               st.st_ino == server->ino) {
        unlink(server->path);
    }
    if (server->sweeping) {
        uv_close((uv_handle_t *) &server->sweep, server_handle_closed);
    }
    uv_close((uv_handle_t *) &server->listener, server_handle_closed);
}
