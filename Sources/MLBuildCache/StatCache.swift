import MLBuildCore
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// path → (size, mtime, ctime, inode, device, mode) → digest, so an unchanged 10 GB input is not
/// re-hashed on every run. Any change of those fields forces a re-hash. A file whose mtime is
/// within `racyWindow` of the moment it was hashed is not remembered: it could still change
/// within the filesystem's timestamp granularity without its stat changing (git's "racy clean").
///
/// On disk (`.mlbuild/stat-cache`): magic `MLSTAT`, version, count, then per entry: path,
/// size, mtime ns, ctime ns, inode, device, mode, digest (see BinaryWriter for the encoding).
public final class StatCache: Sendable {
    public struct Entry: Sendable {
        public var stat: FileStat
        public var digest: ContentDigest
    }

    static let magic = "MLSTAT"
    static let version: UInt32 = 1
    static let racyWindowNanoseconds: Int64 = 100_000_000

    /// Guards the table and the dirty flag; held only for lookups and inserts, never while hashing.
    private let state: Mutex<(entries: [String: Entry], dirty: Bool)>
    /// stat results of this run, so a file that is one target's output and three targets' input
    /// is stat'ed once. The builder calls `invalidateRunMemo()` whenever a target wrote files.
    private let runMemo = Mutex<[String: FileStat]>([:])
    public let path: String
    /// Where files are stat'ed, hashed and the table is read and written.
    public let disk: any DiskInterface

    public init(path: String, disk: any DiskInterface = RealDisk()) {
        self.path = path
        self.disk = disk
        var entries: [String: Entry] = [:]
        if let bytes = try? disk.readBytes(path), var reader = try? BinaryReader(bytes: bytes, magic: Self.magic, version: Self.version) {
            entries = (try? Self.decode(&reader)) ?? [:]
        }
        state = Mutex((entries, false))
    }

    private static func decode(_ reader: inout BinaryReader) throws -> [String: Entry] {
        let count = try reader.readCount(minimumItemSize: 88)
        var entries: [String: Entry] = [:]
        entries.reserveCapacity(count)
        for _ in 0..<count {
            let path = try reader.readString()
            let stat = FileStat(size: try reader.readUInt64(), mtimeNanoseconds: try reader.readInt64(),
                                ctimeNanoseconds: try reader.readInt64(), inode: try reader.readUInt64(),
                                device: try reader.readUInt64(), mode: UInt32(truncatingIfNeeded: try reader.readUInt64()))
            entries[path] = Entry(stat: stat, digest: try reader.readDigest())
        }
        return entries
    }

    /// The digest of the regular file at `path` (a workspace-relative or absolute path), from the
    /// table when its stat is unchanged, else hashed now. nil when the file does not exist.
    public func digest(of path: String) throws -> (digest: ContentDigest, stat: FileStat)? {
        guard let stat = stat(of: path) else { return nil }
        if let entry = state.withLock({ $0.entries[path] }), entry.stat == stat { return (entry.digest, stat) }
        // Checked before opening (FileHashing checks again, on the descriptor it reads).
        guard stat.isRegularFile else {
            throw FileHashing.Failure(path: path, reason: "it is \(stat.kindDescription), not a regular file")
        }
        let (digest, _) = try disk.digest(ofFileAt: path)
        remember(path, stat: stat, digest: digest)
        return (digest, stat)
    }

    /// The followed stat of `path` as this run sees it: stat'ed once per run (until
    /// `invalidateRunMemo()`), the same stat `digest(of:)` compares with the table. nil when
    /// nothing is there.
    public func stat(of path: String) -> FileStat? {
        if let known = runMemo.withLock({ $0[path] }) { return known }
        guard let fresh = disk.stat(path, followLinks: true) else { return nil }
        runMemo.withLock { $0[path] = fresh }
        return fresh
    }

    /// Whether a file with `stat` could still change without its stat changing (modified within
    /// `racyWindow` of now): such a stat vouches for nothing, here or in a state record's witness.
    public func isRacy(_ stat: FileStat) -> Bool {
        let nowNanoseconds = disk.currentTimeNanoseconds()
        return stat.mtimeNanoseconds >= nowNanoseconds - Self.racyWindowNanoseconds
            || stat.ctimeNanoseconds >= nowNanoseconds - Self.racyWindowNanoseconds
    }

    /// Records a digest we know (e.g. of a file just copied out of the cache).
    public func remember(_ path: String, stat: FileStat, digest: ContentDigest) {
        let racy = isRacy(stat)
        state.withLock {
            if racy {
                // Not worth a write of the table: the entry on disk either has another stat
                // (never used again) or this very stat, which it recorded when it was not racy.
                $0.entries.removeValue(forKey: path)
            } else {
                $0.entries[path] = Entry(stat: stat, digest: digest)
                $0.dirty = true
            }
        }
    }

    public func invalidateRunMemo() {
        runMemo.withLock { $0.removeAll(keepingCapacity: true) }
    }

    /// Writes the table (atomically) if anything changed.
    public func save() throws {
        let snapshot: [String: Entry]? = state.withLock { s in
            guard s.dirty else { return nil }
            s.dirty = false
            return s.entries
        }
        guard let snapshot else { return }
        var writer = BinaryWriter(magic: Self.magic, version: Self.version)
        writer.write(UInt64(snapshot.count))
        for path in snapshot.keys.sorted() {
            guard let entry = snapshot[path] else { continue }
            writer.write(path)
            writer.write(entry.stat.size)
            writer.write(entry.stat.mtimeNanoseconds)
            writer.write(entry.stat.ctimeNanoseconds)
            writer.write(entry.stat.inode)
            writer.write(entry.stat.device)
            writer.write(UInt64(entry.stat.mode))
            writer.write(entry.digest)
        }
        try disk.writeAtomically(writer.bytes, to: path)
    }
}
