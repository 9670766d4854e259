/* Load-balancing policy parsing and validation; see lb-config.h.
 *
 * Every message names the offending input as given (quoted, control characters escaped,
 * long values cut) and, for backends, its 1-based position on the command line, because a
 * Service with forty endpoints is otherwise hard to debug. */
#include "lib/lb-config.h"

#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/util.h"

/* A port: 1 to 5 decimal digits, 1..65535; no sign, no spaces. */
static int parse_port(const char *s, size_t len, uint16_t *port)
{
    unsigned long value = 0;

    if (!len || len > 5) {
        return -EINVAL;
    }
    for (size_t i = 0; i < len; i++) {
        if (!isdigit((unsigned char) s[i])) {
            return -EINVAL;
        }
        value = value * 10 + (s[i] - '0');
    }
    if (!value || value > 65535) {
        return -EINVAL;
    }
    *port = value;
    return 0;
}

/* Parses the 'len' bytes at 's' as an IPv4 address. */
static int parse_ip(const char *s, size_t len, be32 *ip)
{
    char buf[IP_STR_LEN];

    if (len >= sizeof buf) {
        return -EINVAL;
    }
    memcpy(buf, s, len);
    buf[len] = '\0';
    return addr_parse_ip(buf, ip);
}

/* 'len' bytes at 's' as a quoted string, for messages. */
static const char *quote_n(const char *s, size_t len, char buf[STR_QUOTE_LEN])
{
    char part[STR_QUOTE_MAX + 2];

    len = MIN(len, STR_QUOTE_MAX + 1);
    memcpy(part, s, len);
    part[len] = '\0';
    return str_quote(part, buf);
}

int lb_service_parse(const char *s, const struct lb_config_env *env, struct lb_service *svc,
                     char *err, size_t errlen)
{
    const char *slash = strrchr(s, '/'), *colon, *problem;
    char q[STR_QUOTE_LEN], q2[STR_QUOTE_LEN], ip[IP_STR_LEN];

    if (!*s) {
        return str_fail(-EINVAL, err, errlen, "missing service: expected VIP:PORT/PROTO, e.g. "
                        "10.96.0.10:80/tcp");
    }
    colon = slash ? memrchr(s, ':', slash - s) : NULL;
    if (!colon) {
        return str_fail(-EINVAL, err, errlen, "service %s: expected VIP:PORT/PROTO, e.g. "
                        "10.96.0.10:80/tcp", str_quote(s, q));
    }
    if (parse_ip(s, colon - s, &svc->vip)) {
        return str_fail(-EINVAL, err, errlen, "service %s: invalid IPv4 address %s",
                        str_quote(s, q), quote_n(s, colon - s, q2));
    }
    if (parse_port(colon + 1, slash - colon - 1, &svc->port)) {
        return str_fail(-EINVAL, err, errlen, "service %s: invalid port %s: expected 1 to 65535",
                        str_quote(s, q), quote_n(colon + 1, slash - colon - 1, q2));
    }
    if (!strcasecmp(slash + 1, "tcp")) {
        svc->proto = IPPROTO_TCP;
    } else if (!strcasecmp(slash + 1, "udp")) {
        svc->proto = IPPROTO_UDP;
    } else {
        return str_fail(-EINVAL, err, errlen, "service %s: invalid protocol %s: expected tcp or "
                        "udp", str_quote(s, q), str_quote(slash + 1, q2));
    }
    /* 0.0.0.0 alone of "this network" is a VIP: the NodePort on every node address. */
    problem = svc->vip ? addr_unicast_problem(svc->vip) : NULL;
    if (problem) {
        return str_fail(-EINVAL, err, errlen, "service %s: VIP %s is not a unicast address: it is "
                        "%s", str_quote(s, q), addr_ip_str(svc->vip, ip), problem);
    }
    return env ? lb_service_check_env(svc, env, err, errlen) : 0;
}

int lb_service_check_env(const struct lb_service *svc, const struct lb_config_env *env,
                         char *err, size_t errlen)
{
    char s[LB_SERVICE_STR_LEN], ip[IP_STR_LEN], net[IP_STR_LEN];

    lb_service_str(svc, s);
    if (svc->vip == env->gateway) {
        return str_fail(-EINVAL, err, errlen, "service \"%s\": VIP %s is the gateway address", s,
                        addr_ip_str(svc->vip, ip));
    }
    if (cidr_contains(&env->pod_cidr, svc->vip)) {
        return str_fail(-EINVAL, err, errlen, "service \"%s\": VIP %s is inside the pod CIDR %s/%d",
                        s, addr_ip_str(svc->vip, ip), addr_ip_str(env->pod_cidr.net, net),
                        env->pod_cidr.prefix);
    }
    return 0;
}

const char *lb_proto_name(uint8_t proto)
{
    return proto == IPPROTO_TCP ? "tcp" : proto == IPPROTO_UDP ? "udp" : "?";
}

const char *lb_service_str(const struct lb_service *svc, char buf[LB_SERVICE_STR_LEN])
{
    char ip[IP_STR_LEN];

    snprintf(buf, LB_SERVICE_STR_LEN, "%s:%u/%s", addr_ip_str(svc->vip, ip), svc->port,
             lb_proto_name(svc->proto));
    return buf;
}

/* Parses backend number 'pos' (1-based) "IP:PORT" of a policy whose VIP is 'vip'. */
static int parse_backend(const char *s, size_t pos, be32 vip, struct lb_config_backend *b,
                         char *err, size_t errlen)
{
    const char *colon = strrchr(s, ':'), *problem;
    char q[STR_QUOTE_LEN], q2[STR_QUOTE_LEN];

    if (!colon) {
        return str_fail(-EINVAL, err, errlen, "backend %zu %s: expected IP:PORT, e.g. "
                        "10.244.1.5:8080", pos, str_quote(s, q));
    }
    if (parse_ip(s, colon - s, &b->ip)) {
        return str_fail(-EINVAL, err, errlen, "backend %zu %s: invalid IPv4 address", pos,
                        str_quote(s, q));
    }
    if (parse_port(colon + 1, strlen(colon + 1), &b->port)) {
        return str_fail(-EINVAL, err, errlen, "backend %zu %s: invalid port %s: expected 1 to "
                        "65535", pos, str_quote(s, q), str_quote(colon + 1, q2));
    }
    problem = addr_unicast_problem(b->ip);
    if (problem) {
        return str_fail(-EINVAL, err, errlen, "backend %zu %s: not a unicast address: it is %s",
                        pos, str_quote(s, q), problem);
    }
    if (b->ip == vip) {
        return str_fail(-EINVAL, err, errlen, "backend %zu %s: is the VIP itself", pos,
                        str_quote(s, q));
    }
    return 0;
}

static int compare_backends(const struct lb_config_backend *a,
                            const struct lb_config_backend *b)
{
    uint32_t ia = ntohl(a->ip), ib = ntohl(b->ip);

    if (ia != ib) {
        return ia < ib ? -1 : 1;
    }
    return a->port < b->port ? -1 : a->port > b->port;
}

/* A backend and its position on the command line, to name duplicates. */
struct indexed_backend {
    struct lb_config_backend b;
    size_t pos;
};

static int compare_indexed(const void *a_, const void *b_)
{
    const struct indexed_backend *a = a_, *b = b_;
    int c = compare_backends(&a->b, &b->b);

    return c ? c : a->pos < b->pos ? -1 : a->pos > b->pos;
}

/* Sorts 'ib' and fails on the duplicate that comes first on the command line. */
static int check_duplicates(struct indexed_backend *ib, size_t n, char *const *given,
                            char *err, size_t errlen)
{
    size_t dup = 0, first = 0;
    char q[STR_QUOTE_LEN];

    qsort(ib, n, sizeof *ib, compare_indexed);
    for (size_t i = 1, group = 0; i < n; i++) {
        if (compare_backends(&ib[i].b, &ib[group].b)) {
            group = i;
        } else if (!dup || ib[i].pos < dup) {
            dup = ib[i].pos;
            first = ib[group].pos;
        }
    }
    if (dup) {
        return str_fail(-EINVAL, err, errlen, "backend %zu %s: duplicate of backend %zu", dup,
                        str_quote(given[dup - 1], q), first);
    }
    return 0;
}

const char *lb_config_name_problem(const char *name, char *buf, size_t size)
{
    size_t len = strlen(name);

    if (len >= LB_CONFIG_NAME_MAX) {
        snprintf(buf, size, "%zu characters, at most %d", len, LB_CONFIG_NAME_MAX - 1);
        return buf;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = name[i];

        if (c > 0x20 && c < 0x7f && c != ',' && c != '=') {
            continue;
        }
        if (c == ' ') {
            snprintf(buf, size, "character %zu is a space", i + 1);
        } else if (c == ',' || c == '=') {
            snprintf(buf, size, "character %zu is '%c'", i + 1, c);
        } else {
            snprintf(buf, size, "character %zu is byte 0x%02x", i + 1, c);
        }
        return buf;
    }
    return NULL;
}

void lb_config_default_name(const struct lb_service *svc, bool dsr,
                            char name[LB_CONFIG_NAME_MAX])
{
    char text[LB_SERVICE_STR_LEN], ip[IP_STR_LEN];
    uint32_t h = 2166136261u;           /* FNV-1a, 32 bits. */

    lb_service_str(svc, text);
    for (const unsigned char *p = (const unsigned char *) text; *p; p++) {
        h = (h ^ *p) * 16777619u;
    }
    h = (h ^ (h >> 20)) & 0xfffff;
    snprintf(name, LB_CONFIG_NAME_MAX, "LB_%s%05X_%s_%u_%u", dsr ? "DSR_" : "", (unsigned) h,
             addr_ip_str(svc->vip, ip), svc->port, svc->proto);
}

int lb_config_from_msg(const Vswitch__AddLb *req, const struct lb_config_env *env,
                       struct lb_config *cfg, char *err, size_t errlen)
{
    struct indexed_backend *ib = NULL;
    char q[STR_QUOTE_LEN], buf[64];
    const char *problem;
    int error;

    memset(cfg, 0, sizeof *cfg);
    error = lb_service_parse(req->service, env, &cfg->service, err, errlen);
    if (error) {
        return error;
    }
    cfg->dsr = !req->no_dsr;
    cfg->preserve_dip = req->preserve_dip;
    if (cfg->preserve_dip && !cfg->service.vip) {
        return str_fail(-EINVAL, err, errlen, "%s: --preserve-dip needs backends that hold the "
                        "VIP, and none can hold 0.0.0.0 (every address of the node: a NodePort)",
                        req->service);
    }
    if (cfg->preserve_dip && !cfg->dsr) {
        /* The backend answers from the VIP itself: there is no translation to SNAT with. */
        return str_fail(-EINVAL, err, errlen, "%s: --preserve-dip is DSR (the backend answers "
                        "from the VIP) and cannot be combined with --no-dsr", req->service);
    }

    if (req->affinity_timeout > LB_CONFIG_MAX_AFFINITY) {
        return str_fail(-EINVAL, err, errlen, "invalid affinity timeout %u: expected 0 (none) to "
                        "%d seconds", req->affinity_timeout, LB_CONFIG_MAX_AFFINITY);
    }
    cfg->affinity_timeout = req->affinity_timeout;

    if (req->n_source_ranges > LB_CONFIG_MAX_SOURCE_RANGES) {
        return str_fail(-EINVAL, err, errlen, "too many source ranges: %zu, at most %d",
                        req->n_source_ranges, LB_CONFIG_MAX_SOURCE_RANGES);
    }
    for (size_t i = 0; i < req->n_source_ranges; i++) {
        if (addr_parse_cidr(req->source_ranges[i], &cfg->source_ranges[i])) {
            return str_fail(-EINVAL, err, errlen, "source range %zu %s: expected an IPv4 CIDR "
                            "with the host bits zero, e.g. 203.0.113.0/24", i + 1,
                            str_quote(req->source_ranges[i], q));
        }
    }
    cfg->n_source_ranges = req->n_source_ranges;

    if (*req->name) {
        problem = lb_config_name_problem(req->name, buf, sizeof buf);
        if (problem) {
            return str_fail(-EINVAL, err, errlen, "invalid name %s: %s; names are printable ASCII "
                            "without spaces, ',' or '='", str_quote(req->name, q), problem);
        }
        str_copy(cfg->name, req->name, sizeof cfg->name);
    } else {
        lb_config_default_name(&cfg->service, cfg->dsr, cfg->name);
    }

    if (req->n_backends > LB_CONFIG_MAX_BACKENDS) {
        return str_fail(-EINVAL, err, errlen, "too many backends: %zu, at most %d",
                        req->n_backends, LB_CONFIG_MAX_BACKENDS);
    }
    if (!req->n_backends) {
        return 0;
    }
    ib = xmalloc(req->n_backends * sizeof *ib);
    for (size_t i = 0; i < req->n_backends; i++) {
        error = parse_backend(req->backends[i], i + 1, cfg->service.vip, &ib[i].b, err,
                              errlen);
        if (error) {
            goto out;
        }
        ib[i].pos = i + 1;
        /* Only the MAC is rewritten: the backend receives the service's own port. */
        if (cfg->preserve_dip && ib[i].b.port != cfg->service.port) {
            error = str_fail(-EINVAL, err, errlen, "backend %zu %s: a --preserve-dip policy "
                             "keeps the destination port, so the target port must equal the "
                             "service port %u", i + 1, str_quote(req->backends[i], q),
                             cfg->service.port);
            goto out;
        }
    }
    error = check_duplicates(ib, req->n_backends, req->backends, err, errlen);
    if (error) {
        goto out;
    }
    cfg->n_backends = req->n_backends;
    cfg->backends = xmalloc(cfg->n_backends * sizeof *cfg->backends);
    for (size_t i = 0; i < cfg->n_backends; i++) {
        cfg->backends[i] = ib[i].b;
    }
out:
    free(ib);
    return error;
}

void lb_config_destroy(struct lb_config *cfg)
{
    if (cfg) {
        free(cfg->backends);
        cfg->backends = NULL;
        cfg->n_backends = 0;
    }
}
