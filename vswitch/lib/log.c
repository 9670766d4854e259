/* Logging; see log.h. */
#include "lib/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static enum log_level current_level = LOG_LVL_INFO;
static const char *program = "vswitch";
static const char *const level_names[] = { "error", "warn", "info", "debug" };

void log_set_level(enum log_level level)
{
    current_level = level;
}

int log_level_from_name(const char *name, enum log_level *level)
{
    for (size_t i = 0; i < sizeof level_names / sizeof *level_names; i++) {
        if (!strcmp(name, level_names[i])) {
            *level = i;
            return 0;
        }
    }
    return -EINVAL;
}

void log_set_program(const char *name)
{
    program = name;
}

void log_msg(enum log_level level, const char *module, const char *fmt, ...)
{
    char buf[1024];
    struct timespec ts;
    struct tm tm;
    va_list args;
    int n;

    if (level > current_level) {
        return;
    }
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    n = snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s[%s] %s: ",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                 tm.tm_sec, ts.tv_nsec / 1000000, program, module, level_names[level]);
    va_start(args, fmt);
    n += vsnprintf(buf + n, sizeof buf - n, fmt, args);
    va_end(args);
    if (n > (int) sizeof buf - 2) {
        n = sizeof buf - 2;
    }
    buf[n++] = '\n';
    if (write(STDERR_FILENO, buf, n) < 0) {
        /* Nowhere left to report it. */
    }
}
