import Foundation
import MLBuildTestSupport
import Testing

@Suite struct AuditLogTests {
    /// A workspace with a few entries: two builds, a release, an approval.
    static func workspaceWithEntries() throws -> MLBuildWorkspace {
        let ws = try ReleaseFixtures.workspace()
        #expect(try ws.build(["container:app"]).result.status == 0)
        #expect(try ws.build(["container:app"]).result.status == 0)
        #expect(try ws.run(["approve", "container:app", "--channel", "prod", "--as", "ana"]).status == 0)
        #expect(try ws.run(["release", "container:app", "--channel", "prod"]).status == 0)
        return ws
    }

    static func lines(_ ws: MLBuildWorkspace) throws -> [String] {
        try ws.read(".mlbuild/audit.log").split(separator: "\n").map(String.init)
    }

    @Test func entriesAreChainedAndCarryWhoWhatAndDigests() throws {
        let ws = try Self.workspaceWithEntries()
        let entries = try Self.lines(ws).map { try ReleaseFixtures.json($0) }
        #expect(entries.map { $0["action"] as? String } == ["build", "build", "approve", "release"])
        #expect(entries.map { $0["seq"] as? Int } == [1, 2, 3, 4])
        #expect(entries.first?["prev"] as? String == String(repeating: "0", count: 64))
        #expect(entries.allSatisfy { $0["who"] as? String == "releaser@example.com" })
        let release = try #require(entries.last?["details"] as? [String: String])
        let digest = try ReleaseFixtures.digest(ws)
        #expect(release["image"] == digest && release["channel"] == "prod")
        let build = try #require(entries.first?["details"] as? [String: String])
        #expect(build["status"] == "succeeded" && build["key:container:app"]?.count == 64)
        // prev is the SHA-256 of the line before.
        let raw = try Self.lines(ws)
        let hash = try ProcessRunner.shell("printf '%s' '\(raw[0])' | sha256sum").stdout.prefix(64)
        #expect(entries[1]["prev"] as? String == String(hash))
        let verify = try ws.run(["audit", "--verify"])
        #expect(verify.status == 0 && verify.stdout.contains("intact, 4 entries"), "\(verify.output)")
    }

    @Test func anEditedEntryIsNamed() throws {
        let ws = try Self.workspaceWithEntries()
        var lines = try Self.lines(ws)
        lines[1] = lines[1].replacingOccurrences(of: "\"status\":\"succeeded\"", with: "\"status\":\"failed\"")
        try ws.write(".mlbuild/audit.log", lines.joined(separator: "\n") + "\n")
        let verify = try ws.run(["audit", "--verify"])
        #expect(verify.status == 1)
        #expect(verify.stderr.contains("entry 2: it was edited"), "\(verify.stderr)")
    }

    @Test func aRemovedOrReorderedEntryIsNamed() throws {
        let ws = try Self.workspaceWithEntries()
        let lines = try Self.lines(ws)
        try ws.write(".mlbuild/audit.log", ([lines[0]] + lines[2...]).joined(separator: "\n") + "\n")
        let removed = try ws.run(["audit", "--verify"])
        #expect(removed.status == 1 && removed.stderr.contains("entry 2: it is numbered 3: entry 2 was removed"), "\(removed.stderr)")

        try ws.write(".mlbuild/audit.log", [lines[0], lines[2], lines[1], lines[3]].joined(separator: "\n") + "\n")
        let reordered = try ws.run(["audit", "--verify"])
        #expect(reordered.status == 1 && reordered.stderr.contains("entry 2:"), "\(reordered.stderr)")

        try ws.write(".mlbuild/audit.log", lines.dropLast().joined(separator: "\n") + "\n")
        let truncated = try ws.run(["audit", "--verify"])
        #expect(truncated.status == 1 && truncated.stderr.contains("entry 4: missing"), "\(truncated.stderr)")

        var edited = lines
        edited[3] = edited[3].replacingOccurrences(of: "\"channel\":\"prod\"", with: "\"channel\":\"dev\"")
        try ws.write(".mlbuild/audit.log", edited.joined(separator: "\n") + "\n")
        let last = try ws.run(["audit", "--verify"])
        #expect(last.status == 1 && last.stderr.contains("entry 4:"), "\(last.stderr)")
    }

    @Test func concurrentReleasesFromTwoProcessesBothLand() throws {
        let ws = try ReleaseFixtures.workspace()
        #expect(try ws.build(["container:app"]).result.status == 0)
        // Two processes at once, many times over: every release recorded, the chain intact.
        let script = (0..<4).map { i in
            "(\(MLBuildBinary.path) release container:app --channel a\(i) >/dev/null 2>>errors.txt &" +
            " \(MLBuildBinary.path) release container:app --channel b\(i) >/dev/null 2>>errors.txt & wait)"
        }.joined(separator: " && ")
        let run = try ProcessRunner.shell(script, in: ws.path, environment: ["MLBUILD_CACHE_DIR": ws.cacheDirectory, "CI": "true"])
        #expect(run.status == 0, "\(run.output) \((try? ws.read("errors.txt")) ?? "")")
        let releases = try ws.run(["releases", "--json"]).stdout.split(separator: "\n")
        #expect(releases.count == 8)
        let verify = try ws.run(["audit", "--verify"])
        #expect(verify.status == 0 && verify.stdout.contains("intact, 9 entries"), "\(verify.output)")
    }
}
