/* Exponential backoff with jitter for retrying the API server and vswitchd, as client-go's
 * wait.Backoff: each failure doubles the delay up to a cap, and each delay is drawn at random
 * from [d/2, d] ("equal jitter") so that many proxies restarted together do not retry in
 * step. */
#ifndef VSWITCH_PROXY_BACKOFF_H
#define VSWITCH_PROXY_BACKOFF_H 1

#include <stdint.h>

struct backoff {
    uint32_t initial_ms;
    uint32_t max_ms;
    uint32_t failures;      /* Consecutive failures so far. */
    uint64_t seed;          /* Private random state (xorshift). */
};

void backoff_init(struct backoff *, uint32_t initial_ms, uint32_t max_ms);
/* After a success: the next failure waits the initial delay again. */
void backoff_reset(struct backoff *);
/* Records a failure and returns how long to wait before the next try, in ms. */
uint32_t backoff_next(struct backoff *);

#endif
