import Foundation

/// A value guarded by an `NSLock` (named `lock`): the shared mutable state of the remote
/// cache types (statistics, breaker state, in-flight transfers) lives in one of these.
final class RemoteLockedState<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) { self.value = value }

    func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
