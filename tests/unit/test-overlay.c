/* The overlay's peer table (dp/overlay.c): which node owns a remote pod address, by longest
 * prefix, and the overlaps it refuses. */
#include <criterion/criterion.h>
#include <errno.h>

#include "dp/overlay.h"
#include "lib/addr.h"
#include "scene.h"

Test(overlay, longest_prefix_and_overlaps)
{
    struct overlay ov;
    struct cidr a, b, c;

    overlay_init(&ov);
    addr_parse_cidr("10.244.2.0/24", &a);
    addr_parse_cidr("10.245.0.0/16", &b);
    addr_parse_cidr("10.244.0.0/16", &c);
    cr_assert_eq(overlay_peer_set(&ov, scene_ip("192.168.0.2"), &a), 0);
    cr_assert_eq(overlay_peer_set(&ov, scene_ip("192.168.0.3"), &b), 0);
    cr_expect_eq(overlay_peer_set(&ov, scene_ip("192.168.0.4"), &c), -EEXIST);
    cr_expect_eq(overlay_peer_for(&ov, scene_ip("10.244.2.9"))->node_ip, scene_ip("192.168.0.2"));
    cr_expect_eq(overlay_peer_for(&ov, scene_ip("10.245.7.9"))->node_ip, scene_ip("192.168.0.3"));
    cr_expect_null(overlay_peer_for(&ov, scene_ip("10.244.3.9")));
    cr_expect_not_null(overlay_peer_by_node(&ov, scene_ip("192.168.0.3")));
    cr_assert_eq(overlay_peer_del(&ov, scene_ip("192.168.0.2")), 0);
    cr_expect_null(overlay_peer_for(&ov, scene_ip("10.244.2.9")));
    cr_expect_eq(overlay_peer_for(&ov, scene_ip("10.245.7.9"))->node_ip, scene_ip("192.168.0.3"));
    cr_expect_eq(overlay_peer_del(&ov, scene_ip("192.168.0.2")), -ENOENT);
    overlay_destroy(&ov);
}
