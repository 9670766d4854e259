/* Start-up: what the database holds goes back into the datapath before the datapath thread
 * starts and before the control socket accepts clients, so no packet meets a half-restored
 * switch.  Whatever no longer fits the configuration (a port or VIP outside a changed
 * --pod-cidr, a peer without --node-ip) is logged and left in the database for del-port,
 * del-lb or del-peer to remove.
 *
 * Thread: the control thread, before the datapath thread starts. */
#ifndef VSWITCH_DAEMON_RESTORE_H
#define VSWITCH_DAEMON_RESTORE_H 1

#include <stddef.h>

#include "daemon/vswitchd.h"

/* Attaches every port stored in the database to the datapath, marked down if its device is
 * missing.  A port that cannot be attached is logged and left in the database.  Returns the
 * number attached, or a negative errno with a message in 'err' if the database is
 * unreadable. */
int restore_ports(struct vswitchd *, char *err, size_t errlen);

/* Installs every policy stored in the database in the datapath.  A policy that no longer fits
 * the configuration (its VIP is now inside --pod-cidr) is logged and left in the database.
 * Returns the number installed, or a negative errno with a message in 'err' if the database
 * is unreadable. */
int restore_policies(struct vswitchd *, char *err, size_t errlen);

/* Restores every peer stored in the database in the datapath, as the policies.  Without an
 * overlay (no --node-ip) the stored peers are kept but not installed. */
int restore_peers(struct vswitchd *, char *err, size_t errlen);

#endif
