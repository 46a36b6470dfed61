import Foundation
@testable import MLBuildHistory
import MLBuildTestSupport
import Testing

/// Schema v4: a build of the incremental path records the targets it evaluated and refers to
/// the full build underneath for the rest (`runs.others_from`), one step deep however many
/// incremental builds follow each other; it reads back as if every target had been copied.
@Suite("run history: incremental builds refer to the full build")
struct HistoryIncrementalRunTests {
    let sharing = HistoryActionSharingTests()

    func fresh(_ record: TargetRecord) -> TargetRecord {
        var copy = record
        copy.status = "fresh"
        copy.seconds = 0
        return copy
    }

    /// As `HistoryStore.run` returns them: parameters sorted by name.
    func sorted(_ records: [TargetRecord]) -> [TargetRecord] {
        records.map { record in
            var copy = record
            copy.params.sort { $0.name < $1.name }
            return copy
        }
    }

    func incremental(_ store: HistoryStore, _ targets: [TargetRecord], on base: Int64) throws -> Int64 {
        let id = try store.beginRun(NewRun(startedAt: Date(), gitRevision: nil, gitDirty: nil, user: "u", commandLine: "mlbuild",
                                           mlfilePath: "Mlfile"))
        try store.finishRun(id, recording: targets, othersFrom: base, at: Date(), exitStatus: 0)
        return id
    }

    @Test func incrementalBuildsWriteOnlyTheirOwnRowsAndReadBackWhole() throws {
        let directory = try TemporaryDirectory()
        let path = "\(directory.path)/history.sqlite"
        let store = try HistoryStore(path: path)
        let a = sharing.record("task:a", status: "built", value: "cat a", digest: "aa")
        let b = sharing.record("task:b", status: "built", value: "cat b", digest: "bb")
        let c = sharing.record("task:c", status: "built", value: "cat c", digest: "cc")
        let full = try sharing.run(store, [a, b, c])

        // One target evaluated: one row; the others are the full build's, fresh in 0 s.
        var b2 = sharing.record("task:b", status: "built", value: "cat b", digest: "b2")
        b2.metrics = [.init(name: "auc", value: 0.75)]
        let first = try incremental(store, [b2], on: full)
        #expect(try sharing.sql(path, "SELECT COUNT(*) FROM targets WHERE run_id = \(first)") == "1")
        #expect(try sharing.sql(path, "SELECT others_from FROM runs WHERE id = \(first)") == "\(full)")
        #expect(try store.run(first)?.targets == sorted([fresh(a), b2, fresh(c)]))

        // A no-op run on top of it reads it whole, all fresh.
        _ = try sharing.sql(path, """
            INSERT INTO runs (started_at, finished_at, user, command_line, exit_status, mlfile_path, same_targets_as) \
            VALUES ('2026-01-02T03:04:05.000Z', '2026-01-02T03:04:05.001Z', 'u', 'mlbuild', 0, 'Mlfile', \(first))
            """)
        let noop = try #require(try store.runs(limit: 1).first)
        #expect(noop.sameTargetsAs == first)
        #expect(try store.run(noop.id)?.targets == sorted([fresh(a), fresh(b2), fresh(c)]))

        // The next incremental build stands on the full build too, not on a chain: it takes
        // over the row of the target the first one evaluated (its metrics with it).
        let c2 = sharing.record("task:c", status: "built", value: "cat c", digest: "c2")
        let second = try incremental(store, [c2], on: noop.id)
        #expect(try sharing.sql(path, "SELECT others_from FROM runs WHERE id = \(second)") == "\(full)")
        #expect(try sharing.sql(path, "SELECT target, status, seconds FROM targets WHERE run_id = \(second) ORDER BY target")
                == "task:b|fresh|0.0\ntask:c|built|1.0")
        #expect(try store.run(second)?.targets == sorted([fresh(a), fresh(b2), c2]))
        #expect(try store.lastParameters(of: "task:b") == ["run": "cat b", "inputs": "src/task:b.txt"])

        // `mlbuild runs` counts every target of each run.
        let counts = try store.runs(limit: 4).map { [$0.id, Int64($0.built), Int64($0.restored), Int64($0.fresh), Int64($0.failed)] }
        #expect(counts == [[second, 1, 0, 2, 0], [noop.id, 0, 0, 3, 0], [first, 1, 0, 2, 0], [full, 3, 0, 0, 0]])
        #expect(try store.run(second)?.run.fresh == 2)
    }

    @Test func aBaseMissingFromTheHistoryIsAnErrorAndRecordsNothing() throws {
        let directory = try TemporaryDirectory()
        let path = "\(directory.path)/history.sqlite"
        let store = try HistoryStore(path: path)
        let id = try store.beginRun(NewRun(startedAt: Date(), gitRevision: nil, gitDirty: nil, user: "u", commandLine: "mlbuild",
                                           mlfilePath: "Mlfile"))
        let a = sharing.record("task:a", status: "built", value: "cat a", digest: "aa")
        #expect(throws: HistoryError.self) {
            try store.finishRun(id, recording: [a], othersFrom: 42, at: Date(), exitStatus: 0)
        }
        #expect(try sharing.sql(path, "SELECT COUNT(*) FROM targets") == "0")
    }
}
