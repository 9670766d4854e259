/* One service's load-balancing policy; see policy.h. */
#include "daemon/policy.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define LOG_MODULE "control"
#include "daemon/db.h"
#include "daemon/node-routes.h"
#include "daemon/nodeport.h"
#include "daemon/txn.h"
#include "dp/dp.h"
#include "lib/log.h"

struct lb_config_env policy_env(const struct vswitchd *vd)
{
    struct lb_config_env env = { .pod_cidr = vd->cfg.pod_cidr, .gateway = vd->cfg.gateway };

    return env;
}

/* A policy's VIP may be an external address, routed into the switch (node-routes.h): the
 * routes follow the policies.  A route the kernel refuses is logged and does not undo the
 * policy; the next change or a restart tries again. */
static void update_external_routes(struct vswitchd *vd)
{
    if (vd->cfg.has_service_cidr && vd->owns_node_routes) {
        node_routes_update(vd);
    }
    nodeport_sync(vd->nodeport);
}

int policy_add(struct vswitchd *vd, const Vswitch__AddLb *req, struct lb_config *p,
               bool *replaced, char *err, size_t errlen)
{
    struct lb_config_env env = policy_env(vd);
    char why[512], dp_err[256], svc[LB_SERVICE_STR_LEN];
    struct lb_config old;
    int error, old_error;

    error = lb_config_from_msg(req, &env, p, err, errlen);
    if (error) {
        return error;
    }
    lb_service_str(&p->service, svc);

    /* What to put back if the commit fails. */
    old_error = db_policy_get(vd->db, &p->service, &old, err, errlen);
    if (old_error && old_error != -ENOENT) {
        lb_config_destroy(p);
        return old_error;
    }
    error = txn_policy_install(vd, p, dp_err, sizeof dp_err);
    if (error) {
        snprintf(err, errlen, "cannot install policy %s: %s", svc, dp_err);
        goto out;
    }
    error = db_policy_put(vd->db, p, replaced, why, sizeof why);
    if (error) {
        LOG_ERR("policy %s: %s; undoing the datapath change", svc, why);
        if (!old_error) {
            if (txn_policy_install(vd, &old, dp_err, sizeof dp_err)) {
                LOG_ERR("policy %s: cannot put the previous version back: %s", svc, dp_err);
            }
        } else {
            dp_lb_del(vd->dp, p->service.vip, p->service.port, p->service.proto);
        }
        snprintf(err, errlen, "cannot store policy %s: %s", svc, why);
        goto out;
    }
    LOG_INFO("%s policy %s for %s: %zu backend(s), %s%s", *replaced ? "replaced" : "added",
             p->name, svc, p->n_backends,
             p->preserve_dip ? "L2 DSR (preserve-dip)" : p->dsr ? "DSR" : "SNAT to the gateway",
             p->affinity_timeout ? ", ClientIP affinity" : "");
    update_external_routes(vd);
out:
    if (!old_error) {
        lb_config_destroy(&old);
    }
    if (error) {
        lb_config_destroy(p);
    }
    return error;
}

int policy_delete(struct vswitchd *vd, const char *service, char *err, size_t errlen)
{
    char why[512], svc[LB_SERVICE_STR_LEN];
    struct lb_service key;
    int db_error, dp_error;

    if (lb_service_parse(service, NULL, &key, err, errlen)) {
        return -EINVAL;
    }
    lb_service_str(&key, svc);
    db_error = db_policy_delete(vd->db, &key, why, sizeof why);
    if (db_error && db_error != -ENOENT) {
        snprintf(err, errlen, "cannot delete policy %s: %s", svc, why);
        return db_error;
    }
    dp_error = dp_lb_del(vd->dp, key.vip, key.port, key.proto);
    if (dp_error == -ENOENT) {
        if (db_error) {
            snprintf(err, errlen, "no policy for %s", svc);
            return -ENOENT;
        }
        LOG_INFO("deleted policy for %s (it was stored but not installed)", svc);
        return 0;
    }
    if (dp_error) {
        LOG_ERR("policy %s: removed from the database but the datapath failed to delete it: "
                "%s", svc, strerror(-dp_error));
        snprintf(err, errlen, "cannot delete policy %s: %s", svc, strerror(-dp_error));
        return dp_error;
    }
    LOG_INFO("deleted policy for %s", svc);
    update_external_routes(vd);
    return 0;
}
