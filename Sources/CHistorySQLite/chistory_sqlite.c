#include "chistory_sqlite.h"
#include <sqlite3.h>
#include <string.h>

enum { checkpoint_frames = 64 };

static int checkpoint_when_large(void *context, sqlite3 *db, const char *schema, int frames) {
    (void)context;
    if (frames > checkpoint_frames) {
        // Busy (a reader on an older snapshot) is fine: a later commit tries again.
        sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
    }
    return SQLITE_OK;
}

int mlbuild_history_configure(void *handle) {
    sqlite3 *db = (sqlite3 *)handle;
    int enabled = 0;
    int code = sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, &enabled);
    if (code != SQLITE_OK) return code;
    sqlite3_wal_hook(db, checkpoint_when_large, NULL);
    return sqlite3_exec(db, "PRAGMA synchronous = NORMAL", NULL, NULL, NULL);
}

static int64_t fail(sqlite3 *db, const char *message, char *error, size_t error_size) {
    if (error_size > 0) {
        strncpy(error, message ? message : "unknown SQLite error", error_size - 1);
        error[error_size - 1] = 0;
    }
    if (db) {
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        sqlite3_close_v2(db);
    }
    return -1;
}

int64_t mlbuild_history_record_noop(const char *path, int busy_timeout_ms, int64_t base,
                                    const char *started_at, const char *finished_at,
                                    const char *git_revision, int git_dirty, const char *user,
                                    const char *command_line, const char *mlfile_path,
                                    char *error, size_t error_size) {
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        int64_t result = fail(NULL, db ? sqlite3_errmsg(db) : "cannot open", error, error_size);
        if (db) sqlite3_close_v2(db);
        return result;
    }
    sqlite3_busy_timeout(db, busy_timeout_ms);
    if (mlbuild_history_configure(db) != SQLITE_OK || sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        return fail(db, sqlite3_errmsg(db), error, error_size);
    }
    sqlite3_stmt *find = NULL;
    if (sqlite3_prepare_v2(db, "SELECT COALESCE(same_targets_as, id) FROM runs WHERE id = ?", -1, &find, NULL) != SQLITE_OK) {
        return fail(db, sqlite3_errmsg(db), error, error_size);
    }
    sqlite3_bind_int64(find, 1, base);
    int step = sqlite3_step(find);
    int64_t resolved = step == SQLITE_ROW ? sqlite3_column_int64(find, 0) : 0;
    sqlite3_finalize(find);
    if (step != SQLITE_ROW && step != SQLITE_DONE) return fail(db, sqlite3_errmsg(db), error, error_size);
    if (step == SQLITE_DONE) {
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        sqlite3_close_v2(db);
        return 0;
    }
    sqlite3_stmt *insert = NULL;
    const char *sql =
        "INSERT INTO runs (started_at, finished_at, git_revision, git_dirty, user, command_line, exit_status, "
        "mlfile_path, experiment, same_targets_as) VALUES (?, ?, ?, ?, ?, ?, 0, ?, NULL, ?)";
    if (sqlite3_prepare_v2(db, sql, -1, &insert, NULL) != SQLITE_OK) return fail(db, sqlite3_errmsg(db), error, error_size);
    sqlite3_bind_text(insert, 1, started_at, -1, SQLITE_STATIC);
    sqlite3_bind_text(insert, 2, finished_at, -1, SQLITE_STATIC);
    if (git_revision) sqlite3_bind_text(insert, 3, git_revision, -1, SQLITE_STATIC); else sqlite3_bind_null(insert, 3);
    if (git_dirty >= 0) sqlite3_bind_int(insert, 4, git_dirty); else sqlite3_bind_null(insert, 4);
    sqlite3_bind_text(insert, 5, user, -1, SQLITE_STATIC);
    sqlite3_bind_text(insert, 6, command_line, -1, SQLITE_STATIC);
    sqlite3_bind_text(insert, 7, mlfile_path, -1, SQLITE_STATIC);
    sqlite3_bind_int64(insert, 8, resolved);
    step = sqlite3_step(insert);
    sqlite3_finalize(insert);
    if (step != SQLITE_DONE) return fail(db, sqlite3_errmsg(db), error, error_size);
    int64_t id = sqlite3_last_insert_rowid(db);
    if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) return fail(db, sqlite3_errmsg(db), error, error_size);
    sqlite3_close_v2(db);
    return id;
}
