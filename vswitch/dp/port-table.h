/* The port table: the datapath's ports by port number, with indexes by IP and by MAC.
 *
 * The packet path looks ports up here: the slow path by destination IP (routing) and MAC
 * (switching, learning), the transmit step by port number.  The indexes are rebuilt whole on
 * every port change: at most PORT_TABLE_MAX_PORTS entries, and port changes are rare next to
 * packets.  Datapath thread. */
#ifndef VSWITCH_DP_PORT_TABLE_H
#define VSWITCH_DP_PORT_TABLE_H 1

#include <stdint.h>

#include "dp/port.h"
#include "lib/types.h"

#define PORT_TABLE_MAX_PORTS 1024
/* Open-addressing indexes by IP and by MAC; at least twice the ports keeps probes short. */
#define PORT_TABLE_INDEX_SLOTS 4096

struct port_table {
    struct port *by_no[PORT_TABLE_MAX_PORTS];   /* [0] is never used. */
    uint16_t by_ip[PORT_TABLE_INDEX_SLOTS];     /* Port numbers, 0 = empty: pods by IP. */
    uint16_t by_mac[PORT_TABLE_INDEX_SLOTS];    /* Ports whose MAC is known. */
};

/* The port numbered 'port_no', or NULL (0, beyond the table, or free). */
static inline struct port *port_table_get(const struct port_table *table, uint32_t port_no)
{
    return port_no < PORT_TABLE_MAX_PORTS ? table->by_no[port_no] : NULL;
}

/* The pod port with address 'ip'. */
struct port *port_table_by_ip(const struct port_table *, be32 ip);
/* The port whose MAC is known to be 'mac'. */
struct port *port_table_by_mac(const struct port_table *, struct eth_addr mac);
struct port *port_table_by_name(const struct port_table *, const char *name);

/* The lowest free port number, or 0 if the table is full. */
uint32_t port_table_free_no(const struct port_table *);
/* Puts 'port' in the table as 'port_no' (free, from port_table_free_no()). */
void port_table_insert(struct port_table *, struct port *, uint32_t port_no);
void port_table_remove(struct port_table *, struct port *);
/* Rebuilds the IP and MAC indexes: after a port's IP or MAC changed (MAC learning). */
void port_table_reindex(struct port_table *);

#endif
