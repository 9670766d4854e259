/* The CNI environment; see env.h. */
#include "cni/env.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/ifname.h"
#include "lib/types.h"
#include "lib/util.h"

static const struct {
    const char *name;
    enum cni_command command;
} commands[] = {
    { "ADD", CNI_CMD_ADD },
    { "DEL", CNI_CMD_DEL },
    { "CHECK", CNI_CMD_CHECK },
    { "GC", CNI_CMD_GC },
    { "STATUS", CNI_CMD_STATUS },
    { "VERSION", CNI_CMD_VERSION },
};

const char *cni_env_get(char *const envp[], const char *name)
{
    size_t len = strlen(name);

    for (char *const *e = envp; e && *e; e++) {
        if (!strncmp(*e, name, len) && (*e)[len] == '=') {
            return *e + len + 1;
        }
    }
    return NULL;
}

/* The specification's rule: alphanumerics, '_', '.' and '-', not empty. */
static const char *container_id_problem(const char *id)
{
    if (!*id) {
        return "it is empty";
    }
    if (strlen(id) > CNI_CONTAINER_ID_MAX) {
        return "it is longer than 255 characters";
    }
    for (const char *p = id; *p; p++) {
        if (!isalnum((unsigned char) *p) && !strchr("_.-", *p)) {
            return "only letters, digits, '_', '.' and '-' are allowed";
        }
    }
    return NULL;
}

/* Looks up a required variable. */
static const char *require(char *const envp[], const char *name, const char *command,
                           struct cni_err *err)
{
    const char *value = cni_env_get(envp, name);

    if (!value || !*value) {
        cni_err_set(err, CNI_ERR_INVALID_ENV, "%s is not set (required for %s)", name,
                    command);
        return NULL;
    }
    return value;
}

/* Splits CNI_ARGS, "K1=V1;K2=V2", keeping the keys this plugin uses; other keys are for
 * other plugins of a chain (K8S_POD_UID, IgnoreUnknown, ...) and are skipped. */
static int parse_args(const char *args, struct cni_env *env, struct cni_err *err)
{
    char *save = NULL, *pair;

    env->args_buf = xstrdup(args);
    for (pair = strtok_r(env->args_buf, ";", &save); pair; pair = strtok_r(NULL, ";", &save)) {
        char *eq = strchr(pair, '=');

        if (!eq || eq == pair) {
            cni_err_set(err, CNI_ERR_INVALID_ENV, "CNI_ARGS: \"%s\" is not KEY=VALUE", pair);
            return -EINVAL;
        }
        *eq = '\0';
        if (!strcmp(pair, "K8S_POD_NAMESPACE")) {
            if (strlen(eq + 1) > CNI_POD_NAMESPACE_MAX) {
                cni_err_set(err, CNI_ERR_INVALID_ENV, "CNI_ARGS: K8S_POD_NAMESPACE is longer "
                            "than %d characters", CNI_POD_NAMESPACE_MAX);
                return -EINVAL;
            }
            env->pod_namespace = eq + 1;
        } else if (!strcmp(pair, "K8S_POD_NAME")) {
            if (strlen(eq + 1) > CNI_POD_NAME_MAX) {
                cni_err_set(err, CNI_ERR_INVALID_ENV, "CNI_ARGS: K8S_POD_NAME is longer than "
                            "%d characters", CNI_POD_NAME_MAX);
                return -EINVAL;
            }
            env->pod_name = eq + 1;
        }
    }
    return 0;
}

int cni_env_parse(char *const envp[], struct cni_env *env, struct cni_err *err)
{
    const char *command = cni_env_get(envp, "CNI_COMMAND"), *args, *problem;
    bool attachment;
    size_t i;

    memset(env, 0, sizeof *env);
    if (!command || !*command) {
        cni_err_set(err, CNI_ERR_INVALID_ENV, "CNI_COMMAND is not set");
        return -EINVAL;
    }
    for (i = 0; i < ARRAY_SIZE(commands); i++) {
        if (!strcmp(command, commands[i].name)) {
            break;
        }
    }
    if (i == ARRAY_SIZE(commands)) {
        cni_err_set(err, CNI_ERR_INVALID_ENV, "CNI_COMMAND \"%s\" is not one of ADD, DEL, "
                    "CHECK, GC, STATUS, VERSION", command);
        return -EINVAL;
    }
    env->command = commands[i].command;
    env->command_name = commands[i].name;
    if (env->command == CNI_CMD_VERSION) {
        return 0;
    }

    attachment = env->command == CNI_CMD_ADD || env->command == CNI_CMD_DEL
                 || env->command == CNI_CMD_CHECK;
    if (attachment) {
        if (!(env->container_id = require(envp, "CNI_CONTAINERID", command, err))) {
            return -EINVAL;
        }
        if ((problem = container_id_problem(env->container_id))) {
            cni_err_set(err, CNI_ERR_INVALID_ENV, "CNI_CONTAINERID \"%s\" is invalid: %s",
                        env->container_id, problem);
            return -EINVAL;
        }
        if (env->command == CNI_CMD_DEL) {
            env->netns = cni_env_get(envp, "CNI_NETNS");
            if (env->netns && !*env->netns) {
                env->netns = NULL;
            }
        } else if (!(env->netns = require(envp, "CNI_NETNS", command, err))) {
            return -EINVAL;
        }
        if (env->netns && env->netns[0] != '/') {
            cni_err_set(err, CNI_ERR_INVALID_ENV, "CNI_NETNS \"%s\" is not an absolute path",
                        env->netns);
            return -EINVAL;
        }
        if (!(env->ifname = require(envp, "CNI_IFNAME", command, err))) {
            return -EINVAL;
        }
        if ((problem = ifname_problem(env->ifname))) {
            cni_err_set(err, CNI_ERR_INVALID_ENV, "CNI_IFNAME \"%s\" is invalid: %s",
                        env->ifname, problem);
            return -EINVAL;
        }
    }
    if (env->command == CNI_CMD_STATUS) {
        env->path = cni_env_get(envp, "CNI_PATH");
    } else if (!(env->path = require(envp, "CNI_PATH", command, err))) {
        return -EINVAL;
    }

    args = cni_env_get(envp, "CNI_ARGS");
    if (attachment && args && parse_args(args, env, err)) {
        cni_env_destroy(env);
        return -EINVAL;
    }
    return 0;
}

void cni_env_destroy(struct cni_env *env)
{
    free(env->args_buf);
    env->args_buf = NULL;
    env->pod_namespace = env->pod_name = NULL;
}
