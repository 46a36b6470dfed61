import CCurl
import Crypto
import Foundation
import MLBuildCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
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
    /// The final response's header fields in order (name as sent, value trimmed).
    var headers: [(name: String, value: String)] = []
}

/// Where a PUT body comes from: bytes in memory or an open file (or a byte range of one, for
/// chunked uploads), read by libcurl's read callback (and rewound by its seek callback when
/// libcurl resends on a fresh connection). A file is never read whole into memory.
final class RemoteUploadSource {
    let size: Int64
    private let data: Data?
    private let descriptor: Int32
    /// Where the body starts in the file (0 for data).
    private let start: Int64
    private var offset: Int64 = 0

    init(data: Data) {
        self.data = data
        descriptor = -1
        start = 0
        size = Int64(data.count)
    }

    /// Opens `file` for reading: the whole file, or `length` bytes from `offset`; throws
    /// `localFile` when it cannot be opened or stat'ed, or is shorter than the range.
    init(file: URL, offset: Int64 = 0, length: Int64? = nil) throws {
        let descriptor = open(file.path, O_RDONLY | O_CLOEXEC)
        var info = stat()
        guard descriptor >= 0, fstat(descriptor, &info) == 0 else {
            if descriptor >= 0 { close(descriptor) }
            throw RemoteCacheError.localFile(path: file.path, reason: "cannot read the file to upload")
        }
        let fileSize = Int64(info.st_size)
        let length = length ?? fileSize - offset
        guard offset >= 0, length >= 0, offset + length <= fileSize,
              offset == 0 || lseek(descriptor, off_t(offset), SEEK_SET) == off_t(offset)
        else {
            close(descriptor)
            throw RemoteCacheError.localFile(path: file.path, reason: "the file is shorter than the range to upload")
        }
        self.descriptor = descriptor
        data = nil
        start = offset
        size = length
    }

    deinit {
        if descriptor >= 0 { close(descriptor) }
    }

    /// Bytes copied into `buffer`, 0 at the end, nil on a read error.
    func read(into buffer: UnsafeMutableRawBufferPointer) -> Int? {
        guard let base = buffer.baseAddress, !buffer.isEmpty else { return 0 }
        if let data {
            let count = min(buffer.count, Int(size - offset))
            guard count > 0 else { return 0 }
            let start = Int(offset)
            data.withUnsafeBytes { bytes in
                guard let source = bytes.baseAddress else { return }
                base.copyMemory(from: source + start, byteCount: count)
            }
            offset += Int64(count)
            return count
        }
        let wanted = min(buffer.count, Int(size - offset))
        guard wanted > 0 else { return 0 }
        while true {
            let count = posixRead(descriptor, base, wanted)
            if count >= 0 {
                offset += Int64(count)
                return count
            }
            if errno != EINTR { return nil }
        }
    }

    /// Moves to absolute `position`; false when impossible.
    func seek(to position: Int64) -> Bool {
        guard position >= 0, position <= size else { return false }
        if data == nil, lseek(descriptor, off_t(start + position), SEEK_SET) < 0 { return false }
        offset = position
        return true
    }
}

/// `read(2)`, named apart from `RemoteUploadSource.read(into:)`.
private func posixRead(_ descriptor: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int {
    read(descriptor, buffer, count)
}

/// State of one libcurl transfer.
///
/// Concurrency: every mutation happens on the transfer's own thread, inside
/// `ccurl_easy_perform` (its callbacks) or right after it in `result(code:)`; the awaiting
/// caller only receives the value `result` builds, through a continuation resumed after it.
/// `cancelled`, set from the cancellation handler, is the one cross-thread field and is
/// lock-protected. Hence `@unchecked Sendable`.
final class RemoteTransfer: @unchecked Sendable {
    /// Error bodies are kept only for diagnostics.
    static let errorBodyLimit = 64 * 1024

    let sink: RemoteResponseSink
    let method: String
    let displayURL: String
    let upload: RemoteUploadSource?
    /// CURLOPT_ERRORBUFFER: libcurl's detailed message for a failed transfer.
    let errorBuffer: UnsafeMutablePointer<CChar>
    private let headerValue: String?
    /// The most bytes a 200 body may have (nil: unbounded).
    private let bodyLimit: Int64?
    private let cancelled = RemoteLockedState(false)
    private var handle: OpaquePointer?
    private var status = 0
    private var expectedLength: Int64 = -1
    private var received: Int64 = 0
    private var body = Data()
    private var descriptor: Int32 = -1
    private var hasher = SHA256()
    private var localError: RemoteCacheError?
    private var began = false
    private var headers: [(name: String, value: String)] = []

    init(sink: RemoteResponseSink, method: String, displayURL: String, headerValue: String?,
         upload: RemoteUploadSource?, bodyLimit: Int64? = nil) {
        self.bodyLimit = bodyLimit
        self.sink = sink
        self.method = method
        self.displayURL = displayURL
        self.headerValue = headerValue
        self.upload = upload
        errorBuffer = .allocate(capacity: Int(CCURL_ERROR_SIZE))
        errorBuffer.initialize(repeating: 0, count: Int(CCURL_ERROR_SIZE))
    }

    deinit {
        closeFile()
        errorBuffer.deallocate()
    }

    func cancel() { cancelled.withLock { $0 = true } }

    var isCancelled: Bool { cancelled.withLock { $0 } }

    /// Runs the transfer on the calling thread with `handle` (options already set, except the
    /// callbacks' context, which is this object).
    func perform(on handle: OpaquePointer) -> Result<RemoteHTTPResponse, Error> {
        self.handle = handle
        defer { self.handle = nil }
        guard !isCancelled else { return .failure(CancellationError()) }
        let code = ccurl_easy_perform(handle)
        return result(code: code)
    }

    private var isStreamingSuccess: Bool { status == 200 }

    /// Reads the status and Content-Length of the final response (after redirects).
    private func readResponseInfo() {
        guard !began, let handle else { return }
        began = true
        var code = 0
        if ccurl_getinfo_response_code(handle, &code) == CCURLE_OK { status = code }
        var length: Int64 = -1
        if ccurl_getinfo_content_length(handle, &length) == CCURLE_OK { expectedLength = length }
        if status == 200, let bodyLimit, expectedLength > bodyLimit {
            // Announced too large: stopped before a byte is kept.
            localError = .bodyTooLarge(method: method, url: displayURL, limit: bodyLimit)
            return
        }
        guard status == 200, case .file(let url) = sink else { return }
        // Created (or truncated, on a retry) only for a 200 so a 404 leaves no file behind.
        let opened = open(url.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard opened >= 0 else {
            localError = .localFile(path: url.path, reason: "cannot create the download file")
            return
        }
        descriptor = opened
    }

    /// The write callback: false aborts the transfer (a local error).
    func receive(_ bytes: UnsafeRawBufferPointer) -> Bool {
        readResponseInfo()
        guard localError == nil else { return false }
        if isStreamingSuccess {
            if let bodyLimit, received + Int64(bytes.count) > bodyLimit {
                localError = .bodyTooLarge(method: method, url: displayURL, limit: bodyLimit)
                return false
            }
            received += Int64(bytes.count)
            hasher.update(bufferPointer: bytes)
            if descriptor >= 0 {
                guard writeAll(bytes) else { return false }
            } else {
                body.append(contentsOf: bytes)
            }
        } else if body.count < Self.errorBodyLimit {
            body.append(contentsOf: bytes.prefix(Self.errorBodyLimit - body.count))
        }
        return true
    }

    private func writeAll(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard var cursor = bytes.baseAddress else { return true }
        var remaining = bytes.count
        while remaining > 0 {
            let written = write(descriptor, cursor, remaining)
            if written < 0 {
                if errno == EINTR { continue }
                localError = .localFile(path: pathDescription, reason: "write failed: \(String(cString: strerror(errno)))")
                return false
            }
            cursor += written
            remaining -= written
        }
        return true
    }

    private func closeFile() {
        if descriptor >= 0 {
            close(descriptor)
            descriptor = -1
        }
    }

    /// The header callback: one raw header line. A status line starts a new response (after a
    /// 1xx answer), so only the final response's fields are kept.
    func receiveHeader(_ bytes: UnsafeRawBufferPointer) {
        let line = String(decoding: bytes, as: UTF8.self)
        if line.hasPrefix("HTTP/") {
            headers.removeAll()
            return
        }
        guard let colon = line.firstIndex(of: ":") else { return }
        let name = line[..<colon].trimmingCharacters(in: .whitespaces)
        let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines)
        guard !name.isEmpty, headers.count < 200 else { return }
        headers.append((name, value))
    }

    /// The read callback's error path: remembered so the result names the file.
    func uploadFailed() {
        localError = .localFile(path: pathDescription, reason: "read failed while uploading")
    }

    private var pathDescription: String {
        if case .file(let url) = sink { return url.path }
        return "(memory)"
    }

    private func result(code: Int32) -> Result<RemoteHTTPResponse, Error> {
        readResponseInfo()
        closeFile()
        if let localError { return .failure(localError) }
        if code == CCURLE_ABORTED_BY_CALLBACK, isCancelled { return .failure(CancellationError()) }
        if code != CCURLE_OK {
            // A body cut short is named by what happened (a stall mid-body stays a timeout).
            if code != CCURLE_OPERATION_TIMEDOUT, isStreamingSuccess, method != "HEAD", expectedLength >= 0,
                received < expectedLength
            {
                return .failure(RemoteCacheError.transport(
                    method: method, url: displayURL,
                    failure: .truncatedBody(expected: expectedLength, received: received)))
            }
            var osErrno = 0
            if let handle { _ = ccurl_getinfo_os_errno(handle, &osErrno) }
            let detail = String(cString: errorBuffer)
            let message = detail.isEmpty ? String(cString: ccurl_easy_strerror(code)) : detail
            return .failure(RemoteCacheError.transport(
                method: method, url: displayURL,
                failure: Self.failure(forCurlCode: code, osErrno: Int32(truncatingIfNeeded: osErrno),
                                      message: redacted(message))))
        }
        guard status != 0 else {
            return .failure(RemoteCacheError.transport(method: method, url: displayURL, failure: .connectionLost))
        }
        // libcurl reports a short body itself; this catches what slips through.
        if isStreamingSuccess, method != "HEAD", expectedLength >= 0, received != expectedLength {
            return .failure(RemoteCacheError.transport(
                method: method, url: displayURL,
                failure: .truncatedBody(expected: expectedLength, received: received)))
        }
        let digest = isStreamingSuccess && method == "GET"
            ? hasher.finalize().map { String(format: "%02x", $0) }.joined() : nil
        return .success(RemoteHTTPResponse(status: status, body: body, bodyBytes: received, sha256Hex: digest, headers: headers))
    }

    /// libcurl's message, minus anything that looks like the secret header value (curl does
    /// not echo request headers in errors; this keeps it that way should that change).
    private func redacted(_ message: String) -> String {
        guard let secret = headerValue, !secret.isEmpty else { return message }
        return SecretMasker([secret], replacement: "<redacted>").mask(message)
    }

    /// Maps a failed transfer's CURLcode (and the OS errno libcurl saw).
    static func failure(forCurlCode code: Int32, osErrno: Int32, message: String) -> RemoteTransportFailure {
        switch code {
        case CCURLE_COULDNT_CONNECT:
            // A connect reset during the handshake is a flaky server, worth a retry.
            return osErrno == ECONNRESET ? .connectionLost : .connectionRefused
        case CCURLE_COULDNT_RESOLVE_HOST, CCURLE_COULDNT_RESOLVE_PROXY: return .hostNotFound
        case CCURLE_OPERATION_TIMEDOUT: return .timedOut
        case CCURLE_SEND_ERROR, CCURLE_RECV_ERROR, CCURLE_GOT_NOTHING, CCURLE_PARTIAL_FILE: return .connectionLost
        default: return .other(code: Int(code), message: message)
        }
    }
}
