#ifndef CHISTORY_SQLITE_H
#define CHISTORY_SQLITE_H

#include <stdint.h>
#include <stddef.h>

/// Sets up a connection to the run history (`db` is a `sqlite3 *`, void here so that this module
/// does not declare SQLite's types a second time; returns SQLite's result code):
/// - `synchronous = NORMAL`: a commit is not fsynced (WAL keeps the database consistent; a power
///   cut may lose the newest runs: the history is a log, not an artifact);
/// - no checkpoint when the last connection closes (SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, through
///   variadic sqlite3_db_config, which Swift cannot call): the history is written by
///   short-lived processes, and that checkpoint's fsyncs were most of a no-op build's time;
/// - instead, a commit that leaves more than 64 frames (256 KiB) in the WAL checkpoints it and
///   truncates it to zero, so that the next process's WAL recovery reads little.
int mlbuild_history_configure(void *db);

/// Records a no-op build in the existing, migrated history at `path`, as a run whose targets
/// are those of run `base` (HistoryStore documents the row), in two steps so that the first can
/// run on another thread while the no-op is checked. Plain SQLite, no GRDB: opening GRDB on the
/// no-op path cost milliseconds of type-metadata set-up.
///
/// `mlbuild_history_noop_open` opens and configures the database and reads `base` (which maps
/// the WAL index); returns the connection, or NULL: with `*resolved` 0 and `error` empty when
/// `base` is not in the database, else with SQLite's message in `error` (NUL-terminated, at
/// most `error_size` bytes). `*resolved` is `base`, or the build `base` refers to.
void *mlbuild_history_noop_open(const char *path, int busy_timeout_ms, int64_t base, int64_t *resolved,
                                char *error, size_t error_size);

/// Inserts the run and closes `db`. `git_dirty`: -1 unknown, 0 clean, 1 dirty; `git_revision`
/// may be NULL. Returns the new run's id, or -1 with SQLite's message in `error`.
int64_t mlbuild_history_noop_insert(void *db, int64_t resolved, const char *started_at, const char *finished_at,
                                    const char *git_revision, int git_dirty, const char *user,
                                    const char *command_line, const char *mlfile_path,
                                    char *error, size_t error_size);

/// Closes a connection from mlbuild_history_noop_open without writing.
void mlbuild_history_noop_close(void *db);

#endif
