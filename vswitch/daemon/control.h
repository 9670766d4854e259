/* What vswitchd does for each control command: validates it against the configuration, applies
 * it to the datapath and the database in the order that keeps them consistent, and builds the
 * Response.  The control server (ctl-server.h) calls control_handle(); start-up calls
 * control_restore_ports(), control_restore_policies() and control_restore_peers() before the
 * datapath thread starts.  Batches and the peer commands go through batch.h.
 *
 * Thread: the control thread. */
#ifndef VSWITCH_DAEMON_CONTROL_H
#define VSWITCH_DAEMON_CONTROL_H 1

#include "daemon/vswitchd.h"
#include "dp/dp.h"
#include "lib/lb-config.h"
#include "proto/vswitch.pb-c.h"

/* Handles 'req' for 'vd' (a struct vswitchd *, as a ctl_server_handler).  Returns a Response
 * the caller frees with ctl_msg_response_free(); never NULL. */
Vswitch__Response *control_handle(const Vswitch__Request *req, void *vd);

/* Attaches every port stored in the database to the datapath, marked down if its device is
 * missing.  A port that cannot be attached is logged and left in the database.  Returns the
 * number attached, or a negative errno with a message in 'err' if the database is
 * unreadable. */
int control_restore_ports(struct vswitchd *, char *err, size_t errlen);

/* Installs every policy stored in the database in the datapath.  A policy that no longer fits
 * the configuration (its VIP is now inside --pod-cidr) is logged and left in the database.
 * Returns the number installed, or a negative errno with a message in 'err' if the database
 * is unreadable. */
int control_restore_policies(struct vswitchd *, char *err, size_t errlen);

/* Restores every peer stored in the database in the datapath, as the policies.  Without an
 * overlay (no --node-ip) the stored peers are kept but not installed. */
int control_restore_peers(struct vswitchd *, char *err, size_t errlen);

/* The datapath's form of policy 'p'; free spec->backends afterwards. */
void control_policy_spec(const struct lb_config *p, struct dp_lb_spec *spec);

/* Creates or replaces the policy 'p' (validated) in the datapath.  Returns 0 or a negative
 * errno with the datapath's reason in 'err'. */
int control_policy_install(struct vswitchd *, const struct lb_config *p, char *err,
                           size_t errlen);

#endif
