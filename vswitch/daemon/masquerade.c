/* Masquerade rules in the node's namespace; see masquerade.h. */
#include "daemon/masquerade.h"

#include <errno.h>
#include <nftables/libnftables.h>
#include <stdio.h>
#include <string.h>

#include "daemon/vswitchd.h"
#include "lib/addr.h"
#include "lib/util.h"

int masquerade_script(const struct vswitchd_config *cfg, char *buf, size_t size)
{
    char cluster[IP_STR_LEN], service[IP_STR_LEN + 8] = "";
    int n;

    if (!cfg->masquerade) {
        /* "add" first: deleting a table that is not there fails the transaction. */
        n = snprintf(buf, size, "add table ip " MASQUERADE_TABLE "\n"
                     "delete table ip " MASQUERADE_TABLE "\n");
        return n < 0 || (size_t) n >= size ? -ENOSPC : n;
    }
    addr_ip_str(cfg->cluster_cidr.net, cluster);
    if (cfg->has_service_cidr) {
        char ip[IP_STR_LEN];

        snprintf(service, sizeof service, ", %s/%d",
                 addr_ip_str(cfg->service_cidr.net, ip), cfg->service_cidr.prefix);
    }
    /* Multicast stays: it never leaves the link, and a rewritten source would break it. */
    n = snprintf(buf, size,
                 "add table ip " MASQUERADE_TABLE "\n"
                 "delete table ip " MASQUERADE_TABLE "\n"
                 "table ip " MASQUERADE_TABLE " {\n"
                 "    chain postrouting {\n"
                 "        type nat hook postrouting priority srcnat; policy accept;\n"
                 "        ip saddr %s/%d ip daddr != { %s/%d%s, 224.0.0.0/4 } "
                 "oifname != \"%s\" counter masquerade comment \"pods leaving the cluster\"\n"
                 "    }\n"
                 "}\n",
                 cluster, cfg->cluster_cidr.prefix, cluster, cfg->cluster_cidr.prefix, service,
                 VSWITCHD_HOST_PORT);
    return n < 0 || (size_t) n >= size ? -ENOSPC : n;
}

int masquerade_sync(const struct vswitchd_config *cfg, char *err, size_t errlen)
{
    struct nft_ctx *nft;
    char script[1024];
    int error;

    error = masquerade_script(cfg, script, sizeof script);
    if (error < 0) {
        snprintf(err, errlen, "masquerade rules: %s", strerror(-error));
        return error;
    }
    error = 0;
    nft = nft_ctx_new(NFT_CTX_DEFAULT);
    if (!nft) {
        snprintf(err, errlen, "masquerade rules: cannot create an nftables context");
        return -ENOMEM;
    }
    nft_ctx_buffer_output(nft);
    nft_ctx_buffer_error(nft);
    if (nft_run_cmd_from_buffer(nft, script)) {
        const char *msg = nft_ctx_get_error_buffer(nft);
        size_t len = strlen(msg);

        while (len && msg[len - 1] == '\n') {
            len--;
        }
        snprintf(err, errlen, "cannot program the masquerade rules (nftables table ip "
                 MASQUERADE_TABLE "): %.*s", (int) len, msg);
        error = -EINVAL;
    }
    nft_ctx_free(nft);
    return error;
}
