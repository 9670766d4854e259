/* Allocation that aborts on out-of-memory (the control plane's policy: a switch that cannot
 * allocate a few bytes of configuration cannot do anything useful) and small helpers. */
#ifndef VSWITCH_LIB_UTIL_H
#define VSWITCH_LIB_UTIL_H 1

#include <stddef.h>
#include <stdint.h>

void *xmalloc(size_t size);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t size);
char *xstrdup(const char *s);

/* Copies at most size-1 bytes and always terminates; returns strlen(src) like strlcpy. */
size_t str_copy(char *dst, const char *src, size_t size);

/* 's' in double quotes for an error message that names what a user typed: at most
 * STR_QUOTE_MAX characters, then "...", with quotes and backslashes escaped and other
 * non-printable bytes as \xNN.  Returns 'buf'. */
#define STR_QUOTE_MAX 64
#define STR_QUOTE_LEN (STR_QUOTE_MAX * 4 + 8)
const char *str_quote(const char *s, char buf[STR_QUOTE_LEN]);

/* Formats the message into 'err' (as snprintf()) and returns 'error': one line for the
 * parsers that say what they refuse, "return str_fail(-EINVAL, err, errlen, ...)". */
int str_fail(int error, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Milliseconds and microseconds of CLOCK_MONOTONIC. */
uint64_t time_msec(void);
uint64_t time_usec(void);

#endif
