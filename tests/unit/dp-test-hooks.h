/* What the datapath tests and fuzzers do to a datapath that the product never does, through
 * its thread's command queue (vswitch/dp/dp-thread.h) as the control API does.  Header only:
 * the fuzz targets link no test sources. */
#ifndef VSWITCH_TESTS_DP_TEST_HOOKS_H
#define VSWITCH_TESTS_DP_TEST_HOOKS_H 1

#include "dp/dp-thread.h"

static void dp_test_forget_cmd(struct dp *dp, void *arg)
{
    (void) arg;
    ct_flush(&dp->ct);
    flow_cache_flush(&dp->cache);
}

/* Forgets every flow pair and dispatch entry as well as the flow cache: a switch that lost
 * its state (a restart without the flow-pair file).  Policies, ports and peers stay. */
static inline void dp_conn_flush(struct dp *dp)
{
    dp_call(dp, dp_test_forget_cmd, NULL);
}

#endif
