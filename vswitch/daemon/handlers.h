/* What vswitchd does for each control request: one handler per command, which checks the
 * request, has the layer below carry it out and builds the Response.  The control server
 * (ctl-server.h) calls handlers_handle().
 *
 * Calls flow one way, from here down: the handlers use the views (views.h) to show state,
 * the policy layer (policy.h) for add-lb and del-lb, and the control transaction (txn.h) for
 * batches and peers; those call the database and the datapath.
 *
 * Thread: the control thread. */
#ifndef VSWITCH_DAEMON_HANDLERS_H
#define VSWITCH_DAEMON_HANDLERS_H 1

#include "proto/vswitch.pb-c.h"

/* Handles 'req' for 'vd' (a struct vswitchd *, as a ctl_server_handler).  Returns a Response
 * the caller frees with ctl_msg_response_free(); never NULL. */
Vswitch__Response *handlers_handle(const Vswitch__Request *req, void *vd);

#endif
