import MLBuildCache

/// Why talking to an MLflow tracking server failed. Descriptions name the endpoint and the cause;
/// they never contain credentials (URLs are shown without userinfo, the token is never kept here).
public enum MLflowError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The exchange did not complete (refused, timed out, …).
    case transport(endpoint: String, reason: String)
    /// The server answered a non-2xx status; `message` from its error body when it had one.
    case http(endpoint: String, status: Int, message: String)
    /// A 2xx answer that is not the JSON the endpoint documents.
    case invalidResponse(endpoint: String, reason: String)
    /// The export as a whole took longer than its bound.
    case deadlineExceeded(seconds: Int)
    case invalidURL(String)
    /// The history has no such run to export.
    case noSuchRun(String)

    public var description: String {
        switch self {
        case .transport(let endpoint, let reason): return "\(endpoint): \(reason)"
        case .http(let endpoint, let status, let message):
            return message.isEmpty ? "\(endpoint): HTTP \(status)" : "\(endpoint): HTTP \(status): \(message)"
        case .invalidResponse(let endpoint, let reason): return "\(endpoint): unexpected answer (\(reason))"
        case .deadlineExceeded(let seconds): return "the export took longer than \(seconds) s"
        case .invalidURL(let message), .noSuchRun(let message): return message
        }
    }
}
