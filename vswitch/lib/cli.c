/* Command-line plumbing; see cli.h. */
#include "lib/cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"

static const char *program = "vswitch";
static int usage_status = 2;

void cli_set_program(const char *name, int status)
{
    program = name;
    usage_status = status;
}

void cli_usage_error(const char *fmt, ...)
{
    va_list args;

    fprintf(stderr, "%s: ", program);
    va_start(args, fmt);
    vfprintf(stderr, fmt, args);
    va_end(args);
    fprintf(stderr, "\nTry '%s --help' for more information.\n", program);
    exit(usage_status);
}

int cli_parse_ulong(const char *s, unsigned long min, unsigned long max, unsigned long *value)
{
    unsigned long v;
    char *end;

    errno = 0;
    v = strtoul(s, &end, 10);
    if (!*s || *end || *s == '-') {
        return -EINVAL;
    }
    if (errno || v < min || v > max) {
        return -ERANGE;
    }
    *value = v;
    return 0;
}

unsigned long cli_ulong_arg(const char *flag, const char *s, unsigned long min,
                            unsigned long max)
{
    unsigned long value;

    if (cli_parse_ulong(s, min, max, &value)) {
        cli_usage_error("invalid %s '%s': expected a number from %lu to %lu", flag, s, min,
                        max);
    }
    return value;
}

void cli_log_level_arg(const char *s)
{
    enum log_level level;

    if (log_level_from_name(s, &level)) {
        cli_usage_error("invalid --log-level '%s': expected error, warn, info or debug", s);
    }
    log_set_level(level);
}

/* True if 'arg' is "--NAME=VALUE" for an option of 'longopts' that takes no argument and
 * whose 'val' is 'opt'.  getopt_long() refuses such a value with optopt set to the option's
 * 'val', just as it reports an unknown short option, so optopt alone would name "--json=1"
 * as "-" followed by whatever character 'val' happens to be. */
static bool is_long_with_value(const char *arg, int opt, const struct option *longopts)
{
    const char *eq = strchr(arg, '=');

    if (strncmp(arg, "--", 2) || !eq) {
        return false;
    }
    for (const struct option *o = longopts; o && o->name; o++) {
        /* getopt_long() accepts any unambiguous abbreviation. */
        if (o->val == opt && o->has_arg == no_argument &&
            !strncmp(o->name, arg + 2, eq - (arg + 2))) {
            return true;
        }
    }
    return false;
}

void cli_bad_option(int c, char *argv[], const struct option *longopts)
{
    const char *arg = argv[optind - 1];

    if (c == ':') {
        cli_usage_error("option '%s' needs an argument", arg);
    }
    /* An unknown letter inside a cluster ("-xv") leaves optind on the cluster, so only
     * optopt names it. */
    if (optopt && !is_long_with_value(arg, optopt, longopts)) {
        cli_usage_error("unknown option '-%c'", optopt);
    }
    cli_usage_error("unknown option '%s'", arg);
}

int cli_getopt(int argc, char *argv[], const struct option *longopts, const char *usage,
               const char *version)
{
    int c;

    opterr = 0;
    c = getopt_long(argc, argv, ":hV", longopts, NULL);
    switch (c) {
    case 'h':
        fputs(usage, stdout);
        exit(0);
    case 'V':
        printf("%s\n", version);
        exit(0);
    case ':':
    case '?':
        cli_bad_option(c, argv, longopts);
    default:
        return c;
    }
}

void cli_no_operands(int argc, char *argv[])
{
    if (optind < argc) {
        cli_usage_error("unexpected argument '%s'", argv[optind]);
    }
}
