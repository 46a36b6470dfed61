import Foundation
import MLBuildCore
@testable import MLBuildHistory
import MLBuildTestSupport
import Testing

/// The run history (.mlbuild/history.sqlite): what a build records, `runs`, `metrics diff`,
/// `params diff`, and that a broken history never fails a build.
@Suite struct RunHistoryTests {
    /// `runs show --json` and `metrics diff --json`, decoded exactly (JSONDecoder).
    struct ShownRun: Decodable {
        struct Target: Decodable { var target: String; var metrics: [String: Double] }
        var targets: [Target]
    }
    struct MetricsDiff: Decodable {
        struct Row: Decodable { var target: String; var metric: String; var old: Double?; var new: Double? }
        var metrics: [Row]
    }

    /// Runs `mlbuild ARGS` (which must succeed) and parses its JSON output.
    static func runJSON(_ ws: MLBuildWorkspace, _ arguments: [String]) throws -> [String: Any] {
        let result = try ws.run(arguments)
        #expect(result.status == 0, "mlbuild \(arguments.joined(separator: " ")): \(result.output)")
        return try jsonObject(result.stdout)
    }

    static func jsonObject(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    /// The history's number format (6 decimals at most, no exponent), for expected text.
    static func number(_ x: Double) -> String {
        var text = String(format: "%.6f", x)
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text == "-0" ? "0" : text
    }

    @Test func aBuildRecordsOneRunWithStatusesKeysParamsMetricsAndOutputs() throws {
        let ws = try MLFixtures.workspace()
        let build = try ws.build(["model:lr"])
        #expect(build.result.status == 0, "\(build.result.output)")
        #expect(FileManager.default.fileExists(atPath: "\(ws.path)/.mlbuild/history.sqlite"))

        let list = try ws.run(["runs", "--json"])
        #expect(list.status == 0, "\(list.output)")
        let runs = try #require(try Self.jsonObject(list.stdout)["runs"] as? [[String: Any]])
        #expect(runs.count == 1)
        #expect(runs.first?["id"] as? Int == 1)
        #expect(runs.first?["exit_status"] as? Int == 0)
        #expect((runs.first?["command_line"] as? String)?.hasPrefix("mlbuild model:lr --events \(ws.path)/.events-") == true)
        #expect(runs.first?["targets"] as? [String: Int] == ["built": 3, "restored": 0, "fresh": 0, "failed": 0])

        let show = try ws.run(["runs", "show", "1", "--json"])
        #expect(show.status == 0, "\(show.output)")
        let targets = try #require(try Self.jsonObject(show.stdout)["targets"] as? [[String: Any]])
        #expect(targets.map { $0["target"] as? String } == ["dataset:rows", "features:rows", "model:lr"])
        for target in targets {
            let name = try #require(target["target"] as? String)
            #expect(target["status"] as? String == "built")
            #expect(target["action_key"] as? String == build.keys[name])
            #expect(target["seed"] as? Int == 7)
        }
        let model = try #require(targets.last)
        let params = try #require(model["params"] as? [String: String])
        #expect(params == ["algorithm": "logistic_regression", "features": "features:rows", "gate": "auc >= 0.7", "l2": "1.0"])
        let exact = try JSONDecoder().decode(ShownRun.self, from: Data(show.stdout.utf8))
        let metrics = try #require(exact.targets.last?.metrics)
        let file = try MLFixtures.metrics(ws, model: "lr")
        #expect(metrics["auc"] == file.metrics["auc"]?.number)
        #expect(metrics["accuracy"] == file.metrics["accuracy"]?.number)
        #expect(metrics["confusion_matrix"] == nil)
        let outputs = try #require(model["outputs"] as? [String: String])
        // Every output file of the model, each with its digest: model.json, metrics.json, plots.
        let plots = ["calibration", "confusion_matrix", "feature_importance", "precision_recall", "roc"]
            .flatMap { ["build/model/lr/plots/\($0).json", "build/model/lr/plots/\($0).svg"] }
        #expect(outputs.keys.sorted() == (["build/model/lr/metrics.json", "build/model/lr/model.json"] + plots).sorted())
        for path in outputs.keys.sorted() {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: "\(ws.path)/\(path)"))
            #expect(outputs[path] == ContentDigest.of(bytes).hex, "\(path)")
        }

        // A second build restores nothing and builds nothing: all fresh (the fast path answers
        // a no-op without recording; a changed input makes a full build).
        try ws.write("data/rows.csv", MLFixtures.csv(rows: 400) + "")
        let second = try ws.run(["model:lr", "--events", "/dev/null"])
        #expect(second.status == 0)
        let after = try #require(try Self.jsonObject(try ws.run(["runs", "--json"]).stdout)["runs"] as? [[String: Any]])
        #expect(after.map { $0["id"] as? Int } == [2, 1])
        #expect(after.first?["targets"] as? [String: Int] == ["built": 0, "restored": 0, "fresh": 3, "failed": 0])

        // The text forms: a tab-separated table in a pipe, and the run's details.
        let table = try ws.run(["runs"])
        let lines = table.stdout.split(separator: "\n")
        #expect(lines.first == "Run\tStarted\tDuration\tRevision\tExit\tBuilt\tRestored\tFresh\tFailed\tExperiment\tCommand")
        #expect(lines.count == 3)
        let fields = try #require(lines.last).split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
        #expect(fields.count == 11)
        #expect(fields.first == "1" && Array(fields[3...9]) == ["-", "0", "3", "0", "0", "0", "-"])
        #expect(fields.last?.hasPrefix("mlbuild model:lr --events ") == true)
        let text = try ws.run(["runs", "show", "run:1"]).stdout
        #expect(text.contains("\nmodel:lr: built in "))
        #expect(text.contains("  param l2 = 1.0\n"))
        #expect(text.contains("  metric auc = \(Self.number(try #require(file.metrics["auc"]?.number)))\n"))
    }

    @Test func metricsDiffAndParamsDiffShowExactlyTheChange() throws {
        let ws = try MLFixtures.workspace(mlfile: MLFixtures.mlfile(l2: "1.0"))
        #expect(try ws.run([]).status == 0)
        let before = try MLFixtures.metrics(ws, model: "lr")
        try ws.write("Mlfile", MLFixtures.mlfile(l2: "0.1"))
        let second = try ws.run(["--explain"])
        #expect(second.status == 0, "\(second.output)")
        // --explain takes the old value from the history's last run of the target.
        #expect(second.stderr.contains("explain: model:lr: parameter l2 changed: 1.0 → 0.1\n"))
        let after = try MLFixtures.metrics(ws, model: "lr")

        let params = try ws.run(["params", "diff", "run:1", "run:2"])
        #expect(params.status == 0, "\(params.output)")
        #expect(params.stdout == "Target\tParam\tOld (run:1)\tNew (run:2)\nmodel:lr\tl2\t1.0\t0.1\n")

        // A bare number is a run id too.
        #expect(try ws.run(["params", "diff", "1", "2"]).stdout == params.stdout)

        let metrics = try ws.run(["metrics", "diff", "run:1", "run:2"])
        #expect(metrics.status == 0, "\(metrics.output)")
        var expected = "Target\tMetric\tOld (run:1)\tNew (run:2)\tChange\n"
        for name in before.metrics.keys.sorted() {
            guard let old = before.metrics[name]?.number, let new = after.metrics[name]?.number, old != new else { continue }
            let change = Self.number(new - old)
            expected += "model:lr\t\(name)\t\(Self.number(old))\t\(Self.number(new))\t\(new - old > 0 && change != "0" ? "+" : "")\(change)\n"
        }
        #expect(expected.split(separator: "\n").count > 1, "l2 0.1 vs 1.0 changed no metric: pick another value")
        #expect(metrics.stdout == expected)
        #expect(try ws.run(["metrics", "diff", "1", "run:2"]).stdout == expected)

        // Defaults: outside git, the newest run against the workspace, which matches it.
        #expect(try ws.run(["metrics", "diff"]).stdout == "no metric changed between run:2 and workspace\n")
        // An edit not yet built shows against the workspace's Mlfile.
        try ws.write("Mlfile", MLFixtures.mlfile(l2: "10"))
        #expect(try ws.run(["params", "diff"]).stdout == "Target\tParam\tOld (run:2)\tNew (workspace)\nmodel:lr\tl2\t0.1\t10\n")
        #expect(try ws.run(["params", "diff", "run:1"]).stdout == "Target\tParam\tOld (run:1)\tNew (workspace)\nmodel:lr\tl2\t1.0\t10\n")

        // JSON shapes.
        let pj = try Self.runJSON(ws, ["params", "diff", "run:1", "run:2", "--json"])
        #expect(pj["old"] as? String == "run:1" && pj["new"] as? String == "run:2")
        let prow = try #require((pj["params"] as? [[String: Any]])?.first)
        #expect(prow["target"] as? String == "model:lr" && prow["param"] as? String == "l2")
        #expect(prow["old"] as? String == "1.0" && prow["new"] as? String == "0.1")
        let mj = try Self.runJSON(ws, ["metrics", "diff", "run:1", "run:2", "--json", "--all"])
        let mrows = try #require(mj["metrics"] as? [[String: Any]])
        let exactRows = try JSONDecoder().decode(MetricsDiff.self, from: Data(try ws.run(["metrics", "diff", "run:1", "run:2", "--json", "--all"]).stdout.utf8))
        let auc = try #require(exactRows.metrics.first { $0.target == "model:lr" && $0.metric == "auc" })
        #expect(auc.old == before.metrics["auc"]?.number)
        #expect(auc.new == after.metrics["auc"]?.number)
        #expect(mrows.contains { $0["target"] as? String == "model:gbt" && ($0["change"] as? NSNumber)?.doubleValue == 0 })
        struct Shown: Decodable { var metrics: [String: [String: Double]] }
        let show = try JSONDecoder().decode(Shown.self, from: Data(try ws.run(["metrics", "show", "model:gbt", "--json"]).stdout.utf8))
        #expect(show.metrics.keys.sorted() == ["model:gbt"])
        #expect(show.metrics["model:gbt"]?["auc"] == (try MLFixtures.metrics(ws, model: "gbt")).metrics["auc"]?.number)
    }

    @Test func historyErrorsAreClearWithExitTwo() throws {
        let ws = try MLFixtures.workspace()
        let none = try ws.run(["metrics", "diff"])
        #expect(none.status == 2)
        #expect(none.stderr == "error: no run history yet in \(ws.path)/.mlbuild/history.sqlite: a build records one\n")
        #expect(try ws.run([]).status == 0)
        let unknown = try ws.run(["runs", "show", "42"])
        #expect(unknown.status == 2)
        #expect(unknown.stderr.hasPrefix("error: no run 42 in \(ws.path)/.mlbuild/history.sqlite; the newest runs: run:1 (-)"))
        let noRun = try ws.run(["metrics", "diff", "7"])
        #expect(noRun.status == 2)
        #expect(noRun.stderr.hasPrefix("error: no run 7 in \(ws.path)/.mlbuild/history.sqlite; the newest runs: run:1 (-)"))
        let badRevision = try ws.run(["params", "diff", "no-such-rev"])
        #expect(badRevision.status == 2)
        #expect(badRevision.stderr.contains("'no-such-rev' is neither run:N, workspace, nor a git revision"))
    }

    @Test func gitRevisionsSelectTheNewestRunAtThatCommit() throws {
        let ws = try MLFixtures.workspace(mlfile: MLFixtures.mlfile(l2: "1.0"))
        let env: [String: String?] = ["GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@e", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@e"]
        func git(_ command: String) throws {
            let r = try ProcessRunner.shell("git " + command, in: ws.path, environment: env)
            #expect(r.status == 0, "\(r.output)")
        }
        try ws.write(".gitignore", "build/\ncache/\n.mlbuild/\n")
        try git("init -q && git add -A && git commit -q -m one")
        #expect(try ws.run([]).status == 0)
        try ws.write("Mlfile", MLFixtures.mlfile(l2: "0.1"))
        try git("commit -q -am two")
        #expect(try ws.run([]).status == 0)
        #expect(try ws.run(["params", "diff", "HEAD~1", "HEAD"]).stdout
            == "Target\tParam\tOld (run:1)\tNew (run:2)\nmodel:lr\tl2\t1.0\t0.1\n")
        // Digits name a run; a tag of digits with no such run is the revision; both is an error.
        try git("tag 2024 HEAD~1 && git tag 2 HEAD~1")
        #expect(try ws.run(["params", "diff", "2024", "HEAD"]).stdout
            == "Target\tParam\tOld (run:1)\tNew (run:2)\nmodel:lr\tl2\t1.0\t0.1\n")
        let both = try ws.run(["params", "diff", "2"])
        #expect(both.status == 2)
        #expect(both.stderr.hasPrefix("error: '2' is both run 2 and commit "), "\(both.stderr)")
        #expect(both.stderr.hasSuffix(": write run:2 for the run, or the full hash\n"))
        let runs = try ws.run(["runs"]).stdout.split(separator: "\n")
        #expect(runs.count == 3 && !runs[1].contains("*\t") && runs[1].split(separator: "\t")[3].count == 7)
        // A dirty tracked file marks the run; a revision without a run says so and lists runs.
        try ws.write("Mlfile", MLFixtures.mlfile(l2: "0.1") + "\n# edited\n")
        try git("commit -q --allow-empty -m three")
        let missing = try ws.run(["metrics", "diff"])
        #expect(missing.status == 2)
        #expect(missing.stderr.hasPrefix("error: no recorded run at HEAD ("))
        #expect(missing.stderr.contains("; the newest runs: run:2 ("))
    }

    @Test func secretsNeverReachTheDatabase() throws {
        let secret = "Tok3n-Very-Secret-9817"
        let ws = try MLBuildWorkspace(mlfile: """
        task call
            outputs = out.txt
            run = echo "${secret:API_TOKEN}" | wc -c > out.txt
        """)
        let build = try ws.run([], environment: ["API_TOKEN": secret])
        #expect(build.status == 0, "\(build.output)")
        let show = try Self.jsonObject(try ws.run(["runs", "show", "1", "--json"]).stdout)
        let target = try #require((show["targets"] as? [[String: Any]])?.first)
        #expect((target["params"] as? [String: String])?["run"] == "<secret>")
        for file in ["history.sqlite", "history.sqlite-wal"] {
            let path = "\(ws.path)/.mlbuild/\(file)"
            guard let data = FileManager.default.contents(atPath: path) else { continue }
            #expect(data.range(of: Data(secret.utf8)) == nil, "\(file) holds the secret")
            #expect(data.range(of: Data("API_TOKEN".utf8)) == nil, "\(file) holds the secret's name")
        }
    }

    static let warning = "mlbuild: warning: run history not recorded: "

    @Test func aCorruptDatabaseWarnsOnceAndTheBuildSucceeds() throws {
        let ws = try Fixtures.diamondWorkspace()
        try ws.write(".mlbuild/history.sqlite", String(repeating: "this is not a database\n", count: 200))
        let build = try ws.build()
        #expect(build.result.status == 0, "\(build.result.output)")
        #expect(build.targets("built") == ["task:a", "task:b", "task:c", "task:d"])
        #expect(build.result.stderr.components(separatedBy: Self.warning).count == 2)
        #expect(build.result.stderr.contains(Self.warning + "\(ws.path)/.mlbuild/history.sqlite: "))
        let query = try ws.run(["runs"])
        #expect(query.status == 2)
        #expect(query.stderr.hasPrefix("error: cannot read the run history \(ws.path)/.mlbuild/history.sqlite: "))
    }

    @Test func anUnwritableLocationWarnsAndTheBuildSucceeds() throws {
        let ws = try Fixtures.diamondWorkspace()
        try ws.write("not-a-directory", "x")
        // A file where the directory should be: fails for root too (unlike a chmod).
        let build = try ws.build(["--history", "not-a-directory/history.sqlite"])
        #expect(build.result.status == 0, "\(build.result.output)")
        #expect(build.targets("built") == ["task:a", "task:b", "task:c", "task:d"])
        #expect(build.result.stderr.contains(Self.warning + "\(ws.path)/not-a-directory/history.sqlite: "))
        // A failing target keeps its exit status 1.
        try ws.write("Mlfile", "task bad\n    outputs = x\n    run = exit 3\n")
        let failing = try ws.run(["--history", "not-a-directory/h.sqlite"], environment: [:])
        #expect(failing.status == 1)
        #expect(failing.stderr.contains(Self.warning))
    }

    @Test func aLockedDatabaseWarnsAndTheBuildSucceeds() throws {
        let ws = try Fixtures.diamondWorkspace()
        #expect(try ws.run([]).status == 0)
        let path = "\(ws.path)/.mlbuild/history.sqlite"
        // Another process holds an exclusive lock for longer than the 5 s busy timeout.
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        holder.arguments = ["python3", "-c", """
            import sqlite3, sys, time
            c = sqlite3.connect(sys.argv[1], isolation_level=None)
            c.execute('BEGIN EXCLUSIVE')
            print('locked', flush=True)
            time.sleep(60)
            """, path]
        let pipe = Pipe()
        holder.standardOutput = pipe
        try holder.run()
        defer {
            kill(holder.processIdentifier, SIGKILL)
            holder.waitUntilExit()
        }
        let line = pipe.fileHandleForReading.availableData
        #expect(String(decoding: line, as: UTF8.self).hasPrefix("locked"))
        try ws.write("src/c.txt", "changed\n")
        let build = try ws.build()
        #expect(build.result.status == 0, "\(build.result.output)")
        #expect(build.targets("built") == ["task:c", "task:d"])
        #expect(build.result.stderr.components(separatedBy: Self.warning).count == 2)
        #expect(build.result.stderr.contains(Self.warning + path + ": "))
    }

    @Test func anEmptyFileIsMigratedAndAnExistingV1DatabaseReopened() throws {
        let ws = try Fixtures.diamondWorkspace()
        try ws.write(".mlbuild/history.sqlite", "")
        #expect(try ws.run([]).status == 0)
        let path = "\(ws.path)/.mlbuild/history.sqlite"
        #expect(try HistoryStore(path: path).appliedMigrations() == ["v1", "v2", "v3", "v4", "v5"])
        try ws.write("src/a.txt", "again\n")
        let second = try ws.run([])
        #expect(second.status == 0 && !second.stderr.contains("warning"), "\(second.output)")
        let store = try HistoryStore(path: path)
        #expect(try store.appliedMigrations() == ["v1", "v2", "v3", "v4", "v5"])
        #expect(try store.runs(limit: 10).map(\.id) == [2, 1])
        #expect(try store.run(2)?.targets.map(\.status) == ["built", "built", "fresh", "built"])
    }

    @Test func aV1DatabaseIsMigratedToV2KeepingItsRuns() throws {
        let ws = try Fixtures.diamondWorkspace()
        let path = "\(ws.path)/.mlbuild/history.sqlite"
        // As mlbuild left it before v2: schema v1 and one run (written with SQLite itself).
        #expect(try HistoryStore(path: path, busyTimeout: 5, migratingUpTo: "v1").appliedMigrations() == ["v1"])
        let insert = try ProcessRunner.run("/usr/bin/env", ["python3", "-c", """
            import sqlite3, sys
            db = sqlite3.connect(sys.argv[1])
            db.execute("INSERT INTO runs (started_at, finished_at, user, command_line, exit_status, mlfile_path) "
                       "VALUES ('2026-01-02T03:04:05.000Z', '2026-01-02T03:04:06.000Z', 'old', 'mlbuild', 0, 'Mlfile')")
            db.commit()
            """, path])
        #expect(insert.status == 0, "\(insert.output)")
        let build = try ws.run([])
        #expect(build.status == 0 && !build.stderr.contains("warning"), "\(build.output)")
        let store = try HistoryStore(path: path)
        #expect(try store.appliedMigrations() == ["v1", "v2", "v3", "v4", "v5"])
        let runs = try store.runs(limit: 10)
        #expect(runs.map(\.id) == [2, 1])
        #expect(runs.map(\.experiment) == [nil, nil])
        #expect(runs.last?.user == "old" && runs.last?.startedAt == "2026-01-02T03:04:05.000Z")
        #expect(try store.lastRun() == 2)
    }

    @Test func concurrentBuildsBothRecord() async throws {
        // Two workspaces writing one history file at once, and two builds of one workspace.
        let shared = try TemporaryDirectory(prefix: "mlbuild-history")
        let history = "\(shared.path)/history.sqlite"
        let one = try Fixtures.diamondWorkspace(), two = try Fixtures.diamondWorkspace()
        try two.write("src/a.txt", "other\n")
        let statuses = await withTaskGroup(of: Int32.self) { group in
            // Different targets in one workspace: the second is never a no-op (which is not recorded).
            for (ws, target) in [(one, "task:d"), (two, "task:d"), (one, "task:b")] {
                group.addTask { (try? ws.run([target, "-j", "2"], environment: ["MLBUILD_HISTORY": history]).status) ?? -1 }
            }
            var out: [Int32] = []
            for await status in group { out.append(status) }
            return out
        }
        #expect(statuses == [0, 0, 0])
        let store = try HistoryStore(path: history)
        let runs = try store.runs(limit: 10)
        #expect(runs.count == 3)
        #expect(runs.allSatisfy { $0.exitStatus == 0 && $0.finishedAt != nil })
        #expect(runs.map { $0.built + $0.fresh + $0.restored }.sorted() == [2, 4, 4])
    }
}
