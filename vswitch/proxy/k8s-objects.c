/* Parsing of Service, EndpointSlice and Node objects; see k8s-objects.h.
 *
 * Field names and defaults follow the Kubernetes API reference (core/v1 Service and Node,
 * discovery.k8s.io/v1 EndpointSlice) and kube-proxy's reading of them: a missing 'ready' or
 * 'serving' condition counts as true, a missing 'terminating' as false, a missing protocol is
 * TCP, and an endpoint's first address is the one used.  A discovery.k8s.io/v1beta1 slice
 * (1.19, 1.20) reads the same: its endpoints name their node in 'nodeName' only behind the
 * EndpointSliceNodeName gate, and always in topology["kubernetes.io/hostname"], which v1 keeps
 * as deprecatedTopology; its 'topology' and v1's 'zone' and 'hints' are not used here. */
#include "proxy/k8s-objects.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define LOG_MODULE "k8s"
#include "lib/log.h"
#include "lib/util.h"

/* "namespace/name": both are DNS labels or subdomains of at most 253 characters. */
#define KEY_MAX 512

const char *k8s_svc_skip_name(enum k8s_svc_skip skip)
{
    static const char *const names[] = {
#define K8S_SVC_SKIP(ENUM, NAME) NAME,
        K8S_SVC_SKIP_REASONS
#undef K8S_SVC_SKIP
    };

    return skip < K8S_SVC_SKIP_N ? names[skip] : "?";
}

const char *k8s_object_key(const json_t *obj, char *buf, size_t size)
{
    const json_t *meta = json_object_get(obj, "metadata");
    const char *name = json_string_value(json_object_get(meta, "name"));
    const char *ns = json_string_value(json_object_get(meta, "namespace"));
    int n;

    if (!name || !*name) {
        return NULL;
    }
    n = ns && *ns ? snprintf(buf, size, "%s/%s", ns, name) : snprintf(buf, size, "%s", name);
    return n > 0 && (size_t) n < size ? buf : NULL;
}

static int __attribute__((format(printf, 5, 6)))
bad(char *err, size_t len, const char *kind, const char *key, const char *fmt, ...)
{
    va_list args;
    int n;

    n = snprintf(err, len, "%s %s: ", kind, key ? key : "(without metadata.name)");
    if (n >= 0 && (size_t) n < len) {
        va_start(args, fmt);
        vsnprintf(err + n, len - n, fmt, args);
        va_end(args);
    }
    return -EINVAL;
}

/* An optional string member: NULL when absent or null; 'ok' false when of another type. */
static const char *opt_string(const json_t *obj, const char *member, bool *ok)
{
    const json_t *v = json_object_get(obj, member);

    if (!v || json_is_null(v)) {
        return NULL;
    }
    if (!json_is_string(v)) {
        *ok = false;
        return NULL;
    }
    return json_string_value(v);
}

/* An optional boolean: 'dflt' when absent or null; 'ok' false when of another type. */
static bool opt_bool(const json_t *obj, const char *member, bool dflt, bool *ok)
{
    const json_t *v = json_object_get(obj, member);

    if (!v || json_is_null(v)) {
        return dflt;
    }
    if (!json_is_boolean(v)) {
        *ok = false;
        return dflt;
    }
    return json_is_true(v);
}

/* "TCP" (also the default), "UDP", or 0 for "SCTP"; -1 for anything else. */
static int parse_protocol(const char *s)
{
    if (!s || !strcmp(s, "TCP")) {
        return IPPROTO_TCP;
    } else if (!strcmp(s, "UDP")) {
        return IPPROTO_UDP;
    } else if (!strcmp(s, "SCTP")) {
        return 0;
    }
    return -1;
}

/* An optional array member: NULL when absent or null; 'ok' false when of another type. */
static const json_t *opt_array(const json_t *obj, const char *member, bool *ok)
{
    const json_t *v = json_object_get(obj, member);

    if (!v || json_is_null(v)) {
        return NULL;
    }
    if (!json_is_array(v)) {
        *ok = false;
        return NULL;
    }
    return v;
}

/* ---- Service -------------------------------------------------------------------------- */

void k8s_service_free(struct k8s_service *svc)
{
    if (svc) {
        for (size_t i = 0; i < svc->n_ports; i++) {
            free(svc->ports[i].name);
        }
        free(svc->ports);
        free(svc->external);
        for (size_t i = 0; i < svc->n_source_ranges; i++) {
            free(svc->source_ranges[i]);
        }
        free(svc->source_ranges);
        free(svc->key);
        free(svc);
    }
}

/* Picks the IPv4 cluster IP: spec.clusterIP, else the first IPv4 one of spec.clusterIPs. */
static int service_cluster_ip(const json_t *spec, struct k8s_service *svc, char *err,
                              size_t len)
{
    bool ok = true;
    const char *ip = opt_string(spec, "clusterIP", &ok);
    const json_t *ips, *v;
    size_t i;

    if (!ok) {
        return bad(err, len, "service", svc->key, "spec.clusterIP: expected a string");
    }
    if (ip && !strcmp(ip, "None")) {
        svc->skip = K8S_SVC_SKIP_HEADLESS;
        return 0;
    }
    if (!ip || !*ip) {
        svc->skip = K8S_SVC_SKIP_NO_CLUSTER_IP;
        return 0;
    }
    if (!addr_parse_ip(ip, &svc->cluster_ip)) {
        return 0;
    }
    ips = opt_array(spec, "clusterIPs", &ok);
    json_array_foreach(ips, i, v) {
        const char *s = json_string_value(v);

        if (s && !addr_parse_ip(s, &svc->cluster_ip)) {
            return 0;
        }
    }
    if (strchr(ip, ':')) {
        svc->skip = K8S_SVC_SKIP_NOT_IPV4;
        return 0;
    }
    return bad(err, len, "service", svc->key, "spec.clusterIP: invalid address \"%s\"", ip);
}

static void add_external(struct k8s_service *svc, const char *s)
{
    be32 ip;

    if (!s || addr_parse_ip(s, &ip) || ip == svc->cluster_ip) {
        return;
    }
    for (size_t i = 0; i < svc->n_external; i++) {
        if (svc->external[i] == ip) {
            return;
        }
    }
    svc->external = xrealloc(svc->external, (svc->n_external + 1) * sizeof *svc->external);
    svc->external[svc->n_external++] = ip;
}

/* spec.externalIPs and status.loadBalancer.ingress[].ip: the addresses clients outside the
 * cluster use.  IPv6 ones and hostname-only ingress entries have no IPv4 policy. */
static int service_external(const json_t *obj, const json_t *spec, struct k8s_service *svc,
                            char *err, size_t len)
{
    const json_t *status = json_object_get(obj, "status"), *ips, *ingress, *v;
    bool ok = true;
    size_t i;

    ips = opt_array(spec, "externalIPs", &ok);
    ingress = opt_array(json_object_get(status, "loadBalancer"), "ingress", &ok);
    if (!ok) {
        return bad(err, len, "service", svc->key, "spec.externalIPs or "
                   "status.loadBalancer.ingress: expected an array");
    }
    json_array_foreach(ips, i, v) {
        add_external(svc, json_string_value(v));
    }
    svc->n_external_ips = svc->n_external;
    json_array_foreach(ingress, i, v) {
        add_external(svc, json_string_value(json_object_get(v, "ip")));
    }
    v = json_object_get(spec, "healthCheckNodePort");
    if (v && !json_is_null(v)) {
        json_int_t port = json_integer_value(v);

        if (!json_is_integer(v) || port < 1 || port > 65535) {
            return bad(err, len, "service", svc->key,
                       "spec.healthCheckNodePort: expected a port, 1 to 65535");
        }
        svc->health_check_port = port;
    }
    return 0;
}

/* spec.loadBalancerSourceRanges, normalized as kube-proxy's net.ParseCIDR does (host bits
 * cleared); IPv6 ranges left out (no IPv4 client is in them).  A range that does not parse
 * fails the Service: dropping it would open the Service to everyone. */
static int service_source_ranges(const json_t *spec, struct k8s_service *svc, char *err,
                                 size_t len)
{
    bool ok = true;
    const json_t *ranges = opt_array(spec, "loadBalancerSourceRanges", &ok), *v;
    size_t i;

    if (!ok) {
        return bad(err, len, "service", svc->key,
                   "spec.loadBalancerSourceRanges: expected an array");
    }
    json_array_foreach(ranges, i, v) {
        const char *s = json_string_value(v), *slash = s ? strchr(s, '/') : NULL;
        char ip_s[IP_STR_LEN], out[IP_STR_LEN + 4], *end;
        long prefix;
        be32 ip;

        if (s && strchr(s, ':')) {
            continue;
        }
        if (!slash || (size_t) (slash - s) >= sizeof ip_s) {
            goto bad_range;
        }
        memcpy(ip_s, s, slash - s);
        ip_s[slash - s] = '\0';
        prefix = strtol(slash + 1, &end, 10);
        if (addr_parse_ip(ip_s, &ip) || *end || end == slash + 1 || prefix < 0 || prefix > 32) {
            goto bad_range;
        }
        snprintf(out, sizeof out, "%s/%ld", addr_ip_str(ip & cidr_mask(prefix), ip_s),
                 prefix);
        svc->source_ranges = xrealloc(svc->source_ranges,
                                      (svc->n_source_ranges + 1) * sizeof(char *));
        svc->source_ranges[svc->n_source_ranges++] = xstrdup(out);
        continue;
bad_range:
        return bad(err, len, "service", svc->key, "spec.loadBalancerSourceRanges[%zu]: "
                   "expected an IPv4 CIDR, e.g. 203.0.113.0/24", i);
    }
    return 0;
}

static int service_ports(const json_t *spec, struct k8s_service *svc, char *err, size_t len)
{
    bool ok = true;
    const json_t *ports = opt_array(spec, "ports", &ok), *p;
    size_t i;

    if (!ok) {
        return bad(err, len, "service", svc->key, "spec.ports: expected an array");
    }
    svc->ports = xcalloc(json_array_size(ports) + 1, sizeof *svc->ports);
    json_array_foreach(ports, i, p) {
        struct k8s_service_port *sp = &svc->ports[svc->n_ports];
        const char *name = opt_string(p, "name", &ok);
        const char *proto = opt_string(p, "protocol", &ok);
        json_int_t port = json_integer_value(json_object_get(p, "port"));
        const json_t *np = json_is_object(p) ? json_object_get(p, "nodePort") : NULL;
        int pr;

        if (!json_is_object(p) || !ok) {
            return bad(err, len, "service", svc->key, "spec.ports[%zu]: malformed port", i);
        }
        if (!json_is_integer(json_object_get(p, "port")) || port < 1 || port > 65535) {
            return bad(err, len, "service", svc->key,
                       "spec.ports[%zu].port: expected an integer from 1 to 65535", i);
        }
        /* Allocated by the API server for NodePort and LoadBalancer Services; absent (or
         * null) otherwise. */
        if (np && !json_is_null(np)
            && (!json_is_integer(np) || json_integer_value(np) < 1
                || json_integer_value(np) > 65535)) {
            return bad(err, len, "service", svc->key,
                       "spec.ports[%zu].nodePort: expected an integer from 1 to 65535", i);
        }
        pr = parse_protocol(proto);
        if (pr < 0) {
            return bad(err, len, "service", svc->key,
                       "spec.ports[%zu].protocol: unknown protocol \"%s\"", i, proto);
        }
        sp->name = xstrdup(name ? name : "");
        sp->port = port;
        sp->node_port = np && json_is_integer(np) ? json_integer_value(np) : 0;
        sp->proto = pr;
        svc->n_ports++;
    }
    return 0;
}

static int service_affinity(const json_t *spec, struct k8s_service *svc, char *err,
                            size_t len)
{
    bool ok = true;
    const char *aff = opt_string(spec, "sessionAffinity", &ok);
    const json_t *t;
    json_int_t timeout;

    if (!ok) {
        return bad(err, len, "service", svc->key, "spec.sessionAffinity: expected a string");
    }
    if (!aff || strcmp(aff, "ClientIP")) {
        return 0;
    }
    t = json_object_get(json_object_get(json_object_get(spec, "sessionAffinityConfig"),
                                        "clientIP"), "timeoutSeconds");
    if (!t || json_is_null(t)) {
        svc->affinity_timeout = K8S_DEFAULT_AFFINITY_TIMEOUT;
        return 0;
    }
    timeout = json_integer_value(t);
    if (!json_is_integer(t) || timeout < 1 || timeout > 86400) {
        return bad(err, len, "service", svc->key, "spec.sessionAffinityConfig.clientIP."
                   "timeoutSeconds: expected an integer from 1 to 86400");
    }
    svc->affinity_timeout = timeout;
    return 0;
}

int k8s_service_from_json(const json_t *obj, struct k8s_service **out, char *err, size_t len)
{
    const json_t *meta = json_object_get(obj, "metadata");
    const json_t *spec = json_object_get(obj, "spec");
    const json_t *labels = json_object_get(meta, "labels");
    const char *dsr, *dsr_mode, *type, *itp, *etp;
    struct k8s_service *svc;
    char key[KEY_MAX];
    bool ok = true;
    int error;

    *out = NULL;
    if (!k8s_object_key(obj, key, sizeof key)) {
        return bad(err, len, "service", NULL, "missing or invalid metadata.name");
    }
    if (!json_is_object(spec)) {
        return bad(err, len, "service", key, "missing spec");
    }
    svc = xcalloc(1, sizeof *svc);
    svc->key = xstrdup(key);
    svc->dsr = -1;

    type = opt_string(spec, "type", &ok);
    itp = opt_string(spec, "internalTrafficPolicy", &ok);
    etp = opt_string(spec, "externalTrafficPolicy", &ok);
    dsr = opt_string(json_object_get(meta, "annotations"), K8S_DSR_ANNOTATION, &ok);
    dsr_mode = opt_string(json_object_get(meta, "annotations"), K8S_DSR_MODE_ANNOTATION, &ok);
    if (!ok) {
        error = bad(err, len, "service", key, "spec.type, spec.internalTrafficPolicy, "
                    "spec.externalTrafficPolicy, the "
                    K8S_DSR_ANNOTATION " or the " K8S_DSR_MODE_ANNOTATION " annotation is not "
                    "a string");
        goto fail;
    }
    if (json_object_get(labels, K8S_SERVICE_PROXY_NAME_LABEL)) {
        svc->skip = K8S_SVC_SKIP_SERVICE_PROXY_NAME;
    } else if (type && !strcmp(type, "ExternalName")) {
        svc->skip = K8S_SVC_SKIP_EXTERNAL_NAME;
    } else {
        error = service_cluster_ip(spec, svc, err, len);
        if (error) {
            goto fail;
        }
    }
    if (svc->skip != K8S_SVC_SKIP_NONE) {
        *out = svc;
        return 0;
    }

    error = service_ports(spec, svc, err, len);
    if (!error) {
        error = service_affinity(spec, svc, err, len);
    }
    if (!error) {
        error = service_external(obj, spec, svc, err, len);
    }
    if (!error) {
        error = service_source_ranges(spec, svc, err, len);
    }
    if (error) {
        goto fail;
    }
    svc->itp_local = itp && !strcmp(itp, "Local");
    svc->etp_local = etp && !strcmp(etp, "Local");
    if (dsr) {
        if (!strcasecmp(dsr, "true")) {
            svc->dsr = 1;
        } else if (!strcasecmp(dsr, "false")) {
            svc->dsr = 0;
        } else {
            LOG_WARN("service %s: annotation " K8S_DSR_ANNOTATION "=\"%s\" is neither \"true\" "
                     "nor \"false\"; using the default", key, dsr);
        }
    }
    if (dsr_mode) {
        if (!strcasecmp(dsr_mode, "preserve-dip")) {
            svc->preserve_dip = true;
        } else {
            LOG_WARN("service %s: annotation " K8S_DSR_MODE_ANNOTATION "=\"%s\" is not "
                     "\"preserve-dip\"; using DNAT to the backends", key, dsr_mode);
        }
    }
    *out = svc;
    return 0;

fail:
    k8s_service_free(svc);
    return error;
}

/* ---- EndpointSlice -------------------------------------------------------------------- */

void k8s_slice_free(struct k8s_slice *slice)
{
    if (slice) {
        for (size_t i = 0; i < slice->n_ports; i++) {
            free(slice->ports[i].name);
        }
        free(slice->ports);
        free(slice->endpoints);
        free(slice->service_key);
        free(slice->key);
        free(slice);
    }
}

static int slice_ports(const json_t *obj, struct k8s_slice *slice, char *err, size_t len)
{
    bool ok = true;
    const json_t *ports = opt_array(obj, "ports", &ok), *p;
    size_t i;

    if (!ok) {
        return bad(err, len, "endpointslice", slice->key, "ports: expected an array");
    }
    slice->ports = xcalloc(json_array_size(ports) + 1, sizeof *slice->ports);
    json_array_foreach(ports, i, p) {
        struct k8s_slice_port *sp = &slice->ports[slice->n_ports];
        const char *name = opt_string(p, "name", &ok);
        const char *proto = opt_string(p, "protocol", &ok);
        const json_t *port = json_object_get(p, "port");
        json_int_t n = json_integer_value(port);
        int pr = parse_protocol(proto);

        if (!json_is_object(p) || !ok || pr < 0) {
            return bad(err, len, "endpointslice", slice->key, "ports[%zu]: malformed port", i);
        }
        if (port && !json_is_null(port) && (!json_is_integer(port) || n < 1 || n > 65535)) {
            return bad(err, len, "endpointslice", slice->key,
                       "ports[%zu].port: expected an integer from 1 to 65535", i);
        }
        sp->name = xstrdup(name ? name : "");
        sp->port = n;
        sp->proto = pr;
        slice->n_ports++;
    }
    return 0;
}

/* The node of an endpoint without 'nodeName': the hostname label that the EndpointSlice
 * controller copies from the Node into v1beta1's 'topology' (v1's 'deprecatedTopology').  Node
 * names and that label are equal unless kubelet runs with --hostname-override differing from
 * the node name, as with kube-proxy, which read it the same way. */
static const char *endpoint_hostname(const json_t *e, bool *ok)
{
    static const char *const members[] = { "topology", "deprecatedTopology" };

    for (size_t i = 0; i < ARRAY_SIZE(members); i++) {
        const json_t *topo = json_object_get(e, members[i]);

        if (topo && !json_is_object(topo)) {
            *ok = false;
            return NULL;
        }
        if (topo) {
            const char *host = opt_string(topo, "kubernetes.io/hostname", ok);

            if (host) {
                return host;
            }
        }
    }
    return NULL;
}

static int slice_endpoints(const json_t *obj, const char *node_name, struct k8s_slice *slice,
                           char *err, size_t len)
{
    bool ok = true;
    const json_t *eps = opt_array(obj, "endpoints", &ok), *e;
    size_t i;

    if (!ok) {
        return bad(err, len, "endpointslice", slice->key, "endpoints: expected an array");
    }
    slice->endpoints = xcalloc(json_array_size(eps) + 1, sizeof *slice->endpoints);
    json_array_foreach(eps, i, e) {
        struct k8s_endpoint *ep = &slice->endpoints[slice->n_endpoints];
        const json_t *conds = json_object_get(e, "conditions");
        const char *addr = json_string_value(json_array_get(json_object_get(e, "addresses"),
                                                            0));
        const char *node = opt_string(e, "nodeName", &ok);

        if (!node) {
            node = endpoint_hostname(e, &ok);
        }
        if (!json_is_object(e) || !addr || addr_parse_ip(addr, &ep->ip)) {
            return bad(err, len, "endpointslice", slice->key,
                       "endpoints[%zu].addresses[0]: expected an IPv4 address", i);
        }
        ep->ready = opt_bool(conds, "ready", true, &ok);
        ep->serving = opt_bool(conds, "serving", ep->ready, &ok);
        ep->terminating = opt_bool(conds, "terminating", false, &ok);
        if (!ok) {
            return bad(err, len, "endpointslice", slice->key,
                       "endpoints[%zu]: malformed nodeName, topology or conditions", i);
        }
        ep->local = node && node_name && !strcmp(node, node_name);
        slice->n_endpoints++;
    }
    return 0;
}

int k8s_slice_from_json(const json_t *obj, const char *node_name, struct k8s_slice **out,
                        char *err, size_t len)
{
    const json_t *meta = json_object_get(obj, "metadata");
    const char *ns = json_string_value(json_object_get(meta, "namespace"));
    const char *svc, *type;
    struct k8s_slice *slice;
    char key[KEY_MAX];
    bool ok = true;
    int error;

    *out = NULL;
    if (!k8s_object_key(obj, key, sizeof key)) {
        return bad(err, len, "endpointslice", NULL, "missing or invalid metadata.name");
    }
    type = opt_string(obj, "addressType", &ok);
    svc = opt_string(json_object_get(meta, "labels"), K8S_SERVICE_NAME_LABEL, &ok);
    if (!ok) {
        return bad(err, len, "endpointslice", key, "addressType or the "
                   K8S_SERVICE_NAME_LABEL " label is not a string");
    }
    slice = xcalloc(1, sizeof *slice);
    slice->key = xstrdup(key);
    slice->ipv4 = type && !strcmp(type, "IPv4");
    if (svc && *svc) {
        slice->service_key = xmalloc(strlen(ns ? ns : "") + strlen(svc) + 2);
        sprintf(slice->service_key, "%s/%s", ns ? ns : "", svc);
    }
    if (slice->ipv4) {
        error = slice_ports(obj, slice, err, len);
        if (!error) {
            error = slice_endpoints(obj, node_name, slice, err, len);
        }
        if (error) {
            k8s_slice_free(slice);
            return error;
        }
    }
    *out = slice;
    return 0;
}

/* ---- Node ----------------------------------------------------------------------------- */

void k8s_node_free(struct k8s_node *node)
{
    if (node) {
        free(node->name);
        free(node);
    }
}

int k8s_node_from_json(const json_t *obj, struct k8s_node **out, char *err, size_t len)
{
    const json_t *spec = json_object_get(obj, "spec");
    const json_t *status = json_object_get(obj, "status");
    const json_t *cidrs, *addrs, *v;
    const char *cidr;
    struct k8s_node *node;
    char key[KEY_MAX];
    bool ok = true;
    size_t i;

    *out = NULL;
    if (!k8s_object_key(obj, key, sizeof key)) {
        return bad(err, len, "node", NULL, "missing or invalid metadata.name");
    }
    cidrs = opt_array(spec, "podCIDRs", &ok);
    cidr = opt_string(spec, "podCIDR", &ok);
    addrs = opt_array(status, "addresses", &ok);
    if (!ok) {
        return bad(err, len, "node", key, "malformed spec.podCIDR(s) or status.addresses");
    }
    node = xcalloc(1, sizeof *node);
    node->name = xstrdup(key);

    /* podCIDRs[0] equals podCIDR when both are set; a dual-stack node lists one per family. */
    json_array_foreach(cidrs, i, v) {
        const char *s = json_string_value(v);

        if (s && !strchr(s, ':')) {
            cidr = s;
            break;
        }
    }
    if (cidr && *cidr && !strchr(cidr, ':')) {
        if (addr_parse_cidr(cidr, &node->pod_cidr)) {
            k8s_node_free(node);
            return bad(err, len, "node", key, "invalid pod CIDR \"%s\"", cidr);
        }
        node->has_pod_cidr = true;
    }
    json_array_foreach(addrs, i, v) {
        const char *type = json_string_value(json_object_get(v, "type"));
        const char *addr = json_string_value(json_object_get(v, "address"));
        be32 ip;

        if (type && addr && !strcmp(type, "InternalIP") && !addr_parse_ip(addr, &ip)) {
            node->internal_ip = ip;
            break;
        }
    }
    *out = node;
    return 0;
}
