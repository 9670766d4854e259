/* Prometheus text helpers; see prom.h. */
#include "proxy/prom.h"


void prom_histogram_init(struct prom_histogram *h, double start, double factor, size_t n)
{
    *h = (struct prom_histogram) { .n_bounds = n < PROM_MAX_BUCKETS ? n : PROM_MAX_BUCKETS };
    for (size_t i = 0; i < h->n_bounds; i++) {
        h->bounds[i] = start;
        start *= factor;
    }
}

void prom_histogram_observe(struct prom_histogram *h, double value)
{
    size_t i = 0;

    while (i < h->n_bounds && value > h->bounds[i]) {
        i++;
    }
    h->counts[i]++;
    h->count++;
    h->sum += value;
}

double prom_histogram_quantile(const struct prom_histogram *h, double q)
{
    double rank = q * h->count, below = 0;

    if (!h->count) {
        return 0;
    }
    for (size_t i = 0; i <= h->n_bounds; i++) {
        if (below + h->counts[i] >= rank && h->counts[i]) {
            double lo = i ? h->bounds[i - 1] : 0;

            if (i == h->n_bounds) {
                return lo;          /* +Inf bucket: the highest finite bound. */
            }
            return lo + (h->bounds[i] - lo) * (rank - below) / h->counts[i];
        }
        below += h->counts[i];
    }
    return h->n_bounds ? h->bounds[h->n_bounds - 1] : 0;
}

void prom_header(FILE *f, const char *name, const char *type, const char *help)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void prom_histogram_print(FILE *f, const char *name, const struct prom_histogram *h)
{
    uint64_t cum = 0;

    for (size_t i = 0; i < h->n_bounds; i++) {
        cum += h->counts[i];
        fprintf(f, "%s_bucket{le=\"%g\"} %llu\n", name, h->bounds[i], (unsigned long long) cum);
    }
    cum += h->counts[h->n_bounds];
    fprintf(f, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long) cum);
    fprintf(f, "%s_sum %.9g\n%s_count %llu\n", name, h->sum, name,
            (unsigned long long) h->count);
}
