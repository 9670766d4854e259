/* Control request handlers; see handlers.h.
 *
 * Order of changes: add-port attaches to the datapath first (it is what can fail for reasons
 * only the datapath knows: a missing device, a name clash) and commits the database row
 * second, undoing the attach if the commit fails, so the reply is sent only once the port is
 * both working and durable.  del-port removes the row first, so a reply of success means the
 * port will not come back on restart.  add-lb and del-lb follow the same two rules
 * (policy.h).
 *
 * Peers and batches go through the control transaction (txn.h), which checks every change
 * before it applies the first: an add-peer or del-peer is a transaction of one. */
#include "daemon/handlers.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_MODULE "control"
#include "daemon/db.h"
#include "daemon/policy.h"
#include "daemon/txn.h"
#include "daemon/views.h"
#include "dp/dp.h"
#include "lib/addr.h"
#include "lib/ctl-msg.h"
#include "lib/ifname.h"
#include "lib/log.h"
#include "lib/util.h"

/* Metadata is printed one port per line by `vsctl show`: no control characters. */
static const char *text_problem(const char *s, size_t max)
{
    if (strlen(s) > max) {
        return "too long";
    }
    for (const char *p = s; *p; p++) {
        if ((unsigned char) *p < 0x20 || *p == 0x7f) {
            return "contains control characters";
        }
    }
    return NULL;
}

/* Checks an add-port request and fills 'row' from it.  Returns NULL or an error Response. */
static Vswitch__Response *validate_add_port(const struct vswitchd *vd, const Vswitch__AddPort *req,
                                            enum dp_port_type *type, struct db_port *row)
{
    const struct vswitchd_config *cfg = &vd->cfg;
    be32 host_mask = ~cidr_mask(cfg->pod_cidr.prefix);
    const char *problem;

    memset(row, 0, sizeof *row);
    problem = ifname_problem(req->name);
    if (problem) {
        return ctl_msg_response_error(-EINVAL, "invalid port name '%s': %s", req->name,
                                      problem);
    }
    str_copy(row->name, req->name, sizeof row->name);

    if (!*req->type) {
        *type = DP_PORT_VETH;
    } else if (dp_port_type_from_name(req->type, type)
               || (*type != DP_PORT_VETH && *type != DP_PORT_TAP)) {
        return ctl_msg_response_error(-EINVAL, "invalid port type '%s': expected veth or tap",
                                      req->type);
    }
    str_copy(row->type, dp_port_type_name(*type), sizeof row->type);

    if (!*req->ip) {
        return ctl_msg_response_error(-EINVAL, "port %s needs an IP address", req->name);
    }
    if (addr_parse_ip(req->ip, &row->ip)) {
        return ctl_msg_response_error(-EINVAL, "invalid IP address '%s': expected A.B.C.D",
                                      req->ip);
    }
    if (!cidr_contains(&cfg->pod_cidr, row->ip)) {
        char net[IP_STR_LEN];

        return ctl_msg_response_error(-EINVAL, "IP address %s is outside the pod CIDR %s/%d",
                                      req->ip, addr_ip_str(cfg->pod_cidr.net, net),
                                      cfg->pod_cidr.prefix);
    }
    if (row->ip == cfg->gateway) {
        return ctl_msg_response_error(-EINVAL, "IP address %s is the gateway's", req->ip);
    }
    /* /31 and /32 have no network or broadcast address (RFC 3021). */
    if (cfg->pod_cidr.prefix < 31
        && ((row->ip & host_mask) == 0 || (row->ip & host_mask) == host_mask)) {
        return ctl_msg_response_error(-EINVAL, "IP address %s is the pod CIDR's %s address",
                                      req->ip, row->ip & host_mask ? "broadcast" : "network");
    }

    if (*req->mac) {
        if (addr_parse_mac(req->mac, &row->mac)) {
            return ctl_msg_response_error(-EINVAL, "invalid MAC address '%s': expected "
                                          "xx:xx:xx:xx:xx:xx", req->mac);
        }
        if (eth_addr_is_multicast(row->mac) || eth_addr_is_zero(row->mac)) {
            return ctl_msg_response_error(-EINVAL, "MAC address %s is not a unicast address",
                                          req->mac);
        }
        if (eth_addr_equals(row->mac, cfg->router_mac)) {
            return ctl_msg_response_error(-EINVAL, "MAC address %s is the switch's own "
                                          "router MAC", req->mac);
        }
        row->has_mac = true;
    }

    if ((problem = text_problem(req->pod_namespace, DB_POD_NAMESPACE_MAX))
        || (problem = text_problem(req->pod_name, DB_POD_NAME_MAX))
        || (problem = text_problem(req->container_id, DB_CONTAINER_ID_MAX))) {
        return ctl_msg_response_error(-EINVAL, "invalid pod metadata: %s", problem);
    }
    if (*req->ifname && (problem = ifname_problem(req->ifname))) {
        return ctl_msg_response_error(-EINVAL, "invalid pod interface name '%s': %s",
                                      req->ifname, problem);
    }
    str_copy(row->pod_namespace, req->pod_namespace, sizeof row->pod_namespace);
    str_copy(row->pod_name, req->pod_name, sizeof row->pod_name);
    str_copy(row->container_id, req->container_id, sizeof row->container_id);
    str_copy(row->ifname, req->ifname, sizeof row->ifname);
    return NULL;
}

/* Fails with EEXIST, naming the holder, if the name or IP is taken by an attached port. */
static Vswitch__Response *check_unused(struct vswitchd *vd, const struct db_port *row)
{
    Vswitch__Response *resp = NULL;
    struct dp_port_info *ports;
    size_t n;
    int error;

    error = dp_port_list(vd->dp, &ports, &n);
    if (error) {
        return ctl_msg_response_error(error, "cannot list the datapath's ports: %s",
                                      strerror(-error));
    }
    for (size_t i = 0; i < n && !resp; i++) {
        char ip[IP_STR_LEN];

        if (!strcmp(ports[i].name, row->name)) {
            resp = ctl_msg_response_error(-EEXIST, "port %s already exists", row->name);
        } else if (ports[i].ip == row->ip) {
            resp = ctl_msg_response_error(-EEXIST, "IP address %s is already used by port %s",
                                          addr_ip_str(row->ip, ip), ports[i].name);
        }
    }
    free(ports);
    return resp;
}

static Vswitch__Response *handle_add_port(struct vswitchd *vd, const Vswitch__AddPort *req)
{
    Vswitch__Response *resp;
    Vswitch__AddPortReply *reply;
    enum dp_port_type type;
    struct db_port row;
    char err[256], ip[IP_STR_LEN];
    int error, replaced;

    resp = validate_add_port(vd, req, &type, &row);
    if (!resp) {
        resp = check_unused(vd, &row);
    }
    if (resp) {
        return resp;
    }

    err[0] = '\0';
    error = dp_port_add(vd->dp, row.name, type, row.ip, row.has_mac ? &row.mac : NULL, false,
                        err, sizeof err);
    if (error) {
        return ctl_msg_response_error(error, "cannot add port %s: %s", row.name,
                                      *err ? err : strerror(-error));
    }
    error = db_port_insert(vd->db, &row, &replaced, err, sizeof err);
    if (error) {
        LOG_ERR("port %s: %s; detaching it again", row.name, err);
        dp_port_del(vd->dp, row.name);
        return ctl_msg_response_error(error, "cannot store port %s: %s", row.name, err);
    }
    if (replaced) {
        LOG_WARN("port %s replaced %d stale database row(s) with its name or IP", row.name,
                 replaced);
    }
    LOG_INFO("added port %s (%s, %s%s%s%s%s)", row.name, row.type, addr_ip_str(row.ip, ip),
             *row.pod_name ? ", pod " : "", row.pod_namespace,
             *row.pod_name ? "/" : "", row.pod_name);

    resp = ctl_msg_response_new();
    reply = xmalloc(sizeof *reply);
    vswitch__add_port_reply__init(reply);
    reply->port = view_port(vd, row.name, &row);
    resp->reply_case = VSWITCH__RESPONSE__REPLY_ADD_PORT;
    resp->add_port = reply;
    return resp;
}

static Vswitch__Response *handle_del_port(struct vswitchd *vd, const Vswitch__DelPort *req)
{
    const char *name = req->name;
    char err[256];
    int db_error, dp_error;

    if (!*name) {
        return ctl_msg_response_error(-EINVAL, "del-port needs a port name");
    }
    if (!strcmp(name, VSWITCHD_HOST_PORT)) {
        return ctl_msg_response_error(-EPERM, "%s is the host port; it cannot be deleted",
                                      name);
    }
    db_error = db_port_delete(vd->db, name, err, sizeof err);
    if (db_error && db_error != -ENOENT) {
        return ctl_msg_response_error(db_error, "cannot delete port %s: %s", name, err);
    }
    dp_error = dp_port_del(vd->dp, name);
    if (dp_error == -ENOENT) {
        if (db_error) {
            return ctl_msg_response_error(-ENOENT, "no port named %s", name);
        }
        LOG_INFO("deleted port %s (it was stored but not attached)", name);
        return ctl_msg_response_new();
    }
    if (dp_error) {
        LOG_ERR("port %s: removed from the database but the datapath failed to detach it: %s",
                name, strerror(-dp_error));
        return ctl_msg_response_error(dp_error, "cannot detach port %s: %s", name,
                                      strerror(-dp_error));
    }
    LOG_INFO("deleted port %s", name);
    return ctl_msg_response_new();
}

static Vswitch__Response *handle_add_lb(struct vswitchd *vd, const Vswitch__AddLb *req)
{
    Vswitch__AddLbReply *reply;
    Vswitch__Response *resp;
    struct lb_config p;
    bool replaced;
    char err[1024];
    int error;

    error = policy_add(vd, req, &p, &replaced, err, sizeof err);
    if (error) {
        return ctl_msg_response_error(error, "%s", err);
    }
    resp = ctl_msg_response_new();
    reply = xmalloc(sizeof *reply);
    vswitch__add_lb_reply__init(reply);
    reply->policy = view_policy(vd, &p);
    reply->replaced = replaced;
    resp->reply_case = VSWITCH__RESPONSE__REPLY_ADD_LB;
    resp->add_lb = reply;
    lb_config_destroy(&p);
    return resp;
}

static Vswitch__Response *handle_del_lb(struct vswitchd *vd, const Vswitch__DelLb *req)
{
    char err[1024];
    int error;

    error = policy_delete(vd, req->service, err, sizeof err);
    return error ? ctl_msg_response_error(error, "%s", err) : ctl_msg_response_new();
}

/* Runs the one operation 'op' as a batch of its own (txn.h, "single"). */
static int apply_one(struct vswitchd *vd, Vswitch__BatchOp *op, struct txn_result *result,
                     char *err, size_t errlen)
{
    Vswitch__Batch batch = VSWITCH__BATCH__INIT;

    batch.n_ops = 1;
    batch.ops = &op;
    return txn_apply(vd, &batch, true, result, err, errlen);
}

static Vswitch__Response *handle_add_peer(struct vswitchd *vd, Vswitch__AddPeer *req)
{
    Vswitch__BatchOp op = VSWITCH__BATCH_OP__INIT;
    Vswitch__AddPeerReply *reply;
    struct txn_result result;
    Vswitch__Response *resp;
    char err[1024];
    be32 node_ip;
    int error;

    op.op_case = VSWITCH__BATCH_OP__OP_ADD_PEER;
    op.add_peer = req;
    error = apply_one(vd, &op, &result, err, sizeof err);
    if (error) {
        return ctl_msg_response_error(error, "%s", err);
    }
    LOG_INFO("%s peer %s with pod CIDR %s", result.unchanged ? "kept" :
             result.replaced ? "changed" : "added", req->node_ip, req->pod_cidr);

    resp = ctl_msg_response_new();
    reply = xmalloc(sizeof *reply);
    vswitch__add_peer_reply__init(reply);
    reply->replaced = result.replaced > 0;
    resp->reply_case = VSWITCH__RESPONSE__REPLY_ADD_PEER;
    resp->add_peer = reply;
    addr_parse_ip(req->node_ip, &node_ip);
    reply->peer = view_peer(vd, node_ip);
    return resp;
}

static Vswitch__Response *handle_del_peer(struct vswitchd *vd, Vswitch__DelPeer *req)
{
    Vswitch__BatchOp op = VSWITCH__BATCH_OP__INIT;
    struct txn_result result;
    char err[1024];
    int error;

    op.op_case = VSWITCH__BATCH_OP__OP_DEL_PEER;
    op.del_peer = req;
    error = apply_one(vd, &op, &result, err, sizeof err);
    if (error) {
        return ctl_msg_response_error(error, "%s", err);
    }
    LOG_INFO("deleted peer %s%s", req->node_ip,
             result.absent ? " (it was stored but not installed)" : "");
    return ctl_msg_response_new();
}

static Vswitch__Response *handle_batch(struct vswitchd *vd, const Vswitch__Batch *req)
{
    Vswitch__BatchReply *reply = xmalloc(sizeof *reply);
    struct txn_result result;
    Vswitch__Response *resp;
    char err[1024];
    int error;

    error = txn_apply(vd, req, false, &result, err, sizeof err);
    resp = error ? ctl_msg_response_error(error, "%s", err) : ctl_msg_response_new();
    if (error) {
        LOG_WARN("batch of %zu op(s) refused: %s", req->n_ops, err);
    }
    vswitch__batch_reply__init(reply);
    reply->applied = result.applied;
    reply->unchanged = result.unchanged;
    reply->absent = result.absent;
    reply->failed_op = result.failed_op;
    resp->reply_case = VSWITCH__RESPONSE__REPLY_BATCH;
    resp->batch = reply;
    return resp;
}

Vswitch__Response *handlers_handle(const Vswitch__Request *req, void *vd_)
{
    struct vswitchd *vd = vd_;

    switch (req->command_case) {
    case VSWITCH__REQUEST__COMMAND_SHOW:
        return view_show(vd);
    case VSWITCH__REQUEST__COMMAND_ADD_PORT:
        return handle_add_port(vd, req->add_port);
    case VSWITCH__REQUEST__COMMAND_DEL_PORT:
        return handle_del_port(vd, req->del_port);
    case VSWITCH__REQUEST__COMMAND_DUMP_FLOWS:
        return view_dump_flows(vd);
    case VSWITCH__REQUEST__COMMAND_FLUSH_FLOWS:
        /* The cache only: flow pairs are the connections' state, not a cache, and
         * forgetting them would reset every connection whose server speaks next. */
        dp_flow_flush(vd->dp);
        LOG_INFO("flow cache flushed");
        return ctl_msg_response_new();
    case VSWITCH__REQUEST__COMMAND_ADD_LB:
        return handle_add_lb(vd, req->add_lb);
    case VSWITCH__REQUEST__COMMAND_DEL_LB:
        return handle_del_lb(vd, req->del_lb);
    case VSWITCH__REQUEST__COMMAND_DUMP_POLICIES:
        return view_dump_policies(vd);
    case VSWITCH__REQUEST__COMMAND_ADD_PEER:
        return handle_add_peer(vd, req->add_peer);
    case VSWITCH__REQUEST__COMMAND_DEL_PEER:
        return handle_del_peer(vd, req->del_peer);
    case VSWITCH__REQUEST__COMMAND_BATCH:
        return handle_batch(vd, req->batch);
    case VSWITCH__REQUEST__COMMAND__NOT_SET:
    default:
        /* An unknown command unpacks as an unknown field, leaving the case unset. */
        return ctl_msg_response_error(-EOPNOTSUPP, "unknown or empty command (is the client "
                                      "newer than vswitchd %s?)", VSWITCH_VERSION);
    }
}
