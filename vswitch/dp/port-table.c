/* The port table and its indexes; see port-table.h. */
#include "dp/port-table.h"

#include <string.h>

#include "lib/hash.h"

static uint32_t mac_hash(struct eth_addr mac)
{
    uint64_t word = 0;

    memcpy(&word, mac.a, ETH_ADDR_LEN);
    return (uint32_t) hash_mix64(word);
}

struct port *port_table_by_ip(const struct port_table *table, be32 ip)
{
    for (uint32_t i = hash_u32(ip, 0), n = 0; n < PORT_TABLE_INDEX_SLOTS; i++, n++) {
        uint16_t port_no = table->by_ip[i % PORT_TABLE_INDEX_SLOTS];

        if (!port_no) {
            return NULL;
        }
        if (table->by_no[port_no]->ip == ip) {
            return table->by_no[port_no];
        }
    }
    return NULL;
}

struct port *port_table_by_mac(const struct port_table *table, struct eth_addr mac)
{
    for (uint32_t i = mac_hash(mac), n = 0; n < PORT_TABLE_INDEX_SLOTS; i++, n++) {
        uint16_t port_no = table->by_mac[i % PORT_TABLE_INDEX_SLOTS];

        if (!port_no) {
            return NULL;
        }
        if (eth_addr_equals(table->by_no[port_no]->mac, mac)) {
            return table->by_no[port_no];
        }
    }
    return NULL;
}

struct port *port_table_by_name(const struct port_table *table, const char *name)
{
    for (uint32_t p = 1; p < PORT_TABLE_MAX_PORTS; p++) {
        if (table->by_no[p] && !strcmp(table->by_no[p]->name, name)) {
            return table->by_no[p];
        }
    }
    return NULL;
}

uint32_t port_table_free_no(const struct port_table *table)
{
    for (uint32_t p = 1; p < PORT_TABLE_MAX_PORTS; p++) {
        if (!table->by_no[p]) {
            return p;
        }
    }
    return 0;
}

void port_table_insert(struct port_table *table, struct port *port, uint32_t port_no)
{
    port->port_no = port_no;
    table->by_no[port_no] = port;
    port_table_reindex(table);
}

void port_table_remove(struct port_table *table, struct port *port)
{
    table->by_no[port->port_no] = NULL;
    port_table_reindex(table);
}

void port_table_reindex(struct port_table *table)
{
    memset(table->by_ip, 0, sizeof table->by_ip);
    memset(table->by_mac, 0, sizeof table->by_mac);
    for (uint32_t p = 1; p < PORT_TABLE_MAX_PORTS; p++) {
        struct port *port = table->by_no[p];
        uint32_t i;

        if (!port) {
            continue;
        }
        if (port_is_pod(port)) {
            for (i = hash_u32(port->ip, 0); table->by_ip[i % PORT_TABLE_INDEX_SLOTS]; i++) {
                continue;
            }
            table->by_ip[i % PORT_TABLE_INDEX_SLOTS] = p;
        }
        if (port->mac_known) {
            for (i = mac_hash(port->mac); table->by_mac[i % PORT_TABLE_INDEX_SLOTS]; i++) {
                continue;
            }
            table->by_mac[i % PORT_TABLE_INDEX_SLOTS] = p;
        }
    }
}
