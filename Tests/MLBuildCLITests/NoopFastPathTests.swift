import Foundation
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
        #expect(try ws.build().targets("built") == ["task:collect", "task:greet"])
        return ws
    }

    @Test func aSettledNoOpReportsEverythingFreshWithKeys() throws {
        let ws = try workspace()
        let full = try ws.build()
        try settled(ws)
        let fast = try ws.build()
        #expect(fast.targets("fresh") == ["task:collect", "task:greet"])
        #expect(fast.keys == full.keys)
        #expect(fast.summary?["fresh"] as? Int == 2)
    }

    @Test func changedInputsAddedFilesEnvironmentAndOutputsAreStillSeen() throws {
        let ws = try workspace()
        try settled(ws)
        try ws.write("data/a.csv", "10\n")
        #expect(try ws.build().targets("built") == ["task:collect", "task:greet"])

        try settled(ws)
        try ws.write("data/c.csv", "3\n")  // a new file matching the glob
        #expect(try ws.build().targets("built") == ["task:collect", "task:greet"])

        try settled(ws)
        #expect(try ws.build([], environment: ["GREETING": "hi"]).targets("built") == ["task:greet"])

        try settled(ws, environment: ["GREETING": "hi"])
        #expect(try ws.build([], environment: ["GREETING": "hi", "TONE": "loud"]).targets("built") == ["task:greet"])

        try settled(ws, environment: ["GREETING": "hi", "TONE": "loud"])
        try FileManager.default.removeItem(atPath: "\(ws.path)/out/greet.txt")
        let restored = try ws.build([], environment: ["GREETING": "hi", "TONE": "loud"])
        #expect(restored.targets("restored") == ["task:greet"])
        #expect(try ws.read("out/greet.txt") == "hi loud\n3\n")
    }

    @Test func anotherTargetOrSeedOnTheCommandLineIsNotTheSameNoOp() throws {
        let ws = try workspace()
        try settled(ws)
        let only = try ws.build(["task:collect"])
        #expect(only.statuses.keys.sorted() == ["task:collect"])
        let seeded = try ws.build(["--seed", "9"])
        #expect(seeded.targets("built") == ["task:collect", "task:greet"])
    }

    @Test func aFailureRemovesTheManifest() throws {
        let ws = try workspace()
        try settled(ws)
        try ws.write("Mlfile", Self.mlfile + "\ntask broken\n    run = exit 1\n")
        #expect(try ws.build().result.status == 1)
        #expect(!ws.exists(".mlbuild/noop"))
    }

    @Test func directoryOptionWorksOnBothPaths() throws {
        let ws = try workspace()
        try settled(ws)
        let parent = (ws.path as NSString).deletingLastPathComponent
        let name = (ws.path as NSString).lastPathComponent
        let events = "\(ws.path)/events-c.jsonl"
        let arguments = ["-C", name, "--events", events, "--cache-dir", ws.cacheDirectory]
        let fast = try ProcessRunner.run(MLBuildBinary.path, arguments, in: parent, environment: ["CI": "true"])
        #expect(fast.status == 0, "\(fast.output)")
        #expect(try String(contentsOfFile: events, encoding: .utf8).contains("\"fresh\":2"))
        // Not a no-op: the fast path gives up, and the full path must apply -C once, not twice.
        try ws.write("data/b.csv", "20\n")
        let full = try ProcessRunner.run(MLBuildBinary.path, arguments, in: parent, environment: ["CI": "true"])
        #expect(full.status == 0, "\(full.output)")
        #expect(try String(contentsOfFile: events, encoding: .utf8).contains("\"built\":2"))
    }
}
