/* Parsing and printing of IPv4 addresses, CIDRs and MAC addresses, shared by vswitchd, vsctl,
 * the CNI plugin and the proxy so that every binary accepts and prints the same forms. */
#ifndef VSWITCH_LIB_ADDR_H
#define VSWITCH_LIB_ADDR_H 1

#include "lib/types.h"

struct cidr {
    be32 net;       /* Network address, host bits zero. */
    int prefix;     /* 0..32. */
};

/* Each returns 0 or -EINVAL; a string with anything after the value is invalid. */
int addr_parse_ip(const char *s, be32 *ip);
int addr_parse_cidr(const char *s, struct cidr *cidr);  /* Host bits must be zero. */
int addr_parse_mac(const char *s, struct eth_addr *mac);
int addr_parse_ip_port(const char *s, be32 *ip, uint16_t *port);    /* "A.B.C.D:PORT" */

/* Writes into 'buf' (IP_STR_LEN / ETH_STR_LEN bytes) and returns it. */
const char *addr_ip_str(be32 ip, char buf[IP_STR_LEN]);
const char *addr_mac_str(struct eth_addr mac, char buf[ETH_STR_LEN]);

be32 cidr_mask(int prefix);
bool cidr_contains(const struct cidr *cidr, be32 ip);
/* True if the two CIDRs share an address (one contains the other). */
bool cidr_overlaps(const struct cidr *a, const struct cidr *b);

/* NULL if 'ip' may be a unicast endpoint (a VIP, a backend, a node), else what it is:
 * "a loopback address (127.0.0.0/8)", "a multicast address (224.0.0.0/4)", ... */
const char *addr_unicast_problem(be32 ip);

/* The locally administered MAC 0a:58:a.b.c.d for 'ip', as ovn-kubernetes derives its router
 * MACs: stable across restarts and nodes, and readable in a capture. */
struct eth_addr addr_mac_from_ip(be32 ip);

#endif
