/* The overlay suites' scene (test-vxlan*.c): this node's datapath with its VXLAN port on
 * loopback, 127.0.0.1, and a peer at 127.0.0.2 owning 10.244.2.0/24 whose UDP socket the
 * test reads and writes as the other node's switch would.  Real UDP sockets: no root needed. */
#ifndef TESTS_UNIT_VXLAN_PEER_H
#define TESTS_UNIT_VXLAN_PEER_H 1

#include <linux/virtio_net.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dp/net-headers.h"
#include "dp/port-vxlan.h"
#include "scene.h"

#define ROUTER "0a:58:0a:f4:01:01"
#define PEER_ROUTER "0a:58:0a:f4:02:01"
#define POD_MAC "02:00:00:00:01:05"
#define VIP "10.96.0.10"

struct vxlan_scene {
    struct scene *node;             /* 127.0.0.1, VNI 42, pod "pod" 10.244.1.5, the peer. */
    int peer_sock;                  /* The peer's socket on 127.0.0.2. */
    uint16_t port;                  /* The overlay's UDP port on both ends. */
};

/* The suite's scene: one per test (Criterion runs each in its own process). */
extern struct vxlan_scene vx;

/* Criterion .init and .fini: the scene without and with remote checksum offload. */
void vxlan_setup(void);
void vxlan_setup_rco(void);
void vxlan_teardown(void);

/* Another switch at 'node_ip' on this host beside vx.node, on the same port, with the pod and
 * the peer of vx.node, made from 'cfg' (NULL: defaults; VNI 42). */
struct scene *vxlan_node(const char *node_ip, const struct dp_config *cfg);

/* The next datagram at the peer, waited for up to 'wait_ms': its length, or -1 if none came. */
int peer_next(uint8_t *buf, size_t size, int wait_ms);
/* Waits up to 2 s for one datagram at the peer; returns its length, fails the test if none. */
int peer_receive(uint8_t *buf, size_t size);
/* Sends 'inner' from 'from' (an address of loopback) with the VXLAN header 'header'. */
void peer_send_with(const char *from, const uint8_t header[VXLAN_HDR_LEN], const uint8_t *inner,
                    size_t len);
/* The same with a plain header for 'vni'. */
void peer_send(const char *from, uint32_t vni, const uint8_t *inner, size_t len);
/* Injects into vx.node, as the pod sends it, a TCP frame of 'payload' bytes for the remote
 * pod 10.244.2.7 with a virtio-net header asking for segments of 'gso_size' bytes (its
 * checksum partial, as the pod's kernel leaves it); returns the verdict. */
int inject_gso_frame(size_t payload, uint16_t gso_size);
/* Waits up to 2 s for a frame on vx.node's dummy port 'port': its length, or -EAGAIN. */
int wait_take(const char *port, uint8_t *buf, size_t size, struct virtio_net_hdr *vnet);

#endif
