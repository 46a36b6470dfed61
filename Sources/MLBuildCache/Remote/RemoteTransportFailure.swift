import Foundation

/// Why an HTTP exchange with the remote cache did not complete.
public enum RemoteTransportFailure: Sendable, Equatable, CustomStringConvertible {
    case connectionRefused
    case hostNotFound
    case timedOut
    case connectionLost
    /// The body ended before its Content-Length.
    case truncatedBody(expected: Int64, received: Int64)
    /// Another libcurl failure: its CURLcode and message (-1: libcurl could not be loaded).
    case other(code: Int, message: String)
    /// A socket error of the reachability probe.
    case socket(errno: Int32)

    public var description: String {
        switch self {
        case .connectionRefused: return "connection refused"
        case .hostNotFound: return "host not found"
        case .timedOut: return "timed out"
        case .connectionLost: return "connection lost"
        case .truncatedBody(let expected, let received):
            return "truncated body: \(received) of \(expected) bytes"
        case .other(let code, let message):
            return message.isEmpty ? "network error \(code)" : "network error \(code): \(message)"
        case .socket(let number): return "socket error \(number) (\(String(cString: strerror(number))))"
        }
    }

    /// Worth another attempt: a refused connection or unknown host is not (it answers at once
    /// and the same way, and retrying only delays the fallback to the local cache).
    var isTransient: Bool {
        switch self {
        case .connectionRefused, .hostNotFound, .socket: return false
        case .timedOut, .connectionLost, .truncatedBody, .other: return true
        }
    }
}
