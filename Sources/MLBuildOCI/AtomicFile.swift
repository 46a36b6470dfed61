import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Temp-file-plus-rename in the destination's directory, so readers never see a partial file.
enum AtomicFile {
    static func temporaryURL(for url: URL) -> URL {
        url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
    }

    static func write(_ bytes: [UInt8], to url: URL) throws {
        let temp = temporaryURL(for: url)
        do {
            let sink = try FileSink(url: temp)
            try bytes.withUnsafeBytes { try sink.write($0) }
            try sink.close()
            try commit(temp, to: url)
        } catch {
            unlink(temp.path)
            throw error
        }
    }

    static func commit(_ temp: URL, to url: URL) throws {
        guard rename(temp.path, url.path) == 0 else {
            throw ArchiveError.posix("cannot rename '\(temp.lastPathComponent)' to", path: url.path)
        }
    }
}
