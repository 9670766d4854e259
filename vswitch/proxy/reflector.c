/* List and watch of one kind of object; see reflector.h. */
#include "proxy/reflector.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LOG_MODULE "reflector"
#include "lib/log.h"
#include "lib/util.h"
#include "proxy/json-lines.h"
#include "proxy/k8s-objects.h"
#include "proxy/kube-client.h"

#define LIST_TIMEOUT_S 120
#define MAX_EVENT (64u << 20)           /* One watch event: an object of at most a few MiB. */
#define BACKOFF_INITIAL_MS 500
#define BACKOFF_MAX_MS 16000
#define ERR_LEN 512

/* A watch that delivered something or lasted this long was a success: reset the backoff. */
#define WATCH_HEALTHY_MS 10000

void reflector_init(struct reflector *r, const struct reflector_kind *kind,
                    const void *parse_aux, const struct kube_config *cfg, atomic_bool *stop,
                    pthread_mutex_t *lock, void (*changed)(void *, const struct reflector *),
                    void *owner)
{
    memset(r, 0, sizeof *r);
    r->kind = kind;
    r->path = kind->path;
    r->parse_aux = parse_aux;
    r->cfg = cfg;
    r->stop = stop;
    r->page_limit = 500;
    r->watch_timeout_s = 300;
    r->lock = lock;
    strmap_init(&r->store);
    r->changed = changed;
    r->owner = owner;
    backoff_init(&r->backoff, BACKOFF_INITIAL_MS, BACKOFF_MAX_MS);
}

int reflector_start(struct reflector *r)
{
    return -pthread_create(&r->thread, NULL, reflector_run, r);
}

static void free_store(struct reflector *r, struct strmap *map)
{
    const char *key;
    size_t pos = 0;
    void *obj;

    while (strmap_next(map, &pos, &key, &obj)) {
        r->kind->free(obj);
    }
    strmap_destroy(map);
}

void reflector_destroy(struct reflector *r)
{
    if (r->thread) {
        pthread_join(r->thread, NULL);
        r->thread = 0;
    }
    free_store(r, &r->store);
    free(r->rv);
    r->rv = NULL;
}

/* Sleeps 'ms', waking early when stopped.  Returns true if stopped. */
static bool sleep_ms(struct reflector *r, uint32_t ms)
{
    while (!atomic_load(r->stop)) {
        uint32_t step = ms < 100 ? ms : 100;
        struct timespec ts = { step / 1000, step % 1000 * 1000000L };

        if (!ms) {
            return false;
        }
        nanosleep(&ts, NULL);
        ms -= step;
    }
    return true;
}

static void set_rv(struct reflector *r, const char *rv)
{
    if (rv && *rv && (!r->rv || strcmp(r->rv, rv))) {
        free(r->rv);
        r->rv = xstrdup(rv);
    }
}

/* Percent-encodes a query value (continue tokens are base64). */
static char *url_escape(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    char *out = xmalloc(strlen(s) * 3 + 1), *o = out;

    for (; *s; s++) {
        unsigned char ch = *s;

        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
            ch == '-' || ch == '_' || ch == '.' || ch == '~') {
            *o++ = ch;
        } else {
            *o++ = '%';
            *o++ = hex[ch >> 4];
            *o++ = hex[ch & 15];
        }
    }
    *o = '\0';
    return out;
}

void reflector_auth_message(const struct reflector *r, long status, const char *verb,
                            const char *server_msg, char *buf, size_t size)
{
    const char *group = r->kind->api_group;

    if (status == 401) {
        snprintf(buf, size, "%s %s: 401 Unauthorized: the API server did not accept the "
                 "credentials of %s (%s): the token is invalid or expired, or the client "
                 "certificate is not trusted%s%s", verb, r->kind->resource,
                 r->cfg->source ? r->cfg->source : "the configuration",
                 r->cfg->token_file ? r->cfg->token_file : "token or client certificate",
                 server_msg ? ": " : "", server_msg ? server_msg : "");
    } else {
        snprintf(buf, size, "%s %s: 403 Forbidden: missing permission to %s %s%s%s in all "
                 "namespaces; vswitch-proxy needs a ClusterRole granting list and watch "
                 "on services and nodes (\"\") and endpointslices (discovery.k8s.io)%s%s",
                 verb, r->kind->resource, verb, *group ? group : "", *group ? "/" : "",
                 r->kind->resource, server_msg ? ": " : "", server_msg ? server_msg : "");
    }
}

/* Logs a failed request and returns the error to handle it with: -ESTALE for 410 Gone (list
 * again), -EIO otherwise (back off). */
static int http_failure(struct reflector *r, const char *verb, const struct kube_response *resp)
{
    char msgbuf[256], line[ERR_LEN + 256];
    const char *msg = kube_status_message(resp->body, msgbuf, sizeof msgbuf);

    if (resp->status == 410) {
        LOG_INFO("%s %s: 410 Gone (%s): listing again", verb, r->kind->resource,
                 msg ? msg : "resourceVersion too old");
        return -ESTALE;
    }
    atomic_fetch_add(&r->stats.api_errors, 1);
    if (resp->status == 401 || resp->status == 403) {
        reflector_auth_message(r, resp->status, verb, msg, line, sizeof line);
        LOG_ERR("%s", line);
    } else {
        LOG_WARN("%s %s: HTTP %ld%s%s", verb, r->kind->resource, resp->status,
                 msg ? ": " : "", msg ? msg : "");
    }
    return -EIO;
}

/* Parses 'obj' and stores it under its key (or removes the key when 'deleted').  Malformed
 * objects are logged and skipped; a malformed update leaves the last good version. */
static void apply_object(struct reflector *r, const json_t *obj, bool deleted)
{
    char err[ERR_LEN], keybuf[512];
    const char *key = k8s_object_key(obj, keybuf, sizeof keybuf);
    void *parsed = NULL, *old;

    if (!key) {
        atomic_fetch_add(&r->stats.malformed, 1);
        LOG_WARN("%s: skipping an object without metadata.name", r->kind->resource);
        return;
    }
    if (!deleted) {
        parsed = r->kind->parse(obj, r->parse_aux, err, sizeof err);
        if (!parsed) {
            atomic_fetch_add(&r->stats.malformed, 1);
            LOG_WARN("skipping malformed %s", err);
            return;
        }
    }
    pthread_mutex_lock(r->lock);
    old = parsed ? strmap_put(&r->store, key, parsed) : strmap_remove(&r->store, key);
    atomic_store(&r->stats.objects, strmap_count(&r->store));
    if (parsed || old) {
        r->changed(r->owner, r);
    }
    pthread_mutex_unlock(r->lock);
    if (old) {
        r->kind->free(old);
    }
}

/* One full list, in pages.  Returns 0 (store replaced, r->rv set), -ESTALE (a continue token
 * expired: list again), -ECANCELED, or another negative errno after logging. */
static int list(struct reflector *r, struct kube_client *kc)
{
    struct strmap fresh = STRMAP_INITIALIZER, old;
    char *cont = NULL, *rv = NULL, err[ERR_LEN];
    int error = 0;

    do {
        struct kube_response resp;
        char *path, *esc = cont ? url_escape(cont) : NULL;
        json_t *list, *items, *item;
        json_error_t jerr;
        const json_t *meta;
        size_t i;

        path = xmalloc(strlen(r->path) + (esc ? strlen(esc) : 0) + 64);
        sprintf(path, "%s?limit=%u%s%s", r->path, r->page_limit, esc ? "&continue=" : "",
                esc ? esc : "");
        free(esc);
        error = kube_client_get(kc, path, LIST_TIMEOUT_S, NULL, NULL, &resp, err, sizeof err);
        free(path);
        if (error) {
            if (error != -ECANCELED) {
                atomic_fetch_add(&r->stats.api_errors, 1);
                LOG_WARN("list %s: %s", r->kind->resource, err);
            }
            break;
        }
        if (resp.status == 404 && !cont && r->kind->fallback_path &&
            r->path != r->kind->fallback_path) {
            /* As kube-proxy did on servers before 1.21: the group's newer version is not
             * served, so read the older one, whose objects translate the same way. */
            LOG_WARN("list %s: %s is not served (404): using %s", r->kind->resource,
                     r->path, r->kind->fallback_path);
            r->path = r->kind->fallback_path;
            kube_response_destroy(&resp);
            error = -ESTALE;
            break;
        }
        if (resp.status != 200) {
            error = http_failure(r, "list", &resp);
            kube_response_destroy(&resp);
            break;
        }
        list = json_loadb(resp.body, resp.len, 0, &jerr);
        kube_response_destroy(&resp);
        items = json_object_get(list, "items");
        meta = json_object_get(list, "metadata");
        if (!json_is_object(list) || !(json_is_array(items) || json_is_null(items))) {
            atomic_fetch_add(&r->stats.api_errors, 1);
            LOG_WARN("list %s: malformed list: %s", r->kind->resource,
                     list ? "no items" : jerr.text);
            json_decref(list);
            error = -EBADMSG;
            break;
        }
        json_array_foreach(items, i, item) {
            char keybuf[512];
            const char *key = k8s_object_key(item, keybuf, sizeof keybuf);
            void *parsed = key ? r->kind->parse(item, r->parse_aux, err, sizeof err) : NULL;

            if (!parsed) {
                atomic_fetch_add(&r->stats.malformed, 1);
                LOG_WARN("skipping malformed %s", key ? err : "object without metadata.name");
                continue;
            }
            parsed = strmap_put(&fresh, key, parsed);
            if (parsed) {
                r->kind->free(parsed);
            }
        }
        free(cont);
        free(rv);
        cont = json_string_value(json_object_get(meta, "continue")) ?
               xstrdup(json_string_value(json_object_get(meta, "continue"))) : NULL;
        rv = xstrdup(json_string_value(json_object_get(meta, "resourceVersion")) ?: "");
        json_decref(list);
        if (cont && !*cont) {
            free(cont);
            cont = NULL;
        }
    } while (cont && !atomic_load(r->stop));

    if (!error && atomic_load(r->stop)) {
        error = -ECANCELED;
    }
    if (error) {
        free_store(r, &fresh);
        free(cont);
        free(rv);
        return error;
    }

    pthread_mutex_lock(r->lock);
    old = r->store;
    r->store = fresh;
    r->synced = true;
    atomic_store(&r->stats.objects, strmap_count(&r->store));
    r->changed(r->owner, r);
    pthread_mutex_unlock(r->lock);
    free_store(r, &old);

    atomic_fetch_add(&r->stats.lists, 1);
    LOG_INFO("listed %zu %s at resourceVersion %s", strmap_count(&fresh), r->kind->resource,
             rv);
    free(r->rv);
    r->rv = rv;
    return 0;
}

/* The state of one watch stream. */
struct watch_ctx {
    struct reflector *r;
    struct json_lines lines;
    bool gone;
    uint64_t events;
};

static int watch_event(struct watch_ctx *w, const char *line, size_t len)
{
    struct reflector *r = w->r;
    json_error_t jerr;
    json_t *ev = json_loadb(line, len, 0, &jerr);
    const char *type = json_string_value(json_object_get(ev, "type"));
    const json_t *obj = json_object_get(ev, "object");
    const char *rv = json_string_value(json_object_get(json_object_get(obj, "metadata"),
                                                       "resourceVersion"));
    int error = 0;

    if (!type || !json_is_object(obj)) {
        atomic_fetch_add(&r->stats.malformed, 1);
        LOG_WARN("watch %s: skipping a malformed event: %s", r->kind->resource,
                 ev ? "no type or object" : jerr.text);
    } else if (!strcmp(type, "ADDED") || !strcmp(type, "MODIFIED") ||
               !strcmp(type, "DELETED")) {
        apply_object(r, obj, type[0] == 'D');
        set_rv(r, rv);
        atomic_fetch_add(&r->stats.events, 1);
        w->events++;
    } else if (!strcmp(type, "BOOKMARK")) {
        set_rv(r, rv);
        atomic_fetch_add(&r->stats.bookmarks, 1);
        w->events++;
    } else if (!strcmp(type, "ERROR")) {
        json_int_t code = json_integer_value(json_object_get(obj, "code"));
        const char *msg = json_string_value(json_object_get(obj, "message"));
        const char *reason = json_string_value(json_object_get(obj, "reason"));

        if (code == 410 || (reason && (!strcmp(reason, "Expired") ||
                                       !strcmp(reason, "Gone")))) {
            LOG_INFO("watch %s: 410 Gone (%s): listing again", r->kind->resource,
                     msg ? msg : "resourceVersion too old");
            w->gone = true;
            error = -ESTALE;
        } else {
            LOG_WARN("watch %s: ERROR event %lld: %s", r->kind->resource, (long long) code,
                     msg ? msg : "(no message)");
            error = -EIO;
        }
    } else {
        LOG_WARN("watch %s: skipping an event of unknown type \"%s\"", r->kind->resource,
                 type);
    }
    json_decref(ev);
    return error;
}

static int watch_data(const char *data, size_t n, void *aux)
{
    struct watch_ctx *w = aux;
    size_t len;
    char *line;
    int rc;

    json_lines_feed(&w->lines, data, n);
    while ((rc = json_lines_next(&w->lines, &line, &len)) > 0) {
        int error = watch_event(w, line, len);

        if (error) {
            return error;
        }
    }
    if (rc < 0) {
        LOG_WARN("watch %s: an event longer than %u bytes: dropping the stream",
                 w->r->kind->resource, MAX_EVENT);
        return rc;
    }
    return 0;
}

/* One watch from r->rv.  Returns 0 (the stream ended: watch again), -ESTALE (list again),
 * -ECANCELED, or another negative errno after logging (back off). */
static int watch(struct reflector *r, struct kube_client *kc)
{
    struct watch_ctx w = { .r = r };
    struct kube_response resp;
    char *path, *esc = url_escape(r->rv), err[ERR_LEN];
    uint64_t start = time_msec();
    /* Spread the server-side timeouts of many proxies, as client-go does. */
    uint32_t timeout = r->watch_timeout_s + (uint32_t) (start % (r->watch_timeout_s + 1));
    int error;

    path = xmalloc(strlen(r->path) + strlen(esc) + 96);
    sprintf(path, "%s?watch=1&allowWatchBookmarks=true&resourceVersion=%s&timeoutSeconds=%u",
            r->path, esc, timeout);
    free(esc);
    json_lines_init(&w.lines, MAX_EVENT);
    atomic_fetch_add(&r->stats.watches, 1);
    error = kube_client_get(kc, path, 0, watch_data, &w, &resp, err, sizeof err);
    free(path);
    if (error == -ECANCELED) {
        /* Stopping. */
    } else if (w.gone) {
        error = -ESTALE;
    } else if (error) {
        atomic_fetch_add(&r->stats.api_errors, 1);
        LOG_WARN("watch %s from resourceVersion %s dropped: %s", r->kind->resource, r->rv,
                 err);
        /* A stream that had been working is simply resumed; one that fails at once backs
         * off. */
        error = w.events || time_msec() - start > WATCH_HEALTHY_MS ? 0 : -EIO;
    } else if (resp.status != 200) {
        error = http_failure(r, "watch", &resp);
    } else {
        if (json_lines_pending(&w.lines)) {
            LOG_WARN("watch %s: the stream ended inside an event (%zu bytes dropped)",
                     r->kind->resource, json_lines_pending(&w.lines));
        }
        LOG_DBG("watch %s ended after %llu events: watching again from %s",
                r->kind->resource, (unsigned long long) w.events, r->rv);
    }
    if (!error && (w.events || time_msec() - start > WATCH_HEALTHY_MS)) {
        backoff_reset(&r->backoff);
    }
    json_lines_destroy(&w.lines);
    kube_response_destroy(&resp);
    return error;
}

void *reflector_run(void *r_)
{
    struct reflector *r = r_;
    struct kube_client *kc = kube_client_create(r->cfg, r->stop);
    bool first = true;

    while (!atomic_load(r->stop)) {
        int error;

        if (!r->rv) {
            if (first) {
                pthread_mutex_lock(r->lock);
                r->list_started_ms = time_msec();
                pthread_mutex_unlock(r->lock);
                first = false;
            }
            error = list(r, kc);
            if (!error) {
                backoff_reset(&r->backoff);
                continue;
            }
        } else {
            error = watch(r, kc);
            if (error == -ESTALE) {
                atomic_fetch_add(&r->stats.relists_gone, 1);
                free(r->rv);
                r->rv = NULL;
                continue;
            }
            if (!error) {
                continue;
            }
        }
        if (error == -ECANCELED) {
            break;
        }
        if (error == -ESTALE) {
            continue;               /* An expired continue token: list again at once. */
        }
        uint32_t delay = backoff_next(&r->backoff);

        LOG_DBG("%s: retrying in %u ms", r->kind->resource, delay);
        if (sleep_ms(r, delay)) {
            break;
        }
    }
    kube_client_destroy(kc);
    return NULL;
}
