/* vswitch-proxy's translation (proxy/translate.h) as a table: Kubernetes objects in, the
 * policies and peers vswitchd should hold out, with kube-proxy's semantics case by case. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/addr.h"
#include "lib/util.h"
#include "proxy/desired.h"
#include "proxy/k8s-objects.h"
#include "proxy/strmap.h"
#include "proxy/translate.h"

#define MAX_OBJS 6

struct translate_case {
    const char *description;
    const char *services[MAX_OBJS];     /* JSON, NULL-terminated. */
    const char *slices[MAX_OBJS];
    const char *nodes[MAX_OBJS];
    bool dsr;                           /* --dsr */
    const char *expect;                 /* Policies then peers, one per line, sorted. */
};

#define SVC(NAME, EXTRA) \
    "{\"metadata\":{\"name\":\"" NAME "\",\"namespace\":\"default\"},\"spec\":{" EXTRA "}}"
#define SLICE(NAME, SVCNAME, PORTS, EPS) \
    "{\"metadata\":{\"name\":\"" NAME "\",\"namespace\":\"default\",\"labels\":" \
    "{\"kubernetes.io/service-name\":\"" SVCNAME "\"}},\"addressType\":\"IPv4\"," \
    "\"ports\":[" PORTS "],\"endpoints\":[" EPS "]}"
#define EP(IP, COND, NODE) \
    "{\"addresses\":[\"" IP "\"],\"conditions\":{" COND "},\"nodeName\":\"" NODE "\"}"
#define NODE(NAME, IP, CIDR) \
    "{\"metadata\":{\"name\":\"" NAME "\"},\"spec\":{\"podCIDR\":\"" CIDR "\",\"podCIDRs\":[\"" \
    CIDR "\"]},\"status\":{\"addresses\":[{\"type\":\"InternalIP\",\"address\":\"" IP "\"}]}}"

static const struct translate_case cases[] = {
    { "one port, ready endpoints, DSR by default",
      { SVC("web", "\"clusterIP\":\"10.96.0.10\",\"ports\":[{\"name\":\"http\",\"port\":80}]") },
      { SLICE("web-a", "web", "{\"name\":\"http\",\"port\":8080}",
              EP("10.244.1.6", "\"ready\":true", "n1") "," EP("10.244.1.5", "", "n1")) },
      {}, true,
      "10.96.0.10:80/tcp k8s:default/web:http dsr=1 aff=0 10.244.1.5:8080,10.244.1.6:8080\n" },
    { "named target ports resolve per slice; several slices; duplicates merged",
      { SVC("web", "\"clusterIP\":\"10.96.0.10\",\"ports\":[{\"name\":\"http\",\"port\":80,"
                   "\"targetPort\":\"web\"}]") },
      { SLICE("web-a", "web", "{\"name\":\"http\",\"port\":8080}",
              EP("10.244.1.5", "", "n1")),
        SLICE("web-b", "web", "{\"name\":\"http\",\"port\":9090}",
              EP("10.244.2.5", "", "n2") "," EP("10.244.2.6", "", "n2")),
        SLICE("web-c", "web", "{\"name\":\"http\",\"port\":8080}",
              EP("10.244.1.5", "", "n1")) },
      {}, true,
      "10.96.0.10:80/tcp k8s:default/web:http dsr=1 aff=0 "
      "10.244.1.5:8080,10.244.2.5:9090,10.244.2.6:9090\n" },
    { "multi-port, TCP and UDP of one number, SCTP skipped",
      { SVC("dns", "\"clusterIP\":\"10.96.0.53\",\"ports\":[{\"name\":\"dns\",\"port\":53,"
                   "\"protocol\":\"UDP\"},{\"name\":\"dns-tcp\",\"port\":53,\"protocol\":"
                   "\"TCP\"},{\"name\":\"s\",\"port\":99,\"protocol\":\"SCTP\"}]") },
      { SLICE("dns-a", "dns", "{\"name\":\"dns\",\"port\":5353,\"protocol\":\"UDP\"},"
              "{\"name\":\"dns-tcp\",\"port\":5354,\"protocol\":\"TCP\"}",
              EP("10.244.1.9", "", "n1")) },
      {}, true,
      "10.96.0.53:53/tcp k8s:default/dns:dns-tcp dsr=1 aff=0 10.244.1.9:5354\n"
      "10.96.0.53:53/udp k8s:default/dns:dns dsr=1 aff=0 10.244.1.9:5353\n" },
    { "a slice port of the same name but another protocol does not match",
      { SVC("x", "\"clusterIP\":\"10.96.0.11\",\"ports\":[{\"name\":\"p\",\"port\":80}]") },
      { SLICE("x-a", "x", "{\"name\":\"p\",\"port\":8080,\"protocol\":\"UDP\"}",
              EP("10.244.1.9", "", "n1")) },
      {}, true, "10.96.0.11:80/tcp k8s:default/x:p dsr=1 aff=0 \n" },
    { "not ready endpoints are left out",
      { SVC("web", "\"clusterIP\":\"10.96.0.10\",\"ports\":[{\"port\":80}]") },
      { SLICE("web-a", "web", "{\"port\":8080}",
              EP("10.244.1.5", "\"ready\":false,\"serving\":true,\"terminating\":true", "n1")
              "," EP("10.244.1.6", "\"ready\":true", "n1")) },
      {}, true, "10.96.0.10:80/tcp k8s:default/web dsr=1 aff=0 10.244.1.6:8080\n" },
    { "none ready: the serving and terminating ones, not the others",
      { SVC("web", "\"clusterIP\":\"10.96.0.10\",\"ports\":[{\"port\":80}]") },
      { SLICE("web-a", "web", "{\"port\":8080}",
              EP("10.244.1.5", "\"ready\":false,\"serving\":true,\"terminating\":true", "n1")
              "," EP("10.244.1.6", "\"ready\":false,\"serving\":false,\"terminating\":true",
                     "n1")
              "," EP("10.244.1.7", "\"ready\":false,\"serving\":true", "n1")) },
      {}, true, "10.96.0.10:80/tcp k8s:default/web dsr=1 aff=0 10.244.1.5:8080\n" },
    { "internalTrafficPolicy Local: only this node's (n1)",
      { SVC("web", "\"clusterIP\":\"10.96.0.10\",\"internalTrafficPolicy\":\"Local\","
                   "\"ports\":[{\"port\":80}]") },
      { SLICE("web-a", "web", "{\"port\":8080}",
              EP("10.244.1.5", "", "n1") "," EP("10.244.2.5", "", "n2")) },
      {}, true, "10.96.0.10:80/tcp k8s:default/web dsr=1 aff=0 10.244.1.5:8080\n" },
    { "ClientIP affinity with and without a timeout; DSR annotation; --dsr=false",
      { SVC("a", "\"clusterIP\":\"10.96.0.1\",\"sessionAffinity\":\"ClientIP\","
                 "\"sessionAffinityConfig\":{\"clientIP\":{\"timeoutSeconds\":60}},"
                 "\"ports\":[{\"port\":80}]"),
        SVC("b", "\"clusterIP\":\"10.96.0.2\",\"sessionAffinity\":\"ClientIP\","
                 "\"ports\":[{\"port\":80}]"),
        "{\"metadata\":{\"name\":\"c\",\"namespace\":\"default\",\"annotations\":"
        "{\"vswitch.io/dsr\":\"true\"}},\"spec\":{\"clusterIP\":\"10.96.0.3\",\"ports\":"
        "[{\"port\":80}]}}" },
      {}, {}, false,
      "10.96.0.1:80/tcp k8s:default/a dsr=0 aff=60 \n"
      "10.96.0.2:80/tcp k8s:default/b dsr=0 aff=10800 \n"
      "10.96.0.3:80/tcp k8s:default/c dsr=1 aff=0 \n" },
    { "skipped: headless, ExternalName, service-proxy-name, no cluster IP, IPv6",
      { SVC("h", "\"clusterIP\":\"None\",\"ports\":[{\"port\":80}]"),
        SVC("e", "\"type\":\"ExternalName\",\"externalName\":\"example.org\""),
        "{\"metadata\":{\"name\":\"o\",\"namespace\":\"default\",\"labels\":{\"service."
        "kubernetes.io/service-proxy-name\":\"other\"}},\"spec\":{\"clusterIP\":\"10.96.0.4\","
        "\"ports\":[{\"port\":80}]}}",
        SVC("n", "\"ports\":[{\"port\":80}]"),
        SVC("v6", "\"clusterIP\":\"fd00::10\",\"clusterIPs\":[\"fd00::10\"],"
                  "\"ports\":[{\"port\":80}]") },
      {}, {}, true, "" },
    { "NodePort, LoadBalancer, externalIPs, dual-stack: the IPv4 cluster IP, the NodePort "
      "and externalIPs",
      { SVC("np", "\"type\":\"NodePort\",\"clusterIP\":\"10.96.0.5\",\"ports\":[{\"port\":80,"
                  "\"nodePort\":30080}],\"externalIPs\":[\"192.0.2.1\"]"),
        SVC("ds", "\"type\":\"LoadBalancer\",\"clusterIP\":\"fd00::6\",\"clusterIPs\":"
                  "[\"fd00::6\",\"10.96.0.6\"],\"ports\":[{\"port\":443}]") },
      {}, {}, true,
      "0.0.0.0:30080/tcp k8s:default/np dsr=1 aff=0 \n"
      "10.96.0.5:80/tcp k8s:default/np dsr=1 aff=0 \n"
      "10.96.0.6:443/tcp k8s:default/ds dsr=1 aff=0 \n"
      "192.0.2.1:80/tcp k8s:default/np dsr=1 aff=0 \n" },
    { "slices of other Services, of IPv6, and without a service label are ignored",
      { SVC("web", "\"clusterIP\":\"10.96.0.10\",\"ports\":[{\"port\":80}]") },
      { SLICE("other-a", "other", "{\"port\":8080}", EP("10.244.1.5", "", "n1")),
        "{\"metadata\":{\"name\":\"w6\",\"namespace\":\"default\",\"labels\":{\"kubernetes.io/"
        "service-name\":\"web\"}},\"addressType\":\"IPv6\",\"ports\":[{\"port\":8080}],"
        "\"endpoints\":[{\"addresses\":[\"fd00::1\"]}]}",
        "{\"metadata\":{\"name\":\"nolabel\",\"namespace\":\"default\"},\"addressType\":"
        "\"IPv4\",\"ports\":[{\"port\":8080}],\"endpoints\":[{\"addresses\":[\"10.244.1.7\"]}]}" },
      {}, true, "10.96.0.10:80/tcp k8s:default/web dsr=1 aff=0 \n" },
    { "two Services on one VIP:port: the first by name wins",
      { SVC("b", "\"clusterIP\":\"10.96.0.7\",\"ports\":[{\"port\":80}]"),
        SVC("a", "\"clusterIP\":\"10.96.0.7\",\"ports\":[{\"port\":80}]") },
      {}, {}, true, "10.96.0.7:80/tcp k8s:default/a dsr=1 aff=0 \n" },
    { "nodes: every other node with an InternalIP and a pod CIDR is a peer",
      {}, {},
      { NODE("n1", "192.168.50.1", "10.244.1.0/24"), NODE("n2", "192.168.50.2", "10.244.2.0/24"),
        NODE("n3", "192.168.50.3", "10.244.3.0/24"),
        "{\"metadata\":{\"name\":\"n4\"},\"spec\":{},\"status\":{\"addresses\":[{\"type\":"
        "\"InternalIP\",\"address\":\"192.168.50.4\"}]}}" },
      true, "peer 192.168.50.2 10.244.2.0/24\npeer 192.168.50.3 10.244.3.0/24\n" },
    { "dsr-mode preserve-dip: where targetPort is the port; DNAT'd where it is not, with DSR "
      "off, or for another mode",
      { "{\"metadata\":{\"name\":\"p\",\"namespace\":\"default\",\"annotations\":"
        "{\"vswitch.io/dsr-mode\":\"preserve-dip\"}},\"spec\":{\"clusterIP\":\"10.96.0.5\","
        "\"ports\":[{\"name\":\"web\",\"port\":80},{\"name\":\"dns\",\"port\":53,"
        "\"protocol\":\"UDP\"},{\"name\":\"alt\",\"port\":81}]}}",
        "{\"metadata\":{\"name\":\"q\",\"namespace\":\"default\",\"annotations\":"
        "{\"vswitch.io/dsr-mode\":\"Preserve-DIP\",\"vswitch.io/dsr\":\"false\"}},\"spec\":"
        "{\"clusterIP\":\"10.96.0.6\",\"ports\":[{\"port\":80}]}}",
        "{\"metadata\":{\"name\":\"r\",\"namespace\":\"default\",\"annotations\":"
        "{\"vswitch.io/dsr-mode\":\"mac-only\"}},\"spec\":{\"clusterIP\":\"10.96.0.7\","
        "\"ports\":[{\"port\":80}]}}" },
      { SLICE("p-a", "p", "{\"name\":\"web\",\"port\":80},{\"name\":\"dns\",\"port\":53,"
              "\"protocol\":\"UDP\"},{\"name\":\"alt\",\"port\":8081}",
              EP("10.244.1.5", "", "n1") "," EP("10.244.2.5", "", "n2")),
        SLICE("q-a", "q", "{\"port\":80}", EP("10.244.1.6", "", "n1")),
        SLICE("r-a", "r", "{\"port\":80}", EP("10.244.1.7", "", "n1")) },
      {}, true,
      "10.96.0.5:53/udp k8s:default/p:dns dsr=1 aff=0 preserve-dip 10.244.1.5:53,10.244.2.5:53\n"
      "10.96.0.5:80/tcp k8s:default/p:web dsr=1 aff=0 preserve-dip 10.244.1.5:80,10.244.2.5:80\n"
      "10.96.0.5:81/tcp k8s:default/p:alt dsr=1 aff=0 10.244.1.5:8081,10.244.2.5:8081\n"
      "10.96.0.6:80/tcp k8s:default/q dsr=0 aff=0 10.244.1.6:80\n"
      "10.96.0.7:80/tcp k8s:default/r dsr=1 aff=0 10.244.1.7:80\n" },
    { "externalIPs and LoadBalancer ingress IPs, TCP and UDP: externalTrafficPolicy Local "
      "keeps this node's endpoints, loadBalancerSourceRanges (normalized) guard the ingress IPs; "
      "Cluster all; affinity and DSR kept; IPv6, "
      "hostnames and duplicates left out",
      { "{\"metadata\":{\"name\":\"lb\",\"namespace\":\"default\",\"annotations\":"
        "{\"vswitch.io/dsr\":\"false\"}},\"spec\":{\"type\":\"LoadBalancer\","
        "\"clusterIP\":\"10.96.0.20\",\"externalTrafficPolicy\":\"Local\","
        "\"sessionAffinity\":\"ClientIP\",\"loadBalancerSourceRanges\":[\"203.0.113.77/24\","
        "\"192.0.2.9/32\",\"2001:db8::/32\"],\"externalIPs\":[\"198.51.100.20\","
        "\"2001:db8::1\"],\"ports\":[{\"name\":\"http\",\"port\":80,\"nodePort\":30080},"
        "{\"name\":\"dns\",\"port\":53,\"protocol\":\"UDP\"}]},\"status\":{\"loadBalancer\":"
        "{\"ingress\":[{\"ip\":\"203.0.113.10\"},{\"hostname\":\"lb.example.org\"},"
        "{\"ip\":\"198.51.100.20\"}]}}}",
        "{\"metadata\":{\"name\":\"cl\",\"namespace\":\"default\"},\"spec\":{\"type\":"
        "\"LoadBalancer\",\"clusterIP\":\"10.96.0.21\",\"externalTrafficPolicy\":\"Cluster\","
        "\"ports\":[{\"port\":80}]},\"status\":{\"loadBalancer\":{\"ingress\":"
        "[{\"ip\":\"203.0.113.11\"}]}}}" },
      { SLICE("lb-a", "lb", "{\"name\":\"http\",\"port\":8080},{\"name\":\"dns\",\"port\":53,"
              "\"protocol\":\"UDP\"}",
              EP("10.244.1.5", "", "n1") "," EP("10.244.2.5", "", "n2")),
        SLICE("cl-a", "cl", "{\"port\":8080}",
              EP("10.244.1.6", "", "n1") "," EP("10.244.2.6", "", "n2")) },
      {}, true,
      "0.0.0.0:30080/tcp k8s:default/lb:http dsr=0 aff=10800 10.244.1.5:8080\n"
      "10.96.0.20:53/udp k8s:default/lb:dns dsr=0 aff=10800 10.244.1.5:53,10.244.2.5:53\n"
      "10.96.0.20:80/tcp k8s:default/lb:http dsr=0 aff=10800 10.244.1.5:8080,10.244.2.5:8080\n"
      "10.96.0.21:80/tcp k8s:default/cl dsr=1 aff=0 10.244.1.6:8080,10.244.2.6:8080\n"
      "198.51.100.20:53/udp k8s:default/lb:dns dsr=0 aff=10800 10.244.1.5:53\n"
      "198.51.100.20:80/tcp k8s:default/lb:http dsr=0 aff=10800 10.244.1.5:8080\n"
      "203.0.113.10:53/udp k8s:default/lb:dns dsr=0 aff=10800 src=203.0.113.0/24,192.0.2.9/32 "
      "10.244.1.5:53\n"
      "203.0.113.10:80/tcp k8s:default/lb:http dsr=0 aff=10800 src=203.0.113.0/24,192.0.2.9/32 "
      "10.244.1.5:8080\n"
      "203.0.113.11:80/tcp k8s:default/cl dsr=1 aff=0 10.244.1.6:8080,10.244.2.6:8080\n" },
    { "NodePorts, TCP and UDP, on 0.0.0.0 (every node address): Cluster keeps every endpoint, "
      "Local this node's; DSR and affinity as the Service's; never source ranges nor "
      "preserve-dip; a port without nodePort (ClusterIP, or a LoadBalancer that allocates "
      "none) gets none",
      { "{\"metadata\":{\"name\":\"np\",\"namespace\":\"default\",\"annotations\":"
        "{\"vswitch.io/dsr-mode\":\"preserve-dip\"}},\"spec\":{\"type\":\"NodePort\","
        "\"clusterIP\":\"10.96.0.30\",\"sessionAffinity\":\"ClientIP\",\"ports\":"
        "[{\"name\":\"web\",\"port\":80,\"nodePort\":30080},{\"name\":\"dns\",\"port\":53,"
        "\"protocol\":\"UDP\",\"nodePort\":30053}]}}",
        "{\"metadata\":{\"name\":\"loc\",\"namespace\":\"default\"},\"spec\":{\"type\":"
        "\"LoadBalancer\",\"clusterIP\":\"10.96.0.31\",\"externalTrafficPolicy\":\"Local\","
        "\"loadBalancerSourceRanges\":[\"203.0.113.0/24\"],\"ports\":[{\"port\":80,"
        "\"nodePort\":30081},{\"name\":\"none\",\"port\":81,\"nodePort\":null}]}}",
        SVC("plain", "\"clusterIP\":\"10.96.0.32\",\"ports\":[{\"port\":80}]") },
      { SLICE("np-a", "np", "{\"name\":\"web\",\"port\":80},{\"name\":\"dns\",\"port\":53,"
              "\"protocol\":\"UDP\"}",
              EP("10.244.1.5", "", "n1") "," EP("10.244.2.5", "", "n2")),
        SLICE("loc-a", "loc", "{\"port\":8080},{\"name\":\"none\",\"port\":8081}",
              EP("10.244.1.6", "", "n1") "," EP("10.244.2.6", "", "n2")) },
      {}, true,
      "0.0.0.0:30053/udp k8s:default/np:dns dsr=1 aff=10800 10.244.1.5:53,10.244.2.5:53\n"
      "0.0.0.0:30080/tcp k8s:default/np:web dsr=1 aff=10800 10.244.1.5:80,10.244.2.5:80\n"
      "0.0.0.0:30081/tcp k8s:default/loc dsr=1 aff=0 10.244.1.6:8080\n"
      "10.96.0.30:53/udp k8s:default/np:dns dsr=1 aff=10800 preserve-dip "
      "10.244.1.5:53,10.244.2.5:53\n"
      "10.96.0.30:80/tcp k8s:default/np:web dsr=1 aff=10800 preserve-dip "
      "10.244.1.5:80,10.244.2.5:80\n"
      "10.96.0.31:80/tcp k8s:default/loc dsr=1 aff=0 10.244.1.6:8080,10.244.2.6:8080\n"
      "10.96.0.31:81/tcp k8s:default/loc:none dsr=1 aff=0 10.244.1.6:8081,10.244.2.6:8081\n"
      "10.96.0.32:80/tcp k8s:default/plain dsr=1 aff=0 \n" },
};

static void load(struct strmap *map, const char *const *objs, int kind)
{
    for (int i = 0; i < MAX_OBJS && objs[i]; i++) {
        json_error_t jerr;
        json_t *j = json_loads(objs[i], 0, &jerr);
        char err[256], key[256];
        void *obj = NULL;
        int error;

        cr_assert(j, "bad test JSON: %s: %s", jerr.text, objs[i]);
        if (kind == 0) {
            error = k8s_service_from_json(j, (struct k8s_service **) &obj, err, sizeof err);
        } else if (kind == 1) {
            error = k8s_slice_from_json(j, "n1", (struct k8s_slice **) &obj, err, sizeof err);
        } else {
            error = k8s_node_from_json(j, (struct k8s_node **) &obj, err, sizeof err);
        }
        cr_assert_eq(error, 0, "parse failed: %s", err);
        strmap_put(map, k8s_object_key(j, key, sizeof key), obj);
        json_decref(j);
    }
}

static void free_all(struct strmap *map, void (*fn)(void *))
{
    const char *key;
    size_t pos = 0;
    void *v;

    while (strmap_next(map, &pos, &key, &v)) {
        fn(v);
    }
    strmap_destroy(map);
}

static void free_svc(void *p) { k8s_service_free(p); }
static void free_slice(void *p) { k8s_slice_free(p); }
static void free_node(void *p) { k8s_node_free(p); }

/* The state as text: policies, then peers, each sorted. */
static char *render(const struct desired *d)
{
    const char **keys = strmap_sorted_keys(&d->policies);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);

    for (size_t i = 0; i < strmap_count(&d->policies); i++) {
        const struct policy *p = strmap_get(&d->policies, keys[i]);

        fprintf(f, "%s %s dsr=%d aff=%u %s", p->service, p->name, p->dsr, p->affinity_timeout,
                p->preserve_dip ? "preserve-dip " : "");
        for (size_t r = 0; r < p->n_source_ranges; r++) {
            fprintf(f, "%s%s%s", r ? "," : "src=", p->source_ranges[r],
                    r + 1 == p->n_source_ranges ? " " : "");
        }
        for (size_t j = 0; j < p->n_backends; j++) {
            char ip[IP_STR_LEN];

            fprintf(f, "%s%s:%u", j ? "," : "", addr_ip_str(p->backends[j].ip, ip),
                    p->backends[j].port);
        }
        fputc('\n', f);
    }
    free(keys);
    keys = strmap_sorted_keys(&d->peers);
    for (size_t i = 0; i < strmap_count(&d->peers); i++) {
        const struct peer *p = strmap_get(&d->peers, keys[i]);

        fprintf(f, "peer %s %s\n", p->node_ip, p->pod_cidr);
    }
    free(keys);
    fclose(f);
    return text;
}

Test(proxy_translate, table)
{
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const struct translate_case *c = &cases[i];
        struct strmap svcs = STRMAP_INITIALIZER, slices = STRMAP_INITIALIZER;
        struct strmap nodes = STRMAP_INITIALIZER;
        struct translate_config cfg = { .node_name = "n1", .dsr = c->dsr };
        struct translate_stats st;
        struct desired d;
        char *text;

        load(&svcs, c->services, 0);
        load(&slices, c->slices, 1);
        load(&nodes, c->nodes, 2);
        desired_init(&d);
        translate(&svcs, &slices, &nodes, &cfg, &d, &st);
        text = render(&d);
        cr_expect_str_eq(text, c->expect, "%s:\n got:\n%s want:\n%s", c->description, text,
                         c->expect);
        free(text);
        desired_destroy(&d);
        free_all(&svcs, free_svc);
        free_all(&slices, free_slice);
        free_all(&nodes, free_node);
    }
}

Test(proxy_translate, skip_counters)
{
    const struct translate_case *c = &cases[8];
    struct strmap svcs = STRMAP_INITIALIZER, slices = STRMAP_INITIALIZER;
    struct strmap nodes = STRMAP_INITIALIZER;
    struct translate_config cfg = { .node_name = "n1", .dsr = true };
    struct translate_stats st;
    struct desired d;

    load(&svcs, c->services, 0);
    desired_init(&d);
    translate(&svcs, &slices, &nodes, &cfg, &d, &st);
    cr_expect_eq(st.services, 5);
    cr_expect_eq(st.skipped[K8S_SVC_SKIP_HEADLESS], 1);
    cr_expect_eq(st.skipped[K8S_SVC_SKIP_EXTERNAL_NAME], 1);
    cr_expect_eq(st.skipped[K8S_SVC_SKIP_SERVICE_PROXY_NAME], 1);
    cr_expect_eq(st.skipped[K8S_SVC_SKIP_NO_CLUSTER_IP], 1);
    cr_expect_eq(st.skipped[K8S_SVC_SKIP_NOT_IPV4], 1);
    desired_destroy(&d);
    free_all(&svcs, free_svc);
}

/* Malformed objects: refused with a message naming the object and the field. */
struct malformed_case {
    int kind;
    const char *json;
    const char *error;
};

static const struct malformed_case malformed[] = {
    { 0, "{\"metadata\":{\"namespace\":\"default\"},\"spec\":{}}",
      "service (without metadata.name): missing or invalid metadata.name" },
    { 0, "{\"metadata\":{\"name\":\"s\",\"namespace\":\"ns\"}}", "service ns/s: missing spec" },
    { 0, "{\"metadata\":{\"name\":\"s\",\"namespace\":\"ns\"},\"spec\":{\"clusterIP\":"
      "\"10.96.0.1\",\"externalIPs\":\"198.51.100.1\"}}",
      "service ns/s: spec.externalIPs or status.loadBalancer.ingress: expected an array" },
    { 0, "{\"metadata\":{\"name\":\"s\",\"namespace\":\"ns\"},\"spec\":{\"clusterIP\":"
      "\"10.96.0.1\",\"loadBalancerSourceRanges\":[\"10.0.0.0/8\",\"10.0.0.0/33\"]}}",
      "service ns/s: spec.loadBalancerSourceRanges[1]: expected an IPv4 CIDR, e.g. "
      "203.0.113.0/24" },
    { 0, SVC("s", "\"clusterIP\":\"10.96.0.1\",\"ports\":[{\"port\":70000}]"),
      "service default/s: spec.ports[0].port: expected an integer from 1 to 65535" },
    { 0, SVC("s", "\"clusterIP\":\"10.96.0.1\",\"ports\":[{\"port\":80},{\"port\":\"x\"}]"),
      "service default/s: spec.ports[1].port: expected an integer from 1 to 65535" },
    { 0, SVC("s", "\"clusterIP\":\"10.96.0.1\",\"ports\":[{\"port\":80,\"nodePort\":0}]"),
      "service default/s: spec.ports[0].nodePort: expected an integer from 1 to 65535" },
    { 0, SVC("s", "\"clusterIP\":\"10.96.0.1\",\"ports\":[{\"port\":80,\"nodePort\":\"x\"}]"),
      "service default/s: spec.ports[0].nodePort: expected an integer from 1 to 65535" },
    { 0, SVC("s", "\"clusterIP\":\"10.96.0.1\",\"ports\":[{\"port\":80,\"protocol\":\"ICMP\"}]"),
      "service default/s: spec.ports[0].protocol: unknown protocol \"ICMP\"" },
    { 0, SVC("s", "\"clusterIP\":\"10.96.0.300\",\"ports\":[]"),
      "service default/s: spec.clusterIP: invalid address \"10.96.0.300\"" },
    { 0, SVC("s", "\"clusterIP\":\"10.96.0.1\",\"sessionAffinity\":\"ClientIP\","
              "\"sessionAffinityConfig\":{\"clientIP\":{\"timeoutSeconds\":0}}"),
      "service default/s: spec.sessionAffinityConfig.clientIP.timeoutSeconds: expected an "
      "integer from 1 to 86400" },
    { 1, SLICE("e", "s", "{\"port\":8080}", "{\"addresses\":[\"10.244.1.300\"]}"),
      "endpointslice default/e: endpoints[0].addresses[0]: expected an IPv4 address" },
    { 1, SLICE("e", "s", "{\"port\":0}", "{\"addresses\":[\"10.244.1.3\"]}"),
      "endpointslice default/e: ports[0].port: expected an integer from 1 to 65535" },
    { 2, "{\"metadata\":{\"name\":\"n\"},\"spec\":{\"podCIDR\":\"10.244.1.1/24\"}}",
      "node n: invalid pod CIDR \"10.244.1.1/24\"" },
};

Test(proxy_translate, malformed)
{
    for (size_t i = 0; i < sizeof malformed / sizeof *malformed; i++) {
        json_t *j = json_loads(malformed[i].json, 0, NULL);
        char err[256] = "";
        void *obj = NULL;
        int error;

        cr_assert(j, "bad test JSON %zu", i);
        if (malformed[i].kind == 0) {
            error = k8s_service_from_json(j, (struct k8s_service **) &obj, err, sizeof err);
        } else if (malformed[i].kind == 1) {
            error = k8s_slice_from_json(j, NULL, (struct k8s_slice **) &obj, err, sizeof err);
        } else {
            error = k8s_node_from_json(j, (struct k8s_node **) &obj, err, sizeof err);
        }
        cr_expect_neq(error, 0, "case %zu accepted", i);
        cr_expect_null(obj);
        cr_expect_str_eq(err, malformed[i].error, "case %zu", i);
        json_decref(j);
    }
}

/* --service-cidr and --cluster-cidr: what lies outside is still programmed, and counted. */
Test(proxy_translate, outside_the_service_and_cluster_cidrs)
{
    static const char *const services[] = {
        SVC("in", "\"clusterIP\":\"10.96.0.10\",\"ports\":[{\"name\":\"p\",\"port\":80}]"),
        SVC("out", "\"clusterIP\":\"10.200.0.10\",\"ports\":[{\"name\":\"p\",\"port\":80}]"),
        NULL,
    };
    static const char *const nodes[] = {
        NODE("n2", "192.168.50.2", "10.244.2.0/24"),
        NODE("n3", "192.168.50.3", "10.245.3.0/24"),
        NODE("n4", "192.168.50.4", "10.0.0.0/8"),
        NULL,
    };
    struct strmap svcs = STRMAP_INITIALIZER, slices = STRMAP_INITIALIZER;
    struct strmap nmap = STRMAP_INITIALIZER;
    struct cidr service, cluster;
    struct translate_config cfg = { .node_name = "n1", .dsr = true, .service_cidr = &service,
                                    .cluster_cidr = &cluster };
    struct translate_stats st;
    struct desired d;

    cr_assert_eq(addr_parse_cidr("10.96.0.0/12", &service), 0);
    cr_assert_eq(addr_parse_cidr("10.244.0.0/16", &cluster), 0);
    load(&svcs, services, 0);
    load(&nmap, nodes, 2);
    desired_init(&d);
    translate(&svcs, &slices, &nmap, &cfg, &d, &st);
    cr_expect_eq(st.policies, 2u, "both Services programmed");
    cr_expect_eq(st.outside_service_cidr, 1u, "10.200.0.10 is outside 10.96.0.0/12");
    cr_expect_eq(st.peers, 3u, "every node a peer");
    cr_expect_eq(st.outside_cluster_cidr, 2u, "10.245.3.0/24, and 10.0.0.0/8 which is wider");
    desired_destroy(&d);
    free_all(&svcs, free_svc);
    free_all(&nmap, free_node);
}

/* --nodeport-addresses: one policy per node address inside the CIDRs, none on 0.0.0.0. */
Test(proxy_translate, nodeport_addresses)
{
    static const char *const services[] = {
        SVC("np", "\"type\":\"NodePort\",\"clusterIP\":\"10.96.0.30\",\"ports\":"
            "[{\"port\":80,\"nodePort\":30080}]"),
        NULL,
    };
    struct strmap svcs = STRMAP_INITIALIZER, slices = STRMAP_INITIALIZER;
    struct strmap nodes = STRMAP_INITIALIZER;
    struct cidr cidrs[2];
    be32 addrs[3];
    struct translate_config cfg = { .node_name = "n1", .dsr = true, .nodeport_cidrs = cidrs,
                                    .n_nodeport_cidrs = 2, .node_addrs = addrs,
                                    .n_node_addrs = 3 };
    struct translate_stats st;
    struct desired d;
    char *text;

    cr_assert_eq(addr_parse_cidr("192.168.0.0/16", &cidrs[0]), 0);
    cr_assert_eq(addr_parse_cidr("10.0.0.0/8", &cidrs[1]), 0);
    cr_assert_eq(addr_parse_ip("192.168.50.1", &addrs[0]), 0);
    cr_assert_eq(addr_parse_ip("172.16.0.1", &addrs[1]), 0);
    cr_assert_eq(addr_parse_ip("10.0.0.5", &addrs[2]), 0);
    load(&svcs, services, 0);
    desired_init(&d);
    translate(&svcs, &slices, &nodes, &cfg, &d, &st);
    text = render(&d);
    cr_expect_str_eq(text,
                     "10.0.0.5:30080/tcp k8s:default/np dsr=1 aff=0 \n"
                     "10.96.0.30:80/tcp k8s:default/np dsr=1 aff=0 \n"
                     "192.168.50.1:30080/tcp k8s:default/np dsr=1 aff=0 \n", "got:\n%s", text);
    free(text);
    desired_destroy(&d);
    free_all(&svcs, free_svc);
}

/* kube-proxy's health check node ports: only for externalTrafficPolicy Local with a
 * healthCheckNodePort; this node's ready endpoints counted by address (two ports of one pod
 * are one endpoint); a port claimed twice goes to the first Service by key. */
Test(proxy_translate, health_checks)
{
    const char *services[] = {
        SVC("a", "\"type\":\"LoadBalancer\",\"clusterIP\":\"10.96.0.30\",\"externalTrafficPolicy\":"
                 "\"Local\",\"healthCheckNodePort\":32000,\"ports\":[{\"name\":\"p\",\"port\":80},"
                 "{\"name\":\"q\",\"port\":81}]"),
        SVC("b", "\"type\":\"LoadBalancer\",\"clusterIP\":\"10.96.0.31\",\"externalTrafficPolicy\":"
                 "\"Local\",\"healthCheckNodePort\":32001,\"ports\":[{\"port\":80}]"),
        SVC("c", "\"type\":\"LoadBalancer\",\"clusterIP\":\"10.96.0.32\",\"externalTrafficPolicy\":"
                 "\"Cluster\",\"healthCheckNodePort\":32002,\"ports\":[{\"port\":80}]"),
        SVC("d", "\"type\":\"LoadBalancer\",\"clusterIP\":\"10.96.0.33\",\"externalTrafficPolicy\":"
                 "\"Local\",\"healthCheckNodePort\":32000,\"ports\":[{\"port\":80}]"),
        NULL,
    };
    const char *slices[] = {
        SLICE("a-1", "a", "{\"name\":\"p\",\"port\":8080},{\"name\":\"q\",\"port\":8081}",
              EP("10.244.1.5", "\"ready\":true", "n1") "," EP("10.244.1.6", "\"ready\":false", "n1")
              "," EP("10.244.2.5", "\"ready\":true", "n2")),
        SLICE("a-2", "a", "{\"name\":\"p\",\"port\":8080}", EP("10.244.1.5", "", "n1") ","
              EP("10.244.1.7", "", "n1")),
        SLICE("b-1", "b", "{\"port\":8080}", EP("10.244.2.6", "", "n2")),
        NULL,
    };
    struct strmap svcs = STRMAP_INITIALIZER, sl = STRMAP_INITIALIZER;
    struct health_check *hcs;
    size_t n;

    load(&svcs, services, 0);
    load(&sl, slices, 1);
    n = translate_health_checks(&svcs, &sl, &hcs);
    cr_assert_eq(n, 2);
    cr_expect_eq(hcs[0].port, 32000);
    cr_expect_str_eq(hcs[0].namespace_, "default");
    cr_expect_str_eq(hcs[0].name, "a");
    cr_expect_eq(hcs[0].local_endpoints, 2, "10.244.1.5 (twice) and 10.244.1.7; .6 not ready");
    cr_expect_eq(hcs[1].port, 32001);
    cr_expect_str_eq(hcs[1].name, "b");
    cr_expect_eq(hcs[1].local_endpoints, 0, "its only endpoint is on n2");
    free(hcs);
    free_all(&svcs, free_svc);
    free_all(&sl, free_slice);
}
