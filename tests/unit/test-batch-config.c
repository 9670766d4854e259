/* Batches: the text form vsctl reads (ctl/batch.h) and the check vswitchd runs before it
 * applies anything (daemon/batch-config.h).  Table-driven: each case is a batch file, the
 * state it starts from, and either the operation at fault with its exact message or what each
 * operation found (unchanged, absent, the prior state undo would restore). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ctl/batch.h"
#include "daemon/batch-config.h"
#include "lib/util.h"

/* ---- The text form ---- */

struct parse_case {
    const char *description;
    const char *line;
    const char *expect;             /* The op as op_str() prints it, "" for none... */
    const char *error;              /* ...or NULL and this message. */
};

/* One op in a canonical text form, to compare what was parsed. */
static void op_str(const Vswitch__BatchOp *op, char *buf, size_t size)
{
    size_t o = 0;

    switch (op->op_case) {
    case VSWITCH__BATCH_OP__OP_ADD_LB:
        o += snprintf(buf + o, size - o, "add-lb [%s]", op->add_lb->service);
        for (size_t i = 0; i < op->add_lb->n_backends; i++) {
            o += snprintf(buf + o, size - o, " [%s]", op->add_lb->backends[i]);
        }
        snprintf(buf + o, size - o, " no_dsr=%d affinity=%u name=[%s]", op->add_lb->no_dsr,
                 op->add_lb->affinity_timeout, op->add_lb->name);
        break;
    case VSWITCH__BATCH_OP__OP_DEL_LB:
        snprintf(buf, size, "del-lb [%s]", op->del_lb->service);
        break;
    case VSWITCH__BATCH_OP__OP_ADD_PEER:
        snprintf(buf, size, "add-peer [%s] [%s]", op->add_peer->node_ip,
                 op->add_peer->pod_cidr);
        break;
    case VSWITCH__BATCH_OP__OP_DEL_PEER:
        snprintf(buf, size, "del-peer [%s]", op->del_peer->node_ip);
        break;
    default:
        snprintf(buf, size, "?");
        break;
    }
}

static const struct parse_case parse_cases[] = {
    { "blank line", "   \t  \n", "", NULL },
    { "empty line", "", "", NULL },
    { "comment", "# add-lb 10.96.0.1:80/tcp", "", NULL },
    { "indented comment", "   #add-peer", "", NULL },
    { "add-lb with backends", "add-lb 10.96.0.10:80/tcp 10.244.1.5:8080 10.244.2.7:8080\n",
      "add-lb [10.96.0.10:80/tcp] [10.244.1.5:8080] [10.244.2.7:8080] no_dsr=0 affinity=0 "
      "name=[]", NULL },
    { "add-lb without backends", "add-lb 10.96.0.11:443/tcp",
      "add-lb [10.96.0.11:443/tcp] no_dsr=0 affinity=0 name=[]", NULL },
    { "add-lb options anywhere, both forms",
      "add-lb --no-dsr 10.96.0.53:53/udp --name=kube-system/dns:dns 10.244.1.9:53 "
      "--affinity-timeout 10800",
      "add-lb [10.96.0.53:53/udp] [10.244.1.9:53] no_dsr=1 affinity=10800 "
      "name=[kube-system/dns:dns]", NULL },
    { "add-lb --affinity-timeout=N", "add-lb 10.96.0.1:80/tcp --affinity-timeout=30",
      "add-lb [10.96.0.1:80/tcp] no_dsr=0 affinity=30 name=[]", NULL },
    { "the last --name wins", "add-lb 10.96.0.1:80/tcp --name a --name b",
      "add-lb [10.96.0.1:80/tcp] no_dsr=0 affinity=0 name=[b]", NULL },
    { "tabs and CRLF", "add-lb\t10.96.0.1:80/tcp\t10.244.1.5:80\r\n",
      "add-lb [10.96.0.1:80/tcp] [10.244.1.5:80] no_dsr=0 affinity=0 name=[]", NULL },
    { "values are not checked here", "add-lb not-a-service x:y",
      "add-lb [not-a-service] [x:y] no_dsr=0 affinity=0 name=[]", NULL },
    { "del-lb", "del-lb 10.96.0.1:80/tcp", "del-lb [10.96.0.1:80/tcp]", NULL },
    { "add-peer", "add-peer 192.168.50.2 10.244.2.0/24",
      "add-peer [192.168.50.2] [10.244.2.0/24]", NULL },
    { "del-peer", "  del-peer 192.168.50.2  ", "del-peer [192.168.50.2]", NULL },

    { "unknown command", "add-port h-pod1 --ip 10.244.1.2", NULL,
      "unknown command \"add-port\": expected add-lb, del-lb, add-peer or del-peer" },
    { "add-lb without a service", "add-lb --no-dsr", NULL,
      "add-lb: missing argument; usage: add-lb VIP:PORT/PROTO [BACKEND:PORT...] [--no-dsr] "
      "[--affinity-timeout SECONDS] [--name NAME]" },
    { "add-lb unknown option", "add-lb 10.96.0.1:80/tcp --dsr", NULL,
      "add-lb: unknown option \"--dsr\"; usage: add-lb VIP:PORT/PROTO [BACKEND:PORT...] "
      "[--no-dsr] [--affinity-timeout SECONDS] [--name NAME]" },
    { "add-lb --name without a value", "add-lb 10.96.0.1:80/tcp --name", NULL,
      "add-lb: option '--name' needs a value" },
    { "add-lb bad affinity", "add-lb 10.96.0.1:80/tcp --affinity-timeout -1", NULL,
      "add-lb: invalid --affinity-timeout \"-1\": expected seconds, 0 to 86400" },
    { "add-lb affinity not a number", "add-lb 10.96.0.1:80/tcp --affinity-timeout=1h", NULL,
      "add-lb: invalid --affinity-timeout \"1h\": expected seconds, 0 to 86400" },
    { "del-lb without its argument", "del-lb", NULL,
      "del-lb: missing argument; usage: del-lb VIP:PORT/PROTO" },
    { "del-lb with two", "del-lb 10.96.0.1:80/tcp 10.96.0.2:80/tcp", NULL,
      "del-lb: unexpected argument \"10.96.0.2:80/tcp\"; usage: del-lb VIP:PORT/PROTO" },
    { "add-peer with one argument", "add-peer 192.168.50.2", NULL,
      "add-peer: missing argument; usage: add-peer NODE_IP POD_CIDR" },
    { "add-peer with an option", "add-peer 192.168.50.2 10.244.2.0/24 --vni 7", NULL,
      "add-peer: unknown option \"--vni\"" },
    { "del-peer with two", "del-peer 192.168.50.2 10.244.2.0/24", NULL,
      "del-peer: unexpected argument \"10.244.2.0/24\"; usage: del-peer NODE_IP" },
};

Test(ctl_batch, parse_lines)
{
    for (size_t i = 0; i < ARRAY_SIZE(parse_cases); i++) {
        const struct parse_case *c = &parse_cases[i];
        struct ctl_batch batch;
        char err[512] = "", got[1024];
        int error;

        ctl_batch_init(&batch);
        error = ctl_batch_add_line(&batch, c->line, 7, err, sizeof err);
        if (c->error) {
            cr_expect_eq(error, -EINVAL, "%s: accepted", c->description);
            cr_expect_str_eq(err, c->error, "%s", c->description);
            cr_expect_eq(batch.msg.n_ops, 0, "%s: an op was added", c->description);
        } else {
            cr_expect_eq(error, 0, "%s: %s", c->description, err);
            if (!*c->expect) {
                cr_expect_eq(batch.msg.n_ops, 0, "%s", c->description);
            } else if (batch.msg.n_ops != 1) {
                cr_expect_fail("%s: %zu ops", c->description, batch.msg.n_ops);
            } else {
                op_str(batch.msg.ops[0], got, sizeof got);
                cr_expect_str_eq(got, c->expect, "%s", c->description);
                cr_expect_eq(batch.lines[0], 7);
            }
        }
        ctl_batch_destroy(&batch);
    }
}

/* A parsed batch survives the wire: packed, unpacked, same operations. */
Test(ctl_batch, round_trip)
{
    static const char *const lines[] = {
        "add-lb 10.96.0.10:80/tcp 10.244.1.5:8080 --name web", "# comment", "",
        "del-lb 10.96.0.11:80/tcp", "add-peer 192.168.50.2 10.244.2.0/24",
        "del-peer 192.168.50.3",
    };
    Vswitch__Request req = VSWITCH__REQUEST__INIT, *back;
    struct ctl_batch batch;
    uint8_t *buf;
    size_t len;
    char err[256], a[512], b[512];

    ctl_batch_init(&batch);
    for (size_t i = 0; i < ARRAY_SIZE(lines); i++) {
        cr_assert_eq(ctl_batch_add_line(&batch, lines[i], i + 1, err, sizeof err), 0, "%s",
                     err);
    }
    cr_assert_eq(batch.msg.n_ops, 4);
    cr_assert_eq(batch.lines[1], 4);
    cr_assert_eq(batch.lines[3], 6);
    req.command_case = VSWITCH__REQUEST__COMMAND_BATCH;
    req.batch = &batch.msg;
    len = vswitch__request__get_packed_size(&req);
    buf = xmalloc(len);
    vswitch__request__pack(&req, buf);
    back = vswitch__request__unpack(NULL, len, buf);
    cr_assert_not_null(back);
    cr_assert_eq(back->command_case, VSWITCH__REQUEST__COMMAND_BATCH);
    cr_assert_eq(back->batch->n_ops, 4);
    for (size_t i = 0; i < 4; i++) {
        op_str(batch.msg.ops[i], a, sizeof a);
        op_str(back->batch->ops[i], b, sizeof b);
        cr_expect_str_eq(a, b);
    }
    vswitch__request__free_unpacked(back, NULL);
    free(buf);
    ctl_batch_destroy(&batch);
}

/* ---- The check ---- */

#define MAX_LINES 8

/* Installed before each case: two policies and two peers. */
static const char *const installed_lines[] = {
    "add-lb 10.96.0.10:80/tcp 10.244.1.5:8080 10.244.2.7:8080",
    "add-lb 10.96.0.53:53/udp 10.244.1.9:53 --name dns",
    "add-peer 192.168.50.2 10.244.2.0/24",
    "add-peer 192.168.50.3 10.244.3.0/24",
};

struct check_case {
    const char *description;
    const char *lines[MAX_LINES];   /* NULL-terminated batch file. */
    size_t failed_op;               /* 0: accepted. */
    int error;
    const char *message;            /* When refused: what vswitchd answers (with the prefix). */
    const char *found;              /* When accepted: per op, 'u' unchanged, 'a' absent,
                                     * 'r' replaces (prior state), 'n' new, '-' nothing. */
};

static const struct check_case check_cases[] = {
    { "empty batch", { NULL }, 0, 0, NULL, "" },
    { "new policies and peers", { "add-lb 10.96.0.11:80/tcp 10.244.2.8:80",
      "add-peer 192.168.50.4 10.244.4.0/24", NULL }, 0, 0, NULL, "nn" },
    { "repeating what is installed changes nothing",
      { "add-lb 10.96.0.10:80/tcp 10.244.2.7:8080 10.244.1.5:8080",
        "add-peer 192.168.50.2 10.244.2.0/24", NULL }, 0, 0, NULL, "uu" },
    { "another name is a change", { "add-lb 10.96.0.53:53/udp 10.244.1.9:53", NULL },
      0, 0, NULL, "r" },
    { "another backend is a change", { "add-lb 10.96.0.53:53/udp 10.244.1.9:54 --name dns",
      NULL }, 0, 0, NULL, "r" },
    { "deletes of what is absent succeed", { "del-lb 10.96.0.99:80/tcp",
      "del-peer 192.168.50.99", NULL }, 0, 0, NULL, "aa" },
    { "delete then re-add in one batch", { "del-lb 10.96.0.10:80/tcp",
      "add-lb 10.96.0.10:80/tcp 10.244.1.5:8080", "del-lb 10.96.0.10:80/tcp",
      "del-lb 10.96.0.10:80/tcp", NULL }, 0, 0, NULL, "rnra" },
    { "a CIDR moves from one node to another", { "del-peer 192.168.50.3",
      "add-peer 192.168.50.4 10.244.3.0/24", NULL }, 0, 0, NULL, "rn" },
    { "two nodes swap CIDRs through a free one", { "add-peer 192.168.50.2 10.244.9.0/24",
      "add-peer 192.168.50.3 10.244.2.0/24", "add-peer 192.168.50.2 10.244.3.0/24", NULL },
      0, 0, NULL, "rrr" },
    { "del-lb of a VIP this node would refuse (an older configuration)",
      { "del-lb 10.244.1.77:80/tcp", NULL }, 0, 0, NULL, "a" },

    { "bad backend, named with its op", { "add-lb 10.96.0.11:80/tcp 10.244.2.8:80",
      "add-lb 10.96.0.1:80/tcp 10.244.1.5:80 x", NULL }, 2, -EINVAL,
      "op 2 (add-lb 10.96.0.1:80/tcp): backend 2 \"x\": expected IP:PORT, e.g. "
      "10.244.1.5:8080", NULL },
    { "VIP inside the pod CIDR", { "add-lb 10.244.1.7:80/tcp", NULL }, 1, -EINVAL,
      "op 1 (add-lb 10.244.1.7:80/tcp): service \"10.244.1.7:80/tcp\": VIP 10.244.1.7 is "
      "inside the pod CIDR 10.244.1.0/24", NULL },
    { "bad del-lb", { "del-lb 10.96.0.1:80", NULL }, 1, -EINVAL,
      "op 1 (del-lb 10.96.0.1:80): service \"10.96.0.1:80\": expected VIP:PORT/PROTO, e.g. "
      "10.96.0.10:80/tcp", NULL },
    { "overlap with an installed peer", { "add-peer 192.168.50.4 10.244.3.128/25", NULL },
      1, -EEXIST, "op 1 (add-peer 192.168.50.4 10.244.3.128/25): pod CIDR 10.244.3.128/25 "
      "overlaps 10.244.3.0/24 of peer 192.168.50.3", NULL },
    { "overlap with a peer added earlier in the batch", { "add-peer 192.168.50.4 "
      "10.244.4.0/24", "add-peer 192.168.50.5 10.244.4.0/23", NULL }, 2, -EEXIST,
      "op 2 (add-peer 192.168.50.5 10.244.4.0/23): pod CIDR 10.244.4.0/23 overlaps "
      "10.244.4.0/24 of peer 192.168.50.4", NULL },
    { "a CIDR taken before it is freed", { "add-peer 192.168.50.4 10.244.3.0/24",
      "del-peer 192.168.50.3", NULL }, 1, -EEXIST,
      "op 1 (add-peer 192.168.50.4 10.244.3.0/24): pod CIDR 10.244.3.0/24 overlaps "
      "10.244.3.0/24 of peer 192.168.50.3", NULL },
    { "bad del-peer", { "del-peer 192.168.50.300", NULL }, 1, -EINVAL,
      "op 1 (del-peer 192.168.50.300): node IP \"192.168.50.300\": invalid IPv4 address",
      NULL },
    { "the first error is reported", { "add-lb 10.96.0.1:80/tcp 10.244.1.5:0",
      "add-peer 192.168.50.1 10.244.9.0/24", NULL }, 1, -EINVAL,
      "op 1 (add-lb 10.96.0.1:80/tcp): backend 1 \"10.244.1.5:0\": invalid port \"0\": "
      "expected 1 to 65535", NULL },
    { "this node's own address", { "del-lb 10.96.0.10:80/tcp",
      "add-peer 192.168.50.1 10.244.9.0/24", NULL }, 2, -EINVAL,
      "op 2 (add-peer 192.168.50.1 10.244.9.0/24): node IP 192.168.50.1 is this node's own "
      "address (--node-ip)", NULL },
    { "empty and unprintable arguments are quoted", { "add-lb 10.96.0.1:80/tcp\x01", NULL },
      1, -EINVAL, "op 1 (add-lb \"10.96.0.1:80/tcp\\x01\"): service \"10.96.0.1:80/tcp\\x01\": "
      "invalid protocol \"tcp\\x01\": expected tcp or udp", NULL },
};

/* The state before each case, checked and "applied" by hand. */
struct installed {
    struct lb_config policies[2];
    struct peer_config peers[2];
};

static void install(struct installed *st, const struct batch_config_env *base)
{
    struct ctl_batch text;
    struct batch_config batch;
    struct batch_config_env env = *base;
    size_t failed;
    char err[256];

    ctl_batch_init(&text);
    for (size_t i = 0; i < ARRAY_SIZE(installed_lines); i++) {
        cr_assert_eq(ctl_batch_add_line(&text, installed_lines[i], i + 1, err, sizeof err), 0);
    }
    cr_assert_eq(batch_config_from_msg(&text.msg, &env, &batch, &failed, err, sizeof err), 0,
                 "%s", err);
    for (size_t i = 0; i < 2; i++) {
        st->policies[i] = batch.ops[i].lb;
        st->policies[i].backends = xmalloc(batch.ops[i].lb.n_backends
                                           * sizeof *st->policies[i].backends);
        memcpy(st->policies[i].backends, batch.ops[i].lb.backends,
               batch.ops[i].lb.n_backends * sizeof *st->policies[i].backends);
        st->peers[i] = batch.ops[2 + i].peer;
    }
    batch_config_destroy(&batch);
    ctl_batch_destroy(&text);
}

static struct batch_config_env base_env(void)
{
    struct batch_config_env env;

    memset(&env, 0, sizeof env);
    cr_assert_eq(addr_parse_cidr("10.244.1.0/24", &env.lb.pod_cidr), 0);
    cr_assert_eq(addr_parse_ip("10.244.1.1", &env.lb.gateway), 0);
    cr_assert_eq(addr_parse_ip("192.168.50.1", &env.peer.node_ip), 0);
    env.peer.pod_cidr = env.lb.pod_cidr;
    return env;
}

/* What vswitchd answers: the message with the op's name, as daemon/txn.c formats it. */
static void answer(const Vswitch__Batch *msg, size_t op, const char *why, char *buf,
                   size_t size)
{
    char desc[BATCH_OP_DESC_LEN];

    snprintf(buf, size, "op %zu (%s): %s", op, batch_op_describe(msg->ops[op - 1], desc),
             why);
}

Test(batch_config, table)
{
    struct batch_config_env env = base_env();
    struct installed st;

    install(&st, &env);
    env.policies = st.policies;
    env.n_policies = 2;
    env.peers = st.peers;
    env.n_peers = 2;
    for (size_t i = 0; i < ARRAY_SIZE(check_cases); i++) {
        const struct check_case *c = &check_cases[i];
        struct batch_config batch;
        struct ctl_batch text;
        char err[512] = "", msg[768];
        size_t failed;
        int error;

        ctl_batch_init(&text);
        for (size_t l = 0; c->lines[l]; l++) {
            cr_assert_eq(ctl_batch_add_line(&text, c->lines[l], l + 1, err, sizeof err), 0,
                         "%s: line %zu: %s", c->description, l + 1, err);
        }
        error = batch_config_from_msg(&text.msg, &env, &batch, &failed, err, sizeof err);
        if (c->failed_op) {
            cr_expect_eq(error, c->error, "%s: returned %d", c->description, error);
            cr_expect_eq(failed, c->failed_op, "%s: failed op %zu", c->description, failed);
            if (failed) {
                answer(&text.msg, failed, err, msg, sizeof msg);
                cr_expect_str_eq(msg, c->message, "%s", c->description);
            }
        } else if (error) {
            cr_expect_fail("%s: refused: %s", c->description, err);
        } else {
            char found[MAX_LINES + 1] = "";

            for (size_t o = 0; o < batch.n_ops; o++) {
                const struct batch_op *op = &batch.ops[o];
                bool had = op->type == BATCH_OP_ADD_LB || op->type == BATCH_OP_DEL_LB
                           ? op->prior_lb != NULL : op->prior_peer;

                found[o] = op->unchanged ? 'u' : op->absent ? 'a' : had ? 'r' : 'n';
            }
            cr_expect_str_eq(found, c->found, "%s", c->description);
            cr_expect_eq(batch.n_ops, text.msg.n_ops);
            batch_config_destroy(&batch);
        }
        ctl_batch_destroy(&text);
    }
    for (size_t i = 0; i < 2; i++) {
        lb_config_destroy(&st.policies[i]);
    }
}

/* Undo restores, for each op, what its key held just before it: within a batch, that is
 * the previous op's result, not the installed state. */
Test(batch_config, prior_states_chain)
{
    static const char *const lines[] = {
        "add-lb 10.96.0.10:80/tcp 10.244.9.9:80",          /* replaces the installed one */
        "add-lb 10.96.0.10:80/tcp 10.244.9.8:80",          /* replaces op 1's */
        "del-lb 10.96.0.10:80/tcp",                        /* deletes op 2's */
        "add-peer 192.168.50.2 10.244.7.0/24",             /* moves from 10.244.2.0/24 */
        "del-peer 192.168.50.2",                           /* from 10.244.7.0/24 */
    };
    struct batch_config_env env = base_env();
    struct batch_config batch;
    struct ctl_batch text;
    struct installed st;
    char err[256], cidr[IP_STR_LEN];
    size_t failed;

    install(&st, &env);
    env.policies = st.policies;
    env.n_policies = 2;
    env.peers = st.peers;
    env.n_peers = 2;
    ctl_batch_init(&text);
    for (size_t i = 0; i < ARRAY_SIZE(lines); i++) {
        cr_assert_eq(ctl_batch_add_line(&text, lines[i], i + 1, err, sizeof err), 0);
    }
    cr_assert_eq(batch_config_from_msg(&text.msg, &env, &batch, &failed, err, sizeof err), 0,
                 "%s", err);
    cr_assert_eq(batch.ops[0].prior_lb, &st.policies[0]);
    cr_assert_eq(batch.ops[1].prior_lb, &batch.ops[0].lb);
    cr_assert_eq(batch.ops[2].prior_lb, &batch.ops[1].lb);
    cr_assert(batch.ops[3].prior_peer);
    cr_assert_str_eq(peer_cidr_str(&batch.ops[3].prior_cidr, cidr), "10.244.2.0/24");
    cr_assert(batch.ops[4].prior_peer);
    cr_assert_str_eq(peer_cidr_str(&batch.ops[4].prior_cidr, cidr), "10.244.7.0/24");
    cr_assert_eq(batch.n_lb_ops, 3);
    cr_assert_eq(batch.n_peer_ops, 2);
    batch_config_destroy(&batch);
    ctl_batch_destroy(&text);
    for (size_t i = 0; i < 2; i++) {
        lb_config_destroy(&st.policies[i]);
    }
}

/* An operation of a newer client arrives with no case set. */
Test(batch_config, unknown_operation)
{
    struct batch_config_env env = base_env();
    Vswitch__BatchOp op = VSWITCH__BATCH_OP__INIT, *ops[1] = { &op };
    Vswitch__Batch msg = VSWITCH__BATCH__INIT;
    struct batch_config batch;
    char err[256];
    size_t failed;

    msg.ops = ops;
    msg.n_ops = 1;
    cr_assert_eq(batch_config_from_msg(&msg, &env, &batch, &failed, err, sizeof err),
                 -EOPNOTSUPP);
    cr_assert_eq(failed, 1);
    cr_assert_str_eq(err, "unknown or empty operation (is the client newer than vswitchd?)");
}

/* 10,000 policies of ten backends check in well under the batch's budget. */
Test(batch_config, ten_thousand_policies)
{
    struct batch_config_env env = base_env();
    struct batch_config batch;
    struct ctl_batch text;
    char line[512], err[256];
    uint64_t start;
    size_t failed;

    ctl_batch_init(&text);
    for (int i = 0; i < 10000; i++) {
        int o = snprintf(line, sizeof line, "add-lb 10.96.%d.%d:80/tcp", i / 250, i % 250 + 1);

        for (int b = 0; b < 10; b++) {
            int n = i * 10 + b;

            o += snprintf(line + o, sizeof line - o, " 172.%d.%d.%d:8080", 16 + n / 62500,
                          n / 250 % 250, n % 250 + 1);
        }
        cr_assert_eq(ctl_batch_add_line(&text, line, i + 1, err, sizeof err), 0);
    }
    start = time_usec();
    cr_assert_eq(batch_config_from_msg(&text.msg, &env, &batch, &failed, err, sizeof err), 0,
                 "%s", err);
    cr_expect_lt(time_usec() - start, 500000, "checking took %.1f ms",
                 (time_usec() - start) / 1000.0);
    cr_assert_eq(batch.n_ops, 10000);
    batch_config_destroy(&batch);
    ctl_batch_destroy(&text);
}
