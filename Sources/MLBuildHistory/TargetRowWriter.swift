import GRDB
import GRDBSQLite

/// Inserts the rows of a run's targets through four statements prepared once per transaction
/// and re-bound for every row (SQLite's own bind/step/reset, strings bound from their UTF-8
/// storage): a 10,000-target build records about 20,000 rows, and building a GRDB
/// `StatementArguments` array and looking its statement up for each row was most of the
/// record phase.
struct TargetRowWriter {
    private let targets: SQLiteStatement
    private let params: SQLiteStatement
    private let metrics: SQLiteStatement
    private let outputs: SQLiteStatement
    private let connection: SQLiteConnection
    private let run: Int64

    init(db: Database, run: Int64) throws {
        guard let connection = db.sqliteConnection else { throw DatabaseError(resultCode: .SQLITE_MISUSE, message: "closed database") }
        self.connection = connection
        self.run = run
        targets = try db.cachedStatement(sql: """
            INSERT INTO targets (run_id, target, kind, status, action_key, seconds, seed) VALUES (?, ?, ?, ?, ?, ?, ?)
            """).sqliteStatement
        params = try db.cachedStatement(sql: "INSERT OR REPLACE INTO params (run_id, target, name, value) VALUES (?, ?, ?, ?)").sqliteStatement
        metrics = try db.cachedStatement(sql: "INSERT OR REPLACE INTO metrics (run_id, target, name, value) VALUES (?, ?, ?, ?)").sqliteStatement
        outputs = try db.cachedStatement(sql: "INSERT OR REPLACE INTO outputs (run_id, target, path, digest) VALUES (?, ?, ?, ?)").sqliteStatement
    }

    func insert(_ target: TargetRecord) throws {
        var name = target.target
        try start(targets)
        try bind(&name, targets, 2)
        var kind = target.kind, status = target.status
        try bind(&kind, targets, 3)
        try bind(&status, targets, 4)
        if var key = target.actionKey { try bind(&key, targets, 5) } else { try check(sqlite3_bind_null(targets, 5)) }
        try check(sqlite3_bind_double(targets, 6, target.seconds))
        if let seed = target.seed {
            try check(sqlite3_bind_int64(targets, 7, Int64(bitPattern: seed)))
        } else {
            try check(sqlite3_bind_null(targets, 7))
        }
        try step(targets)
        for parameter in target.params {
            var parameterName = parameter.name, value = parameter.value
            try start(params)
            try bind(&name, params, 2)
            try bind(&parameterName, params, 3)
            try bind(&value, params, 4)
            try step(params)
        }
        for metric in target.metrics where metric.value.isFinite {
            var metricName = metric.name
            try start(metrics)
            try bind(&name, metrics, 2)
            try bind(&metricName, metrics, 3)
            try check(sqlite3_bind_double(metrics, 4, metric.value))
            try step(metrics)
        }
        for output in target.outputs {
            var path = output.path, digest = output.digest
            try start(outputs)
            try bind(&name, outputs, 2)
            try bind(&path, outputs, 3)
            try bind(&digest, outputs, 4)
            try step(outputs)
        }
    }

    /// Leaves the statements reset, as GRDB expects its cached statements.
    func finish() {
        for statement in [targets, params, metrics, outputs] { sqlite3_reset(statement) }
    }

    /// Resets a statement left by the previous row and binds the run's id (parameter 1 of each).
    private func start(_ statement: SQLiteStatement) throws {
        sqlite3_reset(statement)
        try check(sqlite3_bind_int64(statement, 1, run))
    }

    /// SQLITE_TRANSIENT: SQLite copies the bytes, which live only for this call.
    private func bind(_ text: inout String, _ statement: SQLiteStatement, _ index: Int32) throws {
        let code = text.withUTF8 { bytes in
            guard let base = bytes.baseAddress else { return sqlite3_bind_text(statement, index, "", 0, Self.transient) }
            return UnsafeRawPointer(base).withMemoryRebound(to: CChar.self, capacity: bytes.count) {
                sqlite3_bind_text(statement, index, $0, Int32(bytes.count), Self.transient)
            }
        }
        try check(code)
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
