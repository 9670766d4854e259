/* /healthz and /metrics; see proxy-http.h. */
#include "proxy/proxy-http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_MODULE "http"
#include "lib/addr.h"
#include "lib/log.h"
#include "lib/util.h"
#include "proxy/proxy.h"

struct proxy_http {
    struct proxy *proxy;
    struct MHD_Daemon *mhd;
};

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned int status,
                             const char *type, char *body, size_t len,
                             enum MHD_ResponseMemoryMode mode)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, body, mode);
    enum MHD_Result ret;

    if (!resp) {
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    ret = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

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
        return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", "only GET and HEAD\n",
                     18, MHD_RESPMEM_PERSISTENT);
    }
    if (strcmp(url, "/healthz") && strcmp(url, "/livez") && strcmp(url, "/metrics")) {
        static const char msg[] = "not found: try /healthz or /metrics\n";

        return reply(conn, MHD_HTTP_NOT_FOUND, "text/plain", (char *) msg, sizeof msg - 1,
                     MHD_RESPMEM_PERSISTENT);
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
    return reply(conn, status, type, text, len, MHD_RESPMEM_MUST_FREE);
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
    struct sockaddr_in sin = { .sin_family = AF_INET };
    struct proxy_http *h;
    uint16_t port;
    be32 ip;

    *hp = NULL;
    if (addr_parse_ip_port(addr, &ip, &port)) {
        snprintf(err, errlen, "invalid address '%s': expected IP:PORT", addr);
        return -EINVAL;
    }
    sin.sin_addr.s_addr = ip;
    sin.sin_port = htons(port);
    h = xcalloc(1, sizeof *h);
    h->proxy = p;
    h->mhd = MHD_start_daemon(MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
                              handle, h,
                              MHD_OPTION_EXTERNAL_LOGGER, mhd_log, h,
                              MHD_OPTION_SOCK_ADDR, (struct sockaddr *) &sin,
                              MHD_OPTION_CONNECTION_LIMIT, 64u,
                              MHD_OPTION_CONNECTION_TIMEOUT, 10u,
                              MHD_OPTION_END);
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
