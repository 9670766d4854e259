/* vswitch-cni: the CNI plugin of type "vswitch" (installed as /opt/cni/bin/vswitch).
 *
 * A container runtime runs it once per operation with the CNI_* variables set and the network
 * configuration on stdin; it prints a result (ADD, VERSION) or an error object on stdout and
 * exits 0 or 1.  Logs go to the netconf's "logFile", else to stderr; never to stdout, which
 * belongs to the protocol. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LOG_MODULE "main"
#include "cni/cni-error.h"
#include "cni/env.h"
#include "cni/netconf.h"
#include "cni/plugin.h"
#include "cni/version.h"
#include "lib/ctl-msg.h"
#include "lib/log.h"
#include "lib/util.h"

extern char **environ;

/* A network configuration is a few KiB; a prevResult or a GC list of a busy node more. */
#define MAX_STDIN (16u << 20)

/* Prints 'json' (consumed) and a newline on stdout.  Returns 0 or -EIO. */
static int print_json(json_t *json)
{
    char *text = json_dumps(json, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
    int error = 0;

    json_decref(json);
    if (!text || printf("%s\n", text) < 0 || fflush(stdout)) {
        error = -EIO;
    }
    free(text);
    return error;
}

static int fail(const struct cni_err *err, const char *version)
{
    print_json(cni_err_to_json(err, version));
    return 1;
}

/* Reads all of stdin into '*data' (NUL-terminated; caller frees). */
static int read_stdin(char **data, size_t *len, struct cni_err *err)
{
    size_t cap = 4096, n = 0;
    char *buf = xmalloc(cap);

    for (;;) {
        ssize_t r;

        if (n + 1 >= cap) {
            if (cap >= MAX_STDIN) {
                cni_err_set(err, CNI_ERR_IO, "the network configuration on stdin is larger "
                            "than %u bytes", MAX_STDIN);
                free(buf);
                return -EMSGSIZE;
            }
            cap *= 2;
            buf = xrealloc(buf, cap);
        }
        r = read(STDIN_FILENO, buf + n, cap - n - 1);
        if (r > 0) {
            n += r;
        } else if (r == 0) {
            break;
        } else if (errno != EINTR) {
            cni_err_set(err, CNI_ERR_IO, "cannot read the network configuration from stdin: "
                        "%s", strerror(errno));
            free(buf);
            return -errno;
        }
    }
    buf[n] = '\0';
    *data = buf;
    *len = n;
    return 0;
}

/* VERSION reads {"cniVersion": ...} but must answer whatever it reads. */
static int cmd_version(const char *data, size_t len)
{
    json_t *in = json_loadb(data, len, 0, NULL);
    const char *v = json_string_value(json_object_get(in, "cniVersion"));
    int error;

    error = print_json(cni_version_info(cni_version_supported(v) ? v : CNI_VERSION_LATEST));
    json_decref(in);
    return error ? 1 : 0;
}

/* Sends the log (stderr) to the netconf's logFile. */
static void open_log(const struct netconf *conf)
{
    int fd;

    log_set_level(conf->log_level);
    if (!conf->log_file) {
        return;
    }
    fd = open(conf->log_file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0) {
        /* Not worth failing a pod for: the runtime shows our stderr. */
        LOG_WARN("cannot open log file %s: %s", conf->log_file, strerror(errno));
        return;
    }
    dup2(fd, STDERR_FILENO);
    close(fd);
}

static const char help_text[] =
"NAME\n"
"    vswitch-cni - the CNI plugin of vswitch (type \"vswitch\")\n"
"\n"
"SYNOPSIS\n"
"    CNI_COMMAND=ADD|DEL|CHECK|VERSION|STATUS|GC CNI_CONTAINERID=.. CNI_NETNS=..\n"
"    CNI_IFNAME=.. CNI_PATH=.. vswitch-cni < NETCONF\n"
"    vswitch-cni --help\n"
"\n"
"DESCRIPTION\n"
"    Container runtimes (containerd, CRI-O, through libcni) run it, installed as\n"
"    /opt/cni/bin/vswitch, for every pod: ADD creates a veth pair, moves one end into the\n"
"    pod's network namespace with the address its IPAM plugin (host-local) gives, and\n"
"    attaches the other end to vswitchd; DEL undoes that and is idempotent; CHECK verifies\n"
"    it; STATUS says whether vswitchd answers; GC removes ports of attachments that are no\n"
"    longer valid.  CNI specification 1.1; results in the configuration's own version\n"
"    (0.3.0 to 1.1.0).\n"
"\n"
"NETCONF\n"
"    {\"cniVersion\": \"1.0.0\", \"name\": \"podnet\", \"type\": \"vswitch\",\n"
"     \"ctl\": \"/run/vswitch/vswitchd.sock\", \"mtu\": 1450, \"logFile\": \"/var/log/vswitch-cni.log\",\n"
"     \"ipam\": {\"type\": \"host-local\", \"ranges\": [[{\"subnet\": \"10.244.1.0/24\"}]]}}\n"
"\n"
"EXIT STATUS\n"
"    0 on success; otherwise non-zero with the CNI error object (code, msg, details) on\n"
"    standard output: 4 bad environment, 6 undecodable input, 7 invalid configuration,\n"
"    11 try again later, 50 vswitchd not available (STATUS), 100 and up this plugin's own.\n"
"\n"
"EXAMPLES\n"
"    cnitool add podnet /run/netns/pod1      (with NETCONFPATH holding the conflist)\n"
"    CNI_COMMAND=VERSION vswitch-cni </dev/null\n";

int main(int argc, char *argv[])
{
    struct cni_err err = { 0 };
    struct netconf conf;
    struct cni_env env;
    json_t *out = NULL;
    char *data = NULL;
    size_t len = 0;
    int rc;

    if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        fputs(help_text, stdout);
        return 0;
    }
    signal(SIGPIPE, SIG_IGN);
    log_set_program("vswitch-cni");

    if (cni_env_parse(environ, &env, &err)) {
        if (!cni_env_get(environ, "CNI_COMMAND") && isatty(STDIN_FILENO)) {
            fprintf(stderr, "vswitch-cni %s: the CNI plugin of vswitch (type \"vswitch\", CNI "
                    "0.3.0 to 1.1.0); container runtimes run it.\n", VSWITCH_VERSION);
        }
        return fail(&err, CNI_VERSION_LATEST);
    }
    if (read_stdin(&data, &len, &err)) {
        cni_env_destroy(&env);
        return fail(&err, CNI_VERSION_LATEST);
    }
    if (env.command == CNI_CMD_VERSION) {
        rc = cmd_version(data, len);
        free(data);
        cni_env_destroy(&env);
        return rc;
    }

    rc = 0;
    if (netconf_parse(data, len, &conf, &err)) {
        LOG_ERR("%s: %s", env.command_name, err.msg);
        rc = fail(&err, netconf_reply_version(&conf));
        goto out;
    }
    open_log(&conf);
    LOG_DBG("%s network=%s container=%s ifname=%s netns=%s", env.command_name, conf.name,
            env.container_id ? env.container_id : "-", env.ifname ? env.ifname : "-",
            env.netns ? env.netns : "-");
    if (plugin_run(&env, &conf, &out, &err)) {
        rc = fail(&err, conf.cni_version);
    } else if (out && print_json(out)) {
        rc = 1;
    }

out:
    netconf_destroy(&conf);
    cni_env_destroy(&env);
    free(data);
    return rc;
}
