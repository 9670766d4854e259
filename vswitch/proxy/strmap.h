/* A hash map from NUL-terminated strings to pointers, for the proxy's object stores (keyed by
 * "namespace/name") and its desired state (keyed by "VIP:PORT/PROTO" or a node IP).
 *
 * Open addressing with linear probing and tombstones; the map owns copies of its keys, never
 * its values.  Not thread-safe: each map belongs to whoever holds the lock that guards it. */
#ifndef VSWITCH_PROXY_STRMAP_H
#define VSWITCH_PROXY_STRMAP_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct strmap_slot {
    char *key;              /* NULL: empty; STRMAP_TOMBSTONE: deleted. */
    void *value;
    uint32_t hash;
};

struct strmap {
    struct strmap_slot *slots;
    size_t cap;             /* Power of two, or 0 before the first insert. */
    size_t n;               /* Live entries. */
    size_t used;            /* Live entries and tombstones. */
};

#define STRMAP_INITIALIZER { NULL, 0, 0, 0 }

void strmap_init(struct strmap *);
/* Frees the keys and the table, not the values.  Accepts an initialized empty map. */
void strmap_destroy(struct strmap *);

/* The value stored under 'key', or NULL. */
void *strmap_get(const struct strmap *, const char *key);
/* Stores 'value' under 'key' (copied).  Returns the value it replaces, or NULL. */
void *strmap_put(struct strmap *, const char *key, void *value);
/* Removes 'key'.  Returns its value, or NULL if it was not there. */
void *strmap_remove(struct strmap *, const char *key);

static inline size_t strmap_count(const struct strmap *map)
{
    return map->n;
}

/* Iteration in no particular order: 'pos' starts at 0; returns false at the end.  The map must
 * not be changed during an iteration, except through strmap_remove() of the current key. */
bool strmap_next(const struct strmap *, size_t *pos, const char **key, void **value);

/* The live keys, sorted with strcmp; the caller frees the array (not the strings, which stay
 * the map's). */
const char **strmap_sorted_keys(const struct strmap *);

#endif
