/* The configuration database's load-balancing policies; see db.h.  A policy is a row of
 * "policies" and its backends rows of "backends", deleted with it. */
#include "daemon/db.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_MODULE "db"
#include "daemon/db-private.h"
#include "lib/addr.h"
#include "lib/log.h"
#include "lib/util.h"

int db_policy_put(struct db *db, const struct lb_config *p, bool *replaced, char *err,
                  size_t errlen)
{
    const char *proto = lb_proto_name(p->service.proto);
    sqlite3_stmt *del, *pol, *be;
    char vip[IP_STR_LEN];
    sqlite3_int64 id;
    bool own;
    int error;

    *replaced = false;
    addr_ip_str(p->service.vip, vip);
    if (!(del = db_stmt_get(db, STMT_POLICY_DELETE, err, errlen))
        || !(pol = db_stmt_get(db, STMT_POLICY_INSERT, err, errlen))
        || !(be = db_stmt_get(db, STMT_BACKEND_INSERT, err, errlen))) {
        return -EIO;
    }
    error = db_own_begin(db, &own, err, errlen);
    if (error) {
        return error;
    }
    db_bind_text(del, 1, vip);
    sqlite3_bind_int(del, 2, p->service.port);
    db_bind_text(del, 3, proto);
    error = db_stmt_run(db, del, "cannot remove the previous policy", err, errlen);
    if (error) {
        goto out;
    }
    *replaced = sqlite3_changes(db->conn) > 0;

    db_bind_text(pol, 1, vip);
    sqlite3_bind_int(pol, 2, p->service.port);
    db_bind_text(pol, 3, proto);
    db_bind_text(pol, 4, p->name);
    sqlite3_bind_int(pol, 5, p->dsr);
    sqlite3_bind_int64(pol, 6, p->affinity_timeout);
    error = db_stmt_run(db, pol, "cannot store the policy", err, errlen);
    if (error) {
        goto out;
    }
    id = sqlite3_last_insert_rowid(db->conn);
    for (size_t i = 0; i < p->n_backends && !error; i++) {
        char ip[IP_STR_LEN];

        sqlite3_bind_int64(be, 1, id);
        /* SQLITE_TRANSIENT: 'ip' changes with every row. */
        sqlite3_bind_text(be, 2, addr_ip_str(p->backends[i].ip, ip), -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(be, 3, p->backends[i].port);
        error = db_stmt_run(db, be, "cannot store a backend", err, errlen);
    }
out:
    error = db_own_end(db, own, error, err, errlen);
    if (error) {
        *replaced = false;
    }
    return error;
}

int db_policy_delete(struct db *db, const struct lb_service *svc, char *err, size_t errlen)
{
    sqlite3_stmt *stmt = db_stmt_get(db, STMT_POLICY_DELETE, err, errlen);
    char vip[IP_STR_LEN];
    int error;

    if (!stmt) {
        return -EIO;
    }
    db_bind_text(stmt, 1, addr_ip_str(svc->vip, vip));
    sqlite3_bind_int(stmt, 2, svc->port);
    db_bind_text(stmt, 3, lb_proto_name(svc->proto));
    /* One statement: atomic by itself, durable at once outside a transaction. */
    error = db_stmt_run(db, stmt, "cannot delete the policy", err, errlen);
    if (!error && !sqlite3_changes(db->conn)) {
        error = -ENOENT;
    }
    return error;
}

/* Fills 'p' from a row of (id, vip, port, protocol, name, dsr, affinity_timeout) and the
 * backends of policy 'id' read with 'be_stmt'.  Returns 0, -EINVAL (with a warning logged) for
 * a row that does not parse, or -EIO. */
static int read_policy(struct db *db, sqlite3_stmt *row, sqlite3_stmt *be_stmt,
                       struct lb_config *p, char *err, size_t errlen)
{
    char vip[IP_STR_LEN], proto[8], problem[64];
    sqlite3_int64 affinity;
    int rc;

    memset(p, 0, sizeof *p);
    db_column_copy(row, 1, vip, sizeof vip);
    db_column_copy(row, 3, proto, sizeof proto);
    db_column_copy(row, 4, p->name, sizeof p->name);
    p->service.port = sqlite3_column_int(row, 2);
    p->service.proto = !strcmp(proto, "tcp") ? IPPROTO_TCP
                       : !strcmp(proto, "udp") ? IPPROTO_UDP : 0;
    p->dsr = sqlite3_column_int(row, 5) != 0;
    affinity = sqlite3_column_int64(row, 6);
    /* Rows are written only by db_policy_put(); one that does not parse was edited by hand. */
    if (addr_parse_ip(vip, &p->service.vip) || !p->service.proto
        || sqlite3_column_int(row, 2) < 1 || sqlite3_column_int(row, 2) > 65535
        || affinity < 0 || affinity > LB_CONFIG_MAX_AFFINITY || !p->name[0]
        || lb_config_name_problem(p->name, problem, sizeof problem)) {
        LOG_WARN("%s: policy %s:%d/%s (%s) is not valid; ignored", db->path, vip,
                 sqlite3_column_int(row, 2), proto, p->name);
        return -EINVAL;
    }
    p->affinity_timeout = affinity;

    sqlite3_reset(be_stmt);
    sqlite3_bind_int64(be_stmt, 1, sqlite3_column_int64(row, 0));
    while ((rc = sqlite3_step(be_stmt)) == SQLITE_ROW) {
        struct lb_config_backend *b;
        char ip[IP_STR_LEN];
        int port = sqlite3_column_int(be_stmt, 1);

        db_column_copy(be_stmt, 0, ip, sizeof ip);
        if (p->n_backends == LB_CONFIG_MAX_BACKENDS) {
            LOG_WARN("%s: policy %s has more than %d backends; the rest are ignored",
                     db->path, p->name, LB_CONFIG_MAX_BACKENDS);
            break;
        }
        p->backends = xrealloc(p->backends, (p->n_backends + 1) * sizeof *p->backends);
        b = &p->backends[p->n_backends];
        if (addr_parse_ip(ip, &b->ip) || port < 1 || port > 65535) {
            LOG_WARN("%s: policy %s has an invalid backend %s:%d; ignored", db->path, p->name,
                     ip, port);
            continue;
        }
        b->port = port;
        p->n_backends++;
    }
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        lb_config_destroy(p);
        return db_error(db, "cannot read backends", err, errlen);
    }
    return 0;
}

#define POLICY_COLUMNS "SELECT id, vip, port, protocol, name, dsr, affinity_timeout FROM policies"
/* The order is only for reading the table: the datapath sorts backends itself. */
#define BACKEND_QUERY \
    "SELECT ip, port FROM backends WHERE policy = ?1 ORDER BY ip, port"

int db_policy_get(struct db *db, const struct lb_service *svc, struct lb_config *p, char *err,
                  size_t errlen)
{
    static const char sql[] = POLICY_COLUMNS " WHERE vip = ?1 AND port = ?2 AND protocol = ?3";
    sqlite3_stmt *stmt = NULL, *be = NULL;
    char vip[IP_STR_LEN];
    int error, rc;

    memset(p, 0, sizeof *p);
    if (sqlite3_prepare_v2(db->conn, sql, -1, &stmt, NULL) != SQLITE_OK
        || sqlite3_prepare_v2(db->conn, BACKEND_QUERY, -1, &be, NULL) != SQLITE_OK) {
        error = db_error(db, "cannot prepare the policy query", err, errlen);
        goto out;
    }
    db_bind_text(stmt, 1, addr_ip_str(svc->vip, vip));
    sqlite3_bind_int(stmt, 2, svc->port);
    db_bind_text(stmt, 3, lb_proto_name(svc->proto));
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_DONE) {
        error = -ENOENT;
    } else if (rc != SQLITE_ROW) {
        error = db_error(db, "cannot read the policy", err, errlen);
    } else {
        error = read_policy(db, stmt, be, p, err, errlen);
        if (error == -EINVAL) {
            error = -ENOENT;
        }
    }
out:
    sqlite3_finalize(be);
    sqlite3_finalize(stmt);
    return error;
}

int db_policy_list(struct db *db, struct lb_config **policiesp, size_t *np, char *err,
                   size_t errlen)
{
    static const char sql[] = POLICY_COLUMNS " ORDER BY id";
    struct lb_config *policies = NULL;
    sqlite3_stmt *stmt = NULL, *be = NULL;
    size_t n = 0, cap = 0;
    int error = 0, rc;

    *policiesp = NULL;
    *np = 0;
    if (sqlite3_prepare_v2(db->conn, sql, -1, &stmt, NULL) != SQLITE_OK
        || sqlite3_prepare_v2(db->conn, BACKEND_QUERY, -1, &be, NULL) != SQLITE_OK) {
        error = db_error(db, "cannot prepare the policy list", err, errlen);
        goto out;
    }
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            policies = xrealloc(policies, cap * sizeof *policies);
        }
        error = read_policy(db, stmt, be, &policies[n], err, errlen);
        if (error == -EINVAL) {
            error = 0;
            continue;
        }
        if (error) {
            goto out;
        }
        n++;
    }
    if (rc != SQLITE_DONE) {
        error = db_error(db, "cannot list policies", err, errlen);
    }
out:
    sqlite3_finalize(be);
    sqlite3_finalize(stmt);
    if (error) {
        db_policy_list_free(policies, n);
        return error;
    }
    *policiesp = policies;
    *np = n;
    return 0;
}

void db_policy_list_free(struct lb_config *policies, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        lb_config_destroy(&policies[i]);
    }
    free(policies);
}
