/* rtnetlink helpers (libmnl) for configuring interfaces: vswitchd puts the gateway address on
 * its host port with them, and the CNI plugin reuses them for the pod side.
 *
 * Every request asks for an acknowledgement with extended acks, so a failure reports the
 * kernel's own explanation ("Invalid prefix for given prefix length") and not only an errno.
 * A socket talks to the network namespace it was opened in: callers that work in another
 * namespace open the socket after setns(), on a thread of their own (see STYLE.md). */
#ifndef VSWITCH_LIB_NETLINK_H
#define VSWITCH_LIB_NETLINK_H 1

#include <stddef.h>

#include "lib/types.h"

struct nl_sock;

/* Opens an rtnetlink socket in the caller's current network namespace.  Returns 0 or a
 * negative errno with a message in 'err'. */
int nl_open(struct nl_sock **, char *err, size_t errlen);
/* Accepts NULL. */
void nl_close(struct nl_sock *);

/* Each returns 0 or a negative errno with the reason (and the kernel's extended ack message
 * when it gave one) in 'err'.  Blocking; call from a thread that may block briefly. */

/* Sets the link administratively up. */
int nl_link_set_up(struct nl_sock *, int ifindex, char *err, size_t errlen);

/* Adds 'ip'/'prefix' to the link, or updates it in place if it is already there. */
int nl_addr_replace(struct nl_sock *, int ifindex, be32 ip, int prefix, char *err,
                    size_t errlen);

/* Removes every IPv4 address of the link other than 'keep_ip'/'keep_prefix', so that a link
 * left over from an earlier configuration holds exactly the address it should. */
int nl_addr_flush_except(struct nl_sock *, int ifindex, be32 keep_ip, int keep_prefix,
                         char *err, size_t errlen);

#endif
