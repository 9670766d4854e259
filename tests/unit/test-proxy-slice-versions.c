/* EndpointSlices of both API versions the proxy reads (proxy/k8s-objects.h): whole objects as
 * API servers return them, discovery.k8s.io/v1 (1.21 on: nodeName, zone, hints) and v1beta1
 * (1.19, 1.20: the node in topology["kubernetes.io/hostname"], and in nodeName too only with
 * the EndpointSliceNodeName gate), must parse to the same endpoints, the same node locality
 * and the same conditions. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "lib/addr.h"
#include "proxy/k8s-objects.h"

/* kube-apiserver 1.20.2 with the EndpointSliceNodeName gate off, as `kubectl get
 * endpointslices.v1beta1.discovery.k8s.io -o json` prints it (uids and times shortened). */
static const char v1beta1_topology[] =
    "{\"kind\":\"EndpointSlice\",\"apiVersion\":\"discovery.k8s.io/v1beta1\","
    "\"metadata\":{\"name\":\"web-8kq2x\",\"generateName\":\"web-\",\"namespace\":\"default\","
    "\"uid\":\"5c1e\",\"resourceVersion\":\"1873\",\"generation\":4,"
    "\"creationTimestamp\":\"2026-12-07T02:30:11Z\",\"labels\":{"
    "\"endpointslice.kubernetes.io/managed-by\":\"endpointslice-controller.k8s.io\","
    "\"kubernetes.io/service-name\":\"web\"},\"annotations\":{"
    "\"endpoints.kubernetes.io/last-change-trigger-time\":\"2026-12-07T02:31:40Z\"},"
    "\"ownerReferences\":[{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"name\":\"web\","
    "\"uid\":\"a0b1\",\"controller\":true,\"blockOwnerDeletion\":true}]},"
    "\"addressType\":\"IPv4\","
    "\"endpoints\":["
    "{\"addresses\":[\"10.244.1.5\"],\"conditions\":{\"ready\":true},"
    "\"targetRef\":{\"kind\":\"Pod\",\"namespace\":\"default\",\"name\":\"web-6d4c-abcde\","
    "\"uid\":\"c2d3\",\"resourceVersion\":\"1801\"},"
    "\"topology\":{\"kubernetes.io/hostname\":\"node-1\"}},"
    "{\"addresses\":[\"10.244.2.7\"],\"conditions\":{\"ready\":false},"
    "\"targetRef\":{\"kind\":\"Pod\",\"namespace\":\"default\",\"name\":\"web-6d4c-fghij\","
    "\"uid\":\"e4f5\",\"resourceVersion\":\"1870\"},"
    "\"topology\":{\"kubernetes.io/hostname\":\"node-2\","
    "\"topology.kubernetes.io/zone\":\"z1\"}}],"
    "\"ports\":[{\"name\":\"http\",\"protocol\":\"TCP\",\"port\":8080}]}";

/* The same server with EndpointSliceNodeName and EndpointSliceTerminatingCondition on: both
 * nodeName and the topology label, and serving/terminating. */
static const char v1beta1_gated[] =
    "{\"kind\":\"EndpointSlice\",\"apiVersion\":\"discovery.k8s.io/v1beta1\","
    "\"metadata\":{\"name\":\"web-8kq2x\",\"generateName\":\"web-\",\"namespace\":\"default\","
    "\"resourceVersion\":\"1990\",\"labels\":{"
    "\"endpointslice.kubernetes.io/managed-by\":\"endpointslice-controller.k8s.io\","
    "\"kubernetes.io/service-name\":\"web\"}},"
    "\"addressType\":\"IPv4\","
    "\"endpoints\":["
    "{\"addresses\":[\"10.244.1.5\"],\"conditions\":{\"ready\":true,\"serving\":true,"
    "\"terminating\":false},\"targetRef\":{\"kind\":\"Pod\",\"namespace\":\"default\","
    "\"name\":\"web-6d4c-abcde\"},\"topology\":{\"kubernetes.io/hostname\":\"node-1\"},"
    "\"nodeName\":\"node-1\"},"
    "{\"addresses\":[\"10.244.2.7\"],\"conditions\":{\"ready\":false,\"serving\":true,"
    "\"terminating\":true},\"targetRef\":{\"kind\":\"Pod\",\"namespace\":\"default\","
    "\"name\":\"web-6d4c-fghij\"},\"topology\":{\"kubernetes.io/hostname\":\"node-2\"},"
    "\"nodeName\":\"node-2\"}],"
    "\"ports\":[{\"name\":\"http\",\"protocol\":\"TCP\",\"port\":8080}]}";

/* discovery.k8s.io/v1 as 1.21 and later serve it: nodeName, zone and hints; no topology. */
static const char v1[] =
    "{\"kind\":\"EndpointSlice\",\"apiVersion\":\"discovery.k8s.io/v1\","
    "\"metadata\":{\"name\":\"web-8kq2x\",\"generateName\":\"web-\",\"namespace\":\"default\","
    "\"resourceVersion\":\"52211\",\"labels\":{"
    "\"endpointslice.kubernetes.io/managed-by\":\"endpointslice-controller.k8s.io\","
    "\"kubernetes.io/service-name\":\"web\"}},"
    "\"addressType\":\"IPv4\","
    "\"endpoints\":["
    "{\"addresses\":[\"10.244.1.5\"],\"conditions\":{\"ready\":true,\"serving\":true,"
    "\"terminating\":false},\"nodeName\":\"node-1\",\"zone\":\"z1\","
    "\"hints\":{\"forZones\":[{\"name\":\"z1\"}]},\"targetRef\":{\"kind\":\"Pod\","
    "\"namespace\":\"default\",\"name\":\"web-6d4c-abcde\"}},"
    "{\"addresses\":[\"10.244.2.7\"],\"conditions\":{\"ready\":false,\"serving\":true,"
    "\"terminating\":true},\"nodeName\":\"node-2\",\"zone\":\"z1\",\"targetRef\":{"
    "\"kind\":\"Pod\",\"namespace\":\"default\",\"name\":\"web-6d4c-fghij\"}}],"
    "\"ports\":[{\"name\":\"http\",\"protocol\":\"TCP\",\"port\":8080}]}";

/* v1 read back from an object a v1beta1 client wrote without nodeName: the labels are kept
 * as deprecatedTopology. */
static const char v1_deprecated[] =
    "{\"kind\":\"EndpointSlice\",\"apiVersion\":\"discovery.k8s.io/v1\","
    "\"metadata\":{\"name\":\"web-8kq2x\",\"namespace\":\"default\",\"labels\":{"
    "\"kubernetes.io/service-name\":\"web\"}},\"addressType\":\"IPv4\","
    "\"endpoints\":["
    "{\"addresses\":[\"10.244.1.5\"],\"conditions\":{\"ready\":true},"
    "\"deprecatedTopology\":{\"kubernetes.io/hostname\":\"node-1\"}},"
    "{\"addresses\":[\"10.244.2.7\"],\"conditions\":{\"ready\":false},"
    "\"deprecatedTopology\":{\"kubernetes.io/hostname\":\"node-2\"}}],"
    "\"ports\":[{\"name\":\"http\",\"protocol\":\"TCP\",\"port\":8080}]}";

/* Captured from this repository's cluster (tests/k8s/, kube-apiserver 1.20.2 with
 * EndpointSliceNodeName and EndpointSliceTerminatingCondition): `kubectl get --raw
 * /apis/discovery.k8s.io/v1beta1/namespaces/default/endpointslices`, the web Service's item,
 * managedFields left out. */
static const char v1beta1_captured[] =
    "{\"metadata\":{\"name\":\"web-k5qt9\",\"generateName\":\"web-\",\"namespace\":\"default\""
    ",\"uid\":\"8f2db48d-eec1-4d6f-bf9b-161c8a132524\",\"resourceVersion\":\"489\",\"generati"
    "on\":5,\"creationTimestamp\":\"2026-12-07T03:51:44Z\",\"labels\":{\"endpointslice.kubern"
    "etes.io/managed-by\":\"endpointslice-controller.k8s.io\",\"kubernetes.io/service-name\":"
    "\"web\"},\"annotations\":{\"endpoints.kubernetes.io/last-change-trigger-time\":\"2026-12"
    "-07T03:51:46Z\"},\"ownerReferences\":[{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"name"
    "\":\"web\",\"uid\":\"d7c45004-1e1a-4cf6-8399-f6231f0c42a5\",\"controller\":true,\"blockO"
    "wnerDeletion\":true}]},\"addressType\":\"IPv4\",\"endpoints\":[{\"addresses\":[\"10.244."
    "0.3\"],\"conditions\":{\"ready\":true,\"serving\":true,\"terminating\":false},\"targetRe"
    "f\":{\"kind\":\"Pod\",\"namespace\":\"default\",\"name\":\"web-6d8fdcc96b-lp4nj\",\"uid\""
    ":\"e401979c-3aa3-48da-b0c9-b66b2953e53c\",\"resourceVersion\":\"466\"},\"topology\":{\"k"
    "ubernetes.io/hostname\":\"n1\"},\"nodeName\":\"n1\"},{\"addresses\":[\"10.244.0.4\"],\"c"
    "onditions\":{\"ready\":true,\"serving\":true,\"terminating\":false},\"targetRef\":{\"kin"
    "d\":\"Pod\",\"namespace\":\"default\",\"name\":\"web-6d8fdcc96b-q2lg9\",\"uid\":\"552bc9"
    "31-acc4-4624-b3b9-74904886462a\",\"resourceVersion\":\"470\"},\"topology\":{\"kubernetes"
    ".io/hostname\":\"n1\"},\"nodeName\":\"n1\"},{\"addresses\":[\"10.244.1.3\"],\"conditions"
    "\":{\"ready\":true,\"serving\":true,\"terminating\":false},\"targetRef\":{\"kind\":\"Pod"
    "\",\"namespace\":\"default\",\"name\":\"web-6d8fdcc96b-ln9lh\",\"uid\":\"6a9d8d63-70d9-4"
    "2f8-a445-c149dd152631\",\"resourceVersion\":\"478\"},\"topology\":{\"kubernetes.io/hostn"
    "ame\":\"n2\"},\"nodeName\":\"n2\"},{\"addresses\":[\"10.244.1.2\"],\"conditions\":{\"rea"
    "dy\":true,\"serving\":true,\"terminating\":false},\"targetRef\":{\"kind\":\"Pod\",\"name"
    "space\":\"default\",\"name\":\"web-6d8fdcc96b-mmwjq\",\"uid\":\"c031b4c3-b819-49a3-85ce-"
    "3b12142b01b1\",\"resourceVersion\":\"486\"},\"topology\":{\"kubernetes.io/hostname\":\"n"
    "2\"},\"nodeName\":\"n2\"}],\"ports\":[{\"name\":\"http\",\"protocol\":\"TCP\",\"port\":8"
    "080}]}";

static struct k8s_slice *parse(const char *text, const char *node)
{
    json_error_t jerr;
    json_t *j = json_loads(text, 0, &jerr);
    struct k8s_slice *slice = NULL;
    char err[256];

    cr_assert(j, "bad test JSON: %s", jerr.text);
    cr_assert_eq(k8s_slice_from_json(j, node, &slice, err, sizeof err), 0, "%s", err);
    json_decref(j);
    return slice;
}

/* Every version gives: web's slice, port http 8080/TCP, 10.244.1.5 ready on node-1 (local),
 * 10.244.2.7 not ready on node-2; 'terminating' and 'serving' as the object says or their
 * defaults. */
static void check(const char *what, const char *text, bool conds)
{
    struct k8s_slice *s = parse(text, "node-1");
    char ip[IP_STR_LEN];

    cr_assert_str_eq(s->key, "default/web-8kq2x", "%s", what);
    cr_assert_str_eq(s->service_key, "default/web", "%s", what);
    cr_assert(s->ipv4, "%s", what);
    cr_assert_eq(s->n_ports, 1, "%s", what);
    cr_expect_str_eq(s->ports[0].name, "http", "%s", what);
    cr_expect_eq(s->ports[0].port, 8080, "%s", what);
    cr_assert_eq(s->n_endpoints, 2, "%s", what);
    cr_expect_str_eq(addr_ip_str(s->endpoints[0].ip, ip), "10.244.1.5", "%s", what);
    cr_expect(s->endpoints[0].ready && s->endpoints[0].serving, "%s", what);
    cr_expect(!s->endpoints[0].terminating, "%s", what);
    cr_expect(s->endpoints[0].local, "%s: node-1's endpoint is local", what);
    cr_expect_str_eq(addr_ip_str(s->endpoints[1].ip, ip), "10.244.2.7", "%s", what);
    cr_expect(!s->endpoints[1].ready, "%s", what);
    cr_expect(!s->endpoints[1].local, "%s: node-2's endpoint is not local", what);
    cr_expect_eq(s->endpoints[1].serving, conds, "%s: serving", what);
    cr_expect_eq(s->endpoints[1].terminating, conds, "%s: terminating", what);
    k8s_slice_free(s);

    /* Seen from node-2, the locality turns round. */
    s = parse(text, "node-2");
    cr_expect(!s->endpoints[0].local && s->endpoints[1].local, "%s from node-2", what);
    k8s_slice_free(s);
}

Test(proxy_slice_versions, same_translation)
{
    check("v1beta1, node in topology only", v1beta1_topology, false);
    check("v1beta1 with the gates on", v1beta1_gated, true);
    check("v1", v1, true);
    check("v1, node in deprecatedTopology only", v1_deprecated, false);
}

Test(proxy_slice_versions, nodename_wins_over_topology)
{
    /* A hostname label that differs from the node name (kubelet --hostname-override): the
     * node name is the truth when the object has it. */
    static const char text[] =
        "{\"metadata\":{\"name\":\"s\",\"namespace\":\"default\",\"labels\":{"
        "\"kubernetes.io/service-name\":\"web\"}},\"addressType\":\"IPv4\","
        "\"endpoints\":[{\"addresses\":[\"10.244.1.5\"],\"nodeName\":\"node-1\","
        "\"topology\":{\"kubernetes.io/hostname\":\"host-a\"}}],\"ports\":[{\"port\":80}]}";
    struct k8s_slice *s = parse(text, "node-1");

    cr_expect(s->endpoints[0].local);
    k8s_slice_free(s);
    s = parse(text, "host-a");
    cr_expect(!s->endpoints[0].local);
    k8s_slice_free(s);
}

Test(proxy_slice_versions, malformed_topology)
{
    static const char *const bad[] = {
        "{\"metadata\":{\"name\":\"s\",\"namespace\":\"d\"},\"addressType\":\"IPv4\","
        "\"endpoints\":[{\"addresses\":[\"10.0.0.1\"],\"topology\":[\"node-1\"]}]}",
        "{\"metadata\":{\"name\":\"s\",\"namespace\":\"d\"},\"addressType\":\"IPv4\","
        "\"endpoints\":[{\"addresses\":[\"10.0.0.1\"],"
        "\"deprecatedTopology\":{\"kubernetes.io/hostname\":7}}]}",
    };

    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        json_t *j = json_loads(bad[i], 0, NULL);
        struct k8s_slice *s = NULL;
        char err[256] = "";

        cr_assert(j);
        cr_expect_lt(k8s_slice_from_json(j, "node-1", &s, err, sizeof err), 0, "case %zu", i);
        cr_expect(strstr(err, "topology"), "case %zu: the message names topology: %s", i, err);
        cr_expect_null(s);
        json_decref(j);
    }
}

Test(proxy_slice_versions, captured_from_kube_1_20)
{
    struct k8s_slice *s = parse(v1beta1_captured, "n1");
    char ip[IP_STR_LEN];
    int local = 0;

    cr_assert_str_eq(s->service_key, "default/web");
    cr_assert_eq(s->n_ports, 1);
    cr_expect_str_eq(s->ports[0].name, "http");
    cr_expect_eq(s->ports[0].port, 8080);
    cr_assert_eq(s->n_endpoints, 4);
    for (size_t i = 0; i < s->n_endpoints; i++) {
        const struct k8s_endpoint *ep = &s->endpoints[i];

        cr_expect(ep->ready && ep->serving && !ep->terminating, "endpoint %zu", i);
        /* The controller put n1's pods in 10.244.0.0/24. */
        cr_expect_eq(ep->local, !strncmp(addr_ip_str(ep->ip, ip), "10.244.0.", 9),
                     "endpoint %zu (%s): local only on n1", i, ip);
        local += ep->local;
    }
    cr_expect_eq(local, 2);
    k8s_slice_free(s);
}
