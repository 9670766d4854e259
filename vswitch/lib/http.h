/* The small HTTP servers for monitoring, as vswitchd (/metrics, /healthz) and vswitch-proxy
 * (/healthz, /metrics) run them: libmicrohttpd on a thread of its own, a few connections at
 * most, each given ten seconds, and replies built from one buffer.  A slow or stuck scraper
 * never delays the caller's other threads.
 *
 * Thread: http_start() from any thread; the replies from the server's handler. */
#ifndef VSWITCH_LIB_HTTP_H
#define VSWITCH_LIB_HTTP_H 1

#include <microhttpd.h>
#include <stddef.h>

#include "lib/types.h"

/* Serves 'ip':'port' with 'handler' (called with 'cls'), reporting libmicrohttpd's errors to
 * 'logger' (with 'logger_cls').  Returns the server, or NULL with errno set if libmicrohttpd
 * set it (it does not always: the logger has its message then). */
struct MHD_Daemon *http_start(be32 ip, uint16_t port, MHD_AccessHandlerCallback handler,
                              void *cls, MHD_LogCallback logger, void *logger_cls);

/* Queues a reply of 'len' bytes of 'body' with 'status' and Content-Type 'type'; 'mode' says
 * whether libmicrohttpd frees 'body' (MHD_RESPMEM_MUST_FREE) or it lives for ever
 * (MHD_RESPMEM_PERSISTENT).  Returns the handler's result. */
enum MHD_Result http_reply(struct MHD_Connection *, unsigned int status, const char *type,
                           char *body, size_t len, enum MHD_ResponseMemoryMode mode);

/* http_reply() of the static string 'text'. */
enum MHD_Result http_reply_static(struct MHD_Connection *, unsigned int status,
                                  const char *type, const char *text);

#endif
