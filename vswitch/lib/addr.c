/* Address parsing and printing; see addr.h. */
#include "lib/addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

int addr_parse_ip(const char *s, be32 *ip)
{
    struct in_addr in;

    if (!s || inet_pton(AF_INET, s, &in) != 1) {
        return -EINVAL;
    }
    *ip = in.s_addr;
    return 0;
}

int addr_parse_cidr(const char *s, struct cidr *cidr)
{
    char buf[32];
    const char *slash = s ? strchr(s, '/') : NULL;
    char *end;
    long prefix;
    be32 ip;

    if (!slash || (size_t) (slash - s) >= sizeof buf) {
        return -EINVAL;
    }
    memcpy(buf, s, slash - s);
    buf[slash - s] = '\0';
    if (addr_parse_ip(buf, &ip) || !slash[1]) {
        return -EINVAL;
    }
    errno = 0;
    prefix = strtol(slash + 1, &end, 10);
    if (errno || *end || prefix < 0 || prefix > 32) {
        return -EINVAL;
    }
    if (ip & ~cidr_mask(prefix)) {
        return -EINVAL;
    }
    cidr->net = ip;
    cidr->prefix = prefix;
    return 0;
}

int addr_parse_mac(const char *s, struct eth_addr *mac)
{
    unsigned int b[ETH_ADDR_LEN];
    char extra;

    if (!s || sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4],
                     &b[5], &extra) != 6 || strlen(s) != 17) {
        return -EINVAL;
    }
    for (int i = 0; i < ETH_ADDR_LEN; i++) {
        mac->a[i] = b[i];
    }
    return 0;
}

int addr_parse_ip_port(const char *s, be32 *ip, uint16_t *port)
{
    char buf[32];
    const char *colon = s ? strrchr(s, ':') : NULL;
    char *end;
    long value;

    if (!colon || (size_t) (colon - s) >= sizeof buf || !colon[1]) {
        return -EINVAL;
    }
    memcpy(buf, s, colon - s);
    buf[colon - s] = '\0';
    if (addr_parse_ip(buf, ip)) {
        return -EINVAL;
    }
    errno = 0;
    value = strtol(colon + 1, &end, 10);
    if (errno || *end || value < 0 || value > 65535) {
        return -EINVAL;
    }
    *port = value;
    return 0;
}

const char *addr_ip_str(be32 ip, char buf[IP_STR_LEN])
{
    return inet_ntop(AF_INET, &ip, buf, IP_STR_LEN);
}

const char *addr_mac_str(struct eth_addr mac, char buf[ETH_STR_LEN])
{
    snprintf(buf, ETH_STR_LEN, ETH_ADDR_FMT, ETH_ADDR_ARGS(mac));
    return buf;
}

be32 cidr_mask(int prefix)
{
    return prefix ? htonl(~0u << (32 - prefix)) : 0;
}

bool cidr_contains(const struct cidr *cidr, be32 ip)
{
    return (ip & cidr_mask(cidr->prefix)) == cidr->net;
}

bool cidr_overlaps(const struct cidr *a, const struct cidr *b)
{
    be32 mask = cidr_mask(MIN(a->prefix, b->prefix));

    return (a->net & mask) == (b->net & mask);
}

const char *addr_unicast_problem(be32 ip)
{
    uint32_t h = ntohl(ip);

    if (h >> 24 == 0) {
        return "in 0.0.0.0/8 (\"this network\")";
    }
    if (h >> 24 == 127) {
        return "a loopback address (127.0.0.0/8)";
    }
    if (h >> 28 == 0xe) {
        return "a multicast address (224.0.0.0/4)";
    }
    if (h == 0xffffffff) {
        return "the broadcast address";
    }
    if (h >> 28 == 0xf) {
        return "a reserved address (240.0.0.0/4)";
    }
    return NULL;
}

struct eth_addr addr_mac_from_ip(be32 ip)
{
    struct eth_addr mac = { { 0x0a, 0x58 } };

    memcpy(&mac.a[2], &ip, 4);
    return mac;
}
