/* The control transaction: what vswitchd does for a Batch (the proxy's sync), and for the
 * single-change commands built on it (add-peer, del-peer).  Every operation is checked
 * first (daemon/batch-config.h) and nothing is applied if one fails; then all are written to
 * the database in one transaction, applied to the datapath in order, and the transaction is
 * committed.  If the datapath refuses an operation or the commit fails, the datapath changes
 * already made are undone in reverse order and the transaction rolled back, so the datapath,
 * the database and what the client is told agree.
 *
 * It is the layer above the datapath for every policy and peer change: the handlers
 * (handlers.h) and the single-policy commands (policy.h) call it, it calls the database and
 * the datapath, never the other way round.
 *
 * Thread: the control thread. */
#ifndef VSWITCH_DAEMON_TXN_H
#define VSWITCH_DAEMON_TXN_H 1

#include <stddef.h>

#include "daemon/vswitchd.h"
#include "dp/dp.h"
#include "lib/lb-config.h"
#include "proto/vswitch.pb-c.h"

struct txn_result {
    size_t applied;             /* Operations applied: all of them on success. */
    size_t unchanged;           /* Adds that found their result in place already. */
    size_t absent;              /* Deletes of what did not exist. */
    size_t replaced;            /* Adds that replaced what their key held. */
    size_t failed_op;           /* On failure, the operation at fault, from 1; 0: none. */
};

/* Checks and applies 'msg' for 'vd'.  'single': the batch stands for one command, so
 * messages do not name the operation and a delete of what does not exist fails with
 * -ENOENT; otherwise messages start "op N (add-lb 10.96.0.1:80/tcp): " and such a delete
 * succeeds.  Returns 0, or a negative errno with the reason in 'err' and nothing changed. */
int txn_apply(struct vswitchd *vd, const Vswitch__Batch *msg, bool single,
              struct txn_result *result, char *err, size_t errlen);

/* The datapath's form of policy 'p'; free spec->backends afterwards. */
void txn_policy_spec(const struct lb_config *p, struct dp_lb_spec *spec);

/* Creates or replaces the policy 'p' (validated) in the datapath, outside any transaction:
 * the step a transaction takes, and undoes, for one policy.  Returns 0 or a negative errno
 * with the datapath's reason in 'err'. */
int txn_policy_install(struct vswitchd *, const struct lb_config *p, char *err, size_t errlen);

#endif
