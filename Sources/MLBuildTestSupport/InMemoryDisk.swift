import MLBuildCore
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A `DiskInterface` held in memory, for engine tests (Ninja's `VirtualFileSystem`): files,
/// directories and symbolic links in one table keyed by absolute path, and a virtual clock.
///
/// Every change (a write, a removal, a rename, a `touch`) advances the clock by one
/// `tick` first, and stamps what it changed, and the parent directory whose listing changed,
/// with the new time; so two writes never share an mtime and tests never depend on the real
/// clock's granularity. Relative paths are resolved against `workingDirectory` (the engine
/// spells workspace files relative to the workspace root, which is the working directory).
/// Symbolic links are followed as the kernel does (40 hops at most).
///
/// Thread-safe: one lock (`state`) around the table; nothing blocks while holding it.
public final class InMemoryDisk: DiskInterface {
    enum Node: Sendable {
        case file([UInt8], permissions: UInt32)
        case directory
        case symlink(String)
    }

    struct Entry: Sendable {
        var node: Node
        var mtime: Int64
        var ctime: Int64
        var inode: UInt64
    }

    struct State: Sendable {
        var entries: [String: Entry] = [:]
        var clock: Int64
        var nextInode: UInt64 = 2
        /// How many files were hashed (`digest(ofFileAt:)`), per path: tests check what a
        /// build did not have to hash.
        var hashed: [String: Int] = [:]
    }

    /// Absolute; relative paths are resolved against it.
    public let workingDirectory: String
    /// How far every change moves the clock (1 s: beyond any racy window).
    public static let tick: Int64 = 1_000_000_000
    private let state: Mutex<State>

    public init(workingDirectory: String = "/workspace", clock: Int64 = 1_700_000_000_000_000_000) {
        self.workingDirectory = WorkspacePath.lexicallyNormalized(workingDirectory.hasPrefix("/") ? workingDirectory : "/" + workingDirectory)
        var initial = State(clock: clock)
        initial.entries["/"] = Entry(node: .directory, mtime: clock, ctime: clock, inode: 1)
        var path = ""
        for component in self.workingDirectory.split(separator: "/") {
            path += "/\(component)"
            initial.entries[path] = Entry(node: .directory, mtime: clock, ctime: clock, inode: initial.nextInode)
            initial.nextInode += 1
        }
        state = Mutex(initial)
    }

    // MARK: Helpers for tests

    /// Writes `text` to `path`, creating its parent directories.
    public func write(_ path: String, _ text: String, executable: Bool = false) {
        try? writeAtomically(Array(text.utf8), to: path, mode: executable ? 0o755 : 0o644)
    }

    /// The content of the file at `path` as text; nil when there is no regular file there.
    public func contents(_ path: String) -> String? {
        (try? readBytes(path)).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Moves the clock forward without changing anything (time passing between builds).
    public func advanceClock(by nanoseconds: Int64) {
        state.withLock { $0.clock += nanoseconds }
    }

    /// How many times the file at `path` was hashed so far.
    public func hashCount(_ path: String) -> Int {
        let key = absolute(path)
        return state.withLock { $0.hashed[key] ?? 0 }
    }

    /// Every regular file and symbolic link below `directory` (absolute paths), sorted.
    public func files(under directory: String) -> [String] {
        let prefix = absolute(directory) + "/"
        return state.withLock { s in
            s.entries.compactMap { path, entry in
                if case .directory = entry.node { return nil }
                return path.hasPrefix(prefix) ? path : nil
            }.sorted()
        }
    }

    // MARK: DiskInterface

    public func stat(_ path: String, followLinks: Bool) -> FileStat? {
        state.withLock { s in
            guard let resolved = Self.resolve(absolute(path), followFinal: followLinks, in: s), let entry = s.entries[resolved] else { return nil }
            return Self.fileStat(entry)
        }
    }

    public func readBytes(_ path: String) throws -> [UInt8] {
        try state.withLock { s in
            switch try Self.lookup(absolute(path), for: "read", original: path, in: s).node {
            case let .file(bytes, _): return bytes
            case .directory: throw FileSystem.Failure("read", path, errno: EISDIR)
            case .symlink: throw FileSystem.Failure("read", path, errno: ELOOP)
            }
        }
    }

    public func digest(ofFileAt path: String) throws -> (digest: ContentDigest, size: UInt64) {
        let bytes: [UInt8] = try state.withLock { s in
            guard let resolved = Self.resolve(absolute(path), followFinal: true, in: s), let entry = s.entries[resolved] else {
                throw FileHashing.Failure(path: path, reason: String(cString: strerror(ENOENT)))
            }
            guard case let .file(bytes, _) = entry.node else {
                throw FileHashing.Failure(path: path, reason: "it is \(Self.fileStat(entry).kindDescription), not a regular file")
            }
            s.hashed[resolved, default: 0] += 1
            return bytes
        }
        return (ContentDigest.of(bytes), UInt64(bytes.count))
    }

    public func listDirectory(_ path: String) throws -> [String] {
        try state.withLock { s in
            let resolved = try Self.resolvedPath(absolute(path), for: "list", original: path, in: s)
            guard case .directory = s.entries[resolved]?.node else { throw FileSystem.Failure("list", path, errno: ENOTDIR) }
            let prefix = resolved == "/" ? "/" : resolved + "/"
            return s.entries.keys.compactMap { key -> String? in
                guard key.hasPrefix(prefix), key != resolved else { return nil }
                let name = key.dropFirst(prefix.count)
                return name.contains("/") ? nil : String(name)
            }.sorted()
        }
    }

    public func writeAtomically(_ bytes: [UInt8], to path: String, mode: mode_t) throws {
        try createDirectories(FileSystem.parent(of: path))
        try state.withLock { s in
            try Self.put(.file(bytes, permissions: UInt32(mode) & 0o7777), at: absolute(path), original: path, replacing: true, in: &s)
        }
    }

    public func copyFile(from source: String, to destination: String, mode: mode_t) throws {
        let bytes = try readBytes(source)
        try writeAtomically(bytes, to: destination, mode: mode)
    }

    public func removeTree(_ path: String) throws {
        state.withLock { s in
            guard let resolved = Self.resolve(absolute(path), followFinal: false, in: s), s.entries[resolved] != nil, resolved != "/" else { return }
            let now = Self.advance(&s, by: Self.tick)
            let prefix = resolved + "/"
            for key in Array(s.entries.keys) where key == resolved || key.hasPrefix(prefix) { s.entries.removeValue(forKey: key) }
            Self.stampParent(of: resolved, now: now, in: &s)
        }
    }

    public func createDirectories(_ path: String) throws {
        try state.withLock { s in
            var resolved = ""
            for component in absolute(path).split(separator: "/") {
                let candidate = "\(resolved)/\(component)"
                guard let target = Self.resolve(candidate, followFinal: true, in: s) else {
                    throw FileSystem.Failure("create directory", path, errno: ELOOP)
                }
                if let entry = s.entries[target] {
                    guard case .directory = entry.node else { throw FileSystem.Failure("create directory", path, errno: ENOTDIR) }
                    resolved = target
                } else {
                    let now = Self.advance(&s, by: Self.tick)
                    s.entries[target] = Entry(node: .directory, mtime: now, ctime: now, inode: Self.newInode(&s))
                    Self.stampParent(of: target, now: now, in: &s)
                    resolved = target
                }
            }
        }
    }

    public func readLink(_ path: String) throws -> String {
        try state.withLock { s in
            guard let resolved = Self.resolve(absolute(path), followFinal: false, in: s), let entry = s.entries[resolved] else {
                throw FileSystem.Failure("read the link", path, errno: ENOENT)
            }
            guard case let .symlink(target) = entry.node else { throw FileSystem.Failure("read the link", path, errno: EINVAL) }
            return target
        }
    }

    public func createSymbolicLink(at path: String, target: String) throws {
        try state.withLock { s in
            try Self.put(.symlink(target), at: absolute(path), original: path, replacing: false, in: &s)
        }
    }

    public func rename(_ source: String, to destination: String) throws {
        try state.withLock { s in
            guard let from = Self.resolve(absolute(source), followFinal: false, in: s), let moved = s.entries[from] else {
                throw FileSystem.Failure("rename into", destination, errno: ENOENT)
            }
            let parent = try Self.resolvedPath(FileSystem.parent(of: absolute(destination)), for: "rename into", original: destination, in: s)
            let to = (parent == "/" ? "" : parent) + "/" + FileSystem.lastComponent(of: absolute(destination))
            if from == to { return }
            if case .directory = s.entries[to]?.node { throw FileSystem.Failure("rename into", destination, errno: EISDIR) }
            let now = Self.advance(&s, by: Self.tick)
            let prefix = from + "/"
            for key in Array(s.entries.keys) where key.hasPrefix(prefix) {
                let entry = s.entries.removeValue(forKey: key)
                s.entries[to + String(key.dropFirst(from.count))] = entry
            }
            s.entries.removeValue(forKey: from)
            var entry = moved
            entry.ctime = now
            s.entries[to] = entry
            Self.stampParent(of: from, now: now, in: &s)
            Self.stampParent(of: to, now: now, in: &s)
        }
    }

    public func setMode(_ path: String, _ mode: mode_t) throws {
        try state.withLock { s in
            let resolved = try Self.resolvedPath(absolute(path), for: "change the mode of", original: path, in: s)
            guard var entry = s.entries[resolved] else { throw FileSystem.Failure("change the mode of", path, errno: ENOENT) }
            if case let .file(bytes, _) = entry.node { entry.node = .file(bytes, permissions: UInt32(mode) & 0o7777) }
            entry.ctime = Self.advance(&s, by: Self.tick)
            s.entries[resolved] = entry
        }
    }

    public func touch(_ path: String) {
        state.withLock { s in
            guard let resolved = Self.resolve(absolute(path), followFinal: true, in: s), var entry = s.entries[resolved] else { return }
            let now = Self.advance(&s, by: Self.tick)
            entry.mtime = now
            entry.ctime = now
            s.entries[resolved] = entry
        }
    }

    public func currentTimeNanoseconds() -> Int64 { state.withLock { $0.clock } }

    // MARK: Internals (called with the lock held)

    func absolute(_ path: String) -> String {
        WorkspacePath.lexicallyNormalized(path.hasPrefix("/") ? path : "\(workingDirectory)/\(path)")
    }

    /// `path` with every symbolic link on the way replaced by what it points at (the last
    /// component too when `followFinal`); nil for a loop or a path through a non-directory.
    /// The result need not exist.
    static func resolve(_ path: String, followFinal: Bool, in s: State) -> String? {
        var pending = path.split(separator: "/").map(String.init)
        var resolved = ""
        var index = 0
        var hops = 0
        while index < pending.count {
            let candidate = "\(resolved)/\(pending[index])"
            let isLast = index == pending.count - 1
            if let entry = s.entries[candidate] {
                switch entry.node {
                case let .symlink(target) where !isLast || followFinal:
                    hops += 1
                    if hops > 40 { return nil }
                    let joined = target.hasPrefix("/") ? target : "\(resolved)/\(target)"
                    let rest = pending[(index + 1)...].joined(separator: "/")
                    let next = WorkspacePath.lexicallyNormalized(rest.isEmpty ? joined : "\(joined)/\(rest)")
                    pending = next.split(separator: "/").map(String.init)
                    resolved = ""
                    index = 0
                    continue
                case .file where !isLast:
                    return nil
                default:
                    break
                }
            }
            resolved = candidate
            index += 1
        }
        return resolved.isEmpty ? "/" : resolved
    }

    static func resolvedPath(_ path: String, for operation: String, original: String, in s: State) throws -> String {
        guard let resolved = resolve(path, followFinal: true, in: s), s.entries[resolved] != nil else {
            throw FileSystem.Failure(operation, original, errno: ENOENT)
        }
        return resolved
    }

    static func lookup(_ path: String, for operation: String, original: String, in s: State) throws -> Entry {
        let resolved = try resolvedPath(path, for: operation, original: original, in: s)
        guard let entry = s.entries[resolved] else { throw FileSystem.Failure(operation, original, errno: ENOENT) }
        return entry
    }

    /// Puts `node` at `path` (its parent must be a directory): a new inode, stamped now.
    static func put(_ node: Node, at path: String, original: String, replacing: Bool, in s: inout State) throws {
        let parent = try resolvedPath(FileSystem.parent(of: path), for: "write", original: original, in: s)
        guard case .directory = s.entries[parent]?.node else { throw FileSystem.Failure("write", original, errno: ENOTDIR) }
        let target = (parent == "/" ? "" : parent) + "/" + FileSystem.lastComponent(of: path)
        if let existing = s.entries[target] {
            if !replacing { throw FileSystem.Failure("write", original, errno: EEXIST) }
            if case .directory = existing.node { throw FileSystem.Failure("write", original, errno: EISDIR) }
        }
        let now = advance(&s, by: tick)
        s.entries[target] = Entry(node: node, mtime: now, ctime: now, inode: newInode(&s))
        stampParent(of: target, now: now, in: &s)
    }

    static func advance(_ s: inout State, by tick: Int64) -> Int64 {
        s.clock += tick
        return s.clock
    }

    static func newInode(_ s: inout State) -> UInt64 {
        defer { s.nextInode += 1 }
        return s.nextInode
    }

    /// A directory's mtime changes when an entry is added, removed or renamed in it.
    static func stampParent(of path: String, now: Int64, in s: inout State) {
        let parent = FileSystem.parent(of: path)
        if var entry = s.entries[parent] {
            entry.mtime = now
            entry.ctime = now
            s.entries[parent] = entry
        }
    }

    static func fileStat(_ entry: Entry) -> FileStat {
        let size: UInt64, mode: UInt32
        switch entry.node {
        case let .file(bytes, permissions): (size, mode) = (UInt64(bytes.count), UInt32(S_IFREG) | permissions)
        case .directory: (size, mode) = (4096, UInt32(S_IFDIR) | 0o755)
        case let .symlink(target): (size, mode) = (UInt64(target.utf8.count), UInt32(S_IFLNK) | 0o777)
        }
        return FileStat(size: size, mtimeNanoseconds: entry.mtime, ctimeNanoseconds: entry.ctime, inode: entry.inode, device: 1, mode: mode)
    }
}
