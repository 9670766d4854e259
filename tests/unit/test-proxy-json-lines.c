/* The watch-stream framing (proxy/json-lines.h): a stream of watch events, as the API server
 * writes it, fed in every possible split into two pieces and also byte by byte, must give the
 * same events; an oversized line is refused. */
#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <string.h>

#include "proxy/json-lines.h"

static const char stream[] =
    "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"a\",\"resourceVersion\":\"5\"}}}\n"
    "{\"type\":\"BOOKMARK\",\"object\":{\"metadata\":{\"resourceVersion\":\"7\"}}}\r\n"
    "\n"
    "{\"type\":\"DELETED\",\"object\":{\"metadata\":{\"name\":\"b\\u00e9\",\"resourceVersion\":"
    "\"9\"}}}\n";

static const char *const want_types[] = { "ADDED", "BOOKMARK", "DELETED" };

/* Feeds 'pieces' split at the offsets in 'cuts' and checks the events. */
static void check_split(const size_t *cuts, size_t n_cuts)
{
    struct json_lines jl;
    size_t start = 0, got = 0, len = strlen(stream);

    json_lines_init(&jl, 1 << 20);
    for (size_t i = 0; i <= n_cuts; i++) {
        size_t end = i < n_cuts ? cuts[i] : len;
        char *line;
        size_t n;

        json_lines_feed(&jl, stream + start, end - start);
        start = end;
        while (json_lines_next(&jl, &line, &n) > 0) {
            json_t *ev = json_loadb(line, n, 0, NULL);

            cr_assert(ev, "event %zu does not parse after cut at %zu", got,
                      n_cuts ? cuts[0] : 0);
            cr_assert_lt(got, 3);
            cr_expect_str_eq(json_string_value(json_object_get(ev, "type")), want_types[got]);
            json_decref(ev);
            got++;
        }
    }
    cr_expect_eq(got, 3, "%zu events with the cut at %zu", got, n_cuts ? cuts[0] : 0);
    cr_expect_eq(json_lines_pending(&jl), 0);
    json_lines_destroy(&jl);
}

Test(proxy_json_lines, every_split_in_two)
{
    for (size_t cut = 0; cut <= strlen(stream); cut++) {
        check_split(&cut, 1);
    }
}

Test(proxy_json_lines, byte_by_byte)
{
    size_t len = strlen(stream), cuts[sizeof stream];

    for (size_t i = 0; i < len; i++) {
        cuts[i] = i + 1;
    }
    check_split(cuts, len - 1);
}

Test(proxy_json_lines, truncated_event_is_pending)
{
    struct json_lines jl;
    char *line;
    size_t n;

    json_lines_init(&jl, 1024);
    json_lines_feed(&jl, "{\"type\":\"ADDED\"", 15);
    cr_expect_eq(json_lines_next(&jl, &line, &n), 0);
    cr_expect_eq(json_lines_pending(&jl), 15);
    json_lines_reset(&jl);
    cr_expect_eq(json_lines_pending(&jl), 0);
    json_lines_destroy(&jl);
}

Test(proxy_json_lines, oversized_line)
{
    struct json_lines jl;
    char big[200];
    char *line;
    size_t n;

    memset(big, 'x', sizeof big);
    json_lines_init(&jl, 100);
    json_lines_feed(&jl, big, sizeof big);
    cr_expect_eq(json_lines_next(&jl, &line, &n), -EMSGSIZE);
    json_lines_destroy(&jl);
}
