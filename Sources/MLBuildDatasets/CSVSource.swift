import Foundation
import MLBuildBasics
#if canImport(Glibc)
import Glibc
#endif

/// A CSV table (RFC 4180): comma separator, double-quoted fields that may hold commas, `""`
/// and newlines, CRLF or LF line ends, an optional UTF-8 byte-order mark, and a header row.
///
/// Leniencies, chosen to match what spreadsheets write: blank lines are skipped; a quote inside
/// an unquoted field is literal data; the last record may lack a line end. Errors: a record
/// with a different field count than the header, an unterminated quoted field, and text after
/// a closing quote, each reported as `path:line: message`.
///
/// A file is mapped (pages dropped once consumed) and tokenized in chunks, in parallel when the
/// work budget has threads to spare (`CSVParser`); escaped quotes are undone in place so every
/// field is a plain byte range of that buffer.
public struct CSVSource: TableSource {
    public let name: String
    private let storage: Storage
    /// The parse's chunk size (`CSVParser.defaultChunkBytes`); tests make it tiny so that chunk
    /// boundaries fall inside quoted fields.
    var chunkBytes = CSVParser.defaultChunkBytes

    private enum Storage: Sendable {
        case file(URL)
        case bytes([UInt8])
    }

    /// A CSV file; `name` (for messages) defaults to the path.
    public init(url: URL, name: String? = nil) {
        self.name = name ?? url.path
        self.storage = .file(url)
    }

    /// CSV text in memory (tests, stdin).
    public init(name: String, bytes: [UInt8]) {
        self.name = name
        self.storage = .bytes(bytes)
    }

    public init(name: String, text: String) {
        self.init(name: name, bytes: Array(text.utf8))
    }

    public func scan(header: ([String]) throws -> Void, batch: (RecordBatch) throws -> Void, end: () throws -> Void) throws {
        func run(_ buf: UnsafeMutableBufferPointer<UInt8>, release: ((Int) -> Void)? = nil) throws {
            do {
                try CSVParser(buffer: buf, name: name, release: release, chunkBytes: chunkBytes).run(header: header, batch: batch)
            } catch {
                try? end()
                throw error
            }
            try end()
        }
        switch storage {
        case .bytes(let b):
            var copy = b
            try copy.withUnsafeMutableBufferPointer { try run($0) }
        case .file(let url):
            let mapped = try MappedFile(url: url, name: name)
            try withExtendedLifetime(mapped) { try run(mapped.buffer, release: { mapped.release(before: $0) }) }
        }
    }

    /// Reads a whole file with read(2) into an array sized by fstat (no Data copy).
    static func readAll(_ url: URL, name: String) throws -> [UInt8] {
        let fd = open(url.path, O_RDONLY)
        if fd < 0 {
            throw DatasetError.io(path: name, message: "cannot open: \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            throw DatasetError.io(path: name, message: "cannot stat: \(String(cString: strerror(errno)))")
        }
        let size = Int(st.st_size)
        var failure: Int32 = 0
        var bytes = [UInt8](unsafeUninitializedCapacity: size) { buf, initialized in
            LargeArray.advise(UnsafeMutableRawBufferPointer(buf))
            var done = 0
            while done < size, let start = buf.baseAddress {
                let n = read(fd, start + done, size - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    break
                }
                if n == 0 { break }
                done += n
            }
            initialized = done
        }
        if failure != 0 {
            throw DatasetError.io(path: name, message: "read failed: \(String(cString: strerror(failure)))")
        }
        // A file that grew while we read: take the rest too.
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, 65536) }
            if n <= 0 { break }
            bytes.append(contentsOf: chunk[0 ..< n])
        }
        return bytes
    }
}
