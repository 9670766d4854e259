/* Control-protocol client; see ctl-client.h.
 *
 * The socket is non-blocking and every wait goes through poll() against one deadline per
 * transact(), so a daemon that stops answering halfway through a reply cannot hang a client
 * (the CNI runtime kills plugins that hang, leaving a half-built pod behind). */
#include "lib/ctl-client.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/ctl-msg.h"
#include "lib/util.h"

struct ctl_client {
    int fd;
    int timeout_ms;
    char *path;
};

const char *ctl_client_default_path(void)
{
    const char *env = getenv(CTL_ENV_PATH);

    return env && *env ? env : CTL_DEFAULT_PATH;
}

static const char *connect_hint(int error)
{
    switch (error) {
    case ENOENT:
    case ECONNREFUSED:
        return " (is vswitchd running?)";
    case EACCES:
    case EPERM:
        return " (run as root, or as a member of vswitchd's --ctl-group)";
    case EAGAIN:
        return " (vswitchd is not accepting connections: busy or stuck?)";
    default:
        return "";
    }
}

int ctl_client_connect(const char *path, int timeout_ms, struct ctl_client **clientp,
                       char *err, size_t errlen)
{
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    struct ctl_client *client;
    struct timeval tv;
    int fd, error;

    *clientp = NULL;
    if (timeout_ms <= 0) {
        timeout_ms = CTL_DEFAULT_TIMEOUT_MS;
    }
    if (strlen(path) >= sizeof sun.sun_path) {
        snprintf(err, errlen, "cannot connect to vswitchd at %s: socket path longer than %zu "
                 "bytes", path, sizeof sun.sun_path - 1);
        return -ENAMETOOLONG;
    }
    memcpy(sun.sun_path, path, strlen(path) + 1);

    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        error = errno;
        snprintf(err, errlen, "cannot create a socket: %s", strerror(error));
        return -error;
    }
    /* A unix-socket connect waits for room in a full listen backlog for up to the send
     * timeout, which bounds the one wait poll() cannot. */
    tv.tv_sec = timeout_ms / 1000;
    tv.tv_usec = timeout_ms % 1000 * 1000;
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *) &sun, sizeof sun) < 0) {
        error = errno == EINPROGRESS ? EAGAIN : errno;
        snprintf(err, errlen, "cannot connect to vswitchd at %s: %s%s", path, strerror(error),
                 connect_hint(error));
        close(fd);
        return -error;
    }
    if (fcntl(fd, F_SETFL, O_NONBLOCK) < 0) {
        error = errno;
        snprintf(err, errlen, "cannot set the socket non-blocking: %s", strerror(error));
        close(fd);
        return -error;
    }

    client = xmalloc(sizeof *client);
    client->fd = fd;
    client->timeout_ms = timeout_ms;
    client->path = xstrdup(path);
    *clientp = client;
    return 0;
}

int ctl_client_fd(const struct ctl_client *client)
{
    return client->fd;
}

void ctl_client_close(struct ctl_client *client)
{
    if (client) {
        close(client->fd);
        free(client->path);
        free(client);
    }
}

/* Waits until 'fd' is ready for 'events' or 'deadline' (time_msec()) passes.  Returns 0 or
 * -ETIMEDOUT. */
static int wait_fd(int fd, short events, uint64_t deadline)
{
    for (;;) {
        struct pollfd pfd = { .fd = fd, .events = events };
        uint64_t now = time_msec();
        int n;

        if (now >= deadline) {
            return -ETIMEDOUT;
        }
        n = poll(&pfd, 1, deadline - now);
        if (n > 0) {
            return 0;
        } else if (n < 0 && errno != EINTR) {
            return -errno;
        }
    }
}

static int send_all(int fd, const uint8_t *data, size_t len, uint64_t deadline)
{
    while (len) {
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL);

        if (n > 0) {
            data += n;
            len -= n;
        } else if (errno == EAGAIN) {
            int error = wait_fd(fd, POLLOUT, deadline);

            if (error) {
                return error;
            }
        } else if (errno != EINTR) {
            return -errno;
        }
    }
    return 0;
}

/* Returns 0, -EPIPE on end of stream, -ETIMEDOUT or another negative errno. */
static int recv_all(int fd, uint8_t *data, size_t len, uint64_t deadline)
{
    while (len) {
        ssize_t n = recv(fd, data, len, 0);

        if (n > 0) {
            data += n;
            len -= n;
        } else if (n == 0) {
            return -EPIPE;
        } else if (errno == EAGAIN) {
            int error = wait_fd(fd, POLLIN, deadline);

            if (error) {
                return error;
            }
        } else if (errno != EINTR) {
            return -errno;
        }
    }
    return 0;
}

static void io_error(const struct ctl_client *client, int error, const char *what,
                     char *err, size_t errlen)
{
    if (error == -ETIMEDOUT) {
        snprintf(err, errlen, "vswitchd at %s did not answer within %d.%03d s", client->path,
                 client->timeout_ms / 1000, client->timeout_ms % 1000);
    } else if (error == -EPIPE || error == -ECONNRESET) {
        snprintf(err, errlen, "vswitchd at %s closed the connection while %s", client->path,
                 what);
    } else {
        snprintf(err, errlen, "error talking to vswitchd at %s while %s: %s", client->path,
                 what, strerror(-error));
    }
}

int ctl_client_transact(struct ctl_client *client, const Vswitch__Request *req,
                        Vswitch__Response **respp, char *err, size_t errlen)
{
    uint64_t deadline = time_msec() + client->timeout_ms;
    uint8_t hdr[CTL_MSG_HDR_LEN];
    uint8_t *frame, *body;
    uint32_t body_len;
    size_t len;
    int error;

    *respp = NULL;
    error = ctl_msg_frame(&req->base, CTL_MSG_MAX_REQUEST, &frame, &len);
    if (error) {
        snprintf(err, errlen, "request too large (more than %u bytes)", CTL_MSG_MAX_REQUEST);
        return error;
    }
    error = send_all(client->fd, frame, len, deadline);
    free(frame);
    if (error) {
        io_error(client, error, "sending the request", err, errlen);
        return error;
    }

    error = recv_all(client->fd, hdr, sizeof hdr, deadline);
    if (error) {
        io_error(client, error, "waiting for the reply", err, errlen);
        return error;
    }
    body_len = ctl_msg_hdr_len(hdr);
    if (body_len > CTL_MSG_MAX_REPLY) {
        snprintf(err, errlen, "reply from vswitchd at %s announces %u bytes, more than the "
                 "maximum %u", client->path, body_len, CTL_MSG_MAX_REPLY);
        return -EMSGSIZE;
    }
    body = xmalloc(body_len);
    error = recv_all(client->fd, body, body_len, deadline);
    if (error) {
        io_error(client, error, "reading the reply", err, errlen);
    } else if (ctl_msg_unpack_response(body, body_len, respp)) {
        snprintf(err, errlen, "malformed reply from vswitchd at %s", client->path);
        error = -EBADMSG;
    }
    free(body);
    return error;
}

int ctl_client_call(const char *path, int timeout_ms, const Vswitch__Request *req,
                    Vswitch__Response **respp, char *err, size_t errlen)
{
    struct ctl_client *client;
    int error;

    *respp = NULL;
    error = ctl_client_connect(path, timeout_ms, &client, err, errlen);
    if (error) {
        return error;
    }
    error = ctl_client_transact(client, req, respp, err, errlen);
    ctl_client_close(client);
    if (!error && (*respp)->status) {
        const Vswitch__Response *resp = *respp;

        snprintf(err, errlen, "%s", *resp->error ? resp->error : strerror(resp->status));
        error = resp->status > 0 ? -resp->status : -EPROTO;
    }
    return error;
}
