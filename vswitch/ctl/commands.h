/* vsctl's commands, in one table that both of its input forms read: the command line
 * ("vsctl add-peer 192.168.50.2 10.244.2.0/24") and the lines of a batch file (ctl/batch.h).
 * For each command the table says its usage, its operands and options as fields of the
 * control protocol's message, and whether a batch may hold it; the message is built from it
 * through protobuf-c's descriptors, so a command is described once and built alike in both
 * forms.
 *
 * Only the shape is checked here (the command, its number of operands, its options): the
 * values are vswitchd's to check, so that every client gets the same messages.
 *
 * Thread: any. */
#ifndef VSWITCH_CTL_COMMANDS_H
#define VSWITCH_CTL_COMMANDS_H 1

#include <stdbool.h>
#include <stddef.h>

#include "proto/vswitch.pb-c.h"

/* An option of one command ("--affinity-timeout SECONDS"), stored in the message field of
 * its name with '-' as '_': a string field takes the value, a bool field is set by the bare
 * option, an integer field takes a decimal. */
struct ctl_option {
    const char *name;               /* Without "--". */
    bool required;
    const char *expected;           /* For an integer: what a bad value should have been. */
};

#define CTL_MAX_OPERANDS 3

struct ctl_command {
    const char *name;               /* "add-peer" */
    const char *usage;              /* "add-peer NODE_IP POD_CIDR" */
    /* The message fields the operands fill, in order; a repeated last one takes the rest
     * (zero or more).  A name that is not a field (batch's "FILE") is an operand the
     * caller reads itself. */
    const char *operands[CTL_MAX_OPERANDS + 1];
    const struct ctl_option *options;   /* Ends with a NULL name; NULL: none. */
    Vswitch__Request__CommandCase request;
    Vswitch__BatchOp__OpCase batch_op;  /* _NOT_SET: not allowed in a batch. */
};

/* Every command, in the order help and messages list them; ends with a NULL name. */
extern const struct ctl_command ctl_commands[];

/* The command called 'name', or NULL. */
const struct ctl_command *ctl_command_find(const char *name);

/* "show, add-port, ..." (every command), or for 'batch' "add-lb, del-lb, add-peer or
 * del-peer" (those a batch may hold), cut to fit 'size'.  Returns 'buf'. */
const char *ctl_command_list(bool batch, char *buf, size_t size);

/* True if 'opt' takes a value (every option but a flag). */
bool ctl_option_has_value(const struct ctl_command *cmd, const struct ctl_option *opt);
/* Checks 'value' for option 'opt' of 'cmd'.  Returns NULL or what it should have been
 * ("seconds, 0 to 86400"). */
const char *ctl_option_check(const struct ctl_command *cmd, const struct ctl_option *opt,
                             const char *value);

/* How the two input forms word the same error. */
enum ctl_form {
    CTL_FORM_ARGV,                  /* "usage: vsctl del-lb ...", 'ARG' */
    CTL_FORM_BATCH,                 /* "usage: del-lb ...", "ARG" (escaped) */
};

/* Checks that 'cmd' has the right number of operands.  Returns 0, or -EINVAL with
 * "del-lb: missing argument; usage: ..." in 'err'. */
int ctl_command_check_operands(const struct ctl_command *cmd, char **operands, int n,
                               enum ctl_form, char *err, size_t errlen);

/* A new message of 'cmd' with 'operands' (checked) in its fields; every string is copied.
 * Free it with protobuf_c_message_free_unpacked(msg, &ctl_msg_allocator). */
ProtobufCMessage *ctl_command_build(const struct ctl_command *cmd, char **operands, int n);

/* Sets option 'opt' of 'msg' (built for 'cmd') to 'value' (NULL for a flag), checked with
 * ctl_option_check(). */
void ctl_command_set_option(const struct ctl_command *cmd, ProtobufCMessage *msg,
                            const struct ctl_option *opt, const char *value);

/* Checks that 'msg' (built for 'cmd') has its required options.  Returns 0, or -EINVAL with
 * "add-port: --ip is required; usage: ..." in 'err'. */
int ctl_command_check_required(const struct ctl_command *cmd, const ProtobufCMessage *msg,
                               enum ctl_form, char *err, size_t errlen);

/* Puts 'msg' (built for 'cmd') into 'req' or 'op' as the command; they own it from then. */
void ctl_command_to_request(const struct ctl_command *cmd, ProtobufCMessage *msg,
                            Vswitch__Request *req);
void ctl_command_to_batch_op(const struct ctl_command *cmd, ProtobufCMessage *msg,
                             Vswitch__BatchOp *op);

#endif
