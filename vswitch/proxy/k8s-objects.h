/* The three Kubernetes object kinds the proxy reads — Service, EndpointSlice (discovery.k8s.io/
 * v1) and Node — parsed from their JSON into the few fields that the translation needs.
 *
 * Parsing happens once, in the watcher thread that received the object, so the sync thread
 * works on compact structs and never on JSON.  A parser refuses a malformed object with a
 * message that names it ("service default/web: spec.ports[1].port: ...") and the caller
 * skips it; a well-formed object that the proxy does not program (headless, ExternalName, ...)
 * parses fine and says why in its 'skip' field, so it can be counted. */
#ifndef VSWITCH_PROXY_K8S_OBJECTS_H
#define VSWITCH_PROXY_K8S_OBJECTS_H 1

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/addr.h"
#include "lib/types.h"

/* Why a Service gets no policy.  The names are the label values of the skip metric. */
#define K8S_SVC_SKIP_REASONS                                                  \
    K8S_SVC_SKIP(NONE, "none")                                                \
    K8S_SVC_SKIP(HEADLESS, "headless")                                        \
    K8S_SVC_SKIP(EXTERNAL_NAME, "external_name")                              \
    K8S_SVC_SKIP(SERVICE_PROXY_NAME, "service_proxy_name")                    \
    K8S_SVC_SKIP(NO_CLUSTER_IP, "no_cluster_ip")                              \
    K8S_SVC_SKIP(NOT_IPV4, "not_ipv4")

enum k8s_svc_skip {
#define K8S_SVC_SKIP(ENUM, NAME) K8S_SVC_SKIP_##ENUM,
    K8S_SVC_SKIP_REASONS
#undef K8S_SVC_SKIP
    K8S_SVC_SKIP_N
};

const char *k8s_svc_skip_name(enum k8s_svc_skip);

/* Kubernetes' default for sessionAffinityConfig.clientIP.timeoutSeconds (3 hours). */
#define K8S_DEFAULT_AFFINITY_TIMEOUT 10800

/* The annotation that opts a Service in or out of DSR. */
#define K8S_DSR_ANNOTATION "vswitch.io/dsr"
/* "preserve-dip": classic L2 DSR, the backends hold the cluster IP (add-lb --preserve-dip). */
#define K8S_DSR_MODE_ANNOTATION "vswitch.io/dsr-mode"
#define K8S_SERVICE_PROXY_NAME_LABEL "service.kubernetes.io/service-proxy-name"
#define K8S_SERVICE_NAME_LABEL "kubernetes.io/service-name"

struct k8s_service_port {
    char *name;                 /* "" when the Service has a single unnamed port. */
    uint16_t port;
    uint16_t node_port;         /* spec.ports[].nodePort; 0: none. */
    uint8_t proto;              /* IPPROTO_TCP, IPPROTO_UDP, or 0 for another (SCTP). */
};

struct k8s_service {
    char *key;                  /* "namespace/name" */
    enum k8s_svc_skip skip;
    be32 cluster_ip;            /* The IPv4 cluster IP; 0 when skipped. */
    bool itp_local;             /* spec.internalTrafficPolicy: Local */
    bool etp_local;             /* spec.externalTrafficPolicy: Local */
    /* The Service's addresses outside the cluster, IPv4 and unique: spec.externalIPs, then
     * status.loadBalancer.ingress[].ip.  Others (IPv6, hostnames) are left out. */
    be32 *external;
    size_t n_external;
    size_t n_external_ips;      /* external[0 .. n_external_ips) are spec.externalIPs. */
    uint16_t health_check_port; /* spec.healthCheckNodePort; 0: none. */
    /* spec.loadBalancerSourceRanges, "IP/PREFIX" with the host bits cleared (Kubernetes
     * accepts "10.0.0.1/8"); they apply to the LoadBalancer ingress IPs. */
    char **source_ranges;
    size_t n_source_ranges;
    uint32_t affinity_timeout;  /* Seconds of ClientIP affinity; 0: none. */
    int dsr;                    /* The annotation: 1 true, 0 false, -1 absent (the default). */
    bool preserve_dip;          /* vswitch.io/dsr-mode: preserve-dip */
    size_t n_ports;
    struct k8s_service_port *ports;
};

struct k8s_slice_port {
    char *name;                 /* "" for the unnamed port. */
    uint16_t port;              /* 0 when the slice leaves it out (all ports). */
    uint8_t proto;
};

struct k8s_endpoint {
    be32 ip;                    /* addresses[0], as kube-proxy uses. */
    bool ready;
    bool serving;
    bool terminating;
    bool local;                 /* nodeName is this node (--node-name). */
};

struct k8s_slice {
    char *key;                  /* "namespace/name" of the slice */
    char *service_key;          /* "namespace/service" from kubernetes.io/service-name; NULL
                                 * when the slice belongs to no Service. */
    bool ipv4;                  /* addressType IPv4; other slices carry nothing for us. */
    size_t n_ports;
    struct k8s_slice_port *ports;
    size_t n_endpoints;
    struct k8s_endpoint *endpoints;
};

struct k8s_node {
    char *name;
    be32 internal_ip;           /* 0 when it has no IPv4 InternalIP. */
    struct cidr pod_cidr;       /* Its first IPv4 pod CIDR; has_pod_cidr says if any. */
    bool has_pod_cidr;
};

/* Each parser reads 'obj' (borrowed) and returns 0 with '*out' set (free with the matching
 * *_free), or -EINVAL with the reason in 'err', naming the object when it has a name. */
int k8s_service_from_json(const json_t *obj, struct k8s_service **out, char *err, size_t len);
/* 'node_name' (may be NULL) marks the endpoints on this node. */
int k8s_slice_from_json(const json_t *obj, const char *node_name, struct k8s_slice **out,
                        char *err, size_t len);
int k8s_node_from_json(const json_t *obj, struct k8s_node **out, char *err, size_t len);

/* Accept NULL. */
void k8s_service_free(struct k8s_service *);
void k8s_slice_free(struct k8s_slice *);
void k8s_node_free(struct k8s_node *);

/* The store key of any object: "namespace/name", or "name" for a cluster-scoped one; writes
 * into 'buf' and returns it, or NULL if metadata.name is missing or too long. */
const char *k8s_object_key(const json_t *obj, char *buf, size_t size);

#endif
