import Foundation

/// One HTTP request for `CurlHTTPClient`.
public struct CurlHTTPRequest: Sendable {
    /// A request body streamed from a file: `length` bytes from `offset` (nil: to the end).
    /// Read as it is sent, never held in memory (a 1 GiB image layer).
    public struct FileBody: Sendable, Equatable {
        public var url: URL
        public var offset: Int64
        public var length: Int64?

        public init(url: URL, offset: Int64 = 0, length: Int64? = nil) {
            self.url = url
            self.offset = offset
            self.length = length
        }
    }

    public var method: String
    public var url: URL
    /// Sent with `contentType`; nil: no body (unless `file` is set).
    public var body: Data?
    /// A body read from a file; takes the place of `body`.
    public var file: FileBody?
    public var contentType: String
    /// More header fields (`Accept`, `Content-Range`…); never secrets (they may be shown).
    public var headers: [(name: String, value: String)]
    /// A secret header for this request only (a registry's per-scope token), in place of the
    /// client's; redacted from errors like it.
    public var secretHeader: RemoteCacheHeader?

    public init(method: String, url: URL, body: Data? = nil, contentType: String = "application/json",
                headers: [(name: String, value: String)] = [], file: FileBody? = nil, secretHeader: RemoteCacheHeader? = nil) {
        self.method = method
        self.url = url
        self.body = body
        self.contentType = contentType
        self.headers = headers
        self.file = file
        self.secretHeader = secretHeader
    }
}

/// The answer to an `CurlHTTPRequest`: any status (the caller judges it), the final response's
/// header fields and the body (a body of a status other than 200 is capped at 64 KiB, kept for
/// diagnostics).
public struct CurlHTTPResponse: Sendable {
    public var status: Int
    public var body: Data
    /// Header fields in the order received.
    public var headers: [(name: String, value: String)]

    public init(status: Int, body: Data, headers: [(name: String, value: String)] = []) {
        self.status = status
        self.body = body
        self.headers = headers
    }

    /// The first field named `name` (case-insensitive, as HTTP field names are).
    public func header(_ name: String) -> String? {
        headers.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
    }
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
    /// from error messages; timeouts in seconds. `keptConnections`: idle connections kept for
    /// reuse (as many as the caller runs requests at once).
    public init(secretHeader: RemoteCacheHeader?, connectTimeout: Double = 3, requestTimeout: Double = 30,
                maxResponseBytes: Int64 = 64 << 20, keptConnections: Int = 2) {
        transport = RemoteHTTPTransport(header: secretHeader, requestTimeout: requestTimeout,
                                        connectTimeout: connectTimeout, maxConcurrentTransfers: keptConnections)
        self.maxResponseBytes = maxResponseBytes
    }

    public func send(_ request: CurlHTTPRequest) async throws -> CurlHTTPResponse {
        do {
            let body: RemoteRequestBody
            if let file = request.file {
                body = .fileRange(file.url, offset: file.offset, length: file.length)
            } else {
                body = request.body.map { RemoteRequestBody.data($0) } ?? RemoteRequestBody.none
            }
            let response = try await transport.send(
                method: request.method, url: request.url, body: body, sink: .memory,
                bodyLimit: maxResponseBytes, contentType: request.contentType, headers: request.headers,
                secretHeader: request.secretHeader)
            return CurlHTTPResponse(status: response.status, body: response.body, headers: response.headers)
        } catch let error as RemoteCacheError {
            switch error {
            case .transport(_, _, let failure): throw CurlHTTPError.transport(failure)
            case .bodyTooLarge(_, _, let limit): throw CurlHTTPError.bodyTooLarge(limit: limit)
            case .localFile(let path, let reason): throw CurlHTTPError.other("\(path): \(reason)")
            default: throw CurlHTTPError.other(error.reason)
            }
        }
    }

    /// `url` without credentials, query or fragment: safe for messages.
    public static func display(_ url: URL) -> String { RemoteCacheConfiguration.display(url) }
}
