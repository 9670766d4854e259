/* Where the API server is and how to authenticate to it: from a kubeconfig file (the format
 * kubectl uses: clusters, users, contexts, current-context) or, inside a pod, from the
 * service account that Kubernetes mounts (in-cluster configuration).
 *
 * Only what the proxy needs: server URL, CA (file or inline data), bearer token (inline or
 * a file re-read when it changes), client certificate and key (files or inline data).  exec
 * and auth-provider plugins are refused with a message saying so. */
#ifndef VSWITCH_PROXY_KUBECONFIG_H
#define VSWITCH_PROXY_KUBECONFIG_H 1

#include <stdbool.h>
#include <stddef.h>

#define KUBE_SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

struct kube_config {
    char *server;           /* "https://10.0.0.1:6443", no trailing slash. */
    char *ca_file;          /* PEM file of the CAs to trust, or NULL. */
    char *ca_data;          /* PEM text of the CAs (decoded certificate-authority-data). */
    size_t ca_data_len;
    char *token;            /* Bearer token given inline, or NULL. */
    char *token_file;       /* File holding the token, re-read when it changes, or NULL. */
    char *cert_file, *key_file;         /* Client certificate and key files, or NULL. */
    char *cert_data, *key_data;         /* Or their PEM text. */
    size_t cert_data_len, key_data_len;
    bool insecure;          /* insecure-skip-tls-verify: true (warned about). */
    char *tls_server_name;  /* tls-server-name, or NULL. */
    char *source;           /* For messages: "kubeconfig /root/.kube/config, context kind". */
};

/* Loads 'path' (YAML or JSON), using its current-context, or 'context' if not NULL.  Relative
 * file names are resolved against the directory of 'path'.  Returns 0, or a negative errno
 * with a message in 'err' (cfg is then empty). */
int kubeconfig_load(const char *path, const char *context, struct kube_config *cfg,
                    char *err, size_t errlen);

/* The in-cluster configuration: https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT,
 * with the token and CA from 'sa_dir' (KUBE_SA_DIR).  Returns 0 or a negative errno with a
 * message. */
int kubeconfig_in_cluster(const char *sa_dir, struct kube_config *cfg, char *err,
                          size_t errlen);

/* Accepts an empty config. */
void kubeconfig_destroy(struct kube_config *);

/* Decodes standard base64 (padding optional, whitespace ignored) into a new NUL-terminated
 * buffer.  Returns 0 with '*out' and '*outlen', or -EINVAL. */
int kubeconfig_base64_decode(const char *in, char **out, size_t *outlen);

#endif
