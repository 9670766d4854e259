/* The translation from Kubernetes objects to vswitchd configuration, with kube-proxy's
 * semantics:
 *
 *   - each port of a ClusterIP Service (also of a NodePort or LoadBalancer one, and one with
 *     externalIPs: only its cluster IP is handled) becomes a policy clusterIP:port/proto;
 *   - its backends are the endpoints of every EndpointSlice of the Service that has a port
 *     of the same name and protocol, at that port (so named targetPorts resolve per pod);
 *   - the ready endpoints, or if there are none the serving and terminating ones; with
 *     internalTrafficPolicy Local only those on this node;
 *   - sessionAffinity ClientIP sets the affinity timeout; DSR unless the Service's
 *     vswitch.io/dsr annotation (or --dsr=false without it) says otherwise;
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
};

struct translate_stats {
    size_t services;                /* Services seen. */
    size_t skipped[K8S_SVC_SKIP_N]; /* Services not programmed, by reason ([0] unused). */
    size_t ports_unsupported;       /* Service ports of another protocol than TCP or UDP. */
    size_t conflicts;               /* Service ports whose VIP:port/proto another had. */
    size_t truncated;               /* Policies cut to LB_CONFIG_MAX_BACKENDS backends. */
    size_t policies;
    size_t backends;
    size_t nodes_incomplete;        /* Other nodes without an InternalIP or a pod CIDR. */
    size_t peers;
    size_t outside_service_cidr;    /* Services whose cluster IP is outside --service-cidr. */
    size_t outside_cluster_cidr;    /* Other nodes whose pod CIDR is outside --cluster-cidr. */
};

/* Builds into 'out' (initialized, empty) the state that 'services', 'slices' and 'nodes'
 * (strmaps of struct k8s_service, k8s_slice and k8s_node) call for. */
void translate(const struct strmap *services, const struct strmap *slices,
               const struct strmap *nodes, const struct translate_config *,
               struct desired *out, struct translate_stats *);

#endif
