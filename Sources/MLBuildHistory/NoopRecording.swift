import CHistorySQLite
import Foundation

/// Records a no-op build answered by the fast path as a run whose targets are those of run
/// `base` (the full build that wrote the no-op manifest), all fresh (`runs.same_targets_as`).
///
/// In two steps, so that the slow part overlaps the no-op check: `start` opens the database on
/// another thread (plain SQLite through the C shim, which maps the WAL index; no GRDB, whose
/// set-up cost milliseconds) and prepares the run's details (`git status` when in a repository);
/// `finish` waits for it and inserts one row. Recording is never allowed to fail the build: the
/// caller turns an error into one warning.
public final class NoopRecording: @unchecked Sendable {  // state written before `ready` signals, read after
    private let ready = DispatchSemaphore(value: 0)
    private var connection: UnsafeMutableRawPointer?
    private var resolved: Int64 = 0
    private var failure: String?
    private var run: NewRun?

    private init() {}

    /// Opens the history at `path` and calls `details` on a background thread.
    public static func start(path: String, sameTargetsAs base: Int64, busyTimeout: TimeInterval = 5,
                             details: @escaping @Sendable () -> NewRun) -> NoopRecording {
        let recording = NoopRecording()
        let thread = Thread {
            recording.open(path: path, base: base, busyTimeout: busyTimeout)
            recording.run = details()
            recording.ready.signal()
        }
        thread.start()
        return recording
    }

    private func open(path: String, base: Int64, busyTimeout: TimeInterval) {
        guard FileManager.default.fileExists(atPath: path) else {
            failure = "the database is gone"
            return
        }
        var error = [CChar](repeating: 0, count: 512)
        connection = mlbuild_history_noop_open(path, Int32(busyTimeout * 1000), base, &resolved, &error, error.count)
        if connection == nil {
            let message = Self.text(error)
            failure = message.isEmpty ? "run \(base), the last build, is not in it" : message
        }
    }

    /// Inserts the run (finished now); returns its id.
    @discardableResult
    public func finish(at finishedAt: Date = Date()) throws -> Int64 {
        ready.wait()
        if let failure { throw HistoryError(message: failure) }
        guard let connection, let run else { throw HistoryError(message: "not opened") }
        var error = [CChar](repeating: 0, count: 512)
        let id = mlbuild_history_noop_insert(
            connection, resolved, HistoryTime.format(run.startedAt), HistoryTime.format(finishedAt), run.gitRevision,
            run.gitDirty.map { $0 ? 1 : 0 } ?? -1, run.user, run.commandLine, run.mlfilePath, &error, error.count)
        self.connection = nil
        if id < 0 { throw HistoryError(message: Self.text(error)) }
        return id
    }

    /// Closes without recording (the no-op turned out not to be one).
    public func cancel() {
        ready.wait()
        if let connection { mlbuild_history_noop_close(connection) }
        connection = nil
    }

    private static func text(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
