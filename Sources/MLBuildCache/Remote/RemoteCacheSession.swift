import Foundation

/// The fault policy between the build engine and a `RemoteCache`: a sick or misconfigured
/// server never fails a build, it only stops being used.
///
/// - Before the first request, one bounded TCP connect (`RemoteCache.checkReachable`).
/// - The first transport failure (refused, timeout, reset, truncated body, 5xx after
///   retries) or auth failure (401/403) emits ONE warning and trips the breaker: every later
///   call answers "miss" / does nothing, without touching the network.
/// - A digest mismatch, or an answer larger than allowed or of another size than declared, is
///   reported (each time) but does not trip the breaker: the entry is treated as a miss and
///   rebuilt locally.
/// - A 3xx answer is a failure like a 5xx (redirects are never followed).
/// - Another 4xx on PUT (e.g. 405 from a server without WebDAV) warns once and disables
///   uploads only; on GET/HEAD it trips the breaker.
/// - Local file errors are reported and answered as a miss.
///
/// Warnings never contain the header value: they are built from `RemoteCacheError.reason`
/// and the credential-free base URL only.
///
/// Concurrency: breaker state lives in `state` (a `RemoteLockedState`, lock-protected);
/// `onWarning` is called outside the lock, from whichever task hit the failure.
public final class RemoteCacheSession: Sendable {
    public let cache: RemoteCache
    private let onWarning: @Sendable (String) -> Void
    private let state = RemoteLockedState(State())

    private struct State {
        var probe: Task<RemoteCacheError?, Never>?
        var disabledReason: String?
        var uploadsDisabled = false
    }

    public init(cache: RemoteCache, onWarning: @escaping @Sendable (String) -> Void) {
        self.cache = cache
        self.onWarning = onWarning
    }

    public convenience init(configuration: RemoteCacheConfiguration, onWarning: @escaping @Sendable (String) -> Void) {
        self.init(cache: RemoteCache(configuration: configuration), onWarning: onWarning)
    }

    /// False once the breaker has tripped.
    public var isAvailable: Bool { state.withLock { $0.disabledReason == nil } }

    /// Why the remote cache was disabled (the warning's cause), nil while available.
    public var disabledReason: String? { state.withLock { $0.disabledReason } }

    public var transferStatistics: RemoteTransferStatistics { cache.transferStatistics }

    public func contains(_ namespace: CacheNamespace, _ hex: String) async -> Bool {
        await guarded(default: false) { try await cache.contains(namespace, hex) }
    }

    /// True when `destination` now holds the verified content; false on a miss or any failure
    /// (then no file is left at `destination`).
    /// `expectedSize`: see `RemoteCache.download`.
    public func download(_ namespace: CacheNamespace, _ hex: String, to destination: URL, expectedSize: Int64? = nil) async -> Bool {
        await guarded(default: false) { try await cache.download(namespace, hex, to: destination, expectedSize: expectedSize) }
    }

    public func fetchData(_ namespace: CacheNamespace, _ hex: String, maxBytes: Int64 = RemoteCache.maxActionResultBytes) async -> Data? {
        await guarded(default: nil) { try await cache.fetchData(namespace, hex, maxBytes: maxBytes) }
    }

    public func upload(_ namespace: CacheNamespace, _ hex: String, from file: URL) async {
        guard uploadsAllowed else { return }
        await guarded(default: ()) { try await cache.upload(namespace, hex, from: file) }
    }

    public func upload(_ namespace: CacheNamespace, _ hex: String, data: Data) async {
        guard uploadsAllowed else { return }
        await guarded(default: ()) { try await cache.upload(namespace, hex, data: data) }
    }

    // MARK: - Policy

    private var uploadsAllowed: Bool {
        cache.configuration.uploadEnabled && state.withLock { !$0.uploadsDisabled }
    }

    private func guarded<T>(default fallback: T, _ operation: () async throws -> T) async -> T {
        guard await ready() else { return fallback }
        do {
            return try await operation()
        } catch let error as RemoteCacheError {
            handle(error)
        } catch {
            // Cancellation: the build is stopping; nothing to report.
        }
        return fallback
    }

    /// Runs the reachability probe once (concurrent first callers share it).
    private func ready() async -> Bool {
        let probe = state.withLock { state -> Task<RemoteCacheError?, Never>? in
            guard state.disabledReason == nil else { return nil }
            if let probe = state.probe { return probe }
            let cache = self.cache
            let probe = Task<RemoteCacheError?, Never> {
                do {
                    try await cache.checkReachable()
                    return nil
                } catch let error as RemoteCacheError {
                    return error
                } catch {
                    return nil
                }
            }
            state.probe = probe
            return probe
        }
        guard let probe else { return false }
        if let error = await probe.value {
            handle(error)
            return false
        }
        return isAvailable
    }

    private func handle(_ error: RemoteCacheError) {
        let base = cache.configuration.displayBaseURL
        switch error {
        case .digestMismatch(_, let expected, let actual):
            onWarning("warning: remote cache \(base) served a corrupt blob cas/\(expected) (content has sha256 \(actual)); ignoring it")
        case .unauthorized(_, _, let status):
            trip(reason: "HTTP \(status)",
                 warning: "warning: remote cache \(base) rejected the credentials (HTTP \(status)); continuing with the local cache")
        case .bodyTooLarge(_, let url, let limit):
            onWarning("warning: remote cache \(base) sent more than \(limit) bytes for \(Self.object(url)); ignoring it")
        case .sizeMismatch(let url, let expected, let actual):
            onWarning("warning: remote cache \(base) served \(Self.object(url)) with \(actual) bytes where its action result declares \(expected); ignoring it")
        case .transport(_, _, .timedOut):
            trip(reason: error.reason,
                 warning: "warning: remote cache \(base) unavailable (timed out: no complete answer within \(Self.seconds(cache.configuration.requestTimeout)) s, see --remote-timeout); continuing with the local cache")
        case .httpStatus(let method, let url, let status) where (400...499).contains(status) && method == "PUT":
            let first = state.withLock { state -> Bool in
                defer { state.uploadsDisabled = true }
                return !state.uploadsDisabled
            }
            // bazel-remote answers 400 to an action entry that is not a REAPI ActionResult.
            let isActionEntry = url.split(separator: "/").dropLast().last == "ac"
            let hint = status == 400 && isActionEntry
                ? " (bazel-remote must run with --disable_http_ac_validation)" : ""
            if first {
                onWarning("warning: remote cache \(base) refused an upload (HTTP \(status))\(hint); uploads disabled for this build")
            }
        case .transport, .httpStatus:
            trip(reason: error.reason,
                 warning: "warning: remote cache \(base) unavailable (\(error.reason)); continuing with the local cache")
        case .localFile, .invalidKey, .invalidConfiguration:
            onWarning("warning: \(error.description)")
        }
    }

    /// `ac/<key>` or `cas/<digest>`: the last two components of an object URL.
    static func object(_ url: String) -> String {
        url.split(separator: "/").suffix(2).joined(separator: "/")
    }

    /// 30, 2.5: seconds as people write them.
    static func seconds(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }

    private func trip(reason: String, warning: String) {
        let first = state.withLock { state -> Bool in
            guard state.disabledReason == nil else { return false }
            state.disabledReason = reason
            return true
        }
        if first { onWarning(warning) }
    }
}
