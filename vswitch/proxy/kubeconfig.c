/* kubeconfig and in-cluster configuration; see kubeconfig.h.
 *
 * A kubeconfig is YAML; libyaml's event parser turns it into a jansson tree (mappings to
 * objects, sequences to arrays, every scalar to a string), which the rest reads like the
 * JSON form kubectl also accepts. */
#include "proxy/kubeconfig.h"

#include <errno.h>
#include <jansson.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#include "lib/util.h"

#define MAX_KUBECONFIG (16u << 20)

void kubeconfig_destroy(struct kube_config *cfg)
{
    free(cfg->server);
    free(cfg->ca_file);
    free(cfg->ca_data);
    free(cfg->token);
    free(cfg->token_file);
    free(cfg->cert_file);
    free(cfg->key_file);
    free(cfg->cert_data);
    free(cfg->key_data);
    free(cfg->tls_server_name);
    free(cfg->source);
    memset(cfg, 0, sizeof *cfg);
}

int kubeconfig_base64_decode(const char *in, char **outp, size_t *outlen)
{
    size_t n = strlen(in), len = 0;
    char *out = xmalloc(n / 4 * 3 + 4);
    uint32_t acc = 0;
    int bits = 0, pad = 0;

    for (const char *p = in; *p; p++) {
        int v;

        if (*p >= 'A' && *p <= 'Z') {
            v = *p - 'A';
        } else if (*p >= 'a' && *p <= 'z') {
            v = *p - 'a' + 26;
        } else if (*p >= '0' && *p <= '9') {
            v = *p - '0' + 52;
        } else if (*p == '+') {
            v = 62;
        } else if (*p == '/') {
            v = 63;
        } else if (*p == '=') {
            pad++;
            continue;
        } else if (*p == '\n' || *p == '\r' || *p == ' ' || *p == '\t') {
            continue;
        } else {
            goto invalid;
        }
        if (pad) {
            goto invalid;
        }
        acc = acc << 6 | v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[len++] = acc >> bits & 0xff;
        }
    }
    if (bits >= 6 || pad > 2) {
        goto invalid;
    }
    out[len] = '\0';
    *outp = out;
    *outlen = len;
    return 0;

invalid:
    free(out);
    return -EINVAL;
}

/* ---- YAML to JSON ---------------------------------------------------------------------- */

/* Builds the value that starts with 'event' (already parsed).  Returns NULL with a message. */
static json_t *yaml_value(yaml_parser_t *parser, yaml_event_t *event, int depth, char *err,
                          size_t errlen)
{
    json_t *v = NULL, *key = NULL;
    yaml_event_t ev;

    if (depth > 64) {
        snprintf(err, errlen, "nested too deeply");
        return NULL;
    }
    switch (event->type) {
    case YAML_SCALAR_EVENT:
        return json_stringn((const char *) event->data.scalar.value,
                            event->data.scalar.length);
    case YAML_ALIAS_EVENT:
        snprintf(err, errlen, "line %zu: YAML aliases are not supported",
                 event->start_mark.line + 1);
        return NULL;
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT:
        break;
    default:
        snprintf(err, errlen, "line %zu: unexpected YAML event", event->start_mark.line + 1);
        return NULL;
    }

    v = event->type == YAML_MAPPING_START_EVENT ? json_object() : json_array();
    for (;;) {
        json_t *item;

        if (!yaml_parser_parse(parser, &ev)) {
            snprintf(err, errlen, "line %zu: %s", parser->problem_mark.line + 1,
                     parser->problem ? parser->problem : "invalid YAML");
            goto fail;
        }
        if (ev.type == YAML_SEQUENCE_END_EVENT || ev.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&ev);
            break;
        }
        item = yaml_value(parser, &ev, depth + 1, err, errlen);
        yaml_event_delete(&ev);
        if (!item) {
            goto fail;
        }
        if (json_is_array(v)) {
            json_array_append_new(v, item);
        } else if (!key) {
            if (!json_is_string(item)) {
                json_decref(item);
                snprintf(err, errlen, "a mapping key is not a scalar");
                goto fail;
            }
            key = item;
        } else {
            json_object_set_new(v, json_string_value(key), item);
            json_decref(key);
            key = NULL;
        }
    }
    json_decref(key);
    return v;

fail:
    json_decref(key);
    json_decref(v);
    return NULL;
}

static json_t *yaml_load(const char *text, size_t len, char *err, size_t errlen)
{
    yaml_parser_t parser;
    yaml_event_t ev;
    json_t *root = NULL;

    yaml_parser_initialize(&parser);
    yaml_parser_set_input_string(&parser, (const unsigned char *) text, len);
    for (;;) {
        if (!yaml_parser_parse(&parser, &ev)) {
            snprintf(err, errlen, "line %zu: %s", parser.problem_mark.line + 1,
                     parser.problem ? parser.problem : "invalid YAML");
            break;
        }
        if (ev.type == YAML_STREAM_END_EVENT) {
            yaml_event_delete(&ev);
            snprintf(err, errlen, "empty file");
            break;
        }
        if (ev.type == YAML_STREAM_START_EVENT || ev.type == YAML_DOCUMENT_START_EVENT) {
            yaml_event_delete(&ev);
            continue;
        }
        root = yaml_value(&parser, &ev, 0, err, errlen);
        yaml_event_delete(&ev);
        break;
    }
    yaml_parser_delete(&parser);
    return root;
}

/* ---- kubeconfig ------------------------------------------------------------------------ */

static int read_file(const char *path, char **data, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    size_t cap = 4096, n = 0;
    char *buf;

    if (!f) {
        int error = errno;

        snprintf(err, errlen, "cannot read %s: %s", path, strerror(error));
        return -error;
    }
    buf = xmalloc(cap);
    for (;;) {
        size_t r = fread(buf + n, 1, cap - n - 1, f);

        n += r;
        if (r == 0) {
            break;
        }
        if (n + 1 >= cap) {
            if (cap >= MAX_KUBECONFIG) {
                fclose(f);
                free(buf);
                snprintf(err, errlen, "%s is larger than %u bytes", path, MAX_KUBECONFIG);
                return -EFBIG;
            }
            cap *= 2;
            buf = xrealloc(buf, cap);
        }
    }
    if (ferror(f)) {
        fclose(f);
        free(buf);
        snprintf(err, errlen, "cannot read %s", path);
        return -EIO;
    }
    fclose(f);
    buf[n] = '\0';
    *data = buf;
    *len = n;
    return 0;
}

/* The entry of list 'member' (clusters, users, contexts) named 'name', or NULL. */
static const json_t *named(const json_t *root, const char *member, const char *name)
{
    const json_t *list = json_object_get(root, member), *e;
    size_t i;

    json_array_foreach(list, i, e) {
        const char *n = json_string_value(json_object_get(e, "name"));

        if (n && !strcmp(n, name)) {
            return e;
        }
    }
    return NULL;
}

static const char *str(const json_t *obj, const char *member)
{
    const char *s = json_string_value(json_object_get(obj, member));

    return s && *s ? s : NULL;
}

/* 'file' as given if absolute, else relative to 'dir'. */
static char *resolve(const char *dir, const char *file)
{
    char *path;

    if (file[0] == '/') {
        return xstrdup(file);
    }
    path = xmalloc(strlen(dir) + strlen(file) + 2);
    sprintf(path, "%s/%s", dir, file);
    return path;
}

static int decode_data(const char *what, const char *b64, char **out, size_t *len, char *err,
                       size_t errlen)
{
    if (kubeconfig_base64_decode(b64, out, len)) {
        snprintf(err, errlen, "%s is not valid base64", what);
        return -EINVAL;
    }
    return 0;
}

static int load_tree(const json_t *root, const char *dir, const char *context,
                     struct kube_config *cfg, char *err, size_t errlen)
{
    const json_t *ctx, *cluster, *user;
    const char *cname, *uname, *s;
    int error;

    if (!context) {
        context = str(root, "current-context");
        if (!context) {
            snprintf(err, errlen, "no current-context (and no --context)");
            return -EINVAL;
        }
    }
    ctx = json_object_get(named(root, "contexts", context), "context");
    if (!ctx) {
        snprintf(err, errlen, "no context named \"%s\"", context);
        return -EINVAL;
    }
    cname = str(ctx, "cluster");
    uname = str(ctx, "user");
    cluster = cname ? json_object_get(named(root, "clusters", cname), "cluster") : NULL;
    if (!cluster) {
        snprintf(err, errlen, "context \"%s\": no cluster named \"%s\"", context,
                 cname ? cname : "");
        return -EINVAL;
    }
    user = uname ? json_object_get(named(root, "users", uname), "user") : NULL;
    if (uname && !user) {
        snprintf(err, errlen, "context \"%s\": no user named \"%s\"", context, uname);
        return -EINVAL;
    }

    s = str(cluster, "server");
    if (!s || (strncmp(s, "https://", 8) && strncmp(s, "http://", 7))) {
        snprintf(err, errlen, "cluster \"%s\": server must be an https:// (or http://) URL", cname);
        return -EINVAL;
    }
    cfg->server = xstrdup(s);
    while (strlen(cfg->server) > 8 && cfg->server[strlen(cfg->server) - 1] == '/') {
        cfg->server[strlen(cfg->server) - 1] = '\0';
    }
    if ((s = str(cluster, "certificate-authority-data"))) {
        error = decode_data("certificate-authority-data", s, &cfg->ca_data, &cfg->ca_data_len,
                            err, errlen);
        if (error) {
            return error;
        }
    } else if ((s = str(cluster, "certificate-authority"))) {
        cfg->ca_file = resolve(dir, s);
    }
    s = str(cluster, "insecure-skip-tls-verify");
    cfg->insecure = s && !strcmp(s, "true");
    if ((s = str(cluster, "tls-server-name"))) {
        cfg->tls_server_name = xstrdup(s);
    }

    if (user) {
        if (json_object_get(user, "exec") || json_object_get(user, "auth-provider")) {
            snprintf(err, errlen, "user \"%s\": exec and auth-provider credential plugins are "
                     "not supported; use a token, a tokenFile or a client certificate", uname);
            return -ENOTSUP;
        }
        if ((s = str(user, "token"))) {
            cfg->token = xstrdup(s);
        } else if ((s = str(user, "tokenFile"))) {
            cfg->token_file = resolve(dir, s);
        }
        if ((s = str(user, "client-certificate-data"))) {
            error = decode_data("client-certificate-data", s, &cfg->cert_data,
                                &cfg->cert_data_len, err, errlen);
            if (error) {
                return error;
            }
        } else if ((s = str(user, "client-certificate"))) {
            cfg->cert_file = resolve(dir, s);
        }
        if ((s = str(user, "client-key-data"))) {
            error = decode_data("client-key-data", s, &cfg->key_data, &cfg->key_data_len,
                                err, errlen);
            if (error) {
                return error;
            }
        } else if ((s = str(user, "client-key"))) {
            cfg->key_file = resolve(dir, s);
        }
        if (!(cfg->cert_data || cfg->cert_file) != !(cfg->key_data || cfg->key_file)) {
            snprintf(err, errlen, "user \"%s\": a client certificate needs its key and the "
                     "key its certificate", uname);
            return -EINVAL;
        }
    }
    return 0;
}

int kubeconfig_load(const char *path, const char *context, struct kube_config *cfg,
                    char *err, size_t errlen)
{
    char msg[256] = "";
    char *text = NULL, *dircopy;
    json_t *root;
    size_t len = 0;
    int error;

    memset(cfg, 0, sizeof *cfg);
    error = read_file(path, &text, &len, err, errlen);
    if (error) {
        return error;
    }
    root = yaml_load(text, len, msg, sizeof msg);
    free(text);
    if (!root || !json_is_object(root)) {
        snprintf(err, errlen, "kubeconfig %s: %s", path, root ? "not a mapping" : msg);
        json_decref(root);
        return -EINVAL;
    }
    dircopy = xstrdup(path);
    error = load_tree(root, dirname(dircopy), context, cfg, msg, sizeof msg);
    if (error) {
        snprintf(err, errlen, "kubeconfig %s: %s", path, msg);
        kubeconfig_destroy(cfg);
    } else {
        const char *ctx = context ? context : str(root, "current-context");

        cfg->source = xmalloc(strlen(path) + strlen(ctx) + 32);
        sprintf(cfg->source, "kubeconfig %s, context %s", path, ctx);
    }
    free(dircopy);
    json_decref(root);
    return error;
}

int kubeconfig_in_cluster(const char *sa_dir, struct kube_config *cfg, char *err,
                          size_t errlen)
{
    const char *host = getenv("KUBERNETES_SERVICE_HOST");
    const char *port = getenv("KUBERNETES_SERVICE_PORT");
    struct stat st;
    size_t n;

    memset(cfg, 0, sizeof *cfg);
    if (!host || !*host || !port || !*port) {
        snprintf(err, errlen, "not running in a cluster (KUBERNETES_SERVICE_HOST and "
                 "KUBERNETES_SERVICE_PORT are not set); give --kubeconfig");
        return -ENOENT;
    }
    n = strlen(host) + strlen(port) + 16;
    cfg->server = xmalloc(n);
    snprintf(cfg->server, n, strchr(host, ':') ? "https://[%s]:%s" : "https://%s:%s", host,
             port);
    cfg->token_file = resolve(sa_dir, "token");
    cfg->ca_file = resolve(sa_dir, "ca.crt");
    if (stat(cfg->token_file, &st) || stat(cfg->ca_file, &st)) {
        int error = errno;

        snprintf(err, errlen, "in-cluster configuration: cannot read the service account's "
                 "token and ca.crt in %s: %s", sa_dir, strerror(error));
        kubeconfig_destroy(cfg);
        return -error;
    }
    cfg->source = xmalloc(strlen(sa_dir) + 32);
    sprintf(cfg->source, "in-cluster service account %s", sa_dir);
    return 0;
}
