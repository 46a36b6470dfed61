import Foundation
@testable import MLBuildHistory
import MLBuildTestSupport
import Testing

/// Schema v3: a target's key, parameters and outputs are stored once per distinct combination
/// and shared by the runs that recorded it; runs recorded before v3 keep their own rows and
/// read back as they did.
@Suite("run history: keys, parameters and outputs stored once")
struct HistoryActionSharingTests {
    func record(_ name: String, status: String, value: String, digest: String, key: String? = nil) -> TargetRecord {
        TargetRecord(target: name, kind: "task", status: status, actionKey: key ?? "sha256:" + digest, seconds: 1, seed: 7,
                     params: [.init(name: "run", value: value), .init(name: "inputs", value: "src/\(name).txt")],
                     metrics: [.init(name: "auc", value: 0.5)],
                     outputs: [.init(path: "out/\(name).txt", digest: "sha256:" + digest)])
    }

    func run(_ store: HistoryStore, _ targets: [TargetRecord]) throws -> Int64 {
        let id = try store.beginRun(NewRun(startedAt: Date(), gitRevision: nil, gitDirty: nil, user: "u", commandLine: "mlbuild",
                                           mlfilePath: "Mlfile"))
        try store.recordTargets(targets, run: id)
        try store.finishRun(id, at: Date(), exitStatus: 0)
        return id
    }

    func sql(_ path: String, _ query: String) throws -> String {
        let result = try ProcessRunner.run("/usr/bin/env", ["python3", "-c", """
            import sqlite3, sys
            db = sqlite3.connect(sys.argv[1])
            for row in db.execute(sys.argv[2]): print("|".join("" if v is None else str(v) for v in row))
            db.commit()
            """, path, query])
        #expect(result.status == 0, "\(result.output)")
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test func anUnchangedTargetAddsOnlyItsTargetsRow() throws {
        let directory = try TemporaryDirectory()
        let path = "\(directory.path)/history.sqlite"
        let store = try HistoryStore(path: path)
        let a = record("task:a", status: "built", value: "cat a", digest: "aa")
        let b = record("task:b", status: "built", value: "cat b", digest: "bb")
        let first = try run(store, [a, b])
        var freshA = a, changedB = record("task:b", status: "built", value: "cat b", digest: "cc")
        freshA.status = "fresh"
        let second = try run(store, [freshA, changedB])
        // a: one action shared by both runs; b: a new one, its output changed.
        #expect(try sql(path, "SELECT COUNT(*) FROM actions") == "3")
        #expect(try sql(path, "SELECT COUNT(*) FROM action_params") == "6")
        #expect(try sql(path, "SELECT COUNT(*) FROM params") == "0")
        #expect(try store.run(first)?.targets == [a, b].map { target in
            var sorted = target
            sorted.params.sort { $0.name < $1.name }
            return sorted
        })
        changedB.params.sort { $0.name < $1.name }
        freshA.params.sort { $0.name < $1.name }
        #expect(try store.run(second)?.targets == [freshA, changedB])
        #expect(try store.lastParameters(of: "task:b") == ["run": "cat b", "inputs": "src/task:b.txt"])
    }

    @Test func aTargetWithoutKeyParametersOrOutputsHasNoAction() throws {
        let directory = try TemporaryDirectory()
        let path = "\(directory.path)/history.sqlite"
        let store = try HistoryStore(path: path)
        let skipped = TargetRecord(target: "task:s", kind: "task", status: "skipped", actionKey: nil, seconds: 0, seed: nil)
        let id = try run(store, [skipped])
        #expect(try sql(path, "SELECT COUNT(*) FROM actions") == "0")
        #expect(try store.run(id)?.targets == [skipped])
    }

    @Test func aRunRecordedBeforeV3ReadsBackAsItWas() throws {
        let directory = try TemporaryDirectory()
        let path = "\(directory.path)/history.sqlite"
        // As an mlbuild before v3 left it: its rows in targets, params, metrics and outputs.
        _ = try HistoryStore(path: path, busyTimeout: 5, migratingUpTo: "v2")
        _ = try sql(path, """
            INSERT INTO runs (id, started_at, finished_at, user, command_line, exit_status, mlfile_path) \
            VALUES (1, '2026-01-02T03:04:05.000Z', '2026-01-02T03:04:06.000Z', 'old', 'mlbuild', 0, 'Mlfile');
            """)
        for statement in [
            "INSERT INTO targets VALUES (1, 'task:a', 'task', 'built', 'sha256:aa', 1.0, 7)",
            "INSERT INTO params VALUES (1, 'task:a', 'run', 'cat a')",
            "INSERT INTO params VALUES (1, 'task:a', 'inputs', 'src/task:a.txt')",
            "INSERT INTO metrics VALUES (1, 'task:a', 'auc', 0.5)",
            "INSERT INTO outputs VALUES (1, 'task:a', 'out/task:a.txt', 'sha256:aa')",
        ] { _ = try sql(path, statement) }
        let store = try HistoryStore(path: path)
        #expect(try store.appliedMigrations() == ["v1", "v2", "v3", "v4", "v5"])
        var expected = record("task:a", status: "built", value: "cat a", digest: "aa")
        expected.params.sort { $0.name < $1.name }
        #expect(try store.run(1)?.targets == [expected])
        #expect(try store.lastParameters(of: "task:a") == ["run": "cat a", "inputs": "src/task:a.txt"])
        // The same target recorded by this mlbuild reads back the same way.
        let id = try run(store, [record("task:a", status: "built", value: "cat a", digest: "aa")])
        #expect(try store.run(id)?.targets == [expected])
    }
}
