/* The text form of a Batch; see ctl-batch.h.
 *
 * Every string of the message is allocated (or is protobuf-c's shared empty string), so an
 * operation is freed whole with vswitch__batch_op__free_unpacked(). */
#include "ctl/batch.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/ctl-msg.h"
#include "lib/util.h"

#define MAX_WORDS 8192              /* A policy of 4096 backends and its options. */

static const char add_lb_usage[] = "add-lb VIP:PORT/PROTO [BACKEND:PORT...] [--no-dsr] "
                                   "[--affinity-timeout SECONDS] [--name NAME]";

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

static int __attribute__((format(printf, 3, 4)))
fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list args;

    va_start(args, fmt);
    vsnprintf(err, errlen, fmt, args);
    va_end(args);
    return -EINVAL;
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

/* Checks that the command words[0] has exactly 'n' arguments after it. */
static int need_args(char **words, int n_words, int n, const char *usage, char *err,
                     size_t errlen)
{
    if (n_words - 1 < n) {
        return fail(err, errlen, "%s: missing argument; usage: %s", words[0], usage);
    }
    if (n_words - 1 > n) {
        char q[STR_QUOTE_LEN];

        return fail(err, errlen, "%s: unexpected argument %s; usage: %s", words[0],
                    str_quote(words[n + 1], q), usage);
    }
    return 0;
}

/* The value of option 'name' at words[*i]: after '=' or the next word. */
static int option_value(char **words, int n_words, int *i, const char *name, const char **value,
                        char *err, size_t errlen)
{
    const char *eq = strchr(words[*i], '=');

    if (eq) {
        *value = eq + 1;
        return 0;
    }
    if (*i + 1 >= n_words) {
        return fail(err, errlen, "add-lb: option '--%s' needs a value", name);
    }
    *value = words[++*i];
    return 0;
}

static bool is_option(const char *word, const char *name)
{
    size_t len = strlen(name);

    return !strncmp(word, "--", 2) && !strncmp(word + 2, name, len)
           && (word[2 + len] == '\0' || word[2 + len] == '=');
}

static int parse_add_lb(char **words, int n_words, Vswitch__BatchOp *op, char *err,
                        size_t errlen)
{
    Vswitch__AddLb *m = xmalloc(sizeof *m);
    char q[STR_QUOTE_LEN];
    int error = 0;

    vswitch__add_lb__init(m);
    op->op_case = VSWITCH__BATCH_OP__OP_ADD_LB;
    op->add_lb = m;
    m->backends = xmalloc(n_words * sizeof *m->backends);
    for (int i = 1; i < n_words && !error; i++) {
        const char *w = words[i], *value;

        if (strncmp(w, "--", 2)) {
            if (*m->service) {
                m->backends[m->n_backends++] = xstrdup(w);
            } else {
                m->service = xstrdup(w);
            }
        } else if (!strcmp(w, "--no-dsr")) {
            m->no_dsr = true;
        } else if (is_option(w, "affinity-timeout")) {
            unsigned long seconds;
            char *end;

            error = option_value(words, n_words, &i, "affinity-timeout", &value, err, errlen);
            if (!error) {
                /* The range (0 to 86400) is vswitchd's to check, with its message. */
                errno = 0;
                seconds = strtoul(value, &end, 10);
                if (!*value || *end || errno || *value == '-' || seconds > UINT_MAX) {
                    error = fail(err, errlen, "add-lb: invalid --affinity-timeout %s: "
                                 "expected seconds, 0 to 86400", str_quote(value, q));
                } else {
                    m->affinity_timeout = seconds;
                }
            }
        } else if (is_option(w, "name")) {
            error = option_value(words, n_words, &i, "name", &value, err, errlen);
            if (!error) {
                if (*m->name) {
                    free(m->name);
                }
                m->name = ctl_msg_strdup(value);
            }
        } else {
            error = fail(err, errlen, "add-lb: unknown option %s; usage: %s", str_quote(w, q),
                         add_lb_usage);
        }
    }
    if (!error && !*m->service) {
        error = fail(err, errlen, "add-lb: missing argument; usage: %s", add_lb_usage);
    }
    return error;
}

int ctl_batch_add_line(struct ctl_batch *batch, const char *line, size_t lineno, char *err,
                       size_t errlen)
{
    char *copy = xstrdup(line), **words = xmalloc(MAX_WORDS * sizeof *words);
    Vswitch__BatchOp *op = NULL;
    char q[STR_QUOTE_LEN];
    int n_words, error = 0;

    n_words = split_words(copy, words, MAX_WORDS);
    if (n_words < 0) {
        error = fail(err, errlen, "more than %d words on one line", MAX_WORDS);
        goto out;
    }
    if (!n_words || words[0][0] == '#') {
        goto out;
    }
    op = xmalloc(sizeof *op);
    vswitch__batch_op__init(op);
    if (!strcmp(words[0], "add-lb")) {
        error = parse_add_lb(words, n_words, op, err, errlen);
        goto out;
    }
    if (strcmp(words[0], "del-lb") && strcmp(words[0], "add-peer")
        && strcmp(words[0], "del-peer")) {
        error = fail(err, errlen, "unknown command %s: expected add-lb, del-lb, add-peer or "
                     "del-peer", str_quote(words[0], q));
        goto out;
    }
    for (int i = 1; i < n_words && !error; i++) {
        if (!strncmp(words[i], "--", 2)) {
            error = fail(err, errlen, "%s: unknown option %s", words[0],
                         str_quote(words[i], q));
        }
    }
    if (error) {
        goto out;
    }
    if (!strcmp(words[0], "del-lb")) {
        error = need_args(words, n_words, 1, "del-lb VIP:PORT/PROTO", err, errlen);
        if (!error) {
            op->op_case = VSWITCH__BATCH_OP__OP_DEL_LB;
            op->del_lb = xmalloc(sizeof *op->del_lb);
            vswitch__del_lb__init(op->del_lb);
            op->del_lb->service = xstrdup(words[1]);
        }
    } else if (!strcmp(words[0], "add-peer")) {
        error = need_args(words, n_words, 2, "add-peer NODE_IP POD_CIDR", err, errlen);
        if (!error) {
            op->op_case = VSWITCH__BATCH_OP__OP_ADD_PEER;
            op->add_peer = xmalloc(sizeof *op->add_peer);
            vswitch__add_peer__init(op->add_peer);
            op->add_peer->node_ip = xstrdup(words[1]);
            op->add_peer->pod_cidr = xstrdup(words[2]);
        }
    } else {
        error = need_args(words, n_words, 1, "del-peer NODE_IP", err, errlen);
        if (!error) {
            op->op_case = VSWITCH__BATCH_OP__OP_DEL_PEER;
            op->del_peer = xmalloc(sizeof *op->del_peer);
            vswitch__del_peer__init(op->del_peer);
            op->del_peer->node_ip = xstrdup(words[1]);
        }
    }

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
