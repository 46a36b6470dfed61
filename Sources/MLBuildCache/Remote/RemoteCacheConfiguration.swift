import Foundation

/// Settings of the HTTP remote cache client (`--remote-cache URL`, `MLBUILD_REMOTE_CACHE`,
/// `MLBUILD_REMOTE_HEADER`, `--remote-upload=false`).
///
/// Wire protocol (that of bazel-remote and Bazel's `--remote_cache=http://…`):
/// `GET`/`HEAD`/`PUT <baseURL>/cas/<sha256hex>` for blobs and `<baseURL>/ac/<sha256hex>` for
/// action results; 404 is a miss, any 2xx on PUT is success. Any server that stores PUT bodies
/// under their path works (bazel-remote with AC validation off, nginx with `dav_methods PUT`).
public struct RemoteCacheConfiguration: Sendable, CustomStringConvertible {
    public var baseURL: URL
    public var header: RemoteCacheHeader?
    /// false → read-only: uploads are no-ops (forks, untrusted CI jobs).
    public var uploadEnabled: Bool
    /// The total deadline of each request, connect and body included (CURLOPT_TIMEOUT_MS;
    /// `--remote-timeout`, `MLBUILD_REMOTE_TIMEOUT`): a server that trickles bytes cannot hold
    /// a build longer than this per attempt. Raise it for blobs that take longer to transfer.
    public var requestTimeout: Double
    /// Bound on each TCP connect: the reachability probe's (`RemoteCache.checkReachable`) and
    /// every request's (CURLOPT_CONNECTTIMEOUT_MS).
    public var connectTimeout: Double
    /// Extra attempts after a transient failure (reset, timeout, 5xx, truncated body).
    public var maxRetries: Int
    public var maxConcurrentTransfers: Int

    public init(
        baseURL: URL,
        header: RemoteCacheHeader? = nil,
        uploadEnabled: Bool = true,
        requestTimeout: Double = 30,
        connectTimeout: Double = 5,
        maxRetries: Int = 2,
        maxConcurrentTransfers: Int = 8
    ) {
        self.baseURL = baseURL
        self.header = header
        self.uploadEnabled = uploadEnabled
        self.requestTimeout = requestTimeout
        self.connectTimeout = connectTimeout
        self.maxRetries = max(0, maxRetries)
        self.maxConcurrentTransfers = max(1, maxConcurrentTransfers)
    }

    /// Backoff before retry number `attempt` (0-based): 100 ms, 400 ms, 1.6 s …
    /// No jitter, so logs and timings of a failing build are reproducible.
    public func retryDelay(beforeRetry attempt: Int) -> Double {
        0.1 * pow(4, Double(max(0, attempt)))
    }

    /// The base URL as shown to people: no user/password, no query, no trailing slash.
    public var displayBaseURL: String { RemoteCacheConfiguration.display(baseURL) }

    public var description: String {
        "RemoteCacheConfiguration(\(displayBaseURL), header: \(header.map { "\($0)" } ?? "none"), "
            + "upload: \(uploadEnabled), timeout: \(requestTimeout)s, retries: \(maxRetries), "
            + "transfers: \(maxConcurrentTransfers))"
    }

    /// Parses `--remote-cache` / `MLBUILD_REMOTE_CACHE`: an absolute http(s) URL with a host.
    /// Credentials in the URL are accepted (curl sends them) but never echoed in errors.
    public static func parseBaseURL(_ text: String) throws -> URL {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard let components = URLComponents(string: trimmed),
            let scheme = components.scheme?.lowercased(),
            scheme == "http" || scheme == "https",
            let host = components.host, !host.isEmpty,
            let url = components.url
        else {
            var shown = URLComponents(string: trimmed)
            shown?.user = nil
            shown?.password = nil
            let echo = shown?.string ?? "(unparsable)"
            throw RemoteCacheError.invalidConfiguration(
                "remote cache URL '\(echo)' is not an absolute http:// or https:// URL with a host")
        }
        return url
    }

    /// Parses `Name: value` (as in `MLBUILD_REMOTE_HEADER`). Whitespace around both parts is
    /// trimmed. Errors never quote any part of the text, not even the name: when the text is
    /// malformed there is no telling which part is the token (`Bearer abc:def` without its
    /// `Authorization:` has the token in the "name").
    public static func parseHeader(_ text: String) throws -> RemoteCacheHeader {
        guard let colon = text.firstIndex(of: ":") else {
            throw RemoteCacheError.invalidConfiguration(
                "remote cache header: expected 'Name: value' (no ':' found)")
        }
        let name = text[..<colon].trimmingCharacters(in: .whitespaces)
        // Trailing newlines are common in secrets (`echo "…" > file`, CI variables).
        let value = text[text.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines)
        guard !name.isEmpty else {
            throw RemoteCacheError.invalidConfiguration("remote cache header: empty header name before ':'")
        }
        // RFC 9110 token characters; anything else would corrupt the request line.
        let tokenExtras = Set("!#$%&'*+-.^_`|~")
        if name.contains(where: { !($0.isASCII && ($0.isLetter || $0.isNumber || tokenExtras.contains($0))) }) {
            throw RemoteCacheError.invalidConfiguration(
                "remote cache header: the name before the first ':' has a character not allowed in a header name "
                    + "(expected 'Name: value', e.g. 'Authorization: Bearer …'; the text is not shown)")
        }
        guard !value.isEmpty else {
            throw RemoteCacheError.invalidConfiguration("remote cache header: empty value after ':'")
        }
        // Scalars, not Characters: "\r\n" is one Character and would slip past a Character test.
        // RFC 9110 field values: visible characters, space and tab.
        guard !value.unicodeScalars.contains(where: { ($0.value < 0x20 && $0 != "\t") || $0.value == 0x7f }) else {
            throw RemoteCacheError.invalidConfiguration(
                "remote cache header: the value contains a line break, NUL or another control character")
        }
        return RemoteCacheHeader(name: name, value: value)
    }

    /// Reads the header from a file (a CI secret mounted as a file): the first non-empty line.
    public static func readHeader(fromFile file: URL) throws -> RemoteCacheHeader {
        let data: Data
        do {
            data = try Data(contentsOf: file)
        } catch {
            throw RemoteCacheError.localFile(path: file.path, reason: "cannot read the header file")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw RemoteCacheError.invalidConfiguration("remote cache header file \(file.path): not UTF-8")
        }
        let line = text.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" })
            .first(where: { !$0.trimmingCharacters(in: .whitespaces).isEmpty })
        guard let line else {
            throw RemoteCacheError.invalidConfiguration("remote cache header file \(file.path): empty")
        }
        do {
            return try parseHeader(String(line))
        } catch let error as RemoteCacheError {
            throw RemoteCacheError.invalidConfiguration("\(file.path): \(error.description)")
        }
    }

    static func display(_ url: URL) -> String {
        guard var components = URLComponents(url: url, resolvingAgainstBaseURL: false) else {
            return "(invalid URL)"
        }
        components.user = nil
        components.password = nil
        components.query = nil
        components.fragment = nil
        var text = components.string ?? "(invalid URL)"
        while text.hasSuffix("/") { text.removeLast() }
        return text
    }
}
