import Foundation
import MLBuildTestSupport
import Testing

/// The words `status`, `-n`, `--explain` and `--events` use for targets that a cache can
/// satisfy, and for restores that turn into builds (issue 16, items 1 and 5).
@Suite("restore reasons", .serialized)
struct RestoreReasonTests {
    static let targets = ["task:a", "task:b", "task:c", "task:d"]

    /// What `status` prints when every diamond target reads `reason`.
    static func statusLines(_ prefix: String, _ reason: String) -> String {
        targets.map { "\(prefix)\($0): \(reason)\n" }.joined()
    }

    /// The SHA-256 of `text`, as the content store names the blob holding it.
    static func digest(of text: String) throws -> String {
        try ProcessRunner.shell("printf '%s' '\(text)' | sha256sum | cut -d' ' -f1").stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func blobPath(_ ws: MLBuildWorkspace, _ hex: String) -> String {
        "\(ws.cacheDirectory)/cas/\(hex.prefix(2))/\(hex)"
    }

    static func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    /// status, status --json, -n, then a build with --explain and --events: every target reads
    /// `reason` and is restored (`from`: local or remote).
    func expectRestorable(_ ws: MLBuildWorkspace, reason: String, from: String, extra: [String] = []) throws {
        let status = try ws.run(["status"] + extra)
        #expect(status.status == 0, "\(status.output)")
        #expect(status.stdout == Self.statusLines("cached   ", reason) + "4 targets: 0 fresh, 4 restorable, 0 stale\n", "\(status.output)")

        let json = try Self.json(try ws.run(["status", "--json"] + extra).stdout)
        let entries = try #require(json["targets"] as? [[String: Any]])
        #expect(entries.map { $0["target"] as? String } == Self.targets)
        for entry in entries {
            #expect(entry["action"] as? String == "restore")
            #expect(entry["from"] as? String == from)
            #expect(entry["reason"] as? String == reason)
        }
        let counts = try #require(json["counts"] as? [String: Int])
        #expect(counts == ["targets": 4, "fresh": 0, "restorable": 4, "stale": 0, "error": 0])

        let dry = try ws.run(["-n"] + extra)
        #expect(dry.stdout == Self.statusLines("restore  ", reason), "\(dry.output)")

        let build = try ws.build(["--explain"] + extra)
        #expect(build.result.status == 0, "\(build.result.output)")
        for target in Self.targets { #expect(build.result.stderr.contains("explain: \(target): \(reason)\n"), "\(build.result.stderr)") }
        #expect(!build.result.stderr.contains("building"), "\(build.result.stderr)")
        for event in build.events where event["type"] as? String == "target" {
            #expect(event["status"] as? String == "restored")
            #expect(event["reason"] as? String == reason)
            #expect(event["from"] as? String == from)
        }
        #expect(build.targets("restored") == Self.targets)
        #expect(try ws.read("out/d.txt") == "HELLO\nworld\n")
        let after = try ws.run(["status"] + extra)
        #expect(after.stdout.hasSuffix("4 targets: 4 fresh, 0 restorable, 0 stale\n"), "\(after.output)")
    }

    @Test func afterCleanStatusDryRunExplainAndEventsSayRestorableFromTheLocalCache() throws {
        let ws = try Fixtures.diamondWorkspace()
        #expect(try ws.build(["task:d"]).targets("built") == Self.targets)
        #expect(try ws.run(["clean"]).status == 0)
        try expectRestorable(ws, reason: "outputs missing; restorable from the local cache", from: "local")
    }

    @Test func aSecondCheckoutSharingTheCacheSaysRestorableFromTheLocalCache() throws {
        let first = try Fixtures.diamondWorkspace()
        #expect(try first.build(["task:d"]).targets("built") == Self.targets)
        let second = try Fixtures.diamondWorkspace(cacheDirectory: first.cacheDirectory)
        try expectRestorable(second, reason: "outputs missing; restorable from the local cache", from: "local")
    }

    @Test func aFreshWorkspaceSaysNoCacheEntryAndCountsStale() throws {
        let ws = try Fixtures.diamondWorkspace()
        let status = try ws.run(["status"])
        #expect(status.stdout == """
            stale    task:a: no cache entry
            stale    task:b: waiting for dependency task:a
            stale    task:c: no cache entry
            stale    task:d: waiting for dependency task:b
            4 targets: 0 fresh, 0 restorable, 4 stale

            """, "\(status.output)")
        let json = try Self.json(try ws.run(["status", "--json"]).stdout)
        let entries = try #require(json["targets"] as? [[String: Any]])
        #expect(entries.first?["action"] as? String == "run")
        #expect(entries.first?["reason"] as? String == "no cache entry")
        #expect(entries.first?["from"] == nil)
    }

    @Test func anEditedOutputWithAStateRecordNamesTheOutputAndTheLocalCache() throws {
        let ws = try Fixtures.diamondWorkspace()
        try ws.build(["task:d"])
        try ws.write("out/b.txt", "tampered\n")
        let status = try ws.run(["status", "task:b"])
        #expect(status.stdout == """
            fresh    task:a
            cached   task:b: output out/b.txt missing or modified; restorable from the local cache
            2 targets: 1 fresh, 1 restorable, 0 stale

            """, "\(status.output)")
        let json = try Self.json(try ws.run(["status", "--json", "task:b"]).stdout)
        let entries = try #require(json["targets"] as? [[String: Any]])
        #expect(entries.first?["action"] as? String == "fresh")
        #expect(entries.first?["reason"] is NSNull)
    }

    @Test func aRevertedInputIsRestoredNotRunAndTheReasonNamesTheInput() throws {
        let ws = try MLBuildWorkspace(mlfile: """
        task train
            inputs = data.csv
            outputs = model.txt
            run = cat data.csv > model.txt && echo ran >> runs.log
        """)
        try ws.write("data.csv", "x,y\n1,2\n")
        #expect(try ws.build().targets("built") == ["task:train"])
        try ws.write("data.csv", "x,y\n1,2\n3,4\n")
        #expect(try ws.build().targets("built") == ["task:train"])
        try ws.write("data.csv", "x,y\n1,2\n")
        let reason = "input data.csv changed; restorable from the local cache"
        let status = try ws.run(["status"])
        #expect(status.stdout == "cached   task:train: \(reason)\n1 target: 0 fresh, 1 restorable, 0 stale\n", "\(status.output)")
        #expect(try ws.run(["-n"]).stdout == "restore  task:train: \(reason)\n")
        let build = try ws.build(["--explain"])
        #expect(build.result.stderr.contains("explain: task:train: \(reason)\n"), "\(build.result.stderr)")
        #expect(build.targets("restored") == ["task:train"])
        #expect(build.events.first?["reason"] as? String == reason)
        #expect(try ws.read("model.txt") == "x,y\n1,2\n")
        #expect(try ws.read("runs.log") == "ran\nran\n", "the command did not run a third time")
    }

    @Test func aMissingBlobTurnsTheRestoreIntoABuildThatSaysWhy() throws {
        let ws = try Fixtures.diamondWorkspace()
        try ws.build(["task:d"])
        try ws.run(["clean"])
        let hex = try Self.digest(of: "hello\n")
        try FileManager.default.removeItem(atPath: Self.blobPath(ws, hex))
        // One job: task:a's lines come together, before task:c starts.
        let build = try ws.build(["--explain", "-j", "1"])
        #expect(build.result.status == 0, "\(build.result.output)")
        let rebuilt = "restore failed (blob sha256:\(hex) missing from the local cache); building"
        #expect(build.result.stderr.contains("""
            explain: task:a: outputs missing; restorable from the local cache
            explain: task:a: \(rebuilt)
            [1/4] built task:a
            """), "\(build.result.stderr)")
        #expect(build.statuses == ["task:a": "built", "task:b": "restored", "task:c": "restored", "task:d": "restored"])
        let event = try #require(build.events.first { $0["target"] as? String == "task:a" })
        #expect(event["reason"] as? String == rebuilt)
        #expect(try ws.read("out/a.txt") == "hello\n")
        #expect(FileManager.default.fileExists(atPath: Self.blobPath(ws, hex)), "the build stored the blob again")
    }

    @Test func aCorruptBlobTurnsTheRestoreIntoABuildWithADigestMismatchReason() throws {
        let ws = try Fixtures.diamondWorkspace()
        try ws.build(["task:d"])
        try ws.run(["clean"])
        let hex = try Self.digest(of: "hello\n"), wrong = try Self.digest(of: "jello\n")
        let path = Self.blobPath(ws, hex)
        try FileManager.default.removeItem(atPath: path)
        try Data("jello\n".utf8).write(to: URL(fileURLWithPath: path))
        let build = try ws.build(["--explain"])
        #expect(build.result.status == 0, "\(build.result.output)")
        let rebuilt = "restore failed (digest mismatch: blob sha256:\(hex) holds content with sha256:\(wrong); quarantined); building"
        #expect(build.result.stderr.contains("explain: task:a: \(rebuilt)\n"), "\(build.result.stderr)")
        #expect(build.result.stderr.contains("warning: cache blob \(hex) is corrupt (its content hashes to \(wrong)); quarantined; building task:a instead\n"))
        #expect(build.statuses["task:a"] == "built")
        let event = try #require(build.events.first { $0["target"] as? String == "task:a" })
        #expect(event["reason"] as? String == rebuilt)
        #expect(try ws.read("out/a.txt") == "hello\n")
        #expect(FileManager.default.fileExists(atPath: "\(ws.cacheDirectory)/quarantine/\(hex)"))
    }

    @Test func aBlobOfTheWrongSizeIsCheckedAndQuarantinedWhenCorrupt() throws {
        let ws = try Fixtures.diamondWorkspace()
        try ws.build(["task:d"])
        try ws.run(["clean"])
        let hex = try Self.digest(of: "hello\n"), wrong = try Self.digest(of: "hello, world\n")
        let path = Self.blobPath(ws, hex)
        try FileManager.default.removeItem(atPath: path)
        try Data("hello, world\n".utf8).write(to: URL(fileURLWithPath: path))
        let build = try ws.build(["--explain", "task:a"])
        #expect(build.result.stderr.contains(
            "explain: task:a: restore failed (digest mismatch: blob sha256:\(hex) holds content with sha256:\(wrong); quarantined); building\n"),
            "\(build.result.stderr)")
        #expect(build.statuses == ["task:a": "built"])
        #expect(try ws.read("out/a.txt") == "hello\n")
        // Stored again by the build, with the right content this time.
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "hello\n")
    }

    @Test func aSecondRunnerWithAnEmptyLocalCacheSaysRestorableFromTheRemoteCache() throws {
        let server = try NginxServer()
        defer { server.stop() }
        let remote = ["--remote-cache", server.baseURL.absoluteString]
        let first = try Fixtures.diamondWorkspace()
        #expect(try first.build(["task:d"] + remote).targets("built") == Self.targets)
        let second = try Fixtures.diamondWorkspace()
        // Without the remote, nothing is cached for this runner.
        #expect(try second.run(["status", "task:a"]).stdout == "stale    task:a: no cache entry\n1 target: 0 fresh, 0 restorable, 1 stale\n")
        try expectRestorable(second, reason: "outputs missing; restorable from the remote cache", from: "remote", extra: remote)
    }

    @Test func aBlobCorruptOnTheRemoteTurnsTheRemoteRestoreIntoABuildThatSaysWhy() throws {
        let server = try NginxServer()
        defer { server.stop() }
        let remote = ["--remote-cache", server.baseURL.absoluteString]
        let first = try Fixtures.diamondWorkspace()
        #expect(try first.build(["task:c"] + remote).targets("built") == ["task:c"])
        let hex = try Self.digest(of: "world\n")
        try Data("WORLD\n".utf8).write(to: server.blobPath("cas", hex))
        let second = try Fixtures.diamondWorkspace()
        let build = try second.build(["task:c", "--explain"] + remote)
        #expect(build.result.status == 0, "\(build.result.output)")
        let rebuilt = "restore failed (blob sha256:\(hex) could not be fetched from the remote cache); building"
        #expect(build.result.stderr.contains("""
            explain: task:c: outputs missing; restorable from the remote cache
            explain: task:c: \(rebuilt)
            [1/1] built task:c
            """), "\(build.result.stderr)")
        #expect(build.statuses == ["task:c": "built"])
        #expect(build.events.first?["reason"] as? String == rebuilt)
        #expect(try second.read("out/c.txt") == "world\n")
    }

    @Test func anUnreachableRemoteIsAWarningAndTheReasonSaysSo() throws {
        let ws = try Fixtures.diamondWorkspace()
        // Port 1 (tcpmux): nothing listens there on a build machine, so connections are refused.
        let status = try ws.run(["status", "task:a", "--remote-cache", "http://127.0.0.1:1"])
        #expect(status.status == 0, "\(status.output)")
        #expect(status.stdout == "stale    task:a: no cache entry (remote cache unavailable)\n1 target: 0 fresh, 0 restorable, 1 stale\n")
        #expect(status.stderr.components(separatedBy: "warning: remote cache").count - 1 == 1, "\(status.stderr)")
        let build = try ws.build(["task:a", "--explain", "--remote-cache", "http://127.0.0.1:1"])
        #expect(build.result.status == 0)
        #expect(build.result.stderr.contains("explain: task:a: no cache entry (remote cache unavailable)\n"), "\(build.result.stderr)")
        #expect(build.statuses == ["task:a": "built"])
    }

    @Test func aTargetThatCannotBeKeyedIsCountedAsAnError() throws {
        let ws = try Fixtures.diamondWorkspace()
        try FileManager.default.removeItem(atPath: "\(ws.path)/src/c.txt")
        let status = try ws.run(["status", "task:c"])
        #expect(status.stdout.hasPrefix("error    task:c: "), "\(status.output)")
        #expect(status.stdout.hasSuffix("\n1 target: 0 fresh, 0 restorable, 0 stale, 1 error\n"), "\(status.output)")
        let json = try Self.json(try ws.run(["status", "--json", "task:c"]).stdout)
        #expect(json["counts"] as? [String: Int] == ["targets": 1, "fresh": 0, "restorable": 0, "stale": 0, "error": 1])
    }
}
