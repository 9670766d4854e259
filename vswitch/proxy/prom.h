/* Prometheus text exposition helpers for the proxy's /metrics: a cumulative histogram with
 * fixed bucket bounds (as kube-proxy's sync duration and network programming latency) and
 * printing of metric families.  A histogram is updated by the sync thread and read by the
 * HTTP thread under the proxy's lock. */
#ifndef VSWITCH_PROXY_PROM_H
#define VSWITCH_PROXY_PROM_H 1

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define PROM_MAX_BUCKETS 24

struct prom_histogram {
    size_t n_bounds;
    double bounds[PROM_MAX_BUCKETS];        /* Upper bounds, ascending, in seconds. */
    uint64_t counts[PROM_MAX_BUCKETS + 1];  /* Per bucket (not cumulative); last is +Inf. */
    uint64_t count;
    double sum;
};

/* Buckets 'start', start*factor, ... ('n' of them), as prometheus.ExponentialBuckets. */
void prom_histogram_init(struct prom_histogram *, double start, double factor, size_t n);
void prom_histogram_observe(struct prom_histogram *, double value);
/* The value below which 'q' (0..1) of the observations fall, interpolated within the bucket
 * as Prometheus' histogram_quantile() does; 0 without observations. */
double prom_histogram_quantile(const struct prom_histogram *, double q);

/* "# HELP name help\n# TYPE name type\n" */
void prom_header(FILE *, const char *name, const char *type, const char *help);
/* The _bucket, _sum and _count series of 'h' (after prom_header()). */
void prom_histogram_print(FILE *, const char *name, const struct prom_histogram *h);

#endif
