/* The proxy's HTTP endpoints, as kube-proxy's: /healthz (200 or 503 with a small JSON body)
 * on --healthz-bind-address and Prometheus text at /metrics on --metrics-bind-address (each
 * also answers the other path).  libmicrohttpd serves them from its own thread. */
#ifndef VSWITCH_PROXY_PROXY_HTTP_H
#define VSWITCH_PROXY_PROXY_HTTP_H 1

#include <stddef.h>

struct proxy;
struct proxy_http;

/* Serves on 'addr' ("IP:PORT").  Returns 0 or a negative errno with a message. */
int proxy_http_start(struct proxy *, const char *addr, struct proxy_http **,
                     char *err, size_t errlen);
/* Accepts NULL. */
void proxy_http_stop(struct proxy_http *);

#endif
