/* libFuzzer target: a `vsctl batch` file (ctl/batch.h), line by line into a Batch
 * request, packed and unpacked as it travels, then checked as vswitchd checks it
 * (daemon/batch-config.h, hence lib/lb-config.h and daemon/peer-config.h) against a node that
 * already holds two policies and two peers; every operation described as the error
 * messages name it.
 *
 * Checks, besides the sanitizers: a refused batch names an operation that exists and says
 * why; an accepted one has as many checked operations as the request; the packed request
 * unpacks to the same number of operations. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/batch.h"
#include "daemon/batch-config.h"
#include "lib/addr.h"
#include "lib/ctl-msg.h"
#include "lib/util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond, ...)                                                        \
    do {                                                                        \
        if (!(cond)) {                                                          \
            fprintf(stderr, "fuzz-batch-text: " __VA_ARGS__);                   \
            fprintf(stderr, "\n");                                              \
            abort();                                                            \
        }                                                                       \
    } while (0)

static const char *const installed_lines[] = {
    "add-lb 10.96.0.10:80/tcp 10.244.1.5:8080 10.244.2.7:8080",
    "add-lb 10.96.0.53:53/udp 10.244.1.9:53 --name dns --affinity-timeout 60 --no-dsr",
    "add-peer 192.168.50.2 10.244.2.0/24",
    "add-peer 192.168.50.3 10.244.3.0/24",
};

static struct batch_config_env env;
static struct batch_config installed;

static void die(const char *what, const char *err)
{
    fprintf(stderr, "fuzz-batch-text setup: %s: %s\n", what, err);
    abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static struct lb_config policies[2];
    static struct peer_config peers[2];
    struct ctl_batch text;
    size_t failed;
    char err[256];

    addr_parse_cidr("10.244.1.0/24", &env.lb.pod_cidr);
    addr_parse_ip("10.244.1.1", &env.lb.gateway);
    addr_parse_ip("192.168.50.1", &env.peer.node_ip);
    env.peer.pod_cidr = env.lb.pod_cidr;
    ctl_batch_init(&text);
    for (size_t i = 0; i < ARRAY_SIZE(installed_lines); i++) {
        if (ctl_batch_add_line(&text, installed_lines[i], i + 1, err, sizeof err)) {
            die("installed line", err);
        }
    }
    if (batch_config_from_msg(&text.msg, &env, &installed, &failed, err, sizeof err)) {
        die("installed batch", err);
    }
    for (size_t i = 0; i < 2; i++) {
        policies[i] = installed.ops[i].lb;
        peers[i] = installed.ops[2 + i].peer;
    }
    /* 'installed' stays alive: the policies' backends point into it. */
    env.policies = policies;
    env.n_policies = 2;
    env.peers = peers;
    env.n_peers = 2;
    ctl_batch_destroy(&text);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = xmalloc(size + 1), *line, *save = NULL;
    char err[512], desc[BATCH_OP_DESC_LEN];
    struct batch_config batch;
    struct ctl_batch b;
    size_t lineno = 0, failed = 0;
    int error;

    memcpy(text, data, size);
    text[size] = '\0';
    ctl_batch_init(&b);
    for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        ctl_batch_add_line(&b, line, ++lineno, err, sizeof err);
    }
    for (size_t i = 0; i < b.msg.n_ops; i++) {
        batch_op_describe(b.msg.ops[i], desc);
        CHECK(strlen(desc) < BATCH_OP_DESC_LEN, "description overflow");
    }

    {
        Vswitch__Request req = VSWITCH__REQUEST__INIT, *back;
        uint8_t *frame;
        size_t len;

        req.command_case = VSWITCH__REQUEST__COMMAND_BATCH;
        req.batch = &b.msg;
        if (ctl_msg_frame(&req.base, CTL_MSG_MAX_REQUEST, &frame, &len) == 0) {
            CHECK(ctl_msg_unpack_request(frame + CTL_MSG_HDR_LEN, len - CTL_MSG_HDR_LEN,
                                         &back) == 0, "a packed batch does not unpack");
            CHECK(back->batch && back->batch->n_ops == b.msg.n_ops, "ops lost in transit");
            ctl_msg_request_free(back);
            free(frame);
        }
    }

    err[0] = '\0';
    error = batch_config_from_msg(&b.msg, &env, &batch, &failed, err, sizeof err);
    if (error) {
        CHECK(error < 0, "error %d", error);
        CHECK(failed >= 1 && failed <= b.msg.n_ops, "failed op %zu of %zu", failed,
              b.msg.n_ops);
        CHECK(*err, "refused without a reason");
    } else {
        CHECK(batch.n_ops == b.msg.n_ops, "%zu ops checked of %zu", batch.n_ops, b.msg.n_ops);
        batch_config_destroy(&batch);
    }
    ctl_batch_destroy(&b);
    free(text);
    return 0;
}
