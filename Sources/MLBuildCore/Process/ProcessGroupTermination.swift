import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Stops a child's whole process group: SIGTERM, then SIGKILL after `grace` if anything of the
/// group is still there (what a shell left in the background included). Escalations run on
/// their own thread; `waitForAll()` lets a process that is about to exit finish them first, so
/// no descendant outlives a cancelled build.
public enum ProcessGroupTermination {
    private static let pending = Mutex<Int>(0)
    private static let done = NSCondition()

    /// Signals the group led by `leader` (a child started with `ownProcessGroup`).
    public static func terminate(group leader: pid_t, grace: Duration = .seconds(2)) {
        guard leader > 0 else { return }
        pending.withLock { $0 += 1 }
        _ = kill(-leader, SIGTERM)
        let thread = Thread {
            let deadline = ContinuousClock.now + grace
            // kill(-pgid, 0) fails with ESRCH once no process of the group is left.
            while ContinuousClock.now < deadline, kill(-leader, 0) == 0 { usleep(20_000) }
            if kill(-leader, 0) == 0 { _ = kill(-leader, SIGKILL) }
            done.lock()
            pending.withLock { $0 -= 1 }
            done.broadcast()
            done.unlock()
        }
        thread.start()
    }

    /// Blocks until every group signalled so far is gone or was sent SIGKILL.
    public static func waitForAll() {
        done.lock()
        while pending.withLock({ $0 }) > 0 { done.wait() }
        done.unlock()
    }
}
