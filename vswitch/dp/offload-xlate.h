/* From the switch's decision to the kernel fast path's flow: translates a flow-cache entry
 * (flow key and compiled action list, dp/actions.h) into the fp_key/fp_action that
 * dp/offload.c installs, or says why the flow must stay in user space.
 *
 * Pure: no kernel, no state.  The caller owns the numbering of counter slots and the mapping
 * of switch ports to devices. */
#ifndef VSWITCH_DP_OFFLOAD_XLATE_H
#define VSWITCH_DP_OFFLOAD_XLATE_H 1

#include <stdbool.h>
#include <stdint.h>

#include "dp/actions.h"
#include "dp/bpf/fastpath.h"
#include "dp/flow-key.h"

/* A switch port as the fast path sees it. */
enum offload_port_kind {
    OFFLOAD_PORT_VETH,      /* A veth's host end: the program at its ingress; frames for its
                             * pod go by bpf_redirect_peer() into the pod's netns. */
    OFFLOAD_PORT_TAP,       /* A TAP (vsw0 too): the program at its egress; frames for it go
                             * into its receive path. */
    OFFLOAD_PORT_VXLAN,     /* The overlay: 'ifindex' is the underlay device, where
                             * fp_tc_vxlan decapsulates what peers send and out of which
                             * frames to peers go; the key of a frame from a peer has in-port
                             * 0 and the peer as tunnel source. */
};

struct offload_port {
    uint32_t ifindex;
    enum offload_port_kind kind;
};

/* Fills '*out' for switch port 'port' and returns true, or returns false if the port has no
 * fast path (unknown, not attached, or offload off for it). */
typedef bool offload_port_fn(uint32_t port, void *aux, struct offload_port *out);

/* Translates 'key' -> 'list' into '*fk' -> '*fa', with counters in 'stats_slot' and the
 * generation of the list's flow pair (ACTION_CT), if any, as the cookie.  Returns 0, or
 * -EOPNOTSUPP with a static reason in '*why' ("drop", "hairpin"...) when the flow is not one
 * the kernel tier executes. */
int offload_xlate(const struct flow_key *key, const struct action_list *list,
                  uint32_t stats_slot, offload_port_fn *port_fn, void *aux,
                  struct fp_key *fk, struct fp_action *fa, const char **why);

#endif
