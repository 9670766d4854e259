/* The kernel fast path as the datapath uses it: the switch decides, the kernel executes.
 *
 * A flow-cache entry whose flow is established (TCP past its handshake, UDP answered; a flow
 * of no pair once it hits the cache without SYN, FIN or RST) is translated (offload-xlate.h)
 * and installed in the tc program's map (offload.h) when both its ports carry the program.
 * The entry stays the one object: it owns the kernel flow and its counter slot (the slot is
 * the entry's index), the kernel's packets, bytes and last-seen time are merged back into the
 * entry, its flow pair (ct_update(), so states, assured bits and idle timeouts go on), and its
 * policy's hits; removing the entry for any reason (idle, eviction, flush, a policy, backend
 * or port change) removes the kernel flow at once (flow_cache.on_remove).  Flow pairs that
 * go away by themselves (expired, evicted) are noticed at the next housekeeping round.
 *
 * Only veth ports carry the program (clsact ingress of the host end, plus the AF_PACKET
 * socket filter that keeps the two tiers apart, see fastpath.bpf.c): a TAP pod's device
 * moves into the pod's netns, where neither its ifindex nor a redirect from the node's netns
 * reaches it, and the host port stays in user space.  The overlay is the device that holds
 * the node's address (--node-ip): fp_tc_vxlan at its ingress executes flows from peers, and
 * flows to peers leave through it, encapsulated by the program at the pod's port.
 *
 * Threads: dp_offload_open(), _close(), _port_prepare() and _port_release() on the control
 * thread (before dp_start() or around a port's open and close); the rest on the datapath
 * thread. */
#ifndef VSWITCH_DP_DP_OFFLOAD_H
#define VSWITCH_DP_DP_OFFLOAD_H 1

#include <stdbool.h>
#include <stdint.h>

#include "dp/dp-state.h"

/* Loads the program and opens or adopts the maps, sized for the flow cache, and hooks the
 * cache.  If the kernel refuses, logs why once and leaves dp->fast NULL: user space alone.
 * Before dp_start(). */
void dp_offload_open(struct dp *);
/* Frees the process's handles; the attachments and pinned maps stay for the next vswitchd
 * (installed flows keep forwarding).  Accepts a dp without fast path. */
void dp_offload_close(struct dp *);
/* Flows adopted from the pinned maps were installed by the previous vswitchd, whose cache
 * entries are gone: once the ports are back, they are removed, so their next packets come
 * up and are decided (and installed) again.  Before dp_start(). */
void dp_offload_forget_adopted(struct dp *);

/* Before a port called 'name' of 'type' is opened: attaches the program to a veth and
 * returns the socket filter its socket must carry, or -1 (another type, fast path off, or
 * the kernel refused: logged).  Without fast path, removes a program a previous vswitchd
 * may have left on the device.  Control thread. */
int dp_offload_port_prepare(struct dp *, enum dp_port_type, const char *name);
/* After the port was closed, or when it could not be opened: detaches the program. */
void dp_offload_port_release(struct dp *, enum dp_port_type, const char *name);

/* A packet hit cached 'flow' and was executed: installs the flow if it is now established.
 * Cheap when it is installed already or never will be. */
void dp_offload_hit(struct dp *, struct flow_entry *, const struct packet *);
/* Merges the kernel's counters into the entries, pairs and policies, and removes kernel
 * flows whose flow pair is gone.  Housekeeping, and before flows are shown. */
void dp_offload_sync(struct dp *);
/* True if 'flow' is executed in the kernel. */
bool dp_offload_installed(const struct flow_entry *);

struct dp_offload_stats {
    bool on;                        /* The fast path is loaded. */
    uint64_t flows;                 /* Flows installed in the kernel. */
    uint64_t packets;               /* Packets the kernel executed (since the maps exist). */
};
void dp_offload_stats(struct dp *, struct dp_offload_stats *);

#endif
