/* This file implements the SQLite database that holds the Alertmanager's
 * durable state: opening it with the settings that make every commit
 * durable (WAL journal, synchronous=FULL), recognising the file, and
 * creating or upgrading the schema of docs/format/alertmanager-db.md. */
#include "alert/alert_db_int.h"

#include <stdlib.h>
#include <string.h>

#define DB_APPLICATION_ID 0x56474c41 /* "VGLA" */
#define DB_SCHEMA_VERSION 1

static const char schema_v1[] = "CREATE TABLE IF NOT EXISTS silences ("
                                " id TEXT NOT NULL PRIMARY KEY,"
                                " matchers TEXT NOT NULL,"
                                " starts_at INTEGER NOT NULL,"
                                " ends_at INTEGER NOT NULL,"
                                " updated_at INTEGER NOT NULL,"
                                " created_by TEXT NOT NULL,"
                                " comment TEXT NOT NULL"
                                ") WITHOUT ROWID;"
                                "CREATE TABLE IF NOT EXISTS nflog ("
                                " receiver_key TEXT NOT NULL,"
                                " group_key TEXT NOT NULL,"
                                " timestamp INTEGER NOT NULL,"
                                " expires_at INTEGER NOT NULL,"
                                " firing BLOB NOT NULL,"
                                " resolved BLOB NOT NULL,"
                                " PRIMARY KEY (receiver_key, group_key)"
                                ") WITHOUT ROWID;";

int alert_db_fail(alert_db_t *db, const char *what, vg_err_t *err) {
    return vg_err_set(err, VG_ERR_IO, "%s: %s: %s", db->path, what, sqlite3_errmsg(db->conn));
}

int alert_db_exec_locked(alert_db_t *db, const char *sql, const char *what, vg_err_t *err) {
    char *msg = NULL;
    int rc = sqlite3_exec(db->conn, sql, NULL, NULL, &msg);
    if (rc == SQLITE_OK) return VG_OK;
    vg_err_set(err, VG_ERR_IO, "%s: %s: %s", db->path, what, msg ? msg : sqlite3_errstr(rc));
    sqlite3_free(msg);
    return VG_ERR_IO;
}

/* Reads an integer PRAGMA; -1 on failure. */
static int64_t pragma_int(alert_db_t *db, const char *sql) {
    sqlite3_stmt *st = NULL;
    int64_t v = -1;
    if (sqlite3_prepare_v2(db->conn, sql, -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static int setup(alert_db_t *db, vg_err_t *err) {
    sqlite3_busy_timeout(db->conn, 5000);
    int64_t app = pragma_int(db, "PRAGMA application_id");
    int64_t ver = pragma_int(db, "PRAGMA user_version");
    if (app < 0 || ver < 0) return alert_db_fail(db, "reading the header", err);
    if (app != 0 && app != DB_APPLICATION_ID)
        return vg_err_set(err, VG_ERR_IO,
                          "%s: not a vigil Alertmanager database (application_id %lld)", db->path,
                          (long long)app);
    if (ver > DB_SCHEMA_VERSION)
        return vg_err_set(err, VG_ERR_IO,
                          "%s: schema version %lld is newer than this program's (%d)", db->path,
                          (long long)ver, DB_SCHEMA_VERSION);
    /* WAL: a commit appends to the -wal file and readers never wait for
     * it. FULL: that append is fsynced before the commit returns, so what
     * we acknowledge survives power loss too, at one fsync per change —
     * changes are rare (people editing silences, one row per notification
     * sent). */
    sqlite3_stmt *st = NULL;
    bool wal = false;
    if (sqlite3_prepare_v2(db->conn, "PRAGMA journal_mode=WAL", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
        const char *mode = (const char *)sqlite3_column_text(st, 0);
        wal = mode && strcmp(mode, "wal") == 0;
    }
    sqlite3_finalize(st);
    if (!wal) return alert_db_fail(db, "setting journal_mode=WAL", err);
    if (alert_db_exec_locked(db, "PRAGMA synchronous=FULL", "setting synchronous", err))
        return VG_ERR_IO;
    if (ver == DB_SCHEMA_VERSION) return VG_OK;
    /* New file (or one from before versioning): create the schema and stamp
     * it in one transaction. Later versions add their upgrade steps here. */
    if (alert_db_exec_locked(db, "BEGIN IMMEDIATE", "creating the schema", err)) return VG_ERR_IO;
    char stamp[128];
    snprintf(stamp, sizeof stamp, "PRAGMA application_id=%d; PRAGMA user_version=%d;",
             DB_APPLICATION_ID, DB_SCHEMA_VERSION);
    if (alert_db_exec_locked(db, schema_v1, "creating the schema", err) ||
        alert_db_exec_locked(db, stamp, "creating the schema", err) ||
        alert_db_exec_locked(db, "COMMIT", "creating the schema", err)) {
        alert_db_exec_locked(db, "ROLLBACK", "rollback", NULL);
        return VG_ERR_IO;
    }
    return VG_OK;
}

alert_db_t *alert_db_open(const char *path, vg_err_t *err) {
    alert_db_t *db = vg_calloc(1, sizeof *db);
    db->path = vg_strdup(path);
    pthread_mutex_init(&db->mu, NULL);
    /* Our mutex serialises every use of the connection, so SQLite's own
     * is not needed. */
    int rc = sqlite3_open_v2(
        path, &db->conn, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        if (db->conn)
            alert_db_fail(db, "open", err);
        else
            vg_err_set(err, VG_ERR_IO, "%s: open: %s", path, sqlite3_errstr(rc));
        alert_db_close(db);
        return NULL;
    }
    sqlite3_extended_result_codes(db->conn, 1);
    if (setup(db, err) != VG_OK) {
        alert_db_close(db);
        return NULL;
    }
    return db;
}

void alert_db_close(alert_db_t *db) {
    if (!db) return;
    if (db->conn) sqlite3_close_v2(db->conn);
    pthread_mutex_destroy(&db->mu);
    free(db->path);
    free(db);
}
