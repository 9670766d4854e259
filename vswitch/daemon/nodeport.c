/* NodePorts on the node's own addresses; see nodeport.h. */
#include "daemon/nodeport.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define LOG_MODULE "nodeport"
#include "daemon/nodeport-steer.h"
#include "daemon/vswitchd.h"
#include "dp/dp.h"
#include "lib/log.h"
#include "lib/netlink.h"
#include "lib/util.h"

struct nodeport {
    struct vswitchd *vd;
    /* Loaded when first needed (NULL before, or refused), then fixed until close: the
     * metrics thread reads its counters. */
    _Atomic(struct np_steer *) steer;
    bool refused;                   /* The kernel refused the program: no more tries. */
    unsigned int host_ifindex;
    struct eth_addr host_mac;
    struct mnl_socket *events;      /* Address events of the namespace. */
    uv_poll_t poll;
    be32 addrs[NODEPORT_MAX_ADDRS];
    size_t n_addrs;
    int uplinks[NODEPORT_MAX_UPLINKS];  /* Interfaces holding node addresses. */
    size_t n_uplinks;
    int attached[NODEPORT_MAX_UPLINKS]; /* Where the program is attached now (ingress)... */
    size_t n_attached;
    int lo_ifindex;                 /* ...and whether at the loopback device's egress, which */
    bool lo_attached;               /* carries the node's own packets to its addresses. */
    size_t n_entries;
};

/* Replies leave the switch into the node through the host port from a node address:
 * accepted only with accept_local, and a reply from another node's address (a connection
 * that node balanced to a pod here) only if the reverse path is not checked strictly.  The
 * host port is the switch's own link, so this opens nothing else. */
static void host_port_sysctls(void)
{
    static const char *const settings[][2] = {
        { "/proc/sys/net/ipv4/conf/" VSWITCHD_HOST_PORT "/accept_local", "1" },
        { "/proc/sys/net/ipv4/conf/" VSWITCHD_HOST_PORT "/rp_filter", "2" },
    };

    for (size_t i = 0; i < ARRAY_SIZE(settings); i++) {
        FILE *f = fopen(settings[i][0], "w");
        bool ok = f && fputs(settings[i][1], f) != EOF;

        /* The write reaches the kernel at the flush, so fclose() has the last word. */
        if (f && fclose(f)) {
            ok = false;
        }
        if (!ok) {
            LOG_WARN("cannot set %s to %s (%s): NodePort replies from this node's address "
                     "will be dropped by the node as martians", settings[i][0],
                     settings[i][1], strerror(errno));
        }
    }
}

static bool in_list(const int *list, size_t n, int x)
{
    for (size_t i = 0; i < n; i++) {
        if (list[i] == x) {
            return true;
        }
    }
    return false;
}

static bool is_loopback(struct nl_sock *nl, int ifindex)
{
    char name[IF_NAMESIZE], err[128];
    struct nl_link link;

    return !if_indextoname(ifindex, name) || nl_link_get(nl, name, &link, err, sizeof err)
           || (link.flags & IFF_LOOPBACK);
}

/* The node's addresses and the interfaces holding them, from a dump.  Returns 0 or a
 * negative errno (logged). */
static int learn_addrs(struct nodeport *np, be32 *addrs, size_t *n_addrs, int *uplinks,
                       size_t *n_uplinks)
{
    struct nl_addr *list = NULL;
    struct nl_sock *nl = NULL;
    char err[256];
    size_t n = 0;
    int error;

    *n_addrs = *n_uplinks = 0;
    error = nl_open(&nl, err, sizeof err);
    if (!error) {
        error = nl_addr_list(nl, 0, &list, &n, err, sizeof err);
    }
    for (size_t i = 0; !error && i < n; i++) {
        be32 ip = list[i].local ? list[i].local : list[i].address;
        bool seen = false;

        if ((unsigned int) list[i].ifindex == np->host_ifindex
            || (ntohl(ip) >> 24) == 127 || !ip) {
            continue;
        }
        for (size_t j = 0; j < *n_addrs && !seen; j++) {
            seen = addrs[j] == ip;
        }
        if (!seen && *n_addrs < NODEPORT_MAX_ADDRS) {
            addrs[(*n_addrs)++] = ip;
        }
        if (!in_list(uplinks, *n_uplinks, list[i].ifindex) && *n_uplinks < NODEPORT_MAX_UPLINKS
            && !is_loopback(nl, list[i].ifindex)) {
            uplinks[(*n_uplinks)++] = list[i].ifindex;
        }
    }
    free(list);
    nl_close(nl);
    if (error) {
        LOG_ERR("cannot list the node's addresses: %s", err);
    }
    return error;
}

/* The (address, port, protocol) triples the policies ask to steer: a NodePort policy's
 * port on every node address, and a policy on one node address (--nodeport-addresses). */
static size_t wanted_entries(const struct nodeport *np, struct np_steer_entry **out)
{
    struct dp_lb_info *infos = NULL;
    struct np_steer_entry *e;
    size_t n_infos = 0, n = 0, cap = 0;

    *out = NULL;
    if (dp_lb_list(np->vd->dp, &infos, &n_infos)) {
        return 0;
    }
    for (size_t i = 0; i < n_infos; i++) {
        const struct dp_lb_spec *s = &infos[i].spec;

        for (size_t j = 0; j < np->n_addrs; j++) {
            if (s->vip && s->vip != np->addrs[j]) {
                continue;
            }
            if (n == cap) {
                cap = cap ? cap * 2 : 64;
                *out = xrealloc(*out, cap * sizeof **out);
            }
            e = &(*out)[n++];
            memset(e, 0, sizeof *e);
            e->addr = np->addrs[j];
            e->port = htons(s->port);
            e->proto = s->proto;
        }
    }
    dp_lb_info_free(infos, n_infos);
    return n;
}

static void ensure_loaded(struct nodeport *np)
{
    struct np_steer *steer;
    char err[512];
    int error;

    if (atomic_load(&np->steer) || np->refused) {
        return;
    }
    error = np_steer_open(np->host_ifindex, np->host_mac, np->vd->cfg.router_mac, &steer,
                          err, sizeof err);
    atomic_store(&np->steer, steer);
    if (error) {
        np->refused = true;
        LOG_WARN("%s; NodePorts on the node's addresses are not steered into the switch "
                 "(pods and other nodes still reach them)", err);
    }
}

/* The node reaching a NodePort on its own address: the packet never crosses an uplink, it
 * leaves through the loopback device, where the program at egress steers it as it steers an
 * uplink's (the switch treats a node address as the node: host_client in pipeline.c). */
static void set_local_attachment(struct nodeport *np, bool steer)
{
    char err[256];

    if (!np->lo_ifindex || steer == np->lo_attached) {
        return;
    }
    if (!steer) {
        if (np_steer_detach(np->lo_ifindex, true)) {
            LOG_WARN("cannot detach the NodePort steering program from lo");
        }
        np->lo_attached = false;
    } else if (np_steer_attach(atomic_load(&np->steer), np->lo_ifindex, true, err,
                               sizeof err)) {
        LOG_WARN("NodePort steering on lo (the node's own connections): %s", err);
    } else {
        LOG_INFO("NodePort steering attached to lo (clsact egress: the node's own "
                 "connections)");
        np->lo_attached = true;
    }
}

static void set_attachments(struct nodeport *np, bool steer)
{
    int keep[NODEPORT_MAX_UPLINKS];
    size_t n_keep = 0;
    char err[256], name[IF_NAMESIZE];

    for (size_t i = 0; i < np->n_attached; i++) {
        int ifindex = np->attached[i];

        if (steer && in_list(np->uplinks, np->n_uplinks, ifindex)) {
            keep[n_keep++] = ifindex;
        } else if (np_steer_detach(ifindex, false)) {
            LOG_WARN("cannot detach the NodePort steering program from interface %d",
                     ifindex);
        } else {
            LOG_INFO("NodePort steering detached from interface %d", ifindex);
        }
    }
    for (size_t i = 0; steer && i < np->n_uplinks; i++) {
        int ifindex = np->uplinks[i];

        if (in_list(keep, n_keep, ifindex)) {
            continue;
        }
        if (!if_indextoname(ifindex, name)) {
            snprintf(name, sizeof name, "%d", ifindex);
        }
        if (np_steer_attach(atomic_load(&np->steer), ifindex, false, err, sizeof err)) {
            LOG_WARN("NodePort steering on %s: %s", name, err);
            continue;
        }
        LOG_INFO("NodePort steering attached to %s (clsact ingress)", name);
        keep[n_keep++] = ifindex;
    }
    memcpy(np->attached, keep, n_keep * sizeof *keep);
    np->n_attached = n_keep;
    set_local_attachment(np, steer);
}

void nodeport_sync(struct nodeport *np)
{
    struct np_steer_entry *entries;
    size_t n;

    if (!np) {
        return;
    }
    n = wanted_entries(np, &entries);
    if (n) {
        ensure_loaded(np);
    }
    if (atomic_load(&np->steer)) {
        int error = np_steer_set(atomic_load(&np->steer), entries, n);

        if (error) {
            LOG_ERR("cannot update the NodePort steering table: %s", strerror(-error));
        }
    }
    if (n != np->n_entries) {
        LOG_DBG("%zu NodePort(s) on %zu address(es) steered", n, np->n_addrs);
    }
    np->n_entries = n;
    set_attachments(np, n && atomic_load(&np->steer));
    free(entries);
}

/* Learns the addresses again and, if they changed, tells the datapath and re-syncs. */
static void refresh(struct nodeport *np)
{
    be32 addrs[NODEPORT_MAX_ADDRS];
    int uplinks[NODEPORT_MAX_UPLINKS];
    size_t n_addrs, n_uplinks;
    char list[NODEPORT_MAX_ADDRS * 17] = "", ip[IP_STR_LEN];

    if (learn_addrs(np, addrs, &n_addrs, uplinks, &n_uplinks)) {
        return;
    }
    if (n_addrs == np->n_addrs && !memcmp(addrs, np->addrs, n_addrs * sizeof *addrs)
        && n_uplinks == np->n_uplinks
        && !memcmp(uplinks, np->uplinks, n_uplinks * sizeof *uplinks)) {
        return;
    }
    memcpy(np->addrs, addrs, n_addrs * sizeof *addrs);
    np->n_addrs = n_addrs;
    memcpy(np->uplinks, uplinks, n_uplinks * sizeof *uplinks);
    np->n_uplinks = n_uplinks;
    dp_node_addrs_set(np->vd->dp, addrs, n_addrs);
    for (size_t i = 0; i < n_addrs; i++) {
        size_t len = strlen(list);

        snprintf(list + len, sizeof list - len, "%s%s", i ? "," : "",
                 addr_ip_str(addrs[i], ip));
    }
    LOG_INFO("node addresses for NodePorts: %s", n_addrs ? list : "none");
    nodeport_sync(np);
}

static void on_event(uv_poll_t *poll, int status, int events)
{
    struct nodeport *np = poll->data;
    char buf[8192];

    /* What changed does not matter: any address event (or a lost one, ENOBUFS) means
     * learning the set again, which is one dump. */
    while (recv(mnl_socket_get_fd(np->events), buf, sizeof buf, MSG_DONTWAIT) > 0
           || errno == ENOBUFS) {
    }
    refresh(np);
}

int nodeport_open(struct vswitchd *vd, uv_loop_t *loop, struct nodeport **npp, char *err,
                  size_t errlen)
{
    struct nodeport *np = xcalloc(1, sizeof *np);
    char nl_err[256];
    struct nl_link link;
    struct nl_sock *nl;
    int error;

    *npp = NULL;
    np->vd = vd;
    error = vswitchd_host_port_open(&np->host_ifindex, &nl, err, errlen);
    if (error) {
        free(np);
        return error;
    }
    error = nl_link_get(nl, VSWITCHD_HOST_PORT, &link, nl_err, sizeof nl_err);
    nl_close(nl);
    if (error) {
        snprintf(err, errlen, "host port %s: %s", VSWITCHD_HOST_PORT, nl_err);
        free(np);
        return error;
    }
    np->host_mac = link.mac;
    np->events = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (!np->events || mnl_socket_bind(np->events, RTMGRP_IPV4_IFADDR, MNL_SOCKET_AUTOPID)) {
        error = -errno;
        snprintf(err, errlen, "cannot watch the node's addresses: %s", strerror(errno));
        if (np->events) {
            mnl_socket_close(np->events);
        }
        free(np);
        return error;
    }
    host_port_sysctls();
    /* A predecessor killed with -9 may have left its filter steering where no NodePort is
     * wanted any more: start from none. */
    learn_addrs(np, np->addrs, &np->n_addrs, np->uplinks, &np->n_uplinks);
    for (size_t i = 0; i < np->n_uplinks; i++) {
        np_steer_detach(np->uplinks[i], false);
    }
    np->lo_ifindex = if_nametoindex("lo");
    if (np->lo_ifindex) {
        np_steer_detach(np->lo_ifindex, true);
    }
    np->n_addrs = np->n_uplinks = 0;
    refresh(np);

    uv_poll_init(loop, &np->poll, mnl_socket_get_fd(np->events));
    np->poll.data = np;
    uv_poll_start(&np->poll, UV_READABLE, on_event);
    *npp = np;
    return 0;
}

void nodeport_close(struct nodeport *np)
{
    if (!np) {
        return;
    }
    set_attachments(np, false);
    np_steer_close(atomic_load(&np->steer));
    mnl_socket_close(np->events);
    free(np);
}

bool nodeport_is_node_addr(const struct nodeport *np, be32 ip)
{
    for (size_t i = 0; np && i < np->n_addrs; i++) {
        if (np->addrs[i] == ip) {
            return true;
        }
    }
    return false;
}

void nodeport_info(const struct nodeport *np, struct nodeport_info *info)
{
    struct np_steer_stats st = { 0 };

    memset(info, 0, sizeof *info);
    info->steering = !np ? "none" : np->refused ? "refused" : np->n_attached ? "tc" : "idle";
    if (!np) {
        return;
    }
    info->n_addrs = MIN(np->n_addrs, ARRAY_SIZE(info->addrs));
    memcpy(info->addrs, np->addrs, info->n_addrs * sizeof *info->addrs);
    for (size_t i = 0; i < np->n_attached; i++) {
        if (if_indextoname(np->attached[i], info->uplinks[info->n_uplinks])) {
            info->n_uplinks++;
        }
    }
    info->local = np->lo_attached;
    info->n_entries = np->n_entries;
    nodeport_counters(np, &st);
    info->steered = st.steered;
    info->own_socket = st.own_socket;
}

void nodeport_counters(const struct nodeport *np, struct np_steer_stats *st)
{
    struct np_steer *steer = np ? atomic_load(&np->steer) : NULL;

    memset(st, 0, sizeof *st);
    if (steer) {
        np_steer_stats(steer, st);
    }
}
