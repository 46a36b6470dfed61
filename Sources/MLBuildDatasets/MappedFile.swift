import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A private, writable memory mapping of a whole file (MAP_PRIVATE: writes, such as undoing
/// `""` escapes in place, stay in this process and never reach the file). Unmapped in deinit.
final class MappedFile {
    let buffer: UnsafeMutableBufferPointer<UInt8>
    private let length: Int

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
        let p = mmap(nil, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_POPULATE, fd, 0)
        guard let p, p != MAP_FAILED else {
            throw DatasetError.io(path: name, message: "cannot map: \(String(cString: strerror(errno)))")
        }
        buffer = UnsafeMutableBufferPointer(start: p.assumingMemoryBound(to: UInt8.self), count: length)
    }

    deinit {
        if let base = buffer.baseAddress { munmap(base, length) }
    }
}
