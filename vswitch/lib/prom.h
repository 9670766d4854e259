/* Prometheus text exposition, for vswitchd's and vswitch-proxy's /metrics: metric family
 * headers, escaped label values and a cumulative histogram with fixed bucket bounds (as
 * kube-proxy's sync duration and network programming latency).  A histogram is updated by
 * one thread and read by the HTTP thread under its owner's lock. */
#ifndef VSWITCH_LIB_PROM_H
#define VSWITCH_LIB_PROM_H 1

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

/* "# HELP name help\n# TYPE name type\n" */
void prom_header(FILE *, const char *name, const char *type, const char *help);
/* A label value with backslash, double quote and newline escaped. */
void prom_label(FILE *, const char *value);
/* The _bucket, _sum and _count series of 'h' (after prom_header()). */
void prom_histogram_print(FILE *, const char *name, const struct prom_histogram *h);

#endif
