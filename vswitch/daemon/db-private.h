/* The configuration database's insides, shared by its files: db.c (opening, transactions,
 * ports), db-policy.c (load-balancing policies) and db-peer.c (overlay peers).  Nothing
 * outside them includes it.
 *
 * Thread: the control thread, as db.h. */
#ifndef VSWITCH_DAEMON_DB_PRIVATE_H
#define VSWITCH_DAEMON_DB_PRIVATE_H 1

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>

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

struct db {
    sqlite3 *conn;
    char *path;
    sqlite3_stmt *stmts[DB_N_STMTS];    /* Prepared on first use. */
};

/* Sets 'err' to "database PATH: WHAT: sqlite's message" and returns -EIO. */
int db_error(const struct db *, const char *what, char *err, size_t errlen);

/* Binds 'text', which outlives the statement's run, to parameter 'index'. */
void db_bind_text(sqlite3_stmt *, int index, const char *text);
/* Copies column 'col' of the current row, as text ("" for NULL), into 'buf'. */
void db_column_copy(sqlite3_stmt *, int col, char *buf, size_t size);

/* The kept statement 'id', reset and with no bindings, or NULL with 'err' set. */
sqlite3_stmt *db_stmt_get(struct db *, enum db_stmt id, char *err, size_t errlen);
/* Runs a statement that returns no rows; 0 or -EIO with 'err' saying 'what' failed. */
int db_stmt_run(struct db *, sqlite3_stmt *, const char *what, char *err, size_t errlen);

/* A change made outside db_begin() gets a transaction of its own: these two open and close
 * it ('*own' says whether there was one to open), and leave a caller's transaction alone.
 * db_own_end() returns 'error', or the commit's. */
int db_own_begin(struct db *, bool *own, char *err, size_t errlen);
int db_own_end(struct db *, bool own, int error, char *err, size_t errlen);

#endif
