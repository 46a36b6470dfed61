import Foundation

/// One HTTP request for `CurlHTTPClient`.
public struct CurlHTTPRequest: Sendable {
    public var method: String
    public var url: URL
    /// Sent with `contentType`; nil: no body.
    public var body: Data?
    public var contentType: String

    public init(method: String, url: URL, body: Data? = nil, contentType: String = "application/json") {
        self.method = method
        self.url = url
        self.body = body
        self.contentType = contentType
    }
}

/// The answer to an `CurlHTTPRequest`: any status (the caller judges it) and the body (a non-2xx
/// body is capped at 64 KiB, kept for diagnostics).
public struct CurlHTTPResponse: Sendable {
    public var status: Int
    public var body: Data
}

/// Why an `CurlHTTPClient` exchange did not complete. Descriptions never contain the secret header.
public enum CurlHTTPError: Error, Sendable, Equatable, CustomStringConvertible {
    case transport(RemoteTransportFailure)
    case bodyTooLarge(limit: Int64)
    case other(String)

    public var description: String {
        switch self {
        case .transport(let failure): return failure.description
        case .bodyTooLarge(let limit): return "the answer is larger than \(limit) bytes"
        case .other(let message): return message
        }
    }
}

/// A small general HTTP client over the remote cache's libcurl transport (libcurl is dlopened on
/// the first request): one exchange per call, no retries, redirects never followed, bounded
/// connect and per-request timeouts. For clients of other HTTP services (the MLflow export).
public final class CurlHTTPClient: Sendable {
    private let transport: RemoteHTTPTransport
    private let maxResponseBytes: Int64

    /// `secretHeader` (e.g. `Authorization: Bearer …`) goes with every request and is redacted
    /// from error messages; timeouts in seconds.
    public init(secretHeader: RemoteCacheHeader?, connectTimeout: Double = 3, requestTimeout: Double = 30,
                maxResponseBytes: Int64 = 64 << 20) {
        transport = RemoteHTTPTransport(header: secretHeader, requestTimeout: requestTimeout,
                                        connectTimeout: connectTimeout, maxConcurrentTransfers: 2)
        self.maxResponseBytes = maxResponseBytes
    }

    public func send(_ request: CurlHTTPRequest) async throws -> CurlHTTPResponse {
        do {
            let response = try await transport.send(
                method: request.method, url: request.url, body: request.body.map { RemoteRequestBody.data($0) } ?? RemoteRequestBody.none, sink: .memory,
                bodyLimit: maxResponseBytes, contentType: request.contentType)
            return CurlHTTPResponse(status: response.status, body: response.body)
        } catch let error as RemoteCacheError {
            switch error {
            case .transport(_, _, let failure): throw CurlHTTPError.transport(failure)
            case .bodyTooLarge(_, _, let limit): throw CurlHTTPError.bodyTooLarge(limit: limit)
            default: throw CurlHTTPError.other(error.reason)
            }
        }
    }

    /// `url` without credentials, query or fragment: safe for messages.
    public static func display(_ url: URL) -> String { RemoteCacheConfiguration.display(url) }
}
