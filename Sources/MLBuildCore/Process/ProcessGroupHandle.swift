import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A child that leads its own process group, and whether it was told to stop (a cancelled
/// build, a timeout): whichever of "started" and "stop" comes second sends the signals
/// (`ProcessGroupTermination`: SIGTERM, then SIGKILL after a grace period), so a stop that
/// arrives while the child is being spawned is not lost.
public final class ProcessGroupHandle: Sendable {
    private let state = Mutex<(leader: pid_t?, stopped: Bool)>((nil, false))

    public init() {}

    /// `ChildProcess.run`'s `onStart`: the child exists, with `pid` as its group.
    public func started(_ pid: pid_t) {
        let stopped = state.withLock { state in
            state.leader = pid
            return state.stopped
        }
        if stopped { ProcessGroupTermination.terminate(group: pid) }
    }

    public func stop() {
        let leader = state.withLock { state in
            state.stopped = true
            return state.leader
        }
        if let leader { ProcessGroupTermination.terminate(group: leader) }
    }

    /// Whether `stop` was called.
    public var wasStopped: Bool { state.withLock { $0.stopped } }
}
