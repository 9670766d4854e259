/* The NodePort steering program's loader; see nodeport-steer.h.
 *
 * libbpf loads the object embedded by the bpftool skeleton (build/bpf/nodeport.skel.h) and
 * attaches it with bpf_tc_attach(), the cls_bpf netlink attachment, which outlives the
 * process: a vswitchd killed with -9 leaves it steering into the host port, which outlives
 * it too, and its successor replaces it in place.  The maps are not pinned: the table is
 * rebuilt from the policies at every start. */
#include "daemon/nodeport-steer.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bpf/nodeport.skel.h"
#include "dp/bpf/nodeport.h"
#include "lib/util.h"

/* Our cls_bpf filter at the uplinks' clsact ingress: its own handle, and a priority after the
 * fast path's (1), whose programs pass what is not theirs. */
#define NP_TC_HANDLE 0x4e50             /* "NP" */
#define NP_TC_PRIORITY 2

struct np_steer {
    struct nodeport_bpf *skel;
};

int np_steer_open(unsigned int host_ifindex, struct eth_addr host_mac,
                  struct eth_addr router_mac, struct np_steer **sp, char *err, size_t errlen)
{
    struct np_config cfg = { .host_ifindex = host_ifindex };
    struct np_steer *s = xcalloc(1, sizeof *s);
    uint32_t zero = 0;
    int rc;

    *sp = NULL;
    s->skel = nodeport_bpf__open_and_load();
    if (!s->skel) {
        rc = -errno;
        snprintf(err, errlen, "loading the NodePort steering program: %s", strerror(-rc));
        free(s);
        return rc;
    }
    memcpy(cfg.router_mac, router_mac.a, sizeof cfg.router_mac);
    memcpy(cfg.host_mac, host_mac.a, sizeof cfg.host_mac);
    if (bpf_map_update_elem(bpf_map__fd(s->skel->maps.np_config), &zero, &cfg, BPF_ANY)) {
        rc = -errno;
        snprintf(err, errlen, "configuring the NodePort steering program: %s",
                 strerror(-rc));
        np_steer_close(s);
        return rc;
    }
    *sp = s;
    return 0;
}

void np_steer_close(struct np_steer *s)
{
    if (s) {
        nodeport_bpf__destroy(s->skel);
        free(s);
    }
}

static enum bpf_tc_attach_point attach_point(bool egress)
{
    return egress ? BPF_TC_EGRESS : BPF_TC_INGRESS;
}

int np_steer_attach(struct np_steer *s, int ifindex, bool egress, char *err, size_t errlen)
{
    LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = attach_point(egress));
    LIBBPF_OPTS(bpf_tc_opts, opts, .handle = NP_TC_HANDLE, .priority = NP_TC_PRIORITY,
                .prog_fd = bpf_program__fd(s->skel->progs.np_tc), .flags = BPF_TC_F_REPLACE);
    int rc = bpf_tc_hook_create(&hook);

    if (rc && rc != -EEXIST) {
        snprintf(err, errlen, "creating the clsact qdisc: %s", strerror(-rc));
        return rc;
    }
    rc = bpf_tc_attach(&hook, &opts);
    if (rc) {
        snprintf(err, errlen, "attaching the tc program: %s", strerror(-rc));
    }
    return rc;
}

int np_steer_detach(int ifindex, bool egress)
{
    LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = attach_point(egress));
    LIBBPF_OPTS(bpf_tc_opts, opts, .handle = NP_TC_HANDLE, .priority = NP_TC_PRIORITY);
    libbpf_print_fn_t print;
    int rc;

    /* Usually there is nothing to detach (a start cleaning up after a predecessor killed
     * with -9): libbpf would log the kernel's complaint about it.  Its print hook is
     * process-wide, so a warning another thread had libbpf print in these few netlink round
     * trips would be lost too; vswitchd's libbpf work (loads, attachments) is on this
     * thread. */
    print = libbpf_set_print(NULL);
    rc = bpf_tc_detach(&hook, &opts);
    libbpf_set_print(print);
    /* Not there: ENOENT while the chain has other filters, EINVAL when it has none or there
     * is no clsact qdisc, ENODEV when the interface is gone. */
    return rc == -ENOENT || rc == -EINVAL || rc == -ENODEV ? 0 : rc;
}

static int entry_cmp(const void *a_, const void *b_)
{
    const struct np_steer_entry *a = a_, *b = b_;

    if (a->addr != b->addr) {
        return a->addr < b->addr ? -1 : 1;
    }
    if (a->port != b->port) {
        return a->port < b->port ? -1 : 1;
    }
    return (a->proto > b->proto) - (a->proto < b->proto);
}

int np_steer_set(struct np_steer *s, const struct np_steer_entry *entries, size_t n)
{
    int fd = bpf_map__fd(s->skel->maps.np_steer);
    struct np_key key, next, *prev = NULL;
    struct np_steer_entry *sorted = xmalloc((n + 1) * sizeof *sorted);
    struct np_key *stale = NULL;
    size_t n_stale = 0;
    uint8_t one = 1;
    int error = 0;

    if (n) {
        memcpy(sorted, entries, n * sizeof *sorted);
        qsort(sorted, n, sizeof *sorted, entry_cmp);
    }
    /* Gather first, delete after: deleting while iterating restarts the walk. */
    while (!bpf_map_get_next_key(fd, prev, &next)) {
        struct np_steer_entry e = { .addr = next.addr, .port = next.port, .proto = next.proto };

        if (!bsearch(&e, sorted, n, sizeof *sorted, entry_cmp)) {
            stale = xrealloc(stale, (n_stale + 1) * sizeof *stale);
            stale[n_stale++] = next;
        }
        key = next;
        prev = &key;
    }
    for (size_t i = 0; i < n_stale; i++) {
        if (bpf_map_delete_elem(fd, &stale[i]) && errno != ENOENT && !error) {
            error = -errno;
        }
    }
    free(stale);
    free(sorted);
    for (size_t i = 0; i < n && i < NP_MAX_KEYS; i++) {
        struct np_key k = {
            .addr = entries[i].addr, .port = entries[i].port, .proto = entries[i].proto,
        };

        if (bpf_map_update_elem(fd, &k, &one, BPF_ANY) && !error) {
            error = -errno;
        }
    }
    return error;
}

int np_steer_prog_fd(const struct np_steer *s)
{
    return bpf_program__fd(s->skel->progs.np_tc);
}

void np_steer_stats(const struct np_steer *s, struct np_steer_stats *st)
{
    int ncpus = libbpf_num_possible_cpus();
    int fd = bpf_map__fd(s->skel->maps.np_counters);
    uint64_t *values;

    memset(st, 0, sizeof *st);
    if (ncpus <= 0) {
        return;
    }
    values = xcalloc(ncpus, sizeof *values);
    for (uint32_t c = 0; c < NP_N_COUNTERS; c++) {
        uint64_t sum = 0;

        if (bpf_map_lookup_elem(fd, &c, values)) {
            continue;
        }
        for (int i = 0; i < ncpus; i++) {
            sum += values[i];
        }
        if (c == NP_STEERED) {
            st->steered = sum;
        } else if (c == NP_OWN_SOCKET) {
            st->own_socket = sum;
        }
    }
    free(values);
}
