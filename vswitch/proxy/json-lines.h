/* Framing of a Kubernetes watch stream: the API server writes one JSON object per watch event,
 * each followed by a newline, into a chunked HTTP response, and the transport may split the
 * bytes anywhere (inside an object, inside a UTF-8 sequence, between the object and its
 * newline).  This decoder buffers the bytes and hands out whole lines.
 *
 * Pure C without I/O, so the unit tests can feed it every split of a stream. */
#ifndef VSWITCH_PROXY_JSON_LINES_H
#define VSWITCH_PROXY_JSON_LINES_H 1

#include <stddef.h>

struct json_lines {
    size_t max_line;        /* Longest line accepted. */
    char *buf;              /* Bytes received and not handed out yet: [start, end). */
    size_t start, end, cap;
    size_t scanned;         /* Bytes from 'start' known to hold no newline. */
};

void json_lines_init(struct json_lines *, size_t max_line);
void json_lines_destroy(struct json_lines *);
/* Forgets everything buffered (a new stream begins). */
void json_lines_reset(struct json_lines *);

/* Appends 'n' bytes of the stream. */
void json_lines_feed(struct json_lines *, const void *data, size_t n);

/* Extracts the next whole line.  Returns 1 with '*line' (NUL-terminated, newline and any
 * trailing '\r' removed; valid until the next feed or next call) and '*len', 0 if more bytes
 * are needed, or -EMSGSIZE if the line being received is longer than 'max_line' (the caller
 * should drop the stream).  Empty lines are skipped. */
int json_lines_next(struct json_lines *, char **line, size_t *len);

/* Bytes of an incomplete line; nonzero at the end of a stream means a truncated event. */
size_t json_lines_pending(const struct json_lines *);

#endif
