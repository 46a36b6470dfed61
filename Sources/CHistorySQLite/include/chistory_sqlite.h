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
/// are those of run `base` (HistoryStore.recordNoop documents the row). Plain SQLite, no GRDB:
/// the no-op fast path calls it, and opening GRDB there cost milliseconds of type-metadata set-up.
/// `git_dirty`: -1 unknown, 0 clean, 1 dirty; `git_revision` may be NULL.
/// Returns the new run's id; 0 when `base` is not in the database (nothing written); -1 on an
/// error, with SQLite's message in `error` (NUL-terminated, at most `error_size` bytes).
int64_t mlbuild_history_record_noop(const char *path, int busy_timeout_ms, int64_t base,
                                    const char *started_at, const char *finished_at,
                                    const char *git_revision, int git_dirty, const char *user,
                                    const char *command_line, const char *mlfile_path,
                                    char *error, size_t error_size);

#endif
