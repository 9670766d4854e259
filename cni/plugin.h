/* The plugin's verbs: ADD, DEL, CHECK, STATUS and GC, each given the parsed environment and
 * network configuration (VERSION needs neither and is answered by main.c).
 *
 * ADD   checks CNI_IFNAME is free in the pod and that vswitchd answers, takes an address
 *       from the IPAM plugin, creates the veth pair (pod end directly in the pod's
 *       namespace, MAC 0a:58:<IP>, the configured MTU), puts the address and the routes on
 *       it, sets both ends up and attaches the host end to vswitchd with the pod's IP, MAC,
 *       container ID, interface name and Kubernetes name.  Any failure undoes every step
 *       already done, in reverse: port, veth, IPAM lease.
 * DEL   detaches the port, deletes the veth and releases the lease; each step tolerates
 *       finding nothing to do, and vswitchd being down (GC removes the port later).
 * CHECK checks the lease (IPAM CHECK), the pod's interface, the host end and the port
 *       against prevResult.
 * STATUS answers whether vswitchd does (and the IPAM plugin, when it speaks CNI 1.1).
 * GC    detaches the ports of this network whose attachment is not in
 *       cni.dev/valid-attachments, deletes their veths, and has the IPAM plugin release
 *       their leases (GC when it speaks CNI 1.1, else a DEL per removed attachment). */
#ifndef CNI_PLUGIN_H
#define CNI_PLUGIN_H 1

#include <jansson.h>

#include "cni/cni-error.h"
#include "cni/env.h"
#include "cni/netconf.h"

/* Runs the verb of 'env'.  Returns 0 with '*out' set to what to print on stdout (NULL:
 * nothing), or a negative errno with 'err' set. */
int plugin_run(const struct cni_env *env, struct netconf *conf, json_t **out,
               struct cni_err *err);

#endif
