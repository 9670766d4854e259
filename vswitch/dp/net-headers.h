/* Wire formats the datapath parses and writes: Ethernet (IEEE 802.3), 802.1Q, ARP (RFC 826),
 * IPv4 (RFC 791), ICMP (RFC 792), TCP (RFC 9293), UDP (RFC 768).  Packed, network order; only
 * what the switch touches. */
#ifndef VSWITCH_DP_NET_HEADERS_H
#define VSWITCH_DP_NET_HEADERS_H 1

#include "lib/types.h"

#define ETH_HDR_LEN 14
#define VLAN_HDR_LEN 4
#define ETH_TYPE_IPV4 0x0800
#define ETH_TYPE_ARP 0x0806
#define ETH_TYPE_VLAN 0x8100
#define ETH_TYPE_VLAN_8021AD 0x88a8
#define ETH_TYPE_IPV6 0x86dd

struct eth_header {
    struct eth_addr dst;
    struct eth_addr src;
    be16 type;
} __attribute__((packed));
_Static_assert(sizeof(struct eth_header) == ETH_HDR_LEN, "Ethernet header");

struct vlan_header {
    be16 tci;
    be16 inner_type;
} __attribute__((packed));

#define ARP_HTYPE_ETH 1
#define ARP_OP_REQUEST 1
#define ARP_OP_REPLY 2
#define ARP_LEN 28

struct arp_eth_header {
    be16 htype;
    be16 ptype;
    uint8_t hlen;
    uint8_t plen;
    be16 op;
    struct eth_addr sha;
    be32 spa;
    struct eth_addr tha;
    be32 tpa;
} __attribute__((packed));
_Static_assert(sizeof(struct arp_eth_header) == ARP_LEN, "ARP for Ethernet/IPv4");

#define IP_HDR_LEN 20
#define IP_MF 0x2000
#define IP_FRAG_OFF_MASK 0x1fff
#define IP_PROTO_ICMP 1
#define IP_PROTO_TCP 6
#define IP_PROTO_UDP 17

struct ip_header {
    uint8_t ihl_ver;
    uint8_t tos;
    be16 tot_len;
    be16 id;
    be16 frag_off;
    uint8_t ttl;
    uint8_t proto;
    be16 csum;
    be32 src;
    be32 dst;
} __attribute__((packed));
_Static_assert(sizeof(struct ip_header) == IP_HDR_LEN, "IPv4 header");

#define TCP_HDR_LEN 20
#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_ACK 0x10

struct tcp_header {
    be16 src;
    be16 dst;
    be32 seq;
    be32 ack;
    uint8_t doff_res;
    uint8_t flags;
    be16 window;
    be16 csum;
    be16 urg;
} __attribute__((packed));
_Static_assert(sizeof(struct tcp_header) == TCP_HDR_LEN, "TCP header");

#define UDP_HDR_LEN 8
struct udp_header {
    be16 src;
    be16 dst;
    be16 len;
    be16 csum;
} __attribute__((packed));

#define ICMP_HDR_LEN 8
#define ICMP_ECHO_REPLY 0
#define ICMP_DEST_UNREACH 3
#define ICMP_ECHO_REQUEST 8
#define ICMP_TIME_EXCEEDED 11
#define ICMP_PARAMETER_PROBLEM 12

struct icmp_header {
    uint8_t type;
    uint8_t code;
    be16 csum;
    be32 rest;
} __attribute__((packed));

#endif
