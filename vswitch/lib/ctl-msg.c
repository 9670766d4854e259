/* Control-message framing and the stream decoder; see ctl-msg.h. */
#include "lib/ctl-msg.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/types.h"
#include "lib/util.h"

static void *ctl_alloc(void *data, size_t size)
{
    return xmalloc(size);
}

static void ctl_free(void *data, void *p)
{
    free(p);
}

ProtobufCAllocator ctl_msg_allocator = { .alloc = ctl_alloc, .free = ctl_free };

uint32_t ctl_msg_hdr_len(const uint8_t hdr[CTL_MSG_HDR_LEN])
{
    return (uint32_t) hdr[0] << 24 | (uint32_t) hdr[1] << 16 | (uint32_t) hdr[2] << 8 | hdr[3];
}

int ctl_msg_frame(const ProtobufCMessage *msg, size_t max_body, uint8_t **frame, size_t *len)
{
    size_t body = protobuf_c_message_get_packed_size(msg);
    uint8_t *buf;

    if (body > max_body || body > UINT32_MAX) {
        return -EMSGSIZE;
    }
    buf = xmalloc(CTL_MSG_HDR_LEN + body);
    buf[0] = body >> 24;
    buf[1] = body >> 16;
    buf[2] = body >> 8;
    buf[3] = body;
    protobuf_c_message_pack(msg, buf + CTL_MSG_HDR_LEN);
    *frame = buf;
    *len = CTL_MSG_HDR_LEN + body;
    return 0;
}

int ctl_msg_unpack_request(const uint8_t *body, size_t len, Vswitch__Request **req)
{
    *req = vswitch__request__unpack(&ctl_msg_allocator, len, body);
    return *req ? 0 : -EBADMSG;
}

int ctl_msg_unpack_response(const uint8_t *body, size_t len, Vswitch__Response **resp)
{
    *resp = vswitch__response__unpack(&ctl_msg_allocator, len, body);
    return *resp ? 0 : -EBADMSG;
}

void ctl_msg_request_free(Vswitch__Request *req)
{
    if (req) {
        vswitch__request__free_unpacked(req, &ctl_msg_allocator);
    }
}

void ctl_msg_response_free(Vswitch__Response *resp)
{
    if (resp) {
        vswitch__response__free_unpacked(resp, &ctl_msg_allocator);
    }
}

Vswitch__Response *ctl_msg_response_new(void)
{
    Vswitch__Response *resp = xmalloc(sizeof *resp);

    vswitch__response__init(resp);
    return resp;
}

Vswitch__Response *ctl_msg_response_error(int error, const char *fmt, ...)
{
    Vswitch__Response *resp = ctl_msg_response_new();
    va_list args;

    va_start(args, fmt);
    if (vasprintf(&resp->error, fmt, args) < 0) {
        abort();
    }
    va_end(args);
    resp->status = error < 0 ? -error : error;
    return resp;
}

char *ctl_msg_strdup(const char *s)
{
    return *s ? xstrdup(s) : (char *) protobuf_c_empty_string;
}

void ctl_msg_decoder_init(struct ctl_msg_decoder *dec, size_t max_body)
{
    memset(dec, 0, sizeof *dec);
    dec->max_body = max_body;
}

void ctl_msg_decoder_destroy(struct ctl_msg_decoder *dec)
{
    if (dec) {
        free(dec->buf);
        dec->buf = NULL;
        dec->start = dec->end = dec->cap = 0;
    }
}

int ctl_msg_decoder_feed(struct ctl_msg_decoder *dec, const void *data, size_t n)
{
    if (dec->error || !n) {
        return dec->error;
    }
    if (dec->cap - dec->end < n) {
        /* Reclaim the consumed front before growing: the buffer then holds at most one
         * partial frame plus what one feed brings. */
        size_t used = dec->end - dec->start;

        if (dec->start) {
            memmove(dec->buf, dec->buf + dec->start, used);
            dec->start = 0;
            dec->end = used;
        }
        if (dec->cap - dec->end < n) {
            size_t cap = MAX(dec->cap * 2, 4096);

            while (cap < used + n) {
                cap *= 2;
            }
            dec->buf = xrealloc(dec->buf, cap);
            dec->cap = cap;
        }
    }
    memcpy(dec->buf + dec->end, data, n);
    dec->end += n;
    return 0;
}

int ctl_msg_decoder_next(struct ctl_msg_decoder *dec, const uint8_t **body, size_t *len)
{
    size_t avail = dec->end - dec->start;
    uint32_t body_len;

    if (dec->error) {
        return dec->error;
    }
    if (avail < CTL_MSG_HDR_LEN) {
        return 0;
    }
    body_len = ctl_msg_hdr_len(dec->buf + dec->start);
    if (body_len > dec->max_body) {
        dec->error = -EMSGSIZE;
        dec->start = dec->end = 0;
        return dec->error;
    }
    if (avail - CTL_MSG_HDR_LEN < body_len) {
        return 0;
    }
    *body = dec->buf + dec->start + CTL_MSG_HDR_LEN;
    *len = body_len;
    dec->start += CTL_MSG_HDR_LEN + body_len;
    if (dec->start == dec->end) {
        dec->start = dec->end = 0;
    }
    return 1;
}

size_t ctl_msg_decoder_pending(const struct ctl_msg_decoder *dec)
{
    return dec->end - dec->start;
}
