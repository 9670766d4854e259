/* The overlay suites' scene; see vxlan-peer.h. */
#include "vxlan-peer.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

struct vxlan_scene vx = { .peer_sock = -1 };

struct scene *vxlan_node(const char *node_ip, const struct dp_config *cfg_)
{
    struct dp_config cfg = cfg_ ? *cfg_ : (struct dp_config) { 0 };
    struct scene *s;

    cfg.vni = 42;
    cfg.node_ip = scene_ip(node_ip);
    cfg.vxlan_port = vx.port;
    s = scene_new(&cfg);
    cr_assert_not_null(s);
    cr_assert_eq(scene_port(s, "pod", "10.244.1.5", POD_MAC), 0);
    cr_assert_eq(scene_peer(s, "127.0.0.2", "10.244.2.0/24"), 0);
    return s;
}

static void setup(bool remote_csum)
{
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = scene_ip("127.0.0.2") };
    socklen_t slen = sizeof sin;

    /* The peer's socket first: its kernel-chosen port is the overlay's port on both ends. */
    vx.peer_sock = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    cr_assert(vx.peer_sock >= 0);
    cr_assert_eq(bind(vx.peer_sock, (struct sockaddr *) &sin, sizeof sin), 0);
    getsockname(vx.peer_sock, (struct sockaddr *) &sin, &slen);
    vx.port = ntohs(sin.sin_port);
    vx.node = vxlan_node("127.0.0.1", &(struct dp_config) { .vxlan_rco = remote_csum });
}

void vxlan_setup(void)
{
    setup(false);
}

void vxlan_setup_rco(void)
{
    setup(true);
}

void vxlan_teardown(void)
{
    scene_free(vx.node);
    close(vx.peer_sock);
}

int peer_next(uint8_t *buf, size_t size, int wait_ms)
{
    struct pollfd pfd = { .fd = vx.peer_sock, .events = POLLIN };

    return poll(&pfd, 1, wait_ms) == 1 ? (int) recv(vx.peer_sock, buf, size, 0) : -1;
}

int peer_receive(uint8_t *buf, size_t size)
{
    int n = peer_next(buf, size, 2000);

    cr_assert_geq(n, 0, "nothing reached the peer");
    return n;
}

void peer_send_with(const char *from, const uint8_t header[VXLAN_HDR_LEN], const uint8_t *inner,
                    size_t len)
{
    struct sockaddr_in src = { .sin_family = AF_INET, .sin_addr.s_addr = scene_ip(from) };
    struct sockaddr_in dst = { .sin_family = AF_INET, .sin_port = htons(vx.port),
                               .sin_addr.s_addr = scene_ip("127.0.0.1") };
    struct iovec iov[2] = { { (void *) header, VXLAN_HDR_LEN }, { (void *) inner, len } };
    struct msghdr msg = { .msg_name = &dst, .msg_namelen = sizeof dst, .msg_iov = iov,
                          .msg_iovlen = 2 };
    int fd = socket(AF_INET, SOCK_DGRAM, 0);

    cr_assert_eq(bind(fd, (struct sockaddr *) &src, sizeof src), 0);
    cr_assert_eq(sendmsg(fd, &msg, 0), (ssize_t) (VXLAN_HDR_LEN + len));
    close(fd);
}

void peer_send(const char *from, uint32_t vni, const uint8_t *inner, size_t len)
{
    const uint8_t header[VXLAN_HDR_LEN] = { VXLAN_FLAG_VNI, 0, 0, 0, vni >> 16, vni >> 8, vni };

    peer_send_with(from, header, inner, len);
}

int inject_gso_frame(size_t payload, uint16_t gso_size)
{
    struct pkt_spec spec = { .eth_src = POD_MAC, .eth_dst = ROUTER, .ip_src = "10.244.1.5",
                             .ip_dst = "10.244.2.7", .sport = 1000, .dport = 2000,
                             .tcp_flags = TCP_ACK, .payload = payload };
    struct virtio_net_hdr vnet = {
        .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
        .gso_size = gso_size, .csum_start = 34, .csum_offset = 16,
    };

    return scene_inject(vx.node, "pod", &spec, &vnet);
}

int wait_take(const char *port, uint8_t *buf, size_t size, struct virtio_net_hdr *vnet)
{
    for (int i = 0; i < 200; i++) {
        int r = dp_dummy_take(vx.node->dp, port, buf, size, vnet);

        if (r >= 0) {
            return r;
        }
        usleep(10000);
    }
    return -EAGAIN;
}
