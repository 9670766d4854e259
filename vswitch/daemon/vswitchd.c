/* What every part of vswitchd that configures the host port needs first: its ifindex and a
 * netlink socket (main.c puts the gateway address on it, node-routes.c routes through it). */
#include "daemon/vswitchd.h"

#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>

#include "lib/netlink.h"

int vswitchd_host_port_open(unsigned int *ifindex, struct nl_sock **nl, char *err,
                            size_t errlen)
{
    char nl_err[256];
    int error;

    *nl = NULL;
    *ifindex = if_nametoindex(VSWITCHD_HOST_PORT);
    if (!*ifindex) {
        error = errno;
        snprintf(err, errlen, "host port %s: %s", VSWITCHD_HOST_PORT, strerror(error));
        return -error;
    }
    error = nl_open(nl, nl_err, sizeof nl_err);
    if (error) {
        snprintf(err, errlen, "host port %s: %s", VSWITCHD_HOST_PORT, nl_err);
    }
    return error;
}
