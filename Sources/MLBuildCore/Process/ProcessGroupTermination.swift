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
            while ContinuousClock.now < deadline, isAlive(group: leader) { usleep(20_000) }
            if isAlive(group: leader) { _ = kill(-leader, SIGKILL) }
            done.lock()
            pending.withLock { $0 -= 1 }
            done.broadcast()
            done.unlock()
        }
        thread.start()
    }

    /// Whether a process of the group still runs. `kill(-pgid, 0)` also succeeds for zombies,
    /// and in a container whose init does not reap them they stay: those are looked up in
    /// /proc and do not count (else every cancel would wait out the whole grace).
    static func isAlive(group leader: pid_t) -> Bool {
        guard kill(-leader, 0) == 0 else { return false }
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return true }
        for name in entries {
            guard Int32(name) != nil, let stat = try? String(contentsOfFile: "/proc/\(name)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { continue }
            // After the command name: state, ppid, pgrp.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 2, Int32(fields[2]) == leader else { continue }
            if fields[0] != "Z" && fields[0] != "X" { return true }
        }
        return false
    }

    /// Blocks until every group signalled so far is gone or was sent SIGKILL.
    public static func waitForAll() {
        done.lock()
        while pending.withLock({ $0 }) > 0 { done.wait() }
        done.unlock()
    }
}
