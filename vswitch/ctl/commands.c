/* vsctl's command table; see commands.h.
 *
 * A command's message type is the type of its field in Request, and its operands and options
 * are fields of that message by name, so building goes through protobuf-c's descriptors: a
 * new command is a line of the table, not code in each input form. */
#include "ctl/commands.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cli.h"
#include "lib/ctl-msg.h"
#include "lib/util.h"

static const struct ctl_option add_port_options[] = {
    { .name = "ip", .required = true },
    { .name = "mac" },
    { .name = "type" },
    { .name = "pod-namespace" },
    { .name = "pod-name" },
    { .name = "container-id" },
    { .name = "ifname" },
    { .name = NULL },
};

static const struct ctl_option add_lb_options[] = {
    { .name = "no-dsr" },
    /* The range (0 to 86400) is vswitchd's to check, with its message. */
    { .name = "affinity-timeout", .expected = "seconds, 0 to 86400" },
    { .name = "name" },
    { .name = NULL },
};

const struct ctl_command ctl_commands[] = {
    { "show", "show", { NULL }, NULL,
      VSWITCH__REQUEST__COMMAND_SHOW, VSWITCH__BATCH_OP__OP__NOT_SET },
    { "add-port", "add-port NAME --ip IP [--mac MAC] [--type veth|tap]", { "name" },
      add_port_options, VSWITCH__REQUEST__COMMAND_ADD_PORT, VSWITCH__BATCH_OP__OP__NOT_SET },
    { "del-port", "del-port NAME", { "name" }, NULL,
      VSWITCH__REQUEST__COMMAND_DEL_PORT, VSWITCH__BATCH_OP__OP__NOT_SET },
    { "add-lb", "add-lb VIP:PORT/PROTO [BACKEND:PORT...] [--no-dsr] "
      "[--affinity-timeout SECONDS] [--name NAME]", { "service", "backends" }, add_lb_options,
      VSWITCH__REQUEST__COMMAND_ADD_LB, VSWITCH__BATCH_OP__OP_ADD_LB },
    { "del-lb", "del-lb VIP:PORT/PROTO", { "service" }, NULL,
      VSWITCH__REQUEST__COMMAND_DEL_LB, VSWITCH__BATCH_OP__OP_DEL_LB },
    { "add-peer", "add-peer NODE_IP POD_CIDR", { "node_ip", "pod_cidr" }, NULL,
      VSWITCH__REQUEST__COMMAND_ADD_PEER, VSWITCH__BATCH_OP__OP_ADD_PEER },
    { "del-peer", "del-peer NODE_IP", { "node_ip" }, NULL,
      VSWITCH__REQUEST__COMMAND_DEL_PEER, VSWITCH__BATCH_OP__OP_DEL_PEER },
    /* The batch's message is the file's lines (ctl/batch.h), not its operand. */
    { "batch", "batch FILE", { "FILE" }, NULL,
      VSWITCH__REQUEST__COMMAND_BATCH, VSWITCH__BATCH_OP__OP__NOT_SET },
    { "dump-policies", "dump-policies", { NULL }, NULL,
      VSWITCH__REQUEST__COMMAND_DUMP_POLICIES, VSWITCH__BATCH_OP__OP__NOT_SET },
    { "dump-flows", "dump-flows", { NULL }, NULL,
      VSWITCH__REQUEST__COMMAND_DUMP_FLOWS, VSWITCH__BATCH_OP__OP__NOT_SET },
    { "flush-flows", "flush-flows", { NULL }, NULL,
      VSWITCH__REQUEST__COMMAND_FLUSH_FLOWS, VSWITCH__BATCH_OP__OP__NOT_SET },
    { NULL, NULL, { NULL }, NULL, 0, 0 },
};

const struct ctl_command *ctl_command_find(const char *name)
{
    for (const struct ctl_command *cmd = ctl_commands; cmd->name; cmd++) {
        if (!strcmp(cmd->name, name)) {
            return cmd;
        }
    }
    return NULL;
}

const char *ctl_command_list(bool batch, char *buf, size_t size)
{
    const struct ctl_command *last = NULL;
    size_t len = 0;

    for (const struct ctl_command *cmd = ctl_commands; cmd->name; cmd++) {
        if (!batch || cmd->batch_op) {
            last = cmd;
        }
    }
    buf[0] = '\0';
    for (const struct ctl_command *cmd = ctl_commands; cmd->name; cmd++) {
        if (batch && !cmd->batch_op) {
            continue;
        }
        if (len < size) {
            len += snprintf(buf + len, size - len, "%s%s",
                            !len ? "" : batch && cmd == last ? " or " : ", ", cmd->name);
        }
    }
    return buf;
}

/* The message type of 'cmd': its field's in Request. */
static const ProtobufCMessageDescriptor *command_type(const struct ctl_command *cmd)
{
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field(&vswitch__request__descriptor, cmd->request);

    return f->descriptor;
}

/* The field of 'cmd''s message that holds option 'opt': its name with '-' as '_'. */
static const ProtobufCFieldDescriptor *option_field(const struct ctl_command *cmd,
                                                    const struct ctl_option *opt)
{
    const ProtobufCFieldDescriptor *f;
    char name[64];

    str_copy(name, opt->name, sizeof name);
    for (char *p = name; *p; p++) {
        *p = *p == '-' ? '_' : *p;
    }
    f = protobuf_c_message_descriptor_get_field_by_name(command_type(cmd), name);
    if (!f) {
        abort();                    /* The table names a field the protocol lacks. */
    }
    return f;
}

bool ctl_option_has_value(const struct ctl_command *cmd, const struct ctl_option *opt)
{
    return option_field(cmd, opt)->type != PROTOBUF_C_TYPE_BOOL;
}

const char *ctl_option_check(const struct ctl_command *cmd, const struct ctl_option *opt,
                             const char *value)
{
    unsigned long v;

    if (option_field(cmd, opt)->type == PROTOBUF_C_TYPE_UINT32
        && cli_parse_ulong(value, 0, UINT_MAX, &v)) {
        return opt->expected;
    }
    return NULL;
}

int ctl_command_check_operands(const struct ctl_command *cmd, char **operands, int n,
                               enum ctl_form form, char *err, size_t errlen)
{
    const char *prefix = form == CTL_FORM_ARGV ? "vsctl " : "";
    const ProtobufCMessageDescriptor *type = command_type(cmd);
    int fixed = 0;
    bool rest = false;

    for (; fixed < CTL_MAX_OPERANDS && cmd->operands[fixed]; fixed++) {
        const ProtobufCFieldDescriptor *f =
            protobuf_c_message_descriptor_get_field_by_name(type, cmd->operands[fixed]);

        if (f && f->label == PROTOBUF_C_LABEL_REPEATED) {
            rest = true;
            break;
        }
    }
    if (n < fixed) {
        return str_fail(-EINVAL, err, errlen, "%s: missing argument; usage: %s%s", cmd->name,
                        prefix, cmd->usage);
    }
    if (n > fixed && !rest) {
        char q[STR_QUOTE_LEN];

        if (form == CTL_FORM_ARGV) {
            return str_fail(-EINVAL, err, errlen, "%s: unexpected argument '%s'; usage: %s%s",
                            cmd->name, operands[fixed], prefix, cmd->usage);
        }
        return str_fail(-EINVAL, err, errlen, "%s: unexpected argument %s; usage: %s%s", cmd->name,
                        str_quote(operands[fixed], q), prefix, cmd->usage);
    }
    return 0;
}

#define FIELD(MSG, F, TYPE) (*(TYPE *) ((char *) (MSG) + (F)->offset))

ProtobufCMessage *ctl_command_build(const struct ctl_command *cmd, char **operands, int n)
{
    const ProtobufCMessageDescriptor *type = command_type(cmd);
    ProtobufCMessage *msg = xmalloc(type->sizeof_message);

    protobuf_c_message_init(type, msg);
    for (int i = 0; i < CTL_MAX_OPERANDS && cmd->operands[i] && i < n; i++) {
        const ProtobufCFieldDescriptor *f =
            protobuf_c_message_descriptor_get_field_by_name(type, cmd->operands[i]);

        if (!f) {
            continue;               /* The caller's to read (batch's FILE). */
        }
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            char **values = xmalloc((n - i + 1) * sizeof *values);

            for (int j = i; j < n; j++) {
                values[j - i] = xstrdup(operands[j]);
            }
            FIELD(msg, f, char **) = values;
            *(size_t *) ((char *) msg + f->quantifier_offset) = n - i;
            break;
        }
        FIELD(msg, f, char *) = xstrdup(operands[i]);
    }
    return msg;
}

void ctl_command_set_option(const struct ctl_command *cmd, ProtobufCMessage *msg,
                            const struct ctl_option *opt, const char *value)
{
    const ProtobufCFieldDescriptor *f = option_field(cmd, opt);
    unsigned long v;

    switch (f->type) {
    case PROTOBUF_C_TYPE_BOOL:
        FIELD(msg, f, protobuf_c_boolean) = true;
        break;
    case PROTOBUF_C_TYPE_UINT32:
        cli_parse_ulong(value, 0, UINT_MAX, &v);
        FIELD(msg, f, uint32_t) = v;
        break;
    case PROTOBUF_C_TYPE_STRING:
        /* The last of repeated options wins, as getopt_long() has it. */
        if (FIELD(msg, f, char *) != f->default_value) {
            free(FIELD(msg, f, char *));
        }
        FIELD(msg, f, char *) = ctl_msg_strdup(value);
        break;
    default:
        abort();                    /* No option of that type in the table. */
    }
}

int ctl_command_check_required(const struct ctl_command *cmd, const ProtobufCMessage *msg,
                               enum ctl_form form, char *err, size_t errlen)
{
    for (const struct ctl_option *opt = cmd->options; opt && opt->name; opt++) {
        const ProtobufCFieldDescriptor *f = option_field(cmd, opt);

        if (opt->required && f->type == PROTOBUF_C_TYPE_STRING && !*FIELD(msg, f, char *)) {
            return str_fail(-EINVAL, err, errlen, "%s: --%s is required; usage: %s%s", cmd->name,
                            opt->name, form == CTL_FORM_ARGV ? "vsctl " : "", cmd->usage);
        }
    }
    return 0;
}

/* Sets the oneof field of 'cmd' in 'container' (a Request or a BatchOp) to 'msg'. */
static void set_oneof(const ProtobufCMessageDescriptor *type, unsigned id,
                      ProtobufCMessage *msg, void *container)
{
    const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field(type, id);

    *(uint32_t *) ((char *) container + f->quantifier_offset) = id;
    FIELD(container, f, ProtobufCMessage *) = msg;
}

void ctl_command_to_request(const struct ctl_command *cmd, ProtobufCMessage *msg,
                            Vswitch__Request *req)
{
    set_oneof(&vswitch__request__descriptor, cmd->request, msg, req);
}

void ctl_command_to_batch_op(const struct ctl_command *cmd, ProtobufCMessage *msg,
                             Vswitch__BatchOp *op)
{
    set_oneof(&vswitch__batch_op__descriptor, cmd->batch_op, msg, op);
}
