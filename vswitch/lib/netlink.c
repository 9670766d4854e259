/* rtnetlink helpers; see netlink.h. */
#include "lib/netlink.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
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

/* Sends 'nlh' with NLM_F_ACK and waits for its acknowledgement.  'what' names the operation
 * for the message in 'err'. */
static int nl_transact(struct nl_sock *sock, struct nlmsghdr *nlh, const char *what,
                       char *err, size_t errlen)
{
    char buf[MNL_SOCKET_BUFFER_SIZE];
    unsigned int seq = ++sock->seq;
    int error;

    nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
    nlh->nlmsg_seq = seq;
    if (mnl_socket_sendto(sock->mnl, nlh, nlh->nlmsg_len) < 0) {
        error = errno;
        snprintf(err, errlen, "%s: sending to netlink: %s", what, strerror(error));
        return -error;
    }
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

            if (msg->nlmsg_seq != seq || msg->nlmsg_type != NLMSG_ERROR) {
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

struct nl_addr {
    be32 local, address;
    int prefix;
};

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
        || (int) ifa->ifa_index != dump->ifindex) {
        return MNL_CB_OK;
    }
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

/* Lists the IPv4 addresses of 'ifindex' into 'dump'. */
static int addr_list(struct nl_sock *sock, struct addr_dump *dump, char *err, size_t errlen)
{
    char buf[MNL_SOCKET_BUFFER_SIZE];
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
    unsigned int seq = ++sock->seq;
    struct ifaddrmsg *ifa;
    int error;

    nlh->nlmsg_type = RTM_GETADDR;
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    nlh->nlmsg_seq = seq;
    ifa = mnl_nlmsg_put_extra_header(nlh, sizeof *ifa);
    ifa->ifa_family = AF_INET;
    if (mnl_socket_sendto(sock->mnl, nlh, nlh->nlmsg_len) < 0) {
        error = errno;
        snprintf(err, errlen, "cannot list addresses: %s", strerror(error));
        return -error;
    }
    for (;;) {
        ssize_t n = mnl_socket_recvfrom(sock->mnl, buf, sizeof buf);
        int ret;

        if (n < 0) {
            error = errno;
            snprintf(err, errlen, "cannot list addresses: %s", strerror(error));
            return -error;
        }
        ret = mnl_cb_run(buf, n, seq, sock->portid, addr_dump_cb, dump);
        if (ret == MNL_CB_STOP) {
            return 0;
        } else if (ret < 0) {
            error = errno;
            snprintf(err, errlen, "cannot list addresses: %s", strerror(error));
            return -error;
        }
    }
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
