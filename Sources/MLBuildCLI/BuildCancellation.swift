import Dispatch
import Foundation
import MLBuildCore
import MLBuildEngine
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// SIGINT and SIGTERM (Ctrl-C, CI cancellation) while a build runs: the first one cancels the
/// build's task (the builder stops its children by process group, starts nothing more, keeps
/// nothing half-written) and the build ends normally with `BuildSummary.cancelled`. One signal
/// is enough; later ones are ignored while the build winds down. Outside `watch`, the signals
/// have their default effect again.
// @unchecked: `sources` is set once in init; DispatchSource objects are thread-safe.
final class BuildCancellation: @unchecked Sendable {
    /// The exit status of a cancelled build, for SIGTERM too (what CI runners and the shell
    /// report for an interrupted command; 143 would be the shell's code for SIGTERM).
    static let exitStatus: Int32 = 130

    private let received = Mutex<Int32?>(nil)
    private let sources: [any DispatchSourceSignal]

    private init(onSignal: @escaping @Sendable () -> Void) {
        var sources: [any DispatchSourceSignal] = []
        for signal in [SIGINT, SIGTERM] {
            // Dispatch sees the signal only when its default action (ending mlbuild) is off.
            Glibc.signal(signal, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signal, queue: .global())
            sources.append(source)
        }
        self.sources = sources
        for (source, signal) in zip(sources, [SIGINT, SIGTERM]) {
            source.setEventHandler { [self] in
                let first = self.received.withLock { received -> Bool in
                    guard received == nil else { return false }
                    received = signal
                    return true
                }
                if first { onSignal() }
            }
            source.resume()
        }
    }

    /// Runs `body` (the build) in a task that SIGINT or SIGTERM cancels; returns its value and
    /// the signal that cancelled it, if any.
    static func watch<T: Sendable>(_ body: @escaping @Sendable () async -> T) async -> (value: T, signal: Int32?) {
        let task = Task { await body() }
        let watcher = BuildCancellation { task.cancel() }
        let value = await task.value
        let signal = watcher.stop()
        return (value, signal)
    }

    /// Stops listening and gives SIGINT and SIGTERM their default effect back.
    private func stop() -> Int32? {
        for source in sources { source.cancel() }
        Glibc.signal(SIGINT, SIG_DFL)
        Glibc.signal(SIGTERM, SIG_DFL)
        return received.withLock { $0 }
    }

    static func name(of signal: Int32) -> String {
        switch signal {
        case SIGINT: "SIGINT"
        case SIGTERM: "SIGTERM"
        default: "signal \(signal)"
        }
    }

    /// The one line a cancelled build prints, e.g.
    /// `mlbuild: build cancelled (SIGINT): 3 targets finished, 1 interrupted, 5 not started`.
    static func line(_ summary: BuildSummary, signal: Int32?) -> String {
        let finished = summary.outcomes.filter { $0.status != .failed && $0.status != .skipped }.count
        return "mlbuild: build cancelled (\(signal.map(name(of:)) ?? "cancelled")): \(counted(finished, "target")) finished, "
            + "\(summary.interrupted.count) interrupted, \(summary.notStarted) not started"
    }
}
