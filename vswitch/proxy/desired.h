/* The proxy's view of what vswitchd should hold: load-balancing policies keyed by their
 * service ("10.96.0.10:80/tcp") and overlay peers keyed by node IP; and the difference
 * between two such states, which is what a sync sends.
 *
 * The proxy keeps two of them: the state wanted by the API objects (rebuilt by the
 * translation at every sync) and the state vswitchd is known to hold (read back with
 * DumpPolicies when the proxy connects, then advanced by each batch that succeeds). */
#ifndef VSWITCH_PROXY_DESIRED_H
#define VSWITCH_PROXY_DESIRED_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/lb-config.h"
#include "lib/types.h"
#include "proxy/strmap.h"

/* Policies the proxy made are named "k8s:<namespace>/<service>[:<port name>]"; this prefix is
 * how it tells them from policies made by hand, which it never touches. */
#define DESIRED_NAME_PREFIX "k8s:"

struct policy {
    char service[LB_SERVICE_STR_LEN];   /* The key: "10.96.0.10:80/tcp". */
    char name[LB_CONFIG_NAME_MAX];
    bool dsr;
    bool preserve_dip;                  /* Classic L2 DSR: every backend port is the VIP's. */
    size_t n_source_ranges;             /* loadBalancerSourceRanges, "IP/PREFIX" each (host */
    char **source_ranges;               /* bits zero), owned; none: any client. */
    uint32_t affinity_timeout;
    size_t n_backends;
    struct lb_config_backend *backends; /* Sorted by (ip, port) in host order; unique. */
};

struct peer {
    char node_ip[IP_STR_LEN];           /* The key. */
    char pod_cidr[IP_STR_LEN];
};

struct desired {
    struct strmap policies;             /* service -> struct policy */
    struct strmap peers;                /* node_ip -> struct peer */
};

void desired_init(struct desired *);
/* Frees every policy and peer.  Accepts an initialized empty state. */
void desired_destroy(struct desired *);
/* Moves 'from' into 'to' (whose old content is freed); 'from' is left empty. */
void desired_move(struct desired *to, struct desired *from);

/* Adds 'p' (owned by the state from now on).  Returns false, freeing 'p', if a policy for
 * its service is already there. */
bool desired_add_policy(struct desired *, struct policy *p);
bool desired_add_peer(struct desired *, struct peer *p);
void policy_free(struct policy *);
/* Sorts the backends and drops duplicates. */
void policy_normalize(struct policy *);
bool policy_equal(const struct policy *, const struct policy *);

/* The name of the policy for port 'port_name' ("" when unnamed) of Service 'svc_key'
 * ("namespace/name"): DESIRED_NAME_PREFIX "ns/name:port", shortened with a hash to fit. */
void desired_policy_name(const char *svc_key, const char *port_name,
                         char name[LB_CONFIG_NAME_MAX]);
bool desired_owns_name(const char *name);

/* What turns 'have' into 'want'.  The arrays point into the two states, which must outlive
 * the diff; each array is sorted by key (deterministic batches). */
struct desired_diff {
    const char **del_policies;          /* Services to delete. */
    size_t n_del_policies;
    const struct policy **add_policies; /* New or changed policies. */
    size_t n_add_policies;
    const char **del_peers;             /* Node IPs. */
    size_t n_del_peers;
    const struct peer **add_peers;      /* New peers, and peers whose pod CIDR changed (these
                                         * are also in del_peers). */
    size_t n_add_peers;
};

void desired_diff(const struct desired *want, const struct desired *have,
                  struct desired_diff *);
void desired_diff_destroy(struct desired_diff *);
static inline size_t desired_diff_size(const struct desired_diff *d)
{
    return d->n_del_policies + d->n_add_policies + d->n_del_peers + d->n_add_peers;
}

#endif
