/* kube-proxy's health check node ports; see health-check.h. */
#include "proxy/health-check.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_MODULE "health-check"
#include "lib/http.h"
#include "lib/log.h"
#include "lib/util.h"

struct health_server {
    struct health_server *next;
    struct health_checks *set;
    struct health_check hc;             /* Guarded by set->lock. */
    struct MHD_Daemon *mhd;
};

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *data,
                              size_t *data_len, void **state)
{
    struct health_server *s = cls;
    size_t local;
    char *body;
    int len;

    (void) url, (void) version, (void) data, (void) data_len, (void) state;
    if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD)) {
        return http_reply_static(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain",
                                 "only GET and HEAD\n");
    }
    pthread_mutex_lock(&s->set->lock);
    local = s->hc.local_endpoints;
    len = asprintf(&body, "{\"service\":{\"namespace\":\"%s\",\"name\":\"%s\"},"
                   "\"localEndpoints\":%zu,\"serviceProxyHealthy\":true}\n",
                   s->hc.namespace_, s->hc.name, local);
    pthread_mutex_unlock(&s->set->lock);
    if (len < 0) {
        return MHD_NO;
    }
    return http_reply(conn, local ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE,
                      "application/json", body, len, MHD_RESPMEM_MUST_FREE);
}

static void mhd_log(void *cls, const char *fmt, va_list args)
{
    char buf[256];

    (void) cls;
    vsnprintf(buf, sizeof buf, fmt, args);
    buf[strcspn(buf, "\n")] = '\0';
    LOG_WARN("%s", buf);
}

void health_checks_init(struct health_checks *set)
{
    memset(set, 0, sizeof *set);
    pthread_mutex_init(&set->lock, NULL);
}

static const struct health_check *find(const struct health_check *want, size_t n,
                                       uint16_t port)
{
    for (size_t i = 0; i < n; i++) {
        if (want[i].port == port) {
            return &want[i];
        }
    }
    return NULL;
}

void health_checks_sync(struct health_checks *set, const struct health_check *want, size_t n)
{
    struct health_server **sp = &set->servers;

    /* Stop the servers of ports no longer wanted; update the others.  MHD_stop_daemon()
     * waits for its thread, whose handler takes the lock: called without it. */
    while (*sp) {
        struct health_server *s = *sp;
        const struct health_check *w = find(want, n, s->hc.port);

        if (!w) {
            *sp = s->next;
            MHD_stop_daemon(s->mhd);
            LOG_INFO("stopped the health check of %s/%s on port %u", s->hc.namespace_,
                     s->hc.name, s->hc.port);
            free(s);
            continue;
        }
        pthread_mutex_lock(&set->lock);
        s->hc = *w;
        pthread_mutex_unlock(&set->lock);
        sp = &s->next;
    }
    for (size_t i = 0; i < n; i++) {
        struct health_server *s;

        for (s = set->servers; s && s->hc.port != want[i].port; s = s->next) {
            continue;
        }
        if (s) {
            continue;
        }
        s = xcalloc(1, sizeof *s);
        s->set = set;
        s->hc = want[i];
        /* Every address of the node: load balancers probe the node's address. */
        s->mhd = http_start(0, want[i].port, handle, s, mhd_log, s);
        if (!s->mhd) {
            LOG_WARN("cannot serve the health check of %s/%s on port %u (in use?); trying "
                     "again at the next sync", want[i].namespace_, want[i].name, want[i].port);
            set->failed++;
            free(s);
            continue;
        }
        LOG_INFO("serving the health check of %s/%s on port %u (%zu local endpoint(s))",
                 want[i].namespace_, want[i].name, want[i].port, want[i].local_endpoints);
        set->started++;
        s->next = set->servers;
        set->servers = s;
    }
}

void health_checks_destroy(struct health_checks *set)
{
    health_checks_sync(set, NULL, 0);
    pthread_mutex_destroy(&set->lock);
}
