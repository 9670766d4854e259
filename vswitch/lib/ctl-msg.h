/* Control-message framing: how proto/vswitch.proto messages travel over the control socket.
 *
 * A frame is a 4-byte big-endian body length followed by the protobuf body.  Both sides bound
 * the length before allocating anything, so a peer cannot make the other allocate more than a
 * frame's maximum.  The decoder turns an arbitrary split byte stream into whole frames; it is
 * pure C (no libuv) so that the daemon's server, the unit tests and the fuzzer share it. */
#ifndef VSWITCH_LIB_CTL_MSG_H
#define VSWITCH_LIB_CTL_MSG_H 1

#include <stddef.h>
#include <stdint.h>

#include "proto/vswitch.pb-c.h"

/* The release, reported by every binary's --version and in DaemonInfo. */
#define VSWITCH_VERSION "0.1.0"

#define CTL_MSG_HDR_LEN 4
/* Requests are small except a proxy's Batch: 10,000 policies of ten backends take about
 * 3 MB, so 64 MiB leaves room for some 200,000.  The bound stops a confused client from
 * making vswitchd buffer without end; a frame's bytes are buffered only as they arrive. */
#define CTL_MSG_MAX_REQUEST (64u << 20)
/* Replies carry dumps (every cached flow), so they may be much larger. */
#define CTL_MSG_MAX_REPLY (16u << 20)

/* Allocator for unpacking and building messages: aborts on out-of-memory (the control plane's
 * policy), so a failed unpack always means a malformed message. */
extern ProtobufCAllocator ctl_msg_allocator;

/* Packs 'msg' into a newly allocated frame '*frame' of '*len' bytes (header included).
 * Returns 0, or -EMSGSIZE if the body exceeds 'max_body'.  Caller frees '*frame'. */
int ctl_msg_frame(const ProtobufCMessage *msg, size_t max_body, uint8_t **frame, size_t *len);

/* Unpack a frame body.  Return 0 with a message to free with the matching *_free(), or
 * -EBADMSG if 'body' is not a valid encoding. */
int ctl_msg_unpack_request(const uint8_t *body, size_t len, Vswitch__Request **);
int ctl_msg_unpack_response(const uint8_t *body, size_t len, Vswitch__Response **);
/* Accept NULL.  Also free a Response built by hand, provided every string, submessage and
 * repeated array in it came from ctl_msg_allocator (or xmalloc) or is protobuf_c_empty_string. */
void ctl_msg_request_free(Vswitch__Request *);
void ctl_msg_response_free(Vswitch__Response *);

/* Building responses (daemon side).  A new Response is heap-allocated with status 0; fill it
 * with strings from ctl_msg_strdup() and submessages from xmalloc so ctl_msg_response_free()
 * frees it whole. */
Vswitch__Response *ctl_msg_response_new(void);
/* A Response with status -'error' (a negative errno) and the formatted message. */
Vswitch__Response *ctl_msg_response_error(int error, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* A copy of 's' that ctl_msg_response_free() can free; the shared empty string for "". */
char *ctl_msg_strdup(const char *s);

/* Reads the body length from a frame header. */
uint32_t ctl_msg_hdr_len(const uint8_t hdr[CTL_MSG_HDR_LEN]);

/* Incremental decoder of a byte stream into frames.  Owned by one thread. */
struct ctl_msg_decoder {
    size_t max_body;        /* Longest body accepted. */
    uint8_t *buf;           /* Bytes received and not yet consumed: [start, end). */
    size_t start, end, cap;
    int error;              /* Sticky: 0 or -EMSGSIZE once an oversized header was seen. */
};

void ctl_msg_decoder_init(struct ctl_msg_decoder *, size_t max_body);
void ctl_msg_decoder_destroy(struct ctl_msg_decoder *);

/* Appends 'n' bytes of the stream.  Returns 0, or the decoder's sticky error (the bytes are
 * then discarded: after an oversized header the stream cannot be resynchronised). */
int ctl_msg_decoder_feed(struct ctl_msg_decoder *, const void *data, size_t n);

/* Extracts the next whole frame.  Returns 1 with '*body' and '*len' pointing into the
 * decoder's buffer (valid until the next feed or next call), 0 if more bytes are needed, or
 * -EMSGSIZE if the next frame announces a body longer than 'max_body'. */
int ctl_msg_decoder_next(struct ctl_msg_decoder *, const uint8_t **body, size_t *len);

/* Bytes buffered in an incomplete frame; nonzero at end of stream means a truncated frame. */
size_t ctl_msg_decoder_pending(const struct ctl_msg_decoder *);

#endif
