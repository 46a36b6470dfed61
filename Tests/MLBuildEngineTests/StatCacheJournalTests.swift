import MLBuildCache
import MLBuildCore
import MLBuildTestSupport
import Testing

/// `.mlbuild/stat-cache`: a run that remembers a few files out of many appends them to the
/// journal instead of writing the whole table; a load applies it; a damaged journal is ignored.
@Suite("stat cache journal")
struct StatCacheJournalTests {
    static let table = "/workspace/.mlbuild/stat-cache"
    static let journal = table + ".journal"

    /// A disk with `n` files, hashed and remembered once (out of the racy window), table saved.
    func seeded(_ n: Int) throws -> InMemoryDisk {
        let disk = InMemoryDisk()
        for i in 0..<n { disk.write("src/f\(i).txt", "file \(i)\n") }
        disk.advanceClock(by: 1_000_000_000)
        let cache = StatCache(path: Self.table, disk: disk)
        for i in 0..<n { _ = try cache.digest(of: "src/f\(i).txt") }
        try cache.save()
        #expect(disk.exists(Self.table) && !disk.exists(Self.journal))
        return disk
    }

    @Test func aFewNewEntriesGoToTheJournalAndAreReadBack() throws {
        let disk = try seeded(40)
        let tableBytes = try disk.readBytes(Self.table)
        disk.write("src/f3.txt", "edited\n")
        disk.advanceClock(by: 1_000_000_000)
        let cache = StatCache(path: Self.table, disk: disk)
        let edited = try #require(try cache.digest(of: "src/f3.txt"))
        try cache.save()
        #expect(try disk.readBytes(Self.table) == tableBytes, "the table is not written again")
        #expect(disk.exists(Self.journal))
        // Read back: the edited file is not hashed again, nor is any other.
        let before = disk.hashCount("src/f3.txt"), other = disk.hashCount("src/f7.txt")
        let again = StatCache(path: Self.table, disk: disk)
        #expect(try again.digest(of: "src/f3.txt")?.digest == edited.digest)
        _ = try again.digest(of: "src/f7.txt")
        #expect(disk.hashCount("src/f3.txt") == before && disk.hashCount("src/f7.txt") == other)
    }

    @Test func aLargeJournalIsFoldedInAndADamagedOneIgnored() throws {
        let disk = try seeded(8)
        for i in 0..<6 { disk.write("src/f\(i).txt", "edited \(i)\n") }
        disk.advanceClock(by: 1_000_000_000)
        let cache = StatCache(path: Self.table, disk: disk)
        for i in 0..<6 { _ = try cache.digest(of: "src/f\(i).txt") }
        try cache.save()
        #expect(!disk.exists(Self.journal), "most entries changed: the whole table is written")

        let big = try seeded(40)
        big.write("src/f1.txt", "edited\n")
        big.advanceClock(by: 1_000_000_000)
        let one = StatCache(path: Self.table, disk: big)
        _ = try one.digest(of: "src/f1.txt")
        try one.save()
        let bytes = try big.readBytes(Self.journal)
        try big.writeAtomically(Array(bytes.prefix(bytes.count - 5)), to: Self.journal, mode: 0o644)
        // The damaged journal is left out: the file's new stat is not in the table, so it is hashed.
        let count = big.hashCount("src/f1.txt")
        _ = try StatCache(path: Self.table, disk: big).digest(of: "src/f1.txt")
        #expect(big.hashCount("src/f1.txt") == count + 1)
    }

    @Test func aPartialLoadKnowsOnlyItsPathsAndNeverWritesTheTable() throws {
        let disk = try seeded(8)
        // A journal entry for f2 on top of the table.
        disk.write("src/f2.txt", "edited\n")
        disk.advanceClock(by: 1_000_000_000)
        let full = StatCache(path: Self.table, disk: disk)
        _ = try full.digest(of: "src/f2.txt")
        try full.save()
        let tableBytes = try disk.readBytes(Self.table)

        // Only f1 and f2 (f2 from the journal): neither is hashed again; f5 is.
        let partial = StatCache(path: Self.table, disk: disk, only: ["src/f1.txt", "src/f2.txt"])
        let counts = ["src/f1.txt", "src/f2.txt", "src/f5.txt"].map { disk.hashCount($0) }
        for path in ["src/f1.txt", "src/f2.txt", "src/f5.txt"] { _ = try partial.digest(of: path) }
        #expect(["src/f1.txt", "src/f2.txt", "src/f5.txt"].map { disk.hashCount($0) } == [counts[0], counts[1], counts[2] + 1])

        // Most of what it knows changed, yet the table stays: the new entries go to the journal,
        // and a full load afterwards has every entry.
        for i in 0..<8 { disk.write("src/f\(i).txt", "again \(i)\n") }
        disk.advanceClock(by: 1_000_000_000)
        let busy = StatCache(path: Self.table, disk: disk, only: ["src/f0.txt"])
        for i in 0..<8 { _ = try busy.digest(of: "src/f\(i).txt") }
        try busy.save()
        #expect(try disk.readBytes(Self.table) == tableBytes)
        let reloaded = StatCache(path: Self.table, disk: disk)
        let before = (0..<8).map { disk.hashCount("src/f\($0).txt") }
        for i in 0..<8 { _ = try reloaded.digest(of: "src/f\(i).txt") }
        #expect((0..<8).map { disk.hashCount("src/f\($0).txt") } == before)
    }
}
