/* The plugin's environment: the CNI_* variables a runtime sets for every call, and the
 * CNI_ARGS it may add ("K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-1;...").
 *
 * Parsing checks exactly what the specification asks of the runtime for each verb, so a
 * missing or malformed variable fails with code 4 and a message naming it. */
#ifndef CNI_ENV_H
#define CNI_ENV_H 1

#include "cni/cni-error.h"

enum cni_command {
    CNI_CMD_ADD,
    CNI_CMD_DEL,
    CNI_CMD_CHECK,
    CNI_CMD_GC,
    CNI_CMD_STATUS,
    CNI_CMD_VERSION,
};

/* Longest pod metadata vswitchd stores (Kubernetes' own limits). */
#define CNI_POD_NAMESPACE_MAX 63
#define CNI_POD_NAME_MAX 253
#define CNI_CONTAINER_ID_MAX 255

struct cni_env {
    enum cni_command command;
    const char *command_name;   /* "ADD" */
    /* NULL when the verb does not use them (or, for CNI_NETNS on DEL, when not given).
     * They point into the environment. */
    const char *container_id;
    const char *netns;
    const char *ifname;
    const char *path;           /* CNI_PATH, colon-separated. */
    /* From CNI_ARGS, NULL when absent; they point into 'args_buf'. */
    const char *pod_namespace;
    const char *pod_name;
    char *args_buf;
};

/* Parses the CNI variables of 'envp' (a NULL-terminated "NAME=VALUE" array, like environ)
 * into 'env'.  Returns 0, or -EINVAL with 'err' set (code 4).  On success the caller
 * destroys 'env'. */
int cni_env_parse(char *const envp[], struct cni_env *env, struct cni_err *err);
void cni_env_destroy(struct cni_env *env);

/* The value of 'name' in 'envp', or NULL. */
const char *cni_env_get(char *const envp[], const char *name);

#endif
