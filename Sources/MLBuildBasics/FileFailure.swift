#if canImport(Glibc)
import Glibc
#endif

/// A failed file operation, said the one way every module says it:
/// `cannot OPERATION 'PATH': REASON` (REASON from errno).
public struct FileFailure: Error, CustomStringConvertible, Sendable {
    public var path: String
    public var operation: String
    public var reason: String
    public var description: String { "cannot \(operation) '\(path)': \(reason)" }

    public init(_ operation: String, _ path: String, errno code: Int32 = errno) {
        self.operation = operation
        self.path = path
        reason = String(cString: strerror(code))
    }

    public init(_ operation: String, _ path: String, reason: String) {
        self.operation = operation
        self.path = path
        self.reason = reason
    }
}
