import CSpawn
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The few disk operations mlbuild needs, done with plain syscalls: atomic writes, cheap
/// copies (reflink, then copy_file_range, then read/write) and tree removal.
public enum FileSystem {
    /// A failed file operation (`cannot OPERATION 'PATH': REASON`): the one of MLBuildBasics.
    public typealias Failure = FileFailure

    public static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    /// `mkdir -p`.
    public static func createDirectories(_ path: String) throws {
        if path.isEmpty || path == "/" || path == "." { return }
        if mkdir(path, 0o755) == 0 { return }
        let code = errno
        if code == EEXIST {
            if FileStat.of(path)?.isDirectory == true { return }
            throw Failure("create directory", path, errno: ENOTDIR)
        }
        guard code == ENOENT else { throw Failure("create directory", path, errno: code) }
        try createDirectories(parent(of: path))
        if mkdir(path, 0o755) != 0, errno != EEXIST { throw Failure("create directory", path) }
    }

    public static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        if slash == path.startIndex { return "/" }
        return String(path[..<slash])
    }

    public static func lastComponent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }

    /// A unique temp name next to `path`, so that the final rename stays on one filesystem.
    public static func temporaryPath(near path: String) -> String { AtomicFile.temporaryPath(near: path) }

    /// `AtomicFile.write`, creating the parent directories first.
    public static func writeAtomically(_ bytes: some Collection<UInt8>, to path: String, durable: Bool = false, mode: mode_t = 0o644) throws {
        try createDirectories(parent(of: path))
        try AtomicFile.write(bytes, to: path, durable: durable, mode: mode)
    }

    public static func writeAtomically(_ string: String, to path: String, durable: Bool = false) throws {
        try writeAtomically(Array(string.utf8), to: path, durable: durable)
    }

    public static func readBytes(_ path: String) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw Failure("read", path) }
        defer { close(fd) }
        var out: [UInt8] = []
        // Sized from the file: appending chunks doubled the buffer (4 MB for a 1.3 MB Mlfile).
        var info = stat()
        if fstat(fd, &info) == 0, info.st_size > 0 { out.reserveCapacity(Int(info.st_size) + 1) }
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw Failure("read", path)
            }
            if n == 0 { break }
            out.append(contentsOf: chunk[0..<n])
        }
        return out
    }

    public static func readString(_ path: String) throws -> String {
        String(decoding: try readBytes(path), as: UTF8.self)
    }

    /// Copies `source` to `destination` (replacing it atomically) without sharing storage that a
    /// later in-place edit could corrupt: a reflink (copy-on-write clone) where the filesystem
    /// has them, else a read/write loop.
    public static func copyFile(from source: String, to destination: String, mode: mode_t = 0o644) throws {
        try replacing(destination, from: source, mode: mode) { input, output in
            try cloneOrCopy(input: input, output: output, source: source, destination: destination)
        }
    }

    /// Opens `source`, and a new temp file beside `destination` (read-write), hands both to
    /// `write`, then sets `mode` and renames the temp over `destination`; when anything fails
    /// the temp is removed and `destination` is as it was.
    static func replacing<T>(_ destination: String, from source: String, mode: mode_t,
                             _ write: (_ input: Int32, _ output: Int32) throws -> T) throws -> T {
        try createDirectories(parent(of: destination))
        let input = open(source, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw Failure("read", source) }
        defer { close(input) }
        let temp = temporaryPath(near: destination)
        let output = open(temp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard output >= 0 else { throw Failure("write", destination) }
        var ok = false
        defer {
            if !ok { unlink(temp) }
        }
        let result: T
        do {
            result = try write(input, output)
        } catch {
            close(output)
            throw error
        }
        fchmod(output, mode)
        guard close(output) == 0 else { throw Failure("write", destination) }
        guard rename(temp, destination) == 0 else { throw Failure("rename into", destination) }
        ok = true
        return result
    }

    /// Copies all of `input` to `output`: a reflink, else `copy_file_range` in steps of `step`
    /// bytes, else read/write. `landed` hears how many bytes each step added (a reflink: the
    /// whole file at once), for a reader that follows the copy (`copyFileHashing`).
    static func cloneOrCopy(input: Int32, output: Int32, source: String, destination: String, step: Int = 1 << 30,
                            landed: (Int) -> Void = { _ in }) throws {
        #if os(Linux)
        // FICLONE = _IOW(0x94, 9, int)
        if ioctl(output, 0x4004_9409, input) == 0 {
            var st = stat()
            guard fstat(output, &st) == 0 else { throw Failure("write", destination) }
            landed(Int(st.st_size))
            return
        }
        // No reflinks (ext4): copy_file_range copies inside the kernel, without passing every byte
        // through this process (half the time of read/write on a 200 MB train.bin). It moves both
        // file offsets, so when it is refused the read/write loop below continues where it stopped.
        while true {
            let n = cspawn_copy_file_range(input, output, UInt(step))
            if n == 0 { return }
            if n < 0 {
                if errno == EINTR { continue }
                break
            }
            landed(n)
        }
        #endif
        let size = 1 << 20
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 64)
        defer { buffer.deallocate() }
        while true {
            let n = read(input, buffer, size)
            if n < 0 {
                if errno == EINTR { continue }
                throw Failure("read", source)
            }
            if n == 0 { return }
            var offset = 0
            while offset < n {
                let w = write(output, buffer + offset, n - offset)
                if w < 0 {
                    if errno == EINTR { continue }
                    throw Failure("write", destination)
                }
                offset += w
            }
            landed(n)
        }
    }

    /// `rm -rf path`; missing paths are fine.
    public static func removeTree(_ path: String) throws {
        guard let st = FileStat.of(path, followLinks: false) else { return }
        if st.isDirectory {
            for entry in try listDirectory(path) { try removeTree("\(path)/\(entry)") }
            guard rmdir(path) == 0 || errno == ENOENT else { throw Failure("remove", path) }
        } else {
            guard unlink(path) == 0 || errno == ENOENT else { throw Failure("remove", path) }
        }
    }

    /// Names in a directory, sorted (so every walk is deterministic), without `.` and `..`.
    public static func listDirectory(_ path: String) throws -> [String] {
        guard let dir = opendir(path) else { throw Failure("list", path) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// Every regular file below `root` (or `root` itself when it is a file), as paths relative to
    /// `root`'s parent-relative `prefix`, sorted. Symbolic links are followed only when they
    /// point at regular files.
    /// `beforeListing` is called with each directory just before it is listed (so a caller that
    /// records the directory's stat there can only record an mtime older than the listing).
    public static func regularFiles(under root: String, beforeListing: (String) -> Void = { _ in }) throws -> [String] {
        guard let st = FileStat.of(root) else { return [] }
        if !st.isDirectory { return st.isRegularFile ? [root] : [] }
        beforeListing(root)
        var out: [String] = []
        for name in try listDirectory(root) {
            let child = root == "." ? name : "\(root)/\(name)"
            out.append(contentsOf: try regularFiles(under: child, beforeListing: beforeListing))
        }
        return out
    }

    /// The target of the symbolic link at `path` (`readlink(2)`).
    public static func readLink(_ path: String) throws -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink(path, &buffer, buffer.count - 1)
        guard count >= 0 else { throw Failure("read the link", path) }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Sets the modification time to now (the LRU clock of the cache).
    public static func touch(_ path: String) {
        utimensat(AT_FDCWD, path, nil, 0)
    }
}
