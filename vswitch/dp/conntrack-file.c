/* The flow-pair table kept in a file (ct_init_file(), conntrack.h): the connections array
 * is a shared mapping of a file on tmpfs, so a vswitchd restarted after a crash adopts the
 * pairs of the one before.  Only the array is trusted; the index, free list, sources and
 * eviction lists are rebuilt from it.  Start-up and exit, on the thread that owns the
 * table. */
#include "dp/conntrack.h"
#include "dp/conntrack-private.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dp/net-headers.h"

/* The file starts with a page for the header, so the array stays page-aligned. */
#define CT_FILE_HEADER 4096

struct ct_file_header {
    char magic[8];                  /* "vswpairs" */
    uint32_t version;
    uint32_t conn_size;
    uint64_t capacity;
    char boot_id[40];               /* /proc/sys/kernel/random/boot_id: times are per boot. */
};
_Static_assert(sizeof(struct ct_file_header) <= CT_FILE_HEADER, "header fits its page");

/* 2: eviction classes (the 'assured' byte and the bookkeeping after it).  Dispatch entries
 * came without a new version, on purpose: they are kind 2 in the byte that every switch of
 * version 2 checks to be 0 or 1, so such a switch (a rollback) drops them and keeps the
 * pairs, and a file without them reads as before.  A new version would have cost every
 * flow pair at the upgrade. */
#define CT_FILE_VERSION 2

static void read_boot_id(char *buf, size_t size)
{
    FILE *f = fopen("/proc/sys/kernel/random/boot_id", "re");

    memset(buf, 0, size);
    if (f) {
        if (!fgets(buf, size, f)) {
            buf[0] = '\0';
        }
        fclose(f);
    }
}

/* Links every in-use connection into its chains, its source and its class, and every other
 * slot into the free list. */
static size_t rebuild_index(struct ct_table *ct)
{
    size_t adopted = 0;

    ct->free_head = 0;
    ct->n_conns = 0;
    ct->n_dispatch = 0;
    for (uint32_t i = ct->capacity; i-- > 0; ) {
        struct ct_conn *conn = &ct->conns[i];

        /* Only the bytes that cannot hold an invalid value are trusted as they are. */
        if (conn->in_use == 1 && conn->kind <= CT_KIND_DISPATCH
            && conn->state <= CT_UDP_REPLIED && conn->assured <= 1
            && (conn->tuple[0].proto == IP_PROTO_TCP
                || conn->tuple[0].proto == IP_PROTO_UDP)) {
            ct_link_chains(ct, conn, i);
            adopted++;
        } else {
            conn->in_use = false;
            conn->next[0] = ct->free_head;
            ct->free_head = i + 1;
        }
    }
    /* In a second pass, in table order: the age order of the lists died with the process. */
    CT_FOR_EACH (conn, ct) {
        ct_attach(ct, conn);
    }
    return adopted;
}

int ct_init_file(struct ct_table *ct, size_t capacity, const struct ct_timeouts *timeouts,
                 const char *path)
{
    struct ct_file_header want, *have;
    size_t size;
    struct stat st;
    void *map;
    int fd, error;

    capacity = ct_clamp_capacity(capacity);
    memset(&want, 0, sizeof want);
    memcpy(want.magic, "vswpairs", 8);
    want.version = CT_FILE_VERSION;
    want.conn_size = sizeof(struct ct_conn);
    want.capacity = capacity;
    read_boot_id(want.boot_id, sizeof want.boot_id);
    size = CT_FILE_HEADER + capacity * sizeof(struct ct_conn);

    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        error = -errno;
        goto fallback;
    }
    /* One owner at a time: two switches writing one table would corrupt each other's
     * chains.  The lock goes with the process, crash included. */
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        error = errno == EWOULDBLOCK ? -EBUSY : -errno;
        close(fd);
        goto fallback;
    }
    if (fstat(fd, &st) < 0 || ((size_t) st.st_size != size && ftruncate(fd, 0) < 0)
        || ftruncate(fd, size) < 0) {
        error = -errno;
        close(fd);
        goto fallback;
    }
    map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) {
        error = -errno;
        close(fd);
        goto fallback;
    }

    memset(ct, 0, sizeof *ct);
    ct->map_fd = fd;
    ct->conns = (struct ct_conn *) ((uint8_t *) map + CT_FILE_HEADER);
    ct->map_size = size;
    ct_init_index(ct, capacity, timeouts);
    have = map;
    if (memcmp(have, &want, sizeof want)) {
        /* Another boot, size or layout: nothing in it can be trusted. */
        memset(ct->conns, 0, capacity * sizeof *ct->conns);
        *have = want;
    }
    return rebuild_index(ct);

fallback:
    ct_init(ct, capacity, timeouts);
    return error;
}

void ct_file_unmap(struct ct_table *ct)
{
    munmap((uint8_t *) ct->conns - CT_FILE_HEADER, ct->map_size);
    close(ct->map_fd);
}
