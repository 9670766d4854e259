/* A load-balancing policy as the control plane states it: VIP:port/proto, its backends, DSR
 * or not, ClientIP affinity.  The words the API (dp.h), the policy table (lb.h) and Maglev
 * (maglev.h) share; no code. */
#ifndef VSWITCH_DP_LB_SPEC_H
#define VSWITCH_DP_LB_SPEC_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/types.h"

#define DP_LB_NAME_MAX 96
#define DP_LB_MAX_BACKENDS 4096
#define DP_LB_MAX_AFFINITY 86400

struct dp_lb_backend {
    be32 ip;
    uint16_t port;                  /* Host order. */
};

/* A policy: VIP:port/proto balanced over backends.  'proto' is IPPROTO_TCP or IPPROTO_UDP. */
struct dp_lb_spec {
    be32 vip;
    uint16_t port;                  /* Host order. */
    uint8_t proto;
    bool dsr;                       /* false: also SNAT the client to the gateway address. */
    uint32_t affinity_timeout;      /* ClientIP affinity in seconds; 0 = none. */
    char name[DP_LB_NAME_MAX];      /* Friendly name, as dump-policies prints it. */
    size_t n_backends;
    const struct dp_lb_backend *backends;
};

#endif
