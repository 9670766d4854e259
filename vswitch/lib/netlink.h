/* rtnetlink helpers (libmnl) for configuring interfaces: vswitchd puts the gateway address on
 * its host port with them, and the CNI plugin reuses them for the pod side.
 *
 * Every request asks for an acknowledgement with extended acks, so a failure reports the
 * kernel's own explanation ("Invalid prefix for given prefix length") and not only an errno.
 * A socket talks to the network namespace it was opened in: callers that work in another
 * namespace open the socket after setns(), on a thread of their own (see STYLE.md). */
#ifndef VSWITCH_LIB_NETLINK_H
#define VSWITCH_LIB_NETLINK_H 1

#include <stddef.h>

#include "lib/types.h"

struct nl_sock;

/* Opens an rtnetlink socket in the caller's current network namespace.  Returns 0 or a
 * negative errno with a message in 'err'. */
int nl_open(struct nl_sock **, char *err, size_t errlen);
/* Accepts NULL. */
void nl_close(struct nl_sock *);

/* Each returns 0 or a negative errno with the reason (and the kernel's extended ack message
 * when it gave one) in 'err'.  Blocking; call from a thread that may block briefly. */

/* Sets the link administratively up. */
int nl_link_set_up(struct nl_sock *, int ifindex, char *err, size_t errlen);

/* Adds 'ip'/'prefix' to the link, or updates it in place if it is already there. */
int nl_addr_replace(struct nl_sock *, int ifindex, be32 ip, int prefix, char *err,
                    size_t errlen);

/* Removes every IPv4 address of the link other than 'keep_ip'/'keep_prefix', so that a link
 * left over from an earlier configuration holds exactly the address it should. */
int nl_addr_flush_except(struct nl_sock *, int ifindex, be32 keep_ip, int keep_prefix,
                         char *err, size_t errlen);

/* ---- Links, addresses and routes as the CNI plugin needs them ---- */

/* What RTM_GETLINK says about one link. */
struct nl_link {
    int ifindex;
    char name[16];              /* IFNAMSIZ */
    char kind[16];              /* IFLA_INFO_KIND ("veth"), empty if none. */
    struct eth_addr mac;
    unsigned int mtu;
    unsigned int flags;         /* IFF_* */
    int peer_ifindex;           /* IFLA_LINK: a veth's peer (in the peer's namespace); 0. */
};

/* Looks up link 'name'.  Returns 0 with '*link' filled, -ENODEV if there is no such link
 * (with a message in 'err'), or another negative errno. */
int nl_link_get(struct nl_sock *, const char *name, struct nl_link *link, char *err,
                size_t errlen);

/* Creates the veth pair 'name' <-> 'peer'.  'name' stays in the socket's namespace; 'peer' is
 * created directly in the network namespace open as 'peer_netns_fd' (or beside 'name' when
 * it is -1), so it never exists under its name anywhere else.  'peer_mac' (may be NULL: the
 * kernel picks one) is the peer's MAC; 'mtu' (0: the kernel's default) applies to both ends.
 * Both ends are left down.  -EEXIST when either name is taken. */
int nl_veth_add(struct nl_sock *, const char *name, const char *peer, int peer_netns_fd,
                const struct eth_addr *peer_mac, unsigned int mtu, char *err, size_t errlen);

/* Deletes the link (for a veth, both ends).  -ENODEV if it does not exist. */
int nl_link_del(struct nl_sock *, int ifindex, char *err, size_t errlen);

/* One IPv4 address of a link. */
struct nl_addr {
    be32 local, address;
    int prefix;
    int ifindex;                /* The link holding it. */
};

/* Lists the IPv4 addresses of 'ifindex' (0: of every link) into a new array '*addrs' of '*n'
 * (caller frees). */
int nl_addr_list(struct nl_sock *, int ifindex, struct nl_addr **addrs, size_t *n, char *err,
                 size_t errlen);

/* One IPv4 route of the main table. */
struct nl_route {
    be32 dst;
    int prefix;
    be32 gw;                    /* 0: none (a link-scope route). */
    int oif;
    be32 prefsrc;               /* 0: none. */
    uint8_t protocol;           /* RTPROT_*: who installed it. */
    bool onlink;
};

/* Adds the route 'dst'/'prefix' out of 'ifindex' in the main table: via 'gw', or on-link
 * (scope link) when 'gw' is 0.  'onlink' marks a gateway reachable on the link though no
 * address of it covers it (RTNH_F_ONLINK).  -EEXIST if the same route is there. */
int nl_route_add(struct nl_sock *, be32 dst, int prefix, be32 gw, bool onlink, int ifindex,
                 char *err, size_t errlen);

/* Installs route 'r' in the main table, replacing a route to the same destination and
 * prefix if there is one (so calling it again changes nothing): out of 'r->oif', via 'r->gw'
 * (on-link if 'r->onlink'), with preferred source 'r->prefsrc' (0: none) and origin
 * 'r->protocol', by which its owner finds its routes again. */
int nl_route_replace(struct nl_sock *, const struct nl_route *r, char *err, size_t errlen);

/* Deletes route 'r' (as nl_route_list() gave it) from the main table.  -ESRCH if it is
 * not there. */
int nl_route_del(struct nl_sock *, const struct nl_route *r, char *err, size_t errlen);

/* Adds or replaces the permanent neighbor entry 'ip' -> 'mac' on link 'ifindex': the node
 * then sends to that next hop without asking ARP. */
int nl_neigh_replace(struct nl_sock *, int ifindex, be32 ip, struct eth_addr mac, char *err,
                     size_t errlen);

/* Lists the IPv4 routes of the main table that leave through 'ifindex' (0: all) into a new
 * array '*routes' of '*n' (caller frees). */
int nl_route_list(struct nl_sock *, int ifindex, struct nl_route **routes, size_t *n,
                  char *err, size_t errlen);

#endif
