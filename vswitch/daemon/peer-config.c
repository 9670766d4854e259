/* Overlay peer parsing and validation; see peer-config.h.
 *
 * Inputs that do not parse are quoted as given; addresses that parse are printed in their
 * canonical form, so a message always shows exactly what the check looked at. */
#include "daemon/peer-config.h"

#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "lib/util.h"

const char *peer_cidr_str(const struct cidr *cidr, char buf[IP_STR_LEN])
{
    char ip[IP_STR_LEN];

    snprintf(buf, IP_STR_LEN, "%s/%d", addr_ip_str(cidr->net, ip), cidr->prefix);
    return buf;
}

int peer_node_ip_parse(const char *s, const struct peer_config_env *env, be32 *ip, char *err,
                       size_t errlen)
{
    char q[STR_QUOTE_LEN], buf[IP_STR_LEN];
    const char *problem;

    if (!*s) {
        return str_fail(-EINVAL, err, errlen, "missing node IP: expected the node's underlay IPv4 "
                        "address, e.g. 192.168.50.2");
    }
    if (addr_parse_ip(s, ip)) {
        return str_fail(-EINVAL, err, errlen, "node IP %s: invalid IPv4 address", str_quote(s, q));
    }
    problem = addr_unicast_problem(*ip);
    if (problem && ntohl(*ip) >> 24 != 127) {
        /* Loopback is allowed: nodes simulated on one host (tests) talk over it. */
        return str_fail(-EINVAL, err, errlen, "node IP %s is not a unicast address: it is %s",
                        addr_ip_str(*ip, buf), problem);
    }
    if (env && env->node_ip && *ip == env->node_ip) {
        return str_fail(-EINVAL, err, errlen, "node IP %s is this node's own address (--node-ip)",
                        addr_ip_str(*ip, buf));
    }
    return 0;
}

/* Parses "A.B.C.D/N" with messages for each way it can be wrong. */
static int parse_cidr(const char *s, struct cidr *cidr, char *err, size_t errlen)
{
    const char *slash = strchr(s, '/');
    char q[STR_QUOTE_LEN], q2[STR_QUOTE_LEN], ip_s[IP_STR_LEN], net[IP_STR_LEN];
    unsigned long prefix = 0;
    size_t len, digits;
    be32 ip;

    if (!*s) {
        return str_fail(-EINVAL, err, errlen, "missing pod CIDR: expected A.B.C.D/N, e.g. "
                        "10.244.2.0/24");
    }
    if (!slash) {
        return str_fail(-EINVAL, err, errlen, "pod CIDR %s: expected A.B.C.D/N, e.g. 10.244.2.0/24",
                        str_quote(s, q));
    }
    len = slash - s;
    if (len < sizeof ip_s) {
        memcpy(ip_s, s, len);
        ip_s[len] = '\0';
    }
    if (len >= sizeof ip_s || addr_parse_ip(ip_s, &ip)) {
        char part[STR_QUOTE_MAX + 2];

        len = MIN(len, sizeof part - 1);
        memcpy(part, s, len);
        part[len] = '\0';
        return str_fail(-EINVAL, err, errlen, "pod CIDR %s: invalid IPv4 address %s",
                        str_quote(s, q), str_quote(part, q2));
    }
    digits = strlen(slash + 1);
    for (size_t i = 0; i < digits; i++) {
        if (!isdigit((unsigned char) slash[1 + i]) || i >= 2) {
            digits = 0;
            break;
        }
        prefix = prefix * 10 + (slash[1 + i] - '0');
    }
    if (!digits || prefix > 32) {
        return str_fail(-EINVAL, err, errlen, "pod CIDR %s: invalid prefix length %s: expected 0 "
                        "to 32", str_quote(s, q), str_quote(slash + 1, q2));
    }
    if (ip & ~cidr_mask(prefix)) {
        return str_fail(-EINVAL, err, errlen, "pod CIDR %s: host bits are set (the network is "
                        "%s/%lu)", str_quote(s, q), addr_ip_str(ip & cidr_mask(prefix), net),
                        prefix);
    }
    cidr->net = ip;
    cidr->prefix = prefix;
    return 0;
}

/* Address ranges that no pod network may overlap. */
static const struct {
    uint32_t net;                   /* Host order. */
    int prefix;
    const char *what;
} special_ranges[] = {
    { 0x00000000, 8, "0.0.0.0/8 (\"this network\")" },
    { 0x7f000000, 8, "127.0.0.0/8 (loopback)" },
    { 0xe0000000, 4, "224.0.0.0/4 (multicast)" },
    { 0xf0000000, 4, "240.0.0.0/4 (reserved)" },
};

int peer_config_from_msg(const Vswitch__AddPeer *req, const struct peer_config_env *env,
                         struct peer_config *peer, char *err, size_t errlen)
{
    int error;

    memset(peer, 0, sizeof *peer);
    if (!env->node_ip) {
        return str_fail(-EINVAL, err, errlen, "no overlay: vswitchd was started without --node-ip "
                        "(restart it with --node-ip to add peers)");
    }
    error = peer_node_ip_parse(req->node_ip, env, &peer->node_ip, err, errlen);
    if (!error) {
        error = parse_cidr(req->pod_cidr, &peer->pod_cidr, err, errlen);
    }
    if (error) {
        return error;
    }
    return peer_config_check_env(peer, env, err, errlen);
}

int peer_config_check_env(const struct peer_config *peer, const struct peer_config_env *env,
                          char *err, size_t errlen)
{
    char cidr_s[IP_STR_LEN], own[IP_STR_LEN], ip[IP_STR_LEN];

    if (!env->node_ip) {
        return str_fail(-EINVAL, err, errlen, "no overlay: vswitchd was started without --node-ip "
                        "(restart it with --node-ip to add peers)");
    }
    if (peer->node_ip == env->node_ip) {
        return str_fail(-EINVAL, err, errlen, "node IP %s is this node's own address (--node-ip)",
                        addr_ip_str(peer->node_ip, ip));
    }
    peer_cidr_str(&peer->pod_cidr, cidr_s);
    if (peer->pod_cidr.prefix > PEER_CONFIG_MAX_PREFIX) {
        return str_fail(-EINVAL, err, errlen, "pod CIDR %s: a /%d has no room for a gateway and "
                        "pods (use /%d or shorter)", cidr_s, peer->pod_cidr.prefix,
                        PEER_CONFIG_MAX_PREFIX);
    }
    for (size_t i = 0; i < ARRAY_SIZE(special_ranges); i++) {
        struct cidr range = { htonl(special_ranges[i].net), special_ranges[i].prefix };

        if (cidr_overlaps(&peer->pod_cidr, &range)) {
            return str_fail(-EINVAL, err, errlen, "pod CIDR %s overlaps %s", cidr_s,
                            special_ranges[i].what);
        }
    }
    if (cidr_overlaps(&peer->pod_cidr, &env->pod_cidr)) {
        return str_fail(-EINVAL, err, errlen, "pod CIDR %s overlaps this node's pod CIDR %s",
                        cidr_s, peer_cidr_str(&env->pod_cidr, own));
    }
    if (cidr_contains(&peer->pod_cidr, env->node_ip)) {
        return str_fail(-EINVAL, err, errlen, "pod CIDR %s holds this node's own address %s",
                        cidr_s, addr_ip_str(env->node_ip, ip));
    }
    if (cidr_contains(&env->pod_cidr, peer->node_ip)) {
        return str_fail(-EINVAL, err, errlen, "node IP %s is inside this node's pod CIDR %s",
                        addr_ip_str(peer->node_ip, ip), peer_cidr_str(&env->pod_cidr, own));
    }
    if (cidr_contains(&peer->pod_cidr, peer->node_ip)) {
        return str_fail(-EINVAL, err, errlen, "node IP %s is inside its own pod CIDR %s: the node "
                        "would be reachable only through itself", addr_ip_str(peer->node_ip, ip),
                        cidr_s);
    }
    return 0;
}

int peer_config_check_table(const struct peer_config *peer, const struct peer_config *peers,
                            size_t n, char *err, size_t errlen)
{
    char cidr_s[IP_STR_LEN], other_cidr[IP_STR_LEN], ip[IP_STR_LEN], other_ip[IP_STR_LEN];
    bool replaces = false;

    for (size_t i = 0; i < n; i++) {
        const struct peer_config *o = &peers[i];

        if (o->node_ip == peer->node_ip) {
            replaces = true;
            continue;
        }
        if (cidr_overlaps(&peer->pod_cidr, &o->pod_cidr)) {
            return str_fail(-EEXIST, err, errlen, "pod CIDR %s overlaps %s of peer %s",
                            peer_cidr_str(&peer->pod_cidr, cidr_s),
                            peer_cidr_str(&o->pod_cidr, other_cidr),
                            addr_ip_str(o->node_ip, other_ip));
        }
        if (cidr_contains(&o->pod_cidr, peer->node_ip)) {
            return str_fail(-EEXIST, err, errlen, "node IP %s is inside the pod CIDR %s of peer %s",
                            addr_ip_str(peer->node_ip, ip),
                            peer_cidr_str(&o->pod_cidr, other_cidr),
                            addr_ip_str(o->node_ip, other_ip));
        }
        if (cidr_contains(&peer->pod_cidr, o->node_ip)) {
            return str_fail(-EEXIST, err, errlen, "pod CIDR %s holds the address of peer %s",
                            peer_cidr_str(&peer->pod_cidr, cidr_s),
                            addr_ip_str(o->node_ip, other_ip));
        }
    }
    if (!replaces && n >= PEER_CONFIG_MAX_PEERS) {
        return str_fail(-ENOSPC, err, errlen, "too many peers: at most %d", PEER_CONFIG_MAX_PEERS);
    }
    return 0;
}
