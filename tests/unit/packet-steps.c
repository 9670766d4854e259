/* Table-driven packet steps; see packet-steps.h. */
#include "packet-steps.h"

#include <criterion/criterion.h>
#include <string.h>

#include "dp/net-headers.h"

int packet_step_run(struct scene *s, const char *name, size_t i, const struct packet_step *st,
                    uint8_t *out, size_t size)
{
    static uint8_t want[2048];
    char got_s[256], want_s[256];
    const char *port = NULL;
    uint64_t drops_before = st->verdict ? scene_drops(s, st->verdict) : 0;
    int verdict = scene_inject(s, st->in, &st->pkt, NULL), len = -1, n = 0, r;
    size_t want_len;

    cr_assert_eq(verdict, (int) st->verdict, "%s, step %zu: verdict %s, want %s", name, i,
                 verdict >= 0 ? drop_reason_name(verdict) : strerror(-verdict),
                 drop_reason_name(st->verdict));
    while ((r = scene_take(s, out, size, &port, NULL)) >= 0) {
        len = r;
        n++;
    }
    if (st->verdict) {
        cr_assert_eq(n, 0, "%s, step %zu: a dropped packet went out on %s", name, i, port);
        cr_expect_eq(scene_drops(s, st->verdict), drops_before + 1, "%s, step %zu: counted",
                     name, i);
        return -1;
    }
    cr_assert_eq(n, 1, "%s, step %zu: %d packets out", name, i, n);
    cr_assert_str_eq(port, st->out, "%s, step %zu: out on %s", name, i, port);
    if (st->want.eth_type && st->want.eth_type != ETH_TYPE_IPV4) {
        return len;
    }
    want_len = pkt_build(&st->want, want, sizeof want);
    pkt_describe(out, len, got_s, sizeof got_s);
    pkt_describe(want, want_len, want_s, sizeof want_s);
    cr_expect(!strcmp(got_s, want_s), "%s, step %zu:\n    got  %s\n    want %s", name, i,
              got_s, want_s);
    cr_expect(pkt_ip_csum_ok(out, len), "%s, step %zu: IPv4 header checksum", name, i);
    if (!(st->want.frag_off & IP_FRAG_OFF_MASK)) {
        cr_expect(pkt_l4_csum_ok(out, len), "%s, step %zu: L4 checksum", name, i);
    }
    if (!st->made) {
        cr_expect(len == (int) want_len && !memcmp(out, want, want_len),
                  "%s, step %zu: the bytes differ from the expected packet", name, i);
    }
    return len;
}
