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
/// A run that remembered a few entries out of many appends them to `stat-cache.journal`
/// (magic `MLSTJR`, version, then entries as above, to the end), applied over the table when it
/// is read and folded in once it passes a quarter of the table's size.
public final class StatCache: Sendable {
    public struct Entry: Sendable {
        public var stat: FileStat
        public var digest: ContentDigest
    }

    static let magic = "MLSTAT"
    static let version: UInt32 = 1
    static let racyWindowNanoseconds: Int64 = 100_000_000

    /// Guards the table and the dirty flag; held only for lookups and inserts, never while hashing.
    private let state: Mutex<(entries: [String: Entry], changed: Set<String>)>
    /// Bytes of the table and of its journal when read.
    private let loaded: (table: Int, journal: Int)
    /// stat results of this run, so a file that is one target's output and three targets' input
    /// is stat'ed once. The builder calls `invalidateRunMemo()` whenever a target wrote files.
    private let runMemo = Mutex<[String: FileStat]>([:])
    public let path: String
    /// Where files are stat'ed, hashed and the table is read and written.
    public let disk: any DiskInterface

    /// Whether only some entries were read (`only`): then `save` appends to the journal and
    /// never writes the table, which would lose the others.
    private let isPartial: Bool

    /// `only`: read just these paths' entries (the incremental path knows which files its few
    /// targets looked at last time); any other path is hashed if asked for.
    public init(path: String, disk: any DiskInterface = RealDisk(), only: Set<String>? = nil) {
        self.path = path
        self.disk = disk
        isPartial = only != nil
        let wanted = only.map { Set($0.map { ArraySlice($0.utf8) }) }
        var entries: [String: Entry] = [:]
        var loaded = (table: 0, journal: 0)
        if let bytes = try? disk.readBytes(path), var reader = try? BinaryReader(bytes: bytes, magic: Self.magic, version: Self.version),
           (try? Self.decode(&reader, into: &entries, counted: true, only: wanted)) != nil {
            loaded.table = bytes.count
            // A damaged journal is left out whole: the table's entries stand.
            if let more = try? disk.readBytes(Self.journalPath(of: path)),
               var r = try? BinaryReader(bytes: more, magic: Self.journalMagic, version: Self.version) {
                var copy = entries
                if (try? Self.decode(&r, into: &copy, counted: false, only: wanted)) != nil {
                    entries = copy
                    loaded.journal = more.count
                }
            }
        } else {
            entries = [:]
        }
        self.loaded = loaded
        state = Mutex((entries, []))
    }

    static let journalMagic = "MLSTJR"
    static func journalPath(of path: String) -> String { path + ".journal" }

    /// Entries into `entries`: a count of them when `counted`, else up to the end (a journal).
    /// `only`: the paths (as stored) to keep; the others are read past.
    private static func decode(_ reader: inout BinaryReader, into entries: inout [String: Entry], counted: Bool,
                               only: Set<ArraySlice<UInt8>>?) throws {
        let count = counted ? try reader.readCount(minimumItemSize: 88) : Int.max
        if counted, only == nil { entries.reserveCapacity(count) }
        var n = 0
        while n < count, counted || !reader.isAtEnd {
            n += 1
            let pathBytes = try reader.readStringBytes()
            if let only, !only.contains(pathBytes) {
                _ = try reader.raw(Self.entrySizeAfterPath, "an entry")
                continue
            }
            let path = String(decoding: pathBytes, as: UTF8.self)
            let stat = FileStat(size: try reader.readUInt64(), mtimeNanoseconds: try reader.readInt64(),
                                ctimeNanoseconds: try reader.readInt64(), inode: try reader.readUInt64(),
                                device: try reader.readUInt64(), mode: UInt32(truncatingIfNeeded: try reader.readUInt64()))
            entries[path] = Entry(stat: stat, digest: try reader.readDigest())
        }
    }

    /// Size, mtime, ctime, inode, device, mode (8 bytes each) and the digest (32).
    static let entrySizeAfterPath = 6 * 8 + 32

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
                $0.changed.insert(path)
            }
        }
    }

    public func invalidateRunMemo() {
        runMemo.withLock { $0.removeAll(keepingCapacity: true) }
    }

    /// Saves what changed: appended to the journal when that stays small next to the table,
    /// else the whole table is written (atomically) and the journal removed.
    public func save() throws {
        let taken: (entries: [String: Entry], changed: Set<String>)? = state.withLock { s in
            guard !s.changed.isEmpty else { return nil }
            defer { s.changed = [] }
            return (s.entries, s.changed)
        }
        guard let (snapshot, changed) = taken else { return }
        let journal = Self.journalPath(of: path)
        // A partial cache without a table to append to: its few entries are not worth a table.
        if isPartial, loaded.table == 0 { return }
        if loaded.table > 0 {
            var writer = BinaryWriter(magic: Self.journalMagic, version: Self.version)
            for path in changed.sorted() { if let entry = snapshot[path] { Self.write(path, entry, to: &writer) } }
            let existing = loaded.journal > 0 ? (try? disk.readBytes(journal)) ?? [] : []
            let appended = existing.isEmpty ? writer.bytes : existing + writer.bytes.dropFirst(Self.journalMagic.utf8.count + 8)
            if appended.count * 4 <= loaded.table || isPartial {
                try disk.writeAtomically(Array(appended), to: journal)
                return
            }
        }
        var writer = BinaryWriter(magic: Self.magic, version: Self.version)
        writer.write(UInt64(snapshot.count))
        for path in snapshot.keys.sorted() {
            guard let entry = snapshot[path] else { continue }
            Self.write(path, entry, to: &writer)
        }
        try disk.writeAtomically(writer.bytes, to: path)
        try? disk.removeTree(journal)
    }

    private static func write(_ path: String, _ entry: Entry, to writer: inout BinaryWriter) {
        writer.write(path)
        writer.write(entry.stat.size)
        writer.write(entry.stat.mtimeNanoseconds)
        writer.write(entry.stat.ctimeNanoseconds)
        writer.write(entry.stat.inode)
        writer.write(entry.stat.device)
        writer.write(UInt64(entry.stat.mode))
        writer.write(entry.digest)
    }
}
