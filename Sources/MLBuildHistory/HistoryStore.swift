import CHistorySQLite
import Foundation
import GRDB

/// The run history: one SQLite database (default `.mlbuild/history.sqlite`), written by every
/// build and read by `mlbuild runs`, `metrics diff` and `params diff`.
///
/// Format (schemas "v1" to "v5" — v5 adds the release tables `ReleaseStore` documents — created and migrated by `DatabaseMigrator`; GRDB records
/// applied migrations in `grdb_migrations`):
///
///     runs(id INTEGER PRIMARY KEY, started_at TEXT, finished_at TEXT NULL, git_revision TEXT NULL,
///          git_dirty INTEGER NULL, user TEXT, command_line TEXT, exit_status INTEGER NULL,
///          mlfile_path TEXT,                       -- times RFC 3339 UTC; NULL end = unfinished
///          experiment TEXT NULL,                   -- v2: the exp-… id of an `exp run` variant
///          same_targets_as INTEGER NULL,           -- v2: a no-op fast-path build: its targets are
///                                                  --     that run's, every one fresh in 0 s
///          others_from INTEGER NULL)               -- v4: an incremental build: every target it
///                                                  --     holds no row for is that run's, fresh
///                                                  --     in 0 s (always a run with rows of its own)
///     targets(run_id, target, kind, status, action_key NULL, seconds, seed NULL,
///             action_id NULL)                      -- v3: the key, params and outputs, in actions
///     params(run_id, target, name, value)          -- canonical Mlfile values; secrets "<secret>"
///     metrics(run_id, target, name, value REAL)    -- numeric members of a model's metrics.json
///     outputs(run_id, target, path, digest)        -- "sha256:…" of each output file
///     actions(id, digest BLOB UNIQUE, action_key NULL)  -- v3: one per distinct (key, params,
///     action_params(action_id, name, value)             --     outputs) of a target, shared by
///     action_outputs(action_id, path, digest)           --     the runs that recorded it
///
/// Since v3 a run's parameters, outputs and keys are written only to the action tables
/// (`TargetRowWriter`); `params`, `outputs` and `targets.action_key` hold older runs' rows,
/// and readers take both.
///
/// WAL journal and a 5 s busy timeout, so that concurrent builds in one workspace both record.
/// The history is not an artifact: wall-clock times belong here, and nothing here enters a key.
public final class HistoryStore: Sendable {
    public let path: String
    let queue: DatabaseQueue

    /// Opens (creating it and its directory when missing) and migrates the database.
    public convenience init(path: String, busyTimeout: TimeInterval = 5) throws {
        try self.init(path: path, busyTimeout: busyTimeout, migratingUpTo: nil)
    }

    /// `migration`: only up to that one (tests: a database as an older mlbuild left it).
    init(path: String, busyTimeout: TimeInterval, migratingUpTo migration: String?) throws {
        self.path = path
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty, !FileManager.default.fileExists(atPath: directory) {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        var configuration = Configuration()
        configuration.busyMode = .timeout(busyTimeout)
        configuration.journalMode = .wal
        // No fsync per commit, no checkpoint at close, a truncating checkpoint past 64 WAL
        // frames (chistory_sqlite.h says why): recording costs a no-op build well under 1 ms.
        configuration.prepareDatabase { db in
            let code = mlbuild_history_configure(UnsafeMutableRawPointer(db.sqliteConnection))
            guard code == 0 else { throw DatabaseError(resultCode: ResultCode(rawValue: code)) }
        }
        queue = try DatabaseQueue(path: path, configuration: configuration)
        // Checked in a read first: a migrated database is opened without taking the write lock.
        if let migration {
            try Self.migrator.migrate(queue, upTo: migration)
        } else if try queue.read({ try !Self.migrator.hasCompletedMigrations($0) }) {
            try Self.migrator.migrate(queue)
        }
    }

    /// Opens an existing database for reading; nil when there is none (no history yet).
    public static func openExisting(path: String) throws -> HistoryStore? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        return try HistoryStore(path: path)
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE runs (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    started_at TEXT NOT NULL,
                    finished_at TEXT,
                    git_revision TEXT,
                    git_dirty INTEGER,
                    user TEXT NOT NULL,
                    command_line TEXT NOT NULL,
                    exit_status INTEGER,
                    mlfile_path TEXT NOT NULL
                );
                CREATE INDEX runs_by_revision ON runs(git_revision, id);
                CREATE TABLE targets (
                    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
                    target TEXT NOT NULL,
                    kind TEXT NOT NULL,
                    status TEXT NOT NULL,
                    action_key TEXT,
                    seconds REAL NOT NULL,
                    seed INTEGER,
                    PRIMARY KEY (run_id, target)
                );
                CREATE INDEX targets_by_name ON targets(target, run_id);
                CREATE TABLE params (
                    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
                    target TEXT NOT NULL,
                    name TEXT NOT NULL,
                    value TEXT NOT NULL,
                    PRIMARY KEY (run_id, target, name)
                );
                CREATE TABLE metrics (
                    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
                    target TEXT NOT NULL,
                    name TEXT NOT NULL,
                    value REAL NOT NULL,
                    PRIMARY KEY (run_id, target, name)
                );
                CREATE TABLE outputs (
                    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
                    target TEXT NOT NULL,
                    path TEXT NOT NULL,
                    digest TEXT NOT NULL,
                    PRIMARY KEY (run_id, target, path)
                );
                """)
        }
        // v2: `exp run` records each variant as a run, marked so that the defaults of the
        // diffs (the newest run at HEAD) and `--explain` keep to the workspace's own builds;
        // a no-op answered by the fast path refers to the full build's targets, not copied
        // (one small insert, so that recording does not slow the no-op).
        migrator.registerMigration("v2") { db in
            try db.execute(sql: """
                ALTER TABLE runs ADD COLUMN experiment TEXT;
                ALTER TABLE runs ADD COLUMN same_targets_as INTEGER REFERENCES runs(id);
                """)
        }
        // v3: a target's key, parameters and outputs are stored once per distinct combination
        // and referred to by each run's `targets` row (`TargetRowWriter`): most targets of a
        // build are as the previous run recorded them. Runs recorded before keep their rows in
        // `params`, `outputs` and `targets.action_key`, and are read from there.
        migrator.registerMigration("v3") { db in
            try db.execute(sql: """
                CREATE TABLE actions (
                    id INTEGER PRIMARY KEY,
                    digest BLOB NOT NULL UNIQUE,
                    action_key TEXT
                );
                CREATE TABLE action_params (
                    action_id INTEGER NOT NULL REFERENCES actions(id),
                    name TEXT NOT NULL,
                    value TEXT NOT NULL,
                    PRIMARY KEY (action_id, name)
                ) WITHOUT ROWID;
                CREATE TABLE action_outputs (
                    action_id INTEGER NOT NULL REFERENCES actions(id),
                    path TEXT NOT NULL,
                    digest TEXT NOT NULL,
                    PRIMARY KEY (action_id, path)
                ) WITHOUT ROWID;
                ALTER TABLE targets ADD COLUMN action_id INTEGER REFERENCES actions(id);
                """)
        }
        // v4: an incremental build (the incremental path) records the targets it evaluated and
        // refers to the full build it started from for the rest (`finishRun(_:recording:othersFrom:…)`):
        // one edited file in a 100,000-target graph wrote 100,000 rows before.
        migrator.registerMigration("v4") { db in
            try db.execute(sql: "ALTER TABLE runs ADD COLUMN others_from INTEGER REFERENCES runs(id)")
        }
        // v5: release channels (`ReleaseStore`, issue 13).
        migrator.registerMigration("v5") { db in try ReleaseStore.createTables(db) }
        return migrator
    }

    /// The names of the applied migrations, in order ("v1", …).
    public func appliedMigrations() throws -> [String] {
        try queue.read { db in try Self.migrator.appliedMigrations(db) }
    }

    // MARK: Recording

    /// Starts a run; returns its id.
    public func beginRun(_ run: NewRun) throws -> Int64 {
        try queue.write { db in
            try db.execute(
                sql: """
                    INSERT INTO runs (started_at, git_revision, git_dirty, user, command_line, mlfile_path, experiment)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [HistoryTime.format(run.startedAt), run.gitRevision, run.gitDirty.map { $0 ? 1 : 0 },
                            run.user, run.commandLine, run.mlfilePath, run.experiment])
            return db.lastInsertedRowID
        }
    }

    /// Records targets of a run (one transaction); a target recorded again replaces its rows.
    public func recordTargets(_ targets: [TargetRecord], run id: Int64) throws {
        guard !targets.isEmpty else { return }
        try queue.write { db in
            var recorded = try Self.recordedTargets(of: id, db: db)
            let writer = try TargetRowWriter(db: db, run: id)
            defer { writer.finish() }
            for target in targets { try Self.insert(target, run: id, db: db, writer: writer, replacing: &recorded) }
        }
    }

    /// The names of the targets run `id` already holds (none for a run being recorded the first time).
    private static func recordedTargets(of id: Int64, db: Database) throws -> Set<String> {
        Set(try String.fetchAll(db, sql: "SELECT target FROM targets WHERE run_id = ?", arguments: [id]))
    }

    /// Records one target of a run.
    public func recordTarget(_ target: TargetRecord, run id: Int64) throws {
        try recordTargets([target], run: id)
    }

    /// Ends a run with the process's exit status.
    public func finishRun(_ id: Int64, at date: Date, exitStatus: Int32) throws {
        try finishRun(id, recording: [], at: date, exitStatus: exitStatus)
    }

    /// Records `targets` (as `recordTargets`) and ends the run, in one transaction: one commit
    /// (and at most one WAL checkpoint) for a whole build.
    public func finishRun(_ id: Int64, recording targets: [TargetRecord], at date: Date, exitStatus: Int32) throws {
        try queue.write { db in
            if !targets.isEmpty {
                var recorded = try Self.recordedTargets(of: id, db: db)
                let writer = try TargetRowWriter(db: db, run: id)
                defer { writer.finish() }
                for target in targets { try Self.insert(target, run: id, db: db, writer: writer, replacing: &recorded) }
            }
            try db.execute(sql: "UPDATE runs SET finished_at = ?, exit_status = ? WHERE id = ?",
                           arguments: [HistoryTime.format(date), Int(exitStatus), id])
        }
    }

    /// Records `targets` and ends the run, as `finishRun(_:recording:at:exitStatus:)`, and
    /// gives the run every other target of run `base` (the build the incremental path started
    /// from; through it, the full build a no-op run refers to) as fresh in 0 s, with its
    /// parameters, metrics and outputs: the run holds every target, as a full build's does.
    ///
    /// Not by copying them: the run refers (`others_from`) to the run with rows of its own that
    /// `base` stands on, and takes over only the rows `base` itself recorded on top of it
    /// (those an earlier incremental build evaluated). So one edited file costs a few rows
    /// however large the graph, and a reader walks one step, never a chain.
    public func finishRun(_ id: Int64, recording targets: [TargetRecord], othersFrom base: Int64, at date: Date,
                          exitStatus: Int32) throws {
        try queue.write { db in
            // `base` as it holds rows: a no-op run's are those of the run it refers to.
            guard let row = try Row.fetchOne(db, sql: """
                SELECT s.id, s.others_from FROM runs b JOIN runs s ON s.id = COALESCE(b.same_targets_as, b.id) WHERE b.id = ?
                """, arguments: [base]) else {
                throw HistoryError(message: "run \(base), the last build, is not in it")
            }
            let source: Int64 = row["id"]
            let root: Int64 = row["others_from"] ?? source
            if !targets.isEmpty {
                var recorded = try Self.recordedTargets(of: id, db: db)
                let writer = try TargetRowWriter(db: db, run: id)
                defer { writer.finish() }
                for target in targets { try Self.insert(target, run: id, db: db, writer: writer, replacing: &recorded) }
            }
            if source != root {
                // The per-run tables first: the targets copy below is what `others` tells apart.
                let others = "run_id = ?2 AND target NOT IN (SELECT target FROM targets WHERE run_id = ?1)"
                for statement in [
                    "INSERT INTO params (run_id, target, name, value) SELECT ?1, target, name, value FROM params WHERE \(others)",
                    "INSERT INTO metrics (run_id, target, name, value) SELECT ?1, target, name, value FROM metrics WHERE \(others)",
                    "INSERT INTO outputs (run_id, target, path, digest) SELECT ?1, target, path, digest FROM outputs WHERE \(others)",
                    """
                    INSERT INTO targets (run_id, target, kind, status, action_key, seconds, seed, action_id)
                    SELECT ?1, target, kind, 'fresh', action_key, 0, seed, action_id FROM targets WHERE \(others)
                    """,
                ] {
                    try db.execute(sql: statement, arguments: [id, source])
                }
            }
            try db.execute(sql: "UPDATE runs SET finished_at = ?, exit_status = ?, others_from = ? WHERE id = ?",
                           arguments: [HistoryTime.format(date), Int(exitStatus), root, id])
        }
    }

    /// A whole run in one transaction (the no-op fast path, which has everything at once).
    public func recordRun(_ run: NewRun, targets: [TargetRecord], finishedAt: Date, exitStatus: Int32) throws -> Int64 {
        try queue.write { db in
            try db.execute(
                sql: """
                    INSERT INTO runs (started_at, finished_at, git_revision, git_dirty, user, command_line, exit_status, mlfile_path)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [HistoryTime.format(run.startedAt), HistoryTime.format(finishedAt), run.gitRevision,
                            run.gitDirty.map { $0 ? 1 : 0 }, run.user, run.commandLine, Int(exitStatus), run.mlfilePath])
            let id = db.lastInsertedRowID
            var recorded: Set<String> = []
            let writer = try TargetRowWriter(db: db, run: id)
            defer { writer.finish() }
            for target in targets { try Self.insert(target, run: id, db: db, writer: writer, replacing: &recorded) }
            return id
        }
    }

    /// The rows of one target (`TargetRowWriter`). `recorded`: the targets the run already
    /// holds; a target recorded again has its old rows deleted first (four DELETEs that a first
    /// recording, the usual case, does not pay).
    private static func insert(_ target: TargetRecord, run id: Int64, db: Database, writer: TargetRowWriter,
                               replacing recorded: inout Set<String>) throws {
        let name = target.target
        if !recorded.insert(name).inserted {
            for table in ["targets", "params", "metrics", "outputs"] {
                try db.cachedStatement(sql: "DELETE FROM \(table) WHERE run_id = ? AND target = ?").execute(arguments: [id, name])
            }
        }
        try writer.insert(target)
    }

    // MARK: Reading

    /// Per-status target counts of run `r` (a no-op run: its base's targets, all fresh; an
    /// incremental build: its own rows and, fresh, those of `others_from` it has none for).
    private static let countColumns = """
        (SELECT COUNT(*) FROM targets t WHERE t.run_id = r.id AND t.status = 'built') AS n_built,
        (SELECT COUNT(*) FROM targets t WHERE t.run_id = r.id AND t.status = 'restored') AS n_restored,
        CASE WHEN r.same_targets_as IS NULL
            THEN (SELECT COUNT(*) FROM targets t WHERE t.run_id = r.id AND t.status = 'fresh')
                + \(inheritedCount(run: "r.id", from: "r.others_from"))
            ELSE (SELECT COUNT(*) FROM targets t WHERE t.run_id = r.same_targets_as)
                + \(inheritedCount(run: "r.same_targets_as", from: "(SELECT others_from FROM runs WHERE id = r.same_targets_as)"))
            END AS n_fresh,
        (SELECT COUNT(*) FROM targets t WHERE t.run_id = r.id AND t.status IN ('failed', 'skipped')) AS n_failed
        """

    /// The number of targets run `run` takes over from run `from` (SQL expressions; none when
    /// `from` is NULL): those it holds no row for. A primary-key probe per row of `from`.
    private static func inheritedCount(run: String, from: String) -> String {
        """
        (SELECT COUNT(*) FROM targets f WHERE f.run_id = \(from)
            AND NOT EXISTS (SELECT 1 FROM targets o WHERE o.run_id = \(run) AND o.target = f.target))
        """
    }

    /// The most recent runs, newest first.
    public func runs(limit: Int) throws -> [RunSummary] {
        try queue.read { db in
            let rows = try Row.fetchAll(db, sql: "SELECT r.*, \(Self.countColumns) FROM runs r ORDER BY r.id DESC LIMIT ?",
                                        arguments: [limit])
            return rows.map(Self.summary)
        }
    }

    /// Whether run `id` is recorded (without reading its targets).
    public func hasRun(_ id: Int64) throws -> Bool {
        try queue.read { db in try Int64.fetchOne(db, sql: "SELECT id FROM runs WHERE id = ?", arguments: [id]) != nil }
    }

    public func run(_ id: Int64) throws -> RunDetail? {
        try queue.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT r.*, \(Self.countColumns) FROM runs r WHERE r.id = ?",
                                             arguments: [id]) else { return nil }
            // A no-op run reads its base's targets, each fresh in 0 s; an incremental build
            // reads its own and, for the rest, those of the run it refers to, fresh in 0 s.
            let base: Int64? = row["same_targets_as"]
            let source = base ?? id
            var targets: [String: TargetRecord] = [:]
            try Self.readTargets(of: source, asFresh: base != nil, into: &targets, db: db)
            if let inherited = try Int64.fetchOne(db, sql: "SELECT others_from FROM runs WHERE id = ?", arguments: [source]) {
                try Self.readTargets(of: inherited, asFresh: true, into: &targets, db: db)
            }
            return RunDetail(run: Self.summary(row), targets: targets.keys.sorted().compactMap { targets[$0] })
        }
    }

    /// Adds run `id`'s targets that `targets` does not hold yet, with their parameters, metrics
    /// and outputs; `asFresh`: each as fresh in 0 s.
    private static func readTargets(of id: Int64, asFresh: Bool, into targets: inout [String: TargetRecord], db: Database) throws {
        var added: Set<String> = []
        for t in try Row.fetchAll(db, sql: """
            SELECT t.target, t.kind, t.status, COALESCE(a.action_key, t.action_key) AS action_key, t.seconds, t.seed
            FROM targets t LEFT JOIN actions a ON a.id = t.action_id WHERE t.run_id = ?
            """, arguments: [id]) {
            let name: String = t["target"]
            guard targets[name] == nil else { continue }
            let seed: Int64? = t["seed"]
            targets[name] = TargetRecord(target: name, kind: t["kind"], status: asFresh ? "fresh" : t["status"],
                                         actionKey: t["action_key"], seconds: asFresh ? 0 : t["seconds"],
                                         seed: seed.map { UInt64(bitPattern: $0) })
            added.insert(name)
        }
        guard !added.isEmpty else { return }
        for p in try Row.fetchAll(db, sql: """
            SELECT target, name, value FROM params WHERE run_id = ?1
            UNION ALL SELECT t.target, p.name, p.value FROM targets t JOIN action_params p ON p.action_id = t.action_id WHERE t.run_id = ?1
            ORDER BY name
            """, arguments: [id]) {
            let name: String = p["target"]
            if added.contains(name) { targets[name]?.params.append(.init(name: p["name"], value: p["value"])) }
        }
        for m in try Row.fetchAll(db, sql: "SELECT target, name, value FROM metrics WHERE run_id = ? ORDER BY name", arguments: [id]) {
            let name: String = m["target"]
            if added.contains(name) { targets[name]?.metrics.append(.init(name: m["name"], value: m["value"])) }
        }
        for o in try Row.fetchAll(db, sql: """
            SELECT target, path, digest FROM outputs WHERE run_id = ?1
            UNION ALL SELECT t.target, o.path, o.digest FROM targets t JOIN action_outputs o ON o.action_id = t.action_id WHERE t.run_id = ?1
            ORDER BY path
            """, arguments: [id]) {
            let name: String = o["target"]
            if added.contains(name) { targets[name]?.outputs.append(.init(path: o["path"], digest: o["digest"])) }
        }
    }

    /// The newest build (not an `exp run` variant) recorded at `revision` (a full commit hash); nil when none.
    public func lastRun(atRevision revision: String) throws -> Int64? {
        try queue.read { db in
            try Int64.fetchOne(db, sql: "SELECT id FROM runs WHERE git_revision = ? AND experiment IS NULL ORDER BY id DESC LIMIT 1",
                               arguments: [revision])
        }
    }

    /// The newest build (not an `exp run` variant); nil when there is none.
    public func lastRun() throws -> Int64? {
        try queue.read { db in try Int64.fetchOne(db, sql: "SELECT id FROM runs WHERE experiment IS NULL ORDER BY id DESC LIMIT 1") }
    }

    /// Whether any run, builds and experiment variants alike, is recorded.
    public func isEmpty() throws -> Bool {
        try queue.read { db in try Int64.fetchOne(db, sql: "SELECT id FROM runs LIMIT 1") == nil }
    }

    /// The parameters `target` had in the newest build that recorded it (for `--explain`).
    public func lastParameters(of target: String) throws -> [String: String]? {
        try queue.read { db in
            guard let id = try Int64.fetchOne(db, sql: """
                SELECT MAX(t.run_id) FROM targets t JOIN runs r ON r.id = t.run_id WHERE t.target = ? AND r.experiment IS NULL
                """, arguments: [target]) else {
                return nil
            }
            var out: [String: String] = [:]
            for row in try Row.fetchAll(db, sql: """
                SELECT name, value FROM params WHERE run_id = ?1 AND target = ?2
                UNION ALL SELECT p.name, p.value FROM targets t JOIN action_params p ON p.action_id = t.action_id
                WHERE t.run_id = ?1 AND t.target = ?2
                """, arguments: [id, target]) {
                out[row["name"]] = row["value"]
            }
            return out
        }
    }

    private static func summary(_ row: Row) -> RunSummary {
        let dirty: Int? = row["git_dirty"]
        let exit: Int? = row["exit_status"]
        return RunSummary(
            id: row["id"], startedAt: row["started_at"], finishedAt: row["finished_at"], gitRevision: row["git_revision"],
            gitDirty: dirty.map { $0 != 0 }, user: row["user"], commandLine: row["command_line"],
            exitStatus: exit.map { Int32(truncatingIfNeeded: $0) }, mlfilePath: row["mlfile_path"], experiment: row["experiment"],
            sameTargetsAs: row["same_targets_as"],
            built: row["n_built"], restored: row["n_restored"], fresh: row["n_fresh"], failed: row["n_failed"])
    }
}

/// What is known when a run starts.
public struct NewRun: Sendable {
    public var startedAt: Date
    public var gitRevision: String?
    public var gitDirty: Bool?
    public var user: String
    public var commandLine: String
    public var mlfilePath: String
    /// The variant's id when `exp run` built it; nil for a build.
    public var experiment: String?

    public init(startedAt: Date, gitRevision: String?, gitDirty: Bool?, user: String, commandLine: String, mlfilePath: String,
                experiment: String? = nil) {
        self.experiment = experiment
        self.startedAt = startedAt
        self.gitRevision = gitRevision
        self.gitDirty = gitDirty
        self.user = user
        self.commandLine = commandLine
        self.mlfilePath = mlfilePath
    }
}

/// One target of a run.
public struct TargetRecord: Sendable, Codable, Equatable {
    public struct Parameter: Sendable, Codable, Equatable {
        public var name: String
        public var value: String
        public init(name: String, value: String) { self.name = name; self.value = value }
    }
    public struct Metric: Sendable, Codable, Equatable {
        public var name: String
        public var value: Double
        public init(name: String, value: Double) { self.name = name; self.value = value }
    }
    public struct Output: Sendable, Codable, Equatable {
        public var path: String
        public var digest: String
        public init(path: String, digest: String) { self.path = path; self.digest = digest }
    }

    public var target: String
    public var kind: String
    /// built, restored, fresh, failed or skipped.
    public var status: String
    public var actionKey: String?
    public var seconds: Double
    public var seed: UInt64?
    public var params: [Parameter]
    public var metrics: [Metric]
    public var outputs: [Output]

    public init(target: String, kind: String, status: String, actionKey: String?, seconds: Double, seed: UInt64?,
                params: [Parameter] = [], metrics: [Metric] = [], outputs: [Output] = []) {
        self.target = target
        self.kind = kind
        self.status = status
        self.actionKey = actionKey
        self.seconds = seconds
        self.seed = seed
        self.params = params
        self.metrics = metrics
        self.outputs = outputs
    }

    enum CodingKeys: String, CodingKey {
        case target, kind, status, actionKey = "action_key", seconds, seed, params, metrics, outputs
    }
}

/// A run as `mlbuild runs` lists it.
public struct RunSummary: Sendable, Codable, Equatable {
    public var id: Int64
    public var startedAt: String
    public var finishedAt: String?
    public var gitRevision: String?
    public var gitDirty: Bool?
    public var user: String
    public var commandLine: String
    public var exitStatus: Int32?
    public var mlfilePath: String
    /// The `exp run` variant's id; nil for a build.
    public var experiment: String?
    /// A no-op answered by the fast path: the run whose targets it found fresh.
    public var sameTargetsAs: Int64?
    public var built: Int
    public var restored: Int
    public var fresh: Int
    /// Failed or skipped.
    public var failed: Int

    /// Seconds from start to finish; nil while unfinished.
    public var seconds: Double? {
        guard let finishedAt, let start = HistoryTime.parse(startedAt), let end = HistoryTime.parse(finishedAt) else { return nil }
        return end.timeIntervalSince(start)
    }

    enum CodingKeys: String, CodingKey {
        case id, startedAt = "started_at", finishedAt = "finished_at", gitRevision = "git_revision", gitDirty = "git_dirty"
        case user, commandLine = "command_line", exitStatus = "exit_status", mlfilePath = "mlfile_path", experiment
        case sameTargetsAs = "same_targets_as", built, restored, fresh, failed
    }
}

public struct RunDetail: Sendable, Codable, Equatable {
    public var run: RunSummary
    public var targets: [TargetRecord]
}

/// A problem the plain-SQLite path reports (SQLite's message).
public struct HistoryError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// RFC 3339 UTC times with milliseconds (`2025-01-31T12:00:00.123Z`).
public enum HistoryTime {
    public static func format(_ date: Date) -> String {
        let ms = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        let seconds = ms / 1000
        var t = time_t(seconds)
        var parts = tm()
        gmtime_r(&t, &parts)
        // Not String(format:): its first use costs a millisecond of runtime set-up on the no-op path.
        func padded(_ value: Int, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return padded(Int(parts.tm_year) + 1900, 4) + "-" + padded(Int(parts.tm_mon) + 1, 2) + "-" + padded(Int(parts.tm_mday), 2)
            + "T" + padded(Int(parts.tm_hour), 2) + ":" + padded(Int(parts.tm_min), 2) + ":" + padded(Int(parts.tm_sec), 2)
            + "." + padded(Int(ms % 1000), 3) + "Z"
    }

    public static func parse(_ text: String) -> Date? {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f.date(from: text)
    }
}
