/* Objects to policies and peers; see translate.h. */
#include "proxy/translate.h"

#include <stdlib.h>
#include <string.h>

#define LOG_MODULE "translate"
#include "lib/addr.h"
#include "lib/log.h"
#include "lib/util.h"

/* The slices of one Service. */
struct slice_list {
    size_t n, cap;
    const struct k8s_slice **slices;
};

static void group_slices(const struct strmap *slices, struct strmap *by_service)
{
    const char *key;
    size_t pos = 0;
    void *v;

    while (strmap_next(slices, &pos, &key, &v)) {
        const struct k8s_slice *s = v;
        struct slice_list *l;

        if (!s->service_key || !s->ipv4) {
            continue;
        }
        l = strmap_get(by_service, s->service_key);
        if (!l) {
            l = xcalloc(1, sizeof *l);
            strmap_put(by_service, s->service_key, l);
        }
        if (l->n == l->cap) {
            l->cap = l->cap ? l->cap * 2 : 4;
            l->slices = xrealloc(l->slices, l->cap * sizeof *l->slices);
        }
        l->slices[l->n++] = s;
    }
}

static void free_groups(struct strmap *by_service)
{
    const char *key;
    size_t pos = 0;
    void *v;

    while (strmap_next(by_service, &pos, &key, &v)) {
        struct slice_list *l = v;

        free(l->slices);
        free(l);
    }
    strmap_destroy(by_service);
}

/* Appends to 'p' the endpoints of 'l' for service port 'sp' that pass 'want'. */
enum ep_class { EP_READY, EP_SERVING_TERMINATING };

static void collect(const struct slice_list *l, const struct k8s_service_port *sp,
                    bool local_only, enum ep_class class, struct policy *p, size_t *cap)
{
    for (size_t i = 0; l && i < l->n; i++) {
        const struct k8s_slice *s = l->slices[i];
        uint16_t port = 0;

        for (size_t j = 0; j < s->n_ports; j++) {
            if (s->ports[j].proto == sp->proto && !strcmp(s->ports[j].name, sp->name)) {
                port = s->ports[j].port;
                break;
            }
        }
        if (!port) {
            continue;
        }
        for (size_t j = 0; j < s->n_endpoints; j++) {
            const struct k8s_endpoint *ep = &s->endpoints[j];
            bool ok = class == EP_READY ? ep->ready : ep->serving && ep->terminating;

            if (!ok || (local_only && !ep->local)) {
                continue;
            }
            if (p->n_backends == *cap) {
                *cap = *cap ? *cap * 2 : 16;
                p->backends = xrealloc(p->backends, *cap * sizeof *p->backends);
            }
            p->backends[p->n_backends++] = (struct lb_config_backend) { ep->ip, port };
        }
    }
}

/* Whether port 'sp' of 'svc', which asks for preserve-dip, can have it with policy 'p' (its
 * backends collected): only under DSR and where every endpoint listens on the Service's own
 * port, since nothing rewrites the port.  vswitchd would refuse the policy otherwise, and
 * with it the whole sync; the port stays DNAT'd instead, counted (a gauge in /metrics: every
 * sync would repeat a warning). */
static bool preserve_dip_possible(const struct k8s_service *svc,
                                  const struct k8s_service_port *sp, const struct policy *p,
                                  struct translate_stats *st)
{
    if (!p->dsr) {
        LOG_DBG("service %s port \"%s\": preserve-dip needs DSR, which is off; DNAT'd",
                 svc->key, sp->name);
        st->preserve_dip_refused++;
        return false;
    }
    for (size_t i = 0; i < p->n_backends; i++) {
        if (p->backends[i].port != sp->port) {
            LOG_DBG("service %s port \"%s\": preserve-dip keeps the port %u, but an "
                     "endpoint listens on %u (targetPort must equal port); DNAT'd", svc->key,
                     sp->name, sp->port, p->backends[i].port);
            st->preserve_dip_refused++;
            return false;
        }
    }
    return true;
}

/* Adds the policy of port 'sp' of 'svc' at 'vip', its backends the endpoints of 'l' (only
 * this node's with 'local_only'), as translate.h says. */
static void add_policy(const struct k8s_service *svc, const struct k8s_service_port *sp,
                       const struct slice_list *l, const struct translate_config *cfg,
                       be32 vip, uint16_t port, bool local_only, bool ranges,
                       struct desired *out, struct translate_stats *st)
{
    struct lb_service key = { vip, port, sp->proto };
    size_t cap = 0, n_backends;
    struct policy *p;

    p = xcalloc(1, sizeof *p);
    lb_service_str(&key, p->service);
    desired_policy_name(svc->key, sp->name, p->name);
    p->dsr = svc->dsr < 0 ? cfg->dsr : svc->dsr;
    p->affinity_timeout = svc->affinity_timeout;
    if (ranges && svc->n_source_ranges) {
        p->n_source_ranges = svc->n_source_ranges;
        p->source_ranges = xcalloc(svc->n_source_ranges, sizeof *p->source_ranges);
        for (size_t i = 0; i < svc->n_source_ranges; i++) {
            p->source_ranges[i] = xstrdup(svc->source_ranges[i]);
        }
    }
    collect(l, sp, local_only, EP_READY, p, &cap);
    if (!p->n_backends) {
        /* kube-proxy's fallback: keep terminating endpoints that still serve, so
         * connections drain instead of failing during a rollout. */
        collect(l, sp, local_only, EP_SERVING_TERMINATING, p, &cap);
    }
    policy_normalize(p);
    /* A NodePort (its port is not the Service's) is never preserve-dip: no pod can hold
     * the node's address. */
    p->preserve_dip = svc->preserve_dip && port == sp->port
                      && preserve_dip_possible(svc, sp, p, st);
    if (p->n_backends > LB_CONFIG_MAX_BACKENDS) {
        p->n_backends = LB_CONFIG_MAX_BACKENDS;
        st->truncated++;
    }
    n_backends = p->n_backends;
    if (!desired_add_policy(out, p)) {
        char buf[LB_SERVICE_STR_LEN];

        st->conflicts++;
        LOG_DBG("service %s port \"%s\": %s belongs to another service", svc->key,
                sp->name, lb_service_str(&key, buf));
        return;
    }
    st->policies++;
    st->backends += n_backends;
}

static bool nodeport_address(const struct translate_config *cfg, be32 ip)
{
    for (size_t i = 0; i < cfg->n_nodeport_cidrs; i++) {
        if (cidr_contains(&cfg->nodeport_cidrs[i], ip)) {
            return true;
        }
    }
    return false;
}

/* The NodePort of 'sp': on 0.0.0.0, or on each node address --nodeport-addresses admits. */
static void add_node_ports(const struct k8s_service *svc, const struct k8s_service_port *sp,
                           const struct slice_list *l, const struct translate_config *cfg,
                           struct desired *out, struct translate_stats *st)
{
    if (!cfg->n_nodeport_cidrs) {
        add_policy(svc, sp, l, cfg, 0, sp->node_port, svc->etp_local, false, out, st);
        return;
    }
    for (size_t i = 0; i < cfg->n_node_addrs; i++) {
        if (nodeport_address(cfg, cfg->node_addrs[i])) {
            add_policy(svc, sp, l, cfg, cfg->node_addrs[i], sp->node_port, svc->etp_local,
                       false, out, st);
        }
    }
}

static void translate_service(const struct k8s_service *svc, const struct slice_list *l,
                              const struct translate_config *cfg, struct desired *out,
                              struct translate_stats *st)
{
    for (size_t i = 0; i < svc->n_ports; i++) {
        const struct k8s_service_port *sp = &svc->ports[i];

        if (!sp->proto) {
            st->ports_unsupported++;
            continue;
        }
        add_policy(svc, sp, l, cfg, svc->cluster_ip, sp->port, svc->itp_local, false, out,
                   st);
        /* The ways in from outside the cluster: externalTrafficPolicy, not the internal
         * one, chooses their endpoints; loadBalancerSourceRanges guard the LoadBalancer
         * ingress IPs, as kube-proxy's. */
        for (size_t j = 0; j < svc->n_external; j++) {
            add_policy(svc, sp, l, cfg, svc->external[j], sp->port, svc->etp_local,
                       j >= svc->n_external_ips, out, st);
        }
        if (sp->node_port) {
            add_node_ports(svc, sp, l, cfg, out, st);
        }
    }
}

void translate(const struct strmap *services, const struct strmap *slices,
               const struct strmap *nodes, const struct translate_config *cfg,
               struct desired *out, struct translate_stats *st)
{
    struct strmap by_service = STRMAP_INITIALIZER;
    const char **keys;
    const char *key;
    size_t pos = 0, n;
    void *v;

    memset(st, 0, sizeof *st);
    group_slices(slices, &by_service);

    /* In key order, so that of two Services claiming one VIP:port the same one wins on every
     * node and at every sync. */
    keys = strmap_sorted_keys(services);
    n = strmap_count(services);
    for (size_t i = 0; i < n; i++) {
        const struct k8s_service *svc = strmap_get(services, keys[i]);

        st->services++;
        if (svc->skip != K8S_SVC_SKIP_NONE) {
            st->skipped[svc->skip]++;
            continue;
        }
        if (cfg->service_cidr && !cidr_contains(cfg->service_cidr, svc->cluster_ip)) {
            char ip[IP_STR_LEN];

            st->outside_service_cidr++;
            LOG_DBG("service %s: cluster IP %s is outside --service-cidr: pods reach it, "
                    "the node does not", svc->key, addr_ip_str(svc->cluster_ip, ip));
        }
        translate_service(svc, strmap_get(&by_service, svc->key), cfg, out, st);
    }
    free(keys);
    free_groups(&by_service);

    while (strmap_next(nodes, &pos, &key, &v)) {
        const struct k8s_node *node = v;
        struct peer *peer;
        char ip[IP_STR_LEN];

        if (cfg->node_name && !strcmp(node->name, cfg->node_name)) {
            continue;
        }
        if (!node->internal_ip || !node->has_pod_cidr) {
            st->nodes_incomplete++;
            continue;
        }
        if (cfg->cluster_cidr
            && (node->pod_cidr.prefix < cfg->cluster_cidr->prefix
                || !cidr_contains(cfg->cluster_cidr, node->pod_cidr.net))) {
            st->outside_cluster_cidr++;
            LOG_DBG("node %s: pod CIDR outside --cluster-cidr: its pods' traffic to the "
                    "other nodes' addresses is not masqueraded", node->name);
        }
        peer = xcalloc(1, sizeof *peer);
        addr_ip_str(node->internal_ip, peer->node_ip);
        addr_ip_str(node->pod_cidr.net, peer->pod_cidr);
        snprintf(peer->pod_cidr + strlen(peer->pod_cidr),
                 sizeof peer->pod_cidr - strlen(peer->pod_cidr), "/%d", node->pod_cidr.prefix);
        memcpy(ip, peer->node_ip, sizeof ip);
        if (desired_add_peer(out, peer)) {
            st->peers++;
        } else {
            st->conflicts++;
            LOG_DBG("node %s: InternalIP %s is another node's too", node->name, ip);
        }
    }
}

/* This node's ready endpoints of 'l', by address: kube-proxy counts endpoints, not ports. */
static size_t count_local(const struct slice_list *l)
{
    be32 *seen = NULL;
    size_t n = 0;

    for (size_t i = 0; l && i < l->n; i++) {
        for (size_t j = 0; j < l->slices[i]->n_endpoints; j++) {
            const struct k8s_endpoint *ep = &l->slices[i]->endpoints[j];
            bool dup = false;

            for (size_t k = 0; k < n && !dup; k++) {
                dup = seen[k] == ep->ip;
            }
            if (ep->local && ep->ready && !dup) {
                seen = xrealloc(seen, (n + 1) * sizeof *seen);
                seen[n++] = ep->ip;
            }
        }
    }
    free(seen);
    return n;
}

size_t translate_health_checks(const struct strmap *services, const struct strmap *slices,
                               struct health_check **out)
{
    struct strmap by_service = STRMAP_INITIALIZER;
    const char **keys = strmap_sorted_keys(services);
    size_t n = strmap_count(services), n_out = 0;

    group_slices(slices, &by_service);
    *out = xcalloc(n + 1, sizeof **out);
    for (size_t i = 0; i < n; i++) {
        const struct k8s_service *svc = strmap_get(services, keys[i]);
        const char *slash = strchr(svc->key, '/');
        struct health_check *hc = &(*out)[n_out];
        bool taken = false;

        if (svc->skip != K8S_SVC_SKIP_NONE || !svc->etp_local || !svc->health_check_port
            || !slash) {
            continue;
        }
        for (size_t j = 0; j < n_out && !taken; j++) {
            taken = (*out)[j].port == svc->health_check_port;
        }
        if (taken) {
            continue;
        }
        hc->port = svc->health_check_port;
        snprintf(hc->namespace_, sizeof hc->namespace_, "%.*s", (int) (slash - svc->key),
                 svc->key);
        str_copy(hc->name, slash + 1, sizeof hc->name);
        hc->local_endpoints = count_local(strmap_get(&by_service, svc->key));
        n_out++;
    }
    free(keys);
    free_groups(&by_service);
    return n_out;
}
