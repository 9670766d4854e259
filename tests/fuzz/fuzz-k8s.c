/* libFuzzer target: what vswitch-proxy reads from the Kubernetes API, from the bytes of a
 * watch stream to the policies it would send: the stream split into lines
 * (proxy/json-lines.h) in pieces of any size, each line a watch event whose object is parsed
 * as a Service, an EndpointSlice or a Node (proxy/k8s-objects.h, by its "kind", else by the
 * line's position) and stored or removed by its key as the reflector does, then the stores
 * translated (proxy/translate.h), diffed against nothing and against themselves
 * (proxy/desired.h), and every policy checked as vswitchd would check the AddLb the proxy
 * sends for it (lib/lb-config.h).
 *
 * The first input byte sets the size of the pieces (1..256 bytes).  Checks, besides the
 * sanitizers: a state diffed against itself is empty. */
#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/addr.h"
#include "lib/lb-config.h"
#include "lib/log.h"
#include "lib/util.h"
#include "proxy/desired.h"
#include "proxy/json-lines.h"
#include "proxy/k8s-objects.h"
#include "proxy/strmap.h"
#include "proxy/translate.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond, ...)                                                        \
    do {                                                                        \
        if (!(cond)) {                                                          \
            fprintf(stderr, "fuzz-k8s: " __VA_ARGS__);                          \
            fprintf(stderr, "\n");                                              \
            abort();                                                            \
        }                                                                       \
    } while (0)

/* The reflector's limit on one event (proxy/reflector.c). */
#define MAX_EVENT (16u << 20)

struct stores {
    struct strmap services, slices, nodes;
    size_t lines;
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    log_set_level(LOG_LVL_ERR);
    return 0;
}

static void store(struct strmap *map, const char *key, void *parsed, void (*free_fn)(void *))
{
    void *old = parsed ? strmap_put(map, key, parsed) : strmap_remove(map, key);

    if (old) {
        free_fn(old);
    }
}

static void svc_free(void *p) { k8s_service_free(p); }
static void slice_free(void *p) { k8s_slice_free(p); }
static void node_free(void *p) { k8s_node_free(p); }

static void event(struct stores *s, const char *line, size_t len)
{
    json_t *ev = json_loadb(line, len, 0, NULL);
    const char *type = json_string_value(json_object_get(ev, "type"));
    const json_t *obj = json_object_get(ev, "object");
    const char *kind = json_string_value(json_object_get(obj, "kind"));
    char err[512], keybuf[512];
    const char *key;
    bool deleted;
    int which;

    s->lines++;
    if (!type || !json_is_object(obj) || !(key = k8s_object_key(obj, keybuf, sizeof keybuf))) {
        json_decref(ev);
        return;
    }
    deleted = !strcmp(type, "DELETED");
    which = !kind ? (int) (s->lines % 3) : !strcmp(kind, "Service") ? 0
            : !strcmp(kind, "EndpointSlice") ? 1 : !strcmp(kind, "Node") ? 2 : -1;
    if (which == 0) {
        struct k8s_service *svc = NULL;

        if (deleted || !k8s_service_from_json(obj, &svc, err, sizeof err)) {
            store(&s->services, key, svc, svc_free);
        }
    } else if (which == 1) {
        struct k8s_slice *slice = NULL;

        if (deleted || !k8s_slice_from_json(obj, "node-1", &slice, err, sizeof err)) {
            store(&s->slices, key, slice, slice_free);
        }
    } else if (which == 2) {
        struct k8s_node *node = NULL;

        if (deleted || !k8s_node_from_json(obj, &node, err, sizeof err)) {
            store(&s->nodes, key, node, node_free);
        }
    }
    json_decref(ev);
}

/* vswitchd's check of the AddLb the proxy would send for 'p'. */
static void check_policy(const struct policy *p)
{
    struct lb_config_env env;
    struct lb_service svc;
    struct lb_config cfg;
    Vswitch__AddLb msg;
    char **backends = xcalloc(p->n_backends + 1, sizeof *backends);
    char err[512];

    /* Not necessarily valid: the proxy sends what the objects say (a cluster IP in
     * 0.0.0.0/8, say) and leaves out what vswitchd refuses. */
    lb_service_parse(p->service, NULL, &svc, err, sizeof err);
    addr_parse_cidr("10.244.1.0/24", &env.pod_cidr);
    addr_parse_ip("10.244.1.1", &env.gateway);
    vswitch__add_lb__init(&msg);
    msg.service = (char *) p->service;
    msg.name = (char *) p->name;
    msg.no_dsr = !p->dsr;
    msg.affinity_timeout = p->affinity_timeout;
    msg.n_backends = p->n_backends;
    msg.backends = backends;
    for (size_t i = 0; i < p->n_backends; i++) {
        char ip[IP_STR_LEN];

        backends[i] = xmalloc(IP_STR_LEN + 8);
        snprintf(backends[i], IP_STR_LEN + 8, "%s:%u", addr_ip_str(p->backends[i].ip, ip),
                 p->backends[i].port);
    }
    if (!lb_config_from_msg(&msg, &env, &cfg, err, sizeof err)) {
        lb_config_destroy(&cfg);
    }
    for (size_t i = 0; i < p->n_backends; i++) {
        free(backends[i]);
    }
    free(backends);
}

static void translate_all(const struct stores *s)
{
    struct translate_config cfg = { .node_name = "node-1", .dsr = true };
    struct translate_stats stats;
    struct desired want, none;
    struct desired_diff diff;
    const char *key;
    size_t pos = 0;
    void *v;

    desired_init(&want);
    desired_init(&none);
    translate(&s->services, &s->slices, &s->nodes, &cfg, &want, &stats);
    desired_diff(&want, &none, &diff);
    desired_diff_destroy(&diff);
    desired_diff(&want, &want, &diff);
    CHECK(desired_diff_size(&diff) == 0, "a state differs from itself (%zu ops)",
          desired_diff_size(&diff));
    desired_diff_destroy(&diff);
    while (strmap_next(&want.policies, &pos, &key, &v)) {
        check_policy(v);
    }
    desired_destroy(&want);
    desired_destroy(&none);
}

static void free_store(struct strmap *map, void (*free_fn)(void *))
{
    const char *key;
    size_t pos = 0;
    void *v;

    while (strmap_next(map, &pos, &key, &v)) {
        free_fn(v);
    }
    strmap_destroy(map);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct stores s = { .lines = 0 };
    struct json_lines lines;
    size_t piece;

    if (size < 1) {
        return 0;
    }
    piece = (size_t) data[0] + 1;
    data++;
    size--;
    strmap_init(&s.services);
    strmap_init(&s.slices);
    strmap_init(&s.nodes);
    json_lines_init(&lines, MAX_EVENT);
    while (size) {
        size_t n = MIN(piece, size), len;
        char *line;
        int rc;

        json_lines_feed(&lines, data, n);
        data += n;
        size -= n;
        while ((rc = json_lines_next(&lines, &line, &len)) > 0) {
            CHECK(strlen(line) <= len && !memchr(line, '\n', len), "a line with a newline");
            event(&s, line, len);
        }
        if (rc < 0) {
            break;
        }
    }
    json_lines_pending(&lines);
    json_lines_destroy(&lines);
    translate_all(&s);
    free_store(&s.services, svc_free);
    free_store(&s.slices, slice_free);
    free_store(&s.nodes, node_free);
    return 0;
}
