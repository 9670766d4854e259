/* kube-proxy's health check servers for Services with externalTrafficPolicy Local: one HTTP
 * server per healthCheckNodePort, on every address of the node, answering any GET with
 *   {"service":{"namespace":NS,"name":NAME},"localEndpoints":N,"serviceProxyHealthy":true}
 * and 200 while N > 0, 503 otherwise, so that a cloud load balancer sends a Service's
 * traffic only to nodes with endpoints of it (the others would have nothing to balance to).
 *
 * The sync thread calls health_checks_sync() after each translation; the servers answer from
 * their own threads (libmicrohttpd), reading the counts under the set's lock. */
#ifndef VSWITCH_PROXY_HEALTH_CHECK_H
#define VSWITCH_PROXY_HEALTH_CHECK_H 1

#include <pthread.h>
#include <stddef.h>

#include "proxy/translate.h"

struct health_server;

struct health_checks {
    pthread_mutex_t lock;
    struct health_server *servers;      /* A list, by port. */
    size_t started, failed;             /* Servers started, and ports that could not be. */
};

void health_checks_init(struct health_checks *);
/* Makes the running servers exactly 'want' (of 'n'): starts the new ports, stops the gone
 * ones, updates the others' Services and counts.  A port that cannot be served (in use) is
 * logged and tried again at the next sync. */
void health_checks_sync(struct health_checks *, const struct health_check *want, size_t n);
/* Stops every server. */
void health_checks_destroy(struct health_checks *);

#endif
