/* CNI plugin output (cni/result.h, cni/version.h, cni/cni-error.h, the host-side name of
 * cni/link.h): results rendered exactly as each supported cniVersion's schema has them, IPAM
 * results and prevResults parsed in every form, the error object, VERSION's answer, and the
 * host veth name that DEL and GC recompute and so must never change. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <string.h>

#include "cni/cni-error.h"
#include "cni/link.h"
#include "cni/result.h"
#include "cni/version.h"
#include "lib/addr.h"
#include "lib/types.h"

static char *dump(json_t *json)
{
    char *text = json_dumps(json, JSON_COMPACT | JSON_SORT_KEYS);

    json_decref(json);
    return text;
}

static be32 ip(const char *s)
{
    be32 v;

    cr_assert_eq(addr_parse_ip(s, &v), 0, "%s", s);
    return v;
}

/* What ADD returns: the host end, the pod's end, one address on the pod's end. */
static void sample(struct cni_result *r)
{
    memset(r, 0, sizeof *r);
    cni_result_add_iface(r, "vsw793d32b0ef56", "ba:68:26:f9:36:a2", NULL, 1450);
    cni_result_add_iface(r, "eth0", "0a:58:0a:f4:01:02", "/run/netns/p1", 1450);
    r->ips = calloc(1, sizeof *r->ips);
    r->ips[0] = (struct cni_ip) { ip("10.244.1.2"), 24, ip("10.244.1.1"), 1 };
    r->n_ips = 1;
    r->routes = calloc(2, sizeof *r->routes);
    r->routes[0] = (struct cni_route) { 0, 0, 0 };
    r->routes[1] = (struct cni_route) { ip("10.96.0.0"), 12, ip("10.244.1.254") };
    r->n_routes = 2;
    r->dns = json_pack("{s:[s]}", "nameservers", "10.96.0.10");
}

#define IFACES_NO_MTU \
    "\"interfaces\":[{\"mac\":\"ba:68:26:f9:36:a2\",\"name\":\"vsw793d32b0ef56\"}," \
    "{\"mac\":\"0a:58:0a:f4:01:02\",\"name\":\"eth0\",\"sandbox\":\"/run/netns/p1\"}]"
#define IFACES_MTU \
    "\"interfaces\":[{\"mac\":\"ba:68:26:f9:36:a2\",\"mtu\":1450,\"name\":\"vsw793d32b0ef56\"}," \
    "{\"mac\":\"0a:58:0a:f4:01:02\",\"mtu\":1450,\"name\":\"eth0\"," \
    "\"sandbox\":\"/run/netns/p1\"}]"
#define ROUTES "\"routes\":[{\"dst\":\"0.0.0.0/0\"},{\"dst\":\"10.96.0.0/12\"," \
    "\"gw\":\"10.244.1.254\"}]"
#define DNS "\"dns\":{\"nameservers\":[\"10.96.0.10\"]}"
#define IPS_V "\"ips\":[{\"address\":\"10.244.1.2/24\",\"gateway\":\"10.244.1.1\"," \
    "\"interface\":1,\"version\":\"4\"}]"
#define IPS "\"ips\":[{\"address\":\"10.244.1.2/24\",\"gateway\":\"10.244.1.1\"," \
    "\"interface\":1}]"

struct render_case {
    const char *version;
    const char *json;
};

static const struct render_case render_cases[] = {
    { "0.3.0", "{\"cniVersion\":\"0.3.0\"," DNS "," IFACES_NO_MTU "," IPS_V "," ROUTES "}" },
    { "0.3.1", "{\"cniVersion\":\"0.3.1\"," DNS "," IFACES_NO_MTU "," IPS_V "," ROUTES "}" },
    { "0.4.0", "{\"cniVersion\":\"0.4.0\"," DNS "," IFACES_NO_MTU "," IPS_V "," ROUTES "}" },
    { "1.0.0", "{\"cniVersion\":\"1.0.0\"," DNS "," IFACES_NO_MTU "," IPS "," ROUTES "}" },
    { "1.1.0", "{\"cniVersion\":\"1.1.0\"," DNS "," IFACES_MTU "," IPS "," ROUTES "}" },
};

static size_t render_index[ARRAY_SIZE(render_cases)];

ParameterizedTestParameters(cni_result, render)
{
    for (size_t i = 0; i < ARRAY_SIZE(render_cases); i++) {
        render_index[i] = i;
    }
    return cr_make_param_array(size_t, render_index, ARRAY_SIZE(render_cases));
}

/* Each version renders as its schema says, and parses back to the same result. */
ParameterizedTest(size_t *index, cni_result, render)
{
    const struct render_case *t = &render_cases[*index];
    struct cni_result r, back;
    struct cni_err err = { 0 };
    json_t *json;
    char *text;

    sample(&r);
    text = dump(cni_result_to_json(&r, t->version));
    cr_expect_str_eq(text, t->json, "%s:\n got  %s\n want %s", t->version, text, t->json);

    json = json_loads(text, 0, NULL);
    cr_assert_eq(cni_result_parse(json, t->version, "prevResult", &back, &err), 0, "%s: %s",
                 t->version, err.msg);
    free(text);
    text = dump(cni_result_to_json(&back, t->version));
    cr_expect_str_eq(text, t->json, "%s: round trip", t->version);
    free(text);
    json_decref(json);
    cni_result_destroy(&back);
    cni_result_destroy(&r);
}

Test(cni_result, empty_dns_is_an_empty_object)
{
    struct cni_result r = { 0 };
    char *text = dump(cni_result_to_json(&r, "1.0.0"));

    cr_expect_str_eq(text, "{\"cniVersion\":\"1.0.0\",\"dns\":{},\"interfaces\":[],\"ips\":[],"
                     "\"routes\":[]}");
    free(text);
}

/* ---- parsing what IPAM plugins and runtimes hand us ---- */

struct parse_bad {
    const char *desc;
    const char *json;
    int code;
    const char *msg;
};

static const struct parse_bad parse_bad[] = {
    { "not an object", "[]", 6, "IPAM result: not a JSON object" },
    { "unsupported version", "{\"cniVersion\":\"0.2.0\",\"ip4\":{}}", 1,
      "IPAM result: cniVersion \"0.2.0\" is not supported" },
    { "ips not an array", "{\"ips\":{}}", 6, "IPAM result: \"ips\" must be an array" },
    { "ip without address", "{\"ips\":[{\"gateway\":\"10.0.0.1\"}]}", 6,
      "IPAM result: ips[0] must have a string \"address\" and optional string \"gateway\" and "
      "integer \"interface\"" },
    { "address without prefix", "{\"ips\":[{\"address\":\"10.0.0.2\"}]}", 6,
      "IPAM result: ips[0].address \"10.0.0.2\" is not A.B.C.D/N" },
    { "prefix too long", "{\"ips\":[{\"address\":\"10.0.0.2/33\"}]}", 6,
      "IPAM result: ips[0].address \"10.0.0.2/33\" is not A.B.C.D/N" },
    { "IPv6 address", "{\"ips\":[{\"address\":\"10.0.0.2/24\"},{\"address\":\"fd00::2/64\"}]}",
      2, "IPAM result: address fd00::2/64 is not IPv4; vswitch switches IPv4 only" },
    { "legacy version 6", "{\"cniVersion\":\"0.4.0\",\"ips\":[{\"version\":\"6\","
      "\"address\":\"10.0.0.2/24\"}]}", 2,
      "IPAM result: address 10.0.0.2/24 is not IPv4; vswitch switches IPv4 only" },
    { "bad gateway", "{\"ips\":[{\"address\":\"10.0.0.2/24\",\"gateway\":\"10.0.0\"}]}", 6,
      "IPAM result: ips[0].gateway \"10.0.0\" is not an IPv4 address" },
    { "interface out of range", "{\"interfaces\":[{\"name\":\"eth0\"}],"
      "\"ips\":[{\"address\":\"10.0.0.2/24\",\"interface\":1}]}", 6,
      "IPAM result: ips[0].interface 1 is not the index of an interface" },
    { "interface without name", "{\"interfaces\":[{\"mac\":\"0a:58:0a:00:00:02\"}]}", 6,
      "IPAM result: interfaces[0] must have a string \"name\" and optional strings \"mac\", "
      "\"sandbox\" and integer \"mtu\"" },
    { "route with host bits", "{\"routes\":[{\"dst\":\"10.0.0.1/8\"}]}", 6,
      "IPAM result: routes[0].dst \"10.0.0.1/8\" is not a network A.B.C.D/N" },
    { "IPv6 route", "{\"routes\":[{\"dst\":\"::/0\"}]}", 2,
      "IPAM result: route ::/0 is not IPv4; vswitch switches IPv4 only" },
    { "route gw bad", "{\"routes\":[{\"dst\":\"0.0.0.0/0\",\"gw\":\"x\"}]}", 6,
      "IPAM result: routes[0].gw \"x\" is not an IPv4 address" },
    { "dns not an object", "{\"dns\":\"10.96.0.10\"}", 6,
      "IPAM result: \"dns\" must be an object" },
};

static size_t parse_index[ARRAY_SIZE(parse_bad)];

ParameterizedTestParameters(cni_result, parse_rejects)
{
    for (size_t i = 0; i < ARRAY_SIZE(parse_bad); i++) {
        parse_index[i] = i;
    }
    return cr_make_param_array(size_t, parse_index, ARRAY_SIZE(parse_bad));
}

ParameterizedTest(size_t *index, cni_result, parse_rejects)
{
    const struct parse_bad *t = &parse_bad[*index];
    json_t *json = json_loads(t->json, 0, NULL);
    struct cni_err err = { 0 };
    struct cni_result r;

    cr_assert_not_null(json, "%s: test JSON", t->desc);
    cr_expect_neq(cni_result_parse(json, "1.0.0", "IPAM result", &r, &err), 0, "%s: accepted",
                  t->desc);
    cr_expect_eq(err.code, t->code, "%s: code %d", t->desc, err.code);
    cr_expect_str_eq(err.msg, t->msg, "%s: got '%s'", t->desc, err.msg);
    cni_result_destroy(&r);
    json_decref(json);
}

/* What host-local 1.1.1 prints for a 1.0.0 configuration. */
Test(cni_result, parse_host_local)
{
    const char *text = "{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.244.1.7/24\","
                       "\"gateway\":\"10.244.1.1\"}],\"routes\":[{\"dst\":\"0.0.0.0/0\"}],"
                       "\"dns\":{}}";
    json_t *json = json_loads(text, 0, NULL);
    struct cni_err err = { 0 };
    struct cni_result r;

    cr_assert_eq(cni_result_parse(json, "1.1.0", "IPAM result", &r, &err), 0, "%s", err.msg);
    cr_assert_eq(r.n_ips, 1);
    cr_expect_eq(r.ips[0].addr, ip("10.244.1.7"));
    cr_expect_eq(r.ips[0].prefix, 24);
    cr_expect_eq(r.ips[0].gw, ip("10.244.1.1"));
    cr_expect_eq(r.ips[0].iface, -1);
    cr_assert_eq(r.n_routes, 1);
    cr_expect_eq(r.routes[0].dst, 0);
    cr_expect_eq(r.routes[0].prefix, 0);
    cr_expect_eq(r.routes[0].gw, 0);
    cr_expect_eq(r.n_ifaces, 0);
    cni_result_destroy(&r);
    json_decref(json);
}

/* The same in the 0.3.x/0.4.0 form, which has "version"; the document's own cniVersion wins
 * over the one the caller expected. */
Test(cni_result, parse_legacy)
{
    const char *text = "{\"cniVersion\":\"0.4.0\",\"ips\":[{\"version\":\"4\","
                       "\"address\":\"10.244.1.7/32\"}]}";
    json_t *json = json_loads(text, 0, NULL);
    struct cni_err err = { 0 };
    struct cni_result r;

    cr_assert_eq(cni_result_parse(json, "1.0.0", "IPAM result", &r, &err), 0, "%s", err.msg);
    cr_assert_eq(r.n_ips, 1);
    cr_expect_eq(r.ips[0].prefix, 32);
    cr_expect_eq(r.ips[0].gw, 0);
    cni_result_destroy(&r);
    json_decref(json);
}

Test(cni_result, parse_ip_prefix)
{
    be32 addr;
    int prefix;

    cr_expect_eq(cni_parse_ip_prefix("10.1.2.3/0", &addr, &prefix), 0);
    cr_expect_eq(prefix, 0);
    cr_expect_eq(cni_parse_ip_prefix("10.1.2.3/32", &addr, &prefix), 0);
    cr_expect_eq(addr, ip("10.1.2.3"));
    cr_expect_neq(cni_parse_ip_prefix("10.1.2.3/", &addr, &prefix), 0);
    cr_expect_neq(cni_parse_ip_prefix("10.1.2.3/-1", &addr, &prefix), 0);
    cr_expect_neq(cni_parse_ip_prefix("10.1.2/24", &addr, &prefix), 0);
    cr_expect_neq(cni_parse_ip_prefix("10.1.2.3/24x", &addr, &prefix), 0);
}

/* ---- errors, VERSION, versions ---- */

Test(cni_error, object)
{
    struct cni_err err;
    char *text;

    cni_err_set(&err, CNI_ERR_TRY_AGAIN, "cannot connect to vswitchd at %s", "/x.sock");
    text = dump(cni_err_to_json(&err, "1.0.0"));
    cr_expect_str_eq(text, "{\"cniVersion\":\"1.0.0\",\"code\":11,"
                     "\"msg\":\"cannot connect to vswitchd at /x.sock\"}");
    free(text);
    cni_err_details(&err, "errno %d", 111);
    text = dump(cni_err_to_json(&err, "0.4.0"));
    cr_expect_str_eq(text, "{\"cniVersion\":\"0.4.0\",\"code\":11,\"details\":\"errno 111\","
                     "\"msg\":\"cannot connect to vswitchd at /x.sock\"}");
    free(text);
}

Test(cni_version, info)
{
    char *text = dump(cni_version_info("1.0.0"));

    cr_expect_str_eq(text, "{\"cniVersion\":\"1.0.0\",\"supportedVersions\":[\"0.3.0\","
                     "\"0.3.1\",\"0.4.0\",\"1.0.0\",\"1.1.0\"]}");
    free(text);
}

Test(cni_version, compare)
{
    cr_expect_lt(cni_version_cmp("0.3.1", "0.4.0"), 0);
    cr_expect_lt(cni_version_cmp("0.4.0", "1.0.0"), 0);
    cr_expect_gt(cni_version_cmp("1.1.0", "1.0.0"), 0);
    cr_expect_eq(cni_version_cmp("1.0.0", "1.0.0"), 0);
    cr_expect_gt(cni_version_cmp("0.10.0", "0.9.0"), 0);
    cr_expect_lt(cni_version_cmp("bogus", "0.1.0"), 0);
    cr_expect_lt(cni_version_cmp(NULL, "0.1.0"), 0);
    cr_expect(cni_version_supported("0.3.0"));
    cr_expect_not(cni_version_supported("0.2.0"));
    cr_expect_not(cni_version_supported("1.0"));
    cr_expect_not(cni_version_supported(NULL));
}

/* ---- the host veth name ---- */

Test(cni_link, host_name_is_stable)
{
    char a[IF_NAMESIZE], b[IF_NAMESIZE];

    /* Golden values: a new release that changed them would orphan every existing pod's
     * veth and port (DEL and GC recompute the name). */
    link_host_name("podnet", "c1", "eth0", a);
    cr_expect_str_eq(a, "vsw793d32b0ef56");
    link_host_name("podnet", "cnitool-0123456789abcdef0123", "eth0", a);
    cr_expect_eq(strlen(a), 15);
    cr_expect_eq(strncmp(a, "vsw", 3), 0);

    /* Every part counts, and the parts do not run into each other. */
    link_host_name("podnet", "c1", "eth1", b);
    cr_expect_str_neq(a, b);
    link_host_name("podnet2", "c1", "eth0", b);
    cr_expect_str_neq(b, "vsw793d32b0ef56");
    link_host_name("podnetc", "1", "eth0", a);
    link_host_name("podnet", "c1", "eth0", b);
    cr_expect_str_neq(a, b);
}
