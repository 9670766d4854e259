/* Action lists; see actions.h.  Executed once per packet on the fast path, so each action is
 * a few stores and no action looks anything up except ACTION_CT and ACTION_POLICY with a
 * dispatch entry, which touch one connection by index. */
#include "dp/actions.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>

#include "dp/conntrack.h"
#include "dp/csum.h"
#include "dp/lb.h"
#include "dp/net-headers.h"
#include "dp/peer-table.h"
#include "lib/addr.h"

/* RFC 1812 section 4.3.2.3: an ICMP error carries as much of the offending datagram as fits
 * in 576 bytes. */
#define ICMP_ERROR_MAX_QUOTE (576 - IP_HDR_LEN - ICMP_HDR_LEN)

static struct action *append(struct action_list *list, enum action_type type)
{
    struct action *a;

    /* The slow path builds at most a handful; running out is a programming error, and a
     * dropped packet is the safe way to fail. */
    if (list->n >= ACTIONS_MAX) {
        list->n = 0;
        a = &list->a[list->n++];
        memset(a, 0, sizeof *a);
        a->type = ACTION_DROP;
        a->reason = DROP_TX_ERROR;
        return NULL;
    }
    a = &list->a[list->n++];
    memset(a, 0, sizeof *a);
    a->type = type;
    return a;
}

void actions_ct(struct action_list *list, uint32_t conn, uint32_t gen, int dir)
{
    struct action *a = append(list, ACTION_CT);

    if (a) {
        a->u.ct.conn = conn;
        a->u.ct.gen = gen;
        a->dir = dir;
    }
}

void actions_nat(struct action_list *list, be32 src, be16 sport, be32 dst, be16 dport)
{
    struct action *a = append(list, ACTION_NAT);

    if (a) {
        a->u.nat.src = src;
        a->u.nat.sport = sport;
        a->u.nat.dst = dst;
        a->u.nat.dport = dport;
    }
}

void actions_tunnel(struct action_list *list, be32 dst, uint16_t peer, uint16_t mtu, be32 gateway)
{
    struct action *a = append(list, ACTION_TUNNEL);

    if (a) {
        a->u.tunnel.dst = dst;
        a->u.tunnel.peer = peer;
        a->u.tunnel.mtu = mtu;
        a->u.tunnel.gateway = gateway;
    }
}

void actions_policy(struct action_list *list, uint32_t slot)
{
    struct action *a = append(list, ACTION_POLICY);

    if (a) {
        a->port = slot;
    }
}

void actions_policy_dispatch(struct action_list *list, uint32_t slot, uint32_t conn,
                             uint32_t gen)
{
    struct action *a = append(list, ACTION_POLICY);

    if (a) {
        a->port = slot;
        a->u.ct.conn = conn + 1;
        a->u.ct.gen = gen;
    }
}

void actions_set_eth(struct action_list *list, struct eth_addr src, struct eth_addr dst)
{
    struct action *a = append(list, ACTION_SET_ETH);

    if (a) {
        a->u.eth.src = src;
        a->u.eth.dst = dst;
    }
}

void actions_dec_ttl(struct action_list *list)
{
    append(list, ACTION_DEC_TTL);
}

void actions_output(struct action_list *list, uint32_t port)
{
    struct action *a = append(list, ACTION_OUTPUT);

    if (a) {
        a->port = port;
    }
}

void actions_reject(struct action_list *list, uint32_t port, struct eth_addr src,
                    struct eth_addr dst)
{
    struct action *a = append(list, ACTION_REJECT);

    if (a) {
        a->port = port;
        a->u.eth.src = src;
        a->u.eth.dst = dst;
    }
}

void actions_drop(struct action_list *list, enum drop_reason reason)
{
    struct action *a = append(list, ACTION_DROP);

    if (a) {
        a->reason = reason;
    }
}

static bool dec_ttl(struct packet *pkt)
{
    struct ip_header *ip = (struct ip_header *) packet_l3(pkt);
    be16 old, new;

    if (ip->ttl <= 1) {
        return false;
    }
    /* TTL shares a 16-bit word with the protocol: update the checksum for that word. */
    old = htons(ip->ttl << 8 | ip->proto);
    ip->ttl--;
    new = htons(ip->ttl << 8 | ip->proto);
    ip->csum = csum_update16(ip->csum, old, new);
    return true;
}

static be16 get16(const uint8_t *p)
{
    be16 v;

    memcpy(&v, p, sizeof v);
    return v;
}

static void put16(uint8_t *p, be16 v)
{
    memcpy(p, &v, sizeof v);
}

static void update_l4_addr(uint8_t *csum, bool partial, be32 old, be32 new)
{
    if (csum) {
        put16(csum, partial ? csum_update32_partial(get16(csum), old, new)
                            : csum_update32(get16(csum), old, new));
    }
}

static void update_l4_port(uint8_t *csum, bool partial, uint8_t *field, be16 new)
{
    be16 old = get16(field);

    if (old != new) {
        if (csum && !partial) {
            put16(csum, csum_update16(get16(csum), old, new));
        }
        put16(field, new);
    }
}

void actions_nat_headers(struct packet *pkt, uint8_t *l3, uint8_t *l4, be32 src, be16 sport,
                         be32 dst, be16 dport)
{
    struct ip_header *ip = (struct ip_header *) l3;
    uint8_t *csum = NULL;
    bool partial = false;

    if (l4 && ip->proto == IP_PROTO_TCP) {
        csum = l4 + offsetof(struct tcp_header, csum);
    } else if (l4 && ip->proto == IP_PROTO_UDP) {
        csum = l4 + offsetof(struct udp_header, csum);
    } else {
        l4 = NULL;
    }
    if (csum) {
        /* A partial checksum (the kernel or NIC completes it) holds only the pseudo-header
         * sum: addresses are updated with the opposite sign and ports not at all, since the
         * final sum over the L4 bytes is taken after us. */
        partial = (pkt->vnet.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)
                  && pkt->data + pkt->vnet.csum_start == l4;
        if (!partial && ip->proto == IP_PROTO_UDP && !get16(csum)) {
            csum = NULL;            /* UDP without a checksum (RFC 768) stays without. */
        }
    }

    if (ip->src != src) {
        update_l4_addr(csum, partial, ip->src, src);
        ip->csum = csum_update32(ip->csum, ip->src, src);
        ip->src = src;
    }
    if (ip->dst != dst) {
        update_l4_addr(csum, partial, ip->dst, dst);
        ip->csum = csum_update32(ip->csum, ip->dst, dst);
        ip->dst = dst;
    }
    if (l4) {
        /* Source and destination ports open both the TCP and the UDP header. */
        update_l4_port(csum, partial, l4, sport);
        update_l4_port(csum, partial, l4 + 2, dport);
    }
    if (csum && !partial && ip->proto == IP_PROTO_UDP && !get16(csum)) {
        put16(csum, 0xffff);        /* RFC 768: a computed zero is sent as all ones. */
    }
}

static void write_ip_header(struct ip_header *ip, be32 src, be32 dst, uint8_t proto,
                            size_t payload)
{
    memset(ip, 0, sizeof *ip);
    ip->ihl_ver = 0x45;
    ip->tot_len = htons(IP_HDR_LEN + payload);
    ip->ttl = 64;
    ip->proto = proto;
    ip->src = src;
    ip->dst = dst;
    ip->csum = csum_finish(csum_partial(ip, IP_HDR_LEN, 0));
}

/* RFC 9293 section 3.10.7.1: the reset for a segment that reached no connection. */
static bool build_tcp_reset(struct packet *pkt)
{
    struct ip_header *ip = (struct ip_header *) packet_l3(pkt);
    struct tcp_header *in = (struct tcp_header *) packet_l4(pkt);
    struct tcp_header *tcp;
    be32 client = ip->src, vip = ip->dst;
    be16 sport = in->src, dport = in->dst;
    uint32_t seq = ntohl(in->seq), ack = ntohl(in->ack);
    uint8_t flags = in->flags;
    size_t payload = ntohs(ip->tot_len) - (ip->ihl_ver & 0xf) * 4 - (in->doff_res >> 4) * 4;

    if (flags & TCP_RST) {
        return false;
    }
    write_ip_header(ip, vip, client, IP_PROTO_TCP, TCP_HDR_LEN);
    tcp = (struct tcp_header *) (packet_l3(pkt) + IP_HDR_LEN);
    memset(tcp, 0, sizeof *tcp);
    tcp->src = dport;
    tcp->dst = sport;
    tcp->doff_res = 5 << 4;
    if (flags & TCP_ACK) {
        tcp->seq = htonl(ack);
        tcp->flags = TCP_RST;
    } else {
        tcp->ack = htonl(seq + payload + !!(flags & TCP_SYN) + !!(flags & TCP_FIN));
        tcp->flags = TCP_RST | TCP_ACK;
    }
    tcp->csum = csum_finish(csum_partial(tcp, TCP_HDR_LEN,
                                         csum_pseudo_header(ip->src, ip->dst, ip->proto,
                                                            TCP_HDR_LEN)));
    pkt->len = pkt->l3_ofs + IP_HDR_LEN + TCP_HDR_LEN;
    return true;
}

/* RFC 792 destination unreachable, code 3 (port unreachable), quoting the datagram. */
static void build_port_unreachable(struct packet *pkt)
{
    uint8_t *l3 = packet_l3(pkt);
    struct ip_header *ip = (struct ip_header *) l3;
    struct icmp_header *icmp;
    be32 client = ip->src, vip = ip->dst;
    size_t quote = MIN((size_t) ntohs(ip->tot_len), (size_t) ICMP_ERROR_MAX_QUOTE);

    memmove(l3 + IP_HDR_LEN + ICMP_HDR_LEN, l3, quote);
    write_ip_header(ip, vip, client, IP_PROTO_ICMP, ICMP_HDR_LEN + quote);
    icmp = (struct icmp_header *) (l3 + IP_HDR_LEN);
    memset(icmp, 0, sizeof *icmp);
    icmp->type = ICMP_DEST_UNREACH;
    icmp->code = 3;
    icmp->csum = csum_finish(csum_partial(icmp, ICMP_HDR_LEN + quote, 0));
    pkt->len = pkt->l3_ofs + IP_HDR_LEN + ICMP_HDR_LEN + quote;
}

static void drop(struct packet *pkt, enum drop_reason reason)
{
    pkt->out_port = 0;
    pkt->drop_reason = reason;
}

/* RFC 1191: "fragmentation needed and DF set" with the next-hop MTU, from the gateway back
 * to the sender, so path-MTU discovery shrinks to what the overlay carries. */
static void build_frag_needed(struct packet *pkt, be32 gateway, uint16_t mtu)
{
    struct eth_header *eth = (struct eth_header *) pkt->data;
    uint8_t *l3 = packet_l3(pkt);
    struct ip_header *ip = (struct ip_header *) l3;
    struct icmp_header *icmp;
    struct eth_addr router = eth->dst;
    be32 sender = ip->src;
    size_t quote = MIN((size_t) ntohs(ip->tot_len), (size_t) ICMP_ERROR_MAX_QUOTE);

    memmove(l3 + IP_HDR_LEN + ICMP_HDR_LEN, l3, quote);
    write_ip_header(ip, gateway, sender, IP_PROTO_ICMP, ICMP_HDR_LEN + quote);
    icmp = (struct icmp_header *) (l3 + IP_HDR_LEN);
    memset(icmp, 0, sizeof *icmp);
    icmp->type = ICMP_DEST_UNREACH;
    icmp->code = 4;
    icmp->rest = htonl(mtu);
    icmp->csum = csum_finish(csum_partial(icmp, ICMP_HDR_LEN + quote, 0));
    pkt->len = pkt->l3_ofs + IP_HDR_LEN + ICMP_HDR_LEN + quote;
    eth->dst = eth->src;
    eth->src = router;
    memset(&pkt->vnet, 0, sizeof pkt->vnet);
    pkt->out_port = pkt->in_port;
}

/* Returns false when the packet cannot go (it was turned into an ICMP error or dropped). */
static bool tunnel(struct packet *pkt, const struct action *a, struct actions_ctx *ctx)
{
    const struct ip_header *ip = (const struct ip_header *) packet_l3(pkt);
    struct peer *peer;

    if (pkt->vnet.gso_type == VIRTIO_NET_HDR_GSO_NONE && ntohs(ip->tot_len) > a->u.tunnel.mtu) {
        if (ntohs(ip->frag_off) & 0x4000 /* DF */) {
            build_frag_needed(pkt, a->u.tunnel.gateway, a->u.tunnel.mtu);
        } else {
            drop(pkt, DROP_TOO_BIG);
        }
        return false;
    }
    pkt->tun_dst = a->u.tunnel.dst;
    if (ctx->peers && a->u.tunnel.peer < ctx->peers->n_peers) {
        peer = &ctx->peers->peers[a->u.tunnel.peer];
        peer->tx_packets++;
        peer->tx_bytes += pkt->len;
    }
    return true;
}

static bool reject(struct packet *pkt, const struct action *a)
{
    struct eth_header *eth = (struct eth_header *) pkt->data;
    struct ip_header *ip = (struct ip_header *) packet_l3(pkt);

    if (!pkt->l4_valid) {
        return false;
    }
    if (ip->proto == IP_PROTO_TCP) {
        if (!build_tcp_reset(pkt)) {
            return false;
        }
    } else {
        build_port_unreachable(pkt);
    }
    eth->src = a->u.eth.src;
    eth->dst = a->u.eth.dst;
    memset(&pkt->vnet, 0, sizeof pkt->vnet);
    return true;
}

int actions_execute(const struct action_list *list, struct packet *pkt,
                    struct actions_ctx *ctx)
{
    for (size_t i = 0; i < list->n; i++) {
        const struct action *a = &list->a[i];

        switch (a->type) {
        case ACTION_CT: {
            struct ct_conn *conn = &ctx->ct->conns[a->u.ct.conn];
            struct lb_policy *policy;

            if (!conn->in_use || conn->gen != a->u.ct.gen) {
                return -ESTALE;
            }
            if (lb_conn_reopens_elsewhere(ctx->lb, conn, a->dir, pkt->tcp_flags)) {
                ct_delete(ctx->ct, conn);
                return -ESTALE;
            }
            ct_update(ctx->ct, conn, a->dir, pkt->tcp_flags, pkt->len, ctx->now_ms);
            policy = lb_policy_at(ctx->lb, conn->policy);
            if (policy) {
                policy->packets++;
                policy->bytes += pkt->len;
            }
            break;
        }
        case ACTION_POLICY: {
            struct lb_policy *policy = lb_policy_at(ctx->lb, a->port);

            if (a->u.ct.conn) {
                struct ct_conn *entry = &ctx->ct->conns[a->u.ct.conn - 1];

                if (!entry->in_use || entry->gen != a->u.ct.gen) {
                    return -ESTALE;
                }
                if (lb_conn_reopens_elsewhere(ctx->lb, entry, CT_DIR_ORIG, pkt->tcp_flags)) {
                    ct_delete(ctx->ct, entry);
                    return -ESTALE;
                }
                ct_update(ctx->ct, entry, CT_DIR_ORIG, pkt->tcp_flags, pkt->len, ctx->now_ms);
            }
            if (policy) {
                policy->packets++;
                policy->bytes += pkt->len;
            }
            break;
        }
        case ACTION_NAT:
            actions_nat_headers(pkt, packet_l3(pkt), pkt->l4_valid ? packet_l4(pkt) : NULL,
                                a->u.nat.src, a->u.nat.sport, a->u.nat.dst, a->u.nat.dport);
            break;
        case ACTION_TUNNEL:
            if (!tunnel(pkt, a, ctx)) {
                return 0;
            }
            break;
        case ACTION_SET_ETH: {
            struct eth_header *eth = (struct eth_header *) pkt->data;

            eth->src = a->u.eth.src;
            eth->dst = a->u.eth.dst;
            break;
        }
        case ACTION_DEC_TTL:
            if (!dec_ttl(pkt)) {
                drop(pkt, DROP_TTL_EXCEEDED);
                return 0;
            }
            break;
        case ACTION_OUTPUT:
            pkt->out_port = a->port;
            return 0;
        case ACTION_REJECT:
            if (reject(pkt, a)) {
                pkt->out_port = a->port;
            } else {
                drop(pkt, DROP_NO_BACKEND);
            }
            return 0;
        case ACTION_DROP:
        default:
            drop(pkt, a->reason);
            return 0;
        }
    }
    drop(pkt, DROP_TX_ERROR);
    return 0;
}

void actions_format(const struct action_list *list,
                    const char *(*port_name)(uint32_t, void *), void *aux,
                    char *buf, size_t size)
{
    char s1[IP_STR_LEN], s2[IP_STR_LEN];
    size_t n = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < list->n && n < size; i++) {
        const struct action *a = &list->a[i];
        const char *sep = i ? "," : "";

        switch (a->type) {
        case ACTION_CT:
            n += snprintf(buf + n, size - n, "%sct(pair=%u,dir=%s)", sep, a->u.ct.conn,
                          a->dir ? "reply" : "orig");
            break;
        case ACTION_POLICY:
            n += snprintf(buf + n, size - n, "%spolicy(slot=%u)", sep, a->port);
            break;
        case ACTION_NAT:
            n += snprintf(buf + n, size - n, "%snat(src=%s:%u,dst=%s:%u)", sep,
                          addr_ip_str(a->u.nat.src, s1), ntohs(a->u.nat.sport),
                          addr_ip_str(a->u.nat.dst, s2), ntohs(a->u.nat.dport));
            break;
        case ACTION_TUNNEL:
            n += snprintf(buf + n, size - n, "%stunnel(dst=%s,mtu=%u)", sep,
                          addr_ip_str(a->u.tunnel.dst, s1), a->u.tunnel.mtu);
            break;
        case ACTION_SET_ETH: {
            char src[ETH_STR_LEN], dst[ETH_STR_LEN];

            n += snprintf(buf + n, size - n, "%sset_eth(src=%s,dst=%s)", sep,
                          addr_mac_str(a->u.eth.src, src), addr_mac_str(a->u.eth.dst, dst));
            break;
        }
        case ACTION_DEC_TTL:
            n += snprintf(buf + n, size - n, "%sdec_ttl", sep);
            break;
        case ACTION_OUTPUT:
            n += snprintf(buf + n, size - n, "%soutput:%s", sep, port_name(a->port, aux));
            break;
        case ACTION_REJECT:
            n += snprintf(buf + n, size - n, "%sreject:%s", sep, port_name(a->port, aux));
            break;
        case ACTION_DROP:
        default:
            n += snprintf(buf + n, size - n, "%sdrop(%s)", sep, drop_reason_name(a->reason));
            break;
        }
    }
}
