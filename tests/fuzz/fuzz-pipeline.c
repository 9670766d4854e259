/* libFuzzer target: the whole datapath pipeline (parse, port security, ARP responder, flow
 * cache, flow pairs, LB with Maglev and affinity, DNAT/SNAT with incremental checksums, ICMP
 * error translation, fragments, routing, reject) on a sequence of arbitrary frames injected
 * into the dummy ports of a fixed scene (fuzz-dp.h), single node.  The datapath thread is not
 * started, so every frame runs synchronously in this thread.
 *
 * Besides the sanitizers, each frame is checked against what the switch promises:
 *   - dp_inject() says forwarded (0) exactly when one frame came out, and a drop reason
 *     otherwise;
 *   - what fuzz_check_sent() checks of every frame that leaves: nothing flooded, nothing
 *     spoofed let out, a pod's frames for its MAC, checksums kept right (RFC 1624) and right
 *     in any frame the switch makes (RST, ICMP). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "fuzz-dp.h"
#include "dp/packet.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct fuzz_scene fs;
static uint8_t out[PACKET_MAX_FRAME];
static const char *const port_names[] = { "pod1", "pod2", "pod3", "vsw0" };
#define N_PORTS (sizeof port_names / sizeof port_names[0])

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_scene_open(&fs, 0);
    return 0;
}

static void run_record(const struct fuzz_record *r)
{
    struct fuzz_input in = { .r = r, .port = (r->ctl & REC_PORT_MASK) % N_PORTS,
                             .from_pod = true, .ok = fuzz_input_ok(r) };
    int verdict, n_out = 0;

    in.spoofed = fuzz_pod_spoofs(in.port, r->frame, r->len);
    fuzz_record_prepare(&fs, r);
    verdict = dp_inject(fs.s->dp, port_names[in.port], r->frame, r->len, r->vnet);
    if (r->len > PACKET_MAX_FRAME) {
        FUZZ_CHECK(verdict == -EMSGSIZE, "oversized frame: verdict %d", verdict);
        return;
    }
    FUZZ_CHECK(verdict >= 0 && verdict < DROP_N_REASONS, "verdict %d out of range", verdict);

    for (size_t p = 0; p < N_PORTS; p++) {
        struct virtio_net_hdr vnet;
        int len;

        while ((len = dp_dummy_take(fs.s->dp, port_names[p], out, sizeof out, &vnet)) >= 0) {
            n_out++;
            fuzz_check_sent(&in, p, port_names[p], out, len, &vnet);
        }
    }
    FUZZ_CHECK(verdict ? n_out == 0 : n_out == 1, "verdict %d but %d frame(s) out", verdict,
               n_out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_run_input(&fs, data, size, run_record);
    return 0;
}
