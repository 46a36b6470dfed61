import GRDB
import GRDBSQLite
import MLBuildCore

/// Inserts the rows of a run's targets through statements prepared once per transaction and
/// re-bound for every row (SQLite's own bind/step/reset, strings bound from their UTF-8
/// storage): building a GRDB `StatementArguments` array and looking its statement up for each
/// row was most of recording a 10,000-target build.
///
/// A target's action key, parameters and outputs are stored once per distinct combination
/// (`actions`, `action_params`, `action_outputs`, schema v3), found again by a digest of
/// them: a build where one target of 10,000 changed adds one `actions` row and 10,000 small
/// `targets` rows, instead of 50,000 rows of keys, values and digests that the previous run
/// already holds.
struct TargetRowWriter {
    private let targets: SQLiteStatement
    private let metrics: SQLiteStatement
    private let findAction: SQLiteStatement
    private let insertAction: SQLiteStatement
    private let params: SQLiteStatement
    private let outputs: SQLiteStatement
    private let connection: SQLiteConnection
    private let run: Int64

    init(db: Database, run: Int64) throws {
        guard let connection = db.sqliteConnection else { throw DatabaseError(resultCode: .SQLITE_MISUSE, message: "closed database") }
        self.connection = connection
        self.run = run
        targets = try db.cachedStatement(sql: """
            INSERT INTO targets (run_id, target, kind, status, seconds, seed, action_id) VALUES (?, ?, ?, ?, ?, ?, ?)
            """).sqliteStatement
        metrics = try db.cachedStatement(sql: "INSERT OR REPLACE INTO metrics (run_id, target, name, value) VALUES (?, ?, ?, ?)").sqliteStatement
        findAction = try db.cachedStatement(sql: "SELECT id FROM actions WHERE digest = ?").sqliteStatement
        insertAction = try db.cachedStatement(sql: "INSERT INTO actions (digest, action_key) VALUES (?, ?)").sqliteStatement
        params = try db.cachedStatement(sql: "INSERT OR REPLACE INTO action_params (action_id, name, value) VALUES (?, ?, ?)").sqliteStatement
        outputs = try db.cachedStatement(sql: "INSERT OR REPLACE INTO action_outputs (action_id, path, digest) VALUES (?, ?, ?)").sqliteStatement
    }

    func insert(_ target: TargetRecord) throws {
        let action = try actionID(of: target)
        var name = target.target
        try start(targets)
        try bind(&name, targets, 2)
        var kind = target.kind, status = target.status
        try bind(&kind, targets, 3)
        try bind(&status, targets, 4)
        try check(sqlite3_bind_double(targets, 5, target.seconds))
        if let seed = target.seed {
            try check(sqlite3_bind_int64(targets, 6, Int64(bitPattern: seed)))
        } else {
            try check(sqlite3_bind_null(targets, 6))
        }
        if let action { try check(sqlite3_bind_int64(targets, 7, action)) } else { try check(sqlite3_bind_null(targets, 7)) }
        try step(targets)
        for metric in target.metrics where metric.value.isFinite {
            var metricName = metric.name
            try start(metrics)
            try bind(&name, metrics, 2)
            try bind(&metricName, metrics, 3)
            try check(sqlite3_bind_double(metrics, 4, metric.value))
            try step(metrics)
        }
    }

    /// The `actions` row holding the target's key, parameters and outputs, inserted when no run
    /// recorded that combination before; nil when the target has none of them.
    private func actionID(of target: TargetRecord) throws -> Int64? {
        guard target.actionKey != nil || !target.params.isEmpty || !target.outputs.isEmpty else { return nil }
        let digest = Self.digest(of: target).bytes
        sqlite3_reset(findAction)
        try bind(digest, findAction, 1)
        switch sqlite3_step(findAction) {
        case SQLITE_ROW:
            let id = sqlite3_column_int64(findAction, 0)
            sqlite3_reset(findAction)
            return id
        case SQLITE_DONE: break
        case let code: throw DatabaseError(resultCode: ResultCode(rawValue: code), message: message)
        }
        sqlite3_reset(insertAction)
        try bind(digest, insertAction, 1)
        if var key = target.actionKey { try bind(&key, insertAction, 2) } else { try check(sqlite3_bind_null(insertAction, 2)) }
        try step(insertAction)
        let id = sqlite3_last_insert_rowid(connection)
        for parameter in target.params { try insertPair(params, id, parameter.name, parameter.value) }
        for output in target.outputs { try insertPair(outputs, id, output.path, output.digest) }
        return id
    }

    /// What identifies an `actions` row: the key, the parameters and the outputs, in order.
    static func digest(of target: TargetRecord) -> ContentDigest {
        var hasher = StableHasher(domain: "mlbuild-history-action-v1")
        hasher.append(target.actionKey != nil)
        hasher.append(target.actionKey ?? "")
        hasher.appendCount(target.params.count)
        for parameter in target.params {
            hasher.append(parameter.name)
            hasher.append(parameter.value)
        }
        hasher.appendCount(target.outputs.count)
        for output in target.outputs {
            hasher.append(output.path)
            hasher.append(output.digest)
        }
        return hasher.finalize()
    }

    /// Leaves the statements reset, as GRDB expects its cached statements.
    func finish() {
        for statement in [targets, metrics, findAction, insertAction, params, outputs] { sqlite3_reset(statement) }
    }

    /// Resets a statement left by the previous row and binds the run's id (parameter 1 of each).
    private func start(_ statement: SQLiteStatement) throws {
        sqlite3_reset(statement)
        try check(sqlite3_bind_int64(statement, 1, run))
    }

    /// SQLITE_TRANSIENT: SQLite copies the bytes, which live only for this call.
    /// One `(action_id, first, second)` row: a parameter (name, value) or an output (path, digest).
    private func insertPair(_ statement: SQLiteStatement, _ id: Int64, _ first: String, _ second: String) throws {
        var first = first, second = second
        sqlite3_reset(statement)
        try check(sqlite3_bind_int64(statement, 1, id))
        try bind(&first, statement, 2)
        try bind(&second, statement, 3)
        try step(statement)
    }

    private func bind(_ text: inout String, _ statement: SQLiteStatement, _ index: Int32) throws {
        let code = text.withUTF8 { bytes in
            guard let base = bytes.baseAddress else { return sqlite3_bind_text(statement, index, "", 0, Self.transient) }
            return UnsafeRawPointer(base).withMemoryRebound(to: CChar.self, capacity: bytes.count) {
                sqlite3_bind_text(statement, index, $0, Int32(bytes.count), Self.transient)
            }
        }
        try check(code)
    }

    private func bind(_ bytes: [UInt8], _ statement: SQLiteStatement, _ index: Int32) throws {
        try check(bytes.withUnsafeBytes { sqlite3_bind_blob(statement, index, $0.baseAddress, Int32($0.count), Self.transient) })
    }

    private func step(_ statement: SQLiteStatement) throws {
        let code = sqlite3_step(statement)
        guard code == SQLITE_DONE else { throw DatabaseError(resultCode: ResultCode(rawValue: code), message: message) }
    }

    private func check(_ code: Int32) throws {
        guard code == SQLITE_OK else { throw DatabaseError(resultCode: ResultCode(rawValue: code), message: message) }
    }

    private var message: String { String(cString: sqlite3_errmsg(connection)) }

    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
}
