/* Fragment port memory; see frag.h.  Direct-mapped: a collision replaces the older entry,
 * whose later fragments are then counted as fragment_no_first, never silently lost. */
#include "dp/frag.h"

#include "lib/hash.h"

static struct frag_entry *slot_for(struct frag_table *t, be32 src, be32 dst, uint8_t proto,
                                   be16 id)
{
    uint64_t words[2] = { (uint64_t) src << 32 | dst, (uint64_t) id << 8 | proto };

    return &t->entries[hash_words64(words, 2, 0x66726167) % FRAG_SLOTS];
}

void frag_remember(struct frag_table *t, be32 src, be32 dst, uint8_t proto, be16 id,
                   be16 sport, be16 dport, uint64_t now_ms)
{
    struct frag_entry *e = slot_for(t, src, dst, proto, id);

    e->src = src;
    e->dst = dst;
    e->proto = proto;
    e->id = id;
    e->sport = sport;
    e->dport = dport;
    e->used_ms = now_ms;
}

bool frag_lookup(struct frag_table *t, be32 src, be32 dst, uint8_t proto, be16 id,
                 be16 *sport, be16 *dport, uint64_t now_ms)
{
    struct frag_entry *e = slot_for(t, src, dst, proto, id);

    if (!e->used_ms || now_ms - e->used_ms > FRAG_TIMEOUT_MS || e->src != src
        || e->dst != dst || e->proto != proto || e->id != id) {
        return false;
    }
    e->used_ms = now_ms;
    *sport = e->sport;
    *dport = e->dport;
    return true;
}
