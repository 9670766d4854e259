/* The user-space side of the kernel fast path (dp/bpf/fastpath.bpf.c): loads the tc program
 * and its socket filter from the embedded skeleton, pins and adopts the maps, attaches the
 * program to a port's clsact ingress, and installs, removes and reads the flows the switch has
 * decided.  It decides nothing itself.
 *
 * Lifetime: the tc attachment (a cls_bpf filter made through netlink) and the pinned maps
 * belong to the kernel, not to this process.  offload_close() leaves both in place, so the
 * installed flows keep forwarding while vswitchd is down; the next offload_open() on the same
 * pin directory adopts the maps with every flow and counter in them, and offload_attach()
 * replaces the running program with the new one atomically.  offload_unpin() and
 * offload_detach() are the explicit ways out.
 *
 * Thread: an offload may be used from one thread at a time; the maps themselves may be
 * changed while packets use them (the kernel's hash map is RCU-safe). */
#ifndef VSWITCH_DP_OFFLOAD_H
#define VSWITCH_DP_OFFLOAD_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dp/bpf/fastpath.h"

struct offload;

struct offload_config {
    const char *pin_dir;    /* A directory on a bpffs where the maps are pinned, and adopted
                             * from if already there; NULL: not pinned. */
    uint32_t max_flows;     /* Flows and counter slots; 0: FP_DEFAULT_MAX_FLOWS.  Adopting
                             * maps made with another size fails (-EINVAL). */
    bool trace;             /* Tests: record each redirect for offload_last_redirect(). */
    struct fp_tunnel_config tunnel;     /* The overlay's outer headers; all zero: no overlay
                                         * (flows to peers are refused, and the underlay
                                         * program passes everything). */
};

/* Loads and verifies the programs and creates or adopts the maps.  Returns 0 and sets '*out',
 * or a negative errno with the kernel's or libbpf's reason in 'err' (for vswitchd to log once
 * before it runs in user space alone). */
int offload_open(const struct offload_config *, struct offload **out, char *err, size_t errlen);
/* Frees the process's handles; attachments and pins stay (see above).  Accepts NULL. */
void offload_close(struct offload *);
/* True if offload_open() found every map already pinned and reused it. */
bool offload_adopted(const struct offload *);
/* Removes the pins: the maps then live only as long as an attached program or a handle. */
int offload_unpin(struct offload *);

/* Where a port's pod sends from: a veth host end receives (ingress), a TAP transmits to the
 * fd the switch reads (egress). */
enum offload_hook {
    OFFLOAD_INGRESS,
    OFFLOAD_EGRESS,
};

/* Attaches (or atomically replaces) the tc program at clsact 'hook' of 'ifindex', creating
 * the clsact qdisc if needed.  Returns 0 or a negative errno with the reason in 'err'. */
int offload_attach(struct offload *, int ifindex, enum offload_hook, char *err, size_t errlen);
/* Removes the program from 'hook' of 'ifindex' (the qdisc stays); 0 if it was not there.
 * 'o' may be NULL: the program is found by its handle, whichever vswitchd attached it. */
int offload_detach(struct offload *, int ifindex, enum offload_hook);

/* The overlay's end in the kernel: attaches (or replaces) fp_tc_vxlan at the clsact ingress
 * of the underlay device 'ifindex', the one VXLAN from peers arrives on.  Its tc filter has a
 * handle of its own and the fast path's priority, 1, ahead of NodePort steering (priority 2,
 * daemon/nodeport-steer.c, which ends the chain for what it passes), and it returns
 * TC_ACT_UNSPEC for every frame it does not execute, so that the filters after it see them.
 * Like a port's, the attachment outlives vswitchd. */
#define OFFLOAD_UNDERLAY_TC_HANDLE 0x5658   /* "VX" */
#define OFFLOAD_UNDERLAY_TC_PRIORITY 1
int offload_attach_underlay(struct offload *, int ifindex, char *err, size_t errlen);
/* Removes it; 0 if it was not there.  'o' may be NULL. */
int offload_detach_underlay(struct offload *, int ifindex);
/* The underlay program, for BPF_PROG_TEST_RUN. */
int offload_underlay_fd(const struct offload *);

/* The socket filter for the switch's AF_PACKET socket on an attached port (SO_ATTACH_BPF);
 * attach it only where the tc program is attached, and detach it first. */
int offload_sock_filter_fd(const struct offload *);
/* The tc program, for BPF_PROG_TEST_RUN. */
int offload_tc_fd(const struct offload *);

/* Installs or replaces the flow 'key' -> 'act'.  The key's and action's pad bytes must be
 * zero, the flags known (at most one of FP_ACT_PEER, FP_ACT_INGRESS and FP_ACT_TUNNEL, the
 * last with a peer and an MTU) and the stats slot below max_flows (-EINVAL); -E2BIG when
 * full.  fp_stats.last_ns is CLOCK_MONOTONIC.  The
 * slot's counters are not reset: offload_stats_reset() when the slot changes owner. */
int offload_flow_put(struct offload *, const struct fp_key *, const struct fp_action *);
/* Removes a flow; -ENOENT if it was not installed. */
int offload_flow_del(struct offload *, const struct fp_key *);
/* Reads a flow's action; -ENOENT if it is not installed. */
int offload_flow_get(struct offload *, const struct fp_key *, struct fp_action *);
/* Iterates over the installed flows: 'prev' NULL gives the first.  Returns 0, or -ENOENT
 * after the last.  Flows changed meanwhile may be seen or missed, never torn. */
int offload_flow_next(struct offload *, const struct fp_key *prev, struct fp_key *next);

/* The counters of every slot, mapped read-only into this process: slot i is at [i], updated
 * by the kernel with atomic adds (each 64-bit word reads whole).  For the control thread's
 * merge into the flow pairs, policies and idle timeouts; valid until offload_close(). */
const volatile struct fp_stats *offload_stats_array(const struct offload *);
int offload_stats_get(struct offload *, uint32_t slot, struct fp_stats *);
int offload_stats_reset(struct offload *, uint32_t slot);

/* Sums the per-CPU reason counters into 'out'. */
int offload_counters(struct offload *, uint64_t out[FP_R_MAX]);
const char *offload_reason_name(enum fp_reason);

/* Kernel memory charged to the maps (their fdinfo "memlock"), in bytes. */
int offload_memlock(struct offload *, uint64_t *bytes);

/* With config.trace: the target and action flags of the last redirect. */
void offload_last_redirect(const struct offload *, uint32_t *ifindex, uint32_t *flags);

#endif
