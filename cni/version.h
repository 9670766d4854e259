/* CNI specification versions: which ones this plugin speaks and how they compare.
 *
 * The plugin accepts network configurations of versions 0.3.0 to 1.1.0 and answers in the
 * configuration's version; results differ between them only in details (result.h). */
#ifndef CNI_VERSION_H
#define CNI_VERSION_H 1

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define CNI_VERSION_LATEST "1.1.0"

/* The supported versions, oldest first. */
extern const char *const cni_versions[];
extern const size_t cni_n_versions;

bool cni_version_supported(const char *version);

/* Parses "MAJOR.MINOR.PATCH" into a comparable number.  Returns 0 or -EINVAL. */
int cni_version_parse(const char *version, long *value);

/* <0, 0 or >0 as 'a' is older than, the same as or newer than 'b'; an unparsable version
 * compares as older than any other. */
int cni_version_cmp(const char *a, const char *b);

/* The VERSION verb's answer: {"cniVersion": 'version', "supportedVersions": [...]}.
 * Returns a new reference. */
json_t *cni_version_info(const char *version);

#endif
