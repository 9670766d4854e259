/* For implementers of a port class (veth via AF_PACKET, TAP, dummy, VXLAN).  The datapath calls
 * these through port.h only. */
#ifndef VSWITCH_DP_PORT_PROVIDER_H
#define VSWITCH_DP_PORT_PROVIDER_H 1

#include "dp/port.h"

struct port_class {
    enum dp_port_type type;
    /* Open the device called port->name (creating it if the class can and 'create' is set);
     * set port->fd (pollable for input, or -1), port->mac if the device has one of its own,
     * and anything in port->priv.  Control thread. */
    int (*open)(struct port *, bool create, char *err, size_t errlen);
    /* Release everything open() took; delete the device when 'remove' and port->created. */
    void (*close)(struct port *, bool remove);
    /* See port_recv() and port_send(). Datapath thread. */
    int (*recv)(struct port *, struct packet *pkts[], int max);
    int (*send)(struct port *, struct packet *pkts[], int n);
};

/* Sends msgs[0, n) with sendmmsg, without blocking.  sendmmsg stops at the first message
 * that fails: that packet is dropped (its drop_reason set, out_port cleared) and the ones
 * after it still get their chance.  pkts[i] is the packet of msgs[i].  Returns how many
 * left. */
int port_sendmmsg(int fd, struct mmsghdr *msgs, struct packet *pkts[], int n);

/* Drops 'pkt', which a send failed with 'error' (an errno value): a full queue (EAGAIN,
 * ENOBUFS) is DROP_TX_FULL, anything else DROP_TX_ERROR. */
void port_tx_failed(struct packet *pkt, int error);

extern const struct port_class port_veth_class;
extern const struct port_class port_tap_class;
extern const struct port_class port_dummy_class;
extern const struct port_class port_vxlan_class;

#endif
