/* libFuzzer target: the whole datapath pipeline (parse, port security, ARP responder, flow
 * cache, flow pairs, LB with Maglev and affinity, DNAT/SNAT with incremental checksums, ICMP
 * error translation, fragments, routing, reject) on a sequence of arbitrary frames injected
 * into the dummy ports of a fixed scene (fuzz-dp.h), single node.  The datapath thread is not
 * started, so every frame runs synchronously in this thread.
 *
 * Besides the sanitizers, each frame is checked against what the switch promises:
 *   - dp_inject() says forwarded (0) exactly when one frame came out, and a drop reason
 *     otherwise;
 *   - a pod port never lets out a frame with another source MAC or IPv4 address (anything
 *     but an answer back to the sender);
 *   - nothing is flooded: no frame leaves with a multicast destination MAC, and a frame for
 *     a pod carries that pod's MAC;
 *   - a well-formed IPv4 frame with correct checksums leaves with correct checksums, however
 *     it was translated (RFC 1624), and any frame the switch makes (RST, ICMP) is correct. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "fuzz-check.h"
#include "fuzz-dp.h"
#include "dp/packet.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct dp *dp;
static bool replaced;
static uint8_t out[PACKET_MAX_FRAME];
static const char *const port_names[] = { "pod1", "pod2", "pod3", "vsw0" };
#define N_PORTS (sizeof port_names / sizeof port_names[0])

#define CHECK(cond, ...)                                                        \
    do {                                                                        \
        if (!(cond)) {                                                          \
            fprintf(stderr, "fuzz-pipeline: " __VA_ARGS__);                     \
            fprintf(stderr, "\n");                                              \
            abort();                                                            \
        }                                                                       \
    } while (0)

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    dp = fuzz_scene(0);
    return 0;
}

static bool is_spoofed(size_t port, const uint8_t *f, size_t len)
{
    struct eth_addr mac;
    be32 ip;

    if (port >= 2 || len < 14) {
        return false;               /* pod3 learns; the host port may send anything. */
    }
    addr_parse_mac(FUZZ_PODS[port].mac, &mac);
    if (memcmp(f + 6, mac.a, 6)) {
        return true;
    }
    ip = fuzz_ip(FUZZ_PODS[port].ip);
    return f[12] == 0x08 && f[13] == 0x00 && len >= 34 && memcmp(f + 26, &ip, 4);
}

static void run_record(const struct fuzz_record *r)
{
    size_t in_port = (r->ctl & REC_PORT_MASK) % N_PORTS;
    bool partial = r->vnet && (r->vnet->flags || r->vnet->gso_type);
    bool spoofed = is_spoofed(in_port, r->frame, r->len);
    struct fuzz_frame in;
    bool in_ok;
    int verdict, n_out = 0;

    if (r->ctl & REC_REPLACE) {
        fuzz_set_dsr_policy(dp, false, !replaced);
        replaced = !replaced;
    }
    if (r->ctl & REC_FLUSH_ALL) {
        dp_conn_flush(dp);
    } else if (r->ctl & REC_FLUSH) {
        dp_flow_flush(dp);
    }

    fuzz_frame_check(r->frame, r->len, &in);
    in_ok = in.ipv4 && in.ip_csum_ok && (!in.l4_checkable || in.l4_csum_ok) && !partial;

    verdict = dp_inject(dp, port_names[in_port], r->frame, r->len, r->vnet);
    if (r->len > PACKET_MAX_FRAME) {
        CHECK(verdict == -EMSGSIZE, "oversized frame: verdict %d", verdict);
        return;
    }
    CHECK(verdict >= 0 && verdict < DROP_N_REASONS, "verdict %d out of range", verdict);

    for (size_t p = 0; p < N_PORTS; p++) {
        struct virtio_net_hdr vnet;
        int len;

        while ((len = dp_dummy_take(dp, port_names[p], out, sizeof out, &vnet)) >= 0) {
            struct fuzz_frame of;

            n_out++;
            CHECK(len >= 14, "a %d-byte frame left on %s", len, port_names[p]);
            /* An answer goes to the asker's MAC, whatever it is (the host port's source
             * MAC is not checked); anything else must be unicast. */
            CHECK(!(out[0] & 1) || (r->len >= 12 && !memcmp(out, r->frame + 6, 6)),
                  "a multicast/broadcast frame left on %s", port_names[p]);
            CHECK(!spoofed || p == in_port, "a frame spoofed on %s left on %s",
                  port_names[in_port], port_names[p]);
            if (p < 2) {
                struct eth_addr mac;

                addr_parse_mac(FUZZ_PODS[p].mac, &mac);
                CHECK(!memcmp(out, mac.a, 6), "a frame for another MAC left on %s",
                      port_names[p]);
            }
            fuzz_frame_check(out, len, &of);
            if (in_ok && of.ipv4) {
                CHECK(of.ip_csum_ok, "bad IPv4 header checksum out of %s on %s "
                      "(the input's was good)", port_names[in_port], port_names[p]);
                CHECK(!of.l4_checkable || of.l4_csum_ok
                      || (vnet.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM),
                      "bad L4 (proto %u) checksum out of %s on %s (the input's was good)",
                      of.proto, port_names[in_port], port_names[p]);
            }
        }
    }
    CHECK(verdict ? n_out == 0 : n_out == 1, "verdict %d but %d frame(s) out", verdict, n_out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_record r;

    fuzz_scene_reset(dp, false, &replaced);
    while (fuzz_record_next(&data, &size, &r)) {
        run_record(&r);
    }
    fuzz_dump_all(dp);
    return 0;
}
