/* A datapath test scene: one node's datapath on dummy ports (OVS netdev-dummy), set up in a
 * few calls, for the datapath unit tests and the packet fuzz targets.  The scene makes the
 * datapath, adds pods, peers and services, injects frames built by pkt-builder and collects
 * what the datapath sent on any of its ports.
 *
 * It depends on no test framework, since the fuzz targets use it too: a setup step that
 * fails says why on stderr and returns an error for the caller to check (a unit test asserts
 * it, a fuzz target aborts); only a malformed constant of the test's own aborts. */
#ifndef TESTS_UNIT_SCENE_H
#define TESTS_UNIT_SCENE_H 1

#include <linux/virtio_net.h>
#include <net/if.h>
#include <stddef.h>
#include <stdint.h>

#include "dp/dp.h"
#include "pkt-builder.h"

#define SCENE_MAX_PORTS 16

struct scene {
    struct dp *dp;
    size_t n_ports;
    char ports[SCENE_MAX_PORTS][IF_NAMESIZE];  /* The host port first, then the pods. */
};

/* A service: the policy for 'vip', balanced over 'backends'. */
struct scene_service {
    const char *vip;                /* "10.96.0.10:80/tcp" (or /udp). */
    const char *backends;           /* "10.244.1.6:8080 10.244.1.7:8080"; NULL: none. */
    bool snat;                      /* Not DSR: the client is SNAT'd to the gateway. */
    uint32_t affinity;              /* ClientIP affinity timeout in seconds; 0: none. */
    const char *name;               /* NULL: "LB_TEST". */
};

/* Makes a datapath from 'cfg' (NULL: all defaults) with a dummy host port "vsw0": a zero
 * pod_cidr means 10.244.1.0/24, a zero gateway the CIDR's first address, a zero router MAC
 * the gateway's.  Logs only warnings and worse.  The thread is not started: every frame
 * injected runs synchronously in the caller's thread.  NULL if dp_create() failed. */
struct scene *scene_new(const struct dp_config *cfg);
/* Destroys the datapath.  Accepts NULL. */
void scene_free(struct scene *);

/* Each returns 0 or the datapath's negative errno. */
/* Adds the dummy pod port 'name' holding 'ip', with 'mac' (NULL: learned from its first
 * frame). */
int scene_port(struct scene *, const char *name, const char *ip, const char *mac);
/* Deletes the port 'name'. */
int scene_port_del(struct scene *, const char *name);
/* Declares the overlay peer 'node_ip' owning 'pod_cidr'. */
int scene_peer(struct scene *, const char *node_ip, const char *pod_cidr);
/* Creates or replaces the policy of 'svc'. */
int scene_service(struct scene *, const struct scene_service *svc);

/* Builds the frame 'spec' describes and runs it through the pipeline as received on 'port'
 * with 'vnet' (NULL: none).  Returns dp_inject()'s verdict: 0 forwarded, a drop reason, or a
 * negative errno. */
int scene_inject(struct scene *, const char *port, const struct pkt_spec *spec,
                 const struct virtio_net_hdr *vnet);
/* Takes the next frame the datapath sent on any of the scene's ports, the host port first:
 * its length, with the port in '*port' (if not NULL) and the virtio-net header in '*vnet'
 * (if not NULL); -EAGAIN when none is left. */
int scene_take(struct scene *, uint8_t *buf, size_t size, const char **port,
               struct virtio_net_hdr *vnet);
/* Discards every frame sent; returns how many there were. */
int scene_drain(struct scene *);
/* The switch-wide counter of drop 'reason'. */
uint64_t scene_drops(struct scene *, enum drop_reason reason);

/* The address in 's' (a test's constant, so a parse failure aborts). */
be32 scene_ip(const char *s);

#endif
