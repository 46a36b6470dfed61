import Foundation
import GRDB

/// Release channels: which image each channel (prod, staging, …) serves, every release ever
/// made to it, the approvals given and the rollbacks done. Kept in the run history's SQLite
/// file when there is one (else `.mlbuild/releases.sqlite`), schema "v5" of `HistoryStore`:
///
///     releases(id INTEGER PRIMARY KEY, channel, target,       -- container:NAME
///              image_digest, model_digest NULL,                -- "sha256:…"
///              action_key, outputs_digest,                     -- the container's, to restore it
///              metrics, gates,                                 -- JSON object / array
///              git_revision NULL, git_dirty NULL, who, created_at, note NULL,
///              approvals,                                      -- JSON array of approvers
///              registry NULL,                                  -- REGISTRY/REPO:TAG pushed to
///              promoted_from NULL,                             -- the release it copies
///              sources)                                        -- JSON [{path, sha256}]: its provenance's source files
///     approvals(channel, target, image_digest, approver, created_at)   -- one per approver
///     channels(name PRIMARY KEY, current_release, registry NULL)
///     rollbacks(id, channel, from_release, to_release, who, created_at)
///
/// Release rows are never changed; a channel's `current_release` is what moves (a release,
/// a promotion or a rollback). Writes are single transactions (WAL, busy timeout), so two
/// processes releasing at once both land.
public final class ReleaseStore: Sendable {
    private let store: HistoryStore

    public var path: String { store.path }

    public init(path: String) throws { store = try HistoryStore(path: path) }

    static func createTables(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE releases (
                id INTEGER PRIMARY KEY AUTOINCREMENT, channel TEXT NOT NULL, target TEXT NOT NULL,
                image_digest TEXT NOT NULL, model_digest TEXT, action_key TEXT NOT NULL, outputs_digest TEXT NOT NULL,
                metrics TEXT NOT NULL, gates TEXT NOT NULL, git_revision TEXT, git_dirty INTEGER,
                who TEXT NOT NULL, created_at TEXT NOT NULL, note TEXT, approvals TEXT NOT NULL,
                registry TEXT, promoted_from INTEGER REFERENCES releases(id), sources TEXT NOT NULL DEFAULT '[]');
            CREATE INDEX releases_by_channel ON releases(channel, id);
            CREATE TABLE approvals (
                channel TEXT NOT NULL, target TEXT NOT NULL, image_digest TEXT NOT NULL, approver TEXT NOT NULL,
                created_at TEXT NOT NULL, UNIQUE(channel, target, image_digest, approver));
            CREATE TABLE channels (
                name TEXT PRIMARY KEY, current_release INTEGER NOT NULL REFERENCES releases(id), registry TEXT);
            CREATE TABLE rollbacks (
                id INTEGER PRIMARY KEY AUTOINCREMENT, channel TEXT NOT NULL, from_release INTEGER NOT NULL,
                to_release INTEGER NOT NULL, who TEXT NOT NULL, created_at TEXT NOT NULL);
            """)
    }

    /// A recorded release: its id and time, and what was recorded (`release.channel`, … read
    /// through to `fields`).
    @dynamicMemberLookup
    public struct Release: Sendable, Equatable {
        public var id: Int64
        public var createdAt: String
        public var fields: NewRelease

        public subscript<T>(dynamicMember keyPath: KeyPath<NewRelease, T>) -> T { fields[keyPath: keyPath] }
    }

    /// What `record` needs (the id and time are the store's).
    public struct NewRelease: Sendable, Equatable {
        public var channel: String
        public var target: String
        public var imageDigest: String
        public var modelDigest: String?
        public var actionKey: String
        public var outputsDigest: String
        public var metrics: String
        public var gates: String
        public var gitRevision: String?
        public var gitDirty: Bool?
        public var who: String
        public var note: String?
        public var approvals: [String]
        public var registry: String?
        public var promotedFrom: Int64?
        public var sources: String

        public init(channel: String, target: String, imageDigest: String, modelDigest: String?, actionKey: String, outputsDigest: String,
                    metrics: String, gates: String, gitRevision: String?, gitDirty: Bool?, who: String, note: String?,
                    approvals: [String], registry: String?, promotedFrom: Int64?, sources: String = "[]") {
            self.sources = sources
            self.channel = channel
            self.target = target
            self.imageDigest = imageDigest
            self.modelDigest = modelDigest
            self.actionKey = actionKey
            self.outputsDigest = outputsDigest
            self.metrics = metrics
            self.gates = gates
            self.gitRevision = gitRevision
            self.gitDirty = gitDirty
            self.who = who
            self.note = note
            self.approvals = approvals
            self.registry = registry
            self.promotedFrom = promotedFrom
        }
    }

    /// Records a release and makes it the channel's current one; `registry` (when given)
    /// becomes the channel's registry. Returns the new row.
    public func record(_ release: NewRelease, at date: Date = Date()) throws -> Release {
        let created = HistoryTime.format(date)
        let approvals = Self.encode(release.approvals)
        return try store.queue.write { db in
            try db.execute(sql: """
                INSERT INTO releases (channel, target, image_digest, model_digest, action_key, outputs_digest, metrics, gates,
                    git_revision, git_dirty, who, created_at, note, approvals, registry, promoted_from, sources)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [release.channel, release.target, release.imageDigest, release.modelDigest, release.actionKey,
                                 release.outputsDigest, release.metrics, release.gates, release.gitRevision,
                                 release.gitDirty.map { $0 ? 1 : 0 }, release.who, created, release.note, approvals,
                                 release.registry, release.promotedFrom, release.sources])
            let id = db.lastInsertedRowID
            let registry = try release.registry ?? String.fetchOne(db, sql: "SELECT registry FROM channels WHERE name = ?", arguments: [release.channel])
            try db.execute(sql: "INSERT OR REPLACE INTO channels (name, current_release, registry) VALUES (?, ?, ?)",
                           arguments: [release.channel, id, registry])
            guard let row = try Self.release(id, db: db) else { throw AuditError("release \(id) vanished") }
            return row
        }
    }

    /// Records an approval of `image` for `channel`; false when this approver had already approved it.
    @discardableResult
    public func approve(channel: String, target: String, image: String, approver: String, at date: Date = Date()) throws -> Bool {
        try store.queue.write { db in
            try db.execute(sql: "INSERT OR IGNORE INTO approvals (channel, target, image_digest, approver, created_at) VALUES (?, ?, ?, ?, ?)",
                           arguments: [channel, target, image, approver, HistoryTime.format(date)])
            return db.changesCount > 0
        }
    }

    /// The distinct approvers of `image` for `channel`, in the order they approved.
    public func approvers(channel: String, target: String, image: String) throws -> [String] {
        try store.queue.read { db in
            try String.fetchAll(db, sql: "SELECT approver FROM approvals WHERE channel = ? AND target = ? AND image_digest = ? ORDER BY rowid",
                                arguments: [channel, target, image])
        }
    }

    /// Releases, newest first (of one channel when given).
    public func releases(channel: String? = nil, limit: Int = 1000) throws -> [Release] {
        try store.queue.read { db in
            let rows: [Row]
            if let channel {
                rows = try Row.fetchAll(db, sql: "SELECT * FROM releases WHERE channel = ? ORDER BY id DESC LIMIT ?", arguments: [channel, limit])
            } else {
                rows = try Row.fetchAll(db, sql: "SELECT * FROM releases ORDER BY id DESC LIMIT ?", arguments: [limit])
            }
            return rows.map(Self.release)
        }
    }

    public func release(_ id: Int64) throws -> Release? { try store.queue.read { db in try Self.release(id, db: db) } }

    /// Each channel's name, current release id and registry.
    public func channels() throws -> [(name: String, current: Int64, registry: String?)] {
        try store.queue.read { db in
            try Row.fetchAll(db, sql: "SELECT name, current_release, registry FROM channels ORDER BY name").map {
                (name: $0["name"], current: $0["current_release"], registry: $0["registry"])
            }
        }
    }

    public func current(channel: String) throws -> Release? {
        try store.queue.read { db in
            guard let id = try Int64.fetchOne(db, sql: "SELECT current_release FROM channels WHERE name = ?", arguments: [channel]) else { return nil }
            return try Self.release(id, db: db)
        }
    }

    /// The channel's registry (set by a release with one).
    public func registry(channel: String) throws -> String? {
        try store.queue.read { db in try String.fetchOne(db, sql: "SELECT registry FROM channels WHERE name = ?", arguments: [channel]) }
    }

    /// The release a rollback goes to: the channel's newest release older than its current one
    /// (so that repeated rollbacks walk back).
    public func previous(channel: String) throws -> Release? {
        try store.queue.read { db in
            guard let current = try Int64.fetchOne(db, sql: "SELECT current_release FROM channels WHERE name = ?", arguments: [channel]),
                  let row = try Row.fetchOne(db, sql: "SELECT * FROM releases WHERE channel = ? AND id < ? ORDER BY id DESC LIMIT 1",
                                             arguments: [channel, current])
            else { return nil }
            return Self.release(row)
        }
    }

    /// Points `channel` at `release` (which must be one of its releases) and records the rollback.
    public func rollBack(channel: String, to release: Int64, who: String, at date: Date = Date()) throws {
        try store.queue.write { db in
            guard let current = try Int64.fetchOne(db, sql: "SELECT current_release FROM channels WHERE name = ?", arguments: [channel]) else {
                throw AuditError("channel '\(channel)' has no release")
            }
            try db.execute(sql: "UPDATE channels SET current_release = ? WHERE name = ?", arguments: [release, channel])
            try db.execute(sql: "INSERT INTO rollbacks (channel, from_release, to_release, who, created_at) VALUES (?, ?, ?, ?, ?)",
                           arguments: [channel, current, release, who, HistoryTime.format(date)])
        }
    }

    /// Image digests every release (of any channel) shipped, with their rows: for `lineage --uses`.
    public func all() throws -> [Release] { try releases(channel: nil, limit: Int.max) }

    private static func release(_ id: Int64, db: Database) throws -> Release? {
        try Row.fetchOne(db, sql: "SELECT * FROM releases WHERE id = ?", arguments: [id]).map(release)
    }

    private static func release(_ row: Row) -> Release {
        let dirty: Int? = row["git_dirty"]
        return Release(id: row["id"], createdAt: row["created_at"], fields: NewRelease(
            channel: row["channel"], target: row["target"], imageDigest: row["image_digest"], modelDigest: row["model_digest"],
            actionKey: row["action_key"], outputsDigest: row["outputs_digest"], metrics: row["metrics"], gates: row["gates"],
            gitRevision: row["git_revision"], gitDirty: dirty.map { $0 != 0 }, who: row["who"], note: row["note"],
            approvals: decode(row["approvals"]), registry: row["registry"], promotedFrom: row["promoted_from"], sources: row["sources"]))
    }

    static func encode(_ names: [String]) -> String {
        (try? String(decoding: JSONEncoder().encode(names), as: UTF8.self)) ?? "[]"
    }

    static func decode(_ text: String?) -> [String] {
        guard let text, let names = try? JSONDecoder().decode([String].self, from: Data(text.utf8)) else { return [] }
        return names
    }
}
