/* vsctl: the command-line client of vswitchd.  Each invocation turns one command into one
 * Request (the command table, ctl/commands.h, says how), sends it over the control socket
 * with the shared client library (lib/ctl-client.h) and prints the Response (ctl/print.h),
 * as text for people or as JSON (--json) for scripts.  Errors go to stderr with exit status
 * 1, whether the command failed or was used wrong (as ovs-vsctl). */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/batch.h"
#include "ctl/commands.h"
#include "ctl/print.h"
#include "lib/cli.h"
#include "lib/ctl-client.h"
#include "lib/ctl-msg.h"
#include "lib/util.h"

static const char usage_text[] =
"NAME\n"
"    vsctl - configure and inspect vswitchd\n"
"\n"
"SYNOPSIS\n"
"    vsctl [--ctl PATH] [--json] [--timeout SECONDS] COMMAND [ARG...]\n"
"\n"
"DESCRIPTION\n"
"    vsctl speaks vswitchd's control protocol over its unix socket: it attaches pod ports,\n"
"    load-balancing policies and overlay peers, and shows what the switch is doing.\n"
"\n"
"COMMANDS\n"
"  show                        the switch, its ports and peers with counters, and drops\n"
"                              by reason\n"
"  add-port NAME --ip IP [--mac MAC] [--type veth|tap]\n"
"           [--pod-namespace NS] [--pod-name POD] [--container-id ID] [--ifname IF]\n"
"                              attach interface NAME as the port of the pod with address\n"
"                              IP: an existing veth, or a TAP that vswitchd creates; the\n"
"                              MAC is learned from the pod's traffic unless given\n"
"  del-port NAME               detach port NAME (a TAP created by add-port is deleted)\n"
"  add-lb VIP:PORT/PROTO [BACKEND:PORT...] [--no-dsr] [--preserve-dip]\n"
"         [--source-ranges CIDR,...] [--affinity-timeout SECONDS] [--name NAME]\n"
"                              create or replace the load-balancing policy of a service\n"
"                              (PROTO tcp or udp) over its backends; --no-dsr also SNATs\n"
"                              clients to the gateway; --preserve-dip is classic L2 DSR\n"
"                              (only the MAC is fixed: backends hold the VIP and listen\n"
"                              on PORT); --source-ranges admits only those clients\n"
"                              (others dropped, counted); --affinity-timeout keeps a\n"
"                              client on one backend (ClientIP affinity, up to 86400 s);\n"
"                              VIP 0.0.0.0 is a NodePort: PORT on every node address\n"
"  del-lb VIP:PORT/PROTO       delete the policy of a service and its flow pairs\n"
"  add-peer NODE_IP POD_CIDR   declare the remote node NODE_IP (its underlay address)\n"
"                              owning POD_CIDR on the VXLAN overlay, or move it\n"
"  del-peer NODE_IP            forget a remote node\n"
"  batch FILE                  apply the add-lb, del-lb, add-peer and del-peer lines of\n"
"                              FILE (- for stdin) all together or not at all; deleting\n"
"                              what does not exist is not an error in a batch\n"
"  dump-policies               every policy, VFP-like, with its counters\n"
"  dump-flows                  the flow cache and the flow pairs, one per line\n"
"  flush-flows                 empty the flow cache (flow pairs are connection state and\n"
"                              stay; they end with their connection, backend or policy)\n"
"\n"
"OPTIONS\n"
"  --ctl PATH         vswitchd's control socket (default: $" CTL_ENV_PATH ", else\n"
"                     " CTL_DEFAULT_PATH ")\n"
"  --json             print machine-readable JSON\n"
"  --timeout SECONDS  give up waiting for vswitchd after SECONDS (default 30)\n"
"  -h, --help         print this help\n"
"  -V, --version      print the version\n"
"\n"
"EXIT STATUS\n"
"    0 on success, 1 on any error (the message on stderr).\n"
"\n"
"EXAMPLES\n"
"    vsctl add-port h-pod1 --ip 10.244.1.2 --mac 0a:58:0a:f4:01:02\n"
"    vsctl add-lb 10.96.0.10:80/tcp 10.244.1.2:8080 10.244.2.7:8080\n"
"    vsctl add-peer 192.168.1.12 10.244.2.0/24\n"
"    vsctl dump-policies; vsctl dump-flows; vsctl --json show\n";

enum {
    OPT_CTL = 256, OPT_JSON, OPT_TIMEOUT,
    OPT_COMMAND,                    /* + the index of a command's option in 'cmd_options'. */
};

/* A command's option on the command line, where getopt_long() takes it anywhere. */
struct command_option {
    const struct ctl_command *cmd;
    const struct ctl_option *opt;
};

#define MAX_COMMAND_OPTIONS 32      /* Of all commands together. */

/* What the command line says. */
struct options {
    const char *ctl;
    bool json;
    int timeout_ms;
    /* The commands' options in the order given (at most argc); values point into argv. */
    const struct command_option **given;
    const char **values;
    int n_given;
    char **args;                    /* Command and its arguments. */
    int n_args;
};

/* getopt_long()'s table: the global options, then each command's, from ctl_commands. */
static void build_long_options(struct option *longopts, struct command_option *cmd_options)
{
    static const struct option globals[] = {
        { "ctl", required_argument, NULL, OPT_CTL },
        { "json", no_argument, NULL, OPT_JSON },
        { "timeout", required_argument, NULL, OPT_TIMEOUT },
    };
    static const struct option end[] = { CLI_OPTIONS_END };
    size_t n = 0, k = 0;

    for (size_t i = 0; i < sizeof globals / sizeof *globals; i++) {
        longopts[n++] = globals[i];
    }
    for (const struct ctl_command *cmd = ctl_commands; cmd->name; cmd++) {
        for (const struct ctl_option *opt = cmd->options; opt && opt->name; opt++) {
            if (k == MAX_COMMAND_OPTIONS) {
                abort();
            }
            cmd_options[k] = (struct command_option) { cmd, opt };
            longopts[n++] = (struct option) {
                opt->name, ctl_option_has_value(cmd, opt) ? required_argument : no_argument,
                NULL, OPT_COMMAND + k,
            };
            k++;
        }
    }
    for (size_t i = 0; i < sizeof end / sizeof *end; i++) {
        longopts[n++] = end[i];
    }
}

static void parse_options(int argc, char *argv[], struct options *opts)
{
    static struct command_option cmd_options[MAX_COMMAND_OPTIONS];
    static struct option long_options[MAX_COMMAND_OPTIONS + 8];   /* And the globals. */
    int c;

    build_long_options(long_options, cmd_options);
    memset(opts, 0, sizeof *opts);
    opts->given = xmalloc(argc * sizeof *opts->given);
    opts->values = xmalloc(argc * sizeof *opts->values);
    opts->ctl = ctl_client_default_path();
    opts->timeout_ms = CTL_DEFAULT_TIMEOUT_MS;
    /* Options may come anywhere (getopt permutes): "vsctl show --json" works too. */
    while ((c = cli_getopt(argc, argv, long_options, usage_text,
                           "vsctl (vswitch) " VSWITCH_VERSION)) != -1) {
        const struct command_option *co;
        const char *problem;
        char *end;
        double seconds;

        switch (c) {
        case OPT_CTL:
            opts->ctl = optarg;
            break;
        case OPT_JSON:
            opts->json = true;
            break;
        case OPT_TIMEOUT:
            seconds = strtod(optarg, &end);
            if (!*optarg || *end || !(seconds > 0 && seconds <= 86400)) {
                cli_usage_error("invalid --timeout '%s': expected seconds, more than 0", optarg);
            }
            opts->timeout_ms = seconds * 1000 < 1 ? 1 : seconds * 1000;
            break;
        default:
            co = &cmd_options[c - OPT_COMMAND];
            problem = optarg ? ctl_option_check(co->cmd, co->opt, optarg) : NULL;
            if (problem) {
                cli_usage_error("invalid --%s '%s': expected %s", co->opt->name, optarg,
                                problem);
            }
            opts->given[opts->n_given] = co;
            opts->values[opts->n_given++] = optarg;
            break;
        }
    }
    opts->args = argv + optind;
    opts->n_args = argc - optind;
}

/* ---- Commands ---------------------------------------------------------------------------- */

/* Reads the batch file 'path' ("-": stdin) into 'batch'; exits with a message naming the
 * line on any error. */
static void read_batch(const char *path, struct ctl_batch *batch)
{
    bool is_stdin = !strcmp(path, "-");
    FILE *file = is_stdin ? stdin : fopen(path, "r");
    const char *name = is_stdin ? "<stdin>" : path;
    char *line = NULL, err[512];
    size_t size = 0, lineno = 0;

    if (!file) {
        fprintf(stderr, "vsctl: batch: cannot open %s: %s\n", path, strerror(errno));
        exit(1);
    }
    while (getline(&line, &size, file) >= 0) {
        if (ctl_batch_add_line(batch, line, ++lineno, err, sizeof err)) {
            fprintf(stderr, "vsctl: batch: %s:%zu: %s\n", name, lineno, err);
            exit(1);
        }
    }
    if (ferror(file)) {
        fprintf(stderr, "vsctl: batch: cannot read %s: %s\n", name, strerror(errno));
        exit(1);
    }
    free(line);
    if (!is_stdin) {
        fclose(file);
    }
}

/* Exits with a usage error if an option given belongs to another command than 'name' (which
 * may be no command at all).  The commands are checked in the table's order. */
static void check_options_belong(const struct options *opts, const char *name)
{
    for (const struct ctl_command *cmd = ctl_commands; cmd->name; cmd++) {
        for (int i = 0; i < opts->n_given; i++) {
            if (opts->given[i]->cmd == cmd) {
                if (strcmp(cmd->name, name)) {
                    cli_usage_error("option '--%s' is only for %s", opts->given[i]->opt->name,
                                    cmd->name);
                }
                break;
            }
        }
    }
}

/* Builds the request of 'cmd' from the command line, or exits with a usage error. */
static void build_request(const struct ctl_command *cmd, const struct options *opts,
                          Vswitch__Request *req)
{
    ProtobufCMessage *msg;
    char err[512];

    if (ctl_command_check_operands(cmd, opts->args + 1, opts->n_args - 1, CTL_FORM_ARGV, err,
                                   sizeof err)) {
        cli_usage_error("%s", err);
    }
    msg = ctl_command_build(cmd, opts->args + 1, opts->n_args - 1);
    for (int i = 0; i < opts->n_given; i++) {
        ctl_command_set_option(cmd, msg, opts->given[i]->opt, opts->values[i]);
    }
    ctl_command_to_request(cmd, msg, req);
    if (ctl_command_check_required(cmd, msg, CTL_FORM_ARGV, err, sizeof err)) {
        cli_usage_error("%s", err);
    }
}

int main(int argc, char *argv[])
{
    Vswitch__Request *req = xmalloc(sizeof *req);
    const struct ctl_command *cmd;
    struct ctl_batch batch;
    const char *batch_name = NULL;
    Vswitch__Response *resp;
    struct options opts;
    char err[512], list[256];
    int error;

    cli_set_program("vsctl", 1);
    parse_options(argc, argv, &opts);
    vswitch__request__init(req);
    ctl_batch_init(&batch);
    if (!opts.n_args) {
        cli_usage_error("missing command (%s)", ctl_command_list(false, list, sizeof list));
    }
    check_options_belong(&opts, opts.args[0]);
    cmd = ctl_command_find(opts.args[0]);
    if (!cmd) {
        cli_usage_error("unknown command '%s'", opts.args[0]);
    }
    if (cmd->request == VSWITCH__REQUEST__COMMAND_BATCH) {
        if (ctl_command_check_operands(cmd, opts.args + 1, opts.n_args - 1, CTL_FORM_ARGV, err,
                                       sizeof err)) {
            cli_usage_error("%s", err);
        }
        batch_name = strcmp(opts.args[1], "-") ? opts.args[1] : "<stdin>";
        read_batch(opts.args[1], &batch);
        req->command_case = VSWITCH__REQUEST__COMMAND_BATCH;
        req->batch = &batch.msg;
    } else {
        build_request(cmd, &opts, req);
    }

    error = ctl_client_call(opts.ctl, opts.timeout_ms, req, &resp, err, sizeof err);
    if (req->command_case == VSWITCH__REQUEST__COMMAND_BATCH) {
        req->batch = NULL;          /* The batch's own. */
    }
    ctl_msg_request_free(req);
    free(opts.given);
    free(opts.values);
    if (error) {
        size_t op = resp && resp->reply_case == VSWITCH__RESPONSE__REPLY_BATCH
                    ? resp->batch->failed_op : 0;

        if (batch_name && op && op <= batch.msg.n_ops) {
            fprintf(stderr, "vsctl: batch: %s:%zu: %s\n", batch_name, batch.lines[op - 1],
                    err);
        } else {
            fprintf(stderr, "vsctl: %s: %s\n", cmd->name, err);
        }
        ctl_msg_response_free(resp);
        ctl_batch_destroy(&batch);
        return 1;
    }
    ctl_batch_destroy(&batch);

    print_reply(resp, opts.json);
    ctl_msg_response_free(resp);
    if (fflush(stdout) || ferror(stdout)) {
        fprintf(stderr, "vsctl: cannot write the output: %s\n", strerror(errno));
        return 1;
    }
    return 0;
}
