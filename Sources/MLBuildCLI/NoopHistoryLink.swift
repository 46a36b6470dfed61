import Foundation
import MLBuildCore

/// `.mlbuild/noop-run`: the history run that the build which wrote the no-op manifest recorded,
/// and the database it is in. A no-op answered by the fast path records a run that refers to it
/// (`HistoryStore.recordNoop`), so that every build is in the history without the fast path
/// loading the Mlfile. Two lines: the run id, the database path.
struct NoopHistoryLink: Equatable {
    var run: Int64
    var historyPath: String

    struct Missing: Error, CustomStringConvertible {
        var what: String
        var description: String { what }
    }

    static func load(from path: String) -> NoopHistoryLink? {
        guard let bytes = try? FileSystem.readBytes(path) else { return nil }
        let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.count == 3, lines[2].isEmpty, let run = Int64(lines[0]), run > 0, !lines[1].isEmpty else { return nil }
        return NoopHistoryLink(run: run, historyPath: String(lines[1]))
    }

    func save(to path: String) throws {
        try FileSystem.writeAtomically(Array("\(run)\n\(historyPath)\n".utf8), to: path)
    }
}
