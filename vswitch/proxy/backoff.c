/* Backoff with jitter; see backoff.h. */
#include "proxy/backoff.h"

#include <time.h>
#include <unistd.h>

void backoff_init(struct backoff *b, uint32_t initial_ms, uint32_t max_ms)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    b->initial_ms = initial_ms;
    b->max_ms = max_ms;
    b->failures = 0;
    b->seed = ((uint64_t) ts.tv_nsec << 20) ^ (uint64_t) getpid() ^ (uintptr_t) b;
    b->seed |= 1;
}

void backoff_reset(struct backoff *b)
{
    b->failures = 0;
}

static uint64_t xorshift64(uint64_t *s)
{
    uint64_t x = *s;

    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

uint32_t backoff_next(struct backoff *b)
{
    uint64_t d = b->initial_ms;

    for (uint32_t i = 0; i < b->failures && d < b->max_ms; i++) {
        d *= 2;
    }
    if (d > b->max_ms) {
        d = b->max_ms;
    }
    if (b->failures < 64) {
        b->failures++;
    }
    return d / 2 + xorshift64(&b->seed) % (d - d / 2 + 1);
}
