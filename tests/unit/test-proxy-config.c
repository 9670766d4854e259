/* vswitch-proxy's configuration and state helpers: kubeconfig (YAML and JSON, inline data,
 * relative files, errors), the in-cluster configuration, base64, backoff bounds with jitter,
 * the desired-state diff and the policy names. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/util.h"
#include "proxy/backoff.h"
#include "proxy/desired.h"
#include "proxy/kubeconfig.h"

static char dir[64];

static const char *write_file(const char *name, const char *text)
{
    static char path[128];
    FILE *f;

    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/vsw-proxy-unit.XXXXXX");
        cr_assert(mkdtemp(dir));
    }
    snprintf(path, sizeof path, "%s/%s", dir, name);
    f = fopen(path, "w");
    cr_assert(f);
    fputs(text, f);
    fclose(f);
    return path;
}

Test(proxy_config, kubeconfig_yaml)
{
    struct kube_config cfg;
    char err[256] = "";
    const char *path = write_file("kc.yaml",
        "apiVersion: v1\n"
        "kind: Config\n"
        "current-context: b\n"
        "clusters:\n"
        "- name: c1\n"
        "  cluster:\n"
        "    server: https://10.0.0.1:6443/\n"
        "    certificate-authority-data: aGVsbG8=\n"
        "- name: c2\n"
        "  cluster: {server: 'https://k8s.example:443', certificate-authority: ca.pem}\n"
        "users:\n"
        "- name: u1\n"
        "  user:\n"
        "    token: abc\n"
        "- name: u2\n"
        "  user:\n"
        "    tokenFile: /var/run/tok\n"
        "    client-certificate: c.pem\n"
        "    client-key: /abs/k.pem\n"
        "contexts:\n"
        "- name: a\n"
        "  context: {cluster: c1, user: u1}\n"
        "- name: b\n"
        "  context:\n"
        "    cluster: c2\n"
        "    user: u2\n");
    char ca[160];

    cr_assert_eq(kubeconfig_load(path, NULL, &cfg, err, sizeof err), 0, "%s", err);
    snprintf(ca, sizeof ca, "%s/ca.pem", dir);
    cr_expect_str_eq(cfg.server, "https://k8s.example:443");
    cr_expect_str_eq(cfg.ca_file, ca);
    cr_expect_str_eq(cfg.token_file, "/var/run/tok");
    cr_expect_null(cfg.token);
    cr_expect_str_eq(cfg.key_file, "/abs/k.pem");
    kubeconfig_destroy(&cfg);

    cr_assert_eq(kubeconfig_load(path, "a", &cfg, err, sizeof err), 0, "%s", err);
    cr_expect_str_eq(cfg.server, "https://10.0.0.1:6443");
    cr_expect_eq(cfg.ca_data_len, 5);
    cr_expect_str_eq(cfg.ca_data, "hello");
    cr_expect_str_eq(cfg.token, "abc");
    kubeconfig_destroy(&cfg);
}

Test(proxy_config, kubeconfig_json_and_errors)
{
    struct kube_config cfg;
    char err[256] = "";
    const char *path;

    path = write_file("kc.json", "{\"current-context\":\"x\",\"contexts\":[{\"name\":\"x\","
                      "\"context\":{\"cluster\":\"c\",\"user\":\"u\"}}],\"clusters\":[{\"name\":"
                      "\"c\",\"cluster\":{\"server\":\"https://h:1\"}}],\"users\":[{\"name\":"
                      "\"u\",\"user\":{\"token\":\"t\"}}]}");
    cr_assert_eq(kubeconfig_load(path, NULL, &cfg, err, sizeof err), 0, "%s", err);
    cr_expect_str_eq(cfg.token, "t");
    kubeconfig_destroy(&cfg);

    cr_expect_neq(kubeconfig_load(path, "nope", &cfg, err, sizeof err), 0);
    cr_expect(strstr(err, "no context named \"nope\""), "%s", err);

    path = write_file("exec.yaml", "current-context: x\ncontexts: [{name: x, context: "
                      "{cluster: c, user: u}}]\nclusters: [{name: c, cluster: {server: "
                      "'https://h:1'}}]\nusers: [{name: u, user: {exec: {command: aws}}}]\n");
    cr_expect_neq(kubeconfig_load(path, NULL, &cfg, err, sizeof err), 0);
    cr_expect(strstr(err, "exec and auth-provider credential plugins are not supported"),
              "%s", err);

    path = write_file("bad.yaml", "clusters: [\n");
    cr_expect_neq(kubeconfig_load(path, NULL, &cfg, err, sizeof err), 0);
    cr_expect(strstr(err, "kubeconfig "), "%s", err);

    cr_expect_neq(kubeconfig_load("/nonexistent/kc", NULL, &cfg, err, sizeof err), 0);
    cr_expect(strstr(err, "cannot read /nonexistent/kc"), "%s", err);
}

Test(proxy_config, in_cluster)
{
    struct kube_config cfg;
    char err[256] = "";

    write_file("token", "t0k\n");
    write_file("ca.crt", "x");
    unsetenv("KUBERNETES_SERVICE_HOST");
    cr_expect_eq(kubeconfig_in_cluster(dir, &cfg, err, sizeof err), -ENOENT);
    cr_expect(strstr(err, "KUBERNETES_SERVICE_HOST"), "%s", err);
    setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
    setenv("KUBERNETES_SERVICE_PORT", "443", 1);
    cr_assert_eq(kubeconfig_in_cluster(dir, &cfg, err, sizeof err), 0, "%s", err);
    cr_expect_str_eq(cfg.server, "https://10.96.0.1:443");
    cr_expect(strstr(cfg.token_file, "/token"));
    kubeconfig_destroy(&cfg);
    setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
    cr_assert_eq(kubeconfig_in_cluster(dir, &cfg, err, sizeof err), 0, "%s", err);
    cr_expect_str_eq(cfg.server, "https://[fd00::1]:443");
    kubeconfig_destroy(&cfg);
}

Test(proxy_config, base64)
{
    char *out;
    size_t len;

    cr_assert_eq(kubeconfig_base64_decode("aGVs\nbG8gd29y bGQ=", &out, &len), 0);
    cr_expect_eq(len, 11);
    cr_expect_str_eq(out, "hello world");
    free(out);
    cr_assert_eq(kubeconfig_base64_decode("YQ", &out, &len), 0);
    cr_expect_str_eq(out, "a");
    free(out);
    cr_expect_neq(kubeconfig_base64_decode("a*b", &out, &len), 0);
    cr_expect_neq(kubeconfig_base64_decode("YQ==YQ", &out, &len), 0);
}

Test(proxy_config, backoff_with_jitter)
{
    struct backoff b;
    uint32_t lo[] = { 50, 100, 200, 400, 800, 800 }, hi[] = { 100, 200, 400, 800, 1600, 1600 };

    backoff_init(&b, 100, 1600);
    for (int round = 0; round < 2; round++) {
        for (size_t i = 0; i < sizeof lo / sizeof *lo; i++) {
            uint32_t d = backoff_next(&b);

            cr_expect(d >= lo[i] && d <= hi[i], "try %zu: %u not in [%u, %u]", i, d, lo[i],
                      hi[i]);
        }
        backoff_reset(&b);
    }
}

static struct policy *pol(const char *svc, const char *name, const char *backend)
{
    struct policy *p = xcalloc(1, sizeof *p);

    str_copy(p->service, svc, sizeof p->service);
    str_copy(p->name, name, sizeof p->name);
    p->dsr = true;
    if (backend) {
        p->backends = xcalloc(1, sizeof *p->backends);
        cr_assert_eq(addr_parse_ip(backend, &p->backends[0].ip), 0);
        p->backends[0].port = 80;
        p->n_backends = 1;
    }
    return p;
}

static struct peer *peer(const char *ip, const char *cidr)
{
    struct peer *p = xcalloc(1, sizeof *p);

    str_copy(p->node_ip, ip, sizeof p->node_ip);
    str_copy(p->pod_cidr, cidr, sizeof p->pod_cidr);
    return p;
}

Test(proxy_config, diff)
{
    struct desired want, have;
    struct desired_diff d;

    desired_init(&want);
    desired_init(&have);
    desired_add_policy(&have, pol("10.96.0.1:80/tcp", "k8s:a/same", "10.244.1.1"));
    desired_add_policy(&have, pol("10.96.0.2:80/tcp", "k8s:a/changed", "10.244.1.1"));
    desired_add_policy(&have, pol("10.96.0.3:80/tcp", "k8s:a/gone", NULL));
    desired_add_policy(&want, pol("10.96.0.1:80/tcp", "k8s:a/same", "10.244.1.1"));
    desired_add_policy(&want, pol("10.96.0.2:80/tcp", "k8s:a/changed", "10.244.1.2"));
    desired_add_policy(&want, pol("10.96.0.4:80/tcp", "k8s:a/new", NULL));
    cr_expect(!desired_add_policy(&want, pol("10.96.0.4:80/tcp", "k8s:a/dup", NULL)));
    desired_add_peer(&have, peer("192.168.0.2", "10.244.2.0/24"));
    desired_add_peer(&have, peer("192.168.0.3", "10.244.3.0/24"));
    desired_add_peer(&have, peer("192.168.0.4", "10.244.4.0/24"));
    desired_add_peer(&want, peer("192.168.0.2", "10.244.2.0/24"));
    desired_add_peer(&want, peer("192.168.0.3", "10.244.33.0/24"));
    desired_add_peer(&want, peer("192.168.0.5", "10.244.5.0/24"));

    desired_diff(&want, &have, &d);
    cr_assert_eq(d.n_del_policies, 1);
    cr_expect_str_eq(d.del_policies[0], "10.96.0.3:80/tcp");
    cr_assert_eq(d.n_add_policies, 2);
    cr_expect_str_eq(d.add_policies[0]->service, "10.96.0.2:80/tcp");
    cr_expect_str_eq(d.add_policies[1]->service, "10.96.0.4:80/tcp");
    cr_assert_eq(d.n_del_peers, 2);
    cr_expect_str_eq(d.del_peers[0], "192.168.0.3");     /* CIDR moved: delete, then add */
    cr_expect_str_eq(d.del_peers[1], "192.168.0.4");
    cr_assert_eq(d.n_add_peers, 2);
    cr_expect_str_eq(d.add_peers[0]->node_ip, "192.168.0.3");
    cr_expect_str_eq(d.add_peers[1]->node_ip, "192.168.0.5");
    desired_diff_destroy(&d);

    desired_diff(&want, &want, &d);
    cr_expect_eq(desired_diff_size(&d), 0);
    desired_diff_destroy(&d);
    desired_destroy(&want);
    desired_destroy(&have);
}

Test(proxy_config, policy_names)
{
    char name[LB_CONFIG_NAME_MAX], buf[64];
    char longsvc[200];

    desired_policy_name("default/web", "http", name);
    cr_expect_str_eq(name, "k8s:default/web:http");
    desired_policy_name("default/web", "", name);
    cr_expect_str_eq(name, "k8s:default/web");
    cr_expect(desired_owns_name(name));
    cr_expect(!desired_owns_name("LB_DSR_12345_10.96.0.1_80_6"));

    memset(longsvc, 'a', sizeof longsvc - 1);
    longsvc[sizeof longsvc - 1] = '\0';
    longsvc[63] = '/';
    desired_policy_name(longsvc, "http", name);
    cr_expect_eq(strlen(name), LB_CONFIG_NAME_MAX - 1);
    cr_expect_null(lb_config_name_problem(name, buf, sizeof buf), "%s", name);
    cr_expect(desired_owns_name(name));
}
