/* vswitchd's configuration database: an SQLite file (--db) holding what must survive a
 * restart (ports, load-balancing policies and overlay peers), read back at start-up.
 *
 * The file is in WAL mode with synchronous=FULL, so a change is on disk when its call returns:
 * the control server replies only after that, and a kill -9 never loses an acknowledged
 * change.  The file is marked with PRAGMA application_id and a schema version (user_version),
 * so a foreign, newer or corrupt file is refused at open rather than misread.
 *
 * Each change below is a transaction of its own, unless the caller opened one with
 * db_begin(): then it joins that one, and is durable only at db_commit() (a batch commits
 * thousands of changes with one fsync).
 *
 * Thread: the control thread only. */
#ifndef VSWITCH_DAEMON_DB_H
#define VSWITCH_DAEMON_DB_H 1

#include <net/if.h>
#include <stddef.h>

#include "lib/lb-config.h"
#include "daemon/peer-config.h"
#include "lib/types.h"

struct db;

/* Limits on the Kubernetes metadata stored with a port (namespace: DNS label; pod name: DNS
 * subdomain; container id: runtime-defined, 64 hex digits for containerd and CRI-O). */
#define DB_POD_NAMESPACE_MAX 63
#define DB_POD_NAME_MAX 253
#define DB_CONTAINER_ID_MAX 255

struct db_port {
    char name[IF_NAMESIZE];
    char type[8];                   /* "veth" or "tap", as dp_port_type_name() gives. */
    be32 ip;
    bool has_mac;                   /* false: the MAC is learned, not configured. */
    struct eth_addr mac;
    char pod_namespace[DB_POD_NAMESPACE_MAX + 1];
    char pod_name[DB_POD_NAME_MAX + 1];
    char container_id[DB_CONTAINER_ID_MAX + 1];
    char ifname[IF_NAMESIZE];
};

/* Opens (creating if missing, with its parent directory) the database at 'path' and brings its
 * schema up to date.  Returns 0, or a negative errno with a message in 'err' saying what is
 * wrong with the file. */
int db_open(const char *path, struct db **, char *err, size_t errlen);
/* Accepts NULL. */
void db_close(struct db *);

/* Opens a write transaction (BEGIN IMMEDIATE): the changes that follow are applied together
 * at db_commit(), or not at all after db_rollback().  No nesting.  Returns 0 or -EIO. */
int db_begin(struct db *, char *err, size_t errlen);
/* Commits durably (one fsync of the WAL).  On failure the transaction is rolled back and
 * -EIO returned with 'err' set. */
int db_commit(struct db *, char *err, size_t errlen);
/* Undoes the open transaction's changes; nothing if none is open. */
void db_rollback(struct db *);
bool db_in_transaction(const struct db *);

/* Stores 'port' durably.  Rows with the same name or IP, left over from ports the datapath no
 * longer has, are replaced; '*replaced' says how many.  Returns 0 or -EIO with 'err' set. */
int db_port_insert(struct db *, const struct db_port *, int *replaced, char *err,
                   size_t errlen);
/* Removes the port named 'name' durably.  Returns 0, -ENOENT if there was none, or -EIO. */
int db_port_delete(struct db *, const char *name, char *err, size_t errlen);
/* Every stored port, ordered by name.  Caller frees '*ports'. */
int db_port_list(struct db *, struct db_port **ports, size_t *n, char *err, size_t errlen);

/* Stores 'policy' durably, replacing the one with its service (and that one's backends);
 * '*replaced' says whether there was one.  Returns 0 or -EIO with 'err' set. */
int db_policy_put(struct db *, const struct lb_config *policy, bool *replaced, char *err,
                  size_t errlen);
/* Removes the policy for 'svc' durably.  Returns 0, -ENOENT if there was none, or -EIO. */
int db_policy_delete(struct db *, const struct lb_service *svc, char *err, size_t errlen);
/* Reads the policy for 'svc' into 'policy' (destroy it with lb_config_destroy()).  Returns 0,
 * -ENOENT if there is none, or -EIO. */
int db_policy_get(struct db *, const struct lb_service *svc, struct lb_config *policy,
                  char *err, size_t errlen);
/* Every stored policy, in the order they were first added.  A row that does not parse (edited
 * by hand) is skipped with a warning.  Free with db_policy_list_free(). */
int db_policy_list(struct db *, struct lb_config **policies, size_t *n, char *err,
                   size_t errlen);
void db_policy_list_free(struct lb_config *policies, size_t n);

/* Stores 'peer' durably, replacing the row of its node address; '*replaced' says whether there
 * was one.  Returns 0 or -EIO (a UNIQUE violation if another node holds the same CIDR, which
 * the caller's checks exclude). */
int db_peer_put(struct db *, const struct peer_config *peer, bool *replaced, char *err,
                size_t errlen);
/* Removes the peer 'node_ip'.  Returns 0, -ENOENT if there was none, or -EIO. */
int db_peer_delete(struct db *, be32 node_ip, char *err, size_t errlen);
/* Every stored peer, in the order they were added.  A row that does not parse is skipped
 * with a warning.  Caller frees '*peers'. */
int db_peer_list(struct db *, struct peer_config **peers, size_t *n, char *err,
                 size_t errlen);

#endif
