/* libFuzzer target for the CNI plugin's JSON inputs: the network configuration on stdin
 * (cni/netconf.h), and the results it reads back (an IPAM plugin's, prevResult; cni/result.h),
 * rendered again in every supported version.  Nothing here may crash, leak or read out of
 * bounds whatever the bytes.  Seeds: tests/fuzz/corpus/netconf/. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "cni/netconf.h"
#include "cni/result.h"
#include "cni/version.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void results(const json_t *json, const char *version)
{
    struct cni_err err;
    struct cni_result r;

    if (!cni_result_parse(json, version, "fuzz", &r, &err)) {
        for (size_t i = 0; i < cni_n_versions; i++) {
            json_t *out = cni_result_to_json(&r, cni_versions[i]);
            char *text = json_dumps(out, JSON_COMPACT);

            free(text);
            json_decref(out);
        }
    }
    cni_result_destroy(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cni_err err;
    struct netconf conf;
    json_t *json;

    if (!netconf_parse((const char *) data, size, &conf, &err) && conf.prev_result) {
        results(conf.prev_result, conf.cni_version);
    }
    netconf_destroy(&conf);

    json = json_loadb((const char *) data, size, 0, NULL);
    if (json) {
        results(json, "1.0.0");
        results(json, "0.4.0");
        json_decref(json);
    }
    return 0;
}
