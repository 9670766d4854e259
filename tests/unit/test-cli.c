/* The command-line plumbing of lib/cli.h: number parsing as a table of strings, then the
 * usage errors, each run in a child process (they exit) whose stderr and exit status are
 * compared with what a user of vswitchd (status 2) or vsctl (status 1) sees. */
#include <criterion/criterion.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/cli.h"

struct ulong_case {
    const char *s;
    unsigned long min, max;
    int error;
    unsigned long value;            /* When accepted. */
};

static const struct ulong_case ulong_cases[] = {
    { "0", 0, 10, 0, 0 },
    { "10", 0, 10, 0, 10 },
    { "007", 0, 10, 0, 7 },
    { "+5", 0, 10, 0, 5 },          /* strtoul()'s forms, as before lib/cli. */
    { " 5", 0, 10, 0, 5 },
    { "4294967295", 0, UINT_MAX, 0, UINT_MAX },
    { "18446744073709551615", 0, ULONG_MAX, 0, ULONG_MAX },
    { "", 0, 10, -EINVAL, 0 },
    { "x", 0, 10, -EINVAL, 0 },
    { "5x", 0, 10, -EINVAL, 0 },
    { "5 ", 0, 10, -EINVAL, 0 },
    { "0x10", 0, 100, -EINVAL, 0 },
    { "1e3", 0, 10000, -EINVAL, 0 },
    { "-1", 0, ULONG_MAX, -EINVAL, 0 },     /* strtoul() would wrap it to ULONG_MAX. */
    { "-0", 0, 10, -EINVAL, 0 },
    { " -1", 0, UINT_MAX, -ERANGE, 0 },      /* Wrapped, then out of range. */
    { "11", 0, 10, -ERANGE, 0 },
    { "0", 1, 10, -ERANGE, 0 },
    { "4294967296", 0, UINT_MAX, -ERANGE, 0 },
    { "18446744073709551616", 0, ULONG_MAX, -ERANGE, 0 },
};

Test(cli, parse_ulong)
{
    for (size_t i = 0; i < sizeof ulong_cases / sizeof *ulong_cases; i++) {
        const struct ulong_case *c = &ulong_cases[i];
        unsigned long value = 12345;
        int error = cli_parse_ulong(c->s, c->min, c->max, &value);

        cr_expect_eq(error, c->error, "'%s' in [%lu, %lu]: %d, expected %d", c->s, c->min,
                     c->max, error, c->error);
        cr_expect_eq(value, c->error ? 12345 : c->value, "'%s': value %lu", c->s, value);
    }
}

/* ---- in a child process ------------------------------------------------------------------ */

struct outcome {
    int status;                     /* Exit status; RETURNED if the call came back. */
    char err[1024];                 /* Its stderr. */
};

#define RETURNED 99

/* Ends the child with the status exit() was given, before the sanitizers' exit-time checks:
 * in a forked child of the threaded test runner, LeakSanitizer would complain, into the
 * captured stderr, of threads it cannot suspend. */
static void exit_now(int status, void *arg)
{
    fflush(NULL);
    _exit(status);
}

/* Runs 'fn(arg)' in a child with stderr captured. */
static void run_child(void (*fn)(const void *), const void *arg, struct outcome *out)
{
    int fds[2], wstatus;
    size_t len = 0;
    ssize_t n;
    pid_t pid;

    cr_assert_eq(pipe(fds), 0);
    fflush(NULL);           /* Or the child's exit() would write the parent's buffers too. */
    pid = fork();
    cr_assert_geq(pid, 0);
    if (!pid) {
        close(fds[0]);
        dup2(fds[1], STDERR_FILENO);
        on_exit(exit_now, NULL);
        fn(arg);
        exit_now(RETURNED, NULL);
    }
    close(fds[1]);
    while ((n = read(fds[0], out->err + len, sizeof out->err - 1 - len)) > 0) {
        len += n;
    }
    out->err[len] = '\0';
    close(fds[0]);
    cr_assert_eq(waitpid(pid, &wstatus, 0), pid);
    cr_assert(WIFEXITED(wstatus), "the child did not exit normally");
    out->status = WEXITSTATUS(wstatus);
}

/* Checks a child's outcome: it came back if 'msg' is NULL, else it exited with 'status' and
 * wrote "PROGRAM: MSG" and the hint to --help. */
static void expect_outcome(const struct outcome *out, const char *what, const char *program,
                           int status, const char *msg)
{
    char want[512];

    if (!msg) {
        cr_expect_eq(out->status, RETURNED, "%s: exited %d: %s", what, out->status, out->err);
        cr_expect_str_empty(out->err, "%s", what);
        return;
    }
    snprintf(want, sizeof want, "%s: %s\nTry '%s --help' for more information.\n", program,
             msg, program);
    cr_expect_eq(out->status, status, "%s: exited %d", what, out->status);
    cr_expect_str_eq(out->err, want, "%s", what);
}

static void call_usage_error(const void *arg)
{
    cli_usage_error("bad %s", (const char *) arg);
}

Test(cli, usage_error_names_the_program_and_exits_with_its_status)
{
    struct outcome out;

    run_child(call_usage_error, "thing", &out);
    expect_outcome(&out, "before cli_set_program()", "vswitch", 2, "bad thing");

    cli_set_program("vsctl", 1);
    run_child(call_usage_error, "command", &out);
    expect_outcome(&out, "vsctl", "vsctl", 1, "bad command");
}

struct arg_case {
    const char *flag, *s;
    unsigned long min, max;
    const char *err;                /* NULL: accepted. */
};

static const struct arg_case arg_cases[] = {
    { "--vni", "7", 1, 16777215, NULL },
    { "--vni", "0", 1, 16777215, "invalid --vni '0': expected a number from 1 to 16777215" },
    { "--vni", "", 1, 16777215, "invalid --vni '': expected a number from 1 to 16777215" },
    { "--flow-ttl", "-1", 1, 86400,
      "invalid --flow-ttl '-1': expected a number from 1 to 86400" },
};

static void call_ulong_arg(const void *arg)
{
    const struct arg_case *c = arg;

    cli_ulong_arg(c->flag, c->s, c->min, c->max);
}

Test(cli, ulong_arg)
{
    cli_set_program("vswitchd", 2);
    for (size_t i = 0; i < sizeof arg_cases / sizeof *arg_cases; i++) {
        const struct arg_case *c = &arg_cases[i];
        struct outcome out;

        run_child(call_ulong_arg, c, &out);
        expect_outcome(&out, c->s, "vswitchd", 2, c->err);
    }
    cr_expect_eq(cli_ulong_arg("--vni", "16777215", 1, 16777215), 16777215);
}

static void call_log_level_arg(const void *arg)
{
    cli_log_level_arg(arg);
}

Test(cli, log_level_arg)
{
    static const char *const good[] = { "error", "warn", "info", "debug" };
    struct outcome out;

    cli_set_program("vswitch-proxy", 2);
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        run_child(call_log_level_arg, good[i], &out);
        expect_outcome(&out, good[i], "vswitch-proxy", 2, NULL);
    }
    run_child(call_log_level_arg, "loud", &out);
    expect_outcome(&out, "loud", "vswitch-proxy", 2,
                   "invalid --log-level 'loud': expected error, warn, info or debug");
}

/* ---- getopt_long()'s complaints ---------------------------------------------------------- */

enum { OPT_CTL = 256, OPT_CTL_GROUP, OPT_JSON };

static const struct option long_options[] = {
    { "ctl", required_argument, NULL, OPT_CTL },
    { "ctl-group", required_argument, NULL, OPT_CTL_GROUP },
    { "json", no_argument, NULL, OPT_JSON },
    CLI_OPTIONS_END,
};

struct option_case {
    const char *description;
    const char *argv[6];            /* After the program name; NULL-terminated. */
    const char *err;                /* The usage error; NULL: none. */
};

static const struct option_case option_cases[] = {
    { "all good", { "--ctl", "/x", "--json", "-V" }, NULL },
    { "operands are left to the caller", { "--json", "show", "x" }, NULL },
    { "an unknown long option", { "--bogus" }, "unknown option '--bogus'" },
    { "an unknown long option with a value", { "--bogus=1" }, "unknown option '--bogus=1'" },
    { "an ambiguous abbreviation", { "--json", "--ct", "x" }, "unknown option '--ct'" },
    { "an unknown short option", { "-x" }, "unknown option '-x'" },
    { "an unknown letter first in a cluster", { "-xV" }, "unknown option '-x'" },
    { "an unknown letter after a long option", { "--json", "-xV" }, "unknown option '-x'" },
    { "an unknown letter after a long option's value", { "--ctl=/x", "-xV" },
      "unknown option '-x'" },
    { "an unknown letter after a valid one", { "-Vx" }, NULL },   /* -V is seen first. */
    { "a value for an option that takes none", { "--json=1" },
      "unknown option '--json=1'" },
    { "a value for --help", { "--help=1" }, "unknown option '--help=1'" },
    { "an abbreviation with a value", { "--vers=2" }, "unknown option '--vers=2'" },
    { "a missing argument", { "--json", "--ctl" }, "option '--ctl' needs an argument" },
};

/* Parses like the programs do; the first bad option exits. */
static void call_getopt(const void *arg)
{
    const struct option_case *oc = arg;
    char *argv[8] = { "prog" };
    int argc = 1, c;

    for (const char *const *a = oc->argv; *a; a++) {
        argv[argc++] = (char *) *a;
    }
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":hV", long_options, NULL)) != -1) {
        if (c == 'V') {
            return;
        }
        if (c != OPT_CTL && c != OPT_CTL_GROUP && c != OPT_JSON && c != 'h') {
            cli_bad_option(c, argv, long_options);
        }
    }
}

Test(cli, bad_option)
{
    cli_set_program("prog", 2);
    for (size_t i = 0; i < sizeof option_cases / sizeof *option_cases; i++) {
        const struct option_case *c = &option_cases[i];
        struct outcome out;

        run_child(call_getopt, c, &out);
        expect_outcome(&out, c->description, "prog", 2, c->err);
    }
}

static void call_no_operands(const void *arg)
{
    char *argv[] = { "prog", "--json", (char *) arg, NULL };
    int argc = arg ? 3 : 2;

    optind = 0;
    opterr = 0;
    while (getopt_long(argc, argv, ":hV", long_options, NULL) != -1) {
        continue;
    }
    cli_no_operands(argc, argv);
}

Test(cli, no_operands)
{
    struct outcome out;

    cli_set_program("prog", 2);
    run_child(call_no_operands, NULL, &out);
    expect_outcome(&out, "no operand", "prog", 2, NULL);
    run_child(call_no_operands, "extra", &out);
    expect_outcome(&out, "an operand", "prog", 2, "unexpected argument 'extra'");
}

/* ---- cli_getopt(): what every program does alike ----------------------------------------- */

static const struct option getopt_options[] = {
    { "ctl", required_argument, NULL, OPT_CTL },
    { "json", no_argument, NULL, OPT_JSON },
    CLI_OPTIONS_END,
};

struct getopt_case {
    const char *description;
    const char *argv[4];            /* After the program name; NULL-terminated. */
    int status;                     /* RETURNED: the program's options came back. */
    const char *out;                /* What it printed (stdout and stderr). */
};

static const struct getopt_case getopt_cases[] = {
    { "the program's own options", { "--json", "--ctl", "/x" }, RETURNED, "[json][ctl=/x]\n" },
    { "--help", { "--json", "--help" }, 0, "[json]usage: prog [--ctl PATH] [--json]\n" },
    { "-h", { "-h", "--bogus" }, 0, "usage: prog [--ctl PATH] [--json]\n" },
    { "--version", { "--version" }, 0, "prog (vswitch) 1.2\n" },
    { "-V after an option", { "--ctl=/y", "-V" }, 0, "[ctl=/y]prog (vswitch) 1.2\n" },
    { "an unknown option", { "--bogus" }, 2,
      "prog: unknown option '--bogus'\nTry 'prog --help' for more information.\n" },
    { "a missing argument", { "--ctl" }, 2,
      "prog: option '--ctl' needs an argument\nTry 'prog --help' for more information.\n" },
};

/* Parses as the programs do, printing each option of its own, and what cli_getopt() prints
 * on stdout, on stderr. */
static void call_cli_getopt(const void *arg)
{
    const struct getopt_case *gc = arg;
    char *argv[6] = { "prog" };
    int argc = 1, c;

    for (const char *const *a = gc->argv; *a; a++) {
        argv[argc++] = (char *) *a;
    }
    dup2(STDERR_FILENO, STDOUT_FILENO);
    setvbuf(stdout, NULL, _IONBF, 0);
    optind = 0;
    while ((c = cli_getopt(argc, argv, getopt_options, "usage: prog [--ctl PATH] [--json]\n",
                           "prog (vswitch) 1.2")) != -1) {
        if (c == OPT_JSON) {
            fprintf(stderr, "[json]");
        } else {
            cr_assert_eq(c, OPT_CTL);
            fprintf(stderr, "[ctl=%s]", optarg);
        }
    }
    fprintf(stderr, "\n");
}

Test(cli, getopt_help_version_and_complaints)
{
    cli_set_program("prog", 2);
    for (size_t i = 0; i < sizeof getopt_cases / sizeof *getopt_cases; i++) {
        const struct getopt_case *c = &getopt_cases[i];
        struct outcome out;

        run_child(call_cli_getopt, c, &out);
        cr_expect_eq(out.status, c->status, "%s: exited %d", c->description, out.status);
        cr_expect_str_eq(out.err, c->out, "%s", c->description);
    }
}
