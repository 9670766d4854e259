/* CNI results: what an IPAM plugin returns to us, what we return to the runtime, and the
 * prevResult the runtime hands back on CHECK.
 *
 * One struct holds a result of any supported version; parsing accepts each version's form
 * and rendering writes the requested one:
 *   0.3.0, 0.3.1, 0.4.0   ips[] carry "version": "4";
 *   1.0.0                 ips[] have no "version";
 *   1.1.0                 interfaces[] may carry "mtu".
 * vswitch switches IPv4 only: an IPv6 address or route is refused with code 2. */
#ifndef CNI_RESULT_H
#define CNI_RESULT_H 1

#include <jansson.h>
#include <stddef.h>

#include "cni/cni-error.h"
#include "lib/types.h"

struct cni_iface {
    char *name;
    char *mac;              /* NULL: not given. */
    char *sandbox;          /* NULL: a host-side interface. */
    unsigned int mtu;       /* 0: not given. */
};

struct cni_ip {
    be32 addr;
    int prefix;
    be32 gw;                /* 0: none. */
    int iface;              /* Index into the interfaces, or -1. */
};

struct cni_route {
    be32 dst;
    int prefix;
    be32 gw;                /* 0: the plugin's default gateway. */
};

struct cni_result {
    struct cni_iface *ifaces;
    size_t n_ifaces;
    struct cni_ip *ips;
    size_t n_ips;
    struct cni_route *routes;
    size_t n_routes;
    json_t *dns;            /* A reference we own, or NULL. */
};

/* Parses 'json' as a result of version 'version' (the document's own "cniVersion" wins when
 * it has one).  'what' names it in messages ("IPAM result", "prevResult").  Returns 0, or
 * -EINVAL with 'err' set; the caller destroys 'result' either way. */
int cni_result_parse(const json_t *json, const char *version, const char *what,
                     struct cni_result *result, struct cni_err *err);

/* Renders 'result' in 'version'.  Returns a new reference. */
json_t *cni_result_to_json(const struct cni_result *result, const char *version);

/* Appends an interface; returns its index.  'mac' and 'sandbox' may be NULL. */
int cni_result_add_iface(struct cni_result *result, const char *name, const char *mac,
                         const char *sandbox, unsigned int mtu);

void cni_result_destroy(struct cni_result *result);

/* Parses "A.B.C.D/N" (host bits allowed).  Returns 0 or -EINVAL. */
int cni_parse_ip_prefix(const char *s, be32 *ip, int *prefix);

#endif
