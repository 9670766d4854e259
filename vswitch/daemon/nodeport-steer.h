/* The NodePort steering program (dp/bpf/nodeport.bpf.c) from user space: load it, attach it
 * at clsact ingress of the node's uplinks, fill its table of (node address, NodePort,
 * protocol), read its counters, and take it away again.
 *
 * The program only steers: frames for a NodePort on a node address go to the host port,
 * where the switch balances them; it holds no translation.  It is attached with cls_bpf
 * through netlink under a fixed handle and priority of its own (beside the fast path's), so
 * that a restarted vswitchd replaces its predecessor's filter in place.
 *
 * Control thread. */
#ifndef VSWITCH_DAEMON_NODEPORT_STEER_H
#define VSWITCH_DAEMON_NODEPORT_STEER_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/addr.h"
#include "lib/types.h"

struct np_steer;

/* One NodePort on one node address (network order, as packets carry them). */
struct np_steer_entry {
    be32 addr;
    be16 port;
    uint8_t proto;
};

/* Loads the program; steered frames go to 'host_ifindex', from 'host_mac' to 'router_mac'.
 * Returns 0, or a negative errno with the kernel's or libbpf's reason in 'err'. */
int np_steer_open(unsigned int host_ifindex, struct eth_addr host_mac,
                  struct eth_addr router_mac, struct np_steer **, char *err, size_t errlen);
/* Accepts NULL.  Detaches nothing: see np_steer_detach(). */
void np_steer_close(struct np_steer *);

/* Attaches the program at 'ifindex''s clsact ingress, or egress with 'egress' (the loopback
 * device, which carries the node's packets to its own addresses), creating the qdisc if
 * needed and replacing a filter of ours left there.  Returns 0 or a negative errno with a
 * message. */
int np_steer_attach(struct np_steer *, int ifindex, bool egress, char *err, size_t errlen);
/* Removes our filter from that hook of 'ifindex', if there; the clsact qdisc stays (others
 * may use it).  Needs no loaded program.  Returns 0 (also when there was none) or a
 * negative errno. */
int np_steer_detach(int ifindex, bool egress);

/* Makes the table exactly 'entries' (of 'n'; at most NP_MAX_KEYS are kept).  Returns 0 or
 * the first failure's negative errno. */
int np_steer_set(struct np_steer *, const struct np_steer_entry *entries, size_t n);

/* The program's counters, summed over the CPUs. */
struct np_steer_stats {
    uint64_t steered;               /* Frames redirected into the switch. */
    uint64_t own_socket;            /* Frames to a NodePort left to a connection of the
                                     * node's own. */
};
void np_steer_stats(const struct np_steer *, struct np_steer_stats *);

/* The tc program's fd, for running it under BPF_PROG_TEST_RUN (tests). */
int np_steer_prog_fd(const struct np_steer *);

#endif
