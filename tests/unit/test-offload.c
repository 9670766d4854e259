/* The fast path's loader (dp/offload.c) against the real kernel: maps pinned on a bpffs and
 * adopted by a second loader as by a restarted vswitchd, the tc attachment replaced in place,
 * and real frames through veths with the switch's AF_PACKET socket beside the program.
 *
 * Each test runs in its own process (Criterion forks), which unshares its own mount namespace
 * (a private bpffs) and network namespace (its veths), so nothing outside is touched and
 * everything goes when the process exits.  Root is needed; without it the tests fail. */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/ethtool.h>
#include <linux/if_packet.h>
#include <linux/pkt_cls.h>
#include <linux/sockios.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dp/csum.h"
#include "dp/net-headers.h"
#include "fastpath-helpers.h"
#include "lib/log.h"
#include "lib/netlink.h"

#define CLIENT_MAC "02:00:00:00:01:02"
#define BACKEND_MAC "02:00:00:00:01:03"
#define GW_MAC "0a:58:0a:f4:01:01"

static const struct pkt_spec client_to_vip = {
    .eth_src = CLIENT_MAC, .eth_dst = GW_MAC, .ip_src = "10.244.1.2", .ip_dst = "10.96.0.10",
    .sport = 40000, .dport = 80, .tcp_flags = TCP_ACK, .payload = 200,
};

static char bpffs[64];

/* A bpffs of this test's own, in a mount namespace of its own. */
static void private_bpffs(void)
{
    cr_assert_eq(unshare(CLONE_NEWNS), 0, "unshare(CLONE_NEWNS): %s (needs root)",
                 strerror(errno));
    cr_assert_eq(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0, "%s", strerror(errno));
    strcpy(bpffs, "/tmp/vswitch-bpffs-XXXXXX");
    cr_assert(mkdtemp(bpffs), "mkdtemp: %s", strerror(errno));
    cr_assert_eq(mount("bpffs", bpffs, "bpf", 0, NULL), 0, "mount bpffs: %s",
                 strerror(errno));
}

static void bpffs_fini(void)
{
    if (bpffs[0]) {
        umount2(bpffs, MNT_DETACH);
        rmdir(bpffs);
    }
}

static struct fp_action dnat_action(uint32_t out, uint32_t flags, uint32_t slot)
{
    struct fp_action a;

    memset(&a, 0, sizeof a);
    a.flags = FP_ACT_SET_DST | FP_ACT_DEC_TTL | FP_ACT_SET_ETH | flags;
    a.out_ifindex = out;
    memcpy(a.eth_dst, "\x02\x00\x00\x00\x01\x03", 6);
    memcpy(a.eth_src, "\x0a\x58\x0a\xf4\x01\x01", 6);
    inet_pton(AF_INET, "10.244.1.3", &a.nat_dst);
    a.nat_dport = htons(8080);
    a.stats_slot = slot;
    return a;
}

Test(offload, restart_adopts_pinned_flows_and_counters, .fini = bpffs_fini)
{
    struct fp_key key = fp_test_key(&client_to_vip), next;
    struct fp_action act = dnat_action(7, FP_ACT_PEER, 9), got;
    uint8_t in[512], out[512];
    size_t len = pkt_build(&client_to_vip, in, sizeof in), out_len = sizeof out;
    struct offload_config bigger = { .pin_dir = bpffs, .max_flows = 512 };
    struct offload *o, *o2;
    struct fp_stats st;
    char err[512];

    log_set_level(LOG_LVL_ERR);
    private_bpffs();
    o = fp_test_open(bpffs, 256);
    cr_expect(!offload_adopted(o), "a fresh bpffs has nothing to adopt");
    cr_assert_eq(offload_flow_put(o, &key, &act), 0);
    cr_assert_eq(fp_test_run(o, false, in, len, out, &out_len, 0), TC_ACT_REDIRECT);
    offload_close(o);

    /* "Restart": a new loader, a new program, the same maps. */
    o = fp_test_open(bpffs, 256);
    cr_expect(offload_adopted(o));
    cr_assert_eq(offload_flow_get(o, &key, &got), 0, "the flow survived the restart");
    cr_expect(!memcmp(&got, &act, sizeof act));
    cr_assert_eq(offload_stats_get(o, 9, &st), 0);
    cr_expect_eq(st.packets, 1, "the counters survived the restart");
    cr_expect_eq(offload_stats_array(o)[9].packets, 1, "and the adopted map is mapped");
    out_len = sizeof out;
    cr_expect_eq(fp_test_run(o, false, in, len, out, &out_len, 0), TC_ACT_REDIRECT,
                 "the new program executes the adopted flow");
    cr_assert_eq(offload_stats_get(o, 9, &st), 0);
    cr_expect_eq(st.packets, 2);
    cr_assert_eq(offload_flow_next(o, NULL, &next), 0);
    cr_expect(!memcmp(&next, &key, sizeof key));
    cr_expect_eq(offload_flow_next(o, &next, &next), -ENOENT, "exactly one flow");

    /* Maps of another size are not silently adopted: vswitchd is told why. */
    err[0] = '\0';
    cr_expect_lt(offload_open(&bigger, &o2, err, sizeof err), 0);
    cr_expect_null(o2);
    cr_expect(strstr(err, "fp_flows") && strstr(err, "pinned"), "the reason is given: %s", err);

    cr_assert_eq(offload_unpin(o), 0);
    offload_close(o);
    o = fp_test_open(bpffs, 256);
    cr_expect(!offload_adopted(o));
    cr_expect_eq(offload_flow_get(o, &key, &got), -ENOENT, "unpinned maps are gone");
    offload_close(o);
}

Test(offload, memory_per_flow)
{
    const uint32_t n = 1 << 20;
    struct offload_config cfg = { .max_flows = n };
    struct offload *o;
    uint64_t bytes;
    char err[512];

    log_set_level(LOG_LVL_ERR);
    cr_assert_eq(offload_open(&cfg, &o, err, sizeof err), 0, "%s", err);
    cr_assert_eq(offload_memlock(o, &bytes), 0);
    cr_log_info("fast path maps for %u flows: %" PRIu64 " bytes, %" PRIu64 " per flow", n,
                bytes, bytes / n);
    printf("fast path maps for %u flows: %llu MiB, %llu bytes per flow\n", n,
           (unsigned long long) (bytes >> 20), (unsigned long long) (bytes / n));
    /* The target is 512 MiB for 1M flows with the user-space side: the maps take at most
     * half of it. */
    cr_expect_leq(bytes, 256ull << 20, "%" PRIu64 " bytes", bytes);
    offload_close(o);
}

/* ---- Real frames through veths ---- */

static struct nl_sock *nl;

static int ifindex_of(const char *name)
{
    int ifindex = if_nametoindex(name);

    cr_assert_neq(ifindex, 0, "%s: %s", name, strerror(errno));
    return ifindex;
}

static void link_up(const char *name)
{
    char err[256];

    cr_assert_eq(nl_link_set_up(nl, ifindex_of(name), err, sizeof err), 0, "%s", err);
}

/* Waits until the link is operationally up: the kernel attaches a veth's real qdisc only then
 * (linkwatch, asynchronously), and until then everything sent through it is dropped. */
static void wait_running(struct nl_sock *sock, const char *name)
{
    struct nl_link link;
    char err[256];

    for (int i = 0; i < 500; i++) {
        cr_assert_eq(nl_link_get(sock, name, &link, err, sizeof err), 0, "%s", err);
        if (link.flags & IFF_RUNNING) {
            usleep(20 * 1000);          /* The qdisc follows in the same linkwatch pass. */
            return;
        }
        usleep(10 * 1000);
    }
    cr_assert_fail("%s never came up", name);
}

static void tx_csum_off(const char *name)
{
    struct ethtool_value ev = { .cmd = ETHTOOL_STXCSUM, .data = 0 };
    struct ifreq ifr;
    int fd = socket(AF_INET, SOCK_DGRAM, 0);

    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", name);
    ifr.ifr_data = (void *) &ev;
    cr_assert_eq(ioctl(fd, SIOCETHTOOL, &ifr), 0, "tx off on %s: %s", name, strerror(errno));
    close(fd);
}

/* An AF_PACKET socket on 'name', as port-veth.c opens one: filter first (if any), then bind,
 * so no frame slips in unfiltered. */
static int packet_socket(const char *name, bool vnet, int filter_fd)
{
    struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL),
                               .sll_ifindex = ifindex_of(name) };
    int one = 1, fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK, 0);

    cr_assert_geq(fd, 0, "%s", strerror(errno));
    cr_assert_eq(setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one), 0);
    if (vnet) {
        cr_assert_eq(setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof one), 0);
    }
    if (filter_fd >= 0) {
        cr_assert_eq(setsockopt(fd, SOL_SOCKET, SO_ATTACH_BPF, &filter_fd, sizeof filter_fd),
                     0, "SO_ATTACH_BPF: %s", strerror(errno));
    }
    cr_assert_eq(bind(fd, (struct sockaddr *) &sll, sizeof sll), 0, "%s", strerror(errno));
    return fd;
}

/* Waits up to 'ms' for a TCP frame from source port 'sport' (IPv6 chatter and the like are
 * skipped); returns its length (vnet header stripped when 'vnet'), or 0. */
static size_t recv_tcp(int fd, bool vnet, uint16_t sport, uint8_t *buf, size_t size, int ms)
{
    struct pollfd pfd = { .fd = fd, .events = POLLIN };
    size_t hdr = vnet ? sizeof(struct virtio_net_hdr) : 0;

    while (poll(&pfd, 1, ms) == 1) {
        ssize_t n = recv(fd, buf, size, 0);
        const uint8_t *f = buf + hdr;

        if (n < (ssize_t) (hdr + ETH_HDR_LEN + IP_HDR_LEN + TCP_HDR_LEN)) {
            continue;
        }
        if (f[12] == 0x08 && f[13] == 0x00 && f[ETH_HDR_LEN + 9] == IP_PROTO_TCP
            && ((f[34] << 8) | f[35]) == sport) {
            memmove(buf, f, n - hdr);
            return n - hdr;
        }
    }
    return 0;
}

static void drain(int fd)
{
    uint8_t buf[2048];

    while (recv(fd, buf, sizeof buf, MSG_DONTWAIT) > 0) {
        continue;
    }
}

/* Sends 'frame' on 'fd' (a PACKET_VNET_HDR socket) as a pod's TCP stack does with checksum
 * offload: CHECKSUM_PARTIAL, the field holding the pseudo-header sum only. */
static void send_partial(int fd, uint8_t *frame, size_t len)
{
    struct ip_header *iph = (struct ip_header *) (frame + ETH_HDR_LEN);
    struct tcp_header *tcp = (struct tcp_header *) (frame + ETH_HDR_LEN + IP_HDR_LEN);
    size_t l4_len = len - ETH_HDR_LEN - IP_HDR_LEN;
    struct virtio_net_hdr vh = {
        .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .gso_type = VIRTIO_NET_HDR_GSO_NONE,
        .csum_start = ETH_HDR_LEN + IP_HDR_LEN, .csum_offset = 16,
    };
    struct iovec iov[2] = { { &vh, sizeof vh }, { frame, len } };
    struct msghdr msg = { .msg_iov = iov, .msg_iovlen = 2 };

    tcp->csum = ~csum_finish(csum_pseudo_header(iph->src, iph->dst, IP_PROTO_TCP, l4_len));
    cr_assert_eq(sendmsg(fd, &msg, 0), (ssize_t) (sizeof vh + len), "%s", strerror(errno));
}

static pid_t pod_pid = -1;

static void pod_fini(void)
{
    if (pod_pid > 0) {
        kill(pod_pid, SIGKILL);
        waitpid(pod_pid, NULL, 0);
    }
    nl_close(nl);
}

/* A network namespace for "the pod", held by a child that sleeps; returns an fd of it. */
static int pod_netns(void)
{
    int ready[2], fd;
    char path[64], c;

    cr_assert_eq(pipe(ready), 0);
    pod_pid = fork();
    cr_assert_geq(pod_pid, 0);
    if (pod_pid == 0) {
        c = unshare(CLONE_NEWNET) == 0 ? 'y' : 'n';
        (void) !write(ready[1], &c, 1);
        pause();
        _exit(0);
    }
    cr_assert_eq(read(ready[0], &c, 1), 1);
    cr_assert_eq(c, 'y', "the pod's unshare(CLONE_NEWNET) failed");
    snprintf(path, sizeof path, "/proc/%d/ns/net", (int) pod_pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
    close(ready[0]);
    close(ready[1]);
    return fd;
}

/* The test's own network namespace (so its devices go with it) with two veths running,
 * p1h-p1 and p2h-p2, and 'nl' open in it. */
static void own_netns_with_two_veths(void)
{
    static const char *const names[] = { "p1h", "p1", "p2h", "p2" };
    char err[256];

    cr_assert_eq(unshare(CLONE_NEWNET), 0, "unshare(CLONE_NEWNET): %s (needs root)",
                 strerror(errno));
    cr_assert_eq(nl_open(&nl, err, sizeof err), 0, "%s", err);
    cr_assert_eq(nl_veth_add(nl, "p1h", "p1", -1, NULL, 0, err, sizeof err), 0, "%s", err);
    cr_assert_eq(nl_veth_add(nl, "p2h", "p2", -1, NULL, 0, err, sizeof err), 0, "%s", err);
    for (size_t i = 0; i < 4; i++) {
        link_up(names[i]);              /* A veth runs once both of its ends are up. */
    }
    for (size_t i = 0; i < 4; i++) {
        wait_running(nl, names[i]);
    }
}

/* The topology, all in this test's own network namespace N except p3:
 *   p1 (the sending pod's end) -- p1h  tc fast path; socket S (the switch's, filtered) and
 *                                      socket T (a plain tap, as tcpdump)
 *   p2 (receiver R2)           -- p2h  egress target, TX checksum off: the kernel completes
 *                                      a CHECKSUM_PARTIAL frame here in software
 *   p3 (in the pod's netns P, receiver R3) -- p3h  bpf_redirect_peer target */
Test(offload, veth_fast_path_and_the_switch_socket, .fini = pod_fini)
{
    struct fp_key key = fp_test_key(&client_to_vip);
    struct pkt_spec syn = client_to_vip, other = client_to_vip;
    int self_fd, pod_fd, p1, s, t, r2, r3, p1h, p2h, p3h, rc;
    uint8_t frame[512], buf[2048];
    size_t len, n;
    struct offload *o;
    struct fp_stats st;
    struct fp_action act;
    char err[256];
    LIBBPF_OPTS(bpf_tc_hook, hook, .attach_point = BPF_TC_INGRESS);
    LIBBPF_OPTS(bpf_tc_opts, q, .handle = 0x5657, .priority = 1);
    struct bpf_prog_info info;
    uint32_t info_len = sizeof info;

    log_set_level(LOG_LVL_ERR);
    own_netns_with_two_veths();
    pod_fd = pod_netns();
    cr_assert_eq(nl_veth_add(nl, "p3h", "p3", pod_fd, NULL, 0, err, sizeof err), 0, "%s", err);
    link_up("p3h");
    tx_csum_off("p2h");
    p1h = ifindex_of("p1h");
    p2h = ifindex_of("p2h");
    p3h = ifindex_of("p3h");

    /* p3 up, and its receiver, from inside the pod's namespace. */
    self_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    cr_assert_eq(setns(pod_fd, CLONE_NEWNET), 0, "%s", strerror(errno));
    {
        struct nl_sock *pod_nl;

        cr_assert_eq(nl_open(&pod_nl, err, sizeof err), 0, "%s", err);
        cr_assert_eq(nl_link_set_up(pod_nl, ifindex_of("p3"), err, sizeof err), 0, "%s", err);
        wait_running(pod_nl, "p3");
        nl_close(pod_nl);
        r3 = packet_socket("p3", false, -1);
    }
    cr_assert_eq(setns(self_fd, CLONE_NEWNET), 0, "%s", strerror(errno));
    close(self_fd);
    wait_running(nl, "p3h");

    o = fp_test_open(NULL, 256);
    cr_assert_eq(offload_attach(o, p1h, OFFLOAD_INGRESS, err, sizeof err), 0, "%s", err);
    cr_assert_eq(offload_attach(o, p1h, OFFLOAD_INGRESS, err, sizeof err), 0,
                 "attaching again replaces: %s",
                 err);
    hook.ifindex = p1h;
    cr_assert_eq(bpf_tc_query(&hook, &q), 0, "our filter is there");
    memset(&info, 0, sizeof info);
    cr_assert_eq(bpf_obj_get_info_by_fd(offload_tc_fd(o), &info, &info_len), 0, "%s",
                 strerror(errno));
    cr_expect_eq(q.prog_id, info.id, "and runs our program");

    p1 = packet_socket("p1", true, -1);
    s = packet_socket("p1h", false, offload_sock_filter_fd(o));
    t = packet_socket("p1h", false, -1);
    r2 = packet_socket("p2", false, -1);

    /* 1. A CHECKSUM_PARTIAL frame of an installed flow, out of p2h's egress. */
    key.ifindex = p1h;
    act = dnat_action(p2h, 0, 4);
    cr_assert_eq(offload_flow_put(o, &key, &act), 0);
    len = pkt_build(&client_to_vip, frame, sizeof frame);
    send_partial(p1, frame, len);
    n = recv_tcp(r2, false, 40000, buf, sizeof buf, 2000);
    cr_assert_eq(n, len, "the executed frame came out of p2h's egress (%zu bytes)", n);
    cr_expect_eq(buf[ETH_HDR_LEN + 8], 63, "TTL");
    cr_expect_eq(buf[ETH_HDR_LEN + IP_HDR_LEN + 2] << 8 | buf[ETH_HDR_LEN + IP_HDR_LEN + 3],
                 8080, "DNAT'd port");
    cr_expect(pkt_ip_csum_ok(buf, n), "IP checksum");
    cr_expect(pkt_l4_csum_ok(buf, n),
              "the partial checksum, updated for the new pseudo-header, completes right");
    cr_expect_eq(recv_tcp(t, false, 40000, buf, sizeof buf, 200), len,
                 "a plain tap still sees it (taps run before tc ingress)");
    cr_expect_eq(recv_tcp(s, false, 40000, buf, sizeof buf, 200), 0,
                 "the switch's filtered socket does not: one tier per packet");
    cr_assert_eq(offload_stats_get(o, 4, &st), 0);
    cr_expect_eq(st.packets, 1);

    /* 1b. A 16 KiB TSO frame of the same flow, as a pod sends it: GSO kept through the
     * program, segmented by the kernel at p2h (no TSO there), every segment right. */
    {
        struct pkt_spec big = client_to_vip;
        static uint8_t gso_frame[16384 + 128];
        struct virtio_net_hdr vh = {
            .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
            .hdr_len = ETH_HDR_LEN + IP_HDR_LEN + TCP_HDR_LEN, .gso_size = 1448,
            .csum_start = ETH_HDR_LEN + IP_HDR_LEN, .csum_offset = 16,
        };
        struct iovec iov[2] = { { &vh, sizeof vh }, { gso_frame, 0 } };
        struct msghdr msg = { .msg_iov = iov, .msg_iovlen = 2 };
        struct ip_header *iph = (struct ip_header *) (gso_frame + ETH_HDR_LEN);
        struct tcp_header *tcp = (struct tcp_header *) (gso_frame + ETH_HDR_LEN + IP_HDR_LEN);
        size_t segs = 0, bytes = 0, big_len;

        big.payload = 16384;
        big_len = pkt_build(&big, gso_frame, sizeof gso_frame);
        tcp->csum = ~csum_finish(csum_pseudo_header(iph->src, iph->dst, IP_PROTO_TCP,
                                                    big_len - ETH_HDR_LEN - IP_HDR_LEN));
        iov[1].iov_len = big_len;
        cr_assert_eq(sendmsg(p1, &msg, 0), (ssize_t) (sizeof vh + big_len), "%s",
                     strerror(errno));
        while ((n = recv_tcp(r2, false, 40000, buf, sizeof buf, 1000)) > 0) {
            segs++;
            bytes += n - ETH_HDR_LEN - IP_HDR_LEN - TCP_HDR_LEN;
            cr_expect(n <= ETH_HDR_LEN + 1500, "segment %zu: %zu bytes", segs, n);
            cr_expect_eq(buf[ETH_HDR_LEN + 8], 63, "segment %zu: TTL", segs);
            cr_expect_eq(buf[ETH_HDR_LEN + IP_HDR_LEN + 2] << 8
                         | buf[ETH_HDR_LEN + IP_HDR_LEN + 3], 8080, "segment %zu", segs);
            cr_expect(pkt_ip_csum_ok(buf, n), "segment %zu: IP checksum", segs);
            cr_expect(pkt_l4_csum_ok(buf, n), "segment %zu: TCP checksum", segs);
            if (bytes >= 16384) {
                break;
            }
        }
        cr_expect_eq(bytes, 16384, "all the payload came through (%zu segments)", segs);
        cr_expect_eq(segs, (16384 + 1447) / 1448);
        cr_assert_eq(offload_stats_get(o, 4, &st), 0);
        cr_expect_eq(st.packets, 2, "the GSO frame is one packet of the flow");
        cr_expect_eq(st.bytes, len + big_len);
    }

    /* 2. Into the pod's netns by bpf_redirect_peer, with a full checksum. */
    act = dnat_action(p3h, FP_ACT_PEER, 5);
    cr_assert_eq(offload_flow_put(o, &key, &act), 0);
    {
        struct virtio_net_hdr vh = { 0 };
        struct iovec iov[2] = { { &vh, sizeof vh }, { frame, len } };
        struct msghdr msg = { .msg_iov = iov, .msg_iovlen = 2 };

        len = pkt_build(&client_to_vip, frame, sizeof frame);
        cr_assert_eq(sendmsg(p1, &msg, 0), (ssize_t) (sizeof vh + len));
    }
    n = recv_tcp(r3, false, 40000, buf, sizeof buf, 2000);
    cr_assert_eq(n, len, "the frame reached the pod's netns");
    cr_expect(pkt_l4_csum_ok(buf, n));
    cr_expect_eq(recv_tcp(s, false, 40000, buf, sizeof buf, 200), 0);

    /* 3. A SYN of the same tuple and a frame of no flow go to the switch, and nowhere else. */
    syn.tcp_flags = TCP_SYN;
    syn.payload = 0;
    other.sport = 40001;
    for (int i = 0; i < 2; i++) {
        struct virtio_net_hdr vh = { 0 };
        struct iovec iov[2] = { { &vh, sizeof vh }, { frame, 0 } };
        struct msghdr msg = { .msg_iov = iov, .msg_iovlen = 2 };
        uint16_t sport = i ? 40001 : 40000;

        iov[1].iov_len = pkt_build(i ? &other : &syn, frame, sizeof frame);
        cr_assert_eq(sendmsg(p1, &msg, 0), (ssize_t) (sizeof vh + iov[1].iov_len));
        cr_expect_eq(recv_tcp(s, false, sport, buf, sizeof buf, 2000), iov[1].iov_len,
                     "frame %d went up to the switch's socket", i);
        cr_expect_eq(recv_tcp(r3, false, sport, buf, sizeof buf, 200), 0, "frame %d", i);
    }

    /* 4. At a TAP's place, the egress of the pod's own device (p1 here): a frame the pod sends
     * is taken before it is transmitted and delivered into p2's receive path. */
    cr_assert_eq(offload_attach(o, ifindex_of("p1"), OFFLOAD_EGRESS, err, sizeof err), 0,
                 "%s", err);
    drain(t);
    key.ifindex = ifindex_of("p1");
    act = dnat_action(ifindex_of("p2"), FP_ACT_INGRESS, 6);
    cr_assert_eq(offload_flow_put(o, &key, &act), 0);
    {
        struct virtio_net_hdr vh = { 0 };
        struct iovec iov[2] = { { &vh, sizeof vh }, { frame, len } };
        struct msghdr msg = { .msg_iov = iov, .msg_iovlen = 2 };

        len = pkt_build(&client_to_vip, frame, sizeof frame);
        cr_assert_eq(sendmsg(p1, &msg, 0), (ssize_t) (sizeof vh + len));
    }
    n = recv_tcp(r2, false, 40000, buf, sizeof buf, 2000);
    cr_assert_eq(n, len, "the frame reached p2's receive path");
    cr_expect(pkt_l4_csum_ok(buf, n));
    cr_expect_eq(recv_tcp(t, false, 40000, buf, sizeof buf, 200), 0,
                 "and never crossed the veth");
    cr_assert_eq(offload_stats_get(o, 6, &st), 0);
    cr_expect_eq(st.packets, 1);
    cr_assert_eq(offload_detach(o, ifindex_of("p1"), OFFLOAD_EGRESS), 0);

    /* 5. Detached: the flow is no longer executed, everything goes up. */
    cr_assert_eq(offload_detach(o, p1h, OFFLOAD_INGRESS), 0);
    {
        LIBBPF_OPTS(bpf_tc_opts, q2, .handle = 0x5657, .priority = 1);

        rc = bpf_tc_query(&hook, &q2);
    }
    /* The kernel says EINVAL ("cannot find specified filter chain") once the last filter of
     * the chain is gone, ENOENT while others remain. */
    cr_expect(rc == -ENOENT || rc == -EINVAL, "query after detach: %s", strerror(-rc));
    cr_expect_eq(offload_detach(o, p1h, OFFLOAD_INGRESS), 0, "detaching twice is fine");
    close(s);
    close(t);
    close(r2);
    close(r3);
    close(p1);
    close(pod_fd);
    offload_close(o);
}

/* vswitchd dies (its fds close, as on kill -9): the attached program and the pinned maps stay,
 * so the installed flow keeps forwarding; the restarted loader adopts the maps with their
 * counters and replaces the program in place. */
Test(offload, flows_forward_while_the_loader_is_gone, .fini = bpffs_fini)
{
    struct fp_key key = fp_test_key(&client_to_vip);
    uint8_t frame[512], buf[2048];
    size_t len = pkt_build(&client_to_vip, frame, sizeof frame);
    struct virtio_net_hdr vh = { 0 };
    struct iovec iov[2] = { { &vh, sizeof vh }, { frame, len } };
    struct msghdr msg = { .msg_iov = iov, .msg_iovlen = 2 };
    struct fp_action act;
    struct fp_stats st;
    struct offload *o;
    int p1, r2, p1h;
    char err[256];

    log_set_level(LOG_LVL_ERR);
    private_bpffs();
    own_netns_with_two_veths();
    p1h = ifindex_of("p1h");
    p1 = packet_socket("p1", true, -1);
    r2 = packet_socket("p2", false, -1);

    o = fp_test_open(bpffs, 256);
    cr_assert_eq(offload_attach(o, p1h, OFFLOAD_INGRESS, err, sizeof err), 0, "%s", err);
    key.ifindex = p1h;
    act = dnat_action(ifindex_of("p2h"), 0, 4);
    cr_assert_eq(offload_flow_put(o, &key, &act), 0);
    offload_close(o);

    cr_assert_eq(sendmsg(p1, &msg, 0), (ssize_t) (sizeof vh + len));
    cr_expect_eq(recv_tcp(r2, false, 40000, buf, sizeof buf, 2000), len,
                 "forwarded with no loader alive");

    o = fp_test_open(bpffs, 256);
    cr_expect(offload_adopted(o));
    cr_assert_eq(offload_stats_get(o, 4, &st), 0);
    cr_expect_eq(st.packets, 1, "counted while the loader was gone");
    cr_assert_eq(offload_attach(o, p1h, OFFLOAD_INGRESS, err, sizeof err), 0, "%s", err);
    cr_assert_eq(sendmsg(p1, &msg, 0), (ssize_t) (sizeof vh + len));
    cr_expect_eq(recv_tcp(r2, false, 40000, buf, sizeof buf, 2000), len,
                 "forwarded by the restarted loader's program");
    cr_assert_eq(offload_stats_get(o, 4, &st), 0);
    cr_expect_eq(st.packets, 2);
    close(p1);
    close(r2);
    offload_close(o);
    nl_close(nl);
    nl = NULL;
}
