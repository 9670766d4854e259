/* The configuration database's overlay peers; see db.h.  A peer is a row of "peers": its
 * underlay address and its pod CIDR. */
#include "daemon/db.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_MODULE "db"
#include "daemon/db-private.h"
#include "lib/addr.h"
#include "lib/log.h"
#include "lib/util.h"

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
    if (!(sel = db_stmt_get(db, STMT_PEER_SELECT, err, errlen))
        || !(put = db_stmt_get(db, STMT_PEER_PUT, err, errlen))) {
        return -EIO;
    }
    error = db_own_begin(db, &own, err, errlen);
    if (error) {
        return error;
    }
    db_bind_text(sel, 1, ip);
    rc = sqlite3_step(sel);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        error = db_error(db, "cannot read the peer", err, errlen);
    }
    sqlite3_reset(sel);
    if (!error) {
        *replaced = rc == SQLITE_ROW;
        db_bind_text(put, 1, ip);
        db_bind_text(put, 2, cidr);
        error = db_stmt_run(db, put, "cannot store the peer", err, errlen);
    }
    error = db_own_end(db, own, error, err, errlen);
    if (error) {
        *replaced = false;
    }
    return error;
}

int db_peer_delete(struct db *db, be32 node_ip, char *err, size_t errlen)
{
    sqlite3_stmt *stmt = db_stmt_get(db, STMT_PEER_DELETE, err, errlen);
    char ip[IP_STR_LEN];
    int error;

    if (!stmt) {
        return -EIO;
    }
    db_bind_text(stmt, 1, addr_ip_str(node_ip, ip));
    error = db_stmt_run(db, stmt, "cannot delete the peer", err, errlen);
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

        db_column_copy(stmt, 0, ip, sizeof ip);
        db_column_copy(stmt, 1, cidr, sizeof cidr);
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
