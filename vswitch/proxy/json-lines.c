/* Watch-stream line framing; see json-lines.h. */
#include "proxy/json-lines.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"

void json_lines_init(struct json_lines *jl, size_t max_line)
{
    memset(jl, 0, sizeof *jl);
    jl->max_line = max_line;
}

void json_lines_destroy(struct json_lines *jl)
{
    free(jl->buf);
    jl->buf = NULL;
    jl->cap = 0;
    json_lines_reset(jl);
}

void json_lines_reset(struct json_lines *jl)
{
    jl->start = jl->end = jl->scanned = 0;
}

void json_lines_feed(struct json_lines *jl, const void *data, size_t n)
{
    if (jl->start == jl->end) {
        jl->start = jl->end = 0;
    }
    if (jl->end + n + 1 > jl->cap) {
        /* Move the live bytes to the front before growing. */
        if (jl->start) {
            memmove(jl->buf, jl->buf + jl->start, jl->end - jl->start);
            jl->end -= jl->start;
            jl->start = 0;
        }
        if (jl->end + n + 1 > jl->cap) {
            size_t cap = jl->cap ? jl->cap : 4096;

            while (cap < jl->end + n + 1) {
                cap *= 2;
            }
            jl->buf = xrealloc(jl->buf, cap);
            jl->cap = cap;
        }
    }
    memcpy(jl->buf + jl->end, data, n);
    jl->end += n;
}

int json_lines_next(struct json_lines *jl, char **linep, size_t *lenp)
{
    for (;;) {
        char *line = jl->buf + jl->start;
        size_t avail = jl->end - jl->start;
        char *nl = avail > jl->scanned ? memchr(line + jl->scanned, '\n', avail - jl->scanned)
                                       : NULL;
        size_t len;

        if (!nl) {
            jl->scanned = avail;
            return avail > jl->max_line ? -EMSGSIZE : 0;
        }
        len = nl - line;
        jl->start += len + 1;
        jl->scanned = 0;
        if (len > jl->max_line) {
            return -EMSGSIZE;
        }
        if (len && line[len - 1] == '\r') {
            len--;
        }
        if (!len) {
            continue;
        }
        line[len] = '\0';
        *linep = line;
        *lenp = len;
        return 1;
    }
}

size_t json_lines_pending(const struct json_lines *jl)
{
    return jl->end - jl->start;
}
