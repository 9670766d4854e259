/* Switch ports; see attach.h. */
#include "cni/attach.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/ctl-client.h"
#include "lib/ctl-msg.h"
#include "lib/util.h"

#define LOG_MODULE "cni"
#include "lib/log.h"

struct attach {
    struct ctl_client *client;
    char *ctl;
};

int attach_open(const char *ctl, int wait_ms, struct attach **attachp, struct cni_err *err)
{
    struct ctl_client *client;
    struct attach *attach;
    uint64_t deadline = time_msec() + (wait_ms > 0 ? wait_ms : 0);
    bool waited = false;
    char msg[512];
    int error;

    *attachp = NULL;
    for (;;) {
        error = ctl_client_connect(ctl, ATTACH_TIMEOUT_MS, &client, msg, sizeof msg);
        /* Only "not there yet" is waited for; any other failure will not pass by itself. */
        if (!error || (error != -ENOENT && error != -ECONNREFUSED) ||
            time_msec() >= deadline) {
            break;
        }
        if (!waited) {
            LOG_INFO("%s: waiting up to %d ms for vswitchd to start", msg, wait_ms);
            waited = true;
        }
        usleep(100 * 1000);
    }
    if (error) {
        if (waited) {
            cni_err_set(err, CNI_ERR_TRY_AGAIN, "%s; vswitchd did not start within %d ms",
                        msg, wait_ms);
        } else {
            cni_err_set(err, CNI_ERR_TRY_AGAIN, "%s", msg);
        }
        return error;
    }
    if (waited) {
        LOG_INFO("vswitchd answers on %s", ctl);
    }
    attach = xmalloc(sizeof *attach);
    attach->client = client;
    attach->ctl = xstrdup(ctl);
    *attachp = attach;
    return 0;
}

void attach_close(struct attach *attach)
{
    if (attach) {
        ctl_client_close(attach->client);
        free(attach->ctl);
        free(attach);
    }
}

/* One request.  A failed exchange is code 11 (the daemon went away: try again); a refusal,
 * code 102 with the daemon's message.  Returns 0 with '*resp' (caller frees), or -errno. */
static int transact(struct attach *attach, const Vswitch__Request *req, const char *what,
                    Vswitch__Response **resp, struct cni_err *err)
{
    char msg[512];
    int error;

    error = ctl_client_transact(attach->client, req, resp, msg, sizeof msg);
    if (error) {
        cni_err_set(err, CNI_ERR_TRY_AGAIN, "%s: %s", what, msg);
        return error;
    }
    if ((*resp)->status) {
        error = -(*resp)->status;
        cni_err_set(err, CNI_ERR_SWITCH, "%s: vswitchd: %s", what,
                    *(*resp)->error ? (*resp)->error : strerror((*resp)->status));
        ctl_msg_response_free(*resp);
        *resp = NULL;
    }
    return error;
}

/* The protocol wants "" rather than NULL for an absent string. */
static char *str_or_empty(const char *s)
{
    return (char *) (s ? s : "");
}

int attach_port_add(struct attach *attach, const struct attach_port *port,
                    struct cni_err *err)
{
    Vswitch__Request req = VSWITCH__REQUEST__INIT;
    Vswitch__AddPort add = VSWITCH__ADD_PORT__INIT;
    Vswitch__Response *resp;
    char what[64];
    int error;

    add.name = str_or_empty(port->name);
    add.ip = str_or_empty(port->ip);
    add.mac = str_or_empty(port->mac);
    add.type = "veth";
    add.pod_namespace = str_or_empty(port->pod_namespace);
    add.pod_name = str_or_empty(port->pod_name);
    add.container_id = str_or_empty(port->container_id);
    add.ifname = str_or_empty(port->ifname);
    req.command_case = VSWITCH__REQUEST__COMMAND_ADD_PORT;
    req.add_port = &add;
    snprintf(what, sizeof what, "cannot attach port %s", port->name);
    error = transact(attach, &req, what, &resp, err);
    ctl_msg_response_free(resp);
    return error;
}

int attach_port_del(struct attach *attach, const char *name, struct cni_err *err)
{
    Vswitch__Request req = VSWITCH__REQUEST__INIT;
    Vswitch__DelPort del = VSWITCH__DEL_PORT__INIT;
    Vswitch__Response *resp;
    char what[64];
    int error;

    del.name = (char *) name;
    req.command_case = VSWITCH__REQUEST__COMMAND_DEL_PORT;
    req.del_port = &del;
    snprintf(what, sizeof what, "cannot detach port %s", name);
    error = transact(attach, &req, what, &resp, err);
    ctl_msg_response_free(resp);
    return error;
}

int attach_show(struct attach *attach, Vswitch__Response **show, struct cni_err *err)
{
    Vswitch__Request req = VSWITCH__REQUEST__INIT;
    Vswitch__Show cmd = VSWITCH__SHOW__INIT;
    int error;

    req.command_case = VSWITCH__REQUEST__COMMAND_SHOW;
    req.show = &cmd;
    error = transact(attach, &req, "cannot list the switch's ports", show, err);
    if (!error && (*show)->reply_case != VSWITCH__RESPONSE__REPLY_SHOW) {
        cni_err_set(err, CNI_ERR_SWITCH, "cannot list the switch's ports: vswitchd sent no "
                    "port list");
        ctl_msg_response_free(*show);
        *show = NULL;
        error = -EPROTO;
    }
    return error;
}

const Vswitch__Port *attach_find_port(const Vswitch__Response *show, const char *name)
{
    for (size_t i = 0; show && show->show && i < show->show->n_ports; i++) {
        if (!strcmp(show->show->ports[i]->name, name)) {
            return show->show->ports[i];
        }
    }
    return NULL;
}
