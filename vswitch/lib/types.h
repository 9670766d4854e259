/* Byte-order-typed integers and the address types every layer shares.
 *
 * be16/be32 hold network byte order; the type name says so, and conversions go through
 * htons()/ntohl() at the point of use so a reader always knows which order a value is in. */
#ifndef VSWITCH_LIB_TYPES_H
#define VSWITCH_LIB_TYPES_H 1

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

typedef uint16_t be16;
typedef uint32_t be32;

#define ETH_ADDR_LEN 6
struct eth_addr {
    uint8_t a[ETH_ADDR_LEN];
};

#define ETH_ADDR_FMT "%02x:%02x:%02x:%02x:%02x:%02x"
#define ETH_ADDR_ARGS(E) (E).a[0], (E).a[1], (E).a[2], (E).a[3], (E).a[4], (E).a[5]

/* Big enough for "255.255.255.255/32" and a terminator. */
#define IP_STR_LEN 20
#define ETH_STR_LEN 18

static inline bool eth_addr_equals(struct eth_addr a, struct eth_addr b)
{
    return !memcmp(a.a, b.a, ETH_ADDR_LEN);
}

static inline bool eth_addr_is_zero(struct eth_addr a)
{
    return !(a.a[0] | a.a[1] | a.a[2] | a.a[3] | a.a[4] | a.a[5]);
}

/* Group bit: broadcast and multicast. */
static inline bool eth_addr_is_multicast(struct eth_addr a)
{
    return a.a[0] & 1;
}

#define ARRAY_SIZE(A) (sizeof (A) / sizeof (A)[0])

#ifndef MIN
#define MIN(A, B) ((A) < (B) ? (A) : (B))
#endif
#ifndef MAX
#define MAX(A, B) ((A) > (B) ? (A) : (B))
#endif

#endif
