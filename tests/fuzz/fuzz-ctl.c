/* libFuzzer target: vswitchd's control path on an arbitrary byte stream, as a client would
 * write it to the control socket: the framing decoder (lib/ctl-msg.h) fed in pieces, each
 * whole frame unpacked as a Request and handled by handlers_handle() against a real daemon
 * state (a datapath with a dummy host port and an overlay on loopback, an SQLite database on
 * tmpfs), and its Response packed as the server would send it.  This reaches every request
 * check (port names and addresses, lib/lb-config, daemon/peer-config, daemon/batch-config) and
 * the database and datapath updates behind them.  Each frame is also unpacked as a Response, as a
 * client (vsctl, the proxy, the CNI plugin) decodes the daemon's answers.
 *
 * The first input byte sets the size of the pieces the stream is fed in (1..256 bytes).
 *
 * Ports: add-port opens real devices (AF_PACKET on an existing interface, or a TAP it
 * creates), so the target moves itself into a network namespace of its own when it can
 * (root); otherwise add-port requests are skipped.  State starts afresh for every input: a
 * new database file and datapath, and every port is deleted at the end (TAPs included). */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/handlers.h"
#include "daemon/db.h"
#include "daemon/vswitchd.h"
#include "dp/dp.h"
#include "lib/addr.h"
#include "lib/ctl-msg.h"
#include "lib/log.h"
#include "lib/util.h"
#include "scene.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool own_netns;
static char db_path[128];
static uint16_t vxlan_port;
static struct scene *scene;         /* The daemon's datapath. */

static void die(const char *what, const char *err)
{
    fprintf(stderr, "fuzz-ctl setup: %s: %s\n", what, err);
    abort();
}

/* lo up, so that 127.0.0.1 exists in the new namespace. */
static void lo_up(void)
{
    struct ifreq ifr = { .ifr_name = "lo" };
    int fd = socket(AF_INET, SOCK_DGRAM, 0);

    if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) {
        die("lo", strerror(errno));
    }
    ifr.ifr_flags |= IFF_UP;
    if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0) {
        die("lo up", strerror(errno));
    }
    close(fd);
}

/* A UDP port free on 127.0.0.1 for the overlay. */
static uint16_t free_udp_port(void)
{
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001) };
    socklen_t len = sizeof sin;
    int fd = socket(AF_INET, SOCK_DGRAM, 0);

    if (fd < 0 || bind(fd, (struct sockaddr *) &sin, sizeof sin) < 0
        || getsockname(fd, (struct sockaddr *) &sin, &len) < 0) {
        die("UDP port", strerror(errno));
    }
    close(fd);
    return ntohs(sin.sin_port);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    log_set_level(LOG_LVL_ERR);
    own_netns = geteuid() == 0 && unshare(CLONE_NEWNET) == 0;
    if (own_netns) {
        lo_up();
    }
    vxlan_port = free_udp_port();
    snprintf(db_path, sizeof db_path, "/dev/shm/vswitch-fuzz-ctl-%d.db", (int) getpid());
    return 0;
}

static void remove_db(void)
{
    static const char *const suffixes[] = { "", "-wal", "-shm", "-journal" };
    char path[160];

    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        snprintf(path, sizeof path, "%s%s", db_path, suffixes[i]);
        unlink(path);
    }
}

static void daemon_open(struct vswitchd *vd)
{
    struct vswitchd_config *cfg = &vd->cfg;
    struct dp_config dp_cfg;
    char err[512];

    memset(vd, 0, sizeof *vd);
    addr_parse_cidr("10.244.1.0/24", &cfg->pod_cidr);
    addr_parse_ip("10.244.1.1", &cfg->gateway);
    cfg->router_mac = addr_mac_from_ip(cfg->gateway);
    addr_parse_ip("127.0.0.1", &cfg->node_ip);
    cfg->vni = 1;
    cfg->vxlan_port = vxlan_port;
    cfg->overlay_mtu = 1450;
    cfg->ctl_path = "/nonexistent/fuzz.sock";
    cfg->db_path = db_path;
    cfg->ctl_gid = (gid_t) -1;
    cfg->flow_cache_size = 64;
    cfg->max_flow_pairs = 64;
    cfg->flow_ttl = 240;

    remove_db();
    if (db_open(db_path, &vd->db, err, sizeof err)) {
        die("db_open", err);
    }
    /* The scene's host port is the daemon's, a dummy one. */
    dp_cfg = (struct dp_config) {
        .pod_cidr = cfg->pod_cidr, .gateway = cfg->gateway, .router_mac = cfg->router_mac,
        .flow_cache_size = cfg->flow_cache_size, .node_ip = cfg->node_ip, .vni = cfg->vni,
        .vxlan_port = cfg->vxlan_port, .overlay_mtu = cfg->overlay_mtu,
        .max_flow_pairs = cfg->max_flow_pairs, .flow_ttl = cfg->flow_ttl,
    };
    scene = scene_new(&dp_cfg);
    if (!scene) {
        die("scene_new", "no datapath");
    }
    log_set_level(LOG_LVL_ERR);
    vd->dp = scene->dp;
}

static void daemon_close(struct vswitchd *vd)
{
    struct dp_port_info *ports;
    size_t n;

    /* dp_destroy() keeps TAPs (they survive restarts): delete the ports to remove them. */
    if (!dp_port_list(vd->dp, &ports, &n)) {
        for (size_t i = 0; i < n; i++) {
            if (ports[i].type == DP_PORT_VETH || ports[i].type == DP_PORT_TAP) {
                dp_port_del(vd->dp, ports[i].name);
            }
        }
        free(ports);
    }
    scene_free(scene);
    vd->dp = NULL;
    db_close(vd->db);
    remove_db();
}

static void handle_frame(struct vswitchd *vd, const uint8_t *body, size_t len)
{
    Vswitch__Request *req;
    Vswitch__Response *resp;
    uint8_t *frame;
    size_t frame_len;

    if (!ctl_msg_unpack_response(body, len, &resp)) {
        ctl_msg_response_free(resp);
    }
    if (ctl_msg_unpack_request(body, len, &req)) {
        return;
    }
    if (req->command_case == VSWITCH__REQUEST__COMMAND_ADD_PORT && !own_netns) {
        ctl_msg_request_free(req);
        return;
    }
    resp = handlers_handle(req, vd);
    if (!resp) {
        abort();
    }
    if (resp->status < 0 || (resp->status > 0 && (!resp->error || !*resp->error))) {
        fprintf(stderr, "fuzz-ctl: status %d with message \"%s\"\n", resp->status,
                resp->error ? resp->error : "(null)");
        abort();
    }
    if (ctl_msg_frame(&resp->base, CTL_MSG_MAX_REPLY, &frame, &frame_len) == 0) {
        Vswitch__Response *back;

        /* What the client reads must be what the daemon built. */
        if (ctl_msg_unpack_response(frame + CTL_MSG_HDR_LEN, frame_len - CTL_MSG_HDR_LEN,
                                    &back)) {
            abort();
        }
        ctl_msg_response_free(back);
        free(frame);
    }
    ctl_msg_response_free(resp);
    ctl_msg_request_free(req);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ctl_msg_decoder dec;
    struct vswitchd vd;
    size_t piece;

    if (size < 1) {
        return 0;
    }
    piece = (size_t) data[0] + 1;
    data++;
    size--;

    daemon_open(&vd);
    ctl_msg_decoder_init(&dec, CTL_MSG_MAX_REQUEST);
    while (size) {
        size_t n = MIN(piece, size);
        const uint8_t *body;
        size_t len;
        int rc;

        if (ctl_msg_decoder_feed(&dec, data, n)) {
            break;                  /* Oversized header: the server closes the connection. */
        }
        data += n;
        size -= n;
        while ((rc = ctl_msg_decoder_next(&dec, &body, &len)) == 1) {
            handle_frame(&vd, body, len);
        }
        if (rc < 0) {
            break;
        }
    }
    ctl_msg_decoder_pending(&dec);
    ctl_msg_decoder_destroy(&dec);
    daemon_close(&vd);
    return 0;
}
