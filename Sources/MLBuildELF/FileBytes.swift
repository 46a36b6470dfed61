#if canImport(Glibc)
import Glibc
#endif

/// Random-access reads of a file (`pread`), decoded in the file's byte order and word size, so a
/// 100 MB executable is read only where its headers are. One open descriptor; closed in `deinit`.
final class FileBytes {
    let path: String
    private let descriptor: Int32
    let size: UInt64
    var bigEndian = false

    init(path: String) throws {
        self.path = path
        descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw ELFError("cannot open '\(path)': \(String(cString: strerror(errno)))")
        }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else {
            let message = String(cString: strerror(errno))
            close(descriptor)
            throw ELFError("cannot stat '\(path)': \(message)")
        }
        size = UInt64(max(0, info.st_size))
    }

    deinit { close(descriptor) }

    /// Exactly `count` bytes at `offset`, or an error naming what was being read.
    func read(_ offset: UInt64, _ count: Int, what: String) throws -> [UInt8] {
        guard count >= 0, offset <= size, UInt64(count) <= size - offset else {
            throw ELFError("'\(path)' is truncated: its \(what) lies outside the file")
        }
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = bytes.withUnsafeMutableBytes { buffer -> Int in
                guard let base = buffer.baseAddress else { return 0 }
                return pread(descriptor, base + done, count - done, off_t(offset) + off_t(done))
            }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw ELFError("cannot read the \(what) of '\(path)'") }
            done += n
        }
        return bytes
    }

    /// An unsigned integer of `width` bytes (1, 2, 4 or 8) at `index` of `bytes`.
    func integer(_ bytes: [UInt8], at index: Int, width: Int) -> UInt64 {
        var value: UInt64 = 0
        for i in 0..<width {
            let byte = UInt64(bytes[bigEndian ? index + i : index + width - 1 - i])
            value = value << 8 | byte
        }
        return value
    }
}
