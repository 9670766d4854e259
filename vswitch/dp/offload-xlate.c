/* Flow-cache entry -> fast-path flow; see offload-xlate.h.
 *
 * The overlay: a frame from a peer has the tunnel source in its key and in-port 0 in the
 * kernel (fp_tc_vxlan runs on the underlay device, not on a port of its own); a list that
 * tunnels to a peer (ACTION_TUNNEL then the output to the VXLAN port) becomes FP_ACT_TUNNEL
 * with the peer and the MTU the switch checks against.  Overlay to overlay is a hairpin.
 *
 * The program applies NAT, TTL and MACs in a fixed order; a compiled list may name them in
 * another, which is the same thing because they touch disjoint fields.  A list that names one
 * of them twice, or anything the program does not do, stays in user space. */
#include "dp/offload-xlate.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "dp/net-headers.h"

static int refuse(const char **why, const char *reason)
{
    *why = reason;
    return -EOPNOTSUPP;
}

static int key_xlate(const struct flow_key *key, const struct offload_port *in,
                     struct fp_key *fk, const char **why)
{
    if (key->dl_type != htons(ETH_TYPE_IPV4) || key->vlan_tci) {
        return refuse(why, "not IPv4");
    }
    if (key->nw_frag != FLOW_FRAG_NO) {
        return refuse(why, "fragment");
    }
    if (key->nw_proto != IP_PROTO_TCP && key->nw_proto != IP_PROTO_UDP) {
        return refuse(why, "not TCP or UDP");
    }
    if ((in->kind == OFFLOAD_PORT_VXLAN) != (key->tun_src != 0)) {
        return refuse(why, "tunnel source on a pod port");
    }
    memset(fk, 0, sizeof *fk);
    fk->ifindex = in->kind == OFFLOAD_PORT_VXLAN ? 0 : in->ifindex;
    fk->tun_src = key->tun_src;
    memcpy(fk->dl_dst, key->dl_dst.a, ETH_ADDR_LEN);
    memcpy(fk->dl_src, key->dl_src.a, ETH_ADDR_LEN);
    fk->nw_src = key->nw_src;
    fk->nw_dst = key->nw_dst;
    fk->tp_src = key->tp_src;
    fk->tp_dst = key->tp_dst;
    fk->nw_proto = key->nw_proto;
    return 0;
}

/* How a frame from 'in' reaches 'out'. */
static uint32_t output_flags(const struct offload_port *in, const struct offload_port *out)
{
    if (out->kind == OFFLOAD_PORT_TAP) {
        return FP_ACT_INGRESS;
    }
    if (out->kind == OFFLOAD_PORT_VXLAN) {
        return FP_ACT_TUNNEL;
    }
    /* bpf_redirect_peer() works from tc ingress only (a veth's host end, the underlay): from
     * a TAP's egress, a veth is reached through its host end's transmit, which hands the
     * frame to the peer all the same. */
    return in->kind == OFFLOAD_PORT_TAP ? 0 : FP_ACT_PEER;
}

int offload_xlate(const struct flow_key *key, const struct action_list *list,
                  uint32_t stats_slot, offload_port_fn *port_fn, void *aux,
                  struct fp_key *fk, struct fp_action *fa, const char **why)
{
    struct offload_port in, out;
    int rc;

    *why = NULL;
    if (!port_fn(key->in_port, aux, &in)) {
        return refuse(why, "in-port without fast path");
    }
    rc = key_xlate(key, &in, fk, why);
    if (rc) {
        return rc;
    }

    memset(fa, 0, sizeof *fa);
    fa->stats_slot = stats_slot;
    for (size_t i = 0; i < list->n; i++) {
        const struct action *a = &list->a[i];

        switch (a->type) {
        case ACTION_CT:
            fa->cookie = a->u.ct.gen;
            break;
        case ACTION_POLICY:
            /* Counted in the flow's slot; user space adds it to the policy and the dispatch
             * entry when it reads the counters. */
            break;
        case ACTION_NAT:
            if (fa->flags & (FP_ACT_SET_SRC | FP_ACT_SET_DST)) {
                return refuse(why, "two NAT actions");
            }
            if (a->u.nat.src != key->nw_src || a->u.nat.sport != key->tp_src) {
                fa->flags |= FP_ACT_SET_SRC;
                fa->nat_src = a->u.nat.src;
                fa->nat_sport = a->u.nat.sport;
            }
            if (a->u.nat.dst != key->nw_dst || a->u.nat.dport != key->tp_dst) {
                fa->flags |= FP_ACT_SET_DST;
                fa->nat_dst = a->u.nat.dst;
                fa->nat_dport = a->u.nat.dport;
            }
            break;
        case ACTION_SET_ETH:
            if (fa->flags & FP_ACT_SET_ETH) {
                return refuse(why, "two MAC rewrites");
            }
            fa->flags |= FP_ACT_SET_ETH;
            memcpy(fa->eth_dst, a->u.eth.dst.a, ETH_ADDR_LEN);
            memcpy(fa->eth_src, a->u.eth.src.a, ETH_ADDR_LEN);
            break;
        case ACTION_DEC_TTL:
            if (fa->flags & FP_ACT_DEC_TTL) {
                return refuse(why, "two TTL decrements");
            }
            fa->flags |= FP_ACT_DEC_TTL;
            break;
        case ACTION_OUTPUT:
            if (!port_fn(a->port, aux, &out)) {
                return refuse(why, "out-port without fast path");
            }
            if (out.ifindex == in.ifindex) {
                return refuse(why, "hairpin");
            }
            if ((out.kind == OFFLOAD_PORT_VXLAN) != (fa->tun_dst != 0)) {
                return refuse(why, "tunnel action and output disagree");
            }
            fa->out_ifindex = out.ifindex;
            fa->flags |= output_flags(&in, &out);
            return 0;
        case ACTION_TUNNEL:
            if (fa->tun_dst || !a->u.tunnel.dst || !a->u.tunnel.mtu) {
                return refuse(why, "tunnel");
            }
            fa->tun_dst = a->u.tunnel.dst;
            fa->tun_mtu = a->u.tunnel.mtu;
            break;
        case ACTION_REJECT:
            return refuse(why, "reject");
        case ACTION_DROP:
        default:
            return refuse(why, "drop");
        }
    }
    return refuse(why, "no output");
}
