/* Dummy ports for tests; see port-dummy.c. */
#ifndef VSWITCH_DP_PORT_DUMMY_H
#define VSWITCH_DP_PORT_DUMMY_H 1

#include <linux/virtio_net.h>
#include <stddef.h>

struct port;

/* Takes the oldest frame sent on dummy 'port' into 'buf'.  Returns its length (truncated to
 * 'size'), -EAGAIN when none is left, -EINVAL for a port that is not a dummy. */
int port_dummy_take(struct port *port, void *buf, size_t size, struct virtio_net_hdr *vnet);

#endif
