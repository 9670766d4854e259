/* IPAM delegation; see ipam.h. */
#include "cni/ipam.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define LOG_MODULE "ipam"
#include "cni/version.h"
#include "lib/log.h"
#include "lib/types.h"
#include "lib/util.h"

extern char **environ;

/* A plugin's answer is a result or an error: small.  Bound it all the same. */
#define IPAM_MAX_OUTPUT (1u << 20)

int ipam_init(struct ipam *ipam, const char *cni_path, const char *type, json_t *conf,
              struct cni_err *err)
{
    char *dirs = xstrdup(cni_path), *save = NULL;
    const json_t *version = json_object_get(conf, "cniVersion");

    memset(ipam, 0, sizeof *ipam);
    ipam->type = type;
    ipam->conf = json_incref(conf);
    str_copy(ipam->version, json_is_string(version) ? json_string_value(version) : "",
             sizeof ipam->version);
    for (char *dir = strtok_r(dirs, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
        char *exe = xmalloc(strlen(dir) + strlen(type) + 2);

        sprintf(exe, "%s/%s", dir, type);
        if (!access(exe, X_OK)) {
            ipam->exe = exe;
            break;
        }
        free(exe);
    }
    free(dirs);
    if (!ipam->exe) {
        cni_err_set(err, CNI_ERR_INVALID_CONFIG, "IPAM plugin \"%s\" not found in CNI_PATH %s",
                    type, cni_path);
        ipam_destroy(ipam);
        return -ENOENT;
    }
    return 0;
}

void ipam_destroy(struct ipam *ipam)
{
    free(ipam->exe);
    json_decref(ipam->conf);
    memset(ipam, 0, sizeof *ipam);
}

/* Our environment with the "NAME=VALUE" entries of 'env' replacing or adding to it. */
static char **build_env(const char *command, const char *const *env)
{
    size_t n_env = 0, n_ours = 0, n = 0;
    char **out, *cmd;

    for (const char *const *e = env; e && *e; e++) {
        n_env++;
    }
    for (char **e = environ; *e; e++) {
        n_ours++;
    }
    out = xcalloc(n_ours + n_env + 2, sizeof *out);
    cmd = xmalloc(strlen(command) + sizeof "CNI_COMMAND=");
    sprintf(cmd, "CNI_COMMAND=%s", command);
    out[n++] = cmd;
    for (char **e = environ; *e; e++) {
        size_t len = strcspn(*e, "=");
        bool overridden = !strncmp(*e, "CNI_COMMAND=", sizeof "CNI_COMMAND=" - 1);

        for (const char *const *o = env; o && *o && !overridden; o++) {
            overridden = !strncmp(*e, *o, len + 1);
        }
        if (!overridden) {
            out[n++] = xstrdup(*e);
        }
    }
    for (const char *const *e = env; e && *e; e++) {
        out[n++] = xstrdup(*e);
    }
    return out;
}

static void free_env(char **env)
{
    for (char **e = env; e && *e; e++) {
        free(*e);
    }
    free(env);
}

/* Runs 'exe' with 'input' on stdin; collects stdout into '*output' (NUL-terminated, caller
 * frees) and the wait status into '*status'.  Returns 0 or a negative errno. */
static int run(const char *exe, char **envp, const char *input, char **output, size_t *out_len,
               int *status)
{
    int in[2] = { -1, -1 }, out[2] = { -1, -1 };
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attr;
    sigset_t sigs;
    size_t in_len = strlen(input), in_off = 0, len = 0, cap = 4096;
    char *const argv[] = { (char *) exe, NULL };
    char *buf = xmalloc(cap);
    pid_t pid;
    int error;

    *output = NULL;
    if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC)) {
        error = -errno;
        goto out_close;
    }
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in[0], STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    /* We ignore SIGPIPE (a plugin may close its stdin early); the plugin must not inherit
     * that. */
    posix_spawnattr_init(&attr);
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGPIPE);
    posix_spawnattr_setsigdefault(&attr, &sigs);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF);
    error = -posix_spawn(&pid, exe, &actions, &attr, argv, envp);
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&actions);
    if (error) {
        goto out_close;
    }
    close(in[0]);
    close(out[1]);
    in[0] = out[1] = -1;

    /* Feed stdin and drain stdout together: neither side can then block the other. */
    while (out[0] >= 0) {
        struct pollfd pfd[2] = {
            { .fd = out[0], .events = POLLIN },
            { .fd = in[1], .events = POLLOUT },
        };
        int n = poll(pfd, in[1] >= 0 ? 2 : 1, -1);

        if (n < 0 && errno != EINTR) {
            error = -errno;
            break;
        }
        if (in[1] >= 0 && pfd[1].revents) {
            ssize_t w = write(in[1], input + in_off, in_len - in_off);

            if (w > 0) {
                in_off += w;
            }
            if (w < 0 || in_off == in_len) {
                /* A plugin that exits without reading stdin is not our failure. */
                close(in[1]);
                in[1] = -1;
            }
        }
        if (pfd[0].revents) {
            ssize_t r;

            if (len + 1 >= cap) {
                cap *= 2;
                buf = xrealloc(buf, cap);
            }
            r = read(out[0], buf + len, cap - len - 1);
            if (r > 0) {
                len += r;
                if (len > IPAM_MAX_OUTPUT) {
                    error = -EMSGSIZE;
                    kill(pid, SIGKILL);
                    break;
                }
            } else if (r == 0 || errno != EINTR) {
                close(out[0]);
                out[0] = -1;
            }
        }
    }
    while (waitpid(pid, status, 0) < 0 && errno == EINTR) {
        continue;
    }
    buf[len] = '\0';
    if (!error) {
        *output = buf;
        *out_len = len;
        buf = NULL;
    }

out_close:
    for (int i = 0; i < 2; i++) {
        if (in[i] >= 0) {
            close(in[i]);
        }
        if (out[i] >= 0) {
            close(out[i]);
        }
    }
    free(buf);
    return error;
}

/* Turns a failed run into 'err': the plugin's own CNI error when it printed one. */
static void plugin_error(const struct ipam *ipam, const char *command, const char *output,
                         size_t len, int status, struct cni_err *err)
{
    json_t *json = json_loadb(output, len, 0, NULL);
    const json_t *code = json_object_get(json, "code");
    const json_t *msg = json_object_get(json, "msg");
    const json_t *details = json_object_get(json, "details");

    if (json_is_integer(code) && json_integer_value(code) > 0 && json_is_string(msg)) {
        cni_err_set(err, json_integer_value(code), "IPAM plugin %s (%s): %s", ipam->type,
                    command, json_string_value(msg));
        if (json_is_string(details) && *json_string_value(details)) {
            cni_err_details(err, "%s", json_string_value(details));
        }
    } else if (WIFSIGNALED(status)) {
        cni_err_set(err, CNI_ERR_IPAM, "IPAM plugin %s (%s) was killed by signal %d",
                    ipam->type, command, WTERMSIG(status));
    } else {
        cni_err_set(err, CNI_ERR_IPAM, "IPAM plugin %s (%s) failed with exit status %d",
                    ipam->type, command, WEXITSTATUS(status));
        if (len) {
            cni_err_details(err, "%.*s", (int) MIN(len, 900), output);
        }
    }
    json_decref(json);
}

/* One run with the configuration in ipam->version. */
static int exec_once(struct ipam *ipam, const char *command, const char *const *env,
                     const char *input, json_t **out, struct cni_err *err)
{
    char **envp = build_env(command, env), *output;
    size_t len = 0;
    int status = 0, error;

    LOG_DBG("running %s %s (cniVersion %s)", ipam->exe, command, ipam->version);
    error = run(ipam->exe, envp, input, &output, &len, &status);
    free_env(envp);
    if (error) {
        cni_err_set(err, CNI_ERR_IPAM, "cannot run IPAM plugin %s: %s", ipam->exe,
                    strerror(-error));
        return error;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status)) {
        plugin_error(ipam, command, output, len, status, err);
        LOG_DBG("%s %s failed: %s", ipam->type, command, err->msg);
        free(output);
        return -EIO;
    }
    if (out) {
        json_error_t jerr;

        *out = NULL;
        if (len && !(*out = json_loadb(output, len, 0, &jerr))) {
            cni_err_set(err, CNI_ERR_DECODE, "IPAM plugin %s (%s) printed something that is "
                        "not JSON: %s", ipam->type, command, jerr.text);
            free(output);
            return -EINVAL;
        }
    }
    free(output);
    return 0;
}

/* The configuration as the IPAM plugin is to read it.  Caller frees. */
static char *conf_text(const struct ipam *ipam)
{
    const json_t *v = json_object_get(ipam->conf, "cniVersion");
    json_t *copy;
    char *text;

    if (json_is_string(v) && !strcmp(json_string_value(v), ipam->version)) {
        return json_dumps(ipam->conf, JSON_COMPACT);
    }
    copy = json_copy(ipam->conf);
    json_object_set_new(copy, "cniVersion", json_string(ipam->version));
    text = json_dumps(copy, JSON_COMPACT);
    json_decref(copy);
    return text;
}

/* The versions the plugin says it speaks, or NULL. */
static json_t *query_versions(struct ipam *ipam)
{
    struct cni_err err;
    json_t *out = NULL, *list;
    char input[64];

    snprintf(input, sizeof input, "{\"cniVersion\":\"%s\"}", ipam->version);
    if (exec_once(ipam, "VERSION", NULL, input, &out, &err)) {
        LOG_WARN("%s", err.msg);
        return NULL;
    }
    list = json_incref(json_object_get(out, "supportedVersions"));
    json_decref(out);
    if (!json_is_array(list)) {
        json_decref(list);
        return NULL;
    }
    return list;
}

bool ipam_supports(struct ipam *ipam, const char *version)
{
    json_t *list = query_versions(ipam), *v;
    bool found = false;
    size_t i;

    json_array_foreach(list, i, v) {
        found |= json_is_string(v) && !strcmp(json_string_value(v), version);
    }
    json_decref(list);
    return found;
}

/* Picks the newest version both speak, not newer than the configuration's.  Returns true if
 * that is a different version to try. */
static bool negotiate(struct ipam *ipam)
{
    json_t *list, *v;
    const char *best = NULL;
    size_t i;

    ipam->negotiated = true;
    list = query_versions(ipam);
    json_array_foreach(list, i, v) {
        const char *s = json_string_value(v);

        if (s && cni_version_supported(s) && cni_version_cmp(s, ipam->version) < 0
            && (!best || cni_version_cmp(s, best) > 0)) {
            best = s;
        }
    }
    if (best) {
        LOG_INFO("IPAM plugin %s does not speak cniVersion %s; using %s", ipam->type,
                 ipam->version, best);
        str_copy(ipam->version, best, sizeof ipam->version);
    }
    json_decref(list);
    return best != NULL;
}

int ipam_exec(struct ipam *ipam, const char *command, const char *const *env, json_t **out,
              struct cni_err *err)
{
    for (;;) {
        char *input = conf_text(ipam);
        int error = exec_once(ipam, command, env, input, out, err);

        free(input);
        if (!error || err->code != CNI_ERR_INCOMPATIBLE_VERSION || ipam->negotiated
            || !negotiate(ipam)) {
            return error;
        }
    }
}
