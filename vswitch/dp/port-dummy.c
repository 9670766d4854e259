/* Dummy ports: no device behind them.  Tests inject frames with dp_inject() and read what the
 * switch sent with dp_dummy_take(), so the whole pipeline runs without root or namespaces
 * (OVS netdev-dummy).  Sent frames are kept in a small ring; the oldest is overwritten. */
#include <errno.h>
#include <stdlib.h>

#include "dp/port-dummy.h"
#include "dp/port-provider.h"
#include "lib/util.h"

#define DUMMY_RING 64
#define DUMMY_SLOT (PACKET_MAX_FRAME)

struct dummy_priv {
    uint8_t *frames;                /* DUMMY_RING slots of DUMMY_SLOT bytes. */
    uint32_t lens[DUMMY_RING];
    struct virtio_net_hdr vnets[DUMMY_RING];
    unsigned int head, count;
};

static int dummy_open(struct port *port, bool create, char *err, size_t errlen)
{
    struct dummy_priv *priv = xcalloc(1, sizeof *priv);

    priv->frames = xmalloc((size_t) DUMMY_RING * DUMMY_SLOT);
    port->priv = priv;
    port->fd = -1;
    return 0;
}

static void dummy_close(struct port *port, bool remove)
{
    struct dummy_priv *priv = port->priv;

    if (priv) {
        free(priv->frames);
        free(priv);
    }
}

static int dummy_recv(struct port *port, struct packet *pkts[], int max)
{
    return 0;
}

static int dummy_send(struct port *port, struct packet *pkts[], int n)
{
    struct dummy_priv *priv = port->priv;

    for (int i = 0; i < n; i++) {
        unsigned int slot = (priv->head + priv->count) % DUMMY_RING;

        if (priv->count == DUMMY_RING) {
            priv->head = (priv->head + 1) % DUMMY_RING;
        } else {
            priv->count++;
        }
        priv->lens[slot] = pkts[i]->len;
        priv->vnets[slot] = pkts[i]->vnet;
        memcpy(priv->frames + (size_t) slot * DUMMY_SLOT, pkts[i]->data, pkts[i]->len);
    }
    return n;
}

int port_dummy_take(struct port *port, void *buf, size_t size, struct virtio_net_hdr *vnet)
{
    struct dummy_priv *priv = port->priv;
    unsigned int slot;
    size_t len;

    if (port->class != &port_dummy_class) {
        return -EINVAL;
    }
    if (!priv->count) {
        return -EAGAIN;
    }
    slot = priv->head;
    priv->head = (priv->head + 1) % DUMMY_RING;
    priv->count--;
    len = MIN(priv->lens[slot], size);
    memcpy(buf, priv->frames + (size_t) slot * DUMMY_SLOT, len);
    if (vnet) {
        *vnet = priv->vnets[slot];
    }
    return len;
}

const struct port_class port_dummy_class = {
    .type = DP_PORT_DUMMY,
    .open = dummy_open,
    .close = dummy_close,
    .recv = dummy_recv,
    .send = dummy_send,
};
