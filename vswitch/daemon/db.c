/* The configuration database; see db.h.
 *
 * Values are stored as text (addresses as "10.244.1.5"), so the file reads well with the
 * sqlite3 shell when debugging a node.  The schema grows by appending to 'migrations': each
 * entry takes a database from version i to i + 1 inside one transaction. */
#include "daemon/db.h"

#include <errno.h>
#include <netinet/in.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_MODULE "db"
#include "daemon/fs-util.h"
#include "lib/addr.h"
#include "lib/log.h"
#include "lib/util.h"

/* "vSwD": marks the file as ours in its header (PRAGMA application_id). */
#define DB_APPLICATION_ID 0x76537744

/* Statements prepared once and kept: a batch runs them thousands of times. */
enum db_stmt {
    STMT_POLICY_DELETE,
    STMT_POLICY_INSERT,
    STMT_BACKEND_INSERT,
    STMT_PEER_SELECT,
    STMT_PEER_PUT,
    STMT_PEER_DELETE,
    DB_N_STMTS
};

static const char *const stmt_sql[DB_N_STMTS] = {
    [STMT_POLICY_DELETE] = "DELETE FROM policies WHERE vip = ?1 AND port = ?2 AND protocol = ?3",
    [STMT_POLICY_INSERT] = "INSERT INTO policies (vip, port, protocol, name, dsr, "
                           "affinity_timeout) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [STMT_BACKEND_INSERT] = "INSERT INTO backends (policy, ip, port) VALUES (?1, ?2, ?3)",
    [STMT_PEER_SELECT] = "SELECT pod_cidr FROM peers WHERE node_ip = ?1",
    [STMT_PEER_PUT] = "INSERT INTO peers (node_ip, pod_cidr) VALUES (?1, ?2)"
                      " ON CONFLICT (node_ip) DO UPDATE SET pod_cidr = excluded.pod_cidr",
    [STMT_PEER_DELETE] = "DELETE FROM peers WHERE node_ip = ?1",
};

struct db {
    sqlite3 *conn;
    char *path;
    sqlite3_stmt *stmts[DB_N_STMTS];    /* Prepared on first use. */
};

/* migrations[i] takes the schema from version i to i + 1.  Version 2 adds the load-balancing
 * policies: one row per VIP:port/protocol in "policies", its backends in "backends", deleted
 * with it (foreign keys are on).  Version 3 adds the overlay peers: one row per remote node
 * in "peers", its underlay address and its pod CIDR. */
static const char *const migrations[] = {
    "CREATE TABLE ports ("
    "    name          TEXT PRIMARY KEY NOT NULL,"
    "    type          TEXT NOT NULL,"
    "    ip            TEXT NOT NULL UNIQUE,"
    "    mac           TEXT NOT NULL DEFAULT '',"      /* '' = learned */
    "    pod_namespace TEXT NOT NULL DEFAULT '',"
    "    pod_name      TEXT NOT NULL DEFAULT '',"
    "    container_id  TEXT NOT NULL DEFAULT '',"
    "    ifname        TEXT NOT NULL DEFAULT '',"
    "    created       INTEGER NOT NULL DEFAULT (strftime('%s', 'now'))"
    ");",

    "CREATE TABLE policies ("
    "    id               INTEGER PRIMARY KEY,"
    "    vip              TEXT NOT NULL,"
    "    port             INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535),"
    "    protocol         TEXT NOT NULL CHECK (protocol IN ('tcp', 'udp')),"
    "    name             TEXT NOT NULL,"
    "    dsr              INTEGER NOT NULL,"
    "    affinity_timeout INTEGER NOT NULL DEFAULT 0,"
    "    created          INTEGER NOT NULL DEFAULT (strftime('%s', 'now')),"
    "    UNIQUE (vip, port, protocol)"
    ");"
    "CREATE TABLE backends ("
    "    policy INTEGER NOT NULL REFERENCES policies (id) ON DELETE CASCADE,"
    "    ip     TEXT NOT NULL,"
    "    port   INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535),"
    "    PRIMARY KEY (policy, ip, port)"
    ") WITHOUT ROWID;",

    "CREATE TABLE peers ("
    "    node_ip  TEXT PRIMARY KEY NOT NULL,"
    "    pod_cidr TEXT NOT NULL UNIQUE,"
    "    created  INTEGER NOT NULL DEFAULT (strftime('%s', 'now'))"
    ");",
};
#define DB_SCHEMA_VERSION ((int) ARRAY_SIZE(migrations))

static int db_error(const struct db *db, const char *what, char *err, size_t errlen)
{
    snprintf(err, errlen, "database %s: %s: %s", db->path, what, sqlite3_errmsg(db->conn));
    return -EIO;
}

/* Runs a statement that returns one integer. */
static int query_int(struct db *db, const char *sql, int *value)
{
    sqlite3_stmt *stmt;
    int rc;

    rc = sqlite3_prepare_v2(db->conn, sql, -1, &stmt, NULL);
    if (rc != SQLITE_OK) {
        return rc;
    }
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        *value = sqlite3_column_int(stmt, 0);
        rc = SQLITE_OK;
    }
    sqlite3_finalize(stmt);
    return rc;
}

/* Runs a statement that returns one text value, copied into 'buf'. */
static int query_text(struct db *db, const char *sql, char *buf, size_t size)
{
    sqlite3_stmt *stmt;
    int rc;

    rc = sqlite3_prepare_v2(db->conn, sql, -1, &stmt, NULL);
    if (rc != SQLITE_OK) {
        return rc;
    }
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        const char *text = (const char *) sqlite3_column_text(stmt, 0);

        str_copy(buf, text ? text : "", size);
        rc = SQLITE_OK;
    }
    sqlite3_finalize(stmt);
    return rc;
}

/* Refuses a file that is not a vswitch database of a schema we understand. */
static int check_identity(struct db *db, int *version, char *err, size_t errlen)
{
    int app_id, tables, rc;
    char check[256];

    rc = query_int(db, "PRAGMA application_id", &app_id);
    if (rc == SQLITE_NOTADB) {
        snprintf(err, errlen, "%s is not a vswitch database (not an SQLite file, or "
                 "encrypted or corrupt); move it away to start with an empty configuration",
                 db->path);
        return -EINVAL;
    } else if (rc != SQLITE_OK) {
        return db_error(db, "cannot read the header", err, errlen);
    }
    if (query_int(db, "PRAGMA user_version", version) != SQLITE_OK
        || query_int(db, "SELECT count(*) FROM sqlite_schema", &tables) != SQLITE_OK) {
        return db_error(db, "cannot read the schema", err, errlen);
    }
    if (app_id == 0 && tables == 0) {
        return 0;               /* New or empty file: ours to initialise. */
    }
    if (app_id != DB_APPLICATION_ID) {
        snprintf(err, errlen, "%s is an SQLite database of another application "
                 "(application_id 0x%08x, vswitch uses 0x%08x); refusing to touch it",
                 db->path, (unsigned) app_id, DB_APPLICATION_ID);
        return -EINVAL;
    }
    if (*version > DB_SCHEMA_VERSION) {
        snprintf(err, errlen, "%s has schema version %d, newer than this vswitchd knows (%d): "
                 "it was written by a newer vswitchd", db->path, *version, DB_SCHEMA_VERSION);
        return -EINVAL;
    }
    rc = query_text(db, "PRAGMA quick_check", check, sizeof check);
    if (rc != SQLITE_OK || strcmp(check, "ok")) {
        for (char *p = check; *p; p++) {
            *p = *p == '\n' ? ' ' : *p;    /* One log line. */
        }
        snprintf(err, errlen, "%s is corrupt (%s); restore it from a backup or move it away",
                 db->path, rc == SQLITE_OK ? check : sqlite3_errmsg(db->conn));
        return -EINVAL;
    }
    return 0;
}

static int migrate(struct db *db, int version, char *err, size_t errlen)
{
    char sql[128];

    if (version == DB_SCHEMA_VERSION) {
        return 0;
    }
    if (sqlite3_exec(db->conn, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        return db_error(db, "cannot start the schema upgrade", err, errlen);
    }
    for (int v = version; v < DB_SCHEMA_VERSION; v++) {
        if (sqlite3_exec(db->conn, migrations[v], NULL, NULL, NULL) != SQLITE_OK) {
            db_error(db, "schema upgrade failed", err, errlen);
            goto rollback;
        }
    }
    snprintf(sql, sizeof sql, "PRAGMA application_id = %d; PRAGMA user_version = %d",
             DB_APPLICATION_ID, DB_SCHEMA_VERSION);
    if (sqlite3_exec(db->conn, sql, NULL, NULL, NULL) != SQLITE_OK) {
        db_error(db, "cannot set the schema version", err, errlen);
        goto rollback;
    }
    if (sqlite3_exec(db->conn, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        db_error(db, "cannot commit the schema upgrade", err, errlen);
        goto rollback;
    }
    if (version) {
        LOG_INFO("%s: schema upgraded from version %d to %d", db->path, version,
                 DB_SCHEMA_VERSION);
    }
    return 0;

rollback:
    sqlite3_exec(db->conn, "ROLLBACK", NULL, NULL, NULL);
    return -EIO;
}

int db_open(const char *path, struct db **dbp, char *err, size_t errlen)
{
    struct db *db;
    char mode[16];
    int version, error;

    *dbp = NULL;
    error = fs_make_parent_dir(path, 0755, err, errlen);
    if (error) {
        return error;
    }
    db = xcalloc(1, sizeof *db);
    db->path = xstrdup(path);
    if (sqlite3_open_v2(path, &db->conn, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL)
        != SQLITE_OK) {
        if (!db->conn) {
            abort();            /* SQLite could not allocate its handle. */
        }
        error = db_error(db, "cannot open", err, errlen);
        goto error;
    }
    sqlite3_extended_result_codes(db->conn, 0);
    /* Another process (the sqlite3 shell, a backup) may hold the lock for a moment. */
    sqlite3_busy_timeout(db->conn, 5000);

    error = check_identity(db, &version, err, errlen);
    if (error) {
        goto error;
    }
    if (query_text(db, "PRAGMA journal_mode = WAL", mode, sizeof mode) != SQLITE_OK
        || strcmp(mode, "wal")) {
        error = db_error(db, "cannot switch to WAL mode", err, errlen);
        goto error;
    }
    if (sqlite3_exec(db->conn, "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON",
                     NULL, NULL, NULL) != SQLITE_OK) {
        error = db_error(db, "cannot set durability", err, errlen);
        goto error;
    }
    error = migrate(db, version, err, errlen);
    if (error) {
        goto error;
    }
    *dbp = db;
    return 0;

error:
    db_close(db);
    return error;
}

void db_close(struct db *db)
{
    if (db) {
        for (int i = 0; i < DB_N_STMTS; i++) {
            sqlite3_finalize(db->stmts[i]);
        }
        sqlite3_close(db->conn);
        free(db->path);
        free(db);
    }
}

static void bind_text(sqlite3_stmt *stmt, int index, const char *text)
{
    sqlite3_bind_text(stmt, index, text, -1, SQLITE_STATIC);
}

/* The kept statement 'id', reset and with no bindings, or NULL with 'err' set. */
static sqlite3_stmt *stmt_get(struct db *db, enum db_stmt id, char *err, size_t errlen)
{
    sqlite3_stmt *stmt = db->stmts[id];

    if (!stmt) {
        if (sqlite3_prepare_v3(db->conn, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &stmt,
                               NULL) != SQLITE_OK) {
            db_error(db, "cannot prepare a statement", err, errlen);
            return NULL;
        }
        db->stmts[id] = stmt;
    }
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    return stmt;
}

/* Runs a statement that returns no rows; 0 or -EIO with 'err' saying 'what' failed. */
static int stmt_run(struct db *db, sqlite3_stmt *stmt, const char *what, char *err,
                    size_t errlen)
{
    int error = 0;

    if (sqlite3_step(stmt) != SQLITE_DONE) {
        error = db_error(db, what, err, errlen);
    }
    sqlite3_reset(stmt);
    return error;
}

/* ---- Transactions ---- */

bool db_in_transaction(const struct db *db)
{
    return !sqlite3_get_autocommit(db->conn);
}

int db_begin(struct db *db, char *err, size_t errlen)
{
    if (sqlite3_exec(db->conn, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        return db_error(db, "cannot start a transaction", err, errlen);
    }
    return 0;
}

int db_commit(struct db *db, char *err, size_t errlen)
{
    if (sqlite3_exec(db->conn, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        int error = db_error(db, "cannot commit", err, errlen);

        db_rollback(db);
        return error;
    }
    return 0;
}

void db_rollback(struct db *db)
{
    if (db_in_transaction(db)) {
        sqlite3_exec(db->conn, "ROLLBACK", NULL, NULL, NULL);
    }
}

/* A change made outside db_begin() gets a transaction of its own: these two open and close
 * it, and leave a caller's transaction alone. */
static int own_begin(struct db *db, bool *own, char *err, size_t errlen)
{
    *own = !db_in_transaction(db);
    return *own ? db_begin(db, err, errlen) : 0;
}

static int own_end(struct db *db, bool own, int error, char *err, size_t errlen)
{
    if (!own) {
        return error;
    }
    if (error) {
        db_rollback(db);
        return error;
    }
    return db_commit(db, err, errlen);
}

int db_port_insert(struct db *db, const struct db_port *port, int *replaced, char *err,
                   size_t errlen)
{
    static const char delete_sql[] = "DELETE FROM ports WHERE name = ?1 OR ip = ?2";
    static const char insert_sql[] =
        "INSERT INTO ports (name, type, ip, mac, pod_namespace, pod_name, container_id, ifname)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
    sqlite3_stmt *del = NULL, *ins = NULL;
    char ip[IP_STR_LEN], mac[ETH_STR_LEN];
    int error = 0;

    *replaced = 0;
    addr_ip_str(port->ip, ip);
    if (port->has_mac) {
        addr_mac_str(port->mac, mac);
    } else {
        mac[0] = '\0';
    }
    if (sqlite3_prepare_v2(db->conn, delete_sql, -1, &del, NULL) != SQLITE_OK
        || sqlite3_prepare_v2(db->conn, insert_sql, -1, &ins, NULL) != SQLITE_OK) {
        error = db_error(db, "cannot prepare the port insert", err, errlen);
        goto out;
    }
    if (sqlite3_exec(db->conn, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        error = db_error(db, "cannot start a transaction", err, errlen);
        goto out;
    }
    bind_text(del, 1, port->name);
    bind_text(del, 2, ip);
    if (sqlite3_step(del) != SQLITE_DONE) {
        error = db_error(db, "cannot remove stale ports", err, errlen);
        goto rollback;
    }
    *replaced = sqlite3_changes(db->conn);

    bind_text(ins, 1, port->name);
    bind_text(ins, 2, port->type);
    bind_text(ins, 3, ip);
    bind_text(ins, 4, mac);
    bind_text(ins, 5, port->pod_namespace);
    bind_text(ins, 6, port->pod_name);
    bind_text(ins, 7, port->container_id);
    bind_text(ins, 8, port->ifname);
    if (sqlite3_step(ins) != SQLITE_DONE) {
        error = db_error(db, "cannot store the port", err, errlen);
        goto rollback;
    }
    if (sqlite3_exec(db->conn, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        error = db_error(db, "cannot commit the port", err, errlen);
        goto rollback;
    }
    goto out;

rollback:
    sqlite3_exec(db->conn, "ROLLBACK", NULL, NULL, NULL);
out:
    sqlite3_finalize(ins);
    sqlite3_finalize(del);
    return error;
}

int db_port_delete(struct db *db, const char *name, char *err, size_t errlen)
{
    sqlite3_stmt *stmt;
    int error = 0;

    if (sqlite3_prepare_v2(db->conn, "DELETE FROM ports WHERE name = ?1", -1, &stmt, NULL)
        != SQLITE_OK) {
        return db_error(db, "cannot prepare the port delete", err, errlen);
    }
    bind_text(stmt, 1, name);
    if (sqlite3_step(stmt) != SQLITE_DONE) {
        error = db_error(db, "cannot delete the port", err, errlen);
    } else if (!sqlite3_changes(db->conn)) {
        error = -ENOENT;
    }
    sqlite3_finalize(stmt);
    return error;
}

static void column_copy(sqlite3_stmt *stmt, int col, char *buf, size_t size)
{
    const char *text = (const char *) sqlite3_column_text(stmt, col);

    str_copy(buf, text ? text : "", size);
}

int db_port_list(struct db *db, struct db_port **portsp, size_t *np, char *err, size_t errlen)
{
    static const char sql[] =
        "SELECT name, type, ip, mac, pod_namespace, pod_name, container_id, ifname"
        " FROM ports ORDER BY name";
    struct db_port *ports = NULL;
    sqlite3_stmt *stmt;
    size_t n = 0;
    int rc;

    *portsp = NULL;
    *np = 0;
    if (sqlite3_prepare_v2(db->conn, sql, -1, &stmt, NULL) != SQLITE_OK) {
        return db_error(db, "cannot prepare the port list", err, errlen);
    }
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        struct db_port *p;
        char ip[IP_STR_LEN], mac[ETH_STR_LEN];

        ports = xrealloc(ports, (n + 1) * sizeof *ports);
        p = &ports[n];
        memset(p, 0, sizeof *p);
        column_copy(stmt, 0, p->name, sizeof p->name);
        column_copy(stmt, 1, p->type, sizeof p->type);
        column_copy(stmt, 2, ip, sizeof ip);
        column_copy(stmt, 3, mac, sizeof mac);
        column_copy(stmt, 4, p->pod_namespace, sizeof p->pod_namespace);
        column_copy(stmt, 5, p->pod_name, sizeof p->pod_name);
        column_copy(stmt, 6, p->container_id, sizeof p->container_id);
        column_copy(stmt, 7, p->ifname, sizeof p->ifname);
        /* Rows are written only by db_port_insert(); one that does not parse was edited by
         * hand, and is skipped with a warning rather than restored wrong. */
        if (addr_parse_ip(ip, &p->ip)) {
            LOG_WARN("%s: port %s has an invalid ip '%s'; ignored", db->path, p->name, ip);
            continue;
        }
        p->has_mac = mac[0] != '\0';
        if (p->has_mac && addr_parse_mac(mac, &p->mac)) {
            LOG_WARN("%s: port %s has an invalid mac '%s'; ignored", db->path, p->name, mac);
            continue;
        }
        n++;
    }
    if (rc != SQLITE_DONE) {
        free(ports);
        sqlite3_finalize(stmt);
        return db_error(db, "cannot list ports", err, errlen);
    }
    sqlite3_finalize(stmt);
    *portsp = ports;
    *np = n;
    return 0;
}

/* ---- Policies ---- */

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
    if (!(del = stmt_get(db, STMT_POLICY_DELETE, err, errlen))
        || !(pol = stmt_get(db, STMT_POLICY_INSERT, err, errlen))
        || !(be = stmt_get(db, STMT_BACKEND_INSERT, err, errlen))) {
        return -EIO;
    }
    error = own_begin(db, &own, err, errlen);
    if (error) {
        return error;
    }
    bind_text(del, 1, vip);
    sqlite3_bind_int(del, 2, p->service.port);
    bind_text(del, 3, proto);
    error = stmt_run(db, del, "cannot remove the previous policy", err, errlen);
    if (error) {
        goto out;
    }
    *replaced = sqlite3_changes(db->conn) > 0;

    bind_text(pol, 1, vip);
    sqlite3_bind_int(pol, 2, p->service.port);
    bind_text(pol, 3, proto);
    bind_text(pol, 4, p->name);
    sqlite3_bind_int(pol, 5, p->dsr);
    sqlite3_bind_int64(pol, 6, p->affinity_timeout);
    error = stmt_run(db, pol, "cannot store the policy", err, errlen);
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
        error = stmt_run(db, be, "cannot store a backend", err, errlen);
    }
out:
    error = own_end(db, own, error, err, errlen);
    if (error) {
        *replaced = false;
    }
    return error;
}

int db_policy_delete(struct db *db, const struct lb_service *svc, char *err, size_t errlen)
{
    sqlite3_stmt *stmt = stmt_get(db, STMT_POLICY_DELETE, err, errlen);
    char vip[IP_STR_LEN];
    int error;

    if (!stmt) {
        return -EIO;
    }
    bind_text(stmt, 1, addr_ip_str(svc->vip, vip));
    sqlite3_bind_int(stmt, 2, svc->port);
    bind_text(stmt, 3, lb_proto_name(svc->proto));
    /* One statement: atomic by itself, durable at once outside a transaction. */
    error = stmt_run(db, stmt, "cannot delete the policy", err, errlen);
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
    column_copy(row, 1, vip, sizeof vip);
    column_copy(row, 3, proto, sizeof proto);
    column_copy(row, 4, p->name, sizeof p->name);
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

        column_copy(be_stmt, 0, ip, sizeof ip);
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
    bind_text(stmt, 1, addr_ip_str(svc->vip, vip));
    sqlite3_bind_int(stmt, 2, svc->port);
    bind_text(stmt, 3, lb_proto_name(svc->proto));
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

/* ---- Peers ---- */

int db_peer_put(struct db *db, const struct peer_config *peer, bool *replaced, char *err,
                size_t errlen)
{
    sqlite3_stmt *sel, *put;
    char ip[IP_STR_LEN], cidr[IP_STR_LEN];
    bool own;
    int error, rc;

    *replaced = false;
    addr_ip_str(peer->node_ip, ip);
    peer_cidr_str(&peer->pod_cidr, cidr);
    if (!(sel = stmt_get(db, STMT_PEER_SELECT, err, errlen))
        || !(put = stmt_get(db, STMT_PEER_PUT, err, errlen))) {
        return -EIO;
    }
    error = own_begin(db, &own, err, errlen);
    if (error) {
        return error;
    }
    bind_text(sel, 1, ip);
    rc = sqlite3_step(sel);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        error = db_error(db, "cannot read the peer", err, errlen);
    }
    sqlite3_reset(sel);
    if (!error) {
        *replaced = rc == SQLITE_ROW;
        bind_text(put, 1, ip);
        bind_text(put, 2, cidr);
        error = stmt_run(db, put, "cannot store the peer", err, errlen);
    }
    error = own_end(db, own, error, err, errlen);
    if (error) {
        *replaced = false;
    }
    return error;
}

int db_peer_delete(struct db *db, be32 node_ip, char *err, size_t errlen)
{
    sqlite3_stmt *stmt = stmt_get(db, STMT_PEER_DELETE, err, errlen);
    char ip[IP_STR_LEN];
    int error;

    if (!stmt) {
        return -EIO;
    }
    bind_text(stmt, 1, addr_ip_str(node_ip, ip));
    error = stmt_run(db, stmt, "cannot delete the peer", err, errlen);
    if (!error && !sqlite3_changes(db->conn)) {
        error = -ENOENT;
    }
    return error;
}

int db_peer_list(struct db *db, struct peer_config **peersp, size_t *np, char *err,
                 size_t errlen)
{
    static const char sql[] = "SELECT node_ip, pod_cidr FROM peers ORDER BY created, node_ip";
    struct peer_config *peers = NULL;
    sqlite3_stmt *stmt;
    size_t n = 0;
    int rc;

    *peersp = NULL;
    *np = 0;
    if (sqlite3_prepare_v2(db->conn, sql, -1, &stmt, NULL) != SQLITE_OK) {
        return db_error(db, "cannot prepare the peer list", err, errlen);
    }
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        char ip[IP_STR_LEN], cidr[IP_STR_LEN];
        struct peer_config p;

        column_copy(stmt, 0, ip, sizeof ip);
        column_copy(stmt, 1, cidr, sizeof cidr);
        /* Rows are written only by db_peer_put(); one that does not parse was edited by
         * hand, and is skipped with a warning rather than restored wrong. */
        if (addr_parse_ip(ip, &p.node_ip) || addr_parse_cidr(cidr, &p.pod_cidr)) {
            LOG_WARN("%s: peer '%s' with pod CIDR '%s' is not valid; ignored", db->path, ip,
                     cidr);
            continue;
        }
        peers = xrealloc(peers, (n + 1) * sizeof *peers);
        peers[n++] = p;
    }
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE) {
        free(peers);
        return db_error(db, "cannot list peers", err, errlen);
    }
    *peersp = peers;
    *np = n;
    return 0;
}
