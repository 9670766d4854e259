/* The network configuration a runtime passes on stdin (DESIGN.md, "vswitch-cni"):
 *
 *   {"cniVersion":"1.0.0","name":"podnet","type":"vswitch","ctl":"/run/vswitch/vswitchd.sock",
 *    "mtu":1450,"logFile":"/var/log/vswitch-cni.log","logLevel":"info",
 *    "ipam":{"type":"host-local",...},"dns":{...}}
 *
 * plus what the runtime adds: "prevResult" (CHECK, DEL), "cni.dev/valid-attachments" (GC),
 * "runtimeConfig", "args".  Unknown keys are ignored, as the specification says.  Parsing
 * validates every key this plugin uses and fails with the specification's codes (6: not
 * JSON, 1: unsupported cniVersion, 7: anything else) and a message naming the key. */
#ifndef CNI_NETCONF_H
#define CNI_NETCONF_H 1

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "cni/cni-error.h"

/* VXLAN costs 50 bytes of a 1500-byte underlay (DESIGN.md, "Overlay MTU"). */
#define NETCONF_DEFAULT_MTU 1450
#define NETCONF_MIN_MTU 68
#define NETCONF_MAX_MTU 65535

/* One entry of "cni.dev/valid-attachments". */
struct netconf_attachment {
    const char *container_id;
    const char *ifname;
};

struct netconf {
    json_t *root;                   /* The whole document; owns every string below. */
    const char *cni_version;
    const char *name;
    const char *type;
    const char *ctl;                /* Default: CTL_DEFAULT_PATH. */
    unsigned int mtu;               /* Default: NETCONF_DEFAULT_MTU. */
    const char *ipam_type;
    const char *log_file;           /* NULL: log to stderr. */
    int log_level;                  /* enum log_level (lib/log.h); default: info. */
    json_t *ipam;                   /* Borrowed from 'root'. */
    json_t *dns;                    /* Borrowed; NULL if absent. */
    json_t *prev_result;            /* Borrowed; NULL if absent. */
    bool has_valid_attachments;
    struct netconf_attachment *valid_attachments;
    size_t n_valid_attachments;
};

/* Parses the 'len' bytes of 'data'.  Returns 0, or a negative errno with 'err' set; the
 * caller destroys 'conf' either way. */
int netconf_parse(const char *data, size_t len, struct netconf *conf, struct cni_err *err);
void netconf_destroy(struct netconf *conf);

/* The version to answer in: the configuration's when it is one we speak, else the latest
 * (an error about the version itself must still be readable). */
const char *netconf_reply_version(const struct netconf *conf);

#endif
