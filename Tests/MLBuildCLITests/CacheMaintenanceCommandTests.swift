import Foundation
import MLBuildTestSupport
import Testing

/// `cache gc` and `cache verify` through the binary: which entries gc keeps (least recently used
/// go first, and a restore counts as a use), that it empties `tmp/`, and what verify says and
/// does about a malformed action entry.
@Suite("cache gc and cache verify")
struct CacheMaintenanceCommandTests {
    /// Three independent targets with outputs of 50, 100 and 150 bytes (different content, so
    /// three blobs): with their action results, the cache stays below 1 KiB, printed in bytes.
    static let mlfile = """
    task a
        outputs = out/a.bin
        run = yes a | head -c 50 > out/a.bin
    task b
        outputs = out/b.bin
        run = yes b | head -c 100 > out/b.bin
    task c
        outputs = out/c.bin
        run = yes c | head -c 150 > out/c.bin
    """

    /// A target's two cache entries (its action result and its one blob), workspace-relative.
    static func entries(of target: String, _ ws: MLBuildWorkspace, keys: [String: String]) throws -> [String] {
        let key = try #require(keys["task:\(target)"])
        let digest = HostileCacheServer.digest(of: try MLFixtures.bytes(ws, "out/\(target).bin"))
        return ["cache/ac/\(key.prefix(2))/\(key)", "cache/cas/\(digest.prefix(2))/\(digest)"]
    }

    static func size(_ ws: MLBuildWorkspace, _ paths: [String]) throws -> Int {
        try paths.reduce(0) { total, path in
            let attributes = try FileManager.default.attributesOfItem(atPath: "\(ws.path)/\(path)")
            return total + ((attributes[.size] as? Int) ?? 0)
        }
    }

    /// Sets the last-use time (mtime) of `paths` to a fixed date, so the order is not left to the clock.
    static func setLastUse(_ ws: MLBuildWorkspace, _ paths: [String], _ date: String) throws {
        let touched = try ProcessRunner.run("/usr/bin/touch", ["-m", "-d", date] + paths, in: ws.path)
        #expect(touched.status == 0, "\(touched.stderr)")
    }

    @Test func gcEvictsTheLeastRecentlyUsedFirstAndARestoreIsAUse() throws {
        let ws = try MLBuildWorkspace(mlfile: Self.mlfile)
        let first = try ws.build()
        #expect(first.targets("built") == ["task:a", "task:b", "task:c"])
        let a = try Self.entries(of: "a", ws, keys: first.keys)
        let b = try Self.entries(of: "b", ws, keys: first.keys)
        let c = try Self.entries(of: "c", ws, keys: first.keys)
        for path in a + b + c { #expect(ws.exists(path), "\(path)") }
        // a is the oldest, then c, then b: without a's use below, gc would remove a first.
        try Self.setLastUse(ws, a, "2001-01-01 00:00:00")
        try Self.setLastUse(ws, c, "2002-01-01 00:00:00")
        try Self.setLastUse(ws, b, "2003-01-01 00:00:00")

        // Restoring a reads its action result and its blob: both become the most recently used.
        try ws.run(["clean"])
        #expect(try ws.build(["task:a"]).targets("restored") == ["task:a"])

        // Room for a and b: c, now the least recently used, goes (its two entries).
        let (sizeA, sizeB, sizeC) = (try Self.size(ws, a), try Self.size(ws, b), try Self.size(ws, c))
        #expect(sizeA + sizeB + sizeC < 1024, "sizes print in bytes below 1 KiB")
        let gc = try ws.run(["cache", "gc", "--max-size", "\(sizeA + sizeB)"])
        #expect(gc.status == 0, "\(gc.output)")
        #expect(gc.stdout == "cache gc: removed 2 entries (\(sizeC) B), kept 4 (\(sizeA + sizeB) B)\n")
        for path in c { #expect(!ws.exists(path), "\(path) was kept") }
        for path in a + b { #expect(ws.exists(path), "\(path) was removed") }

        // Room for a alone: b, older than a, goes too (entries are removed one by one, oldest
        // first, until the rest fits: b's action result first, then its blob).
        let smaller = try ws.run(["cache", "gc", "--max-size", "\(sizeA)"])
        #expect(smaller.stdout == "cache gc: removed 2 entries (\(sizeB) B), kept 2 (\(sizeA) B)\n")
        for path in b { #expect(!ws.exists(path), "\(path) was kept") }
        for path in a { #expect(ws.exists(path), "\(path) was removed") }

        // What is left is what the next build finds.
        try ws.run(["clean"])
        let after = try ws.build()
        #expect(after.statuses == ["task:a": "restored", "task:b": "built", "task:c": "built"])
    }

    @Test func gcEmptiesTheCachesTemporaryDirectory() throws {
        let ws = try MLBuildWorkspace(mlfile: Self.mlfile)
        let first = try ws.build()
        #expect(first.result.status == 0)
        let entries = try ["a", "b", "c"].flatMap { try Self.entries(of: $0, ws, keys: first.keys) }
        let kept = try Self.size(ws, entries)
        // What killed writers leave (a live process id too: gc holds the cache exclusively, so
        // no build is writing), a name mlbuild never uses, and a directory.
        let stray = ["cache/tmp/blob.\(getpid()).7", "cache/tmp/remote.999999999.1", "cache/tmp/layer.1.2",
                     "cache/tmp/notes.txt", "cache/tmp/partial/remote.3.4"]
        for path in stray { try ws.write(path, "stray") }
        let gc = try ws.run(["cache", "gc", "--max-size", "1G"])
        #expect(gc.status == 0, "\(gc.output)")
        #expect(gc.stdout == "cache gc: removed 0 entries (0 B), kept 6 (\(kept) B)\n", "stray files are not entries")
        #expect(try FileManager.default.contentsOfDirectory(atPath: "\(ws.cacheDirectory)/tmp") == [])
        for path in entries { #expect(ws.exists(path), "\(path) was removed") }
        #expect(try ws.build().targets("fresh") == ["task:a", "task:b", "task:c"])
    }

    @Test func verifyDeletesMalformedActionEntriesAndExitsOne() throws {
        let ws = try MLBuildWorkspace(mlfile: Self.mlfile)
        let first = try ws.build(["task:a"])
        #expect(first.targets("built") == ["task:a"])
        let key = try #require(first.keys["task:a"])
        let entry = "cache/ac/\(key.prefix(2))/\(key)"
        // A truncated document under a real key, and a file whose name is not a key.
        try ws.write(entry, "{\"format\":2,\"outp")
        try ws.write("cache/ac/zz/not-a-key", "{\"format\":2,\"outputs\":[]}")
        try Self.setLastUse(ws, [entry], "2001-01-01 00:00:00")
        try Self.setLastUse(ws, ["cache/ac/zz/not-a-key"], "2002-01-01 00:00:00")

        let verify = try ws.run(["cache", "verify"])
        #expect(verify.status == 1)
        #expect(verify.stdout == """
            malformed action entry \(key): removed
            malformed action entry not-a-key: removed
            cache verify: 1 blob checked, 0 corrupt, 2 malformed action entries

            """)
        #expect(verify.stderr.isEmpty, "\(verify.stderr)")
        #expect(!ws.exists(entry))
        #expect(!ws.exists("cache/ac/zz/not-a-key"))

        let again = try ws.run(["cache", "verify"])
        #expect(again.status == 0)
        #expect(again.stdout == "cache verify: 1 blob checked, 0 corrupt, 0 malformed action entries\n")
        // The entry is gone: task:a is built again.
        try ws.run(["clean"])
        #expect(try ws.build(["task:a"]).targets("built") == ["task:a"])
    }
}
