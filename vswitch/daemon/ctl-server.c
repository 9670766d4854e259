/* The control socket server; see ctl-server.h.
 *
 * Requests on one connection are answered in order, synchronously in the read callback: a
 * handler is quick (a database commit, a command to the datapath thread), and doing one thing
 * at a time keeps every change atomic with respect to every other client. */
#include "daemon/ctl-server.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define LOG_MODULE "ctl"
#include "daemon/fs-util.h"
#include "lib/ctl-msg.h"
#include "lib/log.h"
#include "lib/util.h"

/* Bytes of replies a client may leave unread before it is dropped.  One reply of any size is
 * always accepted onto an empty queue, so a big dump is never refused for its size alone. */
#define CTL_CONN_MAX_QUEUED (4u << 20)
/* Connections beyond this are closed as soon as accepted: each costs a descriptor. */
#define CTL_MAX_CONNS 1024
#define CTL_READ_BUF 16384

struct ctl_server {
    uv_pipe_t listener;
    uv_loop_t *loop;
    char *path;
    dev_t dev;                  /* Of the socket file, to remove only our own at close. */
    ino_t ino;
    ctl_server_handler *handler;
    void *aux;
    struct ctl_conn *conns;     /* Doubly linked list of open connections. */
    size_t n_conns;
    size_t n_handles;           /* Listener + connections not yet closed. */
    bool closing;
};

struct ctl_conn {
    uv_pipe_t pipe;
    struct ctl_server *server;
    struct ctl_conn *prev, *next;
    struct ctl_msg_decoder decoder;
    size_t queued;              /* Bytes of replies handed to libuv and not yet written. */
    bool closing;
    bool close_when_flushed;
    char rbuf[CTL_READ_BUF];
};

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

static void conn_close(struct ctl_conn *conn)
{
    struct ctl_server *server = conn->server;

    if (conn->closing) {
        return;
    }
    conn->closing = true;
    if (conn->prev) {
        conn->prev->next = conn->next;
    } else {
        server->conns = conn->next;
    }
    if (conn->next) {
        conn->next->prev = conn->prev;
    }
    server->n_conns--;
    uv_close((uv_handle_t *) &conn->pipe, conn_closed);
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
    if (status < 0) {
        LOG_DBG("client write failed: %s", uv_strerror(status));
        conn_close(conn);
    } else if (conn->close_when_flushed && !conn->queued) {
        conn_close(conn);
    }
}

/* Queues 'resp' to the client and frees it. */
static void conn_send(struct ctl_conn *conn, Vswitch__Response *resp)
{
    struct ctl_write *w;
    uint8_t *frame;
    size_t len;
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
        LOG_WARN("dropping a client that left %zu bytes of replies unread", conn->queued);
        free(frame);
        conn_close(conn);
        return;
    }

    w = xmalloc(sizeof *w);
    w->req.data = w;
    w->conn = conn;
    w->len = len;
    w->frame = frame;
    buf = uv_buf_init((char *) frame, len);
    error = uv_write(&w->req, (uv_stream_t *) &conn->pipe, &buf, 1, write_done);
    if (error) {
        LOG_DBG("client write failed: %s", uv_strerror(error));
        free(frame);
        free(w);
        conn_close(conn);
        return;
    }
    conn->queued += len;
}

static void conn_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
    struct ctl_conn *conn = handle->data;

    *buf = uv_buf_init(conn->rbuf, sizeof conn->rbuf);
}

static void conn_handle_frames(struct ctl_conn *conn)
{
    struct ctl_server *server = conn->server;
    const uint8_t *body;
    size_t len;
    int n;

    while (!conn->closing && (n = ctl_msg_decoder_next(&conn->decoder, &body, &len))) {
        Vswitch__Request *req;
        Vswitch__Response *resp;

        if (n < 0) {
            /* The frame's end is unknown, so nothing after it can be read: answer, then
             * hang up once the answer is out. */
            LOG_WARN("client sent a request over %u bytes; closing its connection",
                     CTL_MSG_MAX_REQUEST);
            uv_read_stop((uv_stream_t *) &conn->pipe);
            conn->close_when_flushed = true;
            conn_send(conn, ctl_msg_response_error(-EMSGSIZE, "request exceeds the maximum "
                                                   "of %u bytes", CTL_MSG_MAX_REQUEST));
            return;
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
    }
}

static void conn_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    struct ctl_conn *conn = stream->data;

    if (nread < 0) {
        if (nread != UV_EOF) {
            LOG_DBG("client read failed: %s", uv_strerror(nread));
        } else if (ctl_msg_decoder_pending(&conn->decoder)) {
            LOG_DBG("client hung up in the middle of a request");
        }
        conn_close(conn);
        return;
    }
    if (nread > 0) {
        ctl_msg_decoder_feed(&conn->decoder, buf->base, nread);
        conn_handle_frames(conn);
    }
}

static void on_connection(uv_stream_t *listener, int status)
{
    struct ctl_server *server = listener->data;
    struct ctl_conn *conn;
    int error;

    if (status < 0) {
        LOG_WARN("accepting a client failed: %s", uv_strerror(status));
        return;
    }
    conn = xcalloc(1, sizeof *conn);
    conn->server = server;
    ctl_msg_decoder_init(&conn->decoder, CTL_MSG_MAX_REQUEST);
    uv_pipe_init(server->loop, &conn->pipe, 0);
    conn->pipe.data = conn;
    server->n_handles++;
    conn->next = server->conns;
    if (server->conns) {
        server->conns->prev = conn;
    }
    server->conns = conn;
    server->n_conns++;

    error = uv_accept(listener, (uv_stream_t *) &conn->pipe);
    if (error) {
        LOG_WARN("accepting a client failed: %s", uv_strerror(error));
        conn_close(conn);
        return;
    }
    if (server->n_conns > CTL_MAX_CONNS) {
        LOG_WARN("more than %d control clients; refusing one", CTL_MAX_CONNS);
        conn_close(conn);
        return;
    }
    error = uv_read_start((uv_stream_t *) &conn->pipe, conn_alloc, conn_read);
    if (error) {
        LOG_WARN("reading from a client failed: %s", uv_strerror(error));
        conn_close(conn);
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

static void listener_closed(uv_handle_t *handle)
{
    server_unref(handle->data);
}

int ctl_server_open(uv_loop_t *loop, const char *path, gid_t gid, ctl_server_handler *handler,
                    void *aux, struct ctl_server **serverp, char *err, size_t errlen)
{
    struct sockaddr_un sun;
    struct ctl_server *server;
    mode_t mode = gid == (gid_t) -1 ? 0600 : 0660;
    mode_t old_umask;
    struct stat st;
    int error;

    *serverp = NULL;
    if (strlen(path) >= sizeof sun.sun_path) {
        snprintf(err, errlen, "control socket path %s is longer than %zu bytes", path,
                 sizeof sun.sun_path - 1);
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
    server->handler = handler;
    server->aux = aux;
    uv_pipe_init(loop, &server->listener, 0);
    server->listener.data = server;
    server->n_handles = 1;

    /* The umask makes the socket private from its creation, before the chmod below widens
     * it to the group: no moment exists where others could connect. */
    old_umask = umask(0177);
    error = uv_pipe_bind(&server->listener, path);
    umask(old_umask);
    if (error) {
        snprintf(err, errlen, "cannot create control socket %s: %s", path, uv_strerror(error));
        goto error;
    }
    if (gid != (gid_t) -1 && chown(path, (uid_t) -1, gid) < 0) {
        error = -errno;
        snprintf(err, errlen, "cannot give control socket %s to group %u: %s", path,
                 (unsigned) gid, strerror(errno));
        goto error_unlink;
    }
    if (chmod(path, mode) < 0 || stat(path, &st) < 0) {
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
    unlink(path);
error:
    server->closing = true;
    uv_close((uv_handle_t *) &server->listener, listener_closed);
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
    LOG_INFO("listening on %s", server->path);
    return 0;
}

void ctl_server_close(struct ctl_server *server)
{
    struct stat st;

    if (!server || server->closing) {
        return;
    }
    server->closing = true;
    while (server->conns) {
        conn_close(server->conns);
    }
    /* Another vswitchd may have replaced a socket it found dead: leave that one alone. */
    if (!stat(server->path, &st) && st.st_dev == server->dev && st.st_ino == server->ino) {
        unlink(server->path);
    }
    uv_close((uv_handle_t *) &server->listener, listener_closed);
}
