/* String-keyed hash map; see strmap.h. */
#include "proxy/strmap.h"

#include <stdlib.h>
#include <string.h>

#include "lib/util.h"

static char strmap_tombstone;
#define STRMAP_TOMBSTONE (&strmap_tombstone)

/* FNV-1a, 32 bits: keys are short and this is not on a packet path. */
static uint32_t hash_str(const char *s)
{
    uint32_t h = 2166136261u;

    for (; *s; s++) {
        h = (h ^ (uint8_t) *s) * 16777619u;
    }
    return h;
}

void strmap_init(struct strmap *map)
{
    *map = (struct strmap) STRMAP_INITIALIZER;
}

void strmap_destroy(struct strmap *map)
{
    for (size_t i = 0; i < map->cap; i++) {
        if (map->slots[i].key && map->slots[i].key != STRMAP_TOMBSTONE) {
            free(map->slots[i].key);
        }
    }
    free(map->slots);
    strmap_init(map);
}

static struct strmap_slot *find(const struct strmap *map, const char *key, uint32_t hash)
{
    size_t mask = map->cap - 1;

    if (!map->cap) {
        return NULL;
    }
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
        struct strmap_slot *slot = &map->slots[i];

        if (!slot->key) {
            return NULL;
        }
        if (slot->key != STRMAP_TOMBSTONE && slot->hash == hash && !strcmp(slot->key, key)) {
            return slot;
        }
    }
}

static void insert_new(struct strmap *map, char *key, void *value, uint32_t hash)
{
    size_t mask = map->cap - 1;
    size_t i = hash & mask;

    while (map->slots[i].key && map->slots[i].key != STRMAP_TOMBSTONE) {
        i = (i + 1) & mask;
    }
    if (!map->slots[i].key) {
        map->used++;
    }
    map->slots[i] = (struct strmap_slot) { key, value, hash };
    map->n++;
}

/* Keeps the table at most 3/4 full of live entries and tombstones. */
static void reserve(struct strmap *map)
{
    struct strmap_slot *old = map->slots;
    size_t old_cap = map->cap, cap;

    if ((map->used + 1) * 4 <= map->cap * 3) {
        return;
    }
    cap = old_cap ? old_cap : 16;
    while ((map->n + 1) * 2 > cap) {
        cap *= 2;
    }
    map->slots = xcalloc(cap, sizeof *map->slots);
    map->cap = cap;
    map->n = map->used = 0;
    for (size_t i = 0; i < old_cap; i++) {
        if (old[i].key && old[i].key != STRMAP_TOMBSTONE) {
            insert_new(map, old[i].key, old[i].value, old[i].hash);
        }
    }
    free(old);
}

void *strmap_get(const struct strmap *map, const char *key)
{
    struct strmap_slot *slot = find(map, key, hash_str(key));

    return slot ? slot->value : NULL;
}

void *strmap_put(struct strmap *map, const char *key, void *value)
{
    uint32_t hash = hash_str(key);
    struct strmap_slot *slot = find(map, key, hash);
    void *old;

    if (slot) {
        old = slot->value;
        slot->value = value;
        return old;
    }
    reserve(map);
    insert_new(map, xstrdup(key), value, hash);
    return NULL;
}

void *strmap_remove(struct strmap *map, const char *key)
{
    struct strmap_slot *slot = find(map, key, hash_str(key));
    void *old;

    if (!slot) {
        return NULL;
    }
    old = slot->value;
    free(slot->key);
    slot->key = STRMAP_TOMBSTONE;
    slot->value = NULL;
    map->n--;
    return old;
}

bool strmap_next(const struct strmap *map, size_t *pos, const char **key, void **value)
{
    for (; *pos < map->cap; (*pos)++) {
        const struct strmap_slot *slot = &map->slots[*pos];

        if (slot->key && slot->key != STRMAP_TOMBSTONE) {
            *key = slot->key;
            *value = slot->value;
            (*pos)++;
            return true;
        }
    }
    return false;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *) a, *(const char *const *) b);
}

const char **strmap_sorted_keys(const struct strmap *map)
{
    const char **keys = xmalloc((map->n + 1) * sizeof *keys);
    const char *key;
    size_t pos = 0, n = 0;
    void *value;

    while (strmap_next(map, &pos, &key, &value)) {
        keys[n++] = key;
    }
    qsort(keys, n, sizeof *keys, cmp_str);
    return keys;
}
