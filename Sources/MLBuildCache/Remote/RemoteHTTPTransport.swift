import CCurl
import Foundation

/// A request body for `RemoteHTTPTransport.send`.
enum RemoteRequestBody: Sendable {
    case none
    case data(Data)
    case file(URL)
    /// `length` bytes of the file from `offset` (nil: to the end); one chunk of a chunked upload.
    case fileRange(URL, offset: Int64, length: Int64?)
}

/// HTTP for a `RemoteCache`: libcurl's easy interface, loaded at run time (`CCurl` dlopens
/// libcurl.so.4 on first use, so a build without a remote cache never loads it). Each request
/// is one blocking transfer on a thread of its own (never the cooperative pool); easy handles
/// are pooled, and each keeps its keep-alive connections, so connections are reused across
/// blobs. No retries or policy here, only one exchange per call.
final class RemoteHTTPTransport: Sendable {
    private let header: RemoteCacheHeader?
    private let timeoutMilliseconds: Int
    private let connectTimeoutMilliseconds: Int
    private let handles: RemoteCurlHandlePool

    convenience init(configuration: RemoteCacheConfiguration) {
        self.init(header: configuration.header, requestTimeout: configuration.requestTimeout,
                  connectTimeout: configuration.connectTimeout, maxConcurrentTransfers: configuration.maxConcurrentTransfers)
    }

    /// `header`: the one secret header of every request (its value is redacted from errors).
    init(header: RemoteCacheHeader?, requestTimeout: Double, connectTimeout: Double, maxConcurrentTransfers: Int) {
        self.header = header
        timeoutMilliseconds = Int(max(1, (min(requestTimeout, 86_400) * 1000).rounded(.up)))
        connectTimeoutMilliseconds = Int(max(1, (connectTimeout * 1000).rounded(.up)))
        handles = RemoteCurlHandlePool(capacity: maxConcurrentTransfers)
    }

    /// Loads libcurl (once per process); throws a transport failure naming the cause when it
    /// cannot be loaded, which the session reports as one warning.
    static func loadLibrary(url: String) throws {
        var buffer = [CChar](repeating: 0, count: 512)
        guard ccurl_load(&buffer, buffer.count) != 0 else { return }
        let reason = String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        throw RemoteCacheError.transport(method: "CONNECT", url: url, failure: .other(code: -1, message: reason))
    }

    /// One exchange. `bodyLimit`: the most bytes a 200 answer may carry; the transfer is
    /// stopped (`bodyTooLarge`) as soon as it announces or sends more.
    /// `contentType`: of a request body (the remote cache sends octet streams). A body with a
    /// method other than PUT (POST, PATCH) is sent as an upload under that method's name.
    /// `headers`: more request header fields (not secret). `secretHeader`: replaces the
    /// transport's secret header for this request (a registry's per-scope token); redacted too.
    func send(method: String, url: URL, body: RemoteRequestBody, sink: RemoteResponseSink, bodyLimit: Int64? = nil,
              contentType: String = "application/octet-stream", headers: [(name: String, value: String)] = [],
              secretHeader: RemoteCacheHeader? = nil) async throws
        -> RemoteHTTPResponse
    {
        let displayURL = RemoteCacheConfiguration.display(url)
        try Self.loadLibrary(url: displayURL)
        let upload: RemoteUploadSource?
        switch body {
        case .none: upload = nil
        case .data(let data): upload = RemoteUploadSource(data: data)
        case .file(let file): upload = try RemoteUploadSource(file: file)
        case .fileRange(let file, let offset, let length): upload = try RemoteUploadSource(file: file, offset: offset, length: length)
        }
        let header = secretHeader ?? self.header
        let transfer = RemoteTransfer(sink: sink, method: method, displayURL: displayURL,
                                      headerValue: header?.value, upload: upload, bodyLimit: bodyLimit)
        let request = RemoteCurlRequest(method: method, url: url.absoluteString, header: header, extraHeaders: headers.map { "\($0.name): \($0.value)" },
                                        contentType: contentType,
                                        timeoutMilliseconds: timeoutMilliseconds, connectTimeoutMilliseconds: connectTimeoutMilliseconds)
        let handles = self.handles
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let thread = Thread {
                    guard let handle = handles.checkOut() else {
                        continuation.resume(throwing: RemoteCacheError.transport(
                            method: method, url: displayURL,
                            failure: .other(code: -1, message: "curl_easy_init failed")))
                        return
                    }
                    let result = request.run(transfer, on: handle)
                    handles.checkIn(handle)
                    continuation.resume(with: result)
                }
                thread.name = "mlbuild.remote-cache"
                thread.start()
            }
        } onCancel: {
            transfer.cancel()
        }
    }
}

/// The options of one request, applied to a (reset) easy handle.
private struct RemoteCurlRequest: Sendable {
    let method: String
    let url: String
    let header: RemoteCacheHeader?
    /// `Name: value` lines, after the fixed ones (a same-named field here overrides them).
    let extraHeaders: [String]
    let contentType: String
    let timeoutMilliseconds: Int
    let connectTimeoutMilliseconds: Int

    func run(_ transfer: RemoteTransfer, on handle: OpaquePointer) -> Result<RemoteHTTPResponse, Error> {
        var lines = [
            // Bytes as stored: a compressed answer would make Content-Length disagree with
            // the decoded byte count (and blobs are mostly incompressible anyway).
            "Accept-Encoding: identity",
            "User-Agent: mlbuild",
            // No `Expect: 100-continue` round trip before a PUT body.
            "Expect:",
        ]
        if transfer.upload != nil { lines.append("Content-Type: \(contentType)") }
        // curl sends the last of two same-named fields it is given; `Accept-Encoding` and
        // `Content-Type` given here replace the fixed ones by removal instead.
        let overridden = Set(extraHeaders.compactMap { $0.split(separator: ":", maxSplits: 1).first?.lowercased() })
        lines.removeAll { line in line.split(separator: ":", maxSplits: 1).first.map { overridden.contains($0.lowercased()) } ?? false }
        lines.append(contentsOf: extraHeaders)
        if let header { lines.append("\(header.name): \(header.value)") }
        var list: OpaquePointer?
        for line in lines { list = ccurl_slist_append(list, line) }
        defer { ccurl_slist_free_all(list) }

        let context = Unmanaged.passUnretained(transfer).toOpaque()
        _ = ccurl_setopt_ptr(handle, CCURLOPT_URL, url)
        _ = ccurl_setopt_ptr(handle, CCURLOPT_PROTOCOLS_STR, "http,https")
        // Never follow a redirect: the header (a credential) and uploads go to the configured
        // origin only. A 3xx answer is a server failure (RemoteCache).
        _ = ccurl_setopt_long(handle, CCURLOPT_FOLLOWLOCATION, 0)
        _ = ccurl_setopt_ptr(handle, CCURLOPT_HTTPHEADER, UnsafeRawPointer(list))
        _ = ccurl_setopt_long(handle, CCURLOPT_NOSIGNAL, 1)
        _ = ccurl_setopt_ptr(handle, CCURLOPT_ERRORBUFFER, transfer.errorBuffer)
        _ = ccurl_setopt_long(handle, CCURLOPT_CONNECTTIMEOUT_MS, connectTimeoutMilliseconds)
        // A total deadline per request: a server that trickles a byte now and then cannot hold
        // the build (a low-speed limit would let it).
        _ = ccurl_setopt_long(handle, CCURLOPT_TIMEOUT_MS, timeoutMilliseconds)
        // Fewer, larger callbacks for big blobs.
        _ = ccurl_setopt_long(handle, CCURLOPT_BUFFERSIZE, 512 * 1024)
        _ = ccurl_setopt_long(handle, CCURLOPT_UPLOAD_BUFFERSIZE, 512 * 1024)

        _ = ccurl_setopt_ptr(handle, CCURLOPT_WRITEDATA, context)
        _ = ccurl_setopt_data_callback(handle, CCURLOPT_WRITEFUNCTION) { buffer, size, count, context in
            guard let context else { return 0 }
            let transfer = Unmanaged<RemoteTransfer>.fromOpaque(context).takeUnretainedValue()
            let length = size * count
            return transfer.receive(UnsafeRawBufferPointer(start: buffer, count: length)) ? length : 0
        }
        _ = ccurl_setopt_ptr(handle, CCURLOPT_HEADERDATA, context)
        _ = ccurl_setopt_data_callback(handle, CCURLOPT_HEADERFUNCTION) { buffer, size, count, context in
            guard let context, let buffer else { return 0 }
            let length = size * count
            Unmanaged<RemoteTransfer>.fromOpaque(context).takeUnretainedValue()
                .receiveHeader(UnsafeRawBufferPointer(start: buffer, count: length))
            return length
        }
        _ = ccurl_setopt_long(handle, CCURLOPT_NOPROGRESS, 0)
        _ = ccurl_setopt_ptr(handle, CCURLOPT_XFERINFODATA, context)
        _ = ccurl_setopt_xferinfo_callback(handle) { context, _, _, _, _ in
            guard let context else { return 0 }
            return Unmanaged<RemoteTransfer>.fromOpaque(context).takeUnretainedValue().isCancelled ? 1 : 0
        }

        switch method {
        case "HEAD":
            _ = ccurl_setopt_long(handle, CCURLOPT_NOBODY, 1)
        case "PUT", "POST", "PATCH":
            // A POST or PATCH body is uploaded as libcurl uploads a PUT's, under that method;
            // without a body the upload is empty (`Content-Length: 0`, as registries expect
            // of the POST that opens a blob upload).
            _ = ccurl_setopt_long(handle, CCURLOPT_UPLOAD, 1)
            if method != "PUT" { _ = ccurl_setopt_ptr(handle, CCURLOPT_CUSTOMREQUEST, method) }
            // A known size: Content-Length is sent (bazel-remote needs it), never chunked.
            _ = ccurl_setopt_off_t(handle, CCURLOPT_INFILESIZE_LARGE, transfer.upload?.size ?? 0)
            _ = ccurl_setopt_ptr(handle, CCURLOPT_READDATA, context)
            _ = ccurl_setopt_data_callback(handle, CCURLOPT_READFUNCTION) { buffer, size, count, context in
                guard let context, let buffer else { return Int(CCURL_READFUNC_ABORT) }
                let transfer = Unmanaged<RemoteTransfer>.fromOpaque(context).takeUnretainedValue()
                guard let source = transfer.upload else { return 0 }
                guard let read = source.read(into: UnsafeMutableRawBufferPointer(start: buffer, count: size * count)) else {
                    transfer.uploadFailed()
                    return Int(CCURL_READFUNC_ABORT)
                }
                return read
            }
            _ = ccurl_setopt_ptr(handle, CCURLOPT_SEEKDATA, context)
            _ = ccurl_setopt_seek_callback(handle) { context, offset, origin in
                guard let context, origin == SEEK_SET else { return CCURL_SEEKFUNC_CANTSEEK }
                let transfer = Unmanaged<RemoteTransfer>.fromOpaque(context).takeUnretainedValue()
                return transfer.upload?.seek(to: offset) == true ? CCURL_SEEKFUNC_OK : CCURL_SEEKFUNC_CANTSEEK
            }
        case "GET":
            break
        default:
            _ = ccurl_setopt_ptr(handle, CCURLOPT_CUSTOMREQUEST, method)
        }
        return transfer.perform(on: handle)
    }
}

/// Idle easy handles, at most `capacity` (= maxConcurrentTransfers) kept: each holds libcurl's
/// connection cache, so keeping them keeps connections alive between requests.
private final class RemoteCurlHandlePool: Sendable {
    private let capacity: Int
    private let idle = RemoteLockedState<[UncheckedHandle]>([])

    init(capacity: Int) { self.capacity = max(1, capacity) }

    deinit {
        for handle in idle.withLock({ $0 }) { ccurl_easy_cleanup(handle.pointer) }
    }

    func checkOut() -> OpaquePointer? {
        if let handle = idle.withLock({ $0.popLast() }) { return handle.pointer }
        return ccurl_easy_init()
    }

    func checkIn(_ handle: OpaquePointer) {
        ccurl_easy_reset(handle)
        let kept = idle.withLock { idle -> Bool in
            guard idle.count < capacity else { return false }
            idle.append(UncheckedHandle(pointer: handle))
            return true
        }
        if !kept { ccurl_easy_cleanup(handle) }
    }
}

/// A libcurl easy handle; used by one thread at a time (the pool hands it out exclusively).
private struct UncheckedHandle: @unchecked Sendable {
    let pointer: OpaquePointer
}
