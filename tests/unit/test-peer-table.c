/* The overlay's peer table (dp/peer-table.c): which node owns a remote pod address, by longest
 * prefix, and the overlaps it refuses. */
#include <criterion/criterion.h>
#include <errno.h>

#include "dp/peer-table.h"
#include "lib/addr.h"
#include "scene.h"

Test(peer_table, longest_prefix_and_overlaps)
{
    struct peer_table ov;
    struct cidr a, b, c;

    peer_table_init(&ov);
    addr_parse_cidr("10.244.2.0/24", &a);
    addr_parse_cidr("10.245.0.0/16", &b);
    addr_parse_cidr("10.244.0.0/16", &c);
    cr_assert_eq(peer_table_set(&ov, scene_ip("192.168.0.2"), &a), 0);
    cr_assert_eq(peer_table_set(&ov, scene_ip("192.168.0.3"), &b), 0);
    cr_expect_eq(peer_table_set(&ov, scene_ip("192.168.0.4"), &c), -EEXIST);
    cr_expect_eq(peer_table_by_pod_ip(&ov, scene_ip("10.244.2.9"))->node_ip,
                 scene_ip("192.168.0.2"));
    cr_expect_eq(peer_table_by_pod_ip(&ov, scene_ip("10.245.7.9"))->node_ip,
                 scene_ip("192.168.0.3"));
    cr_expect_null(peer_table_by_pod_ip(&ov, scene_ip("10.244.3.9")));
    cr_expect_not_null(peer_table_by_node(&ov, scene_ip("192.168.0.3")));
    cr_assert_eq(peer_table_del(&ov, scene_ip("192.168.0.2")), 0);
    cr_expect_null(peer_table_by_pod_ip(&ov, scene_ip("10.244.2.9")));
    cr_expect_eq(peer_table_by_pod_ip(&ov, scene_ip("10.245.7.9"))->node_ip,
                 scene_ip("192.168.0.3"));
    cr_expect_eq(peer_table_del(&ov, scene_ip("192.168.0.2")), -ENOENT);
    peer_table_destroy(&ov);
}
