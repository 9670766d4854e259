/* The pod's veth pair: its host-side name, its creation, the configuration of the pod's end
 * inside the pod's namespace, its checks and its removal.  All of it through rtnetlink
 * (lib/netlink.h, libmnl with extended acks); the pod's side runs on a thread inside the
 * pod's namespace (netns.h), the host's side in the caller's own namespace, which is the
 * node's, where vswitchd attaches the host end. */
#ifndef CNI_LINK_H
#define CNI_LINK_H 1

#include <net/if.h>
#include <stddef.h>

#include "cni/cni-error.h"
#include "cni/result.h"
#include "lib/netlink.h"
#include "lib/types.h"

/* The host end of an attachment is named "vsw" + 12 hex digits of a 64-bit FNV-1a hash of
 * the network name, the container ID and the interface name: the same for every call about
 * one attachment (DEL and GC find it without any state of ours), distinct between networks
 * sharing a switch, and 15 characters, the kernel's limit. */
#define LINK_HOST_PREFIX "vsw"
void link_host_name(const char *network, const char *container_id, const char *ifname,
                    char name[IF_NAMESIZE]);

/* The pod's side as it is to be configured, or checked. */
struct link_pod_conf {
    const char *netns_path;         /* For messages. */
    const char *ifname;
    unsigned int mtu;
    struct eth_addr mac;
    const struct cni_ip *ips;       /* The pod's addresses (IPv4). */
    size_t n_ips;
    const struct cni_route *routes; /* Their gateway, when not given, is 'gw'. */
    size_t n_routes;
    be32 gw;                        /* The pod's default gateway (ips[0]'s); 0: none. */
};

/* Fails with code 101 if 'ifname' already exists in the pod (the specification demands an
 * error).  Returns 0 or a negative errno with 'err' set. */
int link_pod_check_free(int netns_fd, const struct link_pod_conf *conf, struct cni_err *err);

/* Creates the veth pair: 'host' in our namespace, conf->ifname directly in the pod's, with
 * conf->mac on the pod's end and conf->mtu on both. */
int link_create(const char *host, int netns_fd, const struct link_pod_conf *conf,
                struct cni_err *err);

/* Inside the pod: addresses, up, routes.  '*pod' gets the configured link. */
int link_pod_configure(int netns_fd, const struct link_pod_conf *conf, struct nl_link *pod,
                       struct cni_err *err);

/* Sets the host end up; '*link' gets it. */
int link_host_up(const char *host, struct nl_link *link, struct cni_err *err);

/* Looks up 'host' in our namespace: 0, -ENODEV, or another negative errno with 'err'. */
int link_host_get(const char *host, struct nl_link *link, struct cni_err *err);

/* Deletes the host end (and so the pod's end).  Returns 0, -ENODEV if it was not there, or
 * another negative errno with 'err' set. */
int link_delete(const char *host, struct cni_err *err);

/* CHECK: the pod's end is as 'conf' says (a veth, up, MAC, MTU, addresses, routes), and
 * 'host' exists, is up and is its peer.  Returns 0 or -EINVAL with 'err' (code 103) saying
 * precisely what differs. */
int link_check(const char *host, int netns_fd, const struct link_pod_conf *conf,
               struct cni_err *err);

#endif
