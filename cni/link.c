/* Veth pairs for pods; see link.h. */
#include "cni/link.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_MODULE "link"
#include "cni/netns.h"
#include "lib/addr.h"
#include "lib/log.h"

void link_host_name(const char *network, const char *container_id, const char *ifname,
                    char name[IF_NAMESIZE])
{
    /* FNV-1a, 64 bits (offset basis and prime from the FNV reference); each part is followed
     * by a NUL so that ("ab", "c") and ("a", "bc") differ. */
    const char *parts[] = { network, container_id, ifname };
    uint64_t h = UINT64_C(14695981039346656037);

    for (size_t i = 0; i < ARRAY_SIZE(parts); i++) {
        const char *p = parts[i];

        do {
            h ^= (unsigned char) *p;
            h *= UINT64_C(1099511628211);
        } while (*p++);
    }
    snprintf(name, IF_NAMESIZE, LINK_HOST_PREFIX "%012" PRIx64, h & UINT64_C(0xffffffffffff));
}

/* Opens a netlink socket in the current namespace, with the error as a CNI error. */
static int open_sock(struct nl_sock **sock, struct cni_err *err)
{
    char msg[256];
    int error = nl_open(sock, msg, sizeof msg);

    if (error) {
        cni_err_set(err, CNI_ERR_SYSTEM, "%s", msg);
    }
    return error;
}

static int check_free_in_ns(void *conf_, struct cni_err *err)
{
    const struct link_pod_conf *conf = conf_;
    struct nl_sock *sock;
    struct nl_link link;
    char msg[256];
    int error;

    error = open_sock(&sock, err);
    if (error) {
        return error;
    }
    error = nl_link_get(sock, conf->ifname, &link, msg, sizeof msg);
    nl_close(sock);
    if (!error) {
        cni_err_set(err, CNI_ERR_IF_EXISTS, "interface %s already exists in network namespace "
                    "%s", conf->ifname, conf->netns_path);
        return -EEXIST;
    } else if (error != -ENODEV) {
        cni_err_set(err, CNI_ERR_SYSTEM, "in network namespace %s: %s", conf->netns_path, msg);
        return error;
    }
    return 0;
}

int link_pod_check_free(int netns_fd, const struct link_pod_conf *conf, struct cni_err *err)
{
    return netns_run(netns_fd, check_free_in_ns, (void *) conf, err);
}

int link_create(const char *host, int netns_fd, const struct link_pod_conf *conf,
                struct cni_err *err)
{
    struct nl_sock *sock;
    char msg[512];
    int error;

    error = open_sock(&sock, err);
    if (error) {
        return error;
    }
    error = nl_veth_add(sock, host, conf->ifname, netns_fd, &conf->mac, conf->mtu, msg,
                        sizeof msg);
    nl_close(sock);
    if (error == -EEXIST) {
        /* The pod's name was checked free; so it is the host end, left by an ADD that was
         * not followed by its DEL. */
        cni_err_set(err, CNI_ERR_IF_EXISTS, "host interface %s already exists (an earlier ADD "
                    "of this attachment without its DEL?)", host);
    } else if (error) {
        cni_err_set(err, CNI_ERR_SYSTEM, "%s", msg);
    }
    return error;
}

/* The gateway of 'route' and whether it needs RTNH_F_ONLINK: a gateway outside every
 * address's subnet (a /32 pod address) is reachable only because we say it is. */
static be32 route_gw(const struct link_pod_conf *conf, const struct cni_route *route,
                     bool *onlink)
{
    be32 gw = route->gw ? route->gw : conf->gw;

    *onlink = gw != 0;
    for (size_t i = 0; i < conf->n_ips && *onlink; i++) {
        be32 mask = cidr_mask(conf->ips[i].prefix);

        if ((conf->ips[i].addr & mask) == (gw & mask) && conf->ips[i].prefix < 32) {
            *onlink = false;
        }
    }
    return gw;
}

struct configure_job {
    const struct link_pod_conf *conf;
    struct nl_link *pod;
};

static int configure_in_ns(void *job_, struct cni_err *err)
{
    struct configure_job *job = job_;
    const struct link_pod_conf *conf = job->conf;
    struct nl_sock *sock;
    char msg[512], ip_s[IP_STR_LEN];
    int error;

    error = open_sock(&sock, err);
    if (error) {
        return error;
    }
    error = nl_link_get(sock, conf->ifname, job->pod, msg, sizeof msg);
    for (size_t i = 0; !error && i < conf->n_ips; i++) {
        error = nl_addr_replace(sock, job->pod->ifindex, conf->ips[i].addr,
                                conf->ips[i].prefix, msg, sizeof msg);
    }
    if (!error) {
        error = nl_link_set_up(sock, job->pod->ifindex, msg, sizeof msg);
    }
    for (size_t i = 0; !error && i < conf->n_routes; i++) {
        const struct cni_route *route = &conf->routes[i];
        bool onlink;
        be32 gw = route_gw(conf, route, &onlink);

        error = nl_route_add(sock, route->dst, route->prefix, gw, onlink, job->pod->ifindex,
                             msg, sizeof msg);
        if (error == -EEXIST) {
            /* The same route twice in the IPAM result. */
            LOG_DBG("route %s/%d is there already", addr_ip_str(route->dst, ip_s),
                    route->prefix);
            error = 0;
        }
    }
    if (!error) {
        /* Read back what the pod now has (flags, MAC). */
        error = nl_link_get(sock, conf->ifname, job->pod, msg, sizeof msg);
    }
    nl_close(sock);
    if (error) {
        cni_err_set(err, CNI_ERR_SYSTEM, "configuring %s in network namespace %s: %s",
                    conf->ifname, conf->netns_path, msg);
    }
    return error;
}

int link_pod_configure(int netns_fd, const struct link_pod_conf *conf, struct nl_link *pod,
                       struct cni_err *err)
{
    struct configure_job job = { .conf = conf, .pod = pod };

    return netns_run(netns_fd, configure_in_ns, &job, err);
}

int link_host_get(const char *host, struct nl_link *link, struct cni_err *err)
{
    struct nl_sock *sock;
    char msg[256];
    int error;

    error = open_sock(&sock, err);
    if (error) {
        return error;
    }
    error = nl_link_get(sock, host, link, msg, sizeof msg);
    nl_close(sock);
    if (error) {
        cni_err_set(err, CNI_ERR_SYSTEM, "%s", msg);
    }
    return error;
}

int link_host_up(const char *host, struct nl_link *link, struct cni_err *err)
{
    struct nl_sock *sock;
    char msg[512];
    int error;

    error = open_sock(&sock, err);
    if (error) {
        return error;
    }
    error = nl_link_get(sock, host, link, msg, sizeof msg);
    if (!error) {
        error = nl_link_set_up(sock, link->ifindex, msg, sizeof msg);
    }
    if (!error) {
        error = nl_link_get(sock, host, link, msg, sizeof msg);
    }
    nl_close(sock);
    if (error) {
        cni_err_set(err, CNI_ERR_SYSTEM, "host interface %s: %s", host, msg);
    }
    return error;
}

int link_delete(const char *host, struct cni_err *err)
{
    struct nl_sock *sock;
    struct nl_link link;
    char msg[512];
    int error;

    error = open_sock(&sock, err);
    if (error) {
        return error;
    }
    error = nl_link_get(sock, host, &link, msg, sizeof msg);
    if (!error) {
        error = nl_link_del(sock, link.ifindex, msg, sizeof msg);
    }
    nl_close(sock);
    if (error && error != -ENODEV) {
        cni_err_set(err, CNI_ERR_SYSTEM, "cannot delete host interface %s: %s", host, msg);
    }
    return error;
}

/* ---- CHECK ---- */

struct check_job {
    const struct link_pod_conf *conf;
    int ifindex;                /* Out: the pod's end. */
};

static int check_fail(struct cni_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int check_fail(struct cni_err *err, const char *fmt, ...)
{
    va_list args;

    err->code = CNI_ERR_CHECK;
    va_start(args, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, args);
    va_end(args);
    err->details[0] = '\0';
    return -EINVAL;
}

static int check_addrs_routes(struct nl_sock *sock, const struct link_pod_conf *conf,
                              int ifindex, struct cni_err *err)
{
    struct nl_addr *addrs = NULL;
    struct nl_route *routes = NULL;
    size_t n_addrs, n_routes;
    char msg[512], ip_s[IP_STR_LEN], gw_s[IP_STR_LEN];
    int error;

    error = nl_addr_list(sock, ifindex, &addrs, &n_addrs, msg, sizeof msg);
    if (!error) {
        error = nl_route_list(sock, ifindex, &routes, &n_routes, msg, sizeof msg);
    }
    if (error) {
        cni_err_set(err, CNI_ERR_SYSTEM, "in network namespace %s: %s", conf->netns_path, msg);
        goto out;
    }
    for (size_t i = 0; i < conf->n_ips && !error; i++) {
        const struct cni_ip *ip = &conf->ips[i];
        bool found = false;

        for (size_t j = 0; j < n_addrs && !found; j++) {
            found = addrs[j].local == ip->addr && addrs[j].prefix == ip->prefix;
        }
        if (!found) {
            error = check_fail(err, "interface %s in %s does not have address %s/%d",
                               conf->ifname, conf->netns_path, addr_ip_str(ip->addr, ip_s),
                               ip->prefix);
        }
    }
    for (size_t i = 0; i < conf->n_routes && !error; i++) {
        const struct cni_route *route = &conf->routes[i];
        bool onlink, found = false;
        be32 gw = route_gw(conf, route, &onlink);

        for (size_t j = 0; j < n_routes && !found; j++) {
            found = routes[j].dst == route->dst && routes[j].prefix == route->prefix
                    && routes[j].gw == gw;
        }
        if (!found) {
            error = check_fail(err, "network namespace %s has no route %s/%d via %s on %s",
                               conf->netns_path, addr_ip_str(route->dst, ip_s), route->prefix,
                               gw ? addr_ip_str(gw, gw_s) : "the link", conf->ifname);
        }
    }

out:
    free(addrs);
    free(routes);
    return error;
}

static int check_in_ns(void *job_, struct cni_err *err)
{
    struct check_job *job = job_;
    const struct link_pod_conf *conf = job->conf;
    struct nl_sock *sock;
    struct nl_link link;
    char msg[512], mac[ETH_STR_LEN], want[ETH_STR_LEN];
    int error;

    error = open_sock(&sock, err);
    if (error) {
        return error;
    }
    error = nl_link_get(sock, conf->ifname, &link, msg, sizeof msg);
    if (error == -ENODEV) {
        error = check_fail(err, "interface %s is not in network namespace %s", conf->ifname,
                           conf->netns_path);
    } else if (error) {
        cni_err_set(err, CNI_ERR_SYSTEM, "in network namespace %s: %s", conf->netns_path, msg);
    } else if (strcmp(link.kind, "veth")) {
        error = check_fail(err, "interface %s in %s is %s%s, not a veth", conf->ifname,
                           conf->netns_path, link.kind[0] ? "a " : "a device of no kind",
                           link.kind);
    } else if (!eth_addr_is_zero(conf->mac) && !eth_addr_equals(link.mac, conf->mac)) {
        error = check_fail(err, "interface %s in %s has MAC %s, expected %s", conf->ifname,
                           conf->netns_path, addr_mac_str(link.mac, mac),
                           addr_mac_str(conf->mac, want));
    } else if (conf->mtu && link.mtu != conf->mtu) {
        error = check_fail(err, "interface %s in %s has MTU %u, expected %u", conf->ifname,
                           conf->netns_path, link.mtu, conf->mtu);
    } else if (!(link.flags & IFF_UP)) {
        error = check_fail(err, "interface %s in %s is down", conf->ifname, conf->netns_path);
    } else {
        error = check_addrs_routes(sock, conf, link.ifindex, err);
    }
    job->ifindex = link.ifindex;
    nl_close(sock);
    return error;
}

int link_check(const char *host, int netns_fd, const struct link_pod_conf *conf,
               struct cni_err *err)
{
    struct check_job job = { .conf = conf };
    struct nl_link link;
    int error;

    error = netns_run(netns_fd, check_in_ns, &job, err);
    if (error) {
        return error;
    }
    error = link_host_get(host, &link, err);
    if (error == -ENODEV) {
        return check_fail(err, "host interface %s of %s is missing", host, conf->ifname);
    } else if (error) {
        return error;
    }
    if (strcmp(link.kind, "veth") || link.peer_ifindex != job.ifindex) {
        return check_fail(err, "host interface %s is not the peer of %s in %s", host,
                          conf->ifname, conf->netns_path);
    }
    if (!(link.flags & IFF_UP)) {
        return check_fail(err, "host interface %s is down", host);
    }
    return 0;
}
