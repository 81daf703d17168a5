/* Shared by the files of the alert module that keep state in SQLite
 * (alert_db.c, alert_silence.c, alert_nflog.c): the connection and its
 * lock, and small helpers that run one statement or one transaction. */
#ifndef VG_ALERT_DB_INT_H
#define VG_ALERT_DB_INT_H

#include <pthread.h>
#include <sqlite3.h>

#include "alert/alert.h"

struct alert_db {
    sqlite3 *conn;
    pthread_mutex_t mu; /* one writer or reader of conn at a time */
    char *path;
};

/* Runs sql (no parameters, no rows) with db->mu held by the caller.
 * Returns 0 or VG_ERR_IO with SQLite's message prefixed by what. */
int alert_db_exec_locked(alert_db_t *db, const char *sql, const char *what, vg_err_t *err);

/* Sets err from the connection's last error: "<what>: <sqlite message>". */
int alert_db_fail(alert_db_t *db, const char *what, vg_err_t *err);

#endif
