/// Failures of the remote cache client. Descriptions name the method, the URL (without
/// credentials) and the cause; they never contain the configured header's value.
public enum RemoteCacheError: Error, Sendable, Equatable, CustomStringConvertible {
    case transport(method: String, url: String, failure: RemoteTransportFailure)
    /// A status other than 2xx/404 (5xx after retries, or an unexpected 4xx).
    case httpStatus(method: String, url: String, status: Int)
    /// 401 or 403: the credentials (header) are missing or wrong.
    case unauthorized(method: String, url: String, status: Int)
    /// A `.cas` blob whose SHA-256 is not its name; the downloaded file was deleted.
    case digestMismatch(url: String, expected: String, actual: String)
    /// A 200 answer longer than the client accepts (an action result over
    /// `RemoteCache.maxActionResultBytes`, a blob over the size its action result declares);
    /// the transfer was stopped there.
    case bodyTooLarge(method: String, url: String, limit: Int64)
    /// A blob shorter than the size its action result declares.
    case sizeMismatch(url: String, expected: Int64, actual: Int64)
    /// A key that is not 64 lowercase hex digits (would not be a valid path on the server).
    case invalidKey(namespace: String, key: String)
    case localFile(path: String, reason: String)
    case invalidConfiguration(String)

    public var description: String {
        switch self {
        case .transport(let method, let url, let failure):
            return "remote cache \(method) \(url): \(failure)"
        case .httpStatus(let method, let url, let status):
            return "remote cache \(method) \(url): \(Self.statusReason(status))"
        case .unauthorized(let method, let url, let status):
            return "remote cache \(method) \(url): HTTP \(status) (credentials rejected; check MLBUILD_REMOTE_HEADER)"
        case .digestMismatch(let url, let expected, let actual):
            return "remote cache GET \(url): content has sha256 \(actual), expected \(expected)"
        case .bodyTooLarge(let method, let url, let limit):
            return "remote cache \(method) \(url): the answer is larger than \(limit) bytes"
        case .sizeMismatch(let url, let expected, let actual):
            return "remote cache GET \(url): \(actual) bytes where the action result declares \(expected)"
        case .invalidKey(let namespace, let key):
            return "remote cache: invalid \(namespace) key '\(key.prefix(80))' (expected 64 lowercase hex digits)"
        case .localFile(let path, let reason):
            return "remote cache: \(path): \(reason)"
        case .invalidConfiguration(let message):
            return message
        }
    }

    /// The short cause used in warnings: "connection refused", "HTTP 500", …
    public var reason: String {
        switch self {
        case .transport(_, _, let failure): return failure.description
        case .httpStatus(_, _, let status): return Self.statusReason(status)
        case .unauthorized(_, _, let status): return "HTTP \(status)"
        case .digestMismatch: return "digest mismatch"
        case .bodyTooLarge(_, _, let limit): return "answer larger than \(limit) bytes"
        case .sizeMismatch(_, let expected, let actual): return "\(actual) bytes where \(expected) were declared"
        case .invalidKey: return "invalid key"
        case .localFile(_, let reason): return reason
        case .invalidConfiguration(let message): return message
        }
    }

    /// "HTTP 503"; a 3xx says that it was not followed.
    static func statusReason(_ status: Int) -> String {
        (300...399).contains(status) ? "HTTP \(status): redirects are not followed" : "HTTP \(status)"
    }

    /// Retried up to `maxRetries`: resets, timeouts, truncation and 5xx; never 4xx.
    var isTransient: Bool {
        switch self {
        case .transport(_, _, let failure): return failure.isTransient
        case .httpStatus(_, _, let status): return status >= 500
        default: return false
        }
    }
}
