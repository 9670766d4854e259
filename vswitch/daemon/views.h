/* The replies that show the switch's state: show, dump-flows and dump-policies, and the
 * Port, Peer and Policy messages that add-port, add-peer and add-lb send back.  Each takes
 * fresh snapshots from the datapath (and the database's pod metadata for ports); nothing is
 * kept between requests.
 *
 * Thread: the control thread. */
#ifndef VSWITCH_DAEMON_VIEWS_H
#define VSWITCH_DAEMON_VIEWS_H 1

#include "daemon/db.h"
#include "daemon/vswitchd.h"
#include "lib/lb-config.h"
#include "lib/types.h"
#include "proto/vswitch.pb-c.h"

/* The Responses of show, dump-flows and dump-policies: a reply, or an error Response if the
 * datapath or the database cannot be listed.  Never NULL; the caller frees them with
 * ctl_msg_response_free(). */
Vswitch__Response *view_show(struct vswitchd *);
Vswitch__Response *view_dump_flows(struct vswitchd *);
Vswitch__Response *view_dump_policies(struct vswitchd *);

/* The datapath's view of port 'name' with the pod metadata of 'row', of the peer
 * 'node_ip', or NULL if the datapath has none (or cannot list them). */
Vswitch__Port *view_port(struct vswitchd *, const char *name, const struct db_port *row);
Vswitch__Peer *view_peer(struct vswitchd *, be32 node_ip);

/* Policy 'p' as installed, without counters. */
Vswitch__Policy *view_policy(const struct vswitchd *, const struct lb_config *p);

#endif
