/* Network configuration; see netconf.h. */
#include "cni/netconf.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "cni/version.h"
#include "lib/ctl-client.h"
#include "lib/log.h"
#include "lib/util.h"

/* The specification's rule for network names. */
static bool valid_name(const char *name)
{
    if (!isalnum((unsigned char) name[0])) {
        return false;
    }
    for (const char *p = name; *p; p++) {
        if (!isalnum((unsigned char) *p) && !strchr("_.-", *p)) {
            return false;
        }
    }
    return true;
}

/* Fetches the optional string member 'key' of 'obj' into '*value'.  Returns 0 (absent: NULL)
 * or -EINVAL if it is there but not a string.  'where' prefixes the key in messages. */
static int get_string(json_t *obj, const char *where, const char *key, const char **value,
                      struct cni_err *err)
{
    json_t *v = json_object_get(obj, key);

    *value = NULL;
    if (!v || json_is_null(v)) {
        return 0;
    }
    if (!json_is_string(v)) {
        cni_err_set(err, CNI_ERR_INVALID_CONFIG, "network configuration: %s\"%s\" must be a "
                    "string", where, key);
        return -EINVAL;
    }
    *value = json_string_value(v);
    return 0;
}

static int require_string(json_t *obj, const char *where, const char *key, const char **value,
                          struct cni_err *err)
{
    if (get_string(obj, where, key, value, err)) {
        return -EINVAL;
    }
    if (!*value || !**value) {
        cni_err_set(err, CNI_ERR_INVALID_CONFIG, "network configuration: %s\"%s\" is "
                    "missing", where, key);
        return -EINVAL;
    }
    return 0;
}

static int parse_mtu(struct netconf *conf, struct cni_err *err)
{
    json_t *v = json_object_get(conf->root, "mtu");
    json_int_t mtu;

    conf->mtu = NETCONF_DEFAULT_MTU;
    if (!v || json_is_null(v)) {
        return 0;
    }
    mtu = json_is_integer(v) ? json_integer_value(v) : -1;
    if (mtu < NETCONF_MIN_MTU || mtu > NETCONF_MAX_MTU) {
        char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);

        cni_err_set(err, CNI_ERR_INVALID_CONFIG, "network configuration: \"mtu\" must be an "
                    "integer from %d to %d, not %s", NETCONF_MIN_MTU, NETCONF_MAX_MTU,
                    text ? text : "?");
        free(text);
        return -EINVAL;
    }
    conf->mtu = mtu;
    return 0;
}

static int parse_ipam(struct netconf *conf, struct cni_err *err)
{
    conf->ipam = json_object_get(conf->root, "ipam");
    if (!conf->ipam || json_is_null(conf->ipam)) {
        cni_err_set(err, CNI_ERR_INVALID_CONFIG, "network configuration: \"ipam\" is missing "
                    "(vswitch takes addresses from an IPAM plugin such as host-local)");
        return -EINVAL;
    }
    if (!json_is_object(conf->ipam)) {
        cni_err_set(err, CNI_ERR_INVALID_CONFIG, "network configuration: \"ipam\" must be an "
                    "object");
        return -EINVAL;
    }
    if (require_string(conf->ipam, "ipam.", "type", &conf->ipam_type, err)) {
        return -EINVAL;
    }
    /* It names a file in CNI_PATH: a path would escape it. */
    if (strchr(conf->ipam_type, '/') || !strcmp(conf->ipam_type, ".")
        || !strcmp(conf->ipam_type, "..")) {
        cni_err_set(err, CNI_ERR_INVALID_CONFIG, "network configuration: ipam.\"type\" \"%s\" "
                    "must be a plugin name, not a path", conf->ipam_type);
        return -EINVAL;
    }
    return 0;
}

static int parse_logging(struct netconf *conf, struct cni_err *err)
{
    enum log_level log_level = LOG_LVL_INFO;
    const char *level;

    conf->log_level = log_level;
    if (get_string(conf->root, "", "logFile", &conf->log_file, err)
        || get_string(conf->root, "", "logLevel", &level, err)) {
        return -EINVAL;
    }
    if (conf->log_file && conf->log_file[0] != '/') {
        cni_err_set(err, CNI_ERR_INVALID_CONFIG, "network configuration: \"logFile\" \"%s\" "
                    "must be an absolute path", conf->log_file);
        return -EINVAL;
    }
    if (level && log_level_from_name(level, &log_level)) {
        cni_err_set(err, CNI_ERR_INVALID_CONFIG, "network configuration: \"logLevel\" \"%s\" "
                    "is not one of error, warn, info, debug", level);
        return -EINVAL;
    }
    conf->log_level = log_level;
    return 0;
}

static int parse_valid_attachments(struct netconf *conf, struct cni_err *err)
{
    const char *key = "cni.dev/valid-attachments";
    json_t *list = json_object_get(conf->root, key), *item;
    size_t i;

    if (!list || json_is_null(list)) {
        return 0;
    }
    if (!json_is_array(list)) {
        cni_err_set(err, CNI_ERR_INVALID_CONFIG, "network configuration: \"%s\" must be an "
                    "array", key);
        return -EINVAL;
    }
    conf->has_valid_attachments = true;
    conf->valid_attachments = xcalloc(json_array_size(list) + 1,
                                      sizeof *conf->valid_attachments);
    json_array_foreach(list, i, item) {
        struct netconf_attachment *a = &conf->valid_attachments[i];
        json_t *id = json_object_get(item, "containerID");
        json_t *ifname = json_object_get(item, "ifname");

        if (!json_is_object(item) || !json_is_string(id) || !json_is_string(ifname)) {
            cni_err_set(err, CNI_ERR_INVALID_CONFIG, "network configuration: \"%s\"[%zu] must "
                        "be an object with the strings \"containerID\" and \"ifname\"", key, i);
            return -EINVAL;
        }
        a->container_id = json_string_value(id);
        a->ifname = json_string_value(ifname);
        conf->n_valid_attachments++;
    }
    return 0;
}

int netconf_parse(const char *data, size_t len, struct netconf *conf, struct cni_err *err)
{
    json_error_t jerr;
    json_t *v;

    memset(conf, 0, sizeof *conf);
    conf->root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!conf->root) {
        cni_err_set(err, CNI_ERR_DECODE, "cannot decode the network configuration: %s "
                    "(line %d, column %d)", jerr.text, jerr.line, jerr.column);
        return -EINVAL;
    }
    if (!json_is_object(conf->root)) {
        cni_err_set(err, CNI_ERR_DECODE, "cannot decode the network configuration: it is "
                    "not a JSON object");
        return -EINVAL;
    }

    if (require_string(conf->root, "", "cniVersion", &conf->cni_version, err)) {
        return -EINVAL;
    }
    if (!cni_version_supported(conf->cni_version)) {
        cni_err_set(err, CNI_ERR_INCOMPATIBLE_VERSION, "network configuration: cniVersion "
                    "\"%s\" is not supported (supported: 0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0)",
                    conf->cni_version);
        return -EINVAL;
    }
    if (require_string(conf->root, "", "name", &conf->name, err)
        || require_string(conf->root, "", "type", &conf->type, err)) {
        return -EINVAL;
    }
    if (!valid_name(conf->name)) {
        cni_err_set(err, CNI_ERR_INVALID_CONFIG, "network configuration: \"name\" \"%s\" must "
                    "start with a letter or digit and hold only letters, digits, '_', '.' "
                    "and '-'", conf->name);
        return -EINVAL;
    }

    if (get_string(conf->root, "", "ctl", &conf->ctl, err)) {
        return -EINVAL;
    }
    if (!conf->ctl) {
        conf->ctl = CTL_DEFAULT_PATH;
    } else if (conf->ctl[0] != '/'
               || strlen(conf->ctl) >= sizeof ((struct sockaddr_un *) NULL)->sun_path) {
        cni_err_set(err, CNI_ERR_INVALID_CONFIG, "network configuration: \"ctl\" \"%s\" must "
                    "be an absolute socket path of at most %zu bytes", conf->ctl,
                    sizeof ((struct sockaddr_un *) NULL)->sun_path - 1);
        return -EINVAL;
    }

    if (parse_mtu(conf, err) || parse_ipam(conf, err) || parse_logging(conf, err)) {
        return -EINVAL;
    }

    v = json_object_get(conf->root, "dns");
    if (v && !json_is_null(v)) {
        if (!json_is_object(v)) {
            cni_err_set(err, CNI_ERR_INVALID_CONFIG, "network configuration: \"dns\" must be "
                        "an object");
            return -EINVAL;
        }
        conf->dns = v;
    }
    v = json_object_get(conf->root, "prevResult");
    if (v && !json_is_null(v)) {
        if (!json_is_object(v)) {
            cni_err_set(err, CNI_ERR_INVALID_CONFIG, "network configuration: \"prevResult\" "
                        "must be an object");
            return -EINVAL;
        }
        conf->prev_result = v;
    }
    return parse_valid_attachments(conf, err);
}

void netconf_destroy(struct netconf *conf)
{
    json_decref(conf->root);
    free(conf->valid_attachments);
    memset(conf, 0, sizeof *conf);
}

const char *netconf_reply_version(const struct netconf *conf)
{
    return cni_version_supported(conf->cni_version) ? conf->cni_version : CNI_VERSION_LATEST;
}
