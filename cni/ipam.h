/* Delegation to the IPAM plugin: the plugin named by "ipam.type" is found in CNI_PATH and
 * run with our environment (CNI_COMMAND possibly changed) and the network configuration on
 * its stdin, exactly as the specification's delegation says.
 *
 * Version negotiation: a configuration of a version the IPAM plugin does not speak (Debian's
 * host-local 1.1.1 stops at 1.0.0, the configuration may say 1.1.0) makes it fail with code 1;
 * we then ask it for VERSION and talk to it in the newest version both sides speak that is
 * not newer than the configuration's.  The result is parsed in the version it came in. */
#ifndef CNI_IPAM_H
#define CNI_IPAM_H 1

#include <jansson.h>
#include <stdbool.h>

#include "cni/cni-error.h"

struct ipam {
    char *exe;                  /* Full path of the plugin. */
    const char *type;
    json_t *conf;               /* Our network configuration (a reference). */
    char version[16];           /* The version we speak to it. */
    bool negotiated;
};

/* Finds the IPAM plugin 'type' in 'cni_path' (colon-separated directories).  Returns 0, or
 * -ENOENT with 'err' set (code 7).  'conf' is the whole network configuration, passed on. */
int ipam_init(struct ipam *ipam, const char *cni_path, const char *type, json_t *conf,
              struct cni_err *err);
void ipam_destroy(struct ipam *ipam);

/* Runs the plugin for 'command' ("ADD", "DEL", ...).  'env' overrides or adds variables
 * ("CNI_CONTAINERID=abc", NULL-terminated; may be NULL).  On success returns 0 and, if
 * 'out' is not NULL, the plugin's stdout parsed as JSON in '*out' (NULL when it printed
 * nothing).  On failure returns a negative errno with 'err' holding the plugin's own CNI
 * error (its code, its message prefixed with the plugin's name) or ours. */
int ipam_exec(struct ipam *ipam, const char *command, const char *const *env, json_t **out,
              struct cni_err *err);

/* Whether the plugin speaks 'version' (asks it for VERSION; false if that fails). */
bool ipam_supports(struct ipam *ipam, const char *version);

#endif
