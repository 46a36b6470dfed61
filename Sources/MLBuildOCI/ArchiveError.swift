import CArchive
import Foundation

/// An error from libarchive or from the byte sinks/sources around it. The text always names the
/// operation and, where there is one, the archive entry or file at fault.
public struct ArchiveError: Error, CustomStringConvertible, Sendable, Equatable {
    public let message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }

    /// The one place where libarchive return codes are checked. `ARCHIVE_WARN` is treated as
    /// failure: a warning from the tar writer means an entry was not stored exactly as asked
    /// (e.g. a truncated name), which would silently break reproducibility.
    @discardableResult
    static func wrap(
        _ code: CInt, _ operation: @autoclosure () -> String, archive: OpaquePointer?,
        pending: Error? = nil
    ) throws -> CInt {
        guard code != ARCHIVE_OK, code != ARCHIVE_EOF else { return code }
        if let pending { throw pending }
        var detail = "libarchive code \(code)"
        if let archive, let text = archive_error_string(archive) {
            detail = String(cString: text)
        }
        throw ArchiveError("\(operation()): \(detail)")
    }

    /// An `errno`-based failure of a file operation on `path`.
    static func posix(_ operation: String, path: String, errno code: Int32 = errno) -> ArchiveError {
        ArchiveError("\(operation) '\(path)': \(String(cString: strerror(code)))")
    }
}
