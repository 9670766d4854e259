/* The load-balancing policy of one service, as add-lb and del-lb change it: checked against
 * this node, applied to the datapath and the database in the order that keeps them
 * consistent, and logged.  The handlers (handlers.h) call it and build the replies; it calls
 * the transaction layer (txn.h) for the datapath's form of a policy.
 *
 * Order of changes: add-lb installs in the datapath first (it is what can fail for reasons only
 * the datapath knows) and commits the database row second, putting back what the datapath had
 * if the commit fails, so success is answered only once the policy is both working and
 * durable.  del-lb removes the row first, so success means the policy will not come back on
 * restart.
 *
 * Thread: the control thread. */
#ifndef VSWITCH_DAEMON_POLICY_H
#define VSWITCH_DAEMON_POLICY_H 1

#include <stdbool.h>
#include <stddef.h>

#include "daemon/vswitchd.h"
#include "lib/lb-config.h"
#include "proto/vswitch.pb-c.h"

/* This node as add-lb checks a service against it. */
struct lb_config_env policy_env(const struct vswitchd *);

/* Creates or replaces the policy 'req' asks for.  On success fills '*p' (free it with
 * lb_config_destroy()) and '*replaced'.  Returns 0, or a negative errno with the whole
 * message for the client in 'err' and nothing changed. */
int policy_add(struct vswitchd *, const Vswitch__AddLb *req, struct lb_config *p,
               bool *replaced, char *err, size_t errlen);

/* Deletes the policy of 'service' ("VIP:PORT/PROTO", checked for syntax only, so that a
 * policy stored under an older --pod-cidr stays removable).  Returns 0, -ENOENT if there is
 * none, or another negative errno; the message for the client is in 'err'. */
int policy_delete(struct vswitchd *, const char *service, char *err, size_t errlen);

#endif
