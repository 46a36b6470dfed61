import Foundation
import MLBuildTestSupport
import Testing

@Suite("concurrent runs, cache integrity and maintenance")
struct ConcurrencyAndCacheTests {
    @Test func twoConcurrentRunsInOneWorkspaceGiveCorrectResults() throws {
        let ws = try Fixtures.diamondWorkspace()
        let results = try ProcessRunner.shell("""
        CI=true MLBUILD_CACHE_DIR=cache "\(MLBuildBinary.path)" task:d > one.log 2>&1 & p1=$!
        CI=true MLBUILD_CACHE_DIR=cache "\(MLBuildBinary.path)" task:d > two.log 2>&1 & p2=$!
        wait $p1; r1=$?; wait $p2; r2=$?; echo "$r1 $r2"
        """, in: ws.path)
        #expect(results.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "0 0")
        #expect(try ws.read("out/d.txt") == "HELLO\nworld\n")
        #expect(try ws.build(["task:d"]).targets("fresh").count == 4)
    }

    @Test func twoWorkspacesSharingACacheConcurrently() throws {
        let shared = try TemporaryDirectory()
        let a = try Fixtures.diamondWorkspace(cacheDirectory: shared.path)
        let b = try Fixtures.diamondWorkspace(cacheDirectory: shared.path)
        let results = try ProcessRunner.shell("""
        (cd "\(a.path)" && CI=true "\(MLBuildBinary.path)" --cache-dir "\(shared.path)" task:d > /dev/null 2>&1) & p1=$!
        (cd "\(b.path)" && CI=true "\(MLBuildBinary.path)" --cache-dir "\(shared.path)" task:d > /dev/null 2>&1) & p2=$!
        wait $p1; r1=$?; wait $p2; r2=$?; echo "$r1 $r2"
        """)
        #expect(results.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "0 0")
        #expect(try a.read("out/d.txt") == "HELLO\nworld\n")
        #expect(try b.read("out/d.txt") == "HELLO\nworld\n")
        let verify = try a.run(["cache", "verify", "--cache-dir", shared.path])
        #expect(verify.status == 0, "\(verify.output)")
    }

    @Test func aCorruptedBlobIsDetectedQuarantinedAndRebuilt() throws {
        let ws = try Fixtures.diamondWorkspace()
        let first = try ws.build(["task:c"])
        #expect(first.targets("built") == ["task:c"])
        try ws.run(["clean"])
        // Corrupt the blob holding out/c.txt ("world\n").
        let blobs = try ProcessRunner.shell("grep -rl '^world$' cache/cas", in: ws.path).stdout
            .split(separator: "\n").map(String.init)
        #expect(blobs.count == 1)
        let blob = try #require(blobs.first)
        try ProcessRunner.shell("chmod u+w \(blob) && printf 'WORLD\\n' > \(blob)", in: ws.path)
        let run = try ws.build(["task:c"])
        #expect(run.targets("built") == ["task:c"])
        #expect(try ws.read("out/c.txt") == "world\n")
        #expect(ws.exists("cache/quarantine"))
    }

    @Test func cacheVerifyReportsAndRemovesCorruptBlobs() throws {
        let ws = try Fixtures.diamondWorkspace()
        try ws.build(["task:d"])
        #expect(try ws.run(["cache", "verify"]).status == 0)
        let blob = try #require(try ProcessRunner.shell("grep -rl '^world$' cache/cas", in: ws.path).stdout
            .split(separator: "\n").first.map(String.init))
        try ProcessRunner.shell("chmod u+w \(blob) && printf 'x' >> \(blob)", in: ws.path)
        let verify = try ws.run(["cache", "verify"])
        #expect(verify.status == 1)
        #expect(verify.stdout.contains("corrupt blob"))
        #expect(verify.stdout.contains("1 corrupt"))
        #expect(try ws.run(["cache", "verify"]).status == 0)
    }

    @Test func cacheStatsAndGarbageCollection() throws {
        let ws = try Fixtures.diamondWorkspace()
        try ws.build(["task:d"])
        try ws.run(["clean"])
        try ws.build(["task:d"])
        let stats = try ws.run(["cache", "stats"])
        #expect(stats.status == 0)
        #expect(stats.stdout.contains("blobs: 4"))
        #expect(stats.stdout.contains("actions: 4"))
        #expect(stats.stdout.contains("hit ratio: 50.0%"))
        let gc = try ws.run(["cache", "gc", "--max-size", "0"])
        #expect(gc.status == 0)
        #expect(gc.stdout.contains("removed 8 entries"))
        #expect(try ws.run(["cache", "gc", "--max-size", "lots"]).status == 2)
        try ws.run(["clean"])
        #expect(try ws.build(["task:d"]).targets("built").count == 4)
    }

    @Test func dryRunStatusGraphAndClean() throws {
        let ws = try Fixtures.diamondWorkspace()
        let dry = try ws.run(["-n", "task:d"])
        #expect(dry.status == 0)
        #expect(dry.stdout.contains("build    task:a: no cache entry"))
        #expect(!ws.exists("out"))
        try ws.build(["task:d"])
        try ws.write("src/c.txt", "new\n")
        let status = try ws.run(["status", "task:d"])
        #expect(status.stdout.contains("fresh    task:a"))
        #expect(status.stdout.contains("stale    task:c: input src/c.txt changed"))
        #expect(status.stdout.contains("stale    task:d: waiting for dependency task:c"))
        #expect(status.stdout.contains("4 targets: 2 fresh, 0 restorable, 2 stale"))
        let dot = try ws.run(["graph"])
        #expect(dot.stdout.contains("\"task:b\" -> \"task:d\";"))
        let mermaid = try ws.run(["graph", "--format", "mermaid"])
        #expect(mermaid.stdout.hasPrefix("graph LR\n"))
        #expect(mermaid.stdout.contains("-->"))
        let clean = try ws.run(["clean"])
        #expect(clean.status == 0)
        #expect(!ws.exists("out/d.txt"))
        #expect(ws.exists("cache/ac"))
    }
}
