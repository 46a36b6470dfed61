import Foundation

/// Client of an HTTP cache server (bazel-remote, nginx with WebDAV PUT, …).
///
/// Each call is one logical operation with bounded retries of transient failures
/// (`RemoteCacheError.isTransient`: resets, timeouts, truncated bodies, 5xx; never 4xx), with
/// jitter-free backoff (`RemoteCacheConfiguration.retryDelay`). Errors are thrown; the policy
/// that keeps a sick server from failing a build is `RemoteCacheSession`'s.
///
/// Concurrency: immutable apart from `statistics` (a `RemoteLockedState`, lock-protected);
/// at most `maxConcurrentTransfers` requests are in flight (`RemoteTransferLimiter`).
public final class RemoteCache: Sendable {
    /// The largest action result document accepted (a real one is a few KiB); a longer answer
    /// is stopped at this size, never buffered whole.
    public static let maxActionResultBytes: Int64 = 1 << 20

    public let configuration: RemoteCacheConfiguration
    private let transport: RemoteHTTPTransport
    private let limiter: RemoteTransferLimiter
    private let statistics = RemoteLockedState(RemoteTransferStatistics())

    public init(configuration: RemoteCacheConfiguration) {
        self.configuration = configuration
        transport = RemoteHTTPTransport(configuration: configuration)
        limiter = RemoteTransferLimiter(limit: configuration.maxConcurrentTransfers)
    }

    public var transferStatistics: RemoteTransferStatistics { statistics.withLock { $0 } }

    /// Loads libcurl, then makes a bounded TCP connect to the server (`connectTimeout`). The
    /// connect is skipped when an HTTP proxy is configured in the environment, since curl then
    /// never connects to the server directly.
    public func checkReachable() async throws {
        try RemoteHTTPTransport.loadLibrary(url: configuration.displayBaseURL)
        let environment = ProcessInfo.processInfo.environment
        if ["http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"]
            .contains(where: { environment[$0]?.isEmpty == false })
        {
            return
        }
        let url = configuration.baseURL
        guard let host = url.host else {
            throw RemoteCacheError.invalidConfiguration("remote cache URL \(configuration.displayBaseURL) has no host")
        }
        let port = url.port ?? (url.scheme?.lowercased() == "https" ? 443 : 80)
        if let failure = await RemoteConnectProbe.check(host: host, port: port, timeout: configuration.connectTimeout) {
            throw RemoteCacheError.transport(method: "CONNECT", url: configuration.displayBaseURL, failure: failure)
        }
    }

    public func contains(_ namespace: CacheNamespace, _ hex: String) async throws -> Bool {
        let url = try objectURL(namespace, hex)
        let response = try await exchange(method: "HEAD", url: url, body: .none, sink: .memory)
        switch response.status {
        case 200...299:
            count { $0.hits += 1 }
            return true
        case 404:
            count { $0.misses += 1 }
            return false
        default:
            throw failure(status: response.status, method: "HEAD", url: url)
        }
    }

    /// Downloads to `destination` (a temp path the caller owns), streaming. For `.cas` the
    /// SHA-256 is checked against `hex` while streaming; on mismatch the file is deleted and
    /// `digestMismatch` thrown. With `expectedSize` (the size an action result declares) the
    /// transfer is stopped as soon as the body exceeds it (`bodyTooLarge`), and a shorter body
    /// is `sizeMismatch`. Returns false on 404 (no file is left behind).
    public func download(_ namespace: CacheNamespace, _ hex: String, to destination: URL, expectedSize: Int64? = nil) async throws -> Bool {
        let url = try objectURL(namespace, hex)
        let response: RemoteHTTPResponse
        do {
            response = try await exchange(method: "GET", url: url, body: .none, sink: .file(destination), bodyLimit: expectedSize)
        } catch {
            try? FileManager.default.removeItem(at: destination)
            throw error
        }
        switch response.status {
        case 200:
            if let expectedSize, response.bodyBytes != expectedSize {
                try? FileManager.default.removeItem(at: destination)
                count { $0.errors += 1 }
                throw RemoteCacheError.sizeMismatch(url: RemoteCacheConfiguration.display(url), expected: expectedSize,
                                                    actual: response.bodyBytes)
            }
            if namespace == .cas, let actual = response.sha256Hex, actual != hex {
                try? FileManager.default.removeItem(at: destination)
                count { $0.errors += 1 }
                throw RemoteCacheError.digestMismatch(
                    url: RemoteCacheConfiguration.display(url), expected: hex, actual: actual)
            }
            count {
                $0.hits += 1
                $0.bytesDown += response.bodyBytes
            }
            return true
        case 404:
            try? FileManager.default.removeItem(at: destination)
            count { $0.misses += 1 }
            return false
        default:
            try? FileManager.default.removeItem(at: destination)
            throw failure(status: response.status, method: "GET", url: url)
        }
    }

    /// Fetches a small document into memory (action results). `.cas` content is verified too.
    /// A body over `maxBytes` is stopped there (`bodyTooLarge`).
    public func fetchData(_ namespace: CacheNamespace, _ hex: String, maxBytes: Int64 = RemoteCache.maxActionResultBytes) async throws -> Data? {
        let url = try objectURL(namespace, hex)
        let response = try await exchange(method: "GET", url: url, body: .none, sink: .memory, bodyLimit: maxBytes)
        switch response.status {
        case 200:
            if namespace == .cas, let actual = response.sha256Hex, actual != hex {
                count { $0.errors += 1 }
                throw RemoteCacheError.digestMismatch(
                    url: RemoteCacheConfiguration.display(url), expected: hex, actual: actual)
            }
            count {
                $0.hits += 1
                $0.bytesDown += response.bodyBytes
            }
            return response.body
        case 404:
            count { $0.misses += 1 }
            return nil
        default:
            throw failure(status: response.status, method: "GET", url: url)
        }
    }

    /// Uploads a file. For `.cas` a HEAD first skips blobs the server already has (content
    /// addressed, so equal); `.ac` entries are always written. No-op when uploads are disabled.
    /// The caller vouches that a `.cas` file's SHA-256 is `hex` (its local store verified it).
    public func upload(_ namespace: CacheNamespace, _ hex: String, from file: URL) async throws {
        try await upload(namespace, hex, body: .file(file))
    }

    public func upload(_ namespace: CacheNamespace, _ hex: String, data: Data) async throws {
        try await upload(namespace, hex, body: .data(data))
    }

    private func upload(_ namespace: CacheNamespace, _ hex: String, body: RemoteRequestBody) async throws {
        guard configuration.uploadEnabled else { return }
        let url = try objectURL(namespace, hex)
        if namespace == .cas {
            let head = try await exchange(method: "HEAD", url: url, body: .none, sink: .memory)
            switch head.status {
            case 200...299:
                count { $0.uploadsSkipped += 1 }
                return
            case 404:
                break
            default:
                throw failure(status: head.status, method: "HEAD", url: url)
            }
        }
        let response = try await exchange(method: "PUT", url: url, body: body, sink: .memory)
        guard (200...299).contains(response.status) else {
            throw failure(status: response.status, method: "PUT", url: url)
        }
        let size: Int64
        switch body {
        case .data(let data): size = Int64(data.count)
        case .file(let file):
            let attributes = try? FileManager.default.attributesOfItem(atPath: file.path)
            size = (attributes?[.size] as? NSNumber)?.int64Value ?? 0
        case .fileRange(let file, let offset, let length):
            let attributes = try? FileManager.default.attributesOfItem(atPath: file.path)
            size = length ?? max(0, ((attributes?[.size] as? NSNumber)?.int64Value ?? 0) - offset)
        case .none: size = 0
        }
        count {
            $0.uploads += 1
            $0.bytesUp += size
        }
    }

    // MARK: - Internals

    /// `<base>/<ns>/<hex>`; keys are validated so they cannot escape the namespace path.
    func objectURL(_ namespace: CacheNamespace, _ hex: String) throws -> URL {
        guard hex.utf8.count == 64, hex.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }) else {
            throw RemoteCacheError.invalidKey(namespace: namespace.rawValue, key: hex)
        }
        return configuration.baseURL.appendingPathComponent(namespace.rawValue).appendingPathComponent(hex)
    }

    /// One request with retries of transient failures (transport errors and 5xx). Redirects
    /// are not followed (a 3xx comes back as it is, and callers treat it as a failure).
    private func exchange(method: String, url: URL, body: RemoteRequestBody, sink: RemoteResponseSink,
                          bodyLimit: Int64? = nil) async throws -> RemoteHTTPResponse
    {
        var attempt = 0
        while true {
            let error: RemoteCacheError
            do {
                let response = try await limiter.withSlot {
                    try await transport.send(method: method, url: url, body: body, sink: sink, bodyLimit: bodyLimit)
                }
                guard response.status >= 500 else { return response }
                error = .httpStatus(method: method, url: RemoteCacheConfiguration.display(url), status: response.status)
            } catch let caught as RemoteCacheError {
                error = caught
            }
            guard error.isTransient, attempt < configuration.maxRetries else {
                count { $0.errors += 1 }
                throw error
            }
            count { $0.retries += 1 }
            try await Task.sleep(nanoseconds: UInt64(configuration.retryDelay(beforeRetry: attempt) * 1e9))
            attempt += 1
        }
    }

    /// The error for a final status that is neither success nor 404.
    private func failure(status: Int, method: String, url: URL) -> RemoteCacheError {
        count { $0.errors += 1 }
        let shown = RemoteCacheConfiguration.display(url)
        if status == 401 || status == 403 {
            return .unauthorized(method: method, url: shown, status: status)
        }
        return .httpStatus(method: method, url: shown, status: status)
    }

    private func count(_ update: (inout RemoteTransferStatistics) -> Void) {
        statistics.withLock(update)
    }
}
