import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A private, writable memory mapping of a whole file (MAP_PRIVATE: writes, such as undoing
/// `""` escapes in place, stay in this process and never reach the file). Unmapped in deinit.
///
/// Not pre-populated: MAP_POPULATE on a writable private mapping copies every page (it breaks
/// copy-on-write up front), doubling memory and costing a pass over the file. Pages are faulted
/// in as the tokenizer reads them and handed back with `release(before:)` once consumed.
final class MappedFile {
    let buffer: UnsafeMutableBufferPointer<UInt8>
    private let length: Int
    /// Bytes before this offset have been released (page-aligned).
    private var released = 0

    init(url: URL, name: String) throws {
        let fd = open(url.path, O_RDONLY)
        if fd < 0 {
            throw DatasetError.io(path: name, message: "cannot open: \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            throw DatasetError.io(path: name, message: "cannot stat: \(String(cString: strerror(errno)))")
        }
        length = Int(st.st_size)
        if length == 0 {
            buffer = UnsafeMutableBufferPointer(start: nil, count: 0)
            return
        }
        let p = mmap(nil, length, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0)
        guard let p, p != MAP_FAILED else {
            throw DatasetError.io(path: name, message: "cannot map: \(String(cString: strerror(errno)))")
        }
        _ = madvise(p, length, MADV_SEQUENTIAL)
        _ = madvise(p, length, MADV_WILLNEED)
        buffer = UnsafeMutableBufferPointer(start: p.assumingMemoryBound(to: UInt8.self), count: length)
    }

    /// Drops the pages wholly before `offset` from this process (the file is untouched; a page
    /// that an in-place unescape wrote is discarded). Nothing may read those bytes afterwards.
    /// Called every few MiB, so the mapping's resident size stays a window, not the file.
    func release(before offset: Int) {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let end = min(offset, length) / page * page
        guard end - released >= Self.releaseStep, let base = buffer.baseAddress else { return }
        _ = madvise(base + released, end - released, MADV_DONTNEED)
        released = end
    }

    private static let releaseStep = 8 << 20

    deinit {
        if let base = buffer.baseAddress { munmap(base, length) }
    }
}
