import Foundation

/// `MLBUILD_TRACE=1`: prints how long each phase of a command took (stderr), for profiling the
/// no-op path without a profiler, and which path a build took (NoopFastPath.Outcome).
final class PhaseTrace: @unchecked Sendable {  // used from one task only
    private let enabled: Bool
    private var last = ContinuousClock.now
    private let start = ContinuousClock.now

    init(enabled: Bool) { self.enabled = enabled }

    /// A line without a time: `trace: TEXT`.
    func note(_ text: String) {
        guard enabled else { return }
        FileHandle.standardError.write(Data("trace: \(text)\n".utf8))
    }

    func mark(_ phase: String) {
        guard enabled else { return }
        let now = ContinuousClock.now
        let ms = { (d: Duration) in Double(d.components.attoseconds) / 1e15 + Double(d.components.seconds) * 1000 }
        let line = "trace: \(phase) " + String(format: "%.2f ms (total %.2f ms)", ms(now - last), ms(now - start)) + "\n"
        FileHandle.standardError.write(Data(line.utf8))
        last = now
    }
}
