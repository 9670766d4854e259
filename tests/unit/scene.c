/* The datapath test scene; see scene.h. */
#include "scene.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dp/net-headers.h"
#include "dp/packet.h"
#include "lib/addr.h"
#include "lib/log.h"

static void die(const char *what, const char *why)
{
    fprintf(stderr, "scene: %s: %s\n", what, why);
    abort();
}

/* Says why a step failed; returns 'error'. */
static int failed(int error, const char *what, const char *why)
{
    if (error) {
        fprintf(stderr, "scene: %s: %s\n", what, why);
    }
    return error;
}

be32 scene_ip(const char *s)
{
    be32 ip;

    if (addr_parse_ip(s, &ip)) {
        die("not an IPv4 address", s);
    }
    return ip;
}

static void add_port_name(struct scene *s, const char *name)
{
    if (s->n_ports == SCENE_MAX_PORTS) {
        die("too many ports", name);
    }
    snprintf(s->ports[s->n_ports++], IF_NAMESIZE, "%s", name);
}

struct scene *scene_new(const struct dp_config *cfg_)
{
    struct dp_config cfg = cfg_ ? *cfg_ : (struct dp_config) { 0 };
    struct scene *s = calloc(1, sizeof *s);
    char err[256];

    if (!s) {
        die("scene_new", "out of memory");
    }
    log_set_level(LOG_LVL_WARN);
    cfg.dummy_host = true;
    cfg.host_port = "vsw0";
    if (!cfg.pod_cidr.prefix && addr_parse_cidr("10.244.1.0/24", &cfg.pod_cidr)) {
        abort();
    }
    if (!cfg.gateway) {
        cfg.gateway = htonl(ntohl(cfg.pod_cidr.net) + 1);
    }
    if (eth_addr_is_zero(cfg.router_mac)) {
        cfg.router_mac = addr_mac_from_ip(cfg.gateway);
    }
    if (failed(dp_create(&cfg, &s->dp, err, sizeof err), "dp_create", err)) {
        free(s);
        return NULL;
    }
    add_port_name(s, cfg.host_port);
    return s;
}

void scene_free(struct scene *s)
{
    if (s) {
        dp_destroy(s->dp);
        free(s);
    }
}

int scene_port(struct scene *s, const char *name, const char *ip, const char *mac_str)
{
    struct eth_addr mac;
    char err[256];
    int error;

    if (mac_str && addr_parse_mac(mac_str, &mac)) {
        die("not a MAC address", mac_str);
    }
    error = dp_port_add(s->dp, name, DP_PORT_DUMMY, scene_ip(ip), mac_str ? &mac : NULL,
                        false, err, sizeof err);
    if (!failed(error, "dp_port_add", err)) {
        add_port_name(s, name);
    }
    return error;
}

int scene_port_del(struct scene *s, const char *name)
{
    int error = dp_port_del(s->dp, name);

    if (failed(error, "dp_port_del", name)) {
        return error;
    }
    for (size_t i = 0; i < s->n_ports; i++) {
        if (!strcmp(s->ports[i], name)) {
            memmove(s->ports[i], s->ports[i + 1], (s->n_ports - i - 1) * sizeof s->ports[0]);
            s->n_ports--;
            break;
        }
    }
    return 0;
}

int scene_peer(struct scene *s, const char *node_ip, const char *pod_cidr)
{
    struct cidr cidr;
    char err[256];

    if (addr_parse_cidr(pod_cidr, &cidr)) {
        die("not a CIDR", pod_cidr);
    }
    return failed(dp_peer_set(s->dp, scene_ip(node_ip), &cidr, err, sizeof err),
                  "dp_peer_set", err);
}

/* "IP:PORT/PROTO" into the spec's VIP, port and protocol. */
static void parse_vip(const char *vip, struct dp_lb_spec *spec)
{
    const char *slash = strchr(vip, '/');
    char addr[32];

    if (!slash || (size_t) (slash - vip) >= sizeof addr) {
        die("not IP:PORT/PROTO", vip);
    }
    memcpy(addr, vip, slash - vip);
    addr[slash - vip] = '\0';
    if (addr_parse_ip_port(addr, &spec->vip, &spec->port)) {
        die("not IP:PORT/PROTO", vip);
    }
    if (!strcmp(slash + 1, "tcp")) {
        spec->proto = IP_PROTO_TCP;
    } else if (!strcmp(slash + 1, "udp")) {
        spec->proto = IP_PROTO_UDP;
    } else {
        die("not IP:PORT/PROTO", vip);
    }
}

int scene_service(struct scene *s, const struct scene_service *svc)
{
    struct dp_lb_backend backends[16];
    struct dp_lb_spec spec = {
        .dsr = !svc->snat, .affinity_timeout = svc->affinity, .backends = backends,
    };
    char list[256], err[256], *save = NULL;

    parse_vip(svc->vip, &spec);
    snprintf(spec.name, sizeof spec.name, "%s", svc->name ? svc->name : "LB_TEST");
    snprintf(list, sizeof list, "%s", svc->backends ? svc->backends : "");
    for (char *b = strtok_r(list, " ", &save); b; b = strtok_r(NULL, " ", &save)) {
        if (spec.n_backends == sizeof backends / sizeof backends[0]) {
            die("too many backends", svc->backends);
        }
        if (addr_parse_ip_port(b, &backends[spec.n_backends].ip,
                               &backends[spec.n_backends].port)) {
            die("not IP:PORT", b);
        }
        spec.n_backends++;
    }
    return failed(dp_lb_set(s->dp, &spec, err, sizeof err), "dp_lb_set", err);
}

int scene_inject(struct scene *s, const char *port, const struct pkt_spec *spec,
                 const struct virtio_net_hdr *vnet)
{
    static uint8_t frame[PACKET_MAX_FRAME];
    /* Room for the headers (options and a VLAN tag included) and the payload: pkt_build()
     * clears what it is given, and most frames are small. */
    size_t room = MIN(sizeof frame, 128 + spec->payload);

    return dp_inject(s->dp, port, frame, pkt_build(spec, frame, room), vnet);
}

int scene_take(struct scene *s, uint8_t *buf, size_t size, const char **port,
               struct virtio_net_hdr *vnet)
{
    for (size_t i = 0; i < s->n_ports; i++) {
        int len = dp_dummy_take(s->dp, s->ports[i], buf, size, vnet);

        if (len >= 0) {
            if (port) {
                *port = s->ports[i];
            }
            return len;
        }
    }
    return -EAGAIN;
}

int scene_drain(struct scene *s)
{
    static uint8_t buf[PACKET_MAX_FRAME];
    int n = 0;

    while (scene_take(s, buf, sizeof buf, NULL, NULL) >= 0) {
        n++;
    }
    return n;
}

uint64_t scene_drops(struct scene *s, enum drop_reason reason)
{
    uint64_t drops[DROP_N_REASONS];

    dp_drop_stats(s->dp, drops);
    return drops[reason];
}
