/* vsctl's command table (ctl/commands.h), as the command line uses it: the lists of commands
 * in its messages, the operand checks worded for the command line, and the requests built
 * from operands and options, checked after a pack and unpack as vswitchd would see them.
 * The batch form of the same table is tested with the batches (test-batch-config.c). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/commands.h"
#include "lib/ctl-msg.h"

Test(ctl_commands, lists)
{
    char buf[256], small[12];

    cr_assert_str_eq(ctl_command_list(false, buf, sizeof buf),
                     "show, add-port, del-port, add-lb, del-lb, add-peer, del-peer, batch, "
                     "dump-policies, dump-flows, flush-flows");
    cr_assert_str_eq(ctl_command_list(true, buf, sizeof buf),
                     "add-lb, del-lb, add-peer or del-peer");
    cr_assert_str_eq(ctl_command_list(true, small, sizeof small), "add-lb, del");
    cr_assert_null(ctl_command_find("frobnicate"));
    cr_assert_null(ctl_command_find("add-lb "));
}

struct operand_case {
    const char *command;
    const char *operands[4];        /* NULL-terminated. */
    const char *err;                /* NULL: accepted. */
};

static const struct operand_case operand_cases[] = {
    { "show", { NULL }, NULL },
    { "show", { "extra" }, "show: unexpected argument 'extra'; usage: vsctl show" },
    { "del-port", { NULL }, "del-port: missing argument; usage: vsctl del-port NAME" },
    { "del-port", { "a", "b" }, "del-port: unexpected argument 'b'; usage: vsctl del-port NAME" },
    { "add-lb", { NULL }, "add-lb: missing argument; usage: vsctl add-lb VIP:PORT/PROTO "
      "[BACKEND:PORT...] [--no-dsr] [--affinity-timeout SECONDS] [--name NAME]" },
    { "add-lb", { "10.96.0.1:80/tcp", "a", "b" }, NULL },
    { "add-peer", { "192.168.50.2" }, "add-peer: missing argument; usage: vsctl add-peer "
      "NODE_IP POD_CIDR" },
    { "batch", { "-" }, NULL },
    { "batch", { NULL }, "batch: missing argument; usage: vsctl batch FILE" },
};

Test(ctl_commands, operands)
{
    for (size_t i = 0; i < sizeof operand_cases / sizeof *operand_cases; i++) {
        const struct operand_case *c = &operand_cases[i];
        const struct ctl_command *cmd = ctl_command_find(c->command);
        char *operands[4], err[512] = "";
        int n = 0, error;

        cr_assert_not_null(cmd, "%s", c->command);
        while (c->operands[n]) {
            operands[n] = (char *) c->operands[n];
            n++;
        }
        error = ctl_command_check_operands(cmd, operands, n, CTL_FORM_ARGV, err, sizeof err);
        if (c->err) {
            cr_expect_eq(error, -EINVAL, "%s %d", c->command, n);
            cr_expect_str_eq(err, c->err);
        } else {
            cr_expect_eq(error, 0, "%s %d: %s", c->command, n, err);
        }
    }
}

/* 'req' packed and unpacked, as vswitchd receives it. */
static Vswitch__Request *round_trip(const Vswitch__Request *req)
{
    size_t len = vswitch__request__get_packed_size(req);
    uint8_t *buf = malloc(len + 1);
    Vswitch__Request *copy;

    vswitch__request__pack(req, buf);
    copy = vswitch__request__unpack(&ctl_msg_allocator, len, buf);
    free(buf);
    cr_assert_not_null(copy);
    return copy;
}

Test(ctl_commands, build_add_lb)
{
    const struct ctl_command *cmd = ctl_command_find("add-lb");
    char *operands[] = { "10.96.0.1:80/tcp", "10.244.1.5:8080", "10.244.2.7:8080" };
    Vswitch__Request req = VSWITCH__REQUEST__INIT, *got;
    const struct ctl_option *opt;
    ProtobufCMessage *msg;

    msg = ctl_command_build(cmd, operands, 3);
    for (opt = cmd->options; opt->name; opt++) {
        if (!strcmp(opt->name, "affinity-timeout")) {
            cr_assert_str_eq(ctl_option_check(cmd, opt, "x"), "seconds, 0 to 86400");
            cr_assert_str_eq(ctl_option_check(cmd, opt, "-1"), "seconds, 0 to 86400");
            cr_assert_null(ctl_option_check(cmd, opt, "10800"));
            ctl_command_set_option(cmd, msg, opt, "10800");
        } else if (!strcmp(opt->name, "name")) {
            ctl_command_set_option(cmd, msg, opt, "first");
            ctl_command_set_option(cmd, msg, opt, "default/web");  /* The last one wins. */
        } else {
            cr_assert_not(ctl_option_has_value(cmd, opt));
            ctl_command_set_option(cmd, msg, opt, NULL);
        }
    }
    ctl_command_to_request(cmd, msg, &req);
    cr_assert_eq(ctl_command_check_required(cmd, msg, CTL_FORM_ARGV, NULL, 0), 0);
    got = round_trip(&req);
    cr_assert_eq(got->command_case, VSWITCH__REQUEST__COMMAND_ADD_LB);
    cr_assert_str_eq(got->add_lb->service, "10.96.0.1:80/tcp");
    cr_assert_eq(got->add_lb->n_backends, 2);
    cr_assert_str_eq(got->add_lb->backends[0], "10.244.1.5:8080");
    cr_assert_str_eq(got->add_lb->backends[1], "10.244.2.7:8080");
    cr_assert(got->add_lb->no_dsr);
    cr_assert_eq(got->add_lb->affinity_timeout, 10800);
    cr_assert_str_eq(got->add_lb->name, "default/web");
    ctl_msg_request_free(got);
    protobuf_c_message_free_unpacked(msg, &ctl_msg_allocator);
}

Test(ctl_commands, build_add_port_needs_ip)
{
    const struct ctl_command *cmd = ctl_command_find("add-port");
    char *operands[] = { "h-pod1" };
    Vswitch__Request req = VSWITCH__REQUEST__INIT, *got;
    ProtobufCMessage *msg = ctl_command_build(cmd, operands, 1);
    char err[512];

    ctl_command_to_request(cmd, msg, &req);
    cr_assert_eq(ctl_command_check_required(cmd, msg, CTL_FORM_ARGV, err, sizeof err),
                 -EINVAL);
    cr_assert_str_eq(err, "add-port: --ip is required; usage: vsctl add-port NAME --ip IP "
                     "[--mac MAC] [--type veth|tap]");
    ctl_command_set_option(cmd, msg, &cmd->options[0], "10.244.1.2");
    cr_assert_eq(ctl_command_check_required(cmd, msg, CTL_FORM_ARGV, err, sizeof err), 0);
    got = round_trip(&req);
    cr_assert_eq(got->command_case, VSWITCH__REQUEST__COMMAND_ADD_PORT);
    cr_assert_str_eq(got->add_port->name, "h-pod1");
    cr_assert_str_eq(got->add_port->ip, "10.244.1.2");
    cr_assert_str_eq(got->add_port->mac, "");
    ctl_msg_request_free(got);
    protobuf_c_message_free_unpacked(msg, &ctl_msg_allocator);
}

/* Every command builds the request of its own case from its operands (batch's file is not
 * one of its fields: it is read by vsctl, and the message stays empty). */
Test(ctl_commands, every_command_builds_its_request)
{
    char *operands[] = { "a", "b", "c" };

    for (const struct ctl_command *cmd = ctl_commands; cmd->name; cmd++) {
        Vswitch__Request req = VSWITCH__REQUEST__INIT, *got;
        ProtobufCMessage *msg;
        int n = 0;

        while (n < CTL_MAX_OPERANDS && cmd->operands[n]) {
            n++;
        }
        cr_assert_eq(ctl_command_check_operands(cmd, operands, n, CTL_FORM_ARGV, NULL, 0), 0,
                     "%s", cmd->name);
        msg = ctl_command_build(cmd, operands, n);
        ctl_command_to_request(cmd, msg, &req);
        got = round_trip(&req);
        cr_expect_eq(got->command_case, cmd->request, "%s", cmd->name);
        ctl_msg_request_free(got);
        protobuf_c_message_free_unpacked(msg, &ctl_msg_allocator);
    }
}
