/* vswitchd's HTTP endpoint for monitoring: Prometheus text at /metrics (per-port and per-drop-
 * reason counters, cached flows) and a liveness probe at /healthz.
 *
 * libmicrohttpd serves it from a thread of its own, so a slow scraper never delays the control
 * loop; that thread reads the datapath only through dp_* calls, which may be made from any
 * thread but the datapath's. */
#ifndef VSWITCH_DAEMON_METRICS_H
#define VSWITCH_DAEMON_METRICS_H 1

#include <stddef.h>

struct vswitchd;
struct metrics;

/* Starts serving on vd->cfg.metrics_ip:metrics_port.  'vd' must outlive the server.  Returns 0
 * or a negative errno with a message in 'err'. */
int metrics_start(const struct vswitchd *vd, struct metrics **, char *err, size_t errlen);
/* Stops the server thread; returns once no request is running.  Accepts NULL. */
void metrics_stop(struct metrics *);

#endif
