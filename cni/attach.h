/* The switch's side of an attachment: the pod port in vswitchd, through the control
 * protocol (proto/vswitch.proto) and the one client library, lib/ctl-client.h.
 *
 * A connection is opened once per plugin call and carries every request of it.  Failing to
 * reach vswitchd is code 11 ("try again later": the runtime retries the ADD); vswitchd
 * refusing a request is code 102 with its own message. */
#ifndef CNI_ATTACH_H
#define CNI_ATTACH_H 1

#include "cni/cni-error.h"
#include "proto/vswitch.pb-c.h"

/* How long one request to vswitchd may take. */
#define ATTACH_TIMEOUT_MS 10000

struct attach;

/* How long an ADD waits for vswitchd to come up: kubelet starts pods on a node as soon as the
 * conflist exists, which the DaemonSet's init container writes before vswitchd listens (and
 * while vswitchd restarts). */
#define ATTACH_START_WAIT_MS 10000

/* Connects to vswitchd at 'ctl'.  While the socket is absent or refuses (vswitchd starting),
 * tries again every 100 ms for up to 'wait_ms' (0: once).  Returns 0, or a negative errno
 * with 'err' set (code 11). */
int attach_open(const char *ctl, int wait_ms, struct attach **attach, struct cni_err *err);
/* Accepts NULL. */
void attach_close(struct attach *attach);

struct attach_port {
    const char *name;           /* The host end of the veth. */
    const char *ip;
    const char *mac;
    const char *container_id;
    const char *ifname;
    const char *pod_namespace;  /* May be NULL. */
    const char *pod_name;       /* May be NULL. */
};

/* Attaches the port.  Returns 0, or a negative errno with 'err' set: -EEXIST when the name
 * or the IP is taken (vswitchd's message says by what). */
int attach_port_add(struct attach *attach, const struct attach_port *port,
                    struct cni_err *err);

/* Detaches port 'name'.  Returns 0, -ENOENT if there is no such port, or another negative
 * errno with 'err' set. */
int attach_port_del(struct attach *attach, const char *name, struct cni_err *err);

/* The switch's ports ("show").  On success '*show' is set: free it with
 * ctl_msg_response_free(). */
int attach_show(struct attach *attach, Vswitch__Response **show, struct cni_err *err);

/* The port named 'name' in 'show', or NULL. */
const Vswitch__Port *attach_find_port(const Vswitch__Response *show, const char *name);

#endif
