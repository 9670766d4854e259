/* The configuration database; see db.h.
 *
 * Values are stored as text (addresses as "10.244.1.5"), so the file reads well with the
 * sqlite3 shell when debugging a node.  The schema grows by appending to 'migrations': each
 * entry takes a database from version i to i + 1 inside one transaction.
 *
 * This file opens, migrates and closes the database, runs its transactions and holds the
 * ports; db-policy.c holds the load-balancing policies and db-peer.c the overlay peers. */
#include "daemon/db.h"
#include "daemon/db-private.h"

#include <errno.h>
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

int db_error(const struct db *db, const char *what, char *err, size_t errlen)
{
    snprintf(err, errlen, "database %s: %s: %s", db->path, what, sqlite3_errmsg(db->conn));
    return -EIO;
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

/* Runs a statement that returns one integer (read as its text: SQLite converts). */
static int query_int(struct db *db, const char *sql, int *value)
{
    char text[32];
    int rc;

    rc = query_text(db, sql, text, sizeof text);
    if (rc == SQLITE_OK) {
        *value = (int) strtol(text, NULL, 10);
    }
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

void db_bind_text(sqlite3_stmt *stmt, int index, const char *text)
{
    sqlite3_bind_text(stmt, index, text, -1, SQLITE_STATIC);
}

sqlite3_stmt *db_stmt_get(struct db *db, enum db_stmt id, char *err, size_t errlen)
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

int db_stmt_run(struct db *db, sqlite3_stmt *stmt, const char *what, char *err,
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

int db_own_begin(struct db *db, bool *own, char *err, size_t errlen)
{
    *own = !db_in_transaction(db);
    return *own ? db_begin(db, err, errlen) : 0;
}

int db_own_end(struct db *db, bool own, int error, char *err, size_t errlen)
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
    db_bind_text(del, 1, port->name);
    db_bind_text(del, 2, ip);
    if (sqlite3_step(del) != SQLITE_DONE) {
        error = db_error(db, "cannot remove stale ports", err, errlen);
        goto rollback;
    }
    *replaced = sqlite3_changes(db->conn);

    db_bind_text(ins, 1, port->name);
    db_bind_text(ins, 2, port->type);
    db_bind_text(ins, 3, ip);
    db_bind_text(ins, 4, mac);
    db_bind_text(ins, 5, port->pod_namespace);
    db_bind_text(ins, 6, port->pod_name);
    db_bind_text(ins, 7, port->container_id);
    db_bind_text(ins, 8, port->ifname);
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
    db_bind_text(stmt, 1, name);
    if (sqlite3_step(stmt) != SQLITE_DONE) {
        error = db_error(db, "cannot delete the port", err, errlen);
    } else if (!sqlite3_changes(db->conn)) {
        error = -ENOENT;
    }
    sqlite3_finalize(stmt);
    return error;
}

void db_column_copy(sqlite3_stmt *stmt, int col, char *buf, size_t size)
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
        db_column_copy(stmt, 0, p->name, sizeof p->name);
        db_column_copy(stmt, 1, p->type, sizeof p->type);
        db_column_copy(stmt, 2, ip, sizeof ip);
        db_column_copy(stmt, 3, mac, sizeof mac);
        db_column_copy(stmt, 4, p->pod_namespace, sizeof p->pod_namespace);
        db_column_copy(stmt, 5, p->pod_name, sizeof p->pod_name);
        db_column_copy(stmt, 6, p->container_id, sizeof p->container_id);
        db_column_copy(stmt, 7, p->ifname, sizeof p->ifname);
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
