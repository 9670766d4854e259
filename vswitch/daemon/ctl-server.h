/* The control socket of vswitchd: a unix-socket server on the control thread's libuv loop that
 * turns framed Requests into calls of a handler and sends back its Responses.
 *
 * It is the daemon's trust boundary: any byte stream from any client must leave the daemon
 * running and other clients served.  Malformed requests get an error Response; a frame over
 * the size limit gets one too, then the connection is closed (the stream cannot be resynced);
 * a client that stops reading its replies is dropped once its queue passes a bound.
 *
 * Thread: the control thread (the loop's). */
#ifndef VSWITCH_DAEMON_CTL_SERVER_H
#define VSWITCH_DAEMON_CTL_SERVER_H 1

#include <stddef.h>
#include <sys/types.h>
#include <uv.h>

#include "proto/vswitch.pb-c.h"

struct ctl_server;

/* Handles one request and returns its Response (ownership passes to the server, which frees
 * it with ctl_msg_response_free()).  Never NULL. */
typedef Vswitch__Response *ctl_server_handler(const Vswitch__Request *, void *aux);

/* Creates the socket at 'path' (and its directory) without accepting yet, so that start-up can
 * fail early: if another vswitchd answers on 'path' this fails with -EADDRINUSE; a stale
 * socket file is replaced.  The socket is mode 0600, or 0660 owned by group 'gid' unless
 * 'gid' is (gid_t) -1.  Returns 0 or a negative errno with a message in 'err'. */
int ctl_server_open(uv_loop_t *, const char *path, gid_t gid, ctl_server_handler *,
                    void *aux, struct ctl_server **, char *err, size_t errlen);

/* Starts accepting clients.  Returns 0 or a negative errno with a message in 'err'. */
int ctl_server_start(struct ctl_server *, char *err, size_t errlen);

/* Disconnects every client, closes and removes the socket.  The memory is released by the
 * loop's close callbacks: run the loop until it has no handles left.  Accepts NULL. */
void ctl_server_close(struct ctl_server *);

#endif
