/* The proxy's threads and sync loop; see proxy.h. */
#include "proxy/proxy.h"

#include <errno.h>
#include <ifaddrs.h>
#include <jansson.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stddef.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define LOG_MODULE "proxy"
#include "lib/log.h"
#include "lib/util.h"
#include "proxy/k8s-objects.h"

#define RETRY_INITIAL_MS 250
#define RETRY_MAX_MS 8000

/* ---- the kinds --------------------------------------------------------------------------- */

static void *parse_service(const json_t *obj, const void *aux, char *err, size_t len)
{
    struct k8s_service *svc;

    return k8s_service_from_json(obj, &svc, err, len) ? NULL : svc;
}

static void *parse_slice(const json_t *obj, const void *aux, char *err, size_t len)
{
    struct k8s_slice *slice;

    return k8s_slice_from_json(obj, aux, &slice, err, len) ? NULL : slice;
}

static void *parse_node(const json_t *obj, const void *aux, char *err, size_t len)
{
    struct k8s_node *node;

    return k8s_node_from_json(obj, &node, err, len) ? NULL : node;
}

static void free_service(void *p) { k8s_service_free(p); }
static void free_slice(void *p) { k8s_slice_free(p); }
static void free_node(void *p) { k8s_node_free(p); }

static const struct reflector_kind kinds[PROXY_N_KINDS] = {
    [PROXY_SERVICES] = { "services", "", "/api/v1/services", NULL, parse_service,
                         free_service },
    [PROXY_SLICES] = { "endpointslices", "discovery.k8s.io",
                       "/apis/discovery.k8s.io/v1/endpointslices",
                       "/apis/discovery.k8s.io/v1beta1/endpointslices", parse_slice, free_slice },
    [PROXY_NODES] = { "nodes", "", "/api/v1/nodes", NULL, parse_node, free_node },
};

/* ---- setup ------------------------------------------------------------------------------- */

static void wake(struct proxy *p)
{
    uint64_t one = 1;

    if (write(p->notify_fd, &one, sizeof one) < 0) {
        /* The counter is saturated: the loop is awake anyway. */
    }
}

/* A reflector changed its store (called with p->lock held). */
static void store_changed(void *p_, const struct reflector *r)
{
    struct proxy *p = p_;
    size_t k = r - p->refl;

    p->pending[k]++;
    p->changes_total[k]++;
    if (!p->oldest_pending_ms) {
        p->oldest_pending_ms = time_msec();
    }
    wake(p);
}

void proxy_init(struct proxy *p, const struct proxy_config *cfg,
                const struct kube_config *kcfg)
{
    memset(p, 0, sizeof *p);
    p->cfg = *cfg;
    p->kcfg = kcfg;
    atomic_init(&p->stop, false);
    p->notify_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (p->notify_fd < 0) {
        abort();
    }
    pthread_mutex_init(&p->lock, NULL);
    for (int k = 0; k < PROXY_N_KINDS; k++) {
        reflector_init(&p->refl[k], &kinds[k], k == PROXY_SLICES ? cfg->node_name : NULL,
                       kcfg, &p->stop, &p->lock, store_changed, p);
        p->refl[k].page_limit = cfg->page_limit;
    }
    /* 1 ms to 16 s, and 1 ms to 32 s: kube-proxy's buckets. */
    prom_histogram_init(&p->sync_duration, 0.001, 2, 15);
    prom_histogram_init(&p->programming_latency, 0.001, 2, 16);
    applier_init(&p->applier, cfg->ctl_path, cfg->ctl_timeout_ms, cfg->sync_peers);
    health_checks_init(&p->health);
    backoff_init(&p->retry, RETRY_INITIAL_MS, RETRY_MAX_MS);
}

int proxy_start(struct proxy *p)
{
    for (int k = 0; k < PROXY_N_KINDS; k++) {
        int error = reflector_start(&p->refl[k]);

        if (error) {
            LOG_ERR("cannot start the %s reflector: %s", kinds[k].resource, strerror(-error));
            proxy_stop(p);
            return error;
        }
    }
    return 0;
}

void proxy_stop(struct proxy *p)
{
    atomic_store(&p->stop, true);
    wake(p);
}

void proxy_destroy(struct proxy *p)
{
    for (int k = 0; k < PROXY_N_KINDS; k++) {
        reflector_destroy(&p->refl[k]);
    }
    applier_destroy(&p->applier);
    health_checks_destroy(&p->health);
    pthread_mutex_destroy(&p->lock);
    close(p->notify_fd);
}

/* ---- the sync loop ----------------------------------------------------------------------- */

static bool all_synced(const struct proxy *p)
{
    for (int k = 0; k < PROXY_N_KINDS; k++) {
        if (!p->refl[k].synced) {
            return false;
        }
    }
    return true;
}

static uint64_t first_list_start(const struct proxy *p)
{
    uint64_t t = 0;

    for (int k = 0; k < PROXY_N_KINDS; k++) {
        if (!t || (p->refl[k].list_started_ms && p->refl[k].list_started_ms < t)) {
            t = p->refl[k].list_started_ms;
        }
    }
    return t;
}

static double wall_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The IPv4 addresses of this node's interfaces but the loopback ones, for
 * --nodeport-addresses (read at every sync: addresses come and go).  Returns how many are in
 * '*out' (heap). */
static size_t node_addresses(be32 **out)
{
    struct ifaddrs *ifa, *i;
    size_t n = 0;

    *out = NULL;
    if (getifaddrs(&ifa)) {
        LOG_WARN("cannot list the node's addresses for --nodeport-addresses: %s",
                 strerror(errno));
        return 0;
    }
    for (i = ifa; i; i = i->ifa_next) {
        if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET
            && !(i->ifa_flags & IFF_LOOPBACK)) {
            const struct sockaddr_in *sin = (const void *) i->ifa_addr;

            *out = xrealloc(*out, (n + 1) * sizeof **out);
            (*out)[n++] = sin->sin_addr.s_addr;
        }
    }
    freeifaddrs(ifa);
    return n;
}

/* One sync: translate the stores, apply the difference.  'full' first reads the switch's
 * state back (periodic resync). */
static void sync_once(struct proxy *p, bool full)
{
    struct translate_config tcfg = {
        .node_name = p->cfg.node_name, .dsr = p->cfg.dsr,
        .service_cidr = p->cfg.has_service_cidr ? &p->cfg.service_cidr : NULL,
        .cluster_cidr = p->cfg.has_cluster_cidr ? &p->cfg.cluster_cidr : NULL,
        .nodeport_cidrs = p->cfg.nodeport_cidrs, .n_nodeport_cidrs = p->cfg.n_nodeport_cidrs,
    };
    be32 *node_addrs = NULL;
    struct applier_result res;
    struct translate_stats st;
    struct health_check *hcs;
    struct desired want;
    size_t n_hcs;
    uint64_t start = time_msec(), oldest, translated, done;
    char err[512];
    int error = 0;

    desired_init(&want);
    if (tcfg.n_nodeport_cidrs) {
        tcfg.n_node_addrs = node_addresses(&node_addrs);
        tcfg.node_addrs = node_addrs;
    }
    pthread_mutex_lock(&p->lock);
    oldest = p->oldest_pending_ms;
    memset(p->pending, 0, sizeof p->pending);
    p->oldest_pending_ms = 0;
    translate(&p->refl[PROXY_SERVICES].store, &p->refl[PROXY_SLICES].store,
              &p->refl[PROXY_NODES].store, &tcfg, &want, &st);
    n_hcs = translate_health_checks(&p->refl[PROXY_SERVICES].store,
                                    &p->refl[PROXY_SLICES].store, &hcs);
    pthread_mutex_unlock(&p->lock);
    free(node_addrs);
    /* Served whether or not vswitchd takes the batch: they report the endpoints. */
    health_checks_sync(&p->health, hcs, n_hcs);
    free(hcs);
    translated = time_msec();

    if (full && applier_connected(&p->applier)) {
        error = applier_refresh(&p->applier, false, err, sizeof err);
    }
    if (!error) {
        error = applier_sync(&p->applier, &want, &res, err, sizeof err);
    } else {
        desired_destroy(&want);
    }
    done = time_msec();

    pthread_mutex_lock(&p->lock);
    p->syncs++;
    p->tstats = st;
    p->astats = p->applier.stats;
    p->connected = applier_connected(&p->applier);
    prom_histogram_observe(&p->sync_duration, (done - start) / 1000.0);
    if (error) {
        p->sync_failures++;
        snprintf(p->last_error, sizeof p->last_error, "%s", err);
        /* The changes are still to be made: the oldest stays the oldest. */
        if (oldest && (!p->oldest_pending_ms || oldest < p->oldest_pending_ms)) {
            p->oldest_pending_ms = oldest;
        }
    } else {
        p->last_error[0] = '\0';
        p->last_ok_ms = done;
        p->last_ok_wall = wall_now();
        p->programmed_policies = strmap_count(&p->applier.have.policies);
        p->programmed_peers = strmap_count(&p->applier.have.peers);
        if (oldest) {
            prom_histogram_observe(&p->programming_latency, (done - oldest) / 1000.0);
        }
        if (!p->initial_synced) {
            p->initial_synced = true;
            p->initial_sync_ms = done - first_list_start(p);
            LOG_INFO("initial sync: %zu services, %zu policies with %zu backends, %zu peers; "
                     "%zu operations applied %llu ms after the lists started (translation "
                     "%llu ms, batch %llu ms)", st.services, st.policies, st.backends,
                     st.peers, res.ops, (unsigned long long) p->initial_sync_ms,
                     (unsigned long long) (translated - start),
                     (unsigned long long) (done - translated));
        }
    }
    pthread_mutex_unlock(&p->lock);

    if (error) {
        uint32_t delay = backoff_next(&p->retry);

        LOG_WARN("sync failed: %s; retrying in %u ms", err, delay);
        p->need_sync = true;
        p->retry_at_ms = done + delay;
    } else {
        backoff_reset(&p->retry);
        p->need_sync = false;
        if (res.ops || res.rejected) {
            LOG_INFO("sync: %zu operations (policies %zu added or changed, %zu deleted; peers "
                     "%zu added, %zu deleted)%s in %llu ms, %llu ms after the change",
                     res.ops, res.add_policies, res.del_policies, res.add_peers, res.del_peers,
                     res.rejected ? ", some refused" : "", (unsigned long long) (done - start),
                     (unsigned long long) (oldest ? done - oldest : 0));
        } else {
            LOG_DBG("sync: nothing to change (%llu ms)", (unsigned long long) (done - start));
        }
    }
}

void proxy_run(struct proxy *p)
{
    uint64_t last_start = 0, next_full = 0;

    while (!atomic_load(&p->stop)) {
        uint64_t now = time_msec(), due = UINT64_MAX;
        struct pollfd pfds[2] = {
            { .fd = p->notify_fd, .events = POLLIN },
            { .fd = applier_fd(&p->applier), .events = POLLIN },
        };
        bool ready, dirty, full = false;
        int timeout;

        pthread_mutex_lock(&p->lock);
        ready = all_synced(p);
        dirty = p->oldest_pending_ms || p->need_sync;
        pthread_mutex_unlock(&p->lock);

        if (ready) {
            if (dirty) {
                due = last_start + p->cfg.min_sync_period_ms;
                if (p->need_sync && p->retry_at_ms > due) {
                    due = p->retry_at_ms;
                }
            }
            if (next_full && next_full < due) {
                due = next_full;
            }
        }
        if (due <= now) {
            full = next_full && now >= next_full;
            last_start = now;
            sync_once(p, full);
            next_full = time_msec() + p->cfg.sync_period_ms;
            continue;
        }
        timeout = due == UINT64_MAX ? -1 : (int) (due - now);
        if (poll(pfds, pfds[1].fd >= 0 ? 2 : 1, timeout) < 0 && errno != EINTR) {
            LOG_ERR("poll: %s", strerror(errno));
            break;
        }
        if (pfds[0].revents & POLLIN) {
            uint64_t n;

            if (read(p->notify_fd, &n, sizeof n) < 0) {
                /* Already drained. */
            }
        }
        if (pfds[1].fd >= 0 && pfds[1].revents && applier_check_closed(&p->applier)) {
            pthread_mutex_lock(&p->lock);
            p->connected = false;
            pthread_mutex_unlock(&p->lock);
            /* Reconnect at once, idle close or restart: an open connection is how the next
             * restart is noticed, and the sync pushes what a restarted switch lacks. */
            p->need_sync = true;
            p->retry_at_ms = 0;
        }
    }
}

/* ---- /healthz and /metrics --------------------------------------------------------------- */

static void rfc3339(FILE *f, double t)
{
    time_t sec = (time_t) t;
    struct tm tm;

    gmtime_r(&sec, &tm);
    fprintf(f, "\"%04d-%02d-%02dT%02d:%02d:%02d.%03dZ\"", tm.tm_year + 1900, tm.tm_mon + 1,
            tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int) ((t - sec) * 1000));
}

int proxy_healthz(struct proxy *p, FILE *f)
{
    uint64_t now = time_msec();
    bool healthy;

    pthread_mutex_lock(&p->lock);
    healthy = p->initial_synced && now - p->last_ok_ms <= 2ull * p->cfg.sync_period_ms;
    fputs("{\"lastUpdated\": ", f);
    if (p->initial_synced) {
        rfc3339(f, p->last_ok_wall);
    } else {
        fputs("null", f);
    }
    fputs(", \"currentTime\": ", f);
    rfc3339(f, wall_now());
    fprintf(f, ", \"initialSync\": %s, \"connected\": %s, \"healthy\": %s",
            p->initial_synced ? "true" : "false", p->connected ? "true" : "false",
            healthy ? "true" : "false");
    if (p->last_error[0]) {
        json_t *e = json_string(p->last_error);
        char *text = json_dumps(e, JSON_ENCODE_ANY);

        fprintf(f, ", \"lastError\": %s", text ? text : "null");
        free(text);
        json_decref(e);
    }
    fputs("}\n", f);
    pthread_mutex_unlock(&p->lock);
    return healthy ? 200 : 503;
}

#define M "vswitch_proxy_"

static void per_kind(FILE *f, const char *name, const char *type, const char *help,
                     const struct proxy *p, size_t offset)
{
    prom_header(f, name, type, help);
    for (int k = 0; k < PROXY_N_KINDS; k++) {
        const _Atomic uint64_t *v = (const void *) ((const char *) &p->refl[k].stats + offset);

        fprintf(f, "%s{resource=\"%s\"} %llu\n", name, kinds[k].resource,
                (unsigned long long) atomic_load(v));
    }
}

static long resident_bytes(void)
{
    long pages = 0, rss = 0;
    FILE *f = fopen("/proc/self/statm", "r");

    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &rss) != 2) {
            rss = 0;
        }
        fclose(f);
    }
    return rss * sysconf(_SC_PAGESIZE);
}

void proxy_metrics(struct proxy *p, FILE *f)
{
    const struct translate_stats *t = &p->tstats;
    const struct applier_stats *a = &p->astats;

    pthread_mutex_lock(&p->lock);
    prom_header(f, M "sync_proxy_rules_duration_seconds", "histogram",
                "Time of one sync: translation of the objects and the batch to vswitchd.");
    prom_histogram_print(f, M "sync_proxy_rules_duration_seconds", &p->sync_duration);
    prom_header(f, M "network_programming_duration_seconds", "histogram",
                "Time from an object change seen on a watch to the sync that applied it.");
    prom_histogram_print(f, M "network_programming_duration_seconds",
                         &p->programming_latency);
    prom_header(f, M "sync_proxy_rules_last_timestamp_seconds", "gauge",
                "Unix time of the last successful sync.");
    fprintf(f, M "sync_proxy_rules_last_timestamp_seconds %.3f\n", p->last_ok_wall);
    prom_header(f, M "initial_sync_duration_seconds", "gauge",
                "From the start of the first lists to the first batch applied.");
    fprintf(f, M "initial_sync_duration_seconds %.3f\n", p->initial_sync_ms / 1000.0);
    prom_header(f, M "syncs_total", "counter", "Syncs run.");
    fprintf(f, M "syncs_total %llu\n", (unsigned long long) p->syncs);
    prom_header(f, M "sync_failures_total", "counter", "Syncs that failed (and were retried).");
    fprintf(f, M "sync_failures_total %llu\n", (unsigned long long) p->sync_failures);

    prom_header(f, M "changes_pending", "gauge", "Object changes not synced yet.");
    for (int k = 0; k < PROXY_N_KINDS; k++) {
        fprintf(f, M "changes_pending{resource=\"%s\"} %llu\n", kinds[k].resource,
                (unsigned long long) p->pending[k]);
    }
    prom_header(f, M "changes_total", "counter", "Object changes seen (lists and events).");
    for (int k = 0; k < PROXY_N_KINDS; k++) {
        fprintf(f, M "changes_total{resource=\"%s\"} %llu\n", kinds[k].resource,
                (unsigned long long) p->changes_total[k]);
    }
    per_kind(f, M "objects", "gauge", "Objects in the local store.", p,
             offsetof(struct reflector_stats, objects));
    per_kind(f, M "api_errors_total", "counter", "Failed API requests and watch errors.", p,
             offsetof(struct reflector_stats, api_errors));
    per_kind(f, M "lists_total", "counter", "Full lists.", p,
             offsetof(struct reflector_stats, lists));
    per_kind(f, M "relists_gone_total", "counter", "Relists forced by 410 Gone.", p,
             offsetof(struct reflector_stats, relists_gone));
    per_kind(f, M "watches_total", "counter", "Watch requests.", p,
             offsetof(struct reflector_stats, watches));
    per_kind(f, M "watch_events_total", "counter", "Watch events applied.", p,
             offsetof(struct reflector_stats, events));
    per_kind(f, M "watch_bookmarks_total", "counter", "Watch bookmarks.", p,
             offsetof(struct reflector_stats, bookmarks));
    per_kind(f, M "malformed_objects_total", "counter",
             "Objects skipped because they could not be parsed.", p,
             offsetof(struct reflector_stats, malformed));

    prom_header(f, M "services_skipped", "gauge",
                "Services not programmed at the last sync, by reason.");
    for (int r = 1; r < K8S_SVC_SKIP_N; r++) {
        fprintf(f, M "services_skipped{reason=\"%s\"} %zu\n", k8s_svc_skip_name(r),
                t->skipped[r]);
    }
    prom_header(f, M "service_ports_skipped", "gauge",
                "Service ports not programmed at the last sync, by reason.");
    fprintf(f, M "service_ports_skipped{reason=\"unsupported_protocol\"} %zu\n",
            t->ports_unsupported);
    fprintf(f, M "service_ports_skipped{reason=\"vip_conflict\"} %zu\n", t->conflicts);
    prom_header(f, M "service_ports_preserve_dip_refused", "gauge",
                "Service ports annotated vswitch.io/dsr-mode: preserve-dip that were DNAT'd "
                "instead at the last sync (DSR off, or targetPort not the port).");
    fprintf(f, M "service_ports_preserve_dip_refused %zu\n", t->preserve_dip_refused);
    prom_header(f, M "nodes_skipped", "gauge",
                "Other nodes without an InternalIP or a pod CIDR (no peer).");
    fprintf(f, M "nodes_skipped %zu\n", t->nodes_incomplete);
    prom_header(f, M "services_outside_service_cidr", "gauge",
                "Services whose cluster IP is outside --service-cidr: programmed, but the "
                "node does not route it to the switch.");
    fprintf(f, M "services_outside_service_cidr %zu\n", t->outside_service_cidr);
    prom_header(f, M "nodes_outside_cluster_cidr", "gauge",
                "Other nodes whose pod CIDR is outside --cluster-cidr.");
    fprintf(f, M "nodes_outside_cluster_cidr %zu\n", t->outside_cluster_cidr);
    prom_header(f, M "policies", "gauge", "Load-balancing policies the proxy holds in vswitchd.");
    fprintf(f, M "policies %zu\n", p->programmed_policies);
    prom_header(f, M "backends", "gauge", "Backends of the wanted policies.");
    fprintf(f, M "backends %zu\n", t->backends);
    prom_header(f, M "peers", "gauge", "Overlay peers the proxy holds in vswitchd.");
    fprintf(f, M "peers %zu\n", p->programmed_peers);

    prom_header(f, M "batches_total", "counter", "Batches vswitchd applied.");
    fprintf(f, M "batches_total %llu\n", (unsigned long long) a->batches);
    prom_header(f, M "batch_operations_total", "counter", "Operations in those batches.");
    fprintf(f, M "batch_operations_total %llu\n", (unsigned long long) a->ops);
    prom_header(f, M "operations_refused_total", "counter",
                "Operations vswitchd refused (left out, logged).");
    fprintf(f, M "operations_refused_total %llu\n", (unsigned long long) a->rejected);
    prom_header(f, M "foreign_policy_conflicts_total", "counter",
                "Service ports left alone because a hand-made policy holds the VIP.");
    fprintf(f, M "foreign_policy_conflicts_total %llu\n", (unsigned long long) a->foreign);
    prom_header(f, M "vswitchd_connects_total", "counter",
                "Connections to vswitchd (each one reads its state back).");
    fprintf(f, M "vswitchd_connects_total %llu\n", (unsigned long long) a->connects);
    prom_header(f, M "vswitchd_connected", "gauge", "1 while connected to vswitchd.");
    fprintf(f, M "vswitchd_connected %d\n", p->connected);
    pthread_mutex_unlock(&p->lock);

    prom_header(f, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
    fprintf(f, "process_resident_memory_bytes %ld\n", resident_bytes());
}
