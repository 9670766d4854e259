/* The monitoring HTTP servers; see http.h. */
#include "lib/http.h"

#include <netinet/in.h>
#include <string.h>

struct MHD_Daemon *http_start(be32 ip, uint16_t port, MHD_AccessHandlerCallback handler,
                              void *cls, MHD_LogCallback logger, void *logger_cls)
{
    struct sockaddr_in sin = {
        .sin_family = AF_INET,
        .sin_addr.s_addr = ip,
        .sin_port = htons(port),
    };

    return MHD_start_daemon(MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
                            handler, cls,
                            /* First, or libmicrohttpd complains through its own logger. */
                            MHD_OPTION_EXTERNAL_LOGGER, logger, logger_cls,
                            MHD_OPTION_SOCK_ADDR, (struct sockaddr *) &sin,
                            MHD_OPTION_CONNECTION_LIMIT, 64u,
                            MHD_OPTION_CONNECTION_TIMEOUT, 10u,
                            MHD_OPTION_END);
}

enum MHD_Result http_reply(struct MHD_Connection *conn, unsigned int status, const char *type,
                           char *body, size_t len, enum MHD_ResponseMemoryMode mode)
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

enum MHD_Result http_reply_static(struct MHD_Connection *conn, unsigned int status,
                                  const char *type, const char *text)
{
    return http_reply(conn, status, type, (char *) text, strlen(text), MHD_RESPMEM_PERSISTENT);
}
