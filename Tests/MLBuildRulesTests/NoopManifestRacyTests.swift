import Foundation
import MLBuildCore
import MLBuildEngine
import Testing

/// Issue 11, item 2: a file written within the racy window does not throw the no-op manifest
/// away; it is recorded with the digest the build used and re-hashed by the next check (git's
/// "racily clean" entries), while every other entry is still trusted on its stat.
/// (These belong with the engine's in-memory tests once MLBuildEngineTests exists.)
@Suite("no-op manifest: the racy window")
struct NoopManifestRacyTests {
    let directory: String

    init() throws {
        directory = NSTemporaryDirectory() + "mlbuild-racy-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    func file(_ name: String, _ text: String) throws -> (path: String, stat: FileStat, digest: ContentDigest) {
        let path = "\(directory)/\(name)"
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        let stat = try #require(FileStat.of(path))
        return (path, stat, try FileHashing.digest(ofFileAt: path).digest)
    }

    func manifest(_ entries: [NoopManifest.Entry]) -> NoopManifest {
        NoopManifest(context: ContentDigest.of(Array("context".utf8)), environmentNames: [], targets: [], entries: entries)
    }

    @Test func aFileWrittenWithinTheWindowIsRecordedRacyWithItsDigestAndTheRestIsNot() throws {
        let old = try file("old.txt", "old\n"), new = try file("new.txt", "new\n")
        let now = new.stat.mtimeNanoseconds + 10_000_000  // new.txt: written 10 ms before the build ended
        var witnessed = [new.path: NoopManifest.Witnessed(stat: new.stat, digest: new.digest)]
        var oldStat = old.stat
        oldStat.mtimeNanoseconds -= 5_000_000_000
        oldStat.ctimeNanoseconds -= 5_000_000_000
        witnessed[old.path] = NoopManifest.Witnessed(stat: oldStat, digest: old.digest)
        let entries = try #require(NoopManifest.entries(for: witnessed, now: now))
        #expect(entries.map(\.path) == [new.path, old.path])
        #expect(entries.map(\.racyDigest) == [new.digest, nil])
    }

    @Test func aRacyDirectoryStillWritesNoManifest() throws {
        let stat = try #require(FileStat.of(directory))
        let witnessed = [directory: NoopManifest.Witnessed(stat: stat, digest: nil)]
        #expect(NoopManifest.entries(for: witnessed, now: stat.mtimeNanoseconds + 10_000_000) == nil)
        #expect(NoopManifest.entries(for: witnessed, now: stat.mtimeNanoseconds + 1_000_000_000)?.count == 1)
    }

    @Test func theCheckReHashesOnlyTheRacyEntryAndHolds() throws {
        let racy = try file("racy.txt", "racy\n"), plain = try file("plain.txt", "plain\n")
        let m = manifest([NoopManifest.Entry(path: plain.path, stat: plain.stat),
                          NoopManifest.Entry(path: racy.path, stat: racy.stat, racyDigest: racy.digest)])
        let check = m.check(context: m.context)
        #expect(check.mismatch == nil)
        #expect(check.rehashed == [racy.path])
    }

    /// What the stat cannot show (same size and times within the granularity): the digest does.
    @Test func aRacyEntryWhoseContentDiffersIsAMiss() throws {
        let racy = try file("racy.txt", "new!\n")
        let m = manifest([NoopManifest.Entry(path: racy.path, stat: racy.stat, racyDigest: ContentDigest.of(Array("old!\n".utf8)))])
        #expect(m.check(context: m.context).mismatch == "'\(racy.path)' changed (re-hashed: it was written within the racy window)")
    }

    @Test func settledTakesTheMarkOffOnlyOutsideTheWindow() throws {
        let racy = try file("racy.txt", "racy\n")
        let m = manifest([NoopManifest.Entry(path: racy.path, stat: racy.stat, racyDigest: racy.digest)])
        let latest = max(racy.stat.mtimeNanoseconds, racy.stat.ctimeNanoseconds)
        #expect(m.settled(now: latest + 50_000_000) == nil)
        let settled = try #require(m.settled(now: latest + 200_000_000))
        #expect(settled.entries.map(\.racyDigest) == [nil])
        #expect(settled.check(context: m.context).rehashed.isEmpty)
    }

    @Test func theRacyMarkAndDigestSurviveSaveAndLoad() throws {
        let racy = try file("racy.txt", "racy\n"), plain = try file("plain.txt", "plain\n")
        let m = manifest([NoopManifest.Entry(path: plain.path, stat: plain.stat),
                          NoopManifest.Entry(path: racy.path, stat: racy.stat, racyDigest: racy.digest)])
        try m.save(to: "\(directory)/noop")
        let loaded = try #require(NoopManifest.load(from: "\(directory)/noop"))
        #expect(loaded.entries == m.entries)
    }
}
