import Crypto
import Foundation

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Where a response body goes: kept in memory (small `ac` documents, HEAD, error bodies) or
/// streamed to a file while its SHA-256 is computed (blobs; no second read pass).
enum RemoteResponseSink: Sendable {
    case memory
    case file(URL)
}

/// The outcome of one HTTP exchange that reached the server.
struct RemoteHTTPResponse: Sendable {
    var status: Int
    /// The body for `.memory` sinks, or the (capped) body of a non-200 answer.
    var body: Data
    /// Bytes of a 200 body received (written to the file for `.file` sinks).
    var bodyBytes: Int64
    /// SHA-256 of a 200 body, lowercase hex.
    var sha256Hex: String?
}

/// State of one in-flight URLSession task.
///
/// Concurrency: after `RemoteSessionDelegate.register` every mutation happens in delegate
/// callbacks, which URLSession runs on its delegate queue, made serial (one operation at a
/// time); the awaiting caller reads the result only through `continuation`, after `finish`.
/// Hence `@unchecked Sendable` without a lock.
final class RemoteTransfer: @unchecked Sendable {
    /// Error bodies are kept only for diagnostics.
    static let errorBodyLimit = 64 * 1024

    let sink: RemoteResponseSink
    let method: String
    let displayURL: String
    private let headerValue: String?
    private var continuation: CheckedContinuation<RemoteHTTPResponse, Error>?
    private var status = 0
    private var expectedLength: Int64 = -1
    private var received: Int64 = 0
    private var body = Data()
    private var file: FileHandle?
    private var hasher = SHA256()
    private var localError: RemoteCacheError?
    private var began = false

    init(sink: RemoteResponseSink, method: String, displayURL: String, headerValue: String?,
         continuation: CheckedContinuation<RemoteHTTPResponse, Error>) {
        self.sink = sink
        self.headerValue = headerValue
        self.method = method
        self.displayURL = displayURL
        self.continuation = continuation
    }

    private var isStreamingSuccess: Bool { status == 200 }

    func begin(_ response: URLResponse?) {
        guard !began else { return }
        began = true
        guard let http = response as? HTTPURLResponse else { return }
        status = http.statusCode
        expectedLength = http.expectedContentLength
        guard status == 200, case .file(let url) = sink else { return }
        // Created (or truncated, on a retry) only for a 200 so a 404 leaves no file behind.
        guard FileManager.default.createFile(atPath: url.path, contents: nil),
            let handle = FileHandle(forWritingAtPath: url.path)
        else {
            localError = .localFile(path: url.path, reason: "cannot create the download file")
            return
        }
        file = handle
    }

    func append(_ data: Data, response: URLResponse?) {
        begin(response)
        guard localError == nil else { return }
        if isStreamingSuccess {
            received += Int64(data.count)
            hasher.update(data: data)
            if let file {
                do {
                    try file.write(contentsOf: data)
                } catch {
                    localError = .localFile(path: pathDescription, reason: "write failed: \(error.localizedDescription)")
                }
            } else {
                body.append(data)
            }
        } else if body.count < Self.errorBodyLimit {
            body.append(data.prefix(Self.errorBodyLimit - body.count))
        }
    }

    func finish(_ error: Error?, response: URLResponse?) {
        begin(response)
        if let file {
            try? file.close()
            self.file = nil
        }
        guard let continuation else { return }
        self.continuation = nil
        continuation.resume(with: result(error))
    }

    private var pathDescription: String {
        if case .file(let url) = sink { return url.path }
        return "(memory)"
    }

    private func result(_ error: Error?) -> Result<RemoteHTTPResponse, Error> {
        if let localError { return .failure(localError) }
        if let error {
            let code = (error as NSError).code
            if code == NSURLErrorCancelled { return .failure(CancellationError()) }
            // libcurl's "partial file" arrives as NSURLErrorUnknown; name it by what happened
            // (a stall mid-body stays a timeout).
            if code != NSURLErrorTimedOut, isStreamingSuccess, method != "HEAD", expectedLength >= 0, received < expectedLength {
                return .failure(RemoteCacheError.transport(
                    method: method, url: displayURL,
                    failure: .truncatedBody(expected: expectedLength, received: received)))
            }
            let message = (error as NSError).userInfo[NSLocalizedDescriptionKey] as? String ?? ""
            return .failure(RemoteCacheError.transport(
                method: method, url: displayURL,
                failure: Self.failure(forURLErrorCode: code, message: redacted(message))))
        }
        guard status != 0 else {
            return .failure(RemoteCacheError.transport(
                method: method, url: displayURL, failure: .other(code: NSURLErrorBadServerResponse, message: "no response")))
        }
        // libcurl normally reports a short body itself; this catches what slips through.
        if isStreamingSuccess, method != "HEAD", expectedLength >= 0, received != expectedLength {
            return .failure(RemoteCacheError.transport(
                method: method, url: displayURL,
                failure: .truncatedBody(expected: expectedLength, received: received)))
        }
        let digest = isStreamingSuccess && method == "GET"
            ? hasher.finalize().map { String(format: "%02x", $0) }.joined() : nil
        return .success(RemoteHTTPResponse(status: status, body: body, bodyBytes: received, sha256Hex: digest))
    }

    /// libcurl's message, minus anything that looks like the secret header value (curl does
    /// not echo request headers in errors; this keeps it that way should that change).
    private func redacted(_ message: String) -> String {
        guard let secret = headerValue, !secret.isEmpty else { return message }
        return message.replacingOccurrences(of: secret, with: "<redacted>")
    }

    /// Maps URLSession's codes. On Linux many libcurl failures arrive as NSURLErrorUnknown
    /// with curl's message (e.g. a reset during recv when errno was not captured).
    static func failure(forURLErrorCode code: Int, message: String) -> RemoteTransportFailure {
        switch code {
        case NSURLErrorCannotConnectToHost: return .connectionRefused
        case NSURLErrorCannotFindHost, NSURLErrorDNSLookupFailed: return .hostNotFound
        case NSURLErrorTimedOut: return .timedOut
        // "Failed to connect" here is a connect that failed other than by refusal (e.g. reset
        // during the handshake): a flaky server, worth a retry.
        case NSURLErrorNetworkConnectionLost, NSURLErrorNotConnectedToInternet, NSURLErrorBadServerResponse:
            return .connectionLost
        default:
            let lowered = message.lowercased()
            if ["connection reset", "recv failure", "send failure", "empty reply", "connection died", "failed to connect"]
                .contains(where: { lowered.contains($0) })
            {
                return .connectionLost
            }
            return .other(code: code, message: message)
        }
    }
}
