/* Masquerade of pod traffic leaving the cluster (--cluster-cidr, --masquerade): as flannel's
 * ip-masq, a packet from the cluster CIDR to a destination outside the cluster CIDR and the
 * service CIDR leaves the node with the node's address as its source.
 *
 * Done by the node's kernel, with rules vswitchd programs through libnftables in the network
 * namespace it runs in, in a table of its own (ip vswitch): the kernel's NAT picks source
 * ports against every connection it tracks, the node's own sockets included, so a
 * translated port never collides with one of them, and the answers are translated back by
 * the same conntrack before they are routed to the host port.  A switch-side SNAT would have
 * to reserve ports from the node's stack to promise the same.
 *
 * Called on the control thread. */
#ifndef VSWITCH_DAEMON_MASQUERADE_H
#define VSWITCH_DAEMON_MASQUERADE_H 1

#include <stddef.h>

struct vswitchd_config;

/* The nftables table vswitchd owns: replaced whole on every sync, never anything else. */
#define MASQUERADE_TABLE "vswitch"

/* Writes the nftables script that makes the node's rules what 'cfg' asks for into 'buf':
 * the table with its masquerade rule when cfg->masquerade, else the table's removal.  Each
 * is one transaction, so the node is never without its rule for a moment.  Returns the
 * length, or a negative errno if 'buf' is too small. */
int masquerade_script(const struct vswitchd_config *cfg, char *buf, size_t size);

/* Applies masquerade_script() with libnftables.  Returns 0 or a negative errno with nft's
 * own message in 'err'. */
int masquerade_sync(const struct vswitchd_config *cfg, char *err, size_t errlen);

#endif
