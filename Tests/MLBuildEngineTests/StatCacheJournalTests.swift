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
}
