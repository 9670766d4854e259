/* The plugin's verbs; see plugin.h. */
#include "cni/plugin.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LOG_MODULE "plugin"
#include "cni/attach.h"
#include "cni/ipam.h"
#include "cni/link.h"
#include "cni/netns.h"
#include "cni/result.h"
#include "cni/version.h"
#include "lib/addr.h"
#include "lib/ctl-msg.h"
#include "lib/log.h"
#include "lib/util.h"

/* Keeps the first error of a best-effort sequence. */
static void keep_first(struct cni_err *first, const struct cni_err *err)
{
    if (!first->code) {
        *first = *err;
    }
}

/* ---- ADD ---- */

/* The switch's gateway, for an IPAM result that names none. */
static be32 switch_gateway(struct attach *attach)
{
    Vswitch__Response *show;
    struct cni_err err;
    be32 gw = 0;

    if (!attach_show(attach, &show, &err)) {
        if (show->show->daemon) {
            addr_parse_ip(show->show->daemon->gateway, &gw);
        }
        ctl_msg_response_free(show);
    }
    return gw;
}

/* vswitchd refused the port because its name or IP is taken.  A port of ours (this network's
 * name for its container and interface) whose veth no longer exists is the leftover of a DEL
 * that ran while vswitchd was down: remove it, and return 0 to have the caller retry. */
static int reclaim_stale_port(struct attach *attach, const struct netconf *conf,
                              const struct attach_port *port)
{
    Vswitch__Response *show;
    struct cni_err err;
    int reclaimed = 0;

    if (attach_show(attach, &show, &err)) {
        return -ENOENT;
    }
    for (size_t i = 0; i < show->show->n_ports; i++) {
        const Vswitch__Port *p = show->show->ports[i];
        char expected[IF_NAMESIZE];
        struct nl_link link;

        if (strcmp(p->name, port->name) && strcmp(p->ip, port->ip)) {
            continue;
        }
        if (!*p->container_id || !*p->ifname) {
            continue;
        }
        link_host_name(conf->name, p->container_id, p->ifname, expected);
        if (strcmp(expected, p->name) || link_host_get(p->name, &link, &err) != -ENODEV) {
            continue;
        }
        LOG_WARN("port %s (container %s, %s, IP %s) has no veth any more; removing it",
                 p->name, p->container_id, p->ifname, p->ip);
        if (attach_port_del(attach, p->name, &err)) {
            LOG_WARN("%s", err.msg);
        } else {
            reclaimed++;
        }
    }
    ctl_msg_response_free(show);
    return reclaimed ? 0 : -ENOENT;
}

static int cmd_add(const struct cni_env *env, struct netconf *conf, json_t **out,
                   struct cni_err *err)
{
    struct link_pod_conf pod = {
        .netns_path = env->netns, .ifname = env->ifname, .mtu = conf->mtu,
    };
    struct cni_result ipres = { 0 }, res = { 0 };
    struct nl_link host_link, pod_link;
    struct attach *attach = NULL;
    struct ipam ipam = { 0 };
    struct cni_ip ip;
    struct attach_port port;
    char host[IF_NAMESIZE], ip_s[IP_STR_LEN], mac_s[ETH_STR_LEN];
    bool leased = false, linked = false, port_tried = false;
    json_t *ipam_out = NULL;
    int netns_fd = -1, error, idx;

    link_host_name(conf->name, env->container_id, env->ifname, host);

    /* Everything that can be checked before changing anything. */
    error = netns_open(env->netns, &netns_fd, err);
    if (!error) {
        error = link_pod_check_free(netns_fd, &pod, err);
    }
    if (!error) {
        error = link_host_get(host, &host_link, err);
        if (!error) {
            cni_err_set(err, CNI_ERR_IF_EXISTS, "host interface %s already exists (an earlier "
                        "ADD of this attachment without its DEL?)", host);
            error = -EEXIST;
        } else if (error == -ENODEV) {
            error = 0;
        }
    }
    if (!error) {
        error = attach_open(conf->ctl, ATTACH_START_WAIT_MS, &attach, err);
    }
    if (!error) {
        error = ipam_init(&ipam, env->path, conf->ipam_type, conf->root, err);
    }
    if (error) {
        goto out;
    }

    /* The address. */
    error = ipam_exec(&ipam, "ADD", NULL, &ipam_out, err);
    if (error) {
        goto out;
    }
    leased = true;
    if (!ipam_out) {
        cni_err_set(err, CNI_ERR_IPAM, "IPAM plugin %s returned no result", conf->ipam_type);
        error = -EINVAL;
        goto out;
    }
    error = cni_result_parse(ipam_out, ipam.version, "IPAM result", &ipres, err);
    if (error) {
        goto out;
    }
    if (ipres.n_ips != 1) {
        cni_err_set(err, ipres.n_ips ? CNI_ERR_UNSUPPORTED_FIELD : CNI_ERR_IPAM,
                    "IPAM plugin %s returned %zu addresses; a vswitch port has exactly one "
                    "IPv4 address", conf->ipam_type, ipres.n_ips);
        error = -EINVAL;
        goto out;
    }
    ip = ipres.ips[0];
    if (!ip.gw) {
        ip.gw = switch_gateway(attach);
    }
    pod.mac = addr_mac_from_ip(ip.addr);
    pod.ips = &ip;
    pod.n_ips = 1;
    pod.routes = ipres.routes;
    pod.n_routes = ipres.n_routes;
    pod.gw = ip.gw;

    /* The veth pair. */
    error = link_create(host, netns_fd, &pod, err);
    if (error) {
        goto out;
    }
    linked = true;
    error = link_pod_configure(netns_fd, &pod, &pod_link, err);
    if (!error) {
        error = link_host_up(host, &host_link, err);
    }
    if (error) {
        goto out;
    }

    /* The port. */
    port = (struct attach_port) {
        .name = host, .ip = addr_ip_str(ip.addr, ip_s), .mac = addr_mac_str(pod.mac, mac_s),
        .container_id = env->container_id, .ifname = env->ifname,
        .pod_namespace = env->pod_namespace, .pod_name = env->pod_name,
    };
    port_tried = true;
    error = attach_port_add(attach, &port, err);
    if (error == -EEXIST && !reclaim_stale_port(attach, conf, &port)) {
        error = attach_port_add(attach, &port, err);
    }
    if (error) {
        goto out;
    }

    /* The result: the host end, the pod's end, its address on the pod's end. */
    cni_result_add_iface(&res, host, addr_mac_str(host_link.mac, mac_s), NULL, conf->mtu);
    idx = cni_result_add_iface(&res, env->ifname, addr_mac_str(pod_link.mac, mac_s),
                               env->netns, conf->mtu);
    res.ips = xmalloc(sizeof *res.ips);
    res.ips[0] = ip;
    res.ips[0].iface = idx;
    res.n_ips = 1;
    res.routes = ipres.routes;
    res.n_routes = ipres.n_routes;
    ipres.routes = NULL;
    ipres.n_routes = 0;
    if (conf->dns && json_object_size(conf->dns)) {
        res.dns = json_incref(conf->dns);
    } else if (ipres.dns) {
        res.dns = json_incref(ipres.dns);
    }
    *out = cni_result_to_json(&res, conf->cni_version);
    LOG_INFO("ADD %s/%s: %s/%d on %s, port %s", env->container_id, env->ifname,
             addr_ip_str(ip.addr, ip_s), ip.prefix, env->ifname, host);

out:
    if (error) {
        struct cni_err undo;

        LOG_ERR("ADD %s/%s failed: %s; undoing it", env->container_id, env->ifname, err->msg);
        if (port_tried && err->code == CNI_ERR_TRY_AGAIN) {
            /* The request may have reached vswitchd before the connection failed. */
            struct attach *again;

            if (!attach_open(conf->ctl, 0, &again, &undo)) {
                attach_port_del(again, host, &undo);
                attach_close(again);
            }
        }
        if (linked && link_delete(host, &undo) && undo.code) {
            LOG_ERR("undo: %s", undo.msg);
        }
        if (leased && ipam_exec(&ipam, "DEL", NULL, NULL, &undo)) {
            LOG_ERR("undo: %s", undo.msg);
        }
    }
    json_decref(ipam_out);
    cni_result_destroy(&ipres);
    cni_result_destroy(&res);
    ipam_destroy(&ipam);
    attach_close(attach);
    if (netns_fd >= 0) {
        close(netns_fd);
    }
    return error;
}

/* ---- DEL ---- */

static int cmd_del(const struct cni_env *env, struct netconf *conf, struct cni_err *err)
{
    struct cni_err first = { 0 }, e;
    struct attach *attach = NULL;
    struct ipam ipam;
    char host[IF_NAMESIZE];
    int error;

    link_host_name(conf->name, env->container_id, env->ifname, host);

    /* The port.  vswitchd being down must not block a DEL: the port stays stored, without
     * its veth, until GC or the ADD that needs its IP removes it. */
    if (attach_open(conf->ctl, 0, &attach, &e)) {
        LOG_WARN("DEL %s/%s: %s; port %s stays in the switch until GC", env->container_id,
                 env->ifname, e.msg, host);
    } else {
        error = attach_port_del(attach, host, &e);
        if (error == -ENOENT) {
            LOG_DBG("port %s was not attached", host);
        } else if (error) {
            keep_first(&first, &e);
        }
        attach_close(attach);
    }

    /* The veth (both ends). */
    error = link_delete(host, &e);
    if (error == -ENODEV) {
        LOG_DBG("host interface %s was not there", host);
    } else if (error) {
        keep_first(&first, &e);
    }

    /* The lease. */
    if (ipam_init(&ipam, env->path, conf->ipam_type, conf->root, &e)
        || ipam_exec(&ipam, "DEL", NULL, NULL, &e)) {
        keep_first(&first, &e);
    }
    ipam_destroy(&ipam);

    if (first.code) {
        *err = first;
        LOG_ERR("DEL %s/%s: %s", env->container_id, env->ifname, err->msg);
        return -EIO;
    }
    LOG_INFO("DEL %s/%s: port %s removed", env->container_id, env->ifname, host);
    return 0;
}

/* ---- CHECK ---- */

static int check_port(struct attach *attach, const char *host, const struct cni_env *env,
                      const struct cni_ip *ip, struct eth_addr mac, struct cni_err *err)
{
    Vswitch__Response *show;
    const Vswitch__Port *port;
    char ip_s[IP_STR_LEN], mac_s[ETH_STR_LEN];
    struct eth_addr port_mac;
    int error;

    error = attach_show(attach, &show, err);
    if (error) {
        return error;
    }
    port = attach_find_port(show, host);
    addr_ip_str(ip->addr, ip_s);
    addr_mac_str(mac, mac_s);
    error = -EINVAL;
    if (!port) {
        cni_err_set(err, CNI_ERR_CHECK, "port %s is not attached to vswitchd", host);
    } else if (strcmp(port->ip, ip_s)) {
        cni_err_set(err, CNI_ERR_CHECK, "port %s has IP address %s in vswitchd, expected %s",
                    host, port->ip, ip_s);
    } else if (!eth_addr_is_zero(mac) && (addr_parse_mac(port->mac, &port_mac)
                                          || !eth_addr_equals(port_mac, mac))) {
        cni_err_set(err, CNI_ERR_CHECK, "port %s has MAC %s in vswitchd, expected %s", host,
                    *port->mac ? port->mac : "(none)", mac_s);
    } else if (strcmp(port->container_id, env->container_id)
               || strcmp(port->ifname, env->ifname)) {
        cni_err_set(err, CNI_ERR_CHECK, "port %s belongs to %s/%s in vswitchd, expected %s/%s",
                    host, port->container_id, port->ifname, env->container_id, env->ifname);
    } else if (!port->up) {
        cni_err_set(err, CNI_ERR_CHECK, "port %s is down in vswitchd", host);
    } else {
        error = 0;
    }
    ctl_msg_response_free(show);
    return error;
}

static int cmd_check(const struct cni_env *env, struct netconf *conf, struct cni_err *err)
{
    struct link_pod_conf pod = {
        .netns_path = env->netns, .ifname = env->ifname, .mtu = conf->mtu,
    };
    struct cni_result prev = { 0 };
    struct attach *attach = NULL;
    struct ipam ipam = { 0 };
    struct cni_ip *ips = NULL;
    char host[IF_NAMESIZE];
    int netns_fd = -1, error, idx = -1;

    if (cni_version_cmp(conf->cni_version, "0.4.0") < 0) {
        cni_err_set(err, CNI_ERR_INCOMPATIBLE_VERSION, "CHECK is not defined for cniVersion "
                    "%s (it needs 0.4.0 or later)", conf->cni_version);
        return -EINVAL;
    }
    if (!conf->prev_result) {
        cni_err_set(err, CNI_ERR_INVALID_CONFIG, "network configuration: CHECK needs "
                    "\"prevResult\"");
        return -EINVAL;
    }
    link_host_name(conf->name, env->container_id, env->ifname, host);
    error = cni_result_parse(conf->prev_result, conf->cni_version, "prevResult", &prev, err);
    if (error) {
        goto out;
    }
    for (size_t i = 0; i < prev.n_ifaces && idx < 0; i++) {
        if (!strcmp(prev.ifaces[i].name, env->ifname) && prev.ifaces[i].sandbox) {
            idx = i;
        }
    }
    if (idx < 0) {
        cni_err_set(err, CNI_ERR_CHECK, "prevResult has no interface %s in a sandbox",
                    env->ifname);
        error = -EINVAL;
        goto out;
    }
    ips = xcalloc(prev.n_ips + 1, sizeof *ips);
    for (size_t i = 0; i < prev.n_ips; i++) {
        if (prev.ips[i].iface == idx) {
            ips[pod.n_ips++] = prev.ips[i];
        }
    }
    if (pod.n_ips != 1) {
        cni_err_set(err, CNI_ERR_CHECK, "prevResult has %zu addresses on %s; vswitch gives "
                    "exactly one", pod.n_ips, env->ifname);
        error = -EINVAL;
        goto out;
    }
    if (prev.ifaces[idx].mac && addr_parse_mac(prev.ifaces[idx].mac, &pod.mac)) {
        cni_err_set(err, CNI_ERR_CHECK, "prevResult: interface %s has an invalid MAC \"%s\"",
                    env->ifname, prev.ifaces[idx].mac);
        error = -EINVAL;
        goto out;
    }
    pod.ips = ips;
    pod.routes = prev.routes;
    pod.n_routes = prev.n_routes;
    pod.gw = ips[0].gw;

    /* The lease first, as the reference plugins do. */
    error = ipam_init(&ipam, env->path, conf->ipam_type, conf->root, err);
    if (!error) {
        error = ipam_exec(&ipam, "CHECK", NULL, NULL, err);
    }
    if (!error) {
        error = netns_open(env->netns, &netns_fd, err);
    }
    if (!error) {
        error = link_check(host, netns_fd, &pod, err);
    }
    if (!error) {
        error = attach_open(conf->ctl, 0, &attach, err);
    }
    if (!error) {
        error = check_port(attach, host, env, &ips[0], pod.mac, err);
    }
    if (!error) {
        LOG_INFO("CHECK %s/%s: ok", env->container_id, env->ifname);
    }

out:
    if (error) {
        LOG_ERR("CHECK %s/%s: %s", env->container_id, env->ifname, err->msg);
    }
    free(ips);
    cni_result_destroy(&prev);
    ipam_destroy(&ipam);
    attach_close(attach);
    if (netns_fd >= 0) {
        close(netns_fd);
    }
    return error;
}

/* ---- STATUS ---- */

static int cmd_status(const struct cni_env *env, struct netconf *conf, struct cni_err *err)
{
    Vswitch__Response *show;
    struct attach *attach;
    struct ipam ipam;
    int error;

    error = attach_open(conf->ctl, 0, &attach, err);
    if (!error) {
        error = attach_show(attach, &show, err);
        if (!error) {
            ctl_msg_response_free(show);
        }
        attach_close(attach);
    }
    if (error) {
        char msg[sizeof err->msg];

        str_copy(msg, err->msg, sizeof msg);
        cni_err_set(err, CNI_ERR_NOT_AVAILABLE, "vswitchd is not available: %s", msg);
        return error;
    }
    /* An IPAM plugin that speaks CNI 1.1 has its own say. */
    if (env->path && !ipam_init(&ipam, env->path, conf->ipam_type, conf->root, err)) {
        if (ipam_supports(&ipam, "1.1.0")) {
            error = ipam_exec(&ipam, "STATUS", NULL, NULL, err);
        }
        ipam_destroy(&ipam);
    }
    return error;
}

/* ---- GC ---- */

static bool attachment_valid(const struct netconf *conf, const char *container_id,
                             const char *ifname)
{
    for (size_t i = 0; i < conf->n_valid_attachments; i++) {
        const struct netconf_attachment *a = &conf->valid_attachments[i];

        if (!strcmp(a->container_id, container_id) && !strcmp(a->ifname, ifname)) {
            return true;
        }
    }
    return false;
}

static int cmd_gc(const struct cni_env *env, struct netconf *conf, struct cni_err *err)
{
    struct cni_err first = { 0 }, e;
    Vswitch__Response *show = NULL;
    struct attach *attach = NULL;
    struct ipam ipam = { 0 };
    const Vswitch__Port **stale = NULL;
    size_t n_stale = 0;
    int error;

    if (cni_version_cmp(conf->cni_version, "1.1.0") < 0) {
        cni_err_set(err, CNI_ERR_INCOMPATIBLE_VERSION, "GC is not defined for cniVersion %s "
                    "(it needs 1.1.0 or later)", conf->cni_version);
        return -EINVAL;
    }
    if (!conf->has_valid_attachments) {
        cni_err_set(err, CNI_ERR_INVALID_CONFIG, "network configuration: GC needs "
                    "\"cni.dev/valid-attachments\"");
        return -EINVAL;
    }
    error = attach_open(conf->ctl, 0, &attach, err);
    if (!error) {
        error = attach_show(attach, &show, err);
    }
    if (!error) {
        error = ipam_init(&ipam, env->path, conf->ipam_type, conf->root, err);
    }
    if (error) {
        goto out;
    }

    /* Ports of this network (their name is ours for their container and interface) whose
     * attachment the runtime no longer knows. */
    stale = xcalloc(show->show->n_ports + 1, sizeof *stale);
    for (size_t i = 0; i < show->show->n_ports; i++) {
        const Vswitch__Port *p = show->show->ports[i];
        char expected[IF_NAMESIZE];
        int ret;

        if (!*p->container_id || !*p->ifname) {
            continue;
        }
        link_host_name(conf->name, p->container_id, p->ifname, expected);
        if (strcmp(expected, p->name) || attachment_valid(conf, p->container_id, p->ifname)) {
            continue;
        }
        LOG_INFO("GC: removing port %s of %s/%s (%s)", p->name, p->container_id, p->ifname,
                 p->ip);
        ret = attach_port_del(attach, p->name, &e);
        if (ret && ret != -ENOENT) {
            keep_first(&first, &e);
            continue;
        }
        ret = link_delete(p->name, &e);
        if (ret && ret != -ENODEV) {
            keep_first(&first, &e);
        }
        stale[n_stale++] = p;
    }

    /* The leases: GC by the IPAM plugin itself when it can, else a DEL per attachment. */
    if (ipam_supports(&ipam, "1.1.0")) {
        if (ipam_exec(&ipam, "GC", NULL, NULL, &e)) {
            keep_first(&first, &e);
        }
    } else {
        for (size_t i = 0; i < n_stale; i++) {
            char id[300], ifname[64];
            const char *vars[] = { id, ifname, "CNI_NETNS=", NULL };

            snprintf(id, sizeof id, "CNI_CONTAINERID=%s", stale[i]->container_id);
            snprintf(ifname, sizeof ifname, "CNI_IFNAME=%s", stale[i]->ifname);
            if (ipam_exec(&ipam, "DEL", vars, NULL, &e)) {
                keep_first(&first, &e);
            }
        }
    }
    LOG_INFO("GC: %zu stale attachment(s) removed", n_stale);
    if (first.code) {
        *err = first;
        error = -EIO;
    }

out:
    if (error) {
        LOG_ERR("GC: %s", err->msg);
    }
    free(stale);
    ctl_msg_response_free(show);
    ipam_destroy(&ipam);
    attach_close(attach);
    return error;
}

int plugin_run(const struct cni_env *env, struct netconf *conf, json_t **out,
               struct cni_err *err)
{
    *out = NULL;
    switch (env->command) {
    case CNI_CMD_ADD:
        return cmd_add(env, conf, out, err);
    case CNI_CMD_DEL:
        return cmd_del(env, conf, err);
    case CNI_CMD_CHECK:
        return cmd_check(env, conf, err);
    case CNI_CMD_STATUS:
        return cmd_status(env, conf, err);
    case CNI_CMD_GC:
        return cmd_gc(env, conf, err);
    case CNI_CMD_VERSION:
    default:
        *out = cni_version_info(conf->cni_version);
        return 0;
    }
}
