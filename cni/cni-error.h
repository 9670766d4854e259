/* CNI errors: the codes of the CNI specification and ours, and the error object a plugin
 * prints on stdout when it fails.
 *
 * Every step of the plugin reports a failure by filling a struct cni_err, the code saying what
 * kind of failure it is for the runtime (kubelet retries on 11, reports the others) and the
 * message saying, for the person reading the pod's events, what went wrong where. */
#ifndef CNI_CNI_ERROR_H
#define CNI_CNI_ERROR_H 1

#include <jansson.h>

/* Codes 1-99 are the specification's ("Error" in SPEC.md); 100 and up are this plugin's. */
enum cni_code {
    CNI_ERR_INCOMPATIBLE_VERSION = 1,   /* cniVersion not supported, or verb not in it. */
    CNI_ERR_UNSUPPORTED_FIELD = 2,      /* A value we cannot honour (an IPv6 address). */
    CNI_ERR_UNKNOWN_CONTAINER = 3,      /* CNI_NETNS does not exist. */
    CNI_ERR_INVALID_ENV = 4,            /* CNI_COMMAND, CNI_CONTAINERID, ... missing or bad. */
    CNI_ERR_IO = 5,                     /* Reading stdin, writing stdout. */
    CNI_ERR_DECODE = 6,                 /* stdin (or a delegated plugin's output) not JSON. */
    CNI_ERR_INVALID_CONFIG = 7,         /* The network configuration is wrong. */
    CNI_ERR_TRY_AGAIN = 11,             /* vswitchd is not reachable now. */
    CNI_ERR_NOT_AVAILABLE = 50,         /* STATUS: the plugin cannot add pods now. */
    CNI_ERR_SYSTEM = 100,               /* The kernel refused a link, address or route. */
    CNI_ERR_IF_EXISTS = 101,            /* CNI_IFNAME in the pod, or our host veth, exists. */
    CNI_ERR_SWITCH = 102,               /* vswitchd refused the request. */
    CNI_ERR_CHECK = 103,                /* CHECK found the attachment not as it should be. */
    CNI_ERR_IPAM = 104,                 /* The IPAM plugin failed or returned nothing usable. */
};

struct cni_err {
    int code;               /* 0: no error. */
    char msg[1024];
    char details[1024];     /* Empty: none. */
};

/* Sets 'err' to 'code' with the formatted message; clears the details. */
void cni_err_set(struct cni_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Sets the details of an error already set. */
void cni_err_details(struct cni_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The error object of the specification: {"cniVersion", "code", "msg"[, "details"]}.
 * Returns a new reference. */
json_t *cni_err_to_json(const struct cni_err *err, const char *cni_version);

#endif
