import Foundation
import MLBuildHistory
import MLBuildTestSupport
import Testing

/// Recording a build pays no DELETEs for targets a run records the first time (the usual
/// case); a target recorded again in the same run still replaces its rows.
@Suite("run history: recording a target twice")
struct HistoryStoreRecordingTests {
    func record(_ name: String, status: String, value: String, digest: String) -> TargetRecord {
        TargetRecord(target: name, kind: "task", status: status, actionKey: "sha256:" + digest, seconds: 1, seed: 0,
                     params: [.init(name: "run", value: value)], metrics: [.init(name: "auc", value: 0.5)],
                     outputs: [.init(path: "out/\(name).txt", digest: "sha256:" + digest)])
    }

    func started(_ store: HistoryStore) throws -> Int64 {
        try store.beginRun(NewRun(startedAt: Date(), gitRevision: nil, gitDirty: nil, user: "u", commandLine: "mlbuild",
                                  mlfilePath: "Mlfile"))
    }

    @Test func aTargetRecordedAgainInALaterCallReplacesItsRows() throws {
        let directory = try TemporaryDirectory()
        let store = try HistoryStore(path: "\(directory.path)/history.sqlite")
        let run = try started(store)
        try store.recordTargets([record("task:a", status: "failed", value: "one", digest: "aa"),
                                 record("task:b", status: "built", value: "b", digest: "bb")], run: run)
        try store.recordTarget(record("task:a", status: "built", value: "two", digest: "cc"), run: run)
        let detail = try #require(try store.run(run))
        #expect(detail.targets.map(\.target) == ["task:a", "task:b"])
        #expect(detail.targets[0] == record("task:a", status: "built", value: "two", digest: "cc"))
        #expect(detail.run.built == 2 && detail.run.failed == 0)
    }

    @Test func aTargetTwiceInOneBatchKeepsTheLastRecord() throws {
        let directory = try TemporaryDirectory()
        let store = try HistoryStore(path: "\(directory.path)/history.sqlite")
        let run = try started(store)
        try store.recordTargets([record("task:a", status: "failed", value: "one", digest: "aa"),
                                 record("task:a", status: "built", value: "two", digest: "cc")], run: run)
        let detail = try #require(try store.run(run))
        #expect(detail.targets == [record("task:a", status: "built", value: "two", digest: "cc")])
    }
}
