/* A reflector keeps a local copy of one kind of Kubernetes object (Services, EndpointSlices or
 * Nodes) in step with the API server, the way client-go's Reflector does: it lists (in pages
 * of 'limit' with 'continue'), then watches from the list's resourceVersion with bookmarks,
 * and loops:
 *
 *   - each watch event updates the store and the last resourceVersion seen (bookmarks only
 *     the latter);
 *   - a stream that ends or drops is watched again from the last resourceVersion;
 *   - 410 Gone (an ERROR event or the status of a request) means that resourceVersion is too
 *     old: list again and replace the store whole;
 *   - any other failure waits with exponential backoff and jitter; 401 and 403 are logged
 *     with the permission that is missing.
 *
 * Each reflector runs in a thread of its own.  Its store (a strmap of parsed objects keyed by
 * "namespace/name") is guarded by the mutex its owner passes in, and every change to it calls
 * the owner's 'changed' callback with that mutex held. */
#ifndef VSWITCH_PROXY_REFLECTOR_H
#define VSWITCH_PROXY_REFLECTOR_H 1

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "proxy/backoff.h"
#include "proxy/kubeconfig.h"
#include "proxy/strmap.h"

/* What a reflector knows of its kind of object. */
struct reflector_kind {
    const char *resource;       /* "services", for messages and metrics */
    const char *api_group;      /* "" (core) or "discovery.k8s.io", for 403 messages */
    const char *path;           /* "/api/v1/services" */
    /* The older version's path, listed when 'path' answers 404 (a server that does not serve
     * that version: discovery.k8s.io/v1beta1 on 1.19 and 1.20), or NULL. */
    const char *fallback_path;
    /* Parses an object (borrowed) into the struct stored.  Returns NULL with a message in
     * 'err' for a malformed object. */
    void *(*parse)(const json_t *obj, const void *aux, char *err, size_t len);
    void (*free)(void *);
};

/* Counters, read by the metrics thread without the lock (torn reads are harmless). */
struct reflector_stats {
    _Atomic uint64_t lists;             /* Full lists completed. */
    _Atomic uint64_t relists_gone;      /* Relists forced by 410 Gone. */
    _Atomic uint64_t watches;           /* Watch requests started. */
    _Atomic uint64_t events;            /* Watch events applied (not bookmarks). */
    _Atomic uint64_t bookmarks;
    _Atomic uint64_t api_errors;        /* Failed requests: transport, HTTP or ERROR event. */
    _Atomic uint64_t malformed;         /* Objects skipped as malformed. */
    _Atomic uint64_t objects;           /* Objects in the store. */
};

struct reflector {
    const struct reflector_kind *kind;
    const void *parse_aux;
    const struct kube_config *cfg;
    atomic_bool *stop;
    uint32_t page_limit;            /* Objects per list page. */
    uint32_t watch_timeout_s;       /* Server-side timeout of a watch (randomized a bit). */

    /* Guarded by '*lock'. */
    pthread_mutex_t *lock;
    struct strmap store;            /* key -> parsed object */
    bool synced;                    /* A full list has been stored. */
    uint64_t list_started_ms;       /* When the first list began (time_msec()). */
    void (*changed)(void *owner, const struct reflector *);
    void *owner;

    /* The thread's own. */
    const char *path;               /* kind->path, or kind->fallback_path after a 404. */
    char *rv;                       /* Last resourceVersion seen, or NULL: list next. */
    struct backoff backoff;
    pthread_t thread;
    struct reflector_stats stats;
};

/* Sets up 'r'; nothing runs until reflector_start(). */
void reflector_init(struct reflector *r, const struct reflector_kind *kind,
                    const void *parse_aux, const struct kube_config *cfg, atomic_bool *stop,
                    pthread_mutex_t *lock, void (*changed)(void *, const struct reflector *),
                    void *owner);
/* Starts the thread.  Returns 0 or a negative errno. */
int reflector_start(struct reflector *);
/* Waits for the thread to end (after '*stop' was set) and frees the store. */
void reflector_destroy(struct reflector *);

/* The body of the thread, exposed for tests that drive a reflector in the current thread:
 * runs until '*stop'. */
void *reflector_run(void *r);

/* The message logged for a 401 or 403 answer to 'verb' on the reflector's resource. */
void reflector_auth_message(const struct reflector *, long status, const char *verb,
                            const char *server_msg, char *buf, size_t size);

#endif
