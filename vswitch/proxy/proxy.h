/* vswitch-proxy's core: three reflectors (Services, EndpointSlices, Nodes) feeding stores,
 * and the sync loop that turns the stores into the desired state and applies the difference
 * to vswitchd.
 *
 * Threads: one per reflector (blocking HTTP), the sync thread (the caller of proxy_run():
 * translation and the control connection), and libmicrohttpd's for /healthz and /metrics.
 * 'lock' guards the stores, the change counters and everything the HTTP thread reads.
 *
 * Syncs are coalesced: after a change the sync waits until --min-sync-period has passed since
 * the previous one began, so a burst of changes costs one batch; and a full resync (the
 * switch's state read back and compared) runs every --sync-period even without changes. */
#ifndef VSWITCH_PROXY_PROXY_H
#define VSWITCH_PROXY_PROXY_H 1

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "lib/prom.h"
#include "proxy/applier.h"
#include "proxy/health-check.h"
#include "proxy/kubeconfig.h"
#include "proxy/reflector.h"
#include "proxy/translate.h"

#define PROXY_MAX_NODEPORT_CIDRS 16

struct proxy_config {
    const char *node_name;
    const char *ctl_path;
    bool dsr;
    bool sync_peers;
    struct cidr service_cidr, cluster_cidr;     /* --service-cidr, --cluster-cidr... */
    bool has_service_cidr, has_cluster_cidr;    /* ...when given. */
    /* --nodeport-addresses; none: NodePorts on every node address (0.0.0.0). */
    struct cidr nodeport_cidrs[PROXY_MAX_NODEPORT_CIDRS];
    size_t n_nodeport_cidrs;
    uint32_t min_sync_period_ms;
    uint32_t sync_period_ms;
    uint32_t page_limit;
    int ctl_timeout_ms;
};

enum proxy_kind { PROXY_SERVICES, PROXY_SLICES, PROXY_NODES, PROXY_N_KINDS };

struct proxy {
    struct proxy_config cfg;
    const struct kube_config *kcfg;
    atomic_bool stop;
    int notify_fd;                      /* eventfd: a store changed, or stop. */

    pthread_mutex_t lock;
    struct reflector refl[PROXY_N_KINDS];

    /* Guarded by 'lock'. */
    uint64_t pending[PROXY_N_KINDS];    /* Changes not synced yet. */
    uint64_t changes_total[PROXY_N_KINDS];
    uint64_t oldest_pending_ms;         /* time_msec() of the oldest unsynced change; 0. */
    bool initial_synced;
    uint64_t initial_sync_ms;           /* First list started -> first batch applied. */
    uint64_t last_ok_ms;                /* time_msec() of the last successful sync. */
    double last_ok_wall;                /* Its Unix time. */
    uint64_t syncs, sync_failures;
    char last_error[512];               /* Of the last failed sync; "" after a success. */
    struct prom_histogram sync_duration;        /* Seconds per sync (translate + apply). */
    struct prom_histogram programming_latency;  /* Seconds from a change to its sync. */
    struct translate_stats tstats;
    struct applier_stats astats;        /* Copy of the applier's, for the HTTP thread. */
    size_t programmed_policies, programmed_peers;
    bool connected;

    /* The sync thread's own. */
    struct applier applier;
    struct health_checks health;        /* healthCheckNodePort servers. */
    struct backoff retry;
    bool need_sync;                     /* A sync failed or vswitchd reconnected. */
    uint64_t retry_at_ms;               /* Not before this after a failure. */
};

/* Sets up the proxy for 'kcfg' (must outlive it). */
void proxy_init(struct proxy *, const struct proxy_config *, const struct kube_config *kcfg);
/* Starts the reflectors.  Returns 0 or a negative errno. */
int proxy_start(struct proxy *);
/* Runs the sync loop in the calling thread until proxy_stop(). */
void proxy_run(struct proxy *);
/* Async-signal-safe: asks every thread to stop. */
void proxy_stop(struct proxy *);
/* After proxy_run() returned: joins the reflectors and frees everything. */
void proxy_destroy(struct proxy *);

/* For the HTTP thread.  Writes kube-proxy's healthz body into 'f' and returns the status
 * (200 or 503): healthy once the first full sync is done, while the last successful sync is
 * younger than twice --sync-period. */
int proxy_healthz(struct proxy *, FILE *f);
/* Writes the Prometheus text of every metric. */
void proxy_metrics(struct proxy *, FILE *f);

#endif
