/* Prometheus text helpers; see prom.h. */
#include "lib/prom.h"

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

void prom_header(FILE *f, const char *name, const char *type, const char *help)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void prom_label(FILE *f, const char *value)
{
    for (const char *p = value; *p; p++) {
        if (*p == '\\' || *p == '"') {
            fputc('\\', f);
            fputc(*p, f);
        } else if (*p == '\n') {
            fputs("\\n", f);
        } else {
            fputc(*p, f);
        }
    }
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
