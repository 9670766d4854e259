/* Action lists; see actions.h.  Executed once per packet on the fast path, so each action is
 * a few stores and no action looks anything up. */
#include "dp/actions.h"

#include <arpa/inet.h>
#include <stdio.h>

#include "dp/csum.h"
#include "dp/net-headers.h"
#include "lib/addr.h"

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

void actions_set_eth(struct action_list *list, struct eth_addr src, struct eth_addr dst)
{
    struct action *a = append(list, ACTION_SET_ETH);

    if (a) {
        a->eth_src = src;
        a->eth_dst = dst;
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

void actions_execute(const struct action_list *list, struct packet *pkt)
{
    for (size_t i = 0; i < list->n; i++) {
        const struct action *a = &list->a[i];

        switch (a->type) {
        case ACTION_SET_ETH: {
            struct eth_header *eth = (struct eth_header *) pkt->data;

            eth->src = a->eth_src;
            eth->dst = a->eth_dst;
            break;
        }
        case ACTION_DEC_TTL:
            if (!dec_ttl(pkt)) {
                pkt->out_port = 0;
                pkt->drop_reason = DROP_TTL_EXCEEDED;
                return;
            }
            break;
        case ACTION_OUTPUT:
            pkt->out_port = a->port;
            return;
        case ACTION_DROP:
        default:
            pkt->out_port = 0;
            pkt->drop_reason = a->reason;
            return;
        }
    }
    pkt->out_port = 0;
    pkt->drop_reason = DROP_TX_ERROR;
}

void actions_format(const struct action_list *list,
                    const char *(*port_name)(uint32_t, void *), void *aux,
                    char *buf, size_t size)
{
    char src[ETH_STR_LEN], dst[ETH_STR_LEN];
    size_t n = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < list->n && n < size; i++) {
        const struct action *a = &list->a[i];
        const char *sep = i ? "," : "";

        switch (a->type) {
        case ACTION_SET_ETH:
            n += snprintf(buf + n, size - n, "%sset_eth(src=%s,dst=%s)", sep,
                          addr_mac_str(a->eth_src, src), addr_mac_str(a->eth_dst, dst));
            break;
        case ACTION_DEC_TTL:
            n += snprintf(buf + n, size - n, "%sdec_ttl", sep);
            break;
        case ACTION_OUTPUT:
            n += snprintf(buf + n, size - n, "%soutput:%s", sep, port_name(a->port, aux));
            break;
        case ACTION_DROP:
        default:
            n += snprintf(buf + n, size - n, "%sdrop(%s)", sep, drop_reason_name(a->reason));
            break;
        }
    }
}
