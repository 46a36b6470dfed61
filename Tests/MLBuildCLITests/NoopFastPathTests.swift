import Foundation
import MLBuildHistory
import MLBuildTestSupport
import Testing

/// The no-op manifest (.mlbuild/noop) must never call a stale target fresh.
@Suite("no-op fast path")
struct NoopFastPathTests {
    static let mlfile = """
    greeting = ${env:GREETING:-hello}
    task collect
        inputs = data/*.csv
        outputs = out/all.csv
        run = cat data/*.csv > out/all.csv
    task greet: task:collect
        inputs = out/all.csv
        outputs = out/greet.txt
        env = TONE
        run = echo "${greeting} $$TONE" > out/greet.txt; wc -l < out/all.csv >> out/greet.txt
    """

    /// A build with `MLBUILD_TRACE=1`, and which path it took: `hit`, or `miss (REASON)`, as the
    /// trace line says. The `--events` summary must say the same (`noop_fast_path`), so a test
    /// can tell the fast path from a full build that finds everything fresh.
    struct Traced {
        var run: BuildRun
        var path: String
    }

    func build(_ ws: MLBuildWorkspace, _ arguments: [String] = [], environment: [String: String?] = [:]) throws -> Traced {
        var traced = environment
        traced["MLBUILD_TRACE"] = "1"
        let run = try ws.build(arguments, environment: traced)
        let prefix = "trace: no-op fast path: "
        let lines = run.result.stderr.split(separator: "\n").filter { $0.hasPrefix(prefix) }
        #expect(lines.count == 1, "one verdict per build: \(run.result.stderr)")
        let path = lines.first.map { String($0.dropFirst(prefix.count)) } ?? "(no trace line)"
        #expect(run.summary?["noop_fast_path"] as? Bool == (path == "hit"), "\(path): \(run.eventsText)")
        return Traced(run: run, path: path)
    }

    /// Builds until the manifest is written: files must be older than the racy window first.
    func settled(_ ws: MLBuildWorkspace, environment: [String: String?] = [:]) throws {
        Thread.sleep(forTimeInterval: 0.25)
        let run = try ws.build([], environment: environment)
        #expect(run.result.status == 0, "\(run.result.output)")
        #expect(ws.exists(".mlbuild/noop"), "a clean no-op build writes the manifest")
    }

    func workspace() throws -> MLBuildWorkspace {
        let ws = try MLBuildWorkspace(mlfile: Self.mlfile)
        try ws.write("data/a.csv", "1\n")
        try ws.write("data/b.csv", "2\n")
        let first = try build(ws)
        #expect(first.path == "miss (no manifest)")
        #expect(first.run.targets("built") == ["task:collect", "task:greet"])
        return ws
    }

    static let contextChanged = "miss (the Mlfile, the command line or the environment changed)"

    @Test func aSettledNoOpReportsEverythingFreshWithKeys() throws {
        let ws = try workspace()
        if ws.exists(".mlbuild/noop") { try ws.directory.remove(".mlbuild/noop") }
        let full = try build(ws)
        #expect(full.path == "miss (no manifest)")
        #expect(full.run.targets("fresh") == ["task:collect", "task:greet"])
        try settled(ws)
        let fast = try build(ws)
        #expect(fast.path == "hit")
        #expect(fast.run.targets("fresh") == ["task:collect", "task:greet"])
        #expect(fast.run.keys == full.run.keys)
        #expect(fast.run.summary?["fresh"] as? Int == 2)
    }

    @Test func changedInputsAddedFilesEnvironmentAndOutputsAreStillSeen() throws {
        let ws = try workspace()
        try settled(ws)
        try ws.write("data/a.csv", "10\n")
        let edited = try build(ws)
        #expect(edited.path == "miss ('data/a.csv' changed)")
        #expect(edited.run.targets("built") == ["task:collect", "task:greet"])

        try settled(ws)
        try ws.write("data/c.csv", "3\n")  // a new file matching the glob
        let added = try build(ws)
        #expect(added.path == "miss ('data' changed)")
        #expect(added.run.targets("built") == ["task:collect", "task:greet"])

        try settled(ws)
        let greeting = try build(ws, environment: ["GREETING": "hi"])
        #expect(greeting.path == Self.contextChanged)
        #expect(greeting.run.targets("built") == ["task:greet"])

        try settled(ws, environment: ["GREETING": "hi"])
        let tone = try build(ws, environment: ["GREETING": "hi", "TONE": "loud"])
        #expect(tone.path == Self.contextChanged)
        #expect(tone.run.targets("built") == ["task:greet"])

        try settled(ws, environment: ["GREETING": "hi", "TONE": "loud"])
        try FileManager.default.removeItem(atPath: "\(ws.path)/out/greet.txt")
        let restored = try build(ws, environment: ["GREETING": "hi", "TONE": "loud"])
        #expect(restored.path == "miss ('out/greet.txt' is gone)")
        #expect(restored.run.targets("restored") == ["task:greet"])
        #expect(try ws.read("out/greet.txt") == "hi loud\n3\n")
    }

    @Test func anotherTargetOrSeedOnTheCommandLineIsNotTheSameNoOp() throws {
        let ws = try workspace()
        try settled(ws)
        let only = try build(ws, ["task:collect"])
        #expect(only.path == Self.contextChanged)
        #expect(only.run.statuses.keys.sorted() == ["task:collect"])
        let seeded = try build(ws, ["--seed", "9"])
        #expect(seeded.path == Self.contextChanged)
        #expect(seeded.run.targets("built") == ["task:collect", "task:greet"])
    }

    @Test func aFailureRemovesTheManifest() throws {
        let ws = try workspace()
        try settled(ws)
        try ws.write("Mlfile", Self.mlfile + "\ntask broken\n    run = exit 1\n")
        let failed = try build(ws)
        #expect(failed.path == Self.contextChanged)
        #expect(failed.run.result.status == 1)
        #expect(!ws.exists(".mlbuild/noop"))
        let next = try build(ws)
        #expect(next.path == "miss (no manifest)")
    }

    @Test func aDryRunNeverTakesTheFastPath() throws {
        let ws = try workspace()
        try settled(ws)
        let dry = try ws.run(["-n"], environment: ["MLBUILD_TRACE": "1"])
        #expect(dry.status == 0, "\(dry.output)")
        #expect(dry.stderr.contains("trace: no-op fast path: miss (not tried with --dry-run)\n"), "\(dry.stderr)")
        #expect(try build(ws).path == "hit")
    }

    @Test func directoryOptionWorksOnBothPaths() throws {
        let ws = try workspace()
        try settled(ws)
        let parent = (ws.path as NSString).deletingLastPathComponent
        let name = (ws.path as NSString).lastPathComponent
        let events = "\(ws.path)/events-c.jsonl"
        let arguments = ["-C", name, "--events", events, "--cache-dir", ws.cacheDirectory]
        let environment: [String: String?] = ["CI": "true", "MLBUILD_TRACE": "1"]
        let fast = try ProcessRunner.run(MLBuildBinary.path, arguments, in: parent, environment: environment)
        #expect(fast.status == 0, "\(fast.output)")
        #expect(fast.stderr.contains("trace: no-op fast path: hit\n"), "\(fast.stderr)")
        let fastEvents = try String(contentsOfFile: events, encoding: .utf8)
        #expect(fastEvents.contains("\"fresh\":2"))
        #expect(fastEvents.contains("\"noop_fast_path\":true"), "\(fastEvents)")
        // Not a no-op: the fast path gives up, and the full path must apply -C once, not twice.
        try ws.write("data/b.csv", "20\n")
        let full = try ProcessRunner.run(MLBuildBinary.path, arguments, in: parent, environment: environment)
        #expect(full.status == 0, "\(full.output)")
        #expect(full.stderr.contains("trace: no-op fast path: miss ('data/b.csv' changed)\n"), "\(full.stderr)")
        let fullEvents = try String(contentsOfFile: events, encoding: .utf8)
        #expect(fullEvents.contains("\"built\":2"))
        #expect(fullEvents.contains("\"noop_fast_path\":false"), "\(fullEvents)")
    }

    // MARK: - The racy window (issue 11, item 2)

    /// The edit-build loop: the last build always writes files just before it ends. The next
    /// build keeps the fast path and re-hashes only those files. (The rule dates its output a
    /// second ahead, so that it is within the racy window whatever the machine's speed.)
    @Test func aFileWrittenInTheRacyWindowIsReHashedAndTheFastPathHolds() throws {
        let ws = try MLBuildWorkspace(mlfile: """
        task copy
            inputs = data/a.txt
            outputs = out/a.txt
            run = cp data/a.txt out/a.txt && touch -d @$$(( $$(date +%s) + 1 )) out/a.txt
        """)
        try ws.write("data/a.txt", "1\n")
        Thread.sleep(forTimeInterval: 0.25)  // the input is out of the window: only the output is racy
        let first = try build(ws)
        #expect(first.path == "miss (no manifest)")
        #expect(first.run.targets("built") == ["task:copy"])
        #expect(ws.exists(".mlbuild/noop"), "a racy output no longer keeps the manifest from being written")
        let next = try build(ws)
        #expect(next.path == "hit")
        #expect(next.run.targets("fresh") == ["task:copy"])
        let rehashed = next.run.result.stderr.split(separator: "\n").filter { $0.hasPrefix("trace: racy entries re-hashed: ") }
        #expect(rehashed == ["trace: racy entries re-hashed: 'out/a.txt'"], "\(next.run.result.stderr)")
        // Once out of the window, the mark comes off: the no-op after that hashes nothing.
        Thread.sleep(forTimeInterval: 1.3)
        #expect(try build(ws).path == "hit")
        let settled = try build(ws)
        #expect(settled.path == "hit")
        #expect(!settled.run.result.stderr.contains("racy entries re-hashed"), "\(settled.run.result.stderr)")
        // An edit is still seen (the stat changed).
        try ws.write("out/a.txt", "edited by hand\n")
        let edited = try build(ws)
        #expect(edited.path == "miss ('out/a.txt' changed)")
        #expect(edited.run.targets("restored") == ["task:copy"])
        #expect(try ws.read("out/a.txt") == "1\n")
    }

    // MARK: - Run history

    @Test func aNoOpOnTheFastPathIsRecordedAsARunOfFreshTargets() throws {
        let ws = try workspace()
        // The first build may already have written the manifest (its racy outputs no longer
        // keep it from that): without it, the settling build is a full no-op, the run referred to.
        if ws.exists(".mlbuild/noop") { try ws.directory.remove(".mlbuild/noop") }
        try settled(ws)
        let fast = try build(ws)
        #expect(fast.path == "hit")
        let store = try HistoryStore(path: "\(ws.path)/.mlbuild/history.sqlite")
        let runs = try store.runs(limit: 10)
        // The first build, the settling build (a full no-op), and the fast path's run.
        #expect(runs.map(\.id) == [3, 2, 1])
        #expect(runs[0].sameTargetsAs == 2 && runs[0].exitStatus == 0 && runs[0].finishedAt != nil)
        #expect([runs[0].built, runs[0].restored, runs[0].fresh, runs[0].failed] as [Int] == [0, 0, 2, 0])
        let noop = try #require(try store.run(3)), full = try #require(try store.run(2))
        #expect(noop.targets.map(\.status) == ["fresh", "fresh"])
        #expect(noop.targets.map(\.actionKey) == full.targets.map(\.actionKey))
        #expect(noop.targets.map(\.outputs) == full.targets.map(\.outputs))
        #expect(noop.targets.map(\.params) == full.targets.map(\.params))
        // `runs` lists it like any other run.
        let list = try ws.run(["runs"])
        #expect(list.stdout.split(separator: "\n")[1].hasPrefix("3\t"), "\(list.stdout)")
        #expect(list.stdout.split(separator: "\n")[1].contains("\t0\t0\t0\t2\t0\t-\tmlbuild --events "), "\(list.stdout)")
    }

    @Test func aHistoryElsewhereOrGoneTakesTheFullPathWhichRecords() throws {
        let ws = try workspace()
        try settled(ws)
        // Another database: the fast path cannot refer to the last build's run, so it steps aside.
        let other = "\(ws.path)/other.sqlite"
        let elsewhere = try build(ws, environment: ["MLBUILD_HISTORY": other])
        #expect(elsewhere.path == "miss (the run history does not hold the last build)")
        #expect(try HistoryStore(path: other).runs(limit: 5).map(\.fresh) == [2])
        // That build linked the manifest to `other`: the default database now misses in turn.
        Thread.sleep(forTimeInterval: 0.25)
        #expect(try build(ws, environment: ["MLBUILD_HISTORY": other]).path == "hit")
        #expect(try HistoryStore(path: other).runs(limit: 5).count == 2)
        // The database removed behind mlbuild's back: one warning, the no-op stands, and the
        // next build records the full way.
        try FileManager.default.removeItem(atPath: other)
        let gone = try build(ws, environment: ["MLBUILD_HISTORY": other])
        #expect(gone.path == "hit" && gone.run.result.status == 0)
        #expect(gone.run.result.stderr.contains("mlbuild: warning: run history not recorded: \(other): the database is gone\n"),
                "\(gone.run.result.stderr)")
        let after = try build(ws, environment: ["MLBUILD_HISTORY": other])
        #expect(after.path == "miss (the run history does not hold the last build)")
        #expect(try HistoryStore(path: other).runs(limit: 5).count == 1)
    }
}
