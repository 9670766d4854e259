/* Start-up restore; see restore.h. */
#include "daemon/restore.h"

#include <stdlib.h>
#include <string.h>

#define LOG_MODULE "control"
#include "daemon/db.h"
#include "daemon/peer-config.h"
#include "daemon/policy.h"
#include "daemon/txn.h"
#include "dp/dp.h"
#include "lib/addr.h"
#include "lib/log.h"
#include "lib/util.h"

int restore_ports(struct vswitchd *vd, char *err, size_t errlen)
{
    struct db_port *rows;
    size_t n;
    int error, restored = 0;

    error = db_port_list(vd->db, &rows, &n, err, errlen);
    if (error) {
        return error;
    }
    for (size_t i = 0; i < n; i++) {
        const struct db_port *row = &rows[i];
        enum dp_port_type type;
        char dp_err[256] = "";

        if (dp_port_type_from_name(row->type, &type)) {
            LOG_ERR("stored port %s has unknown type '%s'; not restored", row->name, row->type);
            continue;
        }
        if (!cidr_contains(&vd->cfg.pod_cidr, row->ip) || row->ip == vd->cfg.gateway) {
            char ip[IP_STR_LEN];

            LOG_ERR("stored port %s has IP address %s, which does not fit --pod-cidr any more; "
                    "not restored (del-port removes it)", row->name, addr_ip_str(row->ip, ip));
            continue;
        }
        error = dp_port_add(vd->dp, row->name, type, row->ip, row->has_mac ? &row->mac : NULL,
                            true, dp_err, sizeof dp_err);
        if (error) {
            LOG_ERR("cannot restore port %s: %s", row->name,
                    *dp_err ? dp_err : strerror(-error));
            continue;
        }
        restored++;
    }
    free(rows);
    return restored;
}

int restore_policies(struct vswitchd *vd, char *err, size_t errlen)
{
    struct lb_config_env env = policy_env(vd);
    struct dp_lb_change *changes;
    struct lb_config *policies;
    size_t n, n_changes = 0, failed;
    int error, restored;

    error = db_policy_list(vd->db, &policies, &n, err, errlen);
    if (error) {
        return error;
    }
    changes = xcalloc(n + 1, sizeof *changes);
    for (size_t i = 0; i < n; i++) {
        const struct lb_config *p = &policies[i];
        char msg[512], svc[LB_SERVICE_STR_LEN];

        lb_service_str(&p->service, svc);
        if (lb_service_check_env(&p->service, &env, msg, sizeof msg)) {
            LOG_ERR("stored policy %s: %s; not restored (del-lb %s removes it)", p->name, msg,
                    svc);
            continue;
        }
        txn_policy_spec(p, &changes[n_changes++].spec);
    }
    /* All at once: thousands of services restore in one pass of the datapath.  One the
     * datapath refuses is left out, with a log line, and the rest go in. */
    while (dp_lb_apply(vd->dp, changes, n_changes, &failed, err, errlen)) {
        LOG_ERR("cannot restore policy %s: %s", changes[failed].spec.name, err);
        free((void *) changes[failed].spec.backends);
        changes[failed] = changes[--n_changes];
    }
    restored = n_changes;
    for (size_t i = 0; i < n_changes; i++) {
        free((void *) changes[i].spec.backends);
    }
    free(changes);
    db_policy_list_free(policies, n);
    return restored;
}

int restore_peers(struct vswitchd *vd, char *err, size_t errlen)
{
    struct peer_config_env env = { .node_ip = vd->cfg.node_ip, .pod_cidr = vd->cfg.pod_cidr };
    struct peer_config *peers;
    size_t n, restored = 0;
    int error;

    error = db_peer_list(vd->db, &peers, &n, err, errlen);
    if (error) {
        return error;
    }
    if (n && !vd->cfg.node_ip) {
        LOG_WARN("%zu stored peer(s) not restored: vswitchd was started without --node-ip "
                 "(they come back with it; del-peer removes them)", n);
        n = 0;
    }
    for (size_t i = 0; i < n; i++) {
        const struct peer_config *p = &peers[i];
        char msg[512], ip[IP_STR_LEN], cidr[IP_STR_LEN];

        addr_ip_str(p->node_ip, ip);
        peer_cidr_str(&p->pod_cidr, cidr);
        /* Against this node as configured now, and the peers restored so far (moved to the
         * front of 'peers'). */
        if (peer_config_check_env(p, &env, msg, sizeof msg)
            || peer_config_check_table(p, peers, restored, msg, sizeof msg)) {
            LOG_ERR("stored peer %s (pod CIDR %s): %s; not restored (del-peer %s removes it)",
                    ip, cidr, msg, ip);
            continue;
        }
        msg[0] = '\0';
        error = dp_peer_set(vd->dp, p->node_ip, &p->pod_cidr, msg, sizeof msg);
        if (error) {
            LOG_ERR("cannot restore peer %s (pod CIDR %s): %s", ip, cidr,
                    *msg ? msg : strerror(-error));
            continue;
        }
        peers[restored++] = *p;
    }
    free(peers);
    return restored;
}
