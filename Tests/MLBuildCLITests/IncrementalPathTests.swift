import Foundation
import MLBuildHistory
import MLBuildTestSupport
import Testing

/// The incremental path: when only files changed since the last clean build, the no-op
/// manifest says which targets own them, and only those and their dependents are evaluated.
/// It must end exactly where the full path ends (same outcomes, keys, history, state).
@Suite("incremental path")
struct IncrementalPathTests {
    /// a → b → d ← c, and a globbing target apart.
    static let mlfile = """
    task a
        inputs = src/a.txt
        outputs = out/a.txt
        run = cat src/a.txt | cksum > out/a.txt
    task b: task:a
        inputs = src/b.txt, out/a.txt
        outputs = out/b.txt
        run = cat src/b.txt out/a.txt > out/b.txt
    task c
        inputs = src/c.txt
        outputs = out/c.txt
        run = cat src/c.txt > out/c.txt
    task d: task:b, task:c
        inputs = out/b.txt, out/c.txt
        outputs = out/d.txt
        run = test ! -e src/fail && cat out/b.txt out/c.txt > out/d.txt
    task all
        inputs = src/*.txt
        outputs = out/count.txt
        run = cat src/*.txt | wc -l > out/count.txt
    """

    struct Traced {
        var run: BuildRun
        /// `N of M targets stale (K changed files)`, or nil when the incremental path was not taken.
        var incremental: String?
    }

    func build(_ ws: MLBuildWorkspace, _ arguments: [String] = [], environment: [String: String?] = [:]) throws -> Traced {
        var traced = environment
        traced["MLBUILD_TRACE"] = "1"
        let run = try ws.build(arguments, environment: traced)
        let prefix = "trace: incremental path: "
        let line = run.result.stderr.split(separator: "\n").first { $0.hasPrefix(prefix) }
        return Traced(run: run, incremental: line.map { String($0.dropFirst(prefix.count)) })
    }

    /// A built workspace whose no-op manifest is written (files out of the racy window).
    func workspace(_ mlfile: String = Self.mlfile) throws -> MLBuildWorkspace {
        let ws = try MLBuildWorkspace(mlfile: mlfile)
        for name in ["a", "b", "c"] { try ws.write("src/\(name).txt", "\(name)\n") }
        let first = try ws.build()
        #expect(first.result.status == 0, "\(first.result.output)")
        Thread.sleep(forTimeInterval: 0.25)
        #expect(try ws.build().result.status == 0)
        #expect(ws.exists(".mlbuild/noop"))
        return ws
    }

    /// The keys a full build finds, the manifest set aside.
    func fullKeys(_ ws: MLBuildWorkspace) throws -> [String: String] {
        try ws.directory.remove(".mlbuild/noop")
        let full = try build(ws)
        #expect(full.incremental == nil)
        #expect(full.run.targets("built").isEmpty && full.run.targets("restored").isEmpty, "\(full.run.result.output)")
        return full.run.keys
    }

    @Test func aFileReadThroughAGlobHasItsGlobbingTargetAmongItsOwners() throws {
        let ws = try workspace()
        try ws.write("src/b.txt", "b2\n")
        let edited = try build(ws)
        #expect(edited.run.result.status == 0, "\(edited.run.result.output)")
        // src/b.txt is read by task:b by name and by task:all through its glob.
        #expect(edited.incremental == "3 of 5 targets stale (1 changed file)", "\(edited.run.result.stderr)")
        #expect(edited.run.targets("built") == ["task:all", "task:b", "task:d"])
        // A new file in the globbed directory changes the directory, which task:all listed.
        Thread.sleep(forTimeInterval: 0.25)
        try ws.write("src/e.txt", "e\n")
        let added = try build(ws)
        #expect(added.incremental == "1 of 5 targets stale (1 changed file)", "\(added.run.result.stderr)")
        #expect(added.run.targets("built") == ["task:all"])
        #expect(try ws.read("out/count.txt").trimmingCharacters(in: .whitespacesAndNewlines) == "4")
    }

    @Test func anEditedSourceNoGlobReadsTakesTheIncrementalPath() throws {
        let mlfile = Self.mlfile.replacingOccurrences(of: "src/*.txt", with: "src/c.txt")
            .replacingOccurrences(of: "cat src/*.txt", with: "cat src/c.txt")
        let ws = try workspace(mlfile)
        try ws.write("src/b.txt", "b2\n")
        let edited = try build(ws, ["--events", "ev.jsonl"])
        #expect(edited.run.result.status == 0, "\(edited.run.result.output)")
        #expect(edited.incremental == "2 of 5 targets stale (1 changed file)", "\(edited.run.result.stderr)")
        #expect(edited.run.targets("built") == ["task:b", "task:d"])
        #expect(edited.run.targets("fresh") == ["task:a", "task:all", "task:c"])
        #expect(edited.run.result.stderr.contains("mlbuild: 5 targets: 2 built, 0 restored, 3 fresh, 0 failed, 0 skipped"),
                "\(edited.run.result.stderr)")
        #expect(edited.run.summary?["built"] as? Int == 2 && edited.run.summary?["fresh"] as? Int == 3)
        #expect(edited.run.result.stderr.contains("trace: action keys computed: 2 of 5 targets"))
        #expect(try ws.read("out/d.txt") == "b2\n" + (try ws.read("out/a.txt")) + "c\n")

        // The run history holds every target, as after a full build.
        let store = try HistoryStore(path: "\(ws.path)/.mlbuild/history.sqlite")
        let runs = try store.runs(limit: 10)
        #expect([runs[0].built, runs[0].restored, runs[0].fresh, runs[0].failed] as [Int] == [2, 0, 3, 0])
        let recorded = try #require(try store.run(runs[0].id))
        #expect(recorded.targets.map(\.target) == ["task:a", "task:all", "task:b", "task:c", "task:d"])
        #expect(recorded.targets.map(\.status) == ["fresh", "fresh", "built", "fresh", "built"])
        let before = try #require(try store.run(runs[1].id))
        #expect(recorded.targets.map(\.params) == before.targets.map(\.params))
        #expect(recorded.targets.first { $0.target == "task:a" }?.outputs == before.targets.first { $0.target == "task:a" }?.outputs)
        #expect(Dictionary(uniqueKeysWithValues: recorded.targets.map { ($0.target, $0.actionKey ?? "") }) == edited.run.keys)

        // What it wrote holds: the next build is the no-op fast path with the new keys, and a
        // second edit takes the incremental path again.
        Thread.sleep(forTimeInterval: 0.25)
        let noop = try ws.build([], environment: ["MLBUILD_TRACE": "1"])
        #expect(noop.result.stderr.contains("trace: no-op fast path: hit"), "\(noop.result.stderr)")
        #expect(noop.keys == edited.run.keys)
        try ws.write("src/c.txt", "c2\n")
        let second = try build(ws)
        #expect(second.incremental == "3 of 5 targets stale (1 changed file)", "\(second.run.result.stderr)")
        #expect(second.run.targets("built") == ["task:all", "task:c", "task:d"])
        // Its run (on top of a no-op run, on top of the first incremental one) holds every target.
        let secondRun = try #require(try store.runs(limit: 1).first)
        #expect([secondRun.built, secondRun.restored, secondRun.fresh, secondRun.failed] as [Int] == [3, 0, 2, 0])
        let secondRecorded = try #require(try store.run(secondRun.id))
        #expect(secondRecorded.targets.map(\.status) == ["fresh", "built", "fresh", "built", "built"])
        #expect(Dictionary(uniqueKeysWithValues: secondRecorded.targets.map { ($0.target, $0.actionKey ?? "") }) == second.run.keys)
        // The keys are those a full build computes.
        #expect(try fullKeys(ws) == second.run.keys)
    }

    @Test func anOutputChangedBehindMlbuildsBackIsRestoredAndItsDependentsKeepTheirKeys() throws {
        let mlfile = Self.mlfile.replacingOccurrences(of: "src/*.txt", with: "src/c.txt")
            .replacingOccurrences(of: "cat src/*.txt", with: "cat src/c.txt")
        let ws = try workspace(mlfile)
        let keys = try ws.build().keys
        try ws.write("out/b.txt", "tampered\n")
        let repaired = try build(ws)
        #expect(repaired.incremental == "2 of 5 targets stale (1 changed file)", "\(repaired.run.result.stderr)")
        #expect(repaired.run.targets("restored") == ["task:b"])
        #expect(repaired.run.targets("fresh") == ["task:a", "task:all", "task:c", "task:d"])
        #expect(repaired.run.keys == keys)
        #expect(try ws.read("out/b.txt") == "b\n" + (try ws.read("out/a.txt")))
    }

    @Test func aFailureOnTheIncrementalPathFailsTheBuildAndTheNextBuildTakesTheFullPath() throws {
        let mlfile = Self.mlfile.replacingOccurrences(of: "src/*.txt", with: "src/c.txt")
            .replacingOccurrences(of: "cat src/*.txt", with: "cat src/c.txt")
        let ws = try workspace(mlfile)
        try ws.write("src/fail", "")
        try ws.write("src/b.txt", "b3\n")
        let failed = try build(ws)
        #expect(failed.incremental == "2 of 5 targets stale (1 changed file)", "\(failed.run.result.stderr)")
        #expect(failed.run.result.status == 1)
        #expect(failed.run.targets("built") == ["task:b"] && failed.run.targets("failed") == ["task:d"])
        #expect(!ws.exists(".mlbuild/noop"), "no manifest after a failure")
        let store = try HistoryStore(path: "\(ws.path)/.mlbuild/history.sqlite")
        #expect(try store.runs(limit: 1).first?.exitStatus == 1)
        try ws.directory.remove("src/fail")
        let next = try build(ws)
        #expect(next.incremental == nil)
        #expect(next.run.result.status == 0 && next.run.targets("built") == ["task:d"], "\(next.run.result.output)")
    }

    @Test func theMlfileOrTheCommandLineChangedTakesTheFullPath() throws {
        let mlfile = Self.mlfile.replacingOccurrences(of: "src/*.txt", with: "src/c.txt")
            .replacingOccurrences(of: "cat src/*.txt", with: "cat src/c.txt")
        let ws = try workspace(mlfile)
        try ws.write("src/b.txt", "b4\n")
        // Another target list: another context, nothing in the manifest applies.
        let one = try build(ws, ["task:b"])
        #expect(one.incremental == nil && one.run.targets("built") == ["task:b"], "\(one.run.result.stderr)")
        try ws.write("Mlfile", mlfile + "\ntask e\n    outputs = out/e.txt\n    run = echo e > out/e.txt\n")
        let grown = try build(ws)
        #expect(grown.incremental == nil)
        #expect(grown.run.targets("built") == ["task:d", "task:e"], "\(grown.run.result.output)")
    }

    /// Built-in kinds read where their dependencies' outputs are: a dataset checked against a
    /// baseline dataset that stays fresh, and a model whose features are rebuilt.
    @Test func builtInKindsOnTheIncrementalPathEndAsAFullBuildDoes() throws {
        let ws = try MLFixtures.workspace(mlfile: MLFixtures.mlfileWithRecentData)
        try ws.write("data/recent.csv", MLFixtures.csv(rows: 200, start: 1000))
        #expect(try ws.build().result.status == 0)
        Thread.sleep(forTimeInterval: 0.25)
        #expect(try ws.build().result.status == 0)
        #expect(ws.exists(".mlbuild/noop"))
        try ws.write("data/recent.csv", MLFixtures.csv(rows: 210, start: 1000))
        let recent = try build(ws)
        #expect(recent.run.result.status == 0, "\(recent.run.result.output)")
        #expect(recent.incremental == "1 of 5 targets stale (1 changed file)", "\(recent.run.result.stderr)")
        #expect(recent.run.targets("built") == ["dataset:recent"])
        #expect((try MLFixtures.json(ws, "build/dataset/recent/drift.json"))["passed"] as? Bool == true)

        Thread.sleep(forTimeInterval: 0.25)
        #expect(try ws.build().result.status == 0)
        try ws.write("data/rows.csv", MLFixtures.csv(rows: 420))
        let rows = try build(ws)
        #expect(rows.run.result.status == 0, "\(rows.run.result.output)")
        #expect(rows.incremental == "5 of 5 targets stale (1 changed file)", "\(rows.run.result.stderr)")
        let model = try ws.read("build/model/lr/model.json")
        #expect(try fullKeys(ws) == rows.run.keys)
        #expect(try ws.read("build/model/lr/model.json") == model)
    }

    /// The incremental path appends the state's changed records to the journal; once that
    /// outgrows the state file, the full path runs and folds it in.
    @Test func aJournalThatOutgrowsTheStateFileSendsTheBuildDownTheFullPath() throws {
        let mlfile = Self.mlfile.replacingOccurrences(of: "src/*.txt", with: "src/c.txt")
            .replacingOccurrences(of: "cat src/*.txt", with: "cat src/c.txt")
        let ws = try workspace(mlfile)
        let journal = "\(ws.path)/.mlbuild/state.journal", state = "\(ws.path)/.mlbuild/state"
        func size(_ path: String) -> Int { (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0 }
        var paths: [Bool] = []
        for edit in 1...8 {
            let journalBefore = size(journal), stateBefore = size(state)
            Thread.sleep(forTimeInterval: 0.25)
            try ws.write("src/b.txt", "b edit \(edit)\n")
            let run = try build(ws)
            #expect(run.run.result.status == 0, "\(run.run.result.output)")
            #expect(run.run.targets("built") == ["task:b", "task:d"])
            #expect(try ws.read("out/d.txt") == "b edit \(edit)\n" + (try ws.read("out/a.txt")) + "c\n")
            paths.append(run.incremental != nil)
            // The journal decides: within the file's size the incremental path, past it the full one.
            #expect(run.incremental != nil || journalBefore > stateBefore, "edit \(edit): \(run.run.result.stderr)")
            if run.incremental == nil { #expect(!FileManager.default.fileExists(atPath: journal), "the full path folds the journal in") }
        }
        #expect(paths.first == true && paths.contains(false), "\(paths)")
    }
}

