import Foundation

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A request body for `RemoteHTTPTransport.send`.
enum RemoteRequestBody: Sendable {
    case none
    case data(Data)
    case file(URL)
}

/// One URLSession (libcurl underneath on Linux) shared by all requests of a `RemoteCache`:
/// keep-alive connections are reused across blobs. No retries or policy here, only one
/// exchange per call.
final class RemoteHTTPTransport: Sendable {
    private let session: URLSession
    private let delegate: RemoteSessionDelegate
    private let header: RemoteCacheHeader?

    init(configuration: RemoteCacheConfiguration) {
        let sessionConfiguration = URLSessionConfiguration.ephemeral
        // swift-corelibs-foundation truncates the interval to whole seconds (0.5 s times out
        // at once), so round up to at least 1 s.
        sessionConfiguration.timeoutIntervalForRequest = max(1, configuration.requestTimeout.rounded(.up))
        sessionConfiguration.httpMaximumConnectionsPerHost = configuration.maxConcurrentTransfers
        sessionConfiguration.urlCache = nil
        sessionConfiguration.requestCachePolicy = .reloadIgnoringLocalCacheData
        sessionConfiguration.httpShouldSetCookies = false
        // Callbacks of one task must run in order: a serial delegate queue.
        let queue = OperationQueue()
        queue.maxConcurrentOperationCount = 1
        queue.name = "mlbuild.remote-cache.delegate"
        delegate = RemoteSessionDelegate()
        session = URLSession(configuration: sessionConfiguration, delegate: delegate, delegateQueue: queue)
        header = configuration.header
    }

    deinit {
        // URLSession retains its delegate until invalidated.
        session.finishTasksAndInvalidate()
    }

    func send(method: String, url: URL, body: RemoteRequestBody, sink: RemoteResponseSink) async throws
        -> RemoteHTTPResponse
    {
        var request = URLRequest(url: url)
        request.httpMethod = method
        request.cachePolicy = .reloadIgnoringLocalCacheData
        // Bytes as stored: a compressed answer would make Content-Length disagree with the
        // decoded byte count (and blobs are mostly incompressible anyway).
        request.setValue("identity", forHTTPHeaderField: "Accept-Encoding")
        request.setValue("mlbuild", forHTTPHeaderField: "User-Agent")
        if let header { request.setValue(header.value, forHTTPHeaderField: header.name) }
        let displayURL = RemoteCacheConfiguration.display(url)

        let task: URLSessionTask
        switch body {
        case .none:
            task = session.dataTask(with: request)
        case .data(let data):
            request.setValue("application/octet-stream", forHTTPHeaderField: "Content-Type")
            request.setValue(String(data.count), forHTTPHeaderField: "Content-Length")
            task = session.uploadTask(with: request, from: data)
        case .file(let file):
            let size: Int64
            do {
                let attributes = try FileManager.default.attributesOfItem(atPath: file.path)
                size = (attributes[.size] as? NSNumber)?.int64Value ?? 0
            } catch {
                throw RemoteCacheError.localFile(path: file.path, reason: "cannot read the file to upload")
            }
            // bazel-remote needs a Content-Length on PUT; curl would otherwise send chunked.
            request.setValue("application/octet-stream", forHTTPHeaderField: "Content-Type")
            request.setValue(String(size), forHTTPHeaderField: "Content-Length")
            task = session.uploadTask(with: request, fromFile: file)
        }

        let cancellableTask = UncheckedTask(task)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let transfer = RemoteTransfer(
                    sink: sink, method: method, displayURL: displayURL, headerValue: header?.value,
                    continuation: continuation)
                delegate.register(transfer, for: task)
                task.resume()
            }
        } onCancel: {
            cancellableTask.task.cancel()
        }
    }
}

/// URLSessionTask is thread-safe (cancel may be called from any thread) but not declared
/// Sendable on every platform.
private struct UncheckedTask: @unchecked Sendable {
    let task: URLSessionTask
    init(_ task: URLSessionTask) { self.task = task }
}
