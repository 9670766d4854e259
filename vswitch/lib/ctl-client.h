/* The client side of the control protocol: the one library that vsctl, the CNI plugin and the
 * proxy use to talk to vswitchd.
 *
 * Blocking, with a deadline per call, and no event loop: a short-lived CLI or plugin wants one
 * request and one answer; a long-running client keeps a connection and calls transact() from
 * one thread at a time.  Every failure comes with a message meant for the end user ("cannot
 * connect to vswitchd at PATH: ... (is vswitchd running?)"). */
#ifndef VSWITCH_LIB_CTL_CLIENT_H
#define VSWITCH_LIB_CTL_CLIENT_H 1

#include <stddef.h>

#include "proto/vswitch.pb-c.h"

#define CTL_DEFAULT_PATH "/run/vswitch/vswitchd.sock"
#define CTL_ENV_PATH "VSWITCH_CTL"
#define CTL_DEFAULT_TIMEOUT_MS 30000

struct ctl_client;

/* The socket path a client uses when none is given: $VSWITCH_CTL, else CTL_DEFAULT_PATH. */
const char *ctl_client_default_path(void);

/* Connects to the daemon listening on 'path'.  Returns 0 with '*client' set, or a negative
 * errno with the reason in 'err'.  'timeout_ms' bounds each later transact() (0: default). */
int ctl_client_connect(const char *path, int timeout_ms, struct ctl_client **client,
                       char *err, size_t errlen);

/* Sends 'req' and waits for its Response.  Returns 0 with '*resp' set (free it with
 * ctl_msg_response_free(); its 'status' says whether the command succeeded), or a negative
 * errno if the exchange itself failed (timeout, daemon gone, malformed reply), with the
 * reason in 'err'.  After a failure the connection is unusable: close it. */
int ctl_client_transact(struct ctl_client *, const Vswitch__Request *req,
                        Vswitch__Response **resp, char *err, size_t errlen);

/* The connection's socket, for a long-lived client to poll() between transactions: the daemon
 * never writes unasked, so readable (or POLLHUP) means it closed the connection, e.g. because
 * it is restarting.  Only for polling: reading or writing it breaks the framing. */
int ctl_client_fd(const struct ctl_client *);

/* Accepts NULL. */
void ctl_client_close(struct ctl_client *);

/* connect + transact + close, for one-shot clients.  A Response whose status is nonzero is
 * turned into a failure: returns -status with the daemon's message in 'err', and '*resp' is
 * still set so the caller may inspect it (free it either way). */
int ctl_client_call(const char *path, int timeout_ms, const Vswitch__Request *req,
                    Vswitch__Response **resp, char *err, size_t errlen);

#endif
