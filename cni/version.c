/* CNI versions; see version.h. */
#include "cni/version.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lib/types.h"

const char *const cni_versions[] = { "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0" };
const size_t cni_n_versions = ARRAY_SIZE(cni_versions);

bool cni_version_supported(const char *version)
{
    for (size_t i = 0; version && i < cni_n_versions; i++) {
        if (!strcmp(version, cni_versions[i])) {
            return true;
        }
    }
    return false;
}

int cni_version_parse(const char *version, long *value)
{
    unsigned int major, minor, patch;
    int n = 0;

    if (!version || sscanf(version, "%3u.%3u.%3u%n", &major, &minor, &patch, &n) != 3
        || version[n] || !strchr("0123456789", version[0])) {
        return -EINVAL;
    }
    *value = (long) major * 1000000 + minor * 1000 + patch;
    return 0;
}

int cni_version_cmp(const char *a, const char *b)
{
    long va = -1, vb = -1;

    cni_version_parse(a, &va);
    cni_version_parse(b, &vb);
    return va < vb ? -1 : va > vb;
}

json_t *cni_version_info(const char *version)
{
    json_t *obj = json_object(), *list = json_array();

    for (size_t i = 0; i < cni_n_versions; i++) {
        json_array_append_new(list, json_string(cni_versions[i]));
    }
    json_object_set_new(obj, "cniVersion", json_string(version));
    json_object_set_new(obj, "supportedVersions", list);
    return obj;
}
