/* Shared by the flow-pair table's own files only: conntrack.c (index, creation, state
 * machine, aging), conntrack-evict.c (sources, eviction classes, making room) and
 * conntrack-file.c (the table kept in a file and adopted after a restart).  Datapath
 * thread, as the table. */
#ifndef VSWITCH_DP_CONNTRACK_PRIVATE_H
#define VSWITCH_DP_CONNTRACK_PRIVATE_H 1

#include <stddef.h>
#include <stdint.h>

#include "dp/conntrack.h"

/* conntrack.c */

/* 'capacity' clamped to what ct_init() accepts. */
size_t ct_clamp_capacity(size_t capacity);
/* Allocates everything of 'ct' but the connections array, for 'capacity' connections. */
void ct_init_index(struct ct_table *, size_t capacity, const struct ct_timeouts *);
/* Puts 'conn' (slot 'idx') at the head of the chain of each of its tuples and counts it. */
void ct_link_chains(struct ct_table *, struct ct_conn *, uint32_t idx);

/* conntrack-evict.c */

/* Counts a new or adopted connection against its source and lists it under its class. */
void ct_attach(struct ct_table *, struct ct_conn *);
/* Undoes ct_attach(), before the slot is freed. */
void ct_detach(struct ct_table *, struct ct_conn *);
/* Moves 'conn' to the list of the class its state and 'assured' byte now give, if that is
 * another than the one it is on. */
void ct_reclassify(struct ct_table *, struct ct_conn *);
/* Makes sure a new connection of 'orig->src', of 'kind', may be created: recycles one of
 * the source's own at its limit, and frees a slot of a full table, as conntrack.h says.
 * Returns 0 (then ct->free_head is a free slot), or -EDQUOT or -ENOSPC, counted and logged
 * as a refused connection, or as a dispatch entry not kept. */
int ct_make_room(struct ct_table *, const struct ct_tuple *orig, enum ct_kind,
                 uint64_t now_ms);

/* conntrack-file.c */

/* Unmaps and unlocks the file of a table made by ct_init_file(); its array is gone. */
void ct_file_unmap(struct ct_table *);

#endif
