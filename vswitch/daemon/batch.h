/* Transactional change sets: what vswitchd does for a Batch (the proxy's sync), and for the
 * single-change commands built on it (add-peer, del-peer).  Every operation is checked
 * first (lib/batch-config.h) and nothing is applied if one fails; then all are written to
 * the database in one transaction, applied to the datapath in order, and the transaction is
 * committed.  If the datapath refuses an operation or the commit fails, the datapath changes
 * already made are undone in reverse order and the transaction rolled back, so the datapath,
 * the database and what the client is told agree.
 *
 * Thread: the control thread. */
#ifndef VSWITCH_DAEMON_BATCH_H
#define VSWITCH_DAEMON_BATCH_H 1

#include <stddef.h>

#include "daemon/vswitchd.h"
#include "proto/vswitch.pb-c.h"

struct batch_result {
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
int batch_apply(struct vswitchd *vd, const Vswitch__Batch *msg, bool single,
                struct batch_result *result, char *err, size_t errlen);

#endif
