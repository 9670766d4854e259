/* /healthz and /metrics; see proxy-http.h. */
#include "proxy/proxy-http.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_MODULE "http"
#include "lib/addr.h"
#include "lib/http.h"
#include "lib/log.h"
#include "lib/util.h"
#include "proxy/proxy.h"

struct proxy_http {
    struct proxy *proxy;
    struct MHD_Daemon *mhd;
};

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *data,
                              size_t *data_len, void **state)
{
    struct proxy_http *h = cls;
    char *text = NULL;
    size_t len = 0;
    FILE *f;
    int status = MHD_HTTP_OK;
    const char *type;

    if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD)) {
        return http_reply_static(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain",
                                 "only GET and HEAD\n");
    }
    if (strcmp(url, "/healthz") && strcmp(url, "/livez") && strcmp(url, "/metrics")) {
        return http_reply_static(conn, MHD_HTTP_NOT_FOUND, "text/plain",
                                 "not found: try /healthz or /metrics\n");
    }
    f = open_memstream(&text, &len);
    if (!f) {
        return MHD_NO;
    }
    if (!strcmp(url, "/metrics")) {
        proxy_metrics(h->proxy, f);
        type = "text/plain; version=0.0.4; charset=utf-8";
    } else {
        status = proxy_healthz(h->proxy, f);
        type = "application/json";
    }
    fclose(f);
    return http_reply(conn, status, type, text, len, MHD_RESPMEM_MUST_FREE);
}

static void mhd_log(void *cls, const char *fmt, va_list args)
{
    char buf[256];

    vsnprintf(buf, sizeof buf, fmt, args);
    buf[strcspn(buf, "\n")] = '\0';
    LOG_WARN("%s", buf);
}

int proxy_http_start(struct proxy *p, const char *addr, struct proxy_http **hp, char *err,
                     size_t errlen)
{
    struct proxy_http *h;
    uint16_t port;
    be32 ip;

    *hp = NULL;
    if (addr_parse_ip_port(addr, &ip, &port)) {
        snprintf(err, errlen, "invalid address '%s': expected IP:PORT", addr);
        return -EINVAL;
    }
    h = xcalloc(1, sizeof *h);
    h->proxy = p;
    h->mhd = http_start(ip, port, handle, h, mhd_log, h);
    if (!h->mhd) {
        snprintf(err, errlen, "cannot serve on %s (address in use, or not on this host?)",
                 addr);
        free(h);
        return -EADDRINUSE;
    }
    LOG_INFO("serving /healthz and /metrics on http://%s", addr);
    *hp = h;
    return 0;
}

void proxy_http_stop(struct proxy_http *h)
{
    if (h) {
        MHD_stop_daemon(h->mhd);
        free(h);
    }
}
