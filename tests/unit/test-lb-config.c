/* add-lb's arguments as vswitchd checks them (lib/lb-config.h): table-driven, every good and
 * bad input with the exact message a user would see after "vsctl: add-lb: ". */
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/lb-config.h"
#include "lib/util.h"

#define MAX_ARGS 8

/* The node: pod CIDR 10.244.1.0/24, gateway 10.244.1.1. */
static struct lb_config_env test_env(void)
{
    struct lb_config_env env;

    cr_assert_eq(addr_parse_cidr("10.244.1.0/24", &env.pod_cidr), 0);
    cr_assert_eq(addr_parse_ip("10.244.1.1", &env.gateway), 0);
    return env;
}

struct add_lb_case {
    const char *description;
    const char *service;
    const char *backends[MAX_ARGS];     /* NULL-terminated. */
    bool no_dsr;
    uint32_t affinity;
    const char *name;
    const char *error;                  /* NULL: accepted. */
    const char *expect_name;            /* When accepted; NULL: not checked. */
    const char *expect_backends;        /* When accepted: "ip:port ip:port" in stored order. */
};

static const struct add_lb_case cases[] = {
    /* Accepted. */
    { "DSR service over two backends", "10.96.0.10:80/tcp",
      { "10.244.1.5:8080", "10.244.1.6:8080" }, false, 0, "",
      NULL, "LB_DSR_72E94_10.96.0.10_80_6", "10.244.1.5:8080 10.244.1.6:8080" },
    { "non-DSR default name has no DSR_", "10.96.0.10:80/tcp", { "10.244.1.5:8080" },
      true, 0, "", NULL, "LB_72E94_10.96.0.10_80_6", "10.244.1.5:8080" },
    { "UDP, upper-case protocol", "10.96.0.10:53/UDP", { "10.244.2.7:53" }, false, 0, "",
      NULL, "LB_DSR_0D60C_10.96.0.10_53_17", "10.244.2.7:53" },
    { "no backends: a rejecting policy", "10.96.0.11:443/tcp", { NULL }, false, 0, "",
      NULL, NULL, "" },
    { "backends are sorted numerically", "10.96.0.10:80/tcp",
      { "10.244.1.10:80", "10.244.1.9:80", "10.244.1.9:79" }, false, 0, "",
      NULL, NULL, "10.244.1.9:79 10.244.1.9:80 10.244.1.10:80" },
    { "given name, affinity at the maximum", "10.96.0.10:80/tcp", { "10.244.1.5:80" },
      false, 86400, "default/web:http", NULL, "default/web:http", "10.244.1.5:80" },
    { "backend outside the pod CIDR (another node's pod)", "10.96.0.10:80/tcp",
      { "10.244.2.5:80" }, false, 0, "", NULL, NULL, "10.244.2.5:80" },
    { "backend on the gateway (the node)", "10.96.0.1:443/tcp", { "10.244.1.1:6443" },
      false, 0, "", NULL, NULL, "10.244.1.1:6443" },
    { "ports 1 and 65535", "10.96.0.10:65535/tcp", { "10.244.1.5:1" }, false, 0, "",
      NULL, NULL, "10.244.1.5:1" },
    { "VIP 0.0.0.0: a NodePort on every node address", "0.0.0.0:30080/tcp",
      { "10.244.1.5:8080" }, false, 0, "", NULL, NULL,
      "10.244.1.5:8080" },

    /* The service. */
    { "empty service", "", { NULL }, false, 0, "",
      .error = "missing service: expected VIP:PORT/PROTO, e.g. 10.96.0.10:80/tcp" },
    { "no protocol", "10.96.0.10:80", { NULL }, false, 0, "",
      .error = "service \"10.96.0.10:80\": expected VIP:PORT/PROTO, e.g. 10.96.0.10:80/tcp" },
    { "no port", "10.96.0.10/tcp", { NULL }, false, 0, "",
      .error = "service \"10.96.0.10/tcp\": expected VIP:PORT/PROTO, e.g. 10.96.0.10:80/tcp" },
    { "bad VIP", "10.96.0.x:80/tcp", { NULL }, false, 0, "",
      .error = "service \"10.96.0.x:80/tcp\": invalid IPv4 address \"10.96.0.x\"" },
    { "IPv6 VIP", "[fd00::1]:80/tcp", { NULL }, false, 0, "",
      .error = "service \"[fd00::1]:80/tcp\": invalid IPv4 address \"[fd00::1]\"" },
    { "port 0", "10.96.0.10:0/tcp", { NULL }, false, 0, "",
      .error = "service \"10.96.0.10:0/tcp\": invalid port \"0\": expected 1 to 65535" },
    { "port too big", "10.96.0.10:65536/tcp", { NULL }, false, 0, "",
      .error = "service \"10.96.0.10:65536/tcp\": invalid port \"65536\": expected 1 to 65535" },
    { "port with a sign", "10.96.0.10:+80/tcp", { NULL }, false, 0, "",
      .error = "service \"10.96.0.10:+80/tcp\": invalid port \"+80\": expected 1 to 65535" },
    { "empty port", "10.96.0.10:/tcp", { NULL }, false, 0, "",
      .error = "service \"10.96.0.10:/tcp\": invalid port \"\": expected 1 to 65535" },
    { "sctp", "10.96.0.10:80/sctp", { NULL }, false, 0, "",
      .error = "service \"10.96.0.10:80/sctp\": invalid protocol \"sctp\": expected tcp or udp" },
    { "empty protocol", "10.96.0.10:80/", { NULL }, false, 0, "",
      .error = "service \"10.96.0.10:80/\": invalid protocol \"\": expected tcp or udp" },
    { "VIP 0.0.0.1: of \"this network\" only 0.0.0.0 is a VIP", "0.0.0.1:80/tcp",
      { NULL }, false, 0, "",
      .error = "service \"0.0.0.1:80/tcp\": VIP 0.0.0.1 is not a unicast address: it is in "
      "0.0.0.0/8 (\"this network\")" },
    { "loopback VIP", "127.0.0.1:80/tcp", { NULL }, false, 0, "",
      .error = "service \"127.0.0.1:80/tcp\": VIP 127.0.0.1 is not a unicast address: it is a "
      "loopback address (127.0.0.0/8)" },
    { "multicast VIP", "224.0.0.251:5353/udp", { NULL }, false, 0, "",
      .error = "service \"224.0.0.251:5353/udp\": VIP 224.0.0.251 is not a unicast address: it "
      "is a multicast address (224.0.0.0/4)" },
    { "broadcast VIP", "255.255.255.255:80/udp", { NULL }, false, 0, "",
      .error = "service \"255.255.255.255:80/udp\": VIP 255.255.255.255 is not a unicast "
      "address: it is the broadcast address" },
    { "reserved VIP", "240.0.0.1:80/tcp", { NULL }, false, 0, "",
      .error = "service \"240.0.0.1:80/tcp\": VIP 240.0.0.1 is not a unicast address: it is a "
      "reserved address (240.0.0.0/4)" },
    { "VIP is the gateway", "10.244.1.1:80/tcp", { NULL }, false, 0, "",
      .error = "service \"10.244.1.1:80/tcp\": VIP 10.244.1.1 is the gateway address" },
    { "VIP inside the pod CIDR", "10.244.1.7:80/tcp", { NULL }, false, 0, "",
      .error = "service \"10.244.1.7:80/tcp\": VIP 10.244.1.7 is inside the pod CIDR "
      "10.244.1.0/24" },
    { "control characters are escaped", "10.96.0.10:80/t\tcp", { NULL }, false, 0, "",
      .error = "service \"10.96.0.10:80/t\\x09cp\": invalid protocol \"t\\x09cp\": expected "
      "tcp or udp" },

    /* Backends. */
    { "bad backend address, named by position", "10.96.0.10:80/tcp",
      { "10.0.0.1:80", "10.0.0.2:80", "10.0.0.x:80" }, false, 0, "",
      .error = "backend 3 \"10.0.0.x:80\": invalid IPv4 address" },
    { "backend without a port", "10.96.0.10:80/tcp", { "10.0.0.1:80", "10.0.0.5" }, false, 0,
      "", .error = "backend 2 \"10.0.0.5\": expected IP:PORT, e.g. 10.244.1.5:8080" },
    { "backend port 0", "10.96.0.10:80/tcp", { "10.0.0.5:0" }, false, 0, "",
      .error = "backend 1 \"10.0.0.5:0\": invalid port \"0\": expected 1 to 65535" },
    { "backend port not a number", "10.96.0.10:80/tcp", { "10.0.0.5:http" }, false, 0, "",
      .error = "backend 1 \"10.0.0.5:http\": invalid port \"http\": expected 1 to 65535" },
    { "backend empty port", "10.96.0.10:80/tcp", { "10.0.0.5:" }, false, 0, "",
      .error = "backend 1 \"10.0.0.5:\": invalid port \"\": expected 1 to 65535" },
    { "backend loopback", "10.96.0.10:80/tcp", { "127.0.0.1:80" }, false, 0, "",
      .error = "backend 1 \"127.0.0.1:80\": not a unicast address: it is a loopback address "
      "(127.0.0.0/8)" },
    { "backend multicast", "10.96.0.10:80/tcp", { "239.1.1.1:80" }, false, 0, "",
      .error = "backend 1 \"239.1.1.1:80\": not a unicast address: it is a multicast address "
      "(224.0.0.0/4)" },
    { "backend is the VIP", "10.96.0.10:80/tcp", { "10.244.1.5:80", "10.96.0.10:8080" },
      false, 0, "", .error = "backend 2 \"10.96.0.10:8080\": is the VIP itself" },
    { "duplicate backend names both positions", "10.96.0.10:80/tcp",
      { "10.244.1.5:80", "10.244.1.6:80", "10.244.1.7:80", "10.244.1.5:80" }, false, 0, "",
      .error = "backend 4 \"10.244.1.5:80\": duplicate of backend 1" },
    { "the first duplicate on the command line is reported", "10.96.0.10:80/tcp",
      { "10.244.1.9:80", "10.244.1.5:80", "10.244.1.5:80", "10.244.1.9:80" }, false, 0, "",
      .error = "backend 3 \"10.244.1.5:80\": duplicate of backend 2" },
    { "same address, other port is not a duplicate", "10.96.0.10:80/tcp",
      { "10.244.1.5:80", "10.244.1.5:81" }, false, 0, "", NULL, NULL,
      "10.244.1.5:80 10.244.1.5:81" },

    /* Affinity and name. */
    { "affinity too long", "10.96.0.10:80/tcp", { NULL }, false, 86401, "",
      .error = "invalid affinity timeout 86401: expected 0 (none) to 86400 seconds" },
    { "name with a space", "10.96.0.10:80/tcp", { NULL }, false, 0, "web svc",
      .error = "invalid name \"web svc\": character 4 is a space; names are printable ASCII "
      "without spaces, ',' or '='" },
    { "name with '='", "10.96.0.10:80/tcp", { NULL }, false, 0, "a=b",
      .error = "invalid name \"a=b\": character 2 is '='; names are printable ASCII without "
      "spaces, ',' or '='" },
    { "name with a newline", "10.96.0.10:80/tcp", { NULL }, false, 0, "web\n",
      .error = "invalid name \"web\\x0a\": character 4 is byte 0x0a; names are printable ASCII "
      "without spaces, ',' or '='" },
    { "name with UTF-8", "10.96.0.10:80/tcp", { NULL }, false, 0, "caf\xc3\xa9",
      .error = "invalid name \"caf\\xc3\\xa9\": character 4 is byte 0xc3; names are printable "
      "ASCII without spaces, ',' or '='" },
};

/* "ip:port ip:port" of the accepted backends. */
static void backends_str(const struct lb_config *cfg, char *buf, size_t size)
{
    size_t o = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < cfg->n_backends; i++) {
        char ip[IP_STR_LEN];

        o += snprintf(buf + o, size - o, "%s%s:%u", i ? " " : "",
                      addr_ip_str(cfg->backends[i].ip, ip), cfg->backends[i].port);
    }
}

static int run_case(const struct add_lb_case *c, struct lb_config *cfg, char *err, size_t len)
{
    struct lb_config_env env = test_env();
    Vswitch__AddLb req = VSWITCH__ADD_LB__INIT;
    size_t n = 0;

    while (n < MAX_ARGS && c->backends[n]) {
        n++;
    }
    req.service = (char *) c->service;
    req.backends = (char **) c->backends;
    req.n_backends = n;
    req.no_dsr = c->no_dsr;
    req.affinity_timeout = c->affinity;
    req.name = (char *) c->name;
    err[0] = '\0';
    return lb_config_from_msg(&req, &env, cfg, err, len);
}

Test(lb_config, table)
{
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        const struct add_lb_case *c = &cases[i];
        struct lb_config cfg;
        char err[512], got[512];
        int error = run_case(c, &cfg, err, sizeof err);

        if (c->error) {
            cr_expect_eq(error, -EINVAL, "%s: accepted, expected \"%s\"", c->description,
                         c->error);
            cr_expect_str_eq(err, c->error, "%s", c->description);
            continue;
        }
        cr_expect_eq(error, 0, "%s: rejected: %s", c->description, err);
        if (error) {
            continue;
        }
        cr_expect_eq(cfg.dsr, !c->no_dsr, "%s", c->description);
        cr_expect_eq(cfg.affinity_timeout, c->affinity, "%s", c->description);
        if (c->expect_name) {
            cr_expect_str_eq(cfg.name, c->expect_name, "%s", c->description);
        }
        backends_str(&cfg, got, sizeof got);
        cr_expect_str_eq(got, c->expect_backends, "%s", c->description);
        lb_config_destroy(&cfg);
    }
}

Test(lb_config, service_key)
{
    struct lb_service svc;
    char err[256], buf[LB_SERVICE_STR_LEN];

    cr_assert_eq(lb_service_parse("10.96.0.10:80/TCP", NULL, &svc, err, sizeof err), 0);
    cr_expect_eq(svc.port, 80);
    cr_expect_eq(svc.proto, IPPROTO_TCP);
    cr_expect_str_eq(lb_service_str(&svc, buf), "10.96.0.10:80/tcp");
    cr_expect_str_eq(lb_service_str(&(struct lb_service) { 0xffffffff, 65535, IPPROTO_UDP },
                                    buf), "255.255.255.255:65535/udp");

    /* Without an environment (del-lb) a VIP inside the pod CIDR is only syntax-checked. */
    cr_expect_eq(lb_service_parse("10.244.1.7:80/udp", NULL, &svc, err, sizeof err), 0);
    struct lb_config_env env = test_env();
    cr_expect_eq(lb_service_check_env(&svc, &env, err, sizeof err), -EINVAL);
    cr_expect_str_eq(err, "service \"10.244.1.7:80/udp\": VIP 10.244.1.7 is inside the pod "
                     "CIDR 10.244.1.0/24");
    /* ... but it must still be an address. */
    cr_expect_eq(lb_service_parse("127.0.0.1:80/tcp", NULL, &svc, err, sizeof err), -EINVAL);
}

Test(lb_config, default_name_is_stable_and_fits)
{
    struct lb_service svc = { .port = 65535, .proto = IPPROTO_UDP };
    char name[LB_CONFIG_NAME_MAX], again[LB_CONFIG_NAME_MAX];

    cr_assert_eq(addr_parse_ip("255.255.255.254", &svc.vip), 0);
    lb_config_default_name(&svc, true, name);
    lb_config_default_name(&svc, true, again);
    cr_expect_str_eq(name, again);
    cr_expect_eq(strncmp(name, "LB_DSR_", 7), 0);
    cr_expect_str_eq(name + 12, "_255.255.255.254_65535_17");
    cr_expect_null(lb_config_name_problem(name, again, sizeof again));

    /* Another protocol or port gives another hash. */
    svc.proto = IPPROTO_TCP;
    lb_config_default_name(&svc, true, again);
    cr_expect_neq(strncmp(name, again, 12), 0);
}

Test(lb_config, limits)
{
    struct lb_config_env env = test_env();
    Vswitch__AddLb req = VSWITCH__ADD_LB__INIT;
    size_t n = LB_CONFIG_MAX_BACKENDS + 1;
    char **backends = xmalloc(n * sizeof *backends);
    char name[LB_CONFIG_NAME_MAX + 1], err[256];
    struct lb_config cfg;

    for (size_t i = 0; i < n; i++) {
        backends[i] = xmalloc(24);
        snprintf(backends[i], 24, "10.%zu.%zu.%zu:80", i >> 16, (i >> 8) & 255, i & 255);
    }
    req.service = "10.96.0.10:80/tcp";
    req.backends = backends;
    req.n_backends = n;
    cr_expect_eq(lb_config_from_msg(&req, &env, &cfg, err, sizeof err), -EINVAL);
    cr_expect_str_eq(err, "too many backends: 4097, at most 4096");

    /* 4096 is fine. */
    req.n_backends = LB_CONFIG_MAX_BACKENDS;
    cr_expect_eq(lb_config_from_msg(&req, &env, &cfg, err, sizeof err), 0, "%s", err);
    cr_expect_eq(cfg.n_backends, LB_CONFIG_MAX_BACKENDS);
    lb_config_destroy(&cfg);

    memset(name, 'n', sizeof name);
    name[LB_CONFIG_NAME_MAX - 1] = '\0';            /* 95 characters: the longest. */
    req.n_backends = 0;
    req.name = name;
    cr_expect_eq(lb_config_from_msg(&req, &env, &cfg, err, sizeof err), 0, "%s", err);
    cr_expect_str_eq(cfg.name, name);
    lb_config_destroy(&cfg);
    name[LB_CONFIG_NAME_MAX - 1] = 'n';
    name[LB_CONFIG_NAME_MAX] = '\0';                /* 96: one too many. */
    cr_expect_eq(lb_config_from_msg(&req, &env, &cfg, err, sizeof err), -EINVAL);
    cr_expect_eq(strncmp(err, "invalid name \"nnnn", 18), 0, "%s", err);
    cr_expect_neq(strstr(err, "...\": 96 characters, at most 95;"), NULL, "%s", err);

    for (size_t i = 0; i < n; i++) {
        free(backends[i]);
    }
    free(backends);
}
