/* Control-message framing (lib/ctl-msg.h): frames survive any split of the byte stream,
 * oversized and truncated frames are caught before anything is allocated for them, and
 * malformed protobuf bodies are rejected as errors rather than misread. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/ctl-msg.h"
#include "lib/util.h"

/* A frame built by hand: header then body. */
static size_t make_frame(uint8_t *buf, const void *body, uint32_t len)
{
    buf[0] = len >> 24;
    buf[1] = len >> 16;
    buf[2] = len >> 8;
    buf[3] = len;
    memcpy(buf + 4, body, len);
    return 4 + len;
}

/* Three requests of different kinds, framed back to back into '*stream'. */
static size_t make_stream(uint8_t **stream, size_t *ends)
{
    Vswitch__Request reqs[3] = { VSWITCH__REQUEST__INIT, VSWITCH__REQUEST__INIT,
                                 VSWITCH__REQUEST__INIT };
    Vswitch__Show show = VSWITCH__SHOW__INIT;
    Vswitch__AddPort add = VSWITCH__ADD_PORT__INIT;
    Vswitch__DelPort del = VSWITCH__DEL_PORT__INIT;
    size_t total = 0;

    add.name = "h-pod1";
    add.ip = "10.244.1.2";
    add.mac = "0a:58:0a:f4:01:02";
    add.type = "veth";
    add.pod_namespace = "default";
    add.pod_name = "web-7d4b9c-x2x9z";
    del.name = "h-pod2";
    reqs[0].command_case = VSWITCH__REQUEST__COMMAND_SHOW;
    reqs[0].show = &show;
    reqs[1].command_case = VSWITCH__REQUEST__COMMAND_ADD_PORT;
    reqs[1].add_port = &add;
    reqs[2].command_case = VSWITCH__REQUEST__COMMAND_DEL_PORT;
    reqs[2].del_port = &del;

    *stream = NULL;
    for (int i = 0; i < 3; i++) {
        uint8_t *frame;
        size_t len;

        cr_assert_eq(ctl_msg_frame(&reqs[i].base, CTL_MSG_MAX_REQUEST, &frame, &len), 0);
        *stream = xrealloc(*stream, total + len);
        memcpy(*stream + total, frame, len);
        total += len;
        ends[i] = total;
        free(frame);
    }
    return total;
}

/* Checks that the frames taken from 'dec' so far are the stream's, in order. */
static void drain(struct ctl_msg_decoder *dec, const uint8_t *stream, const size_t *ends,
                  int *n_seen)
{
    const uint8_t *body;
    size_t len;
    int r;

    while ((r = ctl_msg_decoder_next(dec, &body, &len)) == 1) {
        size_t start = *n_seen ? ends[*n_seen - 1] : 0;

        cr_assert_lt(*n_seen, 3, "more frames than were sent");
        cr_assert_eq(len + CTL_MSG_HDR_LEN, ends[*n_seen] - start);
        cr_assert_arr_eq(body, stream + start + CTL_MSG_HDR_LEN, len);
        (*n_seen)++;
    }
    cr_assert_eq(r, 0);
}

Test(ctl_msg, round_trip)
{
    size_t ends[3], len;
    uint8_t *stream;
    struct ctl_msg_decoder dec;
    const uint8_t *body;
    Vswitch__Request *req;

    len = make_stream(&stream, ends);
    ctl_msg_decoder_init(&dec, CTL_MSG_MAX_REQUEST);
    cr_assert_eq(ctl_msg_decoder_feed(&dec, stream, len), 0);

    cr_assert_eq(ctl_msg_decoder_next(&dec, &body, &len), 1);
    cr_assert_eq(ctl_msg_unpack_request(body, len, &req), 0);
    cr_assert_eq(req->command_case, VSWITCH__REQUEST__COMMAND_SHOW);
    ctl_msg_request_free(req);

    cr_assert_eq(ctl_msg_decoder_next(&dec, &body, &len), 1);
    cr_assert_eq(ctl_msg_unpack_request(body, len, &req), 0);
    cr_assert_eq(req->command_case, VSWITCH__REQUEST__COMMAND_ADD_PORT);
    cr_assert_str_eq(req->add_port->name, "h-pod1");
    cr_assert_str_eq(req->add_port->ip, "10.244.1.2");
    cr_assert_str_eq(req->add_port->mac, "0a:58:0a:f4:01:02");
    cr_assert_str_eq(req->add_port->pod_name, "web-7d4b9c-x2x9z");
    cr_assert_str_eq(req->add_port->container_id, "");
    ctl_msg_request_free(req);

    cr_assert_eq(ctl_msg_decoder_next(&dec, &body, &len), 1);
    cr_assert_eq(ctl_msg_unpack_request(body, len, &req), 0);
    cr_assert_eq(req->command_case, VSWITCH__REQUEST__COMMAND_DEL_PORT);
    cr_assert_str_eq(req->del_port->name, "h-pod2");
    ctl_msg_request_free(req);

    cr_assert_eq(ctl_msg_decoder_next(&dec, &body, &len), 0);
    cr_assert_eq(ctl_msg_decoder_pending(&dec), 0);
    ctl_msg_decoder_destroy(&dec);
    free(stream);
}

Test(ctl_msg, split_at_every_byte_boundary)
{
    size_t ends[3], len;
    uint8_t *stream;

    len = make_stream(&stream, ends);
    for (size_t split = 0; split <= len; split++) {
        struct ctl_msg_decoder dec;
        int seen = 0;

        ctl_msg_decoder_init(&dec, CTL_MSG_MAX_REQUEST);
        cr_assert_eq(ctl_msg_decoder_feed(&dec, stream, split), 0);
        drain(&dec, stream, ends, &seen);
        cr_assert_eq(ctl_msg_decoder_feed(&dec, stream + split, len - split), 0);
        drain(&dec, stream, ends, &seen);
        cr_assert_eq(seen, 3, "split at %zu: %d frames", split, seen);
        cr_assert_eq(ctl_msg_decoder_pending(&dec), 0);
        ctl_msg_decoder_destroy(&dec);
    }
    free(stream);
}

Test(ctl_msg, one_byte_at_a_time)
{
    struct ctl_msg_decoder dec;
    size_t ends[3], len;
    uint8_t *stream;
    int seen = 0;

    len = make_stream(&stream, ends);
    ctl_msg_decoder_init(&dec, CTL_MSG_MAX_REQUEST);
    for (size_t i = 0; i < len; i++) {
        cr_assert_eq(ctl_msg_decoder_feed(&dec, stream + i, 1), 0);
        drain(&dec, stream, ends, &seen);
    }
    cr_assert_eq(seen, 3);
    ctl_msg_decoder_destroy(&dec);
    free(stream);
}

struct length_case {
    const char *desc;
    uint32_t announced;     /* Body length in the header. */
    size_t sent;            /* Body bytes actually fed. */
    int expect;             /* ctl_msg_decoder_next() result. */
};

Test(ctl_msg, announced_lengths)
{
    static const struct length_case cases[] = {
        { "empty body is a frame", 0, 0, 1 },
        { "body at the limit, complete", 64, 64, 1 },
        { "body at the limit, one byte short", 64, 63, 0 },
        { "one byte over the limit", 65, 0, -EMSGSIZE },
        { "over the limit, body sent too", 65, 65, -EMSGSIZE },
        { "2 GiB announced", 0x80000000u, 0, -EMSGSIZE },
        { "4 GiB - 1 announced", 0xffffffffu, 0, -EMSGSIZE },
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct length_case *c = &cases[i];
        struct ctl_msg_decoder dec;
        uint8_t buf[4 + 128] = { 0 };
        const uint8_t *body;
        size_t len;

        ctl_msg_decoder_init(&dec, 64);
        buf[0] = c->announced >> 24;
        buf[1] = c->announced >> 16;
        buf[2] = c->announced >> 8;
        buf[3] = c->announced;
        cr_assert_eq(ctl_msg_decoder_feed(&dec, buf, 4 + c->sent), 0, "%s", c->desc);
        cr_assert_eq(ctl_msg_decoder_next(&dec, &body, &len), c->expect, "%s", c->desc);
        if (c->expect == 1) {
            cr_assert_eq(len, c->announced, "%s", c->desc);
        }
        if (c->expect < 0) {
            /* Sticky: the stream cannot be resynchronised after a bad header. */
            cr_assert_eq(ctl_msg_decoder_feed(&dec, buf, 4), c->expect, "%s", c->desc);
            cr_assert_eq(ctl_msg_decoder_next(&dec, &body, &len), c->expect, "%s", c->desc);
        }
        ctl_msg_decoder_destroy(&dec);
    }
}

Test(ctl_msg, truncated_input)
{
    static const uint8_t show[] = { 0x82, 0x01, 0x00 };
    uint8_t frame[16];
    size_t len = make_frame(frame, show, sizeof show);

    for (size_t cut = 1; cut < len; cut++) {
        struct ctl_msg_decoder dec;
        const uint8_t *body;
        size_t body_len;

        ctl_msg_decoder_init(&dec, CTL_MSG_MAX_REQUEST);
        ctl_msg_decoder_feed(&dec, frame, cut);
        cr_assert_eq(ctl_msg_decoder_next(&dec, &body, &body_len), 0, "cut at %zu", cut);
        cr_assert_eq(ctl_msg_decoder_pending(&dec), cut, "cut at %zu", cut);
        ctl_msg_decoder_destroy(&dec);
    }
}

Test(ctl_msg, frame_refuses_oversized_message)
{
    Vswitch__Request req = VSWITCH__REQUEST__INIT;
    Vswitch__DelPort del = VSWITCH__DEL_PORT__INIT;
    uint8_t *frame = NULL;
    size_t len;

    del.name = "a-long-enough-name";
    req.command_case = VSWITCH__REQUEST__COMMAND_DEL_PORT;
    req.del_port = &del;
    cr_assert_eq(ctl_msg_frame(&req.base, 8, &frame, &len), -EMSGSIZE);
    cr_assert_null(frame);
    cr_assert_eq(ctl_msg_frame(&req.base, 64, &frame, &len), 0);
    cr_assert_eq(ctl_msg_hdr_len(frame), len - CTL_MSG_HDR_LEN);
    free(frame);
}

struct body_case {
    const char *desc;
    const char *bytes;
    size_t len;
    int expect;                         /* ctl_msg_unpack_request() result. */
    Vswitch__Request__CommandCase command;  /* When it unpacks. */
};

#define BODY(DESC, BYTES, EXPECT, CMD) { DESC, BYTES, sizeof BYTES - 1, EXPECT, CMD }

Test(ctl_msg, malformed_bodies)
{
    static const struct body_case cases[] = {
        BODY("truncated varint tag", "\xff", -EBADMSG, 0),
        BODY("varint longer than 10 bytes",
             "\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", -EBADMSG, 0),
        BODY("field number zero", "\x00\x00", -EBADMSG, 0),
        BODY("wire type 7", "\x87\x01\x00", -EBADMSG, 0),
        BODY("length past the end", "\x82\x01\x05" "ab", -EBADMSG, 0),
        BODY("huge length", "\x8a\x01\xff\xff\xff\xff\x0f", -EBADMSG, 0),
        BODY("known field, varint wire type", "\x80\x01\x01", -EBADMSG, 0),
        BODY("garbage inside add_port", "\x8a\x01\x02\xff\xff", -EBADMSG, 0),
        BODY("add_port.name length past its message", "\x8a\x01\x03\x0a\x09" "a", -EBADMSG, 0),
        BODY("unterminated group", "\x83\x01", -EBADMSG, 0),
        BODY("ASCII text", "GET / HTTP/1.1\r\n", -EBADMSG, 0),
        /* Well-formed, so they unpack: the daemon answers these by the command case. */
        BODY("empty message", "", 0, VSWITCH__REQUEST__COMMAND__NOT_SET),
        BODY("unknown field (a newer client's command)", "\xfa\x01\x00", 0,
             VSWITCH__REQUEST__COMMAND__NOT_SET),
        BODY("show", "\x82\x01\x00", 0, VSWITCH__REQUEST__COMMAND_SHOW),
        BODY("del_port with a name", "\x92\x01\x03\x0a\x01" "x", 0,
             VSWITCH__REQUEST__COMMAND_DEL_PORT),
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct body_case *c = &cases[i];
        Vswitch__Request *req = NULL;
        int r = ctl_msg_unpack_request((const uint8_t *) c->bytes, c->len, &req);

        cr_assert_eq(r, c->expect, "%s: got %d", c->desc, r);
        if (!r) {
            cr_assert_eq(req->command_case, c->command, "%s", c->desc);
            ctl_msg_request_free(req);
        } else {
            cr_assert_null(req, "%s", c->desc);
        }
    }
}

Test(ctl_msg, malformed_response_rejected)
{
    Vswitch__Response *resp = NULL;

    cr_assert_eq(ctl_msg_unpack_response((const uint8_t *) "\x08", 1, &resp), -EBADMSG);
    cr_assert_null(resp);
}

Test(ctl_msg, error_response_round_trip)
{
    Vswitch__Response *resp = ctl_msg_response_error(-ENOENT, "no port named %s", "h-x");
    Vswitch__Response *back;
    uint8_t *frame;
    size_t len;

    cr_assert_eq(resp->status, ENOENT);
    cr_assert_eq(ctl_msg_frame(&resp->base, CTL_MSG_MAX_REPLY, &frame, &len), 0);
    ctl_msg_response_free(resp);
    cr_assert_eq(ctl_msg_unpack_response(frame + CTL_MSG_HDR_LEN, len - CTL_MSG_HDR_LEN,
                                         &back), 0);
    cr_assert_eq(back->status, ENOENT);
    cr_assert_str_eq(back->error, "no port named h-x");
    cr_assert_eq(back->reply_case, VSWITCH__RESPONSE__REPLY__NOT_SET);
    ctl_msg_response_free(back);
    free(frame);
}

/* A reply built the way the daemon builds them is freed whole (ASan checks for leaks and bad
 * frees), including empty strings and an empty repeated field. */
Test(ctl_msg, built_response_frees_cleanly)
{
    Vswitch__Response *resp = ctl_msg_response_new();
    Vswitch__DumpFlowsReply *reply = xmalloc(sizeof *reply);
    Vswitch__Flow *flow = xmalloc(sizeof *flow);

    vswitch__dump_flows_reply__init(reply);
    vswitch__flow__init(flow);
    flow->match = ctl_msg_strdup("in_port=h-pod1,ip");
    flow->actions = ctl_msg_strdup("");
    reply->n_flows = 1;
    reply->flows = xmalloc(sizeof *reply->flows);
    reply->flows[0] = flow;
    resp->reply_case = VSWITCH__RESPONSE__REPLY_DUMP_FLOWS;
    resp->dump_flows = reply;
    ctl_msg_response_free(resp);
    ctl_msg_response_free(NULL);
    ctl_msg_request_free(NULL);
}
