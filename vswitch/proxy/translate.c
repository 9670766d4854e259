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

static void translate_service(const struct k8s_service *svc, const struct slice_list *l,
                              const struct translate_config *cfg, struct desired *out,
                              struct translate_stats *st)
{
    for (size_t i = 0; i < svc->n_ports; i++) {
        const struct k8s_service_port *sp = &svc->ports[i];
        struct lb_service key = { svc->cluster_ip, sp->port, sp->proto };
        size_t cap = 0, n_backends;
        struct policy *p;

        if (!sp->proto) {
            st->ports_unsupported++;
            continue;
        }
        p = xcalloc(1, sizeof *p);
        lb_service_str(&key, p->service);
        desired_policy_name(svc->key, sp->name, p->name);
        p->dsr = svc->dsr < 0 ? cfg->dsr : svc->dsr;
        p->affinity_timeout = svc->affinity_timeout;
        collect(l, sp, svc->itp_local, EP_READY, p, &cap);
        if (!p->n_backends) {
            /* kube-proxy's fallback: keep terminating endpoints that still serve, so
             * connections drain instead of failing during a rollout. */
            collect(l, sp, svc->itp_local, EP_SERVING_TERMINATING, p, &cap);
        }
        policy_normalize(p);
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
            continue;
        }
        st->policies++;
        st->backends += n_backends;
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
