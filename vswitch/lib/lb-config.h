/* Load-balancing policies as the control protocol carries them: parsing and validation of a
 * service key "VIP:PORT/PROTO", of backends "IP:PORT", of the affinity timeout and of the
 * friendly name, and the default name.  vswitchd checks every AddLb with it, so the CLI, the
 * proxy and any other client get the same rules and the same messages; a message says what is
 * wrong and where ("backend 3 \"10.0.0.x:80\": invalid IPv4 address").
 *
 * Pure C without the daemon's state: what a VIP must not collide with (the pod CIDR and the
 * gateway) is passed in.  The limits equal the datapath's (DP_LB_* in dp/dp.h; the daemon
 * asserts it at compile time). */
#ifndef VSWITCH_LIB_LB_CONFIG_H
#define VSWITCH_LIB_LB_CONFIG_H 1

#include <stddef.h>
#include <stdint.h>

#include "lib/addr.h"
#include "lib/types.h"
#include "proto/vswitch.pb-c.h"

#define LB_CONFIG_NAME_MAX 96           /* Bytes, terminator included. */
#define LB_CONFIG_MAX_BACKENDS 4096
#define LB_CONFIG_MAX_AFFINITY 86400    /* Seconds, as Kubernetes' sessionAffinityConfig. */
#define LB_CONFIG_MAX_SOURCE_RANGES 64

/* "255.255.255.255:65535/tcp" and a terminator. */
#define LB_SERVICE_STR_LEN 32

struct lb_config_backend {
    be32 ip;
    uint16_t port;                      /* Host order. */
};

/* The key of a policy. */
struct lb_service {
    be32 vip;
    uint16_t port;                      /* Host order, 1..65535. */
    uint8_t proto;                      /* IPPROTO_TCP or IPPROTO_UDP. */
};

/* A validated policy.  Backends are free of duplicates; lb_config_from_msg() sorts them by
 * (ip, port), the order the datapath keeps them in. */
struct lb_config {
    struct lb_service service;
    bool dsr;
    bool preserve_dip;                  /* Classic L2 DSR: only the MAC is fixed (implies dsr,
                                         * every backend port == service port). */
    uint32_t affinity_timeout;          /* Seconds; 0: no ClientIP affinity. */
    size_t n_source_ranges;             /* loadBalancerSourceRanges; 0: any client. */
    struct cidr source_ranges[LB_CONFIG_MAX_SOURCE_RANGES];
    char name[LB_CONFIG_NAME_MAX];
    size_t n_backends;
    struct lb_config_backend *backends; /* Owned; NULL when there are none. */
};

/* What a VIP must not be: an address of this node's pod network. */
struct lb_config_env {
    struct cidr pod_cidr;
    be32 gateway;
};

/* Parses "VIP:PORT/PROTO" (PROTO tcp or udp, any case).  With 'env', also refuses a VIP
 * inside the pod CIDR or equal to the gateway; without, checks only the syntax and that the
 * VIP is a unicast address, or 0.0.0.0 for a NodePort on every node address (del-lb must
 * be able to remove what an older configuration let in).  Returns 0 or -EINVAL with a
 * message in 'err'. */
int lb_service_parse(const char *s, const struct lb_config_env *env, struct lb_service *,
                     char *err, size_t errlen);
/* The checks of lb_service_parse() that depend on 'env', for a service read back from the
 * database after the pod CIDR may have changed.  Returns 0 or -EINVAL with a message. */
int lb_service_check_env(const struct lb_service *, const struct lb_config_env *env,
                         char *err, size_t errlen);
/* "10.96.0.10:80/tcp" into 'buf'; returns 'buf'. */
const char *lb_service_str(const struct lb_service *, char buf[LB_SERVICE_STR_LEN]);
/* "tcp", "udp", or "?" for anything else. */
const char *lb_proto_name(uint8_t proto);

/* Checks 'req' against 'env' and fills 'cfg' (destroy it with lb_config_destroy() on
 * success; nothing to free on failure).  An empty name becomes the default name.  Returns 0
 * or -EINVAL with a message in 'err'. */
int lb_config_from_msg(const Vswitch__AddLb *req, const struct lb_config_env *env,
                       struct lb_config *cfg, char *err, size_t errlen);
/* Accepts NULL. */
void lb_config_destroy(struct lb_config *);

/* NULL if 'name' is acceptable as a friendly name, else what is wrong with it. */
const char *lb_config_name_problem(const char *name, char *buf, size_t size);

/* The default friendly name, VFP-like: LB_DSR_<H>_<VIP>_<PORT>_<PROTO number> for a DSR
 * policy, LB_<H>_... otherwise, where <H> is five upper-case hex digits of the 32-bit FNV-1a
 * hash of the service text ("10.96.0.10:80/tcp") folded to 20 bits (h ^ h >> 20): stable
 * across nodes, restarts and releases, so the proxy may compute it too. */
void lb_config_default_name(const struct lb_service *, bool dsr,
                            char name[LB_CONFIG_NAME_MAX]);

#endif
