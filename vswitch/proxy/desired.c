/* Desired state and its difference; see desired.h. */
#include "proxy/desired.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"

void desired_init(struct desired *d)
{
    strmap_init(&d->policies);
    strmap_init(&d->peers);
}

void policy_free(struct policy *p)
{
    if (p) {
        for (size_t i = 0; i < p->n_source_ranges; i++) {
            free(p->source_ranges[i]);
        }
        free(p->source_ranges);
        free(p->backends);
        free(p);
    }
}

void desired_destroy(struct desired *d)
{
    const char *key;
    size_t pos = 0;
    void *v;

    while (strmap_next(&d->policies, &pos, &key, &v)) {
        policy_free(v);
    }
    pos = 0;
    while (strmap_next(&d->peers, &pos, &key, &v)) {
        free(v);
    }
    strmap_destroy(&d->policies);
    strmap_destroy(&d->peers);
}

void desired_move(struct desired *to, struct desired *from)
{
    desired_destroy(to);
    *to = *from;
    desired_init(from);
}

bool desired_add_policy(struct desired *d, struct policy *p)
{
    if (strmap_get(&d->policies, p->service)) {
        policy_free(p);
        return false;
    }
    strmap_put(&d->policies, p->service, p);
    return true;
}

bool desired_add_peer(struct desired *d, struct peer *p)
{
    if (strmap_get(&d->peers, p->node_ip)) {
        free(p);
        return false;
    }
    strmap_put(&d->peers, p->node_ip, p);
    return true;
}

static int cmp_backend(const void *a_, const void *b_)
{
    const struct lb_config_backend *a = a_, *b = b_;
    uint32_t ia = ntohl(a->ip), ib = ntohl(b->ip);

    if (ia != ib) {
        return ia < ib ? -1 : 1;
    }
    return a->port < b->port ? -1 : a->port > b->port;
}

void policy_normalize(struct policy *p)
{
    size_t n = 0;

    if (!p->n_backends) {
        return;
    }
    qsort(p->backends, p->n_backends, sizeof *p->backends, cmp_backend);
    for (size_t i = 0; i < p->n_backends; i++) {
        if (!n || cmp_backend(&p->backends[n - 1], &p->backends[i])) {
            p->backends[n++] = p->backends[i];
        }
    }
    p->n_backends = n;
}

bool policy_equal(const struct policy *a, const struct policy *b)
{
    if (strcmp(a->service, b->service) || strcmp(a->name, b->name) || a->dsr != b->dsr ||
        a->preserve_dip != b->preserve_dip || a->n_source_ranges != b->n_source_ranges ||
        a->affinity_timeout != b->affinity_timeout || a->n_backends != b->n_backends) {
        return false;
    }
    for (size_t i = 0; i < a->n_source_ranges; i++) {
        if (strcmp(a->source_ranges[i], b->source_ranges[i])) {
            return false;
        }
    }
    /* Field by field: the struct has padding. */
    for (size_t i = 0; i < a->n_backends; i++) {
        if (a->backends[i].ip != b->backends[i].ip ||
            a->backends[i].port != b->backends[i].port) {
            return false;
        }
    }
    return true;
}

/* FNV-1a, for shortening long names. */
static uint32_t fnv1a(const char *s)
{
    uint32_t h = 2166136261u;

    for (; *s; s++) {
        h = (h ^ (uint8_t) *s) * 16777619u;
    }
    return h;
}

void desired_policy_name(const char *svc_key, const char *port_name,
                         char name[LB_CONFIG_NAME_MAX])
{
    char full[1024];
    int n;

    n = snprintf(full, sizeof full, DESIRED_NAME_PREFIX "%s%s%s", svc_key,
                 *port_name ? ":" : "", port_name);
    if (n >= 0 && n < LB_CONFIG_NAME_MAX) {
        memcpy(name, full, n + 1);
        return;
    }
    /* Keep the head readable and make the tail unique: "k8s:...~1a2b3c4d". */
    snprintf(name, LB_CONFIG_NAME_MAX, "%.*s~%08x", LB_CONFIG_NAME_MAX - 10, full, fnv1a(full));
}

bool desired_owns_name(const char *name)
{
    return !strncmp(name, DESIRED_NAME_PREFIX, strlen(DESIRED_NAME_PREFIX));
}

void desired_diff(const struct desired *want, const struct desired *have,
                  struct desired_diff *diff)
{
    const char **keys;
    size_t n;

    memset(diff, 0, sizeof *diff);

    keys = strmap_sorted_keys(&have->policies);
    n = strmap_count(&have->policies);
    diff->del_policies = xmalloc((n + 1) * sizeof *diff->del_policies);
    for (size_t i = 0; i < n; i++) {
        if (!strmap_get(&want->policies, keys[i])) {
            diff->del_policies[diff->n_del_policies++] = keys[i];
        }
    }
    free(keys);

    keys = strmap_sorted_keys(&want->policies);
    n = strmap_count(&want->policies);
    diff->add_policies = xmalloc((n + 1) * sizeof *diff->add_policies);
    for (size_t i = 0; i < n; i++) {
        const struct policy *w = strmap_get(&want->policies, keys[i]);
        const struct policy *h = strmap_get(&have->policies, keys[i]);

        if (!h || !policy_equal(w, h)) {
            diff->add_policies[diff->n_add_policies++] = w;
        }
    }
    free(keys);

    keys = strmap_sorted_keys(&have->peers);
    n = strmap_count(&have->peers);
    diff->del_peers = xmalloc((n + 1) * sizeof *diff->del_peers);
    for (size_t i = 0; i < n; i++) {
        const struct peer *w = strmap_get(&want->peers, keys[i]);
        const struct peer *h = strmap_get(&have->peers, keys[i]);

        if (!w || strcmp(w->pod_cidr, h->pod_cidr)) {
            diff->del_peers[diff->n_del_peers++] = keys[i];
        }
    }
    free(keys);

    keys = strmap_sorted_keys(&want->peers);
    n = strmap_count(&want->peers);
    diff->add_peers = xmalloc((n + 1) * sizeof *diff->add_peers);
    for (size_t i = 0; i < n; i++) {
        const struct peer *w = strmap_get(&want->peers, keys[i]);
        const struct peer *h = strmap_get(&have->peers, keys[i]);

        if (!h || strcmp(w->pod_cidr, h->pod_cidr)) {
            diff->add_peers[diff->n_add_peers++] = w;
        }
    }
    free(keys);
}

void desired_diff_destroy(struct desired_diff *diff)
{
    free(diff->del_policies);
    free(diff->add_policies);
    free(diff->del_peers);
    free(diff->add_peers);
    memset(diff, 0, sizeof *diff);
}
