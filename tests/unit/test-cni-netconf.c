/* CNI plugin input (cni/netconf.h, cni/env.h): the network configuration and the CNI_*
 * environment, table-driven: every accepted form gives the expected values, every rejected
 * one the specification's error code and exactly the message a user will read. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <string.h>

#include "cni/env.h"
#include "cni/netconf.h"
#include "cni/version.h"
#include "lib/ctl-client.h"
#include "lib/log.h"
#include "lib/types.h"

/* ---- netconf ---- */

#define IPAM "\"ipam\":{\"type\":\"host-local\"}"
#define BASE "\"cniVersion\":\"1.0.0\",\"name\":\"podnet\",\"type\":\"vswitch\""

struct netconf_bad {
    const char *desc;
    const char *json;
    int code;
    const char *msg;
};

static const struct netconf_bad netconf_bad[] = {
    { "not JSON", "{\"cniVersion\":", 6,
      "cannot decode the network configuration: unexpected token near end of file "
      "(line 1, column 14)" },
    { "empty input", "", 6,
      "cannot decode the network configuration: '[' or '{' expected near end of file "
      "(line 1, column 0)" },
    { "an array", "[1]", 6,
      "cannot decode the network configuration: it is not a JSON object" },
    { "duplicate key", "{\"name\":\"a\",\"name\":\"b\"}", 6,
      "cannot decode the network configuration: duplicate object key near '\"name\"' "
      "(line 1, column 18)" },
    { "no cniVersion", "{\"name\":\"podnet\",\"type\":\"vswitch\"," IPAM "}", 7,
      "network configuration: \"cniVersion\" is missing" },
    { "cniVersion a number", "{\"cniVersion\":1,\"name\":\"podnet\"}", 7,
      "network configuration: \"cniVersion\" must be a string" },
    { "cniVersion too old", "{\"cniVersion\":\"0.2.0\",\"name\":\"podnet\"}", 1,
      "network configuration: cniVersion \"0.2.0\" is not supported (supported: 0.3.0, "
      "0.3.1, 0.4.0, 1.0.0, 1.1.0)" },
    { "cniVersion from the future", "{\"cniVersion\":\"2.0.0\"}", 1,
      "network configuration: cniVersion \"2.0.0\" is not supported (supported: 0.3.0, "
      "0.3.1, 0.4.0, 1.0.0, 1.1.0)" },
    { "no name", "{\"cniVersion\":\"1.0.0\",\"type\":\"vswitch\"," IPAM "}", 7,
      "network configuration: \"name\" is missing" },
    { "empty name", "{\"cniVersion\":\"1.0.0\",\"name\":\"\",\"type\":\"vswitch\"}", 7,
      "network configuration: \"name\" is missing" },
    { "bad name", "{\"cniVersion\":\"1.0.0\",\"name\":\"pod net\",\"type\":\"vswitch\"}", 7,
      "network configuration: \"name\" \"pod net\" must start with a letter or digit and "
      "hold only letters, digits, '_', '.' and '-'" },
    { "name starts with a dash", "{\"cniVersion\":\"1.0.0\",\"name\":\"-x\",\"type\":\"v\"}", 7,
      "network configuration: \"name\" \"-x\" must start with a letter or digit and hold "
      "only letters, digits, '_', '.' and '-'" },
    { "no type", "{\"cniVersion\":\"1.0.0\",\"name\":\"podnet\"}", 7,
      "network configuration: \"type\" is missing" },
    { "ctl relative", "{" BASE ",\"ctl\":\"run/ctl.sock\"," IPAM "}", 7,
      "network configuration: \"ctl\" \"run/ctl.sock\" must be an absolute socket path of "
      "at most 107 bytes" },
    { "ctl not a string", "{" BASE ",\"ctl\":7," IPAM "}", 7,
      "network configuration: \"ctl\" must be a string" },
    { "mtu too small", "{" BASE ",\"mtu\":67," IPAM "}", 7,
      "network configuration: \"mtu\" must be an integer from 68 to 65535, not 67" },
    { "mtu too big", "{" BASE ",\"mtu\":65536," IPAM "}", 7,
      "network configuration: \"mtu\" must be an integer from 68 to 65535, not 65536" },
    { "mtu a string", "{" BASE ",\"mtu\":\"1450\"," IPAM "}", 7,
      "network configuration: \"mtu\" must be an integer from 68 to 65535, not \"1450\"" },
    { "mtu a float", "{" BASE ",\"mtu\":1450.5," IPAM "}", 7,
      "network configuration: \"mtu\" must be an integer from 68 to 65535, not 1450.5" },
    { "no ipam", "{" BASE "}", 7,
      "network configuration: \"ipam\" is missing (vswitch takes addresses from an IPAM "
      "plugin such as host-local)" },
    { "ipam not an object", "{" BASE ",\"ipam\":\"host-local\"}", 7,
      "network configuration: \"ipam\" must be an object" },
    { "ipam without type", "{" BASE ",\"ipam\":{\"subnet\":\"10.0.0.0/8\"}}", 7,
      "network configuration: ipam.\"type\" is missing" },
    { "ipam type a path", "{" BASE ",\"ipam\":{\"type\":\"../../bin/sh\"}}", 7,
      "network configuration: ipam.\"type\" \"../../bin/sh\" must be a plugin name, not a "
      "path" },
    { "logFile relative", "{" BASE "," IPAM ",\"logFile\":\"cni.log\"}", 7,
      "network configuration: \"logFile\" \"cni.log\" must be an absolute path" },
    { "logLevel unknown", "{" BASE "," IPAM ",\"logLevel\":\"verbose\"}", 7,
      "network configuration: \"logLevel\" \"verbose\" is not one of error, warn, info, "
      "debug" },
    { "dns not an object", "{" BASE "," IPAM ",\"dns\":[]}", 7,
      "network configuration: \"dns\" must be an object" },
    { "prevResult not an object", "{" BASE "," IPAM ",\"prevResult\":1}", 7,
      "network configuration: \"prevResult\" must be an object" },
    { "valid-attachments not an array",
      "{" BASE "," IPAM ",\"cni.dev/valid-attachments\":{}}", 7,
      "network configuration: \"cni.dev/valid-attachments\" must be an array" },
    { "valid-attachment without ifname",
      "{" BASE "," IPAM ",\"cni.dev/valid-attachments\":[{\"containerID\":\"a\",\"ifname\":"
      "\"eth0\"},{\"containerID\":\"b\"}]}", 7,
      "network configuration: \"cni.dev/valid-attachments\"[1] must be an object with the "
      "strings \"containerID\" and \"ifname\"" },
};

/* Criterion may run each case in a re-executed process where the table's pointers would not
 * hold: pass indexes into the tables, not the cases themselves. */
static size_t netconf_bad_index[ARRAY_SIZE(netconf_bad)];

ParameterizedTestParameters(cni_netconf, rejects)
{
    for (size_t i = 0; i < ARRAY_SIZE(netconf_bad); i++) {
        netconf_bad_index[i] = i;
    }
    return cr_make_param_array(size_t, netconf_bad_index, ARRAY_SIZE(netconf_bad));
}

ParameterizedTest(size_t *index, cni_netconf, rejects)
{
    const struct netconf_bad *t = &netconf_bad[*index];
    struct cni_err err = { 0 };
    struct netconf conf;

    cr_assert_neq(netconf_parse(t->json, strlen(t->json), &conf, &err), 0, "%s: accepted",
                  t->desc);
    cr_expect_eq(err.code, t->code, "%s: code %d, expected %d", t->desc, err.code, t->code);
    cr_expect_str_eq(err.msg, t->msg, "%s: got '%s'", t->desc, err.msg);
    netconf_destroy(&conf);
}

Test(cni_netconf, defaults)
{
    const char *json = "{" BASE "," IPAM "}";
    struct cni_err err = { 0 };
    struct netconf conf;

    cr_assert_eq(netconf_parse(json, strlen(json), &conf, &err), 0, "%s", err.msg);
    cr_expect_str_eq(conf.cni_version, "1.0.0");
    cr_expect_str_eq(conf.name, "podnet");
    cr_expect_str_eq(conf.type, "vswitch");
    cr_expect_str_eq(conf.ctl, CTL_DEFAULT_PATH);
    cr_expect_eq(conf.mtu, NETCONF_DEFAULT_MTU);
    cr_expect_str_eq(conf.ipam_type, "host-local");
    cr_expect_null(conf.log_file);
    cr_expect_eq(conf.log_level, LOG_LVL_INFO);
    cr_expect_null(conf.dns);
    cr_expect_null(conf.prev_result);
    cr_expect_not(conf.has_valid_attachments);
    netconf_destroy(&conf);
}

Test(cni_netconf, everything)
{
    const char *json =
        "{\"cniVersion\":\"1.1.0\",\"name\":\"pod_net.1\",\"type\":\"vswitch\","
        "\"ctl\":\"/tmp/v.sock\",\"mtu\":9000,\"logFile\":\"/var/log/c.log\","
        "\"logLevel\":\"debug\",\"dns\":{\"nameservers\":[\"10.96.0.10\"]},"
        "\"ipam\":{\"type\":\"host-local\",\"ranges\":[[{\"subnet\":\"10.244.1.0/24\"}]]},"
        "\"prevResult\":{\"cniVersion\":\"1.1.0\"},"
        "\"cni.dev/valid-attachments\":[{\"containerID\":\"c1\",\"ifname\":\"eth0\"},"
        "{\"containerID\":\"c2\",\"ifname\":\"net1\"}],"
        "\"runtimeConfig\":{\"portMappings\":[]},\"somethingElse\":[1,2,3]}";
    struct cni_err err = { 0 };
    struct netconf conf;

    cr_assert_eq(netconf_parse(json, strlen(json), &conf, &err), 0, "%s", err.msg);
    cr_expect_str_eq(conf.ctl, "/tmp/v.sock");
    cr_expect_eq(conf.mtu, 9000);
    cr_expect_str_eq(conf.log_file, "/var/log/c.log");
    cr_expect_eq(conf.log_level, LOG_LVL_DBG);
    cr_expect_not_null(conf.dns);
    cr_expect_not_null(conf.prev_result);
    cr_assert(conf.has_valid_attachments);
    cr_assert_eq(conf.n_valid_attachments, 2);
    cr_expect_str_eq(conf.valid_attachments[1].container_id, "c2");
    cr_expect_str_eq(conf.valid_attachments[1].ifname, "net1");
    cr_expect_str_eq(netconf_reply_version(&conf), "1.1.0");
    netconf_destroy(&conf);
}

Test(cni_netconf, every_supported_version)
{
    for (size_t i = 0; i < cni_n_versions; i++) {
        char json[256];
        struct cni_err err = { 0 };
        struct netconf conf;

        snprintf(json, sizeof json, "{\"cniVersion\":\"%s\",\"name\":\"n\",\"type\":\"v\","
                 IPAM "}", cni_versions[i]);
        cr_expect_eq(netconf_parse(json, strlen(json), &conf, &err), 0, "%s: %s",
                     cni_versions[i], err.msg);
        netconf_destroy(&conf);
    }
}

Test(cni_netconf, reply_version_of_unsupported)
{
    const char *json = "{\"cniVersion\":\"9.9.9\"}";
    struct cni_err err = { 0 };
    struct netconf conf;

    cr_assert_neq(netconf_parse(json, strlen(json), &conf, &err), 0);
    cr_expect_str_eq(netconf_reply_version(&conf), CNI_VERSION_LATEST);
    netconf_destroy(&conf);
}

/* ---- environment ---- */

struct env_case {
    const char *desc;
    const char *vars[8];
    int code;                   /* 0: accepted. */
    const char *msg;
};

#define ENV_ADD "CNI_COMMAND=ADD", "CNI_CONTAINERID=abc-1_2.3", "CNI_NETNS=/run/netns/p1", \
                "CNI_IFNAME=eth0", "CNI_PATH=/usr/lib/cni"

static const struct env_case env_cases[] = {
    { "ADD complete", { ENV_ADD }, 0, "" },
    { "DEL without netns", { "CNI_COMMAND=DEL", "CNI_CONTAINERID=c", "CNI_IFNAME=eth0",
                             "CNI_PATH=/p" }, 0, "" },
    { "DEL with empty netns", { "CNI_COMMAND=DEL", "CNI_CONTAINERID=c", "CNI_NETNS=",
                                "CNI_IFNAME=eth0", "CNI_PATH=/p" }, 0, "" },
    { "VERSION alone", { "CNI_COMMAND=VERSION" }, 0, "" },
    { "STATUS without CNI_PATH", { "CNI_COMMAND=STATUS" }, 0, "" },
    { "GC", { "CNI_COMMAND=GC", "CNI_PATH=/p" }, 0, "" },
    { "no command", { "CNI_CONTAINERID=c" }, 4, "CNI_COMMAND is not set" },
    { "empty command", { "CNI_COMMAND=" }, 4, "CNI_COMMAND is not set" },
    { "unknown command", { "CNI_COMMAND=add" }, 4,
      "CNI_COMMAND \"add\" is not one of ADD, DEL, CHECK, GC, STATUS, VERSION" },
    { "ADD without container id", { "CNI_COMMAND=ADD", "CNI_NETNS=/n", "CNI_IFNAME=eth0",
                                    "CNI_PATH=/p" }, 4,
      "CNI_CONTAINERID is not set (required for ADD)" },
    { "bad container id", { "CNI_COMMAND=CHECK", "CNI_CONTAINERID=a/b" }, 4,
      "CNI_CONTAINERID \"a/b\" is invalid: only letters, digits, '_', '.' and '-' are "
      "allowed" },
    { "ADD without netns", { "CNI_COMMAND=ADD", "CNI_CONTAINERID=c", "CNI_IFNAME=eth0" }, 4,
      "CNI_NETNS is not set (required for ADD)" },
    { "CHECK with relative netns", { "CNI_COMMAND=CHECK", "CNI_CONTAINERID=c",
                                     "CNI_NETNS=run/netns/x" }, 4,
      "CNI_NETNS \"run/netns/x\" is not an absolute path" },
    { "ADD without ifname", { "CNI_COMMAND=ADD", "CNI_CONTAINERID=c", "CNI_NETNS=/n" }, 4,
      "CNI_IFNAME is not set (required for ADD)" },
    { "ifname too long", { "CNI_COMMAND=ADD", "CNI_CONTAINERID=c", "CNI_NETNS=/n",
                           "CNI_IFNAME=abcdefghijklmnop" }, 4,
      "CNI_IFNAME \"abcdefghijklmnop\" is invalid: it is longer than 15 characters" },
    { "ifname with colon", { "CNI_COMMAND=DEL", "CNI_CONTAINERID=c", "CNI_IFNAME=eth0:1" }, 4,
      "CNI_IFNAME \"eth0:1\" is invalid: it contains '/', ':' or white space" },
    { "ifname dot-dot", { "CNI_COMMAND=DEL", "CNI_CONTAINERID=c", "CNI_IFNAME=.." }, 4,
      "CNI_IFNAME \"..\" is invalid: it is . or .." },
    { "ADD without CNI_PATH", { "CNI_COMMAND=ADD", "CNI_CONTAINERID=c", "CNI_NETNS=/n",
                                "CNI_IFNAME=eth0" }, 4,
      "CNI_PATH is not set (required for ADD)" },
    { "GC without CNI_PATH", { "CNI_COMMAND=GC" }, 4, "CNI_PATH is not set (required for GC)" },
    { "CNI_ARGS pair without =", { ENV_ADD, "CNI_ARGS=IgnoreUnknown=1;K8S_POD_NAME" }, 4,
      "CNI_ARGS: \"K8S_POD_NAME\" is not KEY=VALUE" },
    { "CNI_ARGS empty key", { ENV_ADD, "CNI_ARGS==x" }, 4, "CNI_ARGS: \"=x\" is not KEY=VALUE" },
};

static size_t env_index[ARRAY_SIZE(env_cases)];

ParameterizedTestParameters(cni_env, cases)
{
    for (size_t i = 0; i < ARRAY_SIZE(env_cases); i++) {
        env_index[i] = i;
    }
    return cr_make_param_array(size_t, env_index, ARRAY_SIZE(env_cases));
}

ParameterizedTest(size_t *index, cni_env, cases)
{
    const struct env_case *t = &env_cases[*index];
    struct cni_err err = { 0 };
    struct cni_env env;
    int ret = cni_env_parse((char *const *) t->vars, &env, &err);

    if (!t->code) {
        cr_expect_eq(ret, 0, "%s: rejected: %s", t->desc, err.msg);
    } else {
        cr_expect_neq(ret, 0, "%s: accepted", t->desc);
        cr_expect_eq(err.code, t->code, "%s: code %d", t->desc, err.code);
        cr_expect_str_eq(err.msg, t->msg, "%s: got '%s'", t->desc, err.msg);
    }
    cni_env_destroy(&env);
}

Test(cni_env, args_pod_metadata)
{
    const char *vars[] = {
        ENV_ADD,
        "CNI_ARGS=IgnoreUnknown=1;K8S_POD_NAMESPACE=kube-system;K8S_POD_NAME=coredns-5d78c;"
        "K8S_POD_INFRA_CONTAINER_ID=abc;K8S_POD_UID=1234",
        NULL,
    };
    struct cni_err err = { 0 };
    struct cni_env env;

    cr_assert_eq(cni_env_parse((char *const *) vars, &env, &err), 0, "%s", err.msg);
    cr_expect_eq(env.command, CNI_CMD_ADD);
    cr_expect_str_eq(env.container_id, "abc-1_2.3");
    cr_expect_str_eq(env.netns, "/run/netns/p1");
    cr_expect_str_eq(env.ifname, "eth0");
    cr_expect_str_eq(env.path, "/usr/lib/cni");
    cr_expect_str_eq(env.pod_namespace, "kube-system");
    cr_expect_str_eq(env.pod_name, "coredns-5d78c");
    cni_env_destroy(&env);
}

Test(cni_env, args_absent)
{
    const char *vars[] = { ENV_ADD, NULL };
    struct cni_err err = { 0 };
    struct cni_env env;

    cr_assert_eq(cni_env_parse((char *const *) vars, &env, &err), 0, "%s", err.msg);
    cr_expect_null(env.pod_namespace);
    cr_expect_null(env.pod_name);
    cni_env_destroy(&env);
}

Test(cni_env, pod_name_too_long)
{
    char args[400];
    const char *vars[] = { ENV_ADD, args, NULL };
    struct cni_err err = { 0 };
    struct cni_env env;

    snprintf(args, sizeof args, "CNI_ARGS=K8S_POD_NAME=%0254d", 0);
    cr_assert_neq(cni_env_parse((char *const *) vars, &env, &err), 0);
    cr_expect_eq(err.code, 4);
    cr_expect_str_eq(err.msg, "CNI_ARGS: K8S_POD_NAME is longer than 253 characters");
    cni_env_destroy(&env);
}
