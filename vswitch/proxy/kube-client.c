/* libcurl client for the API server; see kube-client.h. */
#include "proxy/kube-client.h"

#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define LOG_MODULE "kube-client"
#include "lib/log.h"
#include "lib/util.h"

/* A list page or an error body; a page of 500 big objects is a few MiB. */
#define MAX_BODY (512u << 20)
#define MAX_TOKEN 65536

struct kube_client {
    const struct kube_config *cfg;
    atomic_bool *stop;
    CURL *curl;
    char *token;                /* The current bearer token, or NULL. */
    struct stat token_st;       /* Of token_file when it was last read. */
    char errbuf[CURL_ERROR_SIZE];

    /* The request in progress. */
    kube_data_cb *cb;
    void *aux;
    struct kube_response *resp;
    int cb_error;
    bool body_too_big;
};

void kube_client_global_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

void kube_client_global_cleanup(void)
{
    curl_global_cleanup();
}

struct kube_client *kube_client_create(const struct kube_config *cfg, atomic_bool *stop)
{
    struct kube_client *c = xcalloc(1, sizeof *c);

    c->cfg = cfg;
    c->stop = stop;
    c->curl = curl_easy_init();
    if (!c->curl) {
        abort();
    }
    if (cfg->token) {
        c->token = xstrdup(cfg->token);
    }
    return c;
}

void kube_client_destroy(struct kube_client *c)
{
    if (c) {
        curl_easy_cleanup(c->curl);
        free(c->token);
        free(c);
    }
}

void kube_response_destroy(struct kube_response *resp)
{
    free(resp->body);
    resp->body = NULL;
    resp->len = 0;
}

/* Re-reads the token file if it changed since the last read (or was never read). */
static void refresh_token(struct kube_client *c)
{
    struct stat st;
    char buf[MAX_TOKEN];
    size_t n;
    FILE *f;

    if (!c->cfg->token_file) {
        return;
    }
    if (stat(c->cfg->token_file, &st)) {
        LOG_WARN("cannot read the token file %s: %s", c->cfg->token_file, strerror(errno));
        return;
    }
    if (c->token && st.st_ino == c->token_st.st_ino && st.st_size == c->token_st.st_size &&
        st.st_mtim.tv_sec == c->token_st.st_mtim.tv_sec &&
        st.st_mtim.tv_nsec == c->token_st.st_mtim.tv_nsec) {
        return;
    }
    f = fopen(c->cfg->token_file, "r");
    if (!f) {
        LOG_WARN("cannot read the token file %s: %s", c->cfg->token_file, strerror(errno));
        return;
    }
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ')) {
        n--;
    }
    buf[n] = '\0';
    if (c->token) {
        LOG_INFO("token file %s changed: using the new token", c->cfg->token_file);
    }
    free(c->token);
    c->token = xstrdup(buf);
    c->token_st = st;
}

static size_t write_cb(char *data, size_t size, size_t nmemb, void *aux)
{
    struct kube_client *c = aux;
    struct kube_response *resp = c->resp;
    size_t n = size * nmemb;

    if (!resp->status) {
        curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &resp->status);
    }
    if (c->cb && resp->status == 200) {
        c->cb_error = c->cb(data, n, c->aux);
        return c->cb_error ? 0 : n;
    }
    if (resp->len + n > MAX_BODY) {
        c->body_too_big = true;
        return 0;
    }
    resp->body = xrealloc(resp->body, resp->len + n + 1);
    memcpy(resp->body + resp->len, data, n);
    resp->len += n;
    resp->body[resp->len] = '\0';
    return n;
}

static int progress_cb(void *aux, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    struct kube_client *c = aux;

    return atomic_load(c->stop) ? 1 : 0;
}

static void set_blob(CURL *curl, CURLoption opt, const char *data, size_t len)
{
    struct curl_blob blob = { .data = (void *) data, .len = len, .flags = CURL_BLOB_COPY };

    curl_easy_setopt(curl, opt, &blob);
}

int kube_client_get(struct kube_client *c, const char *path, long timeout_s, kube_data_cb *cb,
                    void *aux, struct kube_response *resp, char *err, size_t errlen)
{
    const struct kube_config *cfg = c->cfg;
    struct curl_slist *headers = NULL;
    char *url, *auth = NULL;
    CURL *curl = c->curl;
    CURLcode rc;

    memset(resp, 0, sizeof *resp);
    c->cb = cb;
    c->aux = aux;
    c->resp = resp;
    c->cb_error = 0;
    c->body_too_big = false;
    refresh_token(c);

    url = xmalloc(strlen(cfg->server) + strlen(path) + 1);
    sprintf(url, "%s%s", cfg->server, path);
    headers = curl_slist_append(headers, "Accept: application/json");
    headers = curl_slist_append(headers, "User-Agent: vswitch-proxy/" "0.1.0");
    if (c->token && *c->token) {
        auth = xmalloc(strlen(c->token) + 32);
        sprintf(auth, "Authorization: Bearer %s", c->token);
        headers = curl_slist_append(headers, auth);
    }

    curl_easy_reset(curl);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, c->errbuf);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, progress_cb);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, c);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, timeout_s);
    curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(curl, CURLOPT_TCP_KEEPIDLE, 15L);
    curl_easy_setopt(curl, CURLOPT_TCP_KEEPINTVL, 5L);
    curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "https,http");
    /* TLS: always verify the server against the configured CAs (or the system's). */
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, cfg->insecure ? 0L : 1L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, cfg->insecure ? 0L : 2L);
    if (cfg->ca_data) {
        set_blob(curl, CURLOPT_CAINFO_BLOB, cfg->ca_data, cfg->ca_data_len);
    } else if (cfg->ca_file) {
        curl_easy_setopt(curl, CURLOPT_CAINFO, cfg->ca_file);
    }
    if (cfg->cert_data) {
        set_blob(curl, CURLOPT_SSLCERT_BLOB, cfg->cert_data, cfg->cert_data_len);
    } else if (cfg->cert_file) {
        curl_easy_setopt(curl, CURLOPT_SSLCERT, cfg->cert_file);
    }
    if (cfg->key_data) {
        set_blob(curl, CURLOPT_SSLKEY_BLOB, cfg->key_data, cfg->key_data_len);
    } else if (cfg->key_file) {
        curl_easy_setopt(curl, CURLOPT_SSLKEY, cfg->key_file);
    }
    c->errbuf[0] = '\0';

    rc = curl_easy_perform(curl);
    if (!resp->status) {
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &resp->status);
    }
    curl_slist_free_all(headers);
    free(auth);
    free(url);

    if (rc == CURLE_OK) {
        return 0;
    }
    if (rc == CURLE_ABORTED_BY_CALLBACK) {
        snprintf(err, errlen, "stopped");
        return -ECANCELED;
    }
    if (rc == CURLE_WRITE_ERROR && c->cb_error) {
        snprintf(err, errlen, "GET %s: %s", path, strerror(-c->cb_error));
        return c->cb_error;
    }
    if (rc == CURLE_WRITE_ERROR && c->body_too_big) {
        snprintf(err, errlen, "GET %s: response larger than %u bytes", path, MAX_BODY);
        return -EFBIG;
    }
    snprintf(err, errlen, "GET %s%s: %s", cfg->server, path,
             c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc));
    if (rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE ||
        rc == CURLE_SSL_CONNECT_ERROR) {
        return -EPROTO;
    }
    return rc == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT : -EIO;
}

const char *kube_status_message(const char *body, char *buf, size_t size)
{
    json_t *st = body ? json_loads(body, 0, NULL) : NULL;
    const char *msg = json_string_value(json_object_get(st, "message"));

    if (msg) {
        snprintf(buf, size, "%s", msg);
    }
    json_decref(st);
    return msg ? buf : NULL;
}
