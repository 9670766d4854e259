/* Flow pairs: lookup in both directions, state and timeouts, expiry, eviction, and adoption
 * of the table from its file after a restart. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "dp/conntrack.h"
#include "dp/net-headers.h"

static const struct ct_timeouts timeouts = {
    .tcp_syn_sent_ms = 30000, .tcp_established_ms = 240000, .tcp_closing_ms = 30000,
    .tcp_closed_ms = 10000, .udp_unreplied_ms = 30000, .udp_replied_ms = 120000,
};

static struct ct_tuple tuple(uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport)
{
    struct ct_tuple t = {
        .src = htonl(src), .dst = htonl(dst), .sport = htons(sport), .dport = htons(dport),
        .proto = IP_PROTO_TCP,
    };
    return t;
}

Test(conntrack, both_directions_and_states)
{
    struct ct_table ct;
    struct ct_tuple orig = tuple(0x0af40105, 0x0a60000a, 40000, 80);
    struct ct_tuple reply = tuple(0x0af40106, 0x0af40105, 8080, 40000);
    struct ct_conn *conn;
    enum ct_dir dir;

    ct_init(&ct, 64, &timeouts);
    conn = ct_create(&ct, &orig, &reply, 3, true, 1000);
    cr_assert_eq(ct_lookup(&ct, &orig, &dir), conn);
    cr_assert_eq(dir, CT_DIR_ORIG);
    cr_assert_eq(ct_lookup(&ct, &reply, &dir), conn);
    cr_assert_eq(dir, CT_DIR_REPLY);
    cr_expect_eq(conn->state, CT_SYN_SENT);
    ct_update(&ct, conn, CT_DIR_REPLY, TCP_SYN | TCP_ACK, 60, 1001);
    cr_expect_eq(conn->state, CT_ESTABLISHED);
    cr_expect_eq(conn->timeout_ms, 240000u);
    ct_update(&ct, conn, CT_DIR_ORIG, TCP_FIN | TCP_ACK, 60, 1002);
    cr_expect_eq(conn->state, CT_CLOSING);
    ct_update(&ct, conn, CT_DIR_REPLY, TCP_FIN | TCP_ACK, 60, 1003);
    cr_expect_eq(conn->state, CT_CLOSED);
    cr_expect_eq(conn->timeout_ms, 10000u, "FIN both ways shortens the TTL");
    cr_expect_eq(ct_expire(&ct, 5000, ct.capacity, NULL, NULL), 0u);
    cr_expect_eq(ct_expire(&ct, 20000, ct.capacity, NULL, NULL), 1u);
    cr_expect_null(ct_lookup(&ct, &orig, &dir));
    ct_destroy(&ct);
}

Test(conntrack, full_table_evicts_and_counts)
{
    struct ct_table ct;

    ct_init(&ct, 16, &timeouts);
    for (uint32_t i = 0; i < 20; i++) {
        struct ct_tuple o = tuple(0x0a000001, 0x0a600001, 1000 + i, 80);
        struct ct_tuple r = tuple(0x0a000002, 0x0a000001, 80, 1000 + i);

        cr_assert_not_null(ct_create(&ct, &o, &r, 0, true, 0));
    }
    cr_expect_eq(ct.n_conns, 16u);
    cr_expect_eq(ct.evictions, 4u);
    ct_destroy(&ct);
}

Test(conntrack, a_restart_adopts_the_pairs_from_the_file)
{
    char path[] = "/tmp/vswitch-ct-XXXXXX";
    struct ct_tuple orig = tuple(0x0af40105, 0x0a60000a, 40000, 80);
    struct ct_tuple reply = tuple(0x0af40106, 0x0af40105, 8080, 40000);
    struct ct_table ct;
    struct ct_conn *conn;
    enum ct_dir dir;
    int fd = mkstemp(path);

    cr_assert(fd >= 0);
    close(fd);
    cr_assert_eq(ct_init_file(&ct, 64, &timeouts, path), 0, "a new file adopts nothing");
    for (int i = 0; i < 5; i++) {
        struct ct_tuple o = tuple(0x0af40105, 0x0a60000b, 1000 + i, 53);
        struct ct_tuple r = tuple(0x0af40107, 0x0af40105, 53, 1000 + i);

        ct_create(&ct, &o, &r, 1, true, 500);
    }
    conn = ct_create(&ct, &orig, &reply, 3, true, 1000);
    ct_update(&ct, conn, CT_DIR_REPLY, TCP_SYN | TCP_ACK, 60, 1001);
    ct_destroy(&ct);            /* As a crash would leave it: the file stays. */

    cr_assert_eq(ct_init_file(&ct, 64, &timeouts, path), 6, "all pairs adopted");
    conn = ct_lookup(&ct, &reply, &dir);
    cr_assert_not_null(conn, "found by the reply tuple");
    cr_expect_eq(dir, CT_DIR_REPLY);
    cr_expect_eq(conn->state, CT_ESTABLISHED);
    cr_expect_eq(ct_lookup(&ct, &orig, &dir), conn);
    /* The free list was rebuilt: new pairs still fit. */
    for (int i = 0; i < 58; i++) {
        struct ct_tuple o = tuple(0x0af40108, 0x0a60000b, 2000 + i, 53);
        struct ct_tuple r = tuple(0x0af40107, 0x0af40108, 53, 2000 + i);

        ct_create(&ct, &o, &r, 1, true, 2000);
    }
    cr_expect_eq(ct.n_conns, 64u);
    cr_expect_eq(ct.evictions, 0u);
    ct_destroy(&ct);

    cr_assert_eq(ct_init_file(&ct, 128, &timeouts, path), 0,
                 "another capacity: nothing is trusted");
    ct_destroy(&ct);
    unlink(path);
}

Test(conntrack, one_owner_per_file)
{
    char path[] = "/tmp/vswitch-ct-XXXXXX";
    struct ct_table a, b;
    int fd = mkstemp(path);

    cr_assert(fd >= 0);
    close(fd);
    cr_assert_geq(ct_init_file(&a, 64, &timeouts, path), 0);
    cr_assert_eq(ct_init_file(&b, 64, &timeouts, path), -EBUSY,
                 "a second switch must not share the table");
    cr_assert_eq(b.map_size, 0u, "it falls back to its own memory");
    ct_destroy(&b);
    ct_destroy(&a);
    cr_assert_geq(ct_init_file(&b, 64, &timeouts, path), 0, "free again once the owner is gone");
    ct_destroy(&b);
    unlink(path);
}
