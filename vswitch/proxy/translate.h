/* The translation from Kubernetes objects to vswitchd configuration, with kube-proxy's
 * semantics:
 *
 *   - each port of a ClusterIP Service (also of a NodePort or LoadBalancer one) becomes a
 *     policy clusterIP:port/proto, and one more for each of its IPv4 externalIPs and
 *     LoadBalancer ingress IPs (vswitchd routes those into the switch from the node); the
 *     latter with only this node's endpoints under externalTrafficPolicy Local;
 *   - each port with a nodePort (NodePort and LoadBalancer Services) becomes a policy
 *     0.0.0.0:nodePort/proto, which vswitchd answers on every address of the node (and
 *     steers there from the uplinks), or with --nodeport-addresses one policy
 *     ADDRESS:nodePort/proto for each of the node's addresses inside those CIDRs
 *     (kube-proxy's nodePortAddresses); their endpoints as the external addresses' (this
 *     node's only under externalTrafficPolicy Local), and never loadBalancerSourceRanges,
 *     which kube-proxy applies to the LoadBalancer IPs alone; never preserve-dip, since no
 *     pod can hold the node's address;
 *   - its backends are the endpoints of every EndpointSlice of the Service that has a port
 *     of the same name and protocol, at that port (so named targetPorts resolve per pod);
 *   - the ready endpoints, or if there are none the serving and terminating ones; with
 *     internalTrafficPolicy Local only those on this node;
 *   - sessionAffinity ClientIP sets the affinity timeout; DSR unless the Service's
 *     vswitch.io/dsr annotation (or --dsr=false without it) says otherwise;
 *   - vswitch.io/dsr-mode: preserve-dip makes it classic L2 DSR (the pods hold the cluster
 *     IP); a port whose endpoints listen on another port than the Service's, or with DSR
 *     off, cannot be that (nothing rewrites the port): it stays DNAT'd, counted;
 *   - headless, ExternalName and service-proxy-name Services are skipped and counted;
 *   - every other Node with an InternalIP and a pod CIDR becomes an overlay peer;
 *   - with --service-cidr and --cluster-cidr (as kube-proxy's), cluster IPs outside the
 *     one and Nodes' pod CIDRs outside the other are still programmed but counted: the
 *     node routes only the service CIDR into the switch, and masquerades pod traffic to
 *     anything outside the cluster CIDR (vswitchd's flags of the same names).
 *
 * Pure: reads the stores, writes a struct desired. */
#ifndef VSWITCH_PROXY_TRANSLATE_H
#define VSWITCH_PROXY_TRANSLATE_H 1

#include <stdbool.h>
#include <stddef.h>

#include "lib/addr.h"
#include "proxy/desired.h"
#include "proxy/k8s-objects.h"
#include "proxy/strmap.h"

struct translate_config {
    const char *node_name;          /* --node-name: excluded from the peers. */
    bool dsr;                       /* --dsr: the default of Services without annotation. */
    const struct cidr *service_cidr;    /* --service-cidr, or NULL. */
    const struct cidr *cluster_cidr;    /* --cluster-cidr, or NULL. */
    /* --nodeport-addresses: none, NodePorts on 0.0.0.0 (every node address); else on each of
     * 'node_addrs' (this node's addresses, found by the caller) inside one of them. */
    const struct cidr *nodeport_cidrs;
    size_t n_nodeport_cidrs;
    const be32 *node_addrs;
    size_t n_node_addrs;
};

struct translate_stats {
    size_t services;                /* Services seen. */
    size_t skipped[K8S_SVC_SKIP_N]; /* Services not programmed, by reason ([0] unused). */
    size_t ports_unsupported;       /* Service ports of another protocol than TCP or UDP. */
    size_t conflicts;               /* Service ports whose VIP:port/proto another had. */
    size_t truncated;               /* Policies cut to LB_CONFIG_MAX_BACKENDS backends. */
    size_t preserve_dip_refused;    /* Ports asking for preserve-dip that cannot have it. */
    size_t policies;
    size_t backends;
    size_t nodes_incomplete;        /* Other nodes without an InternalIP or a pod CIDR. */
    size_t peers;
    size_t outside_service_cidr;    /* Services whose cluster IP is outside --service-cidr. */
    size_t outside_cluster_cidr;    /* Other nodes whose pod CIDR is outside --cluster-cidr. */
};

/* A health check server kube-proxy runs for a Service with externalTrafficPolicy Local: on
 * its healthCheckNodePort, 200 while this node has endpoints of it, else 503, so that a
 * load balancer sends only to nodes that can serve locally. */
struct health_check {
    uint16_t port;
    char namespace_[64];                /* Kubernetes names: at most 63 characters. */
    char name[64];
    size_t local_endpoints;             /* This node's ready endpoints (unique addresses). */
};

/* The health checks 'services' and 'slices' call for, in '*out' (heap, in Service key
 * order; a port claimed twice goes to the first Service by key).  Returns how many. */
size_t translate_health_checks(const struct strmap *services, const struct strmap *slices,
                               struct health_check **out);

/* Builds into 'out' (initialized, empty) the state that 'services', 'slices' and 'nodes'
 * (strmaps of struct k8s_service, k8s_slice and k8s_node) call for. */
void translate(const struct strmap *services, const struct strmap *slices,
               const struct strmap *nodes, const struct translate_config *,
               struct desired *out, struct translate_stats *);

#endif
