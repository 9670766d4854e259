/* Writes the seed corpora of the binary fuzz targets into OUTDIR/<target>/, built from the
 * unit tests' packet builder (tests/unit/pkt-builder.h) and the control protocol, so that
 * the seeds follow the code: the frames the unit tests use for the parser (flow-key), record
 * sequences that open, answer and close connections through every kind of policy in the
 * fuzz scene (pipeline, overlay; see fuzz-dp.h), control streams of every request kind
 * (ctl), and batches of TCP segments to join (gro).  tests/fuzz/run.sh runs it before the
 * targets; the text targets' seeds are files in tests/fuzz/corpus/.
 *
 * Usage: gen-seeds OUTDIR */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz-dp.h"
#include "dp/net-headers.h"
#include "dp/packet.h"
#include "lib/ctl-msg.h"
#include "pkt-builder.h"

static const char *outdir;

static void write_seed(const char *target, const char *name, const uint8_t *data, size_t len)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof path, "%s/%s", outdir, target);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/%s/%s", outdir, target, name);
    f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f)) {
        fprintf(stderr, "gen-seeds: %s: %s\n", path, strerror(errno));
        exit(1);
    }
}

/* ---- Records ---- */

struct seq {
    uint8_t buf[1 << 18];
    size_t len;
};

static void rec(struct seq *s, uint8_t ctl, const struct virtio_net_hdr *vnet,
                const uint8_t *frame, size_t len)
{
    s->buf[s->len++] = ctl | (vnet ? REC_VNET : 0);
    s->buf[s->len++] = len >> 8;
    s->buf[s->len++] = len;
    if (vnet) {
        memcpy(s->buf + s->len, vnet, sizeof *vnet);
        s->len += sizeof *vnet;
    }
    memcpy(s->buf + s->len, frame, len);
    s->len += len;
}

static void rec_pkt(struct seq *s, uint8_t ctl, const struct pkt_spec *spec)
{
    static uint8_t frame[PACKET_MAX_FRAME];

    rec(s, ctl, NULL, frame, pkt_build(spec, frame, sizeof frame));
}

/* A VXLAN datagram from the peer (VNI 42 unless 'vni' differs) carrying 'spec'. */
static void rec_vxlan(struct seq *s, uint8_t ctl, uint32_t vni, uint8_t flags,
                      const struct pkt_spec *spec)
{
    static uint8_t dgram[PACKET_MAX_FRAME + 8];
    size_t len = pkt_build(spec, dgram + 8, sizeof dgram - 8);

    memset(dgram, 0, 8);
    dgram[0] = flags;
    dgram[4] = vni >> 16;
    dgram[5] = vni >> 8;
    dgram[6] = vni;
    rec(s, ctl, NULL, dgram, len + 8);
}

#define POD1 "02:00:00:00:01:05"
#define POD2 "02:00:00:00:01:06"
#define POD3 "02:00:00:00:01:07"
#define ROUTER FUZZ_ROUTER_MAC
#define HOST FUZZ_HOST_MAC
#define PEER_ROUTER FUZZ_PEER_ROUTER_MAC
#define BCAST "ff:ff:ff:ff:ff:ff"

#define FROM_POD1(DST_IP, ...) \
    (struct pkt_spec) { .eth_src = POD1, .eth_dst = ROUTER, .ip_src = "10.244.1.5", \
                        .ip_dst = DST_IP, __VA_ARGS__ }

static void seeds_pipeline(const char *target, bool overlay)
{
    struct virtio_net_hdr gso = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
                                  .gso_type = VIRTIO_NET_HDR_GSO_TCPV4, .gso_size = 1400,
                                  .csum_start = 34, .csum_offset = 16 };
    static uint8_t frame[PACKET_MAX_FRAME];
    static struct seq s;
    struct pkt_spec p;
    size_t len;

    /* ARP: the gateway, a pod, nobody; a gratuitous one; from the host. */
    s.len = 0;
    p = (struct pkt_spec) { .eth_src = POD1, .eth_dst = BCAST, .eth_type = 0x0806,
                            .arp_spa = "10.244.1.5", .arp_tpa = "10.244.1.1" };
    rec_pkt(&s, 0, &p);
    p.arp_tpa = "10.244.1.6";
    rec_pkt(&s, 0, &p);
    p.arp_tpa = "10.244.1.99";
    rec_pkt(&s, 0, &p);
    p.arp_tpa = "10.244.1.5";
    p.arp_op = 2;
    rec_pkt(&s, 0, &p);
    p = (struct pkt_spec) { .eth_src = HOST, .eth_dst = BCAST, .eth_type = 0x0806,
                            .arp_spa = "10.244.1.1", .arp_tpa = "10.244.1.6" };
    rec_pkt(&s, FUZZ_PORT_HOST, &p);
    write_seed(target, "arp", s.buf, s.len);

    /* A DSR connection: SYN, SYN-ACK from either backend, ACK, FIN, RST. */
    s.len = 0;
    rec_pkt(&s, 0, &FROM_POD1(FUZZ_VIP_DSR, .sport = 40000, .dport = 80));
    for (int b = 0; b < 2; b++) {
        p = (struct pkt_spec) { .eth_src = b ? POD3 : POD2, .eth_dst = ROUTER,
                                .ip_src = b ? "10.244.1.7" : "10.244.1.6",
                                .ip_dst = "10.244.1.5", .sport = 8080, .dport = 40000,
                                .tcp_flags = TCP_SYN | TCP_ACK };
        rec_pkt(&s, 1 + b, &p);
    }
    rec_pkt(&s, 0, &FROM_POD1(FUZZ_VIP_DSR, .sport = 40000, .dport = 80,
                              .tcp_flags = TCP_ACK, .payload = 100));
    rec_pkt(&s, REC_REPLACE, &FROM_POD1(FUZZ_VIP_DSR, .sport = 40000, .dport = 80,
                                        .tcp_flags = TCP_ACK | TCP_FIN));
    rec_pkt(&s, REC_FLUSH, &FROM_POD1(FUZZ_VIP_DSR, .sport = 40000, .dport = 80,
                                      .tcp_flags = TCP_RST));
    write_seed(target, "dsr-tcp", s.buf, s.len);

    /* Non-DSR UDP with affinity: the query, the answer to the gateway, a fragmented one. */
    s.len = 0;
    rec_pkt(&s, 0, &FROM_POD1(FUZZ_VIP_UDP, .proto = 17, .sport = 5353, .dport = 53,
                              .payload = 40));
    p = (struct pkt_spec) { .eth_src = POD2, .eth_dst = ROUTER, .ip_src = "10.244.1.6",
                            .ip_dst = "10.244.1.1", .proto = 17, .sport = 53, .dport = 5353,
                            .payload = 60 };
    rec_pkt(&s, 1, &p);
    rec_pkt(&s, 0, &FROM_POD1(FUZZ_VIP_UDP, .proto = 17, .sport = 5354, .dport = 53,
                              .frag_off = IP_MF, .payload = 1400));
    rec_pkt(&s, 0, &FROM_POD1(FUZZ_VIP_UDP, .proto = 17, .frag_off = 176, .payload = 600));
    rec_pkt(&s, REC_FLUSH_ALL, &FROM_POD1(FUZZ_VIP_UDP, .proto = 17, .frag_off = 176,
                                          .payload = 600));
    write_seed(target, "nodsr-udp-frag", s.buf, s.len);

    /* Hairpin, the empty policy (RST), and an ICMP error about a translated connection. */
    s.len = 0;
    rec_pkt(&s, 0, &FROM_POD1(FUZZ_VIP_HAIRPIN, .sport = 41000, .dport = 80));
    p = (struct pkt_spec) { .eth_src = POD1, .eth_dst = ROUTER, .ip_src = "10.244.1.5",
                            .ip_dst = "10.244.1.1", .sport = 80, .dport = 41000,
                            .tcp_flags = TCP_SYN | TCP_ACK };
    rec_pkt(&s, 0, &p);
    rec_pkt(&s, 0, &FROM_POD1(FUZZ_VIP_EMPTY, .sport = 41001, .dport = 80));
    rec_pkt(&s, 0, &FROM_POD1(FUZZ_VIP_DSR, .sport = 41002, .dport = 80));
    {
        /* pod2 (or pod3) says port unreachable, quoting the translated SYN. */
        uint8_t quote[64];
        struct pkt_spec q = { .eth_src = POD1, .eth_dst = POD2, .ip_src = "10.244.1.5",
                              .ip_dst = "10.244.1.6", .sport = 41002, .dport = 8080 };
        size_t qlen = pkt_build(&q, quote, sizeof quote);

        for (int b = 0; b < 2; b++) {
            p = (struct pkt_spec) { .eth_src = b ? POD3 : POD2, .eth_dst = ROUTER,
                                    .ip_src = b ? "10.244.1.7" : "10.244.1.6",
                                    .ip_dst = "10.244.1.5", .proto = 1, .sport = 3,
                                    .dport = 3, .payload = qlen - ETH_HDR_LEN };
            len = pkt_build(&p, frame, sizeof frame);
            memcpy(frame + len - (qlen - ETH_HDR_LEN), quote + ETH_HDR_LEN, qlen - ETH_HDR_LEN);
            if (b) {
                memcpy(frame + len - (qlen - ETH_HDR_LEN) + 16, "\x0a\xf4\x01\x07", 4);
            }
            {
                /* The ICMP checksum over the quote. */
                struct icmp_header *icmp = (struct icmp_header *) (frame + 34);
                uint32_t sum = 0;

                icmp->csum = 0;
                for (size_t i = 34; i + 1 < len; i += 2) {
                    sum += frame[i] << 8 | frame[i + 1];
                }
                if ((len - 34) & 1) {
                    sum += frame[len - 1] << 8;
                }
                while (sum >> 16) {
                    sum = (sum & 0xffff) + (sum >> 16);
                }
                icmp->csum = htons(~sum & 0xffff);
            }
            rec(&s, 1 + b, NULL, frame, len);
        }
    }
    write_seed(target, "hairpin-reject-icmp", s.buf, s.len);

    /* Routing: pod3 learns its MAC, pod to pod, host to pod, out via the host, TTL 1,
     * spoofed, VLAN, IPv6, a GSO frame. */
    s.len = 0;
    p = (struct pkt_spec) { .eth_src = POD3, .eth_dst = ROUTER, .ip_src = "10.244.1.7",
                            .ip_dst = "10.244.1.5", .proto = 1, .sport = 8 };
    rec_pkt(&s, 2, &p);
    rec_pkt(&s, 0, &FROM_POD1("10.244.1.7", .proto = 1));
    p = (struct pkt_spec) { .eth_src = HOST, .eth_dst = POD1, .ip_src = "10.244.1.1",
                            .ip_dst = "10.244.1.5", .proto = 1, .sport = 8 };
    rec_pkt(&s, FUZZ_PORT_HOST, &p);
    rec_pkt(&s, 0, &FROM_POD1("192.0.2.9", .proto = 17, .sport = 1, .dport = 2));
    rec_pkt(&s, 0, &FROM_POD1("10.244.1.6", .ttl = 1));
    p = (struct pkt_spec) { .eth_src = POD1, .eth_dst = ROUTER, .ip_src = "10.244.1.6",
                            .ip_dst = "10.244.1.7" };
    rec_pkt(&s, 0, &p);
    rec_pkt(&s, 0, &FROM_POD1("10.244.1.6", .vlan = 5));
    p = (struct pkt_spec) { .eth_src = POD1, .eth_dst = "33:33:00:00:00:01", .eth_type = 0x86dd };
    rec_pkt(&s, 0, &p);
    p = FROM_POD1("10.244.1.6", .sport = 1000, .dport = 2000, .tcp_flags = TCP_ACK,
                  .payload = 6000);
    len = pkt_build(&p, frame, sizeof frame);
    rec(&s, 0, &gso, frame, len);
    write_seed(target, "routing", s.buf, s.len);

    if (!overlay) {
        return;
    }

    /* Over the overlay: to a remote pod (UDP, GSO, too big with DF), from the peer to pod1,
     * DSR dispatched to the remote backend and from the peer to a local one. */
    s.len = 0;
    rec_pkt(&s, 0, &FROM_POD1("10.244.2.7", .proto = 17, .sport = 5, .dport = 6, .payload = 100));
    p = FROM_POD1("10.244.2.7", .sport = 1000, .dport = 2000, .tcp_flags = TCP_ACK,
                  .payload = 9000);
    len = pkt_build(&p, frame, sizeof frame);
    rec(&s, 0, &gso, frame, len);
    rec_pkt(&s, 0, &FROM_POD1("10.244.2.7", .proto = 17, .frag_off = 0x4000, .payload = 1472));
    p = (struct pkt_spec) { .eth_src = PEER_ROUTER, .eth_dst = ROUTER, .ip_src = "10.244.2.7",
                            .ip_dst = "10.244.1.5", .proto = 17, .sport = 6, .dport = 5,
                            .payload = 20, .ttl = 63 };
    rec_vxlan(&s, FUZZ_PORT_VXLAN, FUZZ_VNI, 0x08, &p);
    rec_vxlan(&s, FUZZ_PORT_VXLAN, 7, 0x08, &p);
    rec_vxlan(&s, FUZZ_PORT_VXLAN, FUZZ_VNI, 0x00, &p);
    p.ip_src = "10.244.9.9";
    rec_vxlan(&s, FUZZ_PORT_VXLAN, FUZZ_VNI, 0x08, &p);
    p = (struct pkt_spec) { .eth_src = PEER_ROUTER, .eth_dst = BCAST, .eth_type = 0x0806,
                            .arp_spa = "10.244.2.7", .arp_tpa = "10.244.1.1" };
    rec_vxlan(&s, FUZZ_PORT_VXLAN, FUZZ_VNI, 0x08, &p);
    write_seed(target, "overlay-routing", s.buf, s.len);

    s.len = 0;
    for (int sport = 42000; sport < 42008; sport++) {
        rec_pkt(&s, 0, &FROM_POD1(FUZZ_VIP_DSR, .sport = sport, .dport = 80));
    }
    p = (struct pkt_spec) { .eth_src = PEER_ROUTER, .eth_dst = "0a:58:0a:f4:01:06",
                            .ip_src = "10.244.2.7", .ip_dst = FUZZ_VIP_DSR, .sport = 43000,
                            .dport = 80, .ttl = 63 };
    rec_vxlan(&s, FUZZ_PORT_VXLAN, FUZZ_VNI, 0x08, &p);
    p = (struct pkt_spec) { .eth_src = POD2, .eth_dst = ROUTER, .ip_src = "10.244.1.6",
                            .ip_dst = "10.244.2.7", .sport = 8080, .dport = 43000,
                            .tcp_flags = TCP_SYN | TCP_ACK };
    rec_pkt(&s, 1, &p);
    p = (struct pkt_spec) { .eth_src = PEER_ROUTER, .eth_dst = "0a:58:0a:f4:01:06",
                            .ip_src = "10.244.2.7", .ip_dst = FUZZ_VIP_DSR, .sport = 43000,
                            .dport = 80, .ttl = 63, .tcp_flags = TCP_ACK, .payload = 10 };
    rec_vxlan(&s, FUZZ_PORT_VXLAN, FUZZ_VNI, 0x08, &p);
    p = (struct pkt_spec) { .eth_src = PEER_ROUTER, .eth_dst = ROUTER, .ip_src = FUZZ_VIP_DSR,
                            .ip_dst = "10.244.1.5", .sport = 80, .dport = 42000, .ttl = 63,
                            .tcp_flags = TCP_SYN | TCP_ACK };
    rec_vxlan(&s, FUZZ_PORT_VXLAN, FUZZ_VNI, 0x08, &p);
    write_seed(target, "overlay-dsr", s.buf, s.len);
}

/* ---- Batches for receive coalescing ---- */

static void seeds_gro(void)
{
    static struct seq s;
    static uint8_t frame[2048];
    struct pkt_spec p;

    /* One flow, five consecutive segments (the last short, with PSH); then two interleaved
     * flows; then a gap in the sequence numbers. */
    s.len = 0;
    for (int i = 0; i < 5; i++) {
        p = (struct pkt_spec) { .eth_src = PEER_ROUTER, .eth_dst = ROUTER, .ip_src = "10.244.2.7",
                                .ip_dst = "10.244.1.5", .sport = 5201, .dport = 40000,
                                .tcp_flags = TCP_ACK | (i == 4 ? 0x08 : 0),
                                .payload = i == 4 ? 300 : 1398, .ttl = 63 };
        size_t len = pkt_build(&p, frame, sizeof frame);

        ((struct tcp_header *) (frame + 34))->seq = htonl(1000 + 1398 * i);
        rec(&s, 0, NULL, frame, len);
    }
    write_seed("gro", "one-flow", s.buf, s.len);
    s.len = 0;
    for (int i = 0; i < 8; i++) {
        p = (struct pkt_spec) { .eth_src = PEER_ROUTER, .eth_dst = ROUTER, .ip_src = "10.244.2.7",
                                .ip_dst = "10.244.1.5", .sport = 5201 + i % 2, .dport = 40000,
                                .tcp_flags = TCP_ACK, .payload = 1000, .ttl = 63 };
        size_t len = pkt_build(&p, frame, sizeof frame);

        ((struct tcp_header *) (frame + 34))->seq = htonl(1000 + 1000 * (i / 2) + (i == 6 ? 7 : 0));
        rec(&s, i & 1, NULL, frame, len);
    }
    write_seed("gro", "two-flows-gap", s.buf, s.len);
}

/* ---- Frames for the parser ---- */

static void seeds_flow_key(void)
{
    static const struct pkt_spec specs[] = {
        FROM_POD1("10.244.1.6", .sport = 40000, .dport = 80),
        FROM_POD1("10.244.1.6", .proto = 17, .sport = 53, .dport = 53, .payload = 33),
        FROM_POD1("10.244.1.6", .proto = 1, .sport = 8, .payload = 56),
        FROM_POD1("10.244.1.6", .ihl = 7, .sport = 1, .dport = 2),
        FROM_POD1("10.244.1.6", .vlan = 10, .proto = 17),
        FROM_POD1("10.244.1.6", .proto = 17, .frag_off = IP_MF, .payload = 100),
        FROM_POD1("10.244.1.6", .proto = 17, .frag_off = 100, .payload = 100),
        { .eth_src = POD1, .eth_dst = BCAST, .eth_type = 0x0806, .arp_spa = "10.244.1.5",
          .arp_tpa = "10.244.1.1" },
        { .eth_src = POD1, .eth_dst = "33:33:00:00:00:01", .eth_type = 0x86dd },
    };
    static uint8_t buf[1 + sizeof(struct virtio_net_hdr) + PACKET_MAX_FRAME];
    struct virtio_net_hdr vnet = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
                                   .gso_type = VIRTIO_NET_HDR_GSO_TCPV4, .gso_size = 1410,
                                   .csum_start = 34, .csum_offset = 16 };
    struct pkt_spec big = FROM_POD1("10.244.2.7", .sport = 1, .dport = 2, .tcp_flags = TCP_ACK,
                                    .payload = 3000);
    char name[32];
    size_t len;

    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
        buf[0] = 0;
        len = pkt_build(&specs[i], buf + 1, sizeof buf - 1);
        snprintf(name, sizeof name, "frame-%zu", i);
        write_seed("flow-key", name, buf, len + 1);
    }
    buf[0] = 1;
    memcpy(buf + 1, &vnet, sizeof vnet);
    len = pkt_build(&big, buf + 1 + sizeof vnet, sizeof buf - 1 - sizeof vnet);
    write_seed("flow-key", "gso-tcp", buf, 1 + sizeof vnet + len);
    big.proto = 17;
    vnet.gso_type = 5;      /* VIRTIO_NET_HDR_GSO_UDP_L4 */
    vnet.csum_offset = 6;
    memcpy(buf + 1, &vnet, sizeof vnet);
    len = pkt_build(&big, buf + 1 + sizeof vnet, sizeof buf - 1 - sizeof vnet);
    write_seed("flow-key", "gso-udp", buf, 1 + sizeof vnet + len);
    vnet.gso_type = 0;
    memcpy(buf + 1, &vnet, sizeof vnet);
    write_seed("flow-key", "partial-csum", buf, 1 + sizeof vnet + len);
}

/* ---- Control streams ---- */

struct stream {
    uint8_t buf[1 << 16];
    size_t len;
};

static void put(struct stream *s, const Vswitch__Request *req)
{
    uint8_t *frame;
    size_t len;

    if (ctl_msg_frame(&req->base, CTL_MSG_MAX_REQUEST, &frame, &len)
        || s->len + len > sizeof s->buf) {
        fprintf(stderr, "gen-seeds: cannot frame a request\n");
        exit(1);
    }
    memcpy(s->buf + s->len, frame, len);
    s->len += len;
    free(frame);
}

static void put_simple(struct stream *s, Vswitch__Request__CommandCase which)
{
    Vswitch__Request req = VSWITCH__REQUEST__INIT;
    Vswitch__Show show = VSWITCH__SHOW__INIT;

    req.command_case = which;
    req.show = &show;       /* Every empty command has the same (empty) shape. */
    put(s, &req);
}

static void seeds_ctl(void)
{
    static struct stream s;
    Vswitch__Request req = VSWITCH__REQUEST__INIT;
    Vswitch__AddPort ap = VSWITCH__ADD_PORT__INIT;
    Vswitch__DelPort dp = VSWITCH__DEL_PORT__INIT;
    Vswitch__AddLb al = VSWITCH__ADD_LB__INIT;
    Vswitch__DelLb dl = VSWITCH__DEL_LB__INIT;
    Vswitch__AddPeer ape = VSWITCH__ADD_PEER__INIT;
    Vswitch__DelPeer dpe = VSWITCH__DEL_PEER__INIT;
    Vswitch__Batch batch = VSWITCH__BATCH__INIT;
    Vswitch__BatchOp ops[4] = { VSWITCH__BATCH_OP__INIT, VSWITCH__BATCH_OP__INIT,
                                VSWITCH__BATCH_OP__INIT, VSWITCH__BATCH_OP__INIT };
    Vswitch__BatchOp *op_ptrs[4] = { &ops[0], &ops[1], &ops[2], &ops[3] };
    char *backends[] = { "10.244.1.5:8080", "10.244.2.7:8080" };

    /* Ports: a veth (the namespace's lo), a TAP with pod metadata. */
    s.len = 0;
    s.buf[s.len++] = 255;
    put_simple(&s, VSWITCH__REQUEST__COMMAND_SHOW);
    ap.name = "lo";
    ap.ip = "10.244.1.5";
    ap.mac = "02:00:00:00:01:05";
    req.command_case = VSWITCH__REQUEST__COMMAND_ADD_PORT;
    req.add_port = &ap;
    put(&s, &req);
    ap.name = "tap-fuzz";
    ap.ip = "10.244.1.6";
    ap.mac = "";
    ap.type = "tap";
    ap.pod_namespace = "default";
    ap.pod_name = "web-0";
    ap.container_id = "0123456789abcdef";
    ap.ifname = "eth0";
    put(&s, &req);
    put_simple(&s, VSWITCH__REQUEST__COMMAND_SHOW);
    put_simple(&s, VSWITCH__REQUEST__COMMAND_DUMP_FLOWS);
    dp.name = "tap-fuzz";
    req.command_case = VSWITCH__REQUEST__COMMAND_DEL_PORT;
    req.del_port = &dp;
    put(&s, &req);
    dp.name = "lo";
    put(&s, &req);
    write_seed("ctl", "ports", s.buf, s.len);

    /* Policies and peers, one by one and in a batch; flush; an empty request. */
    s.len = 0;
    s.buf[s.len++] = 7;
    al.service = "10.96.0.10:80/tcp";
    al.n_backends = 2;
    al.backends = backends;
    al.affinity_timeout = 60;
    al.name = "default/web:http";
    req.command_case = VSWITCH__REQUEST__COMMAND_ADD_LB;
    req.add_lb = &al;
    put(&s, &req);
    put_simple(&s, VSWITCH__REQUEST__COMMAND_DUMP_POLICIES);
    dl.service = "10.96.0.10:80/tcp";
    req.command_case = VSWITCH__REQUEST__COMMAND_DEL_LB;
    req.del_lb = &dl;
    put(&s, &req);
    ape.node_ip = "192.168.50.2";
    ape.pod_cidr = "10.244.2.0/24";
    req.command_case = VSWITCH__REQUEST__COMMAND_ADD_PEER;
    req.add_peer = &ape;
    put(&s, &req);
    dpe.node_ip = "192.168.50.2";
    req.command_case = VSWITCH__REQUEST__COMMAND_DEL_PEER;
    req.del_peer = &dpe;
    put(&s, &req);
    ops[0].op_case = VSWITCH__BATCH_OP__OP_ADD_LB;
    ops[0].add_lb = &al;
    ops[1].op_case = VSWITCH__BATCH_OP__OP_ADD_PEER;
    ops[1].add_peer = &ape;
    ops[2].op_case = VSWITCH__BATCH_OP__OP_DEL_LB;
    ops[2].del_lb = &dl;
    ops[3].op_case = VSWITCH__BATCH_OP__OP_DEL_PEER;
    ops[3].del_peer = &dpe;
    batch.n_ops = 4;
    batch.ops = op_ptrs;
    req.command_case = VSWITCH__REQUEST__COMMAND_BATCH;
    req.batch = &batch;
    put(&s, &req);
    batch.n_ops = 2;
    put(&s, &req);
    put_simple(&s, VSWITCH__REQUEST__COMMAND_FLUSH_FLOWS);
    put_simple(&s, VSWITCH__REQUEST__COMMAND_SHOW);
    req.command_case = VSWITCH__REQUEST__COMMAND__NOT_SET;
    put(&s, &req);
    write_seed("ctl", "policies-peers", s.buf, s.len);
}

int main(int argc, char *argv[])
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
        return 2;
    }
    outdir = argv[1];
    mkdir(outdir, 0755);
    seeds_flow_key();
    seeds_pipeline("pipeline", false);
    seeds_pipeline("overlay", true);
    seeds_ctl();
    seeds_gro();
    return 0;
}
