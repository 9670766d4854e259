/* Applying the desired state to vswitchd; see applier.h. */
#include "proxy/applier.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define LOG_MODULE "applier"
#include "lib/addr.h"
#include "lib/ctl-msg.h"
#include "lib/log.h"
#include "lib/util.h"

/* A batch whose refused operations are left out is sent again; past this many refusals in
 * one sync something is wrong with the proxy rather than with a few objects. */
#define MAX_REJECTS_PER_SYNC 64

/* vswitchd's shortest --ctl-idle-timeout is 1 s: a connection that moved a request more
 * recently than that was not closed for being idle. */
#define IDLE_CLOSE_MIN_MS 1000

/* Values of the 'foreign' map: a hand-made policy, not reported yet / reported. */
#define FOREIGN_NEW ((void *) 1)
#define FOREIGN_WARNED ((void *) 2)

void applier_init(struct applier *a, const char *ctl_path, int timeout_ms, bool sync_peers)
{
    memset(a, 0, sizeof *a);
    a->ctl_path = xstrdup(ctl_path);
    a->timeout_ms = timeout_ms;
    a->sync_peers = sync_peers;
    desired_init(&a->have);
    strmap_init(&a->foreign);
    strmap_init(&a->rejected);
}

static void clear_rejected(struct applier *a)
{
    const char *key;
    size_t pos = 0;
    void *v;

    while (strmap_next(&a->rejected, &pos, &key, &v)) {
        if (key[0] == 'l') {
            policy_free(v);
        } else {
            free(v);
        }
    }
    strmap_destroy(&a->rejected);
}

void applier_destroy(struct applier *a)
{
    applier_disconnect(a);
    desired_destroy(&a->have);
    strmap_destroy(&a->foreign);
    clear_rejected(a);
    free(a->ctl_path);
}

void applier_disconnect(struct applier *a)
{
    if (a->client) {
        ctl_client_close(a->client);
        a->client = NULL;
    }
    desired_destroy(&a->have);
    desired_init(&a->have);
}

int applier_fd(const struct applier *a)
{
    return a->client ? ctl_client_fd(a->client) : -1;
}

bool applier_check_closed(struct applier *a)
{
    struct pollfd pfd = { .fd = applier_fd(a), .events = POLLIN };
    char byte;

    if (pfd.fd < 0 || poll(&pfd, 1, 0) <= 0) {
        return false;
    }
    if (pfd.revents & POLLIN && recv(pfd.fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT) > 0) {
        /* vswitchd sent something unasked: the stream is out of step; start over. */
        LOG_WARN("unexpected data from vswitchd at %s: reconnecting", a->ctl_path);
    } else {
        /* Nothing was in progress: an idle close or a restart, which reconnecting tells
         * apart. */
        LOG_DBG("vswitchd at %s closed the connection, idle for %llu ms: reconnecting",
                a->ctl_path, (unsigned long long) (time_msec() - a->last_used_ms));
        a->closed_idle = true;
    }
    applier_disconnect(a);
    return true;
}

/* Sends 'req' and checks its status.  Returns 0 with '*resp' (free it), or a negative
 * errno: a failed exchange disconnects; a refused request leaves '*resp' set for the caller
 * to inspect. */
static int call(struct applier *a, const Vswitch__Request *req, Vswitch__Response **resp,
                const char *what, char *err, size_t errlen)
{
    bool was_idle = time_msec() - a->last_used_ms >= IDLE_CLOSE_MIN_MS;
    char msg[512];
    int error = ctl_client_transact(a->client, req, resp, msg, sizeof msg);

    if (error) {
        snprintf(err, errlen, "%s: %s", what, msg);
        applier_disconnect(a);
        /* Closed before any answer, after a quiet spell: most likely vswitchd closed the idle
         * connection as the request left (it never closes one with a request in progress). */
        a->closed_idle = was_idle && (error == -EPIPE || error == -ECONNRESET);
        return error;
    }
    a->last_used_ms = a->answered_ms = time_msec();
    if ((*resp)->status) {
        snprintf(err, errlen, "%s: %s", what, *(*resp)->error ? (*resp)->error
                                                               : strerror((*resp)->status));
        return (*resp)->status > 0 ? -(*resp)->status : -EPROTO;
    }
    return 0;
}

static struct policy *policy_from_msg(const Vswitch__Policy *m)
{
    struct policy *p = xcalloc(1, sizeof *p);

    str_copy(p->service, m->service, sizeof p->service);
    str_copy(p->name, m->name, sizeof p->name);
    p->dsr = m->dsr;
    p->preserve_dip = m->preserve_dip;
    p->n_source_ranges = m->n_source_ranges;
    p->source_ranges = xcalloc(m->n_source_ranges + 1, sizeof *p->source_ranges);
    for (size_t i = 0; i < m->n_source_ranges; i++) {
        p->source_ranges[i] = xstrdup(m->source_ranges[i]);
    }
    p->affinity_timeout = m->affinity_timeout;
    p->backends = xcalloc(m->n_backends + 1, sizeof *p->backends);
    for (size_t i = 0; i < m->n_backends; i++) {
        be32 ip;

        if (!addr_parse_ip(m->backends[i]->ip, &ip)) {
            p->backends[p->n_backends++] = (struct lb_config_backend) {
                ip, (uint16_t) m->backends[i]->port,
            };
        }
    }
    policy_normalize(p);
    return p;
}

/* Reads the switch's state into 'have' over the connection; see applier_refresh().  Sets
 * '*restarted' if this vswitchd started after the last answer of the one before. */
static int read_state(struct applier *a, bool verbose, bool *restarted, char *err,
                      size_t errlen)
{
    Vswitch__Request req = VSWITCH__REQUEST__INIT;
    Vswitch__Show show = VSWITCH__SHOW__INIT;
    Vswitch__DumpPolicies dump = VSWITCH__DUMP_POLICIES__INIT;
    Vswitch__Response *resp = NULL;
    struct strmap old_foreign = a->foreign;
    uint64_t answered_ms = a->answered_ms, sent_ms = time_msec();
    size_t n_own = 0;
    int error;

    *restarted = false;
    desired_destroy(&a->have);
    desired_init(&a->have);
    strmap_init(&a->foreign);

    req.command_case = VSWITCH__REQUEST__COMMAND_SHOW;
    req.show = &show;
    error = call(a, &req, &resp, "show", err, errlen);
    if (!error && resp->reply_case != VSWITCH__RESPONSE__REPLY_SHOW) {
        snprintf(err, errlen, "show: unexpected reply from vswitchd");
        error = -EPROTO;
    }
    if (error) {
        goto out;
    }
    a->overlay = resp->show->daemon && *resp->show->daemon->node_ip;
    /* vswitchd measured its uptime after 'sent_ms', so it started no earlier than
     * sent_ms - uptime: later than the last answer the proxy had is another vswitchd, and the
     * time the reply took cannot raise a false alarm. */
    if (resp->show->daemon && answered_ms && resp->show->daemon->uptime_ms < sent_ms &&
        sent_ms - resp->show->daemon->uptime_ms > answered_ms) {
        *restarted = true;
        LOG_INFO("vswitchd at %s restarted since it last answered: reading its state again",
                 a->ctl_path);
    }
    for (size_t i = 0; a->sync_peers && i < resp->show->n_peers; i++) {
        struct peer *p = xcalloc(1, sizeof *p);

        str_copy(p->node_ip, resp->show->peers[i]->node_ip, sizeof p->node_ip);
        str_copy(p->pod_cidr, resp->show->peers[i]->pod_cidr, sizeof p->pod_cidr);
        desired_add_peer(&a->have, p);
    }
    ctl_msg_response_free(resp);
    resp = NULL;

    req.command_case = VSWITCH__REQUEST__COMMAND_DUMP_POLICIES;
    req.dump_policies = &dump;
    error = call(a, &req, &resp, "dump-policies", err, errlen);
    if (!error && resp->reply_case != VSWITCH__RESPONSE__REPLY_DUMP_POLICIES) {
        snprintf(err, errlen, "dump-policies: unexpected reply from vswitchd");
        error = -EPROTO;
    }
    if (error) {
        goto out;
    }
    for (size_t i = 0; i < resp->dump_policies->n_policies; i++) {
        const Vswitch__Policy *m = resp->dump_policies->policies[i];

        if (desired_owns_name(m->name)) {
            desired_add_policy(&a->have, policy_from_msg(m));
            n_own++;
        } else {
            void *was = *restarted ? NULL : strmap_get(&old_foreign, m->service);

            /* Reported once per vswitchd, not at every resync or reconnect. */
            strmap_put(&a->foreign, m->service, was ? was : FOREIGN_NEW);
        }
    }
    log_msg(verbose ? LOG_LVL_INFO : LOG_LVL_DBG, LOG_MODULE, "%s vswitchd at %s: %zu "
            "policies of ours, %zu made by hand, %zu peers%s",
            verbose ? "connected to" : "read back", a->ctl_path, n_own,
            strmap_count(&a->foreign), strmap_count(&a->have.peers),
            a->overlay ? "" : " (no overlay: nodes are not programmed as peers)");

out:
    strmap_destroy(&old_foreign);
    ctl_msg_response_free(resp);
    if (error && a->client) {
        applier_disconnect(a);
    }
    return error;
}

int applier_connect(struct applier *a, char *err, size_t errlen)
{
    bool routine = a->closed_idle, restarted;
    char msg[512];
    int error;

    applier_disconnect(a);
    a->closed_idle = false;
    error = ctl_client_connect(a->ctl_path, a->timeout_ms, &a->client, msg, sizeof msg);
    if (error) {
        snprintf(err, errlen, "%s%s", routine ? "vswitchd closed the connection, and "
                 "reconnecting failed: " : "", msg);
        return error;
    }
    a->stats.connects++;
    a->last_used_ms = time_msec();
    error = read_state(a, !routine, &restarted, err, errlen);
    if (!error && routine && !restarted) {
        LOG_DBG("reconnected to vswitchd at %s after it closed the idle connection",
                a->ctl_path);
    }
    return error;
}

int applier_refresh(struct applier *a, bool verbose, char *err, size_t errlen)
{
    bool restarted;
    int error = read_state(a, verbose, &restarted, err, errlen);

    if (error && a->closed_idle) {
        LOG_DBG("%s: reading it again on a new connection", err);
        error = applier_connect(a, err, errlen);
    }
    return error;
}

/* ---- filtering the wanted state -------------------------------------------------------- */

static void rejected_key(char *buf, size_t size, bool lb, const char *key)
{
    snprintf(buf, size, "%s:%s", lb ? "lb" : "peer", key);
}

/* Drops from 'want' what must not be sent: Services whose VIP a hand-made policy holds,
 * objects vswitchd refused in the same form before, and peers when there is no overlay. */
static void filter_want(struct applier *a, struct desired *want, struct applier_result *res)
{
    const char *key;
    size_t pos = 0;
    char rk[64];
    void *v;

    while (strmap_next(&want->policies, &pos, &key, &v)) {
        struct policy *p = v;
        void *foreign = strmap_get(&a->foreign, key);
        const struct policy *bad;

        if (foreign) {
            if (foreign == FOREIGN_NEW) {
                LOG_WARN("%s (%s): a policy made by hand holds this VIP; leaving it alone",
                         p->service, p->name);
                strmap_put(&a->foreign, key, FOREIGN_WARNED);
            }
            res->foreign++;
            a->stats.foreign++;
            strmap_remove(&want->policies, key);
            policy_free(p);
            continue;
        }
        rejected_key(rk, sizeof rk, true, key);
        bad = strmap_get(&a->rejected, rk);
        if (bad && policy_equal(bad, p)) {
            strmap_remove(&want->policies, key);
            policy_free(p);
        }
    }

    pos = 0;
    while (strmap_next(&want->peers, &pos, &key, &v)) {
        struct peer *p = v;
        const struct peer *bad;

        rejected_key(rk, sizeof rk, false, key);
        bad = strmap_get(&a->rejected, rk);
        if (!a->sync_peers || !a->overlay ||
            (bad && !strcmp(bad->pod_cidr, p->pod_cidr))) {
            strmap_remove(&want->peers, key);
            free(p);
        }
    }
}

/* ---- the batch ------------------------------------------------------------------------- */

/* The request under construction, with the storage its messages point into. */
struct batch_msg {
    Vswitch__Batch batch;
    Vswitch__BatchOp *ops;          /* n_ops of them; batch.ops points at each */
    Vswitch__BatchOp **op_ptrs;
    Vswitch__AddLb *add_lb;
    Vswitch__DelLb *del_lb;
    Vswitch__AddPeer *add_peer;
    Vswitch__DelPeer *del_peer;
    char **backend_strs;            /* One array of "IP:PORT" strings per add-lb. */
    char *backend_text;             /* Storage of all of them. */
};

static void batch_msg_build(struct batch_msg *m, const struct desired_diff *d)
{
    size_t n = desired_diff_size(d), k = 0, n_backends = 0, text = 0;

    memset(m, 0, sizeof *m);
    vswitch__batch__init(&m->batch);
    m->ops = xcalloc(n + 1, sizeof *m->ops);
    m->op_ptrs = xcalloc(n + 1, sizeof *m->op_ptrs);
    m->add_lb = xcalloc(d->n_add_policies + 1, sizeof *m->add_lb);
    m->del_lb = xcalloc(d->n_del_policies + 1, sizeof *m->del_lb);
    m->add_peer = xcalloc(d->n_add_peers + 1, sizeof *m->add_peer);
    m->del_peer = xcalloc(d->n_del_peers + 1, sizeof *m->del_peer);
    for (size_t i = 0; i < d->n_add_policies; i++) {
        n_backends += d->add_policies[i]->n_backends;
    }
    m->backend_strs = xcalloc(n_backends + 1, sizeof *m->backend_strs);
    m->backend_text = xmalloc(n_backends * 24 + 1);

    /* Deletes first: they make room (a CIDR moving between nodes) for the adds after them. */
    for (size_t i = 0; i < d->n_del_policies; i++, k++) {
        vswitch__del_lb__init(&m->del_lb[i]);
        m->del_lb[i].service = (char *) d->del_policies[i];
        vswitch__batch_op__init(&m->ops[k]);
        m->ops[k].op_case = VSWITCH__BATCH_OP__OP_DEL_LB;
        m->ops[k].del_lb = &m->del_lb[i];
    }
    for (size_t i = 0; i < d->n_del_peers; i++, k++) {
        vswitch__del_peer__init(&m->del_peer[i]);
        m->del_peer[i].node_ip = (char *) d->del_peers[i];
        vswitch__batch_op__init(&m->ops[k]);
        m->ops[k].op_case = VSWITCH__BATCH_OP__OP_DEL_PEER;
        m->ops[k].del_peer = &m->del_peer[i];
    }
    for (size_t i = 0; i < d->n_add_peers; i++, k++) {
        vswitch__add_peer__init(&m->add_peer[i]);
        m->add_peer[i].node_ip = (char *) d->add_peers[i]->node_ip;
        m->add_peer[i].pod_cidr = (char *) d->add_peers[i]->pod_cidr;
        vswitch__batch_op__init(&m->ops[k]);
        m->ops[k].op_case = VSWITCH__BATCH_OP__OP_ADD_PEER;
        m->ops[k].add_peer = &m->add_peer[i];
    }
    n_backends = 0;
    for (size_t i = 0; i < d->n_add_policies; i++, k++) {
        const struct policy *p = d->add_policies[i];
        Vswitch__AddLb *al = &m->add_lb[i];

        vswitch__add_lb__init(al);
        al->service = (char *) p->service;
        al->name = (char *) p->name;
        al->no_dsr = !p->dsr;
        al->preserve_dip = p->preserve_dip;
        al->n_source_ranges = p->n_source_ranges;
        al->source_ranges = p->source_ranges;
        al->affinity_timeout = p->affinity_timeout;
        al->n_backends = p->n_backends;
        al->backends = &m->backend_strs[n_backends];
        for (size_t j = 0; j < p->n_backends; j++) {
            char ip[IP_STR_LEN];
            char *s = &m->backend_text[text];

            text += sprintf(s, "%s:%u", addr_ip_str(p->backends[j].ip, ip),
                            p->backends[j].port) + 1;
            m->backend_strs[n_backends++] = s;
        }
        vswitch__batch_op__init(&m->ops[k]);
        m->ops[k].op_case = VSWITCH__BATCH_OP__OP_ADD_LB;
        m->ops[k].add_lb = al;
    }
    for (size_t i = 0; i < n; i++) {
        m->op_ptrs[i] = &m->ops[i];
    }
    m->batch.n_ops = n;
    m->batch.ops = m->op_ptrs;
}

static void batch_msg_destroy(struct batch_msg *m)
{
    free(m->ops);
    free(m->op_ptrs);
    free(m->add_lb);
    free(m->del_lb);
    free(m->add_peer);
    free(m->del_peer);
    free(m->backend_strs);
    free(m->backend_text);
}

/* Records operation 'idx' (from 0, in batch_msg_build()'s order) of 'd' as refused, and
 * takes it out of 'want' so that the batch can be rebuilt without it. */
static void reject_op(struct applier *a, struct desired *want, const struct desired_diff *d,
                      size_t idx, const char *why)
{
    char rk[64];

    a->stats.rejected++;
    if (idx < d->n_del_policies) {
        LOG_ERR("vswitchd refused to delete policy %s: %s", d->del_policies[idx], why);
        /* Keep it in 'have' as if wanted, so it is not sent again. */
        return;
    }
    idx -= d->n_del_policies;
    if (idx < d->n_del_peers) {
        LOG_ERR("vswitchd refused to delete peer %s: %s", d->del_peers[idx], why);
        return;
    }
    idx -= d->n_del_peers;
    if (idx < d->n_add_peers) {
        struct peer *p = strmap_remove(&want->peers, d->add_peers[idx]->node_ip);

        LOG_ERR("vswitchd refused peer %s (%s): %s; not retried until the node changes",
                p->node_ip, p->pod_cidr, why);
        rejected_key(rk, sizeof rk, false, p->node_ip);
        free(strmap_put(&a->rejected, rk, p));
        return;
    }
    idx -= d->n_add_peers;
    struct policy *p = strmap_remove(&want->policies, d->add_policies[idx]->service);

    LOG_ERR("vswitchd refused policy %s (%s): %s; not retried until the service changes",
            p->service, p->name, why);
    rejected_key(rk, sizeof rk, true, p->service);
    policy_free(strmap_put(&a->rejected, rk, p));
}

/* A refused delete stays where it is: copy the entry from 'have' into 'want'. */
static void keep_refused_delete(struct applier *a, struct desired *want,
                                const struct desired_diff *d, size_t idx)
{
    if (idx < d->n_del_policies) {
        const struct policy *h = strmap_get(&a->have.policies, d->del_policies[idx]);
        struct policy *copy = xmalloc(sizeof *copy);

        *copy = *h;
        copy->backends = xmalloc((h->n_backends + 1) * sizeof *h->backends);
        memcpy(copy->backends, h->backends, h->n_backends * sizeof *h->backends);
        desired_add_policy(want, copy);
    } else if (idx < d->n_del_policies + d->n_del_peers) {
        const struct peer *h = strmap_get(&a->have.peers, d->del_peers[idx - d->n_del_policies]);
        struct peer *copy = xmalloc(sizeof *copy);

        *copy = *h;
        if (!desired_add_peer(want, copy)) {
            /* The peer moved CIDR: the add after the delete stays wanted. */
        }
    }
}

/* Forgets refusals whose object is no longer wanted in any form, so the map cannot grow
 * without bound. */
static void prune_rejected(struct applier *a, const struct desired *want_before)
{
    const char *key;
    size_t pos = 0;
    void *v;

    while (strmap_next(&a->rejected, &pos, &key, &v)) {
        bool lb = key[0] == 'l';
        const char *k = strchr(key, ':') + 1;

        if (!strmap_get(lb ? &want_before->policies : &want_before->peers, k)) {
            if (lb) {
                policy_free(v);
            } else {
                free(v);
            }
            strmap_remove(&a->rejected, key);
        }
    }
}

/* Sends the difference between 'want' and 'have' as batches until vswitchd holds 'want',
 * leaving out (and recording) each operation it refuses.  Returns 0 or a negative errno. */
static int send_diff(struct applier *a, struct desired *want, struct applier_result *res,
                     char *err, size_t errlen)
{
    size_t rejects = 0;
    int error = 0;

    for (;;) {
        Vswitch__Request req = VSWITCH__REQUEST__INIT;
        Vswitch__Response *resp = NULL;
        struct desired_diff d;
        struct batch_msg m;
        size_t failed;

        desired_diff(want, &a->have, &d);
        if (!desired_diff_size(&d)) {
            desired_diff_destroy(&d);
            break;
        }
        batch_msg_build(&m, &d);
        req.command_case = VSWITCH__REQUEST__COMMAND_BATCH;
        req.batch = &m.batch;
        error = call(a, &req, &resp, "batch", err, errlen);
        failed = resp && resp->reply_case == VSWITCH__RESPONSE__REPLY_BATCH ?
                 resp->batch->failed_op : 0;
        if (!error) {
            res->ops = d.n_del_policies + d.n_add_policies + d.n_del_peers + d.n_add_peers;
            res->del_policies = d.n_del_policies;
            res->add_policies = d.n_add_policies;
            res->del_peers = d.n_del_peers;
            res->add_peers = d.n_add_peers;
            a->stats.batches++;
            a->stats.ops += res->ops;
            if (resp->reply_case == VSWITCH__RESPONSE__REPLY_BATCH) {
                a->stats.unchanged += resp->batch->unchanged;
            }
        } else if (a->client && failed >= 1 && failed <= desired_diff_size(&d) &&
                   rejects < MAX_REJECTS_PER_SYNC) {
            /* One operation was refused: leave it out and send the rest again. */
            if (failed - 1 < d.n_del_policies + d.n_del_peers) {
                keep_refused_delete(a, want, &d, failed - 1);
            }
            reject_op(a, want, &d, failed - 1, resp->error);
            rejects++;
            res->rejected++;
            error = 0;
            ctl_msg_response_free(resp);
            batch_msg_destroy(&m);
            desired_diff_destroy(&d);
            continue;
        }
        ctl_msg_response_free(resp);
        batch_msg_destroy(&m);
        desired_diff_destroy(&d);
        break;
    }
    return error;
}

int applier_sync(struct applier *a, struct desired *want, struct applier_result *res,
                 char *err, size_t errlen)
{
    int error = 0;

    memset(res, 0, sizeof *res);
    if (!a->client) {
        error = applier_connect(a, err, errlen);
        if (error) {
            a->stats.failures++;
            desired_destroy(want);
            return error;
        }
    }

    /* Keys wanted before filtering, to forget refusals of objects that are gone. */
    {
        struct desired keys;
        const char *key;
        size_t pos = 0;
        void *v;

        desired_init(&keys);
        while (strmap_next(&want->policies, &pos, &key, &v)) {
            strmap_put(&keys.policies, key, NULL);
        }
        pos = 0;
        while (strmap_next(&want->peers, &pos, &key, &v)) {
            strmap_put(&keys.peers, key, NULL);
        }
        prune_rejected(a, &keys);
        strmap_destroy(&keys.policies);
        strmap_destroy(&keys.peers);
    }
    filter_want(a, want, res);
    error = send_diff(a, want, res, err, errlen);
    if (error && a->closed_idle) {
        /* Once more on a new connection, against the state read again over it: a vswitchd
         * that restarted meanwhile may lack more than this change. */
        LOG_DBG("%s: sending the change again on a new connection", err);
        error = applier_connect(a, err, errlen);
        if (!error) {
            filter_want(a, want, res);
            error = send_diff(a, want, res, err, errlen);
        }
    }

    if (error) {
        a->stats.failures++;
        desired_destroy(want);
        return error;
    }
    desired_move(&a->have, want);
    return 0;
}
