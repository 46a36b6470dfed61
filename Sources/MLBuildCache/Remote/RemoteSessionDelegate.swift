import Foundation

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The one delegate of the remote cache's URLSession: routes each task's callbacks to its
/// `RemoteTransfer` by task identifier. A delegate (rather than `data(for:)`/`download(for:)`)
/// lets blobs stream to their destination while being hashed, which on Linux is also faster
/// than `download(for:)` (no temp file and copy) and much faster than `data(for:)`.
final class RemoteSessionDelegate: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    /// Guards the task-id → transfer map (callbacks and registrations run on different threads).
    private let transfers = RemoteLockedState<[Int: RemoteTransfer]>([:])

    func register(_ transfer: RemoteTransfer, for task: URLSessionTask) {
        transfers.withLock { $0[task.taskIdentifier] = transfer }
    }

    private func transfer(for task: URLSessionTask) -> RemoteTransfer? {
        transfers.withLock { $0[task.taskIdentifier] }
    }

    func urlSession(
        _ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
        completionHandler: @escaping (URLSession.ResponseDisposition) -> Void
    ) {
        transfer(for: dataTask)?.begin(response)
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        transfer(for: dataTask)?.append(data, response: dataTask.response)
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        let transfer = transfers.withLock { $0.removeValue(forKey: task.taskIdentifier) }
        transfer?.finish(error, response: task.response)
    }

    func urlSession(
        _ session: URLSession, dataTask: URLSessionDataTask, willCacheResponse proposedResponse: CachedURLResponse,
        completionHandler: @escaping (CachedURLResponse?) -> Void
    ) {
        completionHandler(nil)
    }
}
