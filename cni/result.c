/* CNI results; see result.h. */
#include "cni/result.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cni/version.h"
#include "lib/addr.h"
#include "lib/util.h"

int cni_parse_ip_prefix(const char *s, be32 *ip, int *prefix)
{
    struct cidr cidr;
    char buf[IP_STR_LEN + 4];
    const char *slash = strchr(s, '/');

    if (!slash || (size_t) (slash - s) >= IP_STR_LEN) {
        return -EINVAL;
    }
    memcpy(buf, s, slash - s);
    buf[slash - s] = '\0';
    if (addr_parse_ip(buf, ip)) {
        return -EINVAL;
    }
    /* The prefix alone, checked by the CIDR parser on the zero network. */
    snprintf(buf, sizeof buf, "0.0.0.0%s", slash);
    if (addr_parse_cidr(buf, &cidr)) {
        return -EINVAL;
    }
    *prefix = cidr.prefix;
    return 0;
}

static bool is_ipv6(const char *s)
{
    return strchr(s, ':') != NULL;
}

int cni_result_add_iface(struct cni_result *result, const char *name, const char *mac,
                         const char *sandbox, unsigned int mtu)
{
    struct cni_iface *iface;

    result->ifaces = xrealloc(result->ifaces, (result->n_ifaces + 1) * sizeof *result->ifaces);
    iface = &result->ifaces[result->n_ifaces];
    iface->name = xstrdup(name);
    iface->mac = mac ? xstrdup(mac) : NULL;
    iface->sandbox = sandbox ? xstrdup(sandbox) : NULL;
    iface->mtu = mtu;
    return result->n_ifaces++;
}

static int parse_ifaces(const json_t *list, const char *what, struct cni_result *result,
                        struct cni_err *err)
{
    const json_t *item;
    size_t i;

    if (!list) {
        return 0;
    }
    if (!json_is_array(list)) {
        cni_err_set(err, CNI_ERR_DECODE, "%s: \"interfaces\" must be an array", what);
        return -EINVAL;
    }
    json_array_foreach(list, i, item) {
        const json_t *name = json_object_get(item, "name");
        const json_t *mac = json_object_get(item, "mac");
        const json_t *sandbox = json_object_get(item, "sandbox");
        const json_t *mtu = json_object_get(item, "mtu");

        if (!json_is_object(item) || !json_is_string(name)
            || (mac && !json_is_string(mac)) || (sandbox && !json_is_string(sandbox))
            || (mtu && !json_is_integer(mtu))) {
            cni_err_set(err, CNI_ERR_DECODE, "%s: interfaces[%zu] must have a string \"name\" "
                        "and optional strings \"mac\", \"sandbox\" and integer \"mtu\"",
                        what, i);
            return -EINVAL;
        }
        cni_result_add_iface(result, json_string_value(name),
                             mac && *json_string_value(mac) ? json_string_value(mac) : NULL,
                             sandbox && *json_string_value(sandbox)
                             ? json_string_value(sandbox) : NULL,
                             mtu ? json_integer_value(mtu) : 0);
    }
    return 0;
}

static int parse_ips(const json_t *list, bool legacy, const char *what,
                     struct cni_result *result, struct cni_err *err)
{
    const json_t *item;
    size_t i;

    if (!list) {
        return 0;
    }
    if (!json_is_array(list)) {
        cni_err_set(err, CNI_ERR_DECODE, "%s: \"ips\" must be an array", what);
        return -EINVAL;
    }
    result->ips = xcalloc(json_array_size(list) + 1, sizeof *result->ips);
    json_array_foreach(list, i, item) {
        const json_t *address = json_object_get(item, "address");
        const json_t *gateway = json_object_get(item, "gateway");
        const json_t *iface = json_object_get(item, "interface");
        const json_t *version = json_object_get(item, "version");
        struct cni_ip *ip = &result->ips[result->n_ips];
        const char *s;

        if (!json_is_object(item) || !json_is_string(address)
            || (gateway && !json_is_string(gateway)) || (iface && !json_is_integer(iface))) {
            cni_err_set(err, CNI_ERR_DECODE, "%s: ips[%zu] must have a string \"address\" and "
                        "optional string \"gateway\" and integer \"interface\"", what, i);
            return -EINVAL;
        }
        s = json_string_value(address);
        if (is_ipv6(s)
            || (legacy && json_is_string(version) && strcmp(json_string_value(version), "4"))) {
            cni_err_set(err, CNI_ERR_UNSUPPORTED_FIELD, "%s: address %s is not IPv4; vswitch "
                        "switches IPv4 only", what, s);
            return -EINVAL;
        }
        if (cni_parse_ip_prefix(s, &ip->addr, &ip->prefix)) {
            cni_err_set(err, CNI_ERR_DECODE, "%s: ips[%zu].address \"%s\" is not A.B.C.D/N",
                        what, i, s);
            return -EINVAL;
        }
        ip->iface = -1;
        if (iface) {
            json_int_t idx = json_integer_value(iface);

            if (idx < 0 || (size_t) idx >= result->n_ifaces) {
                cni_err_set(err, CNI_ERR_DECODE, "%s: ips[%zu].interface %lld is not the "
                            "index of an interface", what, i, (long long) idx);
                return -EINVAL;
            }
            ip->iface = idx;
        }
        if (gateway && *(s = json_string_value(gateway)) && addr_parse_ip(s, &ip->gw)) {
            cni_err_set(err, CNI_ERR_DECODE, "%s: ips[%zu].gateway \"%s\" is not an IPv4 "
                        "address", what, i, s);
            return -EINVAL;
        }
        result->n_ips++;
    }
    return 0;
}

static int parse_routes(const json_t *list, const char *what, struct cni_result *result,
                        struct cni_err *err)
{
    const json_t *item;
    size_t i;

    if (!list) {
        return 0;
    }
    if (!json_is_array(list)) {
        cni_err_set(err, CNI_ERR_DECODE, "%s: \"routes\" must be an array", what);
        return -EINVAL;
    }
    result->routes = xcalloc(json_array_size(list) + 1, sizeof *result->routes);
    json_array_foreach(list, i, item) {
        const json_t *dst = json_object_get(item, "dst");
        const json_t *gw = json_object_get(item, "gw");
        struct cni_route *route = &result->routes[result->n_routes];
        struct cidr cidr;
        const char *s;

        if (!json_is_object(item) || !json_is_string(dst) || (gw && !json_is_string(gw))) {
            cni_err_set(err, CNI_ERR_DECODE, "%s: routes[%zu] must have a string \"dst\" and "
                        "an optional string \"gw\"", what, i);
            return -EINVAL;
        }
        s = json_string_value(dst);
        if (is_ipv6(s)) {
            cni_err_set(err, CNI_ERR_UNSUPPORTED_FIELD, "%s: route %s is not IPv4; vswitch "
                        "switches IPv4 only", what, s);
            return -EINVAL;
        }
        if (addr_parse_cidr(s, &cidr)) {
            cni_err_set(err, CNI_ERR_DECODE, "%s: routes[%zu].dst \"%s\" is not a network "
                        "A.B.C.D/N", what, i, s);
            return -EINVAL;
        }
        route->dst = cidr.net;
        route->prefix = cidr.prefix;
        if (gw && *(s = json_string_value(gw)) && addr_parse_ip(s, &route->gw)) {
            cni_err_set(err, CNI_ERR_DECODE, "%s: routes[%zu].gw \"%s\" is not an IPv4 "
                        "address", what, i, s);
            return -EINVAL;
        }
        result->n_routes++;
    }
    return 0;
}

int cni_result_parse(const json_t *json, const char *version, const char *what,
                     struct cni_result *result, struct cni_err *err)
{
    const json_t *v = json_object_get(json, "cniVersion");
    const json_t *dns;

    memset(result, 0, sizeof *result);
    if (!json_is_object(json)) {
        cni_err_set(err, CNI_ERR_DECODE, "%s: not a JSON object", what);
        return -EINVAL;
    }
    if (json_is_string(v)) {
        version = json_string_value(v);
    }
    if (!cni_version_supported(version)) {
        cni_err_set(err, CNI_ERR_INCOMPATIBLE_VERSION, "%s: cniVersion \"%s\" is not "
                    "supported", what, version ? version : "");
        return -EINVAL;
    }
    if (parse_ifaces(json_object_get(json, "interfaces"), what, result, err)
        || parse_ips(json_object_get(json, "ips"), cni_version_cmp(version, "1.0.0") < 0,
                     what, result, err)
        || parse_routes(json_object_get(json, "routes"), what, result, err)) {
        return -EINVAL;
    }
    dns = json_object_get(json, "dns");
    if (dns && !json_is_null(dns)) {
        if (!json_is_object(dns)) {
            cni_err_set(err, CNI_ERR_DECODE, "%s: \"dns\" must be an object", what);
            return -EINVAL;
        }
        result->dns = json_deep_copy(dns);
    }
    return 0;
}

json_t *cni_result_to_json(const struct cni_result *result, const char *version)
{
    bool legacy = cni_version_cmp(version, "1.0.0") < 0;
    bool iface_mtu = cni_version_cmp(version, "1.1.0") >= 0;
    json_t *obj = json_object(), *ifaces = json_array(), *ips = json_array();
    json_t *routes = json_array();
    char ip_s[IP_STR_LEN], buf[IP_STR_LEN + 4];

    json_object_set_new(obj, "cniVersion", json_string(version));
    for (size_t i = 0; i < result->n_ifaces; i++) {
        const struct cni_iface *iface = &result->ifaces[i];
        json_t *o = json_object();

        json_object_set_new(o, "name", json_string(iface->name));
        if (iface->mac) {
            json_object_set_new(o, "mac", json_string(iface->mac));
        }
        if (iface_mtu && iface->mtu) {
            json_object_set_new(o, "mtu", json_integer(iface->mtu));
        }
        if (iface->sandbox) {
            json_object_set_new(o, "sandbox", json_string(iface->sandbox));
        }
        json_array_append_new(ifaces, o);
    }
    for (size_t i = 0; i < result->n_ips; i++) {
        const struct cni_ip *ip = &result->ips[i];
        json_t *o = json_object();

        if (legacy) {
            json_object_set_new(o, "version", json_string("4"));
        }
        if (ip->iface >= 0) {
            json_object_set_new(o, "interface", json_integer(ip->iface));
        }
        snprintf(buf, sizeof buf, "%s/%d", addr_ip_str(ip->addr, ip_s), ip->prefix);
        json_object_set_new(o, "address", json_string(buf));
        if (ip->gw) {
            json_object_set_new(o, "gateway", json_string(addr_ip_str(ip->gw, ip_s)));
        }
        json_array_append_new(ips, o);
    }
    for (size_t i = 0; i < result->n_routes; i++) {
        const struct cni_route *route = &result->routes[i];
        json_t *o = json_object();

        snprintf(buf, sizeof buf, "%s/%d", addr_ip_str(route->dst, ip_s), route->prefix);
        json_object_set_new(o, "dst", json_string(buf));
        if (route->gw) {
            json_object_set_new(o, "gw", json_string(addr_ip_str(route->gw, ip_s)));
        }
        json_array_append_new(routes, o);
    }
    json_object_set_new(obj, "interfaces", ifaces);
    json_object_set_new(obj, "ips", ips);
    json_object_set_new(obj, "routes", routes);
    json_object_set_new(obj, "dns", result->dns ? json_deep_copy(result->dns) : json_object());
    return obj;
}

void cni_result_destroy(struct cni_result *result)
{
    for (size_t i = 0; i < result->n_ifaces; i++) {
        free(result->ifaces[i].name);
        free(result->ifaces[i].mac);
        free(result->ifaces[i].sandbox);
    }
    free(result->ifaces);
    free(result->ips);
    free(result->routes);
    json_decref(result->dns);
    memset(result, 0, sizeof *result);
}
