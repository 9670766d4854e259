/* The nftables script of the masquerade rules (daemon/masquerade.c), for each configuration:
 * the rule exactly, the service CIDR and multicast left alone, the table removed when off,
 * and a buffer too small refused.  That nft accepts the script and the kernel applies it is
 * the system test's part (tests/system/test-masquerade.sh). */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "daemon/masquerade.h"
#include "daemon/vswitchd.h"
#include "lib/addr.h"

static struct vswitchd_config config(const char *cluster, const char *service, bool masquerade)
{
    struct vswitchd_config cfg;

    memset(&cfg, 0, sizeof cfg);
    cfg.has_cluster_cidr = cluster != NULL;
    cfg.has_service_cidr = service != NULL;
    cr_assert(!cluster || !addr_parse_cidr(cluster, &cfg.cluster_cidr));
    cr_assert(!service || !addr_parse_cidr(service, &cfg.service_cidr));
    cfg.masquerade = masquerade;
    return cfg;
}

Test(masquerade, script)
{
    static const struct {
        const char *what, *cluster, *service;
        bool on;
        const char *rule;               /* NULL: the table is only removed. */
    } cases[] = {
        { "cluster and service CIDRs", "10.244.0.0/16", "10.96.0.0/12", true,
          "ip saddr 10.244.0.0/16 ip daddr != { 10.244.0.0/16, 10.96.0.0/12, 224.0.0.0/4 } "
          "oifname != \"vsw0\" counter masquerade" },
        { "no service CIDR", "10.244.0.0/16", NULL, true,
          "ip saddr 10.244.0.0/16 ip daddr != { 10.244.0.0/16, 224.0.0.0/4 } "
          "oifname != \"vsw0\" counter masquerade" },
        { "--masquerade false", "10.244.0.0/16", "10.96.0.0/12", false, NULL },
        { "no cluster CIDR", NULL, NULL, false, NULL },
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct vswitchd_config cfg = config(cases[i].cluster, cases[i].service, cases[i].on);
        char buf[1024];
        int n = masquerade_script(&cfg, buf, sizeof buf);

        cr_assert_gt(n, 0, "%s", cases[i].what);
        cr_expect_eq((size_t) n, strlen(buf));
        /* Every script replaces the table in one transaction: add (so that the delete
         * cannot fail), delete, then the new one if any. */
        cr_expect_eq(strncmp(buf, "add table ip vswitch\ndelete table ip vswitch\n", 45), 0,
                     "%s: %s", cases[i].what, buf);
        if (cases[i].rule) {
            cr_expect(strstr(buf, cases[i].rule) != NULL, "%s: %s", cases[i].what, buf);
            cr_expect(strstr(buf, "type nat hook postrouting priority srcnat;") != NULL);
        } else {
            cr_expect_eq(strlen(buf), 45u, "%s: only the removal: %s", cases[i].what, buf);
        }
    }
}

Test(masquerade, a_small_buffer_is_refused)
{
    struct vswitchd_config cfg = config("10.244.0.0/16", "10.96.0.0/12", true);
    char buf[64];

    cr_expect_eq(masquerade_script(&cfg, buf, sizeof buf), -ENOSPC);
}
