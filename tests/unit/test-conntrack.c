/* Flow pairs: lookup in both directions, state and timeouts, expiry, eviction (which pairs
 * a full table gives up, which it keeps, the limit per client), and adoption of the table
 * from its file after a restart.  Last, the same through the datapath: the drop reasons of
 * refused connections. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "dp/conntrack.h"
#include "dp/dp.h"
#include "dp/net-headers.h"
#include "lib/addr.h"
#include "lib/log.h"
#include "pkt-builder.h"
#include "scene.h"

/* Refusals are logged: keep the test output for failures. */
static void quiet(void)
{
    log_set_level(LOG_LVL_ERR);
}

TestSuite(conntrack, .init = quiet);

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

#define VIP 0x0a60000a
#define BACKEND 0x0af40106

/* A TCP connection from client:sport to the VIP, balanced to the backend; or NULL with
 * '*error' when refused. */
static struct ct_conn *connect_from(struct ct_table *ct, uint32_t client, uint16_t sport,
                                    uint64_t now_ms, int *error)
{
    struct ct_tuple o = tuple(client, VIP, sport, 80), r = tuple(BACKEND, client, 8080, sport);
    struct ct_conn *conn = NULL;
    int e = ct_create(ct, &o, &r, 1, true, now_ms, &conn);

    if (error) {
        *error = e;
    }
    cr_assert(e || conn);
    return e ? NULL : conn;
}

/* The three-way handshake: SYN (at creation), SYN-ACK, ACK. */
static void handshake(struct ct_table *ct, struct ct_conn *conn, uint64_t now_ms)
{
    ct_update(ct, conn, CT_DIR_REPLY, TCP_SYN | TCP_ACK, 60, now_ms);
    ct_update(ct, conn, CT_DIR_ORIG, TCP_ACK, 52, now_ms);
}

static bool alive(const struct ct_table *ct, uint32_t client, uint16_t sport)
{
    struct ct_tuple o = tuple(client, VIP, sport, 80);
    enum ct_dir dir;

    return ct_lookup(ct, &o, &dir) != NULL;
}

/* Walks every list and checks it against the pairs: each pair on its class's two lists once,
 * circular links consistent, source counts summing to the table's. */
static void check_invariants(const struct ct_table *ct)
{
    uint32_t n_listed[CT_N_LISTS] = { 0 }, n_unlisted = 0, n_pairs = 0, n_sources = 0;

    CT_FOR_EACH (conn, ct) {
        const struct ct_source *src;

        cr_assert_neq(conn->source, 0u);
        src = &ct->sources[conn->source - 1];
        cr_assert_eq(src->ip, conn->tuple[CT_DIR_ORIG].src);
        cr_assert_leq(conn->evict_class, CT_CLASS_ASSURED);
        if (conn->evict_class < CT_N_LISTS) {
            n_listed[conn->evict_class]++;
        } else {
            n_unlisted++;
        }
    }
    for (int c = 0; c < CT_N_LISTS; c++) {
        uint32_t n = 0, ref = ct->class_head[c];

        while (ref) {
            const struct ct_conn *conn = &ct->conns[ref - 1];

            cr_assert(conn->in_use);
            cr_assert_eq(conn->evict_class, (uint8_t) c);
            cr_assert_eq(ct->conns[conn->class_link[1] - 1].class_link[0], ref);
            n++;
            cr_assert_leq(n, ct->n_conns, "list %d loops", c);
            ref = conn->class_link[1];
            if (ref == ct->class_head[c]) {
                break;
            }
        }
        cr_assert_eq(n, n_listed[c], "class %d: %u listed of %u", c, n, n_listed[c]);
    }
    for (uint32_t s = 0; s < ct->source_used; s++) {
        const struct ct_source *src = &ct->sources[s];

        if (!src->n_pairs) {
            continue;
        }
        n_sources++;
        n_pairs += src->n_pairs;
        cr_assert_eq(ct_source_pairs(ct, src->ip), src->n_pairs);
        for (int c = 0; c < CT_N_LISTS; c++) {
            for (uint32_t ref = src->head[c], n = 0; ref; n++) {
                const struct ct_conn *conn = &ct->conns[ref - 1];

                cr_assert(conn->in_use);
                cr_assert_eq(conn->source, s + 1);
                cr_assert_eq(conn->evict_class, (uint8_t) c);
                cr_assert_leq(n, src->n_pairs);
                ref = conn->source_link[1];
                if (ref == src->head[c]) {
                    break;
                }
            }
        }
    }
    cr_assert_eq(n_pairs, ct->n_conns);
    cr_assert_eq(n_sources, ct->n_sources);
    cr_assert_eq(n_listed[0] + n_listed[1] + n_listed[2] + n_unlisted, ct->n_conns);
}

Test(conntrack, both_directions_and_states)
{
    struct ct_table ct;
    struct ct_tuple orig = tuple(0x0af40105, 0x0a60000a, 40000, 80);
    struct ct_tuple reply = tuple(0x0af40106, 0x0af40105, 8080, 40000);
    struct ct_conn *conn;
    enum ct_dir dir;

    ct_init(&ct, 64, &timeouts);
    cr_assert_eq(ct_create(&ct, &orig, &reply, 3, true, 1000, &conn), 0);
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
        cr_assert_not_null(connect_from(&ct, 0x0af40102, 1000 + i, 0, NULL));
    }
    cr_expect_eq(ct.n_conns, 16u);
    cr_expect_eq(ct.evictions, 4u);
    cr_expect_eq(ct.evicted[CT_EVICTED_UNASSURED], 4u);
    for (uint32_t i = 0; i < 4; i++) {
        cr_expect_not(alive(&ct, 0x0af40102, 1000 + i), "the oldest went first");
    }
    check_invariants(&ct);
    ct_destroy(&ct);
}

Test(conntrack, assured_is_the_client_after_the_backend)
{
    struct ct_tuple o = tuple(0x0af40105, VIP, 5353, 53), r = tuple(BACKEND, 0x0af40105, 53, 5353);
    struct ct_conn *conn;
    struct ct_table ct;

    ct_init(&ct, 16, &timeouts);
    conn = connect_from(&ct, 0x0af40105, 40000, 0, NULL);
    cr_expect_eq(conn->evict_class, CT_CLASS_UNASSURED, "SYN");
    ct_update(&ct, conn, CT_DIR_ORIG, TCP_SYN, 60, 1);
    cr_expect_eq(conn->evict_class, CT_CLASS_UNASSURED, "SYN again");
    ct_update(&ct, conn, CT_DIR_REPLY, TCP_SYN | TCP_ACK, 60, 2);
    cr_expect_eq(conn->state, CT_ESTABLISHED);
    cr_expect_eq(conn->evict_class, CT_CLASS_UNASSURED, "SYN-ACK, no ACK: a half-open flood");
    ct_update(&ct, conn, CT_DIR_ORIG, TCP_ACK, 52, 3);
    cr_expect_eq(conn->evict_class, CT_CLASS_ASSURED, "the client's ACK");
    ct_update(&ct, conn, CT_DIR_ORIG, TCP_FIN | TCP_ACK, 52, 4);
    cr_expect_eq(conn->evict_class, CT_CLASS_CLOSING);
    ct_update(&ct, conn, CT_DIR_REPLY, TCP_FIN | TCP_ACK, 52, 5);
    cr_expect_eq(conn->evict_class, CT_CLASS_CLOSED);
    ct_update(&ct, conn, CT_DIR_ORIG, TCP_SYN, 60, 6);
    cr_expect_eq(conn->state, CT_SYN_SENT, "the port reused");
    cr_expect_eq(conn->evict_class, CT_CLASS_UNASSURED, "a new connection starts unassured");
    ct_update(&ct, conn, CT_DIR_REPLY, TCP_RST | TCP_ACK, 40, 7);
    cr_expect_eq(conn->evict_class, CT_CLASS_CLOSED, "RST");

    o.proto = r.proto = IP_PROTO_UDP;
    cr_assert_eq(ct_create(&ct, &o, &r, 2, true, 10, &conn), 0);
    cr_expect_eq(conn->evict_class, CT_CLASS_UNASSURED, "a datagram");
    ct_update(&ct, conn, CT_DIR_ORIG, 0, 60, 11);
    cr_expect_eq(conn->evict_class, CT_CLASS_UNASSURED, "more, unanswered");
    ct_update(&ct, conn, CT_DIR_REPLY, 0, 60, 12);
    cr_expect_eq(conn->state, CT_UDP_REPLIED);
    cr_expect_eq(conn->evict_class, CT_CLASS_UNASSURED, "one answer: a probe, a DNS query");
    ct_update(&ct, conn, CT_DIR_ORIG, 0, 60, 20);
    ct_update(&ct, conn, CT_DIR_REPLY, 0, 60, 30);
    cr_expect_eq(conn->evict_class, CT_CLASS_UNASSURED, "a DNS query's twin (A, then AAAA)");
    ct_update(&ct, conn, CT_DIR_ORIG, 0, 60, 2010);
    cr_expect_eq(conn->evict_class, CT_CLASS_ASSURED, "still talking after 2 s: a stream");
    check_invariants(&ct);
    ct_destroy(&ct);
}

Test(conntrack, a_full_table_never_evicts_an_assured_pair)
{
    struct ct_table ct;
    int error;

    ct_init(&ct, 16, &timeouts);
    for (uint16_t i = 0; i < 16; i++) {
        handshake(&ct, connect_from(&ct, 0x0af40103, 1000 + i, 0, NULL), 1);
    }
    for (uint16_t i = 0; i < 100; i++) {
        cr_expect_null(connect_from(&ct, 0x0af40102, 2000 + i, 2, &error));
        cr_expect_eq(error, -ENOSPC);
    }
    cr_expect_eq(ct.refused[CT_REFUSED_TABLE_FULL], 100u);
    cr_expect_eq(ct.evictions, 0u);
    for (uint16_t i = 0; i < 16; i++) {
        cr_expect(alive(&ct, 0x0af40103, 1000 + i));
    }
    cr_expect_eq(ct_source_pairs(&ct, htonl(0x0af40102)), 0u, "nothing held for the refused");

    for (uint16_t i = 1; i < 16; i++) {
        struct ct_tuple o = tuple(0x0af40103, VIP, 1000 + i, 80);
        enum ct_dir dir;

        ct_update(&ct, ct_lookup(&ct, &o, &dir), CT_DIR_ORIG, TCP_ACK, 52, 200000);
    }
    /* Idle past the TTL but not swept yet: fair game. */
    cr_expect_not_null(connect_from(&ct, 0x0af40102, 3000, 241002, &error));
    cr_expect_not(alive(&ct, 0x0af40103, 1000));
    cr_expect_eq(ct.n_conns, 16u);
    cr_expect_eq(ct.evictions, 0u, "expired, not evicted");
    check_invariants(&ct);
    ct_destroy(&ct);
}

/* With the day-long established timeout, a full table of assured pairs still makes room:
 * the idlest of a sample, once it has been silent for 5 minutes; a pair in use is kept, and
 * before 5 minutes of silence the new connection is refused as before. */
Test(conntrack, a_full_table_evicts_an_assured_pair_silent_for_minutes)
{
    static const struct ct_timeouts day = {
        .tcp_syn_sent_ms = 30000, .tcp_established_ms = 86400000, .tcp_closing_ms = 30000,
        .tcp_closed_ms = 10000, .udp_unreplied_ms = 30000, .udp_replied_ms = 120000,
    };
    struct ct_table ct;
    int error;

    ct_init(&ct, 16, &day);
    for (uint16_t i = 0; i < 16; i++) {
        handshake(&ct, connect_from(&ct, 0x0af40103, 1000 + i, 0, NULL), 1);
    }
    cr_expect_null(connect_from(&ct, 0x0af40102, 2000, 299000, &error),
                   "silent for less than 5 minutes: kept");
    cr_expect_eq(error, -ENOSPC);
    /* All but port 1005 go quiet; port 1003 went quiet first. */
    for (uint16_t i = 0; i < 16; i++) {
        struct ct_tuple o = tuple(0x0af40103, VIP, 1000 + i, 80);
        enum ct_dir dir;

        ct_update(&ct, ct_lookup(&ct, &o, &dir), CT_DIR_ORIG, TCP_ACK, 52,
                  i == 3 ? 1000 : i == 5 ? 400000 : 2000);
    }
    cr_expect_not_null(connect_from(&ct, 0x0af40102, 2001, 400000, &error));
    cr_expect_eq(ct.evicted[CT_EVICTED_IDLE], 1u);
    cr_expect_not(alive(&ct, 0x0af40103, 1003), "the idlest went");
    cr_expect(alive(&ct, 0x0af40103, 1005), "the one in use stays");
    cr_expect_eq(ct.n_conns, 16u);
    check_invariants(&ct);
    ct_destroy(&ct);
}

Test(conntrack, a_full_table_gives_up_closed_then_unassured_then_closing)
{
    struct ct_conn *closed, *closing;
    struct ct_table ct;
    int error;

    ct_init(&ct, 16, &timeouts);
    /* Oldest first: a closing pair, then an unassured one, a closed one, and assured ones. */
    closing = connect_from(&ct, 0x0af40103, 1, 0, NULL);
    handshake(&ct, closing, 0);
    ct_update(&ct, closing, CT_DIR_ORIG, TCP_FIN | TCP_ACK, 52, 0);
    connect_from(&ct, 0x0af40103, 2, 0, NULL);
    closed = connect_from(&ct, 0x0af40103, 3, 0, NULL);
    handshake(&ct, closed, 0);
    ct_update(&ct, closed, CT_DIR_REPLY, TCP_RST, 40, 0);
    for (uint16_t i = 4; i <= 16; i++) {
        handshake(&ct, connect_from(&ct, 0x0af40103, i, 0, NULL), 0);
    }

    cr_assert_not_null(connect_from(&ct, 0x0af40102, 100, 1, NULL));
    cr_expect_not(alive(&ct, 0x0af40103, 3), "the closed pair first");
    cr_expect(alive(&ct, 0x0af40103, 1));
    cr_expect(alive(&ct, 0x0af40103, 2));
    cr_expect_eq(ct.evicted[CT_EVICTED_CLOSED], 1u);

    cr_assert_not_null(connect_from(&ct, 0x0af40102, 101, 1, NULL));
    cr_expect_not(alive(&ct, 0x0af40103, 2), "then the unassured, though newer than closing");
    cr_expect(alive(&ct, 0x0af40102, 100));
    cr_expect(alive(&ct, 0x0af40103, 1));
    cr_expect_eq(ct.evicted[CT_EVICTED_UNASSURED], 1u);

    /* Both unassured pairs are 0x0af40102's now: the oldest goes. */
    cr_assert_not_null(connect_from(&ct, 0x0af40102, 102, 1, NULL));
    cr_expect_not(alive(&ct, 0x0af40102, 100), "the oldest unassured");
    cr_expect_eq(ct.evicted[CT_EVICTED_UNASSURED], 2u);
    for (uint16_t sport = 101; sport <= 102; sport++) {
        struct ct_tuple o = tuple(0x0af40102, VIP, sport, 80);
        enum ct_dir dir;

        handshake(&ct, ct_lookup(&ct, &o, &dir), 1);
    }

    handshake(&ct, connect_from(&ct, 0x0af40102, 103, 1, NULL), 1);
    cr_expect_not(alive(&ct, 0x0af40103, 1), "the closing pair last");
    cr_expect_eq(ct.evicted[CT_EVICTED_CLOSED], 2u);

    cr_expect_null(connect_from(&ct, 0x0af40104, 1, 1, &error), "all assured now");
    cr_expect_eq(error, -ENOSPC);
    cr_expect_eq(ct.evictions, 4u);
    check_invariants(&ct);
    ct_destroy(&ct);
}

Test(conntrack, a_full_table_takes_from_the_source_over_its_share)
{
    struct ct_table ct;

    ct_init(&ct, 16, &timeouts);
    /* The victim's handshakes are older than any of the flood's. */
    connect_from(&ct, 0x0af40103, 1, 0, NULL);
    connect_from(&ct, 0x0af40103, 2, 0, NULL);
    for (uint16_t i = 0; i < 14; i++) {
        connect_from(&ct, 0x0af40102, 1000 + i, 0, NULL);
    }
    cr_assert_eq(ct.n_conns, 16u);

    /* A third client: the oldest unassured pair of a source over its share (16 / 2). */
    cr_assert_not_null(connect_from(&ct, 0x0af40104, 1, 1, NULL));
    cr_expect(alive(&ct, 0x0af40103, 1));
    cr_expect(alive(&ct, 0x0af40103, 2));
    cr_expect_not(alive(&ct, 0x0af40102, 1000));
    /* The flooder, over its share: its own oldest. */
    for (uint16_t i = 0; i < 50; i++) {
        cr_assert_not_null(connect_from(&ct, 0x0af40102, 2000 + i, 2, NULL));
    }
    cr_expect(alive(&ct, 0x0af40103, 1));
    cr_expect(alive(&ct, 0x0af40103, 2));
    cr_expect(alive(&ct, 0x0af40104, 1));
    cr_expect_eq(ct_source_pairs(&ct, htonl(0x0af40102)), 13u);
    cr_expect_eq(ct.n_sources, 3u);
    check_invariants(&ct);
    ct_destroy(&ct);
}

Test(conntrack, a_pod_at_its_limit_recycles_its_own_or_is_refused)
{
    struct ct_table ct;
    int error;

    ct_init(&ct, 64, &timeouts);
    ct_set_max_per_source(&ct, 4);
    handshake(&ct, connect_from(&ct, 0x0af40103, 1, 0, NULL), 0);
    /* A SYN flood: it never holds more than 4, the oldest recycled first. */
    for (uint16_t i = 0; i < 100; i++) {
        cr_assert_not_null(connect_from(&ct, 0x0af40102, 1000 + i, 0, NULL));
    }
    cr_expect_eq(ct_source_pairs(&ct, htonl(0x0af40102)), 4u);
    cr_expect_eq(ct.n_conns, 5u, "the table is not full: the limit alone recycles");
    cr_expect_eq(ct.evicted[CT_EVICTED_POD_QUOTA], 96u);
    cr_expect_eq(ct.evictions, 96u);
    for (uint16_t i = 96; i < 100; i++) {
        cr_expect(alive(&ct, 0x0af40102, 1000 + i));
    }
    /* Established up to its limit: refused, and the established stay. */
    for (uint16_t i = 96; i < 100; i++) {
        struct ct_tuple o = tuple(0x0af40102, VIP, 1000 + i, 80);
        enum ct_dir dir;

        handshake(&ct, ct_lookup(&ct, &o, &dir), 1);
    }
    cr_expect_null(connect_from(&ct, 0x0af40102, 5000, 2, &error));
    cr_expect_eq(error, -EDQUOT);
    cr_expect_eq(ct.refused[CT_REFUSED_POD_QUOTA], 1u);
    cr_expect_eq(ct_source_pairs(&ct, htonl(0x0af40102)), 4u);
    /* Others are not limited by it. */
    for (uint16_t i = 2; i <= 4; i++) {
        cr_expect_not_null(connect_from(&ct, 0x0af40103, i, 2, NULL));
    }
    /* One of its connections closes: that pair is recycled first. */
    {
        struct ct_tuple o = tuple(0x0af40102, VIP, 1098, 80);
        enum ct_dir dir;

        ct_update(&ct, ct_lookup(&ct, &o, &dir), CT_DIR_REPLY, TCP_RST, 40, 3);
    }
    cr_expect_not_null(connect_from(&ct, 0x0af40102, 5001, 3, NULL));
    cr_expect_not(alive(&ct, 0x0af40102, 1098));
    cr_expect(alive(&ct, 0x0af40102, 1096));
    check_invariants(&ct);

    /* The limit lifted. */
    ct_set_max_per_source(&ct, 0);
    cr_expect_not_null(connect_from(&ct, 0x0af40102, 5002, 3, NULL));
    cr_expect_eq(ct_source_pairs(&ct, htonl(0x0af40102)), 5u);
    ct_destroy(&ct);
}

/* Random traffic against a small table: the lists and counts stay consistent whatever
 * happens, and no assured pair is ever evicted. */
Test(conntrack, random_churn_keeps_the_books)
{
    struct ct_table ct;
    uint32_t seed = 12345;

    ct_init(&ct, 32, &timeouts);
    ct_set_max_per_source(&ct, 12);
    for (uint32_t step = 0; step < 20000; step++) {
        uint64_t now = step * 20ull;
        uint32_t r, client;
        uint16_t sport;
        struct ct_conn *conn;
        struct ct_tuple o;
        enum ct_dir dir;

        seed = seed * 1103515245 + 12345;
        r = seed >> 8;
        client = 0x0af40102 + r % 5;
        sport = 1000 + (r >> 4) % 64;
        o = tuple(client, VIP, sport, 80);
        if (r % 7 == 0) {
            o.proto = IP_PROTO_UDP;
        }
        conn = ct_lookup(&ct, &o, &dir);
        if (!conn) {
            struct ct_tuple rep = tuple(BACKEND, client, 8080, sport);
            uint64_t assured_before = 0, assured_after = 0;
            int error;

            rep.proto = o.proto;
            CT_FOR_EACH (c, &ct) {
                assured_before += c->evict_class == CT_CLASS_ASSURED
                                  && now - c->used_ms <= c->timeout_ms;
            }
            error = ct_create(&ct, &o, &rep, 1, true, now, &conn);
            cr_assert(error == 0 || error == -ENOSPC || error == -EDQUOT, "%d", error);
            CT_FOR_EACH (c, &ct) {
                assured_after += c->evict_class == CT_CLASS_ASSURED
                                 && now - c->used_ms <= c->timeout_ms;
            }
            cr_assert_eq(assured_after, assured_before, "an assured pair went, step %u", step);
        } else if (r % 11 == 0) {
            ct_delete(&ct, conn);
        } else {
            static const uint8_t flags[] = { TCP_SYN, TCP_SYN | TCP_ACK, TCP_ACK, TCP_ACK,
                                             TCP_ACK, TCP_FIN | TCP_ACK, TCP_RST };

            ct_update(&ct, conn, (r >> 12) & 1, flags[(r >> 13) % 7], 60, now);
        }
        if (step % 500 == 0) {
            ct_expire(&ct, now, 8, NULL, NULL);
        }
        if (step % 97 == 0) {
            check_invariants(&ct);
        }
    }
    check_invariants(&ct);
    cr_expect_gt(ct.evictions, 0u);
    ct_flush(&ct);
    cr_expect_eq(ct.n_sources, 0u);
    check_invariants(&ct);
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

        cr_assert_eq(ct_create(&ct, &o, &r, 1, true, 500, &conn), 0);
    }
    cr_assert_eq(ct_create(&ct, &orig, &reply, 3, true, 1000, &conn), 0);
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

        cr_assert_eq(ct_create(&ct, &o, &r, 1, true, 2000, &conn), 0);
    }
    cr_expect_eq(ct.n_conns, 64u);
    cr_expect_eq(ct.evictions, 0u);
    ct_destroy(&ct);

    cr_assert_eq(ct_init_file(&ct, 128, &timeouts, path), 0,
                 "another capacity: nothing is trusted");
    ct_destroy(&ct);
    unlink(path);
}

Test(conntrack, adoption_rebuilds_the_counts_per_client_and_the_classes)
{
    char path[] = "/tmp/vswitch-ct-XXXXXX";
    struct ct_table ct;
    struct ct_conn *conn;
    int fd = mkstemp(path), error;

    cr_assert(fd >= 0);
    close(fd);
    cr_assert_eq(ct_init_file(&ct, 16, &timeouts, path), 0);
    for (uint16_t i = 0; i < 10; i++) {
        handshake(&ct, connect_from(&ct, 0x0af40103, 1000 + i, 0, NULL), 0);
    }
    connect_from(&ct, 0x0af40102, 1, 0, NULL);
    conn = connect_from(&ct, 0x0af40102, 2, 0, NULL);
    handshake(&ct, conn, 0);
    ct_update(&ct, conn, CT_DIR_REPLY, TCP_RST, 40, 0);
    for (uint16_t i = 3; i < 6; i++) {
        handshake(&ct, connect_from(&ct, 0x0af40102, i, 0, NULL), 0);
    }
    conn = connect_from(&ct, 0x0af40104, 1, 0, NULL);
    conn->assured = 7;          /* Noise, as a torn write or a stray writer would leave. */
    ct_destroy(&ct);

    cr_assert_eq(ct_init_file(&ct, 16, &timeouts, path), 15, "all but the noisy pair");
    check_invariants(&ct);
    cr_expect_eq(ct.n_sources, 2u);
    cr_expect_eq(ct_source_pairs(&ct, htonl(0x0af40103)), 10u);
    cr_expect_eq(ct_source_pairs(&ct, htonl(0x0af40102)), 5u);
    cr_expect_eq(ct_source_pairs(&ct, htonl(0x0af40104)), 0u);
    ct_set_max_per_source(&ct, 5);
    /* At its limit, 0x0af40102 recycles its closed pair, then its unassured one... */
    cr_expect_not_null(connect_from(&ct, 0x0af40102, 6, 1, NULL));
    cr_expect_not(alive(&ct, 0x0af40102, 2));
    cr_expect_not_null(connect_from(&ct, 0x0af40102, 7, 1, NULL));
    cr_expect_not(alive(&ct, 0x0af40102, 1));
    cr_expect_eq(ct.evicted[CT_EVICTED_POD_QUOTA], 2u);
    /* ...and the adopted established pairs of both are kept in a full table. */
    handshake(&ct, connect_from(&ct, 0x0af40104, 1, 1, NULL), 1);
    for (uint16_t i = 6; i < 8; i++) {
        struct ct_tuple o = tuple(0x0af40102, VIP, i, 80);
        enum ct_dir dir;

        handshake(&ct, ct_lookup(&ct, &o, &dir), 1);
    }
    cr_expect_null(connect_from(&ct, 0x0af40105, 1, 1, &error));
    cr_expect_eq(error, -ENOSPC);
    for (uint16_t i = 0; i < 10; i++) {
        cr_expect(alive(&ct, 0x0af40103, 1000 + i));
    }
    check_invariants(&ct);
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

/* Through the datapath: refused connections are dropped under their own reasons, and the
 * counters reach dp_table_stats(). */
#define CLIENT_MAC "02:00:00:00:01:05"
#define VICTIM_MAC "02:00:00:00:01:08"
#define BE_MAC "02:00:00:00:01:06"
#define THIRD_MAC "02:00:00:00:01:09"
#define ROUTER "0a:58:0a:f4:01:01"

static int send_tcp(struct scene *sc, const char *port, const char *mac, const char *src,
                    const char *dst, uint16_t sport, uint16_t dport, uint8_t flags)
{
    struct pkt_spec spec = { .eth_src = mac, .eth_dst = ROUTER, .ip_src = src, .ip_dst = dst,
                             .sport = sport, .dport = dport, .tcp_flags = flags };
    int verdict = scene_inject(sc, port, &spec, NULL);

    scene_drain(sc);
    return verdict;
}

/* A connection from 'port' through the VIP: SYN, the backend's SYN-ACK, the ACK. */
static void open_through_vip(struct scene *sc, const char *port, const char *mac,
                             const char *ip, uint16_t sport)
{
    cr_assert_eq(send_tcp(sc, port, mac, ip, "10.96.0.10", sport, 80, TCP_SYN), 0);
    cr_assert_eq(send_tcp(sc, "be", BE_MAC, "10.244.1.6", ip, 8080, sport,
                          TCP_SYN | TCP_ACK), 0);
    cr_assert_eq(send_tcp(sc, port, mac, ip, "10.96.0.10", sport, 80, TCP_ACK), 0);
}

static struct scene *scene_with_vip(size_t max_pairs, uint32_t per_pod)
{
    struct scene *sc = scene_new(&(struct dp_config) { .max_flow_pairs = max_pairs,
                                                       .max_flow_pairs_per_pod = per_pod });

    cr_assert_not_null(sc);
    log_set_level(LOG_LVL_ERR);
    cr_assert_eq(scene_port(sc, "client", "10.244.1.5", CLIENT_MAC), 0);
    cr_assert_eq(scene_port(sc, "victim", "10.244.1.8", VICTIM_MAC), 0);
    cr_assert_eq(scene_port(sc, "be", "10.244.1.6", BE_MAC), 0);
    cr_assert_eq(scene_port(sc, "third", "10.244.1.9", THIRD_MAC), 0);
    cr_assert_eq(scene_service(sc, &(struct scene_service) { .vip = "10.96.0.10:80/tcp",
                                                             .backends = "10.244.1.6:8080" }),
                 0);
    return sc;
}

Test(conntrack, datapath_refusals_have_their_drop_reasons)
{
    struct dp_table_stats stats;
    struct scene *sc = scene_with_vip(16, 6);

    /* The victim's established connections, then a SYN flood from the client. */
    for (uint16_t i = 0; i < 6; i++) {
        open_through_vip(sc, "victim", VICTIM_MAC, "10.244.1.8", 30000 + i);
    }
    for (uint16_t i = 0; i < 200; i++) {
        cr_expect_eq(send_tcp(sc, "client", CLIENT_MAC, "10.244.1.5", "10.96.0.10",
                              40000 + i, 80, TCP_SYN), 0, "a SYN recycles the client's own");
    }
    dp_table_stats(sc->dp, &stats);
    cr_expect_eq(stats.flow_pairs, 12u);
    cr_expect_eq(stats.flow_pair_sources, 2u);
    cr_expect_eq(stats.flow_pair_evictions_pod_quota, 194u);
    cr_expect_eq(stats.flow_pair_evictions, 194u);
    /* Its established connections up to the limit: then refused. */
    for (uint16_t i = 0; i < 6; i++) {
        open_through_vip(sc, "client", CLIENT_MAC, "10.244.1.5", 50000 + i);
    }
    cr_expect_eq(send_tcp(sc, "client", CLIENT_MAC, "10.244.1.5", "10.96.0.10", 50006, 80,
                          TCP_SYN), DROP_FLOW_PAIR_QUOTA);
    /* The victim's connections still translate both ways. */
    for (uint16_t i = 0; i < 6; i++) {
        cr_expect_eq(send_tcp(sc, "be", BE_MAC, "10.244.1.6", "10.244.1.8", 8080, 30000 + i,
                              TCP_ACK), 0);
        cr_expect_eq(send_tcp(sc, "victim", VICTIM_MAC, "10.244.1.8", "10.96.0.10",
                              30000 + i, 80, TCP_ACK), 0);
    }
    /* A third pod fills the table with established pairs: its next one is refused. */
    for (uint16_t i = 0; i < 4; i++) {
        open_through_vip(sc, "third", THIRD_MAC, "10.244.1.9", 20000 + i);
    }
    cr_expect_eq(send_tcp(sc, "third", THIRD_MAC, "10.244.1.9", "10.96.0.10", 20004, 80,
                          TCP_SYN), DROP_FLOW_TABLE_FULL);
    cr_expect_eq(scene_drops(sc, DROP_FLOW_PAIR_QUOTA), 1u);
    cr_expect_eq(scene_drops(sc, DROP_FLOW_TABLE_FULL), 1u);
    cr_expect_str_eq(drop_reason_name(DROP_FLOW_TABLE_FULL), "flow_table_full");
    cr_expect_str_eq(drop_reason_name(DROP_FLOW_PAIR_QUOTA), "flow_pair_quota");
    dp_table_stats(sc->dp, &stats);
    cr_expect_eq(stats.flow_pairs, 16u);
    cr_expect_eq(stats.flow_pair_evictions_pod_quota, 200u);
    cr_expect_eq(stats.flow_pair_evictions_closed + stats.flow_pair_evictions_unassured, 0u);
    scene_free(sc);
}

/* ---- Dispatch entries: the client's node's record of a connection sent to a backend on
 * another node (DSR across the overlay). ---- */

#define REMOTE_BACKEND 0x0af40209

/* A dispatch entry for client:sport -> VIP, opened by a packet with 'flags'. */
static struct ct_conn *dispatch_from(struct ct_table *ct, uint32_t client, uint16_t sport,
                                     uint8_t flags, uint64_t now_ms, int *error)
{
    struct ct_tuple o = tuple(client, VIP, sport, 80);
    struct ct_conn *conn = NULL;
    int e = ct_create_dispatch(ct, &o, htonl(REMOTE_BACKEND), htons(8080), 1, flags, now_ms,
                               &conn);

    if (error) {
        *error = e;
    }
    cr_assert(e || conn);
    return e ? NULL : conn;
}

Test(conntrack, a_dispatch_entry_has_its_client_tuple_and_its_backend_only)
{
    struct ct_tuple orig = tuple(0x0af40105, VIP, 40000, 80);
    struct ct_tuple reply = tuple(REMOTE_BACKEND, 0x0af40105, 8080, 40000);
    struct ct_tuple inverse = tuple(VIP, 0x0af40105, 80, 40000);
    struct ct_conn *conn;
    struct ct_table ct;
    enum ct_dir dir;

    ct_init(&ct, 16, &timeouts);
    conn = dispatch_from(&ct, 0x0af40105, 40000, TCP_SYN, 0, NULL);
    cr_expect(ct_is_dispatch(conn));
    cr_expect_eq(ct_lookup(&ct, &orig, &dir), conn);
    cr_expect_eq(dir, CT_DIR_ORIG);
    cr_expect_null(ct_lookup(&ct, &reply, &dir), "no reply tuple: the reply never comes here");
    cr_expect_null(ct_lookup(&ct, &inverse, &dir));
    cr_expect_eq(conn->tuple[CT_DIR_REPLY].src, htonl(REMOTE_BACKEND), "the backend...");
    cr_expect_eq(conn->tuple[CT_DIR_REPLY].sport, htons(8080), "...and its port");
    cr_expect_eq(ct.n_conns, 1u);
    cr_expect_eq(ct.n_dispatch, 1u);
    cr_expect_eq(ct_source_pairs(&ct, htonl(0x0af40105)), 1u, "counted against its client");
    check_invariants(&ct);
    ct_delete(&ct, conn);
    cr_expect_eq(ct.n_conns, 0u);
    cr_expect_eq(ct.n_dispatch, 0u);
    cr_expect_null(ct_lookup(&ct, &orig, &dir));
    check_invariants(&ct);
    ct_destroy(&ct);
}

Test(conntrack, a_dispatch_entry_follows_the_client_alone)
{
    struct ct_conn *conn;
    struct ct_table ct;

    ct_init(&ct, 16, &timeouts);
    conn = dispatch_from(&ct, 0x0af40105, 40000, TCP_SYN, 0, NULL);
    ct_update(&ct, conn, CT_DIR_ORIG, TCP_SYN, 60, 0);
    cr_expect_eq(conn->state, CT_SYN_SENT);
    cr_expect_eq(conn->evict_class, CT_CLASS_UNASSURED, "a SYN: maybe a flood");
    cr_expect_eq(conn->timeout_ms, 30000u);
    ct_update(&ct, conn, CT_DIR_ORIG, TCP_SYN, 60, 1000);
    cr_expect_eq(conn->evict_class, CT_CLASS_UNASSURED, "its retransmission too");
    ct_update(&ct, conn, CT_DIR_ORIG, TCP_ACK, 52, 1001);
    cr_expect_eq(conn->state, CT_ESTABLISHED);
    cr_expect_eq(conn->evict_class, CT_CLASS_ASSURED, "the client's ACK after its SYN");
    cr_expect_eq(conn->timeout_ms, 240000u);
    ct_update(&ct, conn, CT_DIR_ORIG, TCP_ACK, 552, 1002);
    cr_expect_eq(conn->packets[CT_DIR_ORIG], 4u);
    cr_expect_eq(conn->bytes[CT_DIR_ORIG], 724u);
    ct_update(&ct, conn, CT_DIR_ORIG, TCP_FIN | TCP_ACK, 52, 1003);
    cr_expect_eq(conn->state, CT_CLOSING, "the server's FIN never shows here");
    cr_expect_eq(conn->evict_class, CT_CLASS_CLOSING);
    cr_expect_eq(conn->timeout_ms, 30000u);
    ct_update(&ct, conn, CT_DIR_ORIG, TCP_ACK, 52, 20000);
    cr_expect_eq(conn->state, CT_CLOSING, "the client still acknowledges a half-close");
    cr_expect_eq(ct_expire(&ct, 49000, ct.capacity, NULL, NULL), 0u, "each packet refreshes");
    ct_update(&ct, conn, CT_DIR_ORIG, TCP_SYN, 60, 49001);
    cr_expect_eq(conn->state, CT_SYN_SENT, "the port reused");
    cr_expect_eq(conn->evict_class, CT_CLASS_UNASSURED);
    cr_expect_eq(conn->tuple[CT_DIR_REPLY].src, htonl(REMOTE_BACKEND), "to the same backend");
    ct_update(&ct, conn, CT_DIR_ORIG, TCP_RST, 40, 49002);
    cr_expect_eq(conn->state, CT_CLOSED);
    cr_expect_eq(conn->evict_class, CT_CLASS_CLOSED);
    cr_expect_eq(ct_expire(&ct, 60000, ct.capacity, NULL, NULL), 1u, "10 s after the RST");
    check_invariants(&ct);
    ct_destroy(&ct);
}

Test(conntrack, a_dispatch_entry_picks_up_a_connection_under_way)
{
    struct ct_conn *conn;
    struct ct_table ct;

    ct_init(&ct, 16, &timeouts);
    conn = dispatch_from(&ct, 0x0af40105, 40000, TCP_ACK, 0, NULL);
    ct_update(&ct, conn, CT_DIR_ORIG, TCP_ACK, 52, 0);
    cr_expect_eq(conn->state, CT_ESTABLISHED);
    cr_expect_eq(conn->evict_class, CT_CLASS_UNASSURED, "one stray segment proves nothing");
    ct_update(&ct, conn, CT_DIR_ORIG, TCP_ACK, 52, 10);
    cr_expect_eq(conn->evict_class, CT_CLASS_ASSURED, "the client goes on");
    check_invariants(&ct);
    ct_destroy(&ct);
}

Test(conntrack, a_udp_dispatch_entry_is_assured_by_a_client_that_goes_on)
{
    struct ct_tuple o = tuple(0x0af40105, VIP, 5353, 53);
    struct ct_conn *conn;
    struct ct_table ct;

    o.proto = IP_PROTO_UDP;
    ct_init(&ct, 16, &timeouts);
    cr_assert_eq(ct_create_dispatch(&ct, &o, htonl(REMOTE_BACKEND), htons(53), 1, 0, 1000,
                                    &conn), 0);
    ct_update(&ct, conn, CT_DIR_ORIG, 0, 60, 1000);
    cr_expect_eq(conn->state, CT_UDP_UNREPLIED, "no reply ever passes here");
    cr_expect_eq(conn->evict_class, CT_CLASS_UNASSURED);
    cr_expect_eq(conn->timeout_ms, 30000u);
    ct_update(&ct, conn, CT_DIR_ORIG, 0, 60, 2000);
    cr_expect_eq(conn->evict_class, CT_CLASS_UNASSURED, "a query and its retransmission");
    ct_update(&ct, conn, CT_DIR_ORIG, 0, 60, 3000);
    cr_expect_eq(conn->evict_class, CT_CLASS_ASSURED, "still sending after 2 s: a stream");
    cr_expect_eq(conn->timeout_ms, 120000u, "a stream's timeout");
    check_invariants(&ct);
    ct_destroy(&ct);
}

Test(conntrack, dispatch_entries_and_pairs_share_the_table_and_its_rules)
{
    struct ct_table ct;
    int error;

    ct_init(&ct, 16, &timeouts);
    ct_set_max_per_source(&ct, 6);
    /* A client's established connections: two pairs, four dispatched. */
    for (uint16_t i = 0; i < 2; i++) {
        handshake(&ct, connect_from(&ct, 0x0af40103, 1000 + i, 0, NULL), 0);
    }
    for (uint16_t i = 2; i < 6; i++) {
        ct_update(&ct, dispatch_from(&ct, 0x0af40103, 1000 + i, TCP_SYN, 0, NULL),
                  CT_DIR_ORIG, TCP_ACK, 52, 0);
    }
    cr_expect_eq(ct_source_pairs(&ct, htonl(0x0af40103)), 6u);
    cr_expect_null(dispatch_from(&ct, 0x0af40103, 2000, TCP_SYN, 1, &error));
    cr_expect_eq(error, -EDQUOT, "at its limit, all assured");
    cr_expect_null(connect_from(&ct, 0x0af40103, 2001, 1, &error));
    cr_expect_eq(error, -EDQUOT, "a pair is refused alike");
    cr_expect_eq(ct.unkept, 1u, "the entry counted as not kept (its connection still goes)");
    cr_expect_eq(ct.refused[CT_REFUSED_POD_QUOTA], 1u, "the pair as refused");
    /* A SYN flood of dispatched connections from another client fills the table... */
    ct_set_max_per_source(&ct, 0);
    for (uint16_t i = 0; i < 100; i++) {
        cr_expect_not_null(dispatch_from(&ct, 0x0af40102, 3000 + i, TCP_SYN, 2, NULL));
    }
    cr_expect_eq(ct.n_conns, 16u);
    cr_expect_eq(ct.n_dispatch, 14u);
    cr_expect_eq(ct.evicted[CT_EVICTED_UNASSURED], 90u, "...giving up its own unassured");
    for (uint16_t i = 0; i < 6; i++) {
        cr_expect(alive(&ct, 0x0af40103, 1000 + i), "the established ones stay, %u", i);
    }
    check_invariants(&ct);
    ct_destroy(&ct);
}

Test(conntrack, a_restart_adopts_the_dispatch_entries)
{
    char path[] = "/tmp/vswitch-ct-XXXXXX";
    struct ct_tuple orig = tuple(0x0af40105, VIP, 40000, 80);
    struct ct_tuple reply = tuple(REMOTE_BACKEND, 0x0af40105, 8080, 40000);
    struct ct_conn *conn;
    struct ct_table ct;
    enum ct_dir dir;
    int fd = mkstemp(path);

    cr_assert(fd >= 0);
    close(fd);
    cr_assert_eq(ct_init_file(&ct, 16, &timeouts, path), 0);
    conn = dispatch_from(&ct, 0x0af40105, 40000, TCP_SYN, 0, NULL);
    ct_update(&ct, conn, CT_DIR_ORIG, TCP_ACK, 52, 1);
    dispatch_from(&ct, 0x0af40105, 40001, TCP_SYN, 0, NULL);
    handshake(&ct, connect_from(&ct, 0x0af40105, 40002, 0, NULL), 0);
    conn = dispatch_from(&ct, 0x0af40106, 40003, TCP_SYN, 0, NULL);
    conn->kind = 3;             /* Noise: no such kind. */
    ct_destroy(&ct);

    cr_assert_eq(ct_init_file(&ct, 16, &timeouts, path), 3, "all but the noisy one");
    cr_expect_eq(ct.n_dispatch, 2u);
    conn = ct_lookup(&ct, &orig, &dir);
    cr_assert_not_null(conn);
    cr_expect(ct_is_dispatch(conn));
    cr_expect_eq(conn->state, CT_ESTABLISHED);
    cr_expect_eq(conn->evict_class, CT_CLASS_ASSURED);
    cr_expect_eq(conn->tuple[CT_DIR_REPLY].src, htonl(REMOTE_BACKEND), "its backend kept");
    cr_expect_null(ct_lookup(&ct, &reply, &dir), "still no reply tuple");
    cr_expect_eq(ct_source_pairs(&ct, htonl(0x0af40105)), 3u);
    check_invariants(&ct);
    ct_destroy(&ct);
    unlink(path);
}
