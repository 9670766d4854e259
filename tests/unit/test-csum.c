/* Incremental checksum updates (RFC 1624) checked against full recomputation, including the
 * corner values where RFC 1141's form goes wrong. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <stdlib.h>

#include "dp/csum.h"

static be16 full(const uint16_t *words, size_t n)
{
    uint16_t be[16];

    for (size_t i = 0; i < n; i++) {
        be[i] = htons(words[i]);
    }
    return csum_finish(csum_partial(be, n * 2, 0));
}

Test(csum, rfc1071_example)
{
    /* RFC 1071 section 3: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2. */
    static const uint8_t data[] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };

    cr_assert_eq(csum_partial(data, sizeof data, 0) % 0xffff, 0xddf2u);
}

Test(csum, odd_length)
{
    static const uint8_t data[] = { 0x12, 0x34, 0x56 };

    cr_assert_eq(csum_partial(data, sizeof data, 0), 0x1234u + 0x5600u);
}

struct update_case {
    uint16_t words[4];
    int index;
    uint16_t new_value;
};

Test(csum, update16_matches_recompute)
{
    static const struct update_case cases[] = {
        { { 0x4500, 0x0073, 0x0000, 0x4000 }, 2, 0x1234 },
        { { 0xffff, 0x0000, 0x0000, 0x0000 }, 0, 0x0000 },    /* RFC 1624 section 3. */
        { { 0x0000, 0x0000, 0x0000, 0x0001 }, 3, 0x0000 },    /* Sum becomes all zero. */
        { { 0x4011, 0xc0a8, 0x0001, 0xffff }, 0, 0x3f11 },    /* TTL decrement. */
        { { 0x8000, 0x8000, 0x7fff, 0x7fff }, 1, 0xffff },
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint16_t w[4];
        be16 before, after;

        memcpy(w, cases[i].words, sizeof w);
        before = full(w, 4);
        w[cases[i].index] = cases[i].new_value;
        after = csum_update16(before, htons(cases[i].words[cases[i].index]),
                              htons(cases[i].new_value));
        /* 0x0000 and 0xffff are the same number in ones' complement; the update may give
         * either when the data sums to zero. */
        if (full(w, 4) == 0xffff || full(w, 4) == 0) {
            cr_expect(after == 0 || after == 0xffff, "case %zu", i);
        } else {
            cr_expect_eq(after, full(w, 4), "case %zu: got %04x want %04x", i, ntohs(after),
                         ntohs(full(w, 4)));
        }
    }
}

Test(csum, update32_random_against_recompute)
{
    srand(42);
    for (int round = 0; round < 10000; round++) {
        uint16_t w[6];
        uint32_t old32, new32;
        be16 before, after, want;

        for (int i = 0; i < 6; i++) {
            w[i] = rand();
        }
        before = full(w, 6);
        old32 = htonl((uint32_t) w[2] << 16 | w[3]);
        new32 = rand();
        w[2] = new32 >> 16;
        w[3] = new32 & 0xffff;
        want = full(w, 6);
        after = csum_update32(before, old32, htonl(new32));
        if (want == 0 || want == 0xffff) {
            continue;
        }
        cr_assert_eq(after, want, "round %d", round);
    }
}

Test(csum, partial_pseudo_header_update)
{
    /* A partial checksum field holds the folded, uncomplemented pseudo-header sum. */
    uint8_t pseudo[12] = { 10, 0, 0, 1, 10, 0, 0, 2, 0, 6, 0, 40 };
    uint32_t sum = csum_partial(pseudo, sizeof pseudo, 0);
    be16 field = (be16) ~csum_finish(sum);
    be32 old_dst, new_dst;
    uint32_t new_sum;

    memcpy(&old_dst, pseudo + 4, 4);
    pseudo[4] = 192;
    pseudo[7] = 9;
    memcpy(&new_dst, pseudo + 4, 4);
    new_sum = csum_partial(pseudo, sizeof pseudo, 0);
    cr_assert_eq(csum_update32_partial(field, old_dst, new_dst), (be16) ~csum_finish(new_sum));
}
