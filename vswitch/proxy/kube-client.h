/* HTTP(S) requests to the Kubernetes API server through libcurl: TLS verified against the
 * configured CA, client certificates, and a bearer token taken from the configuration or
 * from a token file that is re-read whenever it changes (projected service-account tokens
 * are rotated on disk).
 *
 * One kube_client per thread (each holds a libcurl easy handle and its connection); a
 * request blocks its thread, and returns early once '*stop' becomes true. */
#ifndef VSWITCH_PROXY_KUBE_CLIENT_H
#define VSWITCH_PROXY_KUBE_CLIENT_H 1

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "proxy/kubeconfig.h"

struct kube_client;

/* Body chunks of a 200 response, as they arrive.  Returns 0, or a negative errno to abort the
 * transfer (kube_client_get() then returns that error). */
typedef int kube_data_cb(const char *data, size_t n, void *aux);

struct kube_response {
    long status;            /* HTTP status; 0 if none was received. */
    char *body;             /* The body when buffered (no callback, or status != 200),
                             * NUL-terminated; free() it. */
    size_t len;
};

/* Must be called once, before any thread starts (curl_global_init). */
void kube_client_global_init(void);
/* After every thread has ended. */
void kube_client_global_cleanup(void);

/* 'cfg' and 'stop' must outlive the client.  Returns NULL never (aborts on OOM). */
struct kube_client *kube_client_create(const struct kube_config *cfg, atomic_bool *stop);
void kube_client_destroy(struct kube_client *);

/* GET 'path' (with its query) from the server.  A 200 body goes to 'cb' if given, else into
 * resp->body; any other status's body is buffered (it holds a Status object).  'timeout_s'
 * bounds the whole transfer (0: none, for watches); a stalled transfer is still detected by
 * TCP keepalives.  Returns 0 when a response was received (whatever its status), or a
 * negative errno with the reason in 'err' (-ECANCELED when stopped). */
int kube_client_get(struct kube_client *, const char *path, long timeout_s, kube_data_cb *cb,
                    void *aux, struct kube_response *resp, char *err, size_t errlen);

void kube_response_destroy(struct kube_response *);

/* The message of a Kubernetes Status object in 'body', or NULL. */
const char *kube_status_message(const char *body, char *buf, size_t size);

#endif
