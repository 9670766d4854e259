/* The text form of a Batch; see batch.h.
 *
 * Every string of the message is allocated (or is protobuf-c's shared empty string), so an
 * operation is freed whole with vswitch__batch_op__free_unpacked(). */
#include "ctl/batch.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/commands.h"
#include "lib/ctl-msg.h"
#include "lib/util.h"

#define MAX_WORDS 8192              /* A policy of 4096 backends and its options. */

void ctl_batch_init(struct ctl_batch *batch)
{
    memset(batch, 0, sizeof *batch);
    vswitch__batch__init(&batch->msg);
}

void ctl_batch_destroy(struct ctl_batch *batch)
{
    if (!batch) {
        return;
    }
    for (size_t i = 0; i < batch->msg.n_ops; i++) {
        vswitch__batch_op__free_unpacked(batch->msg.ops[i], &ctl_msg_allocator);
    }
    free(batch->msg.ops);
    free(batch->lines);
    ctl_batch_init(batch);
}

/* Splits 'line' (modified) into words at blanks.  Returns the number of words, or -1 if there
 * are more than 'max'. */
static int split_words(char *line, char **words, int max)
{
    char *save = NULL;
    int n = 0;

    for (char *p = strtok_r(line, " \t\r\n\v\f", &save); p;
         p = strtok_r(NULL, " \t\r\n\v\f", &save)) {
        if (n == max) {
            return -1;
        }
        words[n++] = p;
    }
    return n;
}

/* The option of 'cmd' that 'word' names: "--NAME" for a flag, "--NAME" or "--NAME=VALUE" for
 * one with a value; NULL if none does. */
static const struct ctl_option *find_option(const struct ctl_command *cmd, const char *word)
{
    for (const struct ctl_option *opt = cmd->options; opt && opt->name; opt++) {
        size_t len = strlen(opt->name);

        if (!strncmp(word, "--", 2) && !strncmp(word + 2, opt->name, len)
            && (word[2 + len] == '\0'
                || (word[2 + len] == '=' && ctl_option_has_value(cmd, opt)))) {
            return opt;
        }
    }
    return NULL;
}

/* An option of the line, with its value (NULL for a flag). */
struct line_option {
    const struct ctl_option *opt;
    const char *value;
};

/* Sorts words[1..] of the line of 'cmd' into operands and options, in place.  Returns 0 or
 * -EINVAL with what is wrong in 'err'. */
static int parse_words(const struct ctl_command *cmd, char **words, int n_words,
                       char **operands, int *n_operands, struct line_option *options,
                       int *n_options, char *err, size_t errlen)
{
    char q[STR_QUOTE_LEN];

    *n_operands = *n_options = 0;
    for (int i = 1; i < n_words; i++) {
        const struct ctl_option *opt;
        const char *value = NULL, *problem;

        if (strncmp(words[i], "--", 2)) {
            operands[(*n_operands)++] = words[i];
            continue;
        }
        opt = find_option(cmd, words[i]);
        if (!opt && cmd->options) {
            return str_fail(-EINVAL, err, errlen, "%s: unknown option %s; usage: %s", cmd->name,
                            str_quote(words[i], q), cmd->usage);
        } else if (!opt) {
            return str_fail(-EINVAL, err, errlen, "%s: unknown option %s", cmd->name,
                            str_quote(words[i], q));
        }
        if (ctl_option_has_value(cmd, opt)) {
            value = strchr(words[i], '=');
            if (value) {
                value++;
            } else if (i + 1 < n_words) {
                value = words[++i];
            } else {
                return str_fail(-EINVAL, err, errlen, "%s: option '--%s' needs a value", cmd->name,
                                opt->name);
            }
            problem = ctl_option_check(cmd, opt, value);
            if (problem) {
                return str_fail(-EINVAL, err, errlen, "%s: invalid --%s %s: expected %s",
                                cmd->name, opt->name, str_quote(value, q), problem);
            }
        }
        options[(*n_options)++] = (struct line_option) { opt, value };
    }
    return 0;
}

/* The operation of the line 'words' of 'cmd' into 'op'. */
static int parse_op(const struct ctl_command *cmd, char **words, int n_words,
                    Vswitch__BatchOp *op, char *err, size_t errlen)
{
    char **operands = xmalloc(n_words * sizeof *operands);
    struct line_option *options = xmalloc(n_words * sizeof *options);
    ProtobufCMessage *msg;
    int n_operands, n_options, error;

    error = parse_words(cmd, words, n_words, operands, &n_operands, options, &n_options, err,
                        errlen);
    if (!error) {
        error = ctl_command_check_operands(cmd, operands, n_operands, CTL_FORM_BATCH, err,
                                           errlen);
    }
    if (!error) {
        msg = ctl_command_build(cmd, operands, n_operands);
        for (int i = 0; i < n_options; i++) {
            ctl_command_set_option(cmd, msg, options[i].opt, options[i].value);
        }
        ctl_command_to_batch_op(cmd, msg, op);
        error = ctl_command_check_required(cmd, msg, CTL_FORM_BATCH, err, errlen);
    }
    free(options);
    free(operands);
    return error;
}

int ctl_batch_add_line(struct ctl_batch *batch, const char *line, size_t lineno, char *err,
                       size_t errlen)
{
    char *copy = xstrdup(line), **words = xmalloc(MAX_WORDS * sizeof *words);
    const struct ctl_command *cmd;
    Vswitch__BatchOp *op = NULL;
    char q[STR_QUOTE_LEN], list[128];
    int n_words, error = 0;

    n_words = split_words(copy, words, MAX_WORDS);
    if (n_words < 0) {
        error = str_fail(-EINVAL, err, errlen, "more than %d words on one line", MAX_WORDS);
        goto out;
    }
    if (!n_words || words[0][0] == '#') {
        goto out;
    }
    cmd = ctl_command_find(words[0]);
    if (!cmd || !cmd->batch_op) {
        error = str_fail(-EINVAL, err, errlen, "unknown command %s: expected %s",
                         str_quote(words[0], q), ctl_command_list(true, list, sizeof list));
        goto out;
    }
    op = xmalloc(sizeof *op);
    vswitch__batch_op__init(op);
    error = parse_op(cmd, words, n_words, op, err, errlen);

out:
    if (op && !error) {
        if (batch->msg.n_ops == batch->cap) {
            batch->cap = batch->cap ? batch->cap * 2 : 64;
            batch->msg.ops = xrealloc(batch->msg.ops, batch->cap * sizeof *batch->msg.ops);
            batch->lines = xrealloc(batch->lines, batch->cap * sizeof *batch->lines);
        }
        batch->msg.ops[batch->msg.n_ops] = op;
        batch->lines[batch->msg.n_ops++] = lineno;
    } else if (op) {
        vswitch__batch_op__free_unpacked(op, &ctl_msg_allocator);
    }
    free(words);
    free(copy);
    return error;
}
