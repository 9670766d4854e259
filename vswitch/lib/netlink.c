/* rtnetlink helpers; see netlink.h. */
#include "lib/netlink.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/veth.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/addr.h"
#include "lib/util.h"

struct nl_sock {
    struct mnl_socket *mnl;
    unsigned int portid;
    unsigned int seq;
};

int nl_open(struct nl_sock **sockp, char *err, size_t errlen)
{
    struct nl_sock *sock;
    struct mnl_socket *mnl;
    int one = 1, error;

    *sockp = NULL;
    mnl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
    if (!mnl) {
        error = errno;
        snprintf(err, errlen, "cannot open a netlink socket: %s", strerror(error));
        return -error;
    }
    if (mnl_socket_bind(mnl, 0, MNL_SOCKET_AUTOPID) < 0) {
        error = errno;
        snprintf(err, errlen, "cannot bind the netlink socket: %s", strerror(error));
        mnl_socket_close(mnl);
        return -error;
    }
    /* Both are best effort: kernels without them still answer with a plain errno. */
    mnl_socket_setsockopt(mnl, NETLINK_EXT_ACK, &one, sizeof one);
    mnl_socket_setsockopt(mnl, NETLINK_CAP_ACK, &one, sizeof one);

    sock = xmalloc(sizeof *sock);
    sock->mnl = mnl;
    sock->portid = mnl_socket_get_portid(mnl);
    sock->seq = time(NULL);
    *sockp = sock;
    return 0;
}

void nl_close(struct nl_sock *sock)
{
    if (sock) {
        mnl_socket_close(sock->mnl);
        free(sock);
    }
}

/* The NLMSGERR_ATTR_MSG string of an error message, or NULL. */
static const char *extack_msg(const struct nlmsghdr *nlh)
{
    const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
    const struct nlattr *attr;
    size_t offset;

    if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS)) {
        return NULL;
    }
    /* The TLVs follow the echoed request, which is only its header when capped. */
    offset = sizeof *e;
    if (!(nlh->nlmsg_flags & NLM_F_CAPPED)) {
        offset += e->msg.nlmsg_len - sizeof e->msg;
    }
    if (offset > mnl_nlmsg_get_payload_len(nlh)) {
        return NULL;
    }
    mnl_attr_for_each(attr, nlh, offset) {
        if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG
            && mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) >= 0) {
            return mnl_attr_get_str(attr);
        }
    }
    return NULL;
}

/* Receives the answers to 'seq' until its acknowledgement (or, for a dump, NLMSG_DONE),
 * passing every other message of it to 'cb' (may be NULL).  'what' names the operation for
 * the message in 'err'. */
static int nl_recv_answer(struct nl_sock *sock, unsigned int seq, mnl_cb_t cb, void *data,
                          const char *what, char *err, size_t errlen)
{
    char buf[MNL_SOCKET_BUFFER_SIZE];
    int error;

    for (;;) {
        ssize_t n = mnl_socket_recvfrom(sock->mnl, buf, sizeof buf);
        const struct nlmsghdr *msg = (const struct nlmsghdr *) buf;
        int len = n;

        if (n < 0) {
            error = errno;
            snprintf(err, errlen, "%s: receiving from netlink: %s", what, strerror(error));
            return -error;
        }
        for (; mnl_nlmsg_ok(msg, len); msg = mnl_nlmsg_next(msg, &len)) {
            const struct nlmsgerr *e;
            const char *ext;

            if (msg->nlmsg_seq != seq) {
                continue;
            }
            if (msg->nlmsg_type == NLMSG_DONE) {
                /* A dump that failed half-way says so in NLMSG_DONE's payload. */
                if (mnl_nlmsg_get_payload_len(msg) >= sizeof(int)) {
                    const int *status = mnl_nlmsg_get_payload(msg);

                    if (*status < 0) {
                        snprintf(err, errlen, "%s: %s", what, strerror(-*status));
                        return *status;
                    }
                }
                return 0;
            }
            if (msg->nlmsg_type != NLMSG_ERROR) {
                if (cb && cb(msg, data) < 0) {
                    snprintf(err, errlen, "%s: malformed answer from the kernel", what);
                    return -EPROTO;
                }
                continue;
            }
            e = mnl_nlmsg_get_payload(msg);
            if (!e->error) {
                return 0;
            }
            ext = extack_msg(msg);
            snprintf(err, errlen, "%s: %s%s%s", what, strerror(-e->error), ext ? ": " : "",
                     ext ? ext : "");
            return e->error;
        }
    }
}

/* Sends 'nlh' with NLM_F_ACK and waits for its acknowledgement, passing any answer before it
 * to 'cb' (may be NULL). */
static int nl_exchange(struct nl_sock *sock, struct nlmsghdr *nlh, mnl_cb_t cb, void *data,
                       const char *what, char *err, size_t errlen)
{
    unsigned int seq = ++sock->seq;
    int error;

    nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
    nlh->nlmsg_seq = seq;
    if (mnl_socket_sendto(sock->mnl, nlh, nlh->nlmsg_len) < 0) {
        error = errno;
        snprintf(err, errlen, "%s: sending to netlink: %s", what, strerror(error));
        return -error;
    }
    return nl_recv_answer(sock, seq, cb, data, what, err, errlen);
}

/* Sends 'nlh' with NLM_F_ACK and waits for its acknowledgement.  'what' names the operation
 * for the message in 'err'. */
static int nl_transact(struct nl_sock *sock, struct nlmsghdr *nlh, const char *what,
                       char *err, size_t errlen)
{
    return nl_exchange(sock, nlh, NULL, NULL, what, err, errlen);
}

int nl_link_set_up(struct nl_sock *sock, int ifindex, char *err, size_t errlen)
{
    char buf[MNL_SOCKET_BUFFER_SIZE];
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
    struct ifinfomsg *ifi;

    nlh->nlmsg_type = RTM_NEWLINK;
    ifi = mnl_nlmsg_put_extra_header(nlh, sizeof *ifi);
    ifi->ifi_family = AF_UNSPEC;
    ifi->ifi_index = ifindex;
    ifi->ifi_flags = IFF_UP;
    ifi->ifi_change = IFF_UP;
    return nl_transact(sock, nlh, "cannot set the link up", err, errlen);
}

static struct nlmsghdr *put_addr_msg(char *buf, uint16_t type, uint16_t flags, int ifindex,
                                     be32 local, be32 address, int prefix)
{
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
    struct ifaddrmsg *ifa;

    nlh->nlmsg_type = type;
    nlh->nlmsg_flags = flags;
    ifa = mnl_nlmsg_put_extra_header(nlh, sizeof *ifa);
    ifa->ifa_family = AF_INET;
    ifa->ifa_prefixlen = prefix;
    ifa->ifa_scope = RT_SCOPE_UNIVERSE;
    ifa->ifa_index = ifindex;
    mnl_attr_put(nlh, IFA_LOCAL, sizeof local, &local);
    mnl_attr_put(nlh, IFA_ADDRESS, sizeof address, &address);
    return nlh;
}

int nl_addr_replace(struct nl_sock *sock, int ifindex, be32 ip, int prefix, char *err,
                    size_t errlen)
{
    char buf[MNL_SOCKET_BUFFER_SIZE], what[64], ip_s[IP_STR_LEN];
    struct nlmsghdr *nlh;

    nlh = put_addr_msg(buf, RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE, ifindex, ip, ip,
                       prefix);
    snprintf(what, sizeof what, "cannot add address %s/%d", addr_ip_str(ip, ip_s), prefix);
    return nl_transact(sock, nlh, what, err, errlen);
}

struct addr_dump {
    int ifindex;
    struct nl_addr *addrs;
    size_t n;
};

static int addr_dump_cb(const struct nlmsghdr *nlh, void *data_)
{
    struct addr_dump *dump = data_;
    const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
    const struct nlattr *attr;
    struct nl_addr a = { .prefix = ifa->ifa_prefixlen };
    bool have_local = false;

    if (nlh->nlmsg_type != RTM_NEWADDR || ifa->ifa_family != AF_INET
        || (dump->ifindex && (int) ifa->ifa_index != dump->ifindex)) {
        return MNL_CB_OK;
    }
    a.ifindex = ifa->ifa_index;
    mnl_attr_for_each(attr, nlh, sizeof *ifa) {
        uint16_t type = mnl_attr_get_type(attr);

        if ((type == IFA_LOCAL || type == IFA_ADDRESS)
            && mnl_attr_validate2(attr, MNL_TYPE_UNSPEC, sizeof(be32)) >= 0) {
            be32 ip;

            memcpy(&ip, mnl_attr_get_payload(attr), sizeof ip);
            if (type == IFA_LOCAL) {
                a.local = ip;
                have_local = true;
            } else {
                a.address = ip;
            }
        }
    }
    if (!have_local) {
        a.local = a.address;
    }
    dump->addrs = xrealloc(dump->addrs, (dump->n + 1) * sizeof *dump->addrs);
    dump->addrs[dump->n++] = a;
    return MNL_CB_OK;
}

/* Sends the dump request 'nlh' and passes every answer to 'cb'. */
static int nl_dump(struct nl_sock *sock, struct nlmsghdr *nlh, mnl_cb_t cb, void *data,
                   const char *what, char *err, size_t errlen)
{
    unsigned int seq = ++sock->seq;
    int error;

    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    nlh->nlmsg_seq = seq;
    if (mnl_socket_sendto(sock->mnl, nlh, nlh->nlmsg_len) < 0) {
        error = errno;
        snprintf(err, errlen, "%s: sending to netlink: %s", what, strerror(error));
        return -error;
    }
    return nl_recv_answer(sock, seq, cb, data, what, err, errlen);
}

/* Lists the IPv4 addresses of 'ifindex' into 'dump'. */
static int addr_list(struct nl_sock *sock, struct addr_dump *dump, char *err, size_t errlen)
{
    char buf[MNL_SOCKET_BUFFER_SIZE];
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
    struct ifaddrmsg *ifa;

    nlh->nlmsg_type = RTM_GETADDR;
    ifa = mnl_nlmsg_put_extra_header(nlh, sizeof *ifa);
    ifa->ifa_family = AF_INET;
    return nl_dump(sock, nlh, addr_dump_cb, dump, "cannot list addresses", err, errlen);
}

int nl_addr_list(struct nl_sock *sock, int ifindex, struct nl_addr **addrs, size_t *n,
                 char *err, size_t errlen)
{
    struct addr_dump dump = { .ifindex = ifindex };
    int error;

    error = addr_list(sock, &dump, err, errlen);
    if (error) {
        free(dump.addrs);
        dump.addrs = NULL;
        dump.n = 0;
    }
    *addrs = dump.addrs;
    *n = dump.n;
    return error;
}

int nl_addr_flush_except(struct nl_sock *sock, int ifindex, be32 keep_ip, int keep_prefix,
                         char *err, size_t errlen)
{
    struct addr_dump dump = { .ifindex = ifindex };
    int error;

    error = addr_list(sock, &dump, err, errlen);
    for (size_t i = 0; !error && i < dump.n; i++) {
        const struct nl_addr *a = &dump.addrs[i];
        char buf[MNL_SOCKET_BUFFER_SIZE], what[64], ip_s[IP_STR_LEN];
        struct nlmsghdr *nlh;

        if (a->local == keep_ip && a->prefix == keep_prefix) {
            continue;
        }
        nlh = put_addr_msg(buf, RTM_DELADDR, 0, ifindex, a->local, a->address, a->prefix);
        snprintf(what, sizeof what, "cannot remove address %s/%d",
                 addr_ip_str(a->local, ip_s), a->prefix);
        error = nl_transact(sock, nlh, what, err, errlen);
        if (error == -EADDRNOTAVAIL) {
            /* Gone already: removing a primary address drops its secondaries with it. */
            error = 0;
        }
    }
    free(dump.addrs);
    return error;
}

/* ---- Links, addresses and routes as the CNI plugin needs them ---- */

static int link_attr_cb(const struct nlattr *attr, void *data)
{
    const struct nlattr **tb = data;
    int type = mnl_attr_get_type(attr);

    if (mnl_attr_type_valid(attr, IFLA_MAX) > 0) {
        tb[type] = attr;
    }
    return MNL_CB_OK;
}

static int link_get_cb(const struct nlmsghdr *nlh, void *link_)
{
    struct nl_link *link = link_;
    const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
    const struct nlattr *tb[IFLA_MAX + 1] = { NULL };

    if (nlh->nlmsg_type != RTM_NEWLINK
        || mnl_nlmsg_get_payload_len(nlh) < sizeof *ifi
        || mnl_attr_parse(nlh, sizeof *ifi, link_attr_cb, tb) < 0) {
        return MNL_CB_ERROR;
    }
    memset(link, 0, sizeof *link);
    link->ifindex = ifi->ifi_index;
    link->flags = ifi->ifi_flags;
    if (tb[IFLA_IFNAME] && mnl_attr_validate(tb[IFLA_IFNAME], MNL_TYPE_NUL_STRING) >= 0) {
        str_copy(link->name, mnl_attr_get_str(tb[IFLA_IFNAME]), sizeof link->name);
    }
    if (tb[IFLA_ADDRESS] && mnl_attr_get_payload_len(tb[IFLA_ADDRESS]) == ETH_ADDR_LEN) {
        memcpy(link->mac.a, mnl_attr_get_payload(tb[IFLA_ADDRESS]), ETH_ADDR_LEN);
    }
    if (tb[IFLA_MTU] && mnl_attr_validate(tb[IFLA_MTU], MNL_TYPE_U32) >= 0) {
        link->mtu = mnl_attr_get_u32(tb[IFLA_MTU]);
    }
    if (tb[IFLA_LINK] && mnl_attr_validate(tb[IFLA_LINK], MNL_TYPE_U32) >= 0) {
        link->peer_ifindex = mnl_attr_get_u32(tb[IFLA_LINK]);
    }
    if (tb[IFLA_LINKINFO] && mnl_attr_validate(tb[IFLA_LINKINFO], MNL_TYPE_NESTED) >= 0) {
        const struct nlattr *attr;

        mnl_attr_for_each_nested(attr, tb[IFLA_LINKINFO]) {
            if (mnl_attr_get_type(attr) == IFLA_INFO_KIND
                && mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) >= 0) {
                str_copy(link->kind, mnl_attr_get_str(attr), sizeof link->kind);
            }
        }
    }
    return MNL_CB_OK;
}

int nl_link_get(struct nl_sock *sock, const char *name, struct nl_link *link, char *err,
                size_t errlen)
{
    char buf[MNL_SOCKET_BUFFER_SIZE], what[64];
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
    struct ifinfomsg *ifi;
    int error;

    if (strlen(name) >= IF_NAMESIZE) {
        snprintf(err, errlen, "no link named %s: longer than %d characters", name,
                 IF_NAMESIZE - 1);
        return -ENODEV;
    }
    nlh->nlmsg_type = RTM_GETLINK;
    ifi = mnl_nlmsg_put_extra_header(nlh, sizeof *ifi);
    ifi->ifi_family = AF_UNSPEC;
    mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
    memset(link, 0, sizeof *link);
    snprintf(what, sizeof what, "cannot look up link %s", name);
    error = nl_exchange(sock, nlh, link_get_cb, link, what, err, errlen);
    if (error == -ENODEV) {
        snprintf(err, errlen, "no link named %s", name);
    } else if (!error && !link->ifindex) {
        snprintf(err, errlen, "%s: the kernel did not describe it", what);
        error = -EPROTO;
    }
    return error;
}

int nl_veth_add(struct nl_sock *sock, const char *name, const char *peer, int peer_netns_fd,
                const struct eth_addr *peer_mac, unsigned int mtu, char *err, size_t errlen)
{
    char buf[MNL_SOCKET_BUFFER_SIZE], what[80];
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
    struct nlattr *linkinfo, *data, *peer_attr;
    struct ifinfomsg *ifi, *peer_ifi;

    nlh->nlmsg_type = RTM_NEWLINK;
    nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
    ifi = mnl_nlmsg_put_extra_header(nlh, sizeof *ifi);
    ifi->ifi_family = AF_UNSPEC;
    mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
    if (mtu) {
        mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
    }
    linkinfo = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
    mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
    data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
    /* VETH_INFO_PEER holds a whole ifinfomsg and its attributes, like a RTM_NEWLINK body. */
    peer_attr = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
    peer_ifi = mnl_nlmsg_put_extra_header(nlh, sizeof *peer_ifi);
    peer_ifi->ifi_family = AF_UNSPEC;
    mnl_attr_put_strz(nlh, IFLA_IFNAME, peer);
    if (mtu) {
        mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
    }
    if (peer_mac) {
        mnl_attr_put(nlh, IFLA_ADDRESS, ETH_ADDR_LEN, peer_mac->a);
    }
    if (peer_netns_fd >= 0) {
        mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, peer_netns_fd);
    }
    mnl_attr_nest_end(nlh, peer_attr);
    mnl_attr_nest_end(nlh, data);
    mnl_attr_nest_end(nlh, linkinfo);
    snprintf(what, sizeof what, "cannot create veth pair %s/%s", name, peer);
    return nl_transact(sock, nlh, what, err, errlen);
}

int nl_link_del(struct nl_sock *sock, int ifindex, char *err, size_t errlen)
{
    char buf[MNL_SOCKET_BUFFER_SIZE];
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
    struct ifinfomsg *ifi;

    nlh->nlmsg_type = RTM_DELLINK;
    ifi = mnl_nlmsg_put_extra_header(nlh, sizeof *ifi);
    ifi->ifi_family = AF_UNSPEC;
    ifi->ifi_index = ifindex;
    return nl_transact(sock, nlh, "cannot delete the link", err, errlen);
}

/* A RTM_NEWROUTE or RTM_DELROUTE for 'r' in the main table. */
static struct nlmsghdr *put_route_msg(char *buf, uint16_t type, uint16_t flags,
                                      const struct nl_route *r)
{
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
    struct rtmsg *rtm;

    nlh->nlmsg_type = type;
    nlh->nlmsg_flags = flags;
    rtm = mnl_nlmsg_put_extra_header(nlh, sizeof *rtm);
    rtm->rtm_family = AF_INET;
    rtm->rtm_dst_len = r->prefix;
    rtm->rtm_table = RT_TABLE_MAIN;
    rtm->rtm_protocol = r->protocol;
    rtm->rtm_scope = r->gw ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
    rtm->rtm_type = RTN_UNICAST;
    rtm->rtm_flags = r->onlink ? RTNH_F_ONLINK : 0;
    if (r->prefix) {
        mnl_attr_put(nlh, RTA_DST, sizeof r->dst, &r->dst);
    }
    if (r->gw) {
        mnl_attr_put(nlh, RTA_GATEWAY, sizeof r->gw, &r->gw);
    }
    if (r->prefsrc) {
        mnl_attr_put(nlh, RTA_PREFSRC, sizeof r->prefsrc, &r->prefsrc);
    }
    mnl_attr_put_u32(nlh, RTA_OIF, r->oif);
    return nlh;
}

int nl_route_replace(struct nl_sock *sock, const struct nl_route *r, char *err, size_t errlen)
{
    char buf[MNL_SOCKET_BUFFER_SIZE], what[96], dst_s[IP_STR_LEN];

    snprintf(what, sizeof what, "cannot install route %s/%d", addr_ip_str(r->dst, dst_s),
             r->prefix);
    return nl_transact(sock, put_route_msg(buf, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, r),
                       what, err, errlen);
}

int nl_route_del(struct nl_sock *sock, const struct nl_route *r, char *err, size_t errlen)
{
    char buf[MNL_SOCKET_BUFFER_SIZE], what[96], dst_s[IP_STR_LEN];
    struct nlmsghdr *nlh = put_route_msg(buf, RTM_DELROUTE, 0, r);
    struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);

    /* RT_SCOPE_NOWHERE matches a route of any scope. */
    rtm->rtm_scope = RT_SCOPE_NOWHERE;
    snprintf(what, sizeof what, "cannot delete route %s/%d", addr_ip_str(r->dst, dst_s),
             r->prefix);
    return nl_transact(sock, nlh, what, err, errlen);
}

int nl_route_add(struct nl_sock *sock, be32 dst, int prefix, be32 gw, bool onlink, int ifindex,
                 char *err, size_t errlen)
{
    char buf[MNL_SOCKET_BUFFER_SIZE], what[96], dst_s[IP_STR_LEN], gw_s[IP_STR_LEN];
    struct nl_route r = {
        .dst = dst, .prefix = prefix, .gw = gw, .oif = ifindex, .protocol = RTPROT_BOOT,
        .onlink = onlink,
    };

    if (gw) {
        snprintf(what, sizeof what, "cannot add route %s/%d via %s", addr_ip_str(dst, dst_s),
                 prefix, addr_ip_str(gw, gw_s));
    } else {
        snprintf(what, sizeof what, "cannot add route %s/%d", addr_ip_str(dst, dst_s), prefix);
    }
    return nl_transact(sock, put_route_msg(buf, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, &r),
                       what, err, errlen);
}

int nl_neigh_replace(struct nl_sock *sock, int ifindex, be32 ip, struct eth_addr mac,
                     char *err, size_t errlen)
{
    char buf[MNL_SOCKET_BUFFER_SIZE], what[64], ip_s[IP_STR_LEN];
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
    struct ndmsg *ndm;

    nlh->nlmsg_type = RTM_NEWNEIGH;
    nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE;
    ndm = mnl_nlmsg_put_extra_header(nlh, sizeof *ndm);
    ndm->ndm_family = AF_INET;
    ndm->ndm_ifindex = ifindex;
    ndm->ndm_state = NUD_PERMANENT;
    ndm->ndm_type = RTN_UNICAST;
    mnl_attr_put(nlh, NDA_DST, sizeof ip, &ip);
    mnl_attr_put(nlh, NDA_LLADDR, ETH_ADDR_LEN, mac.a);
    snprintf(what, sizeof what, "cannot set neighbor %s", addr_ip_str(ip, ip_s));
    return nl_transact(sock, nlh, what, err, errlen);
}

struct route_dump {
    int ifindex;
    struct nl_route *routes;
    size_t n;
};

static int route_dump_cb(const struct nlmsghdr *nlh, void *dump_)
{
    struct route_dump *dump = dump_;
    const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
    const struct nlattr *attr;
    struct nl_route r = {
        .prefix = rtm->rtm_dst_len, .protocol = rtm->rtm_protocol,
        .onlink = (rtm->rtm_flags & RTNH_F_ONLINK) != 0,
    };
    uint32_t table = rtm->rtm_table;

    if (nlh->nlmsg_type != RTM_NEWROUTE || mnl_nlmsg_get_payload_len(nlh) < sizeof *rtm) {
        return MNL_CB_OK;
    }
    if (rtm->rtm_family != AF_INET || rtm->rtm_type != RTN_UNICAST) {
        return MNL_CB_OK;
    }
    mnl_attr_for_each(attr, nlh, sizeof *rtm) {
        switch (mnl_attr_get_type(attr)) {
        case RTA_DST:
            if (mnl_attr_get_payload_len(attr) == sizeof r.dst) {
                memcpy(&r.dst, mnl_attr_get_payload(attr), sizeof r.dst);
            }
            break;
        case RTA_GATEWAY:
            if (mnl_attr_get_payload_len(attr) == sizeof r.gw) {
                memcpy(&r.gw, mnl_attr_get_payload(attr), sizeof r.gw);
            }
            break;
        case RTA_PREFSRC:
            if (mnl_attr_get_payload_len(attr) == sizeof r.prefsrc) {
                memcpy(&r.prefsrc, mnl_attr_get_payload(attr), sizeof r.prefsrc);
            }
            break;
        case RTA_OIF:
            if (mnl_attr_validate(attr, MNL_TYPE_U32) >= 0) {
                r.oif = mnl_attr_get_u32(attr);
            }
            break;
        case RTA_TABLE:
            if (mnl_attr_validate(attr, MNL_TYPE_U32) >= 0) {
                table = mnl_attr_get_u32(attr);
            }
            break;
        }
    }
    if (table != RT_TABLE_MAIN || (dump->ifindex && r.oif != dump->ifindex)) {
        return MNL_CB_OK;
    }
    dump->routes = xrealloc(dump->routes, (dump->n + 1) * sizeof *dump->routes);
    dump->routes[dump->n++] = r;
    return MNL_CB_OK;
}

int nl_route_list(struct nl_sock *sock, int ifindex, struct nl_route **routes, size_t *n,
                  char *err, size_t errlen)
{
    char buf[MNL_SOCKET_BUFFER_SIZE];
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
    struct route_dump dump = { .ifindex = ifindex };
    struct rtmsg *rtm;
    int error;

    nlh->nlmsg_type = RTM_GETROUTE;
    rtm = mnl_nlmsg_put_extra_header(nlh, sizeof *rtm);
    rtm->rtm_family = AF_INET;
    error = nl_dump(sock, nlh, route_dump_cb, &dump, "cannot list routes", err, errlen);
    if (error) {
        free(dump.routes);
        dump.routes = NULL;
        dump.n = 0;
    }
    *routes = dump.routes;
    *n = dump.n;
    return error;
}
