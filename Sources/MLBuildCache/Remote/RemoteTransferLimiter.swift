/// An async counting semaphore: bounds the number of HTTP requests in flight
/// (`maxConcurrentTransfers`), and so the number of transfer threads and easy handles: waiting
/// happens here, before a transfer (and its timeout clocks) starts.
public final class RemoteTransferLimiter: Sendable {
    private struct State {
        var available: Int
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state: RemoteLockedState<State>

    public init(limit: Int) {
        state = RemoteLockedState(State(available: max(1, limit)))
    }

    public func withSlot<R>(_ body: () async throws -> R) async throws -> R {
        await acquire()
        defer { release() }
        return try await body()
    }

    private func acquire() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let granted = state.withLock { state -> Bool in
                if state.available > 0 {
                    state.available -= 1
                    return true
                }
                state.waiters.append(continuation)
                return false
            }
            if granted { continuation.resume() }
        }
    }

    private func release() {
        // FIFO hand-over: the slot passes directly to the oldest waiter.
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if state.waiters.isEmpty {
                state.available += 1
                return nil
            }
            return state.waiters.removeFirst()
        }
        next?.resume()
    }
}
