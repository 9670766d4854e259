/* Command-line plumbing shared by vswitchd, vsctl and vswitch-proxy: usage errors, numeric
 * and log-level arguments and getopt_long()'s complaints, worded alike in every binary
 * ("PROGRAM: MESSAGE", then "Try 'PROGRAM --help' for more information.").
 *
 * The programs differ in the exit status of a usage error: the daemons exit 2 (as GNU tools
 * do), vsctl 1 (as ovs-vsctl does: scripts test for non-zero, and a refused command exits 1
 * too).  cli_set_program() sets it with the name.
 *
 * For main()'s thread, before any other thread starts: the settings are plain globals. */
#ifndef VSWITCH_LIB_CLI_H
#define VSWITCH_LIB_CLI_H 1

struct option;

/* Names the program in usage errors and sets their exit status.  Until it is called: "vswitch"
 * and 2. */
void cli_set_program(const char *name, int usage_status);

/* Prints "NAME: " and the message, then the hint to --help, on stderr; exits with the usage
 * status. */
void cli_usage_error(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

/* Parses 's' as a decimal in [min, max] into '*value'.  The whole string must be the number;
 * a sign of '-' is refused (strtoul() would wrap it).  Returns 0, -EINVAL for no number, or
 * -ERANGE for one outside the range; '*value' is untouched on error. */
int cli_parse_ulong(const char *s, unsigned long min, unsigned long max, unsigned long *value);

/* cli_parse_ulong() for the argument 's' of option 'flag' ("--vni"), exiting with "invalid
 * FLAG 'S': expected a number from MIN to MAX" when it is refused.  For an option whose
 * message says more than the range, call cli_parse_ulong() and cli_usage_error(). */
unsigned long cli_ulong_arg(const char *flag, const char *s, unsigned long min,
                            unsigned long max);

/* --log-level: sets the level of lib/log or exits with a usage error naming the levels. */
void cli_log_level_arg(const char *s);

/* The help text of --log-level (cli_log_level_arg()), -h and -V, last in a daemon's OPTIONS. */
#define CLI_USAGE_COMMON_OPTIONS                                                               \
    "    --log-level LEVEL\n"                                                                  \
    "        error, warn, info (default) or debug.\n"                                          \
    "    -h, --help\n"                                                                         \
    "        Print this help and exit.\n"                                                      \
    "    -V, --version\n"                                                                      \
    "        Print the version and exit.\n"

/* The end of every program's getopt_long() table (include <getopt.h>): --help, --version and
 * the terminator. */
#define CLI_OPTIONS_END                                                                        \
    { "help", no_argument, NULL, 'h' },                                                        \
    { "version", no_argument, NULL, 'V' },                                                     \
    { NULL, 0, NULL, 0 }

/* getopt_long() over 'longopts' (ending with CLI_OPTIONS_END) with what every program does
 * alike: -h/--help prints 'usage' on stdout and exits 0, -V/--version prints the line
 * 'version' and exits 0, and an unknown option or one missing its argument is a usage error
 * (cli_bad_option()).  Returns the next of the program's own options, or -1 after the last;
 * optarg and optind are getopt_long()'s. */
int cli_getopt(int argc, char *argv[], const struct option *longopts, const char *usage,
               const char *version);

/* The usage error for getopt_long()'s return 'c' when it is not an option of ours: ':' for
 * an option missing its argument, anything else ('?') for an unknown option or a value given
 * to an option of 'longopts' that takes none.  Expects opterr = 0 and an optstring that
 * starts with ':'. */
void cli_bad_option(int c, char *argv[], const struct option *longopts)
    __attribute__((noreturn));

/* After getopt_long(), for a program that takes no operands: exits with a usage error naming
 * the first one if there is any. */
void cli_no_operands(int argc, char *argv[]);

#endif
