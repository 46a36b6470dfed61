import Foundation
import MLBuildCore
import MLBuildEngine
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Human output: on a terminal a live progress line (done/total, what is running, and a running
/// target's own progress with the time left: `[3/7] model:churn  trees 40/100 · 12 s left`) with
/// finished targets scrolling above it; with `CI=true` or no terminal, one plain line per
/// target. Fresh targets are not listed (as Ninja prints nothing for up-to-date edges).
/// A closing summary line always.
public final class ConsoleReporter: BuildObserver {
    private let live: Bool
    /// The progress line's state. Observer calls come from one task, except `progress`, which
    /// comes from running rules' threads.
    private struct State {
        var lineShown = false
        var running: [TargetReference] = []
        var progress: [TargetReference: TargetProgress] = [:]
        var done = 0
        var total = 0
    }
    private let state = Mutex(State())
    private let origin = ContinuousClock.now

    public init(live: Bool) {
        self.live = live
    }

    public static func wantsLiveOutput(environment: [String: String]) -> Bool {
        let ci = environment["CI"].map { !$0.isEmpty && $0 != "false" && $0 != "0" } ?? false
        return !ci && isatty(2) == 1 && environment["TERM"] != "dumb"
    }

    private func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }

    private var now: Double {
        let elapsed = ContinuousClock.now - origin
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }

    private func clearLine() {
        state.withLock { s in
            if s.lineShown { write("\r\u{1B}[K"); s.lineShown = false }
        }
    }

    public func targetStarted(_ target: TargetReference, running: [TargetReference], done: Int, total: Int) {
        state.withLock { s in
            s.running = running
            (s.done, s.total) = (done, total)
        }
        drawProgress()
    }

    /// Shown on the live line only: a plain log (CI) gets no progress lines, so that it stays
    /// one line per target whatever the machine's speed.
    public func progress(_ target: TargetReference, done: Int64, total: Int64?, unit: String) {
        guard live else { return }
        let time = now
        state.withLock { s in
            guard s.running.contains(target) else { return }
            s.progress[target] = s.progress[target]?.updated(done: done, total: total, unit: unit, at: time)
                ?? TargetProgress(done: done, total: total, unit: unit, at: time)
        }
        drawProgress()
    }

    /// The live line: `[done/total] running a, b, c, +N`, or with a target's own progress
    /// `[3/7] model:churn  trees 40/100 · 12 s left`, cut to the terminal's width.
    private func drawProgress() {
        guard live else { return }
        let time = now
        state.withLock { s in
            guard !s.running.isEmpty else { return }
            let shown = s.running.prefix(3)
            var names: String
            if shown.contains(where: { s.progress[$0] != nil }) {
                names = shown.map { target in s.progress[target].map { "\(target)  \($0.text(now: time))" } ?? target.description }
                    .joined(separator: ", ")
            } else {
                names = "running " + shown.map(\.description).joined(separator: ", ")
            }
            if s.running.count > 3 { names += ", +\(s.running.count - 3)" }
            var columns = winsize()
            let width = ioctl(2, UInt(TIOCGWINSZ), &columns) == 0 && columns.ws_col > 20 ? Int(columns.ws_col) : 80
            let line = String("[\(s.done)/\(s.total)] \(names)".prefix(width - 1))
            write("\r\u{1B}[K" + line)
            s.lineShown = true
        }
    }

    public func explain(_ target: TargetReference, reason: RunReason) {
        clearLine()
        // The reason's own words, as `status` prints them (a changed parameter's values come
        // from the workspace state: RunReason.ParameterValues).
        write("explain: \(target): \(reason)\n")
    }

    public func targetFinished(_ outcome: TargetOutcome, done: Int, total: Int) {
        state.withLock { s in
            s.running.removeAll { $0 == outcome.target }
            s.progress[outcome.target] = nil
            (s.done, s.total) = (done, total)
        }
        defer { drawProgress() }
        guard outcome.status != .fresh else { return }
        clearLine()
        var line = "[\(done)/\(total)] \(outcome.status.rawValue) \(outcome.target)"
        switch outcome.status {
        case .built where outcome.executedRemotely:
            line += String(format: " (%.2fs, remote", outcome.seconds) + (outcome.worker.map { " on \($0)" } ?? "") + ")"
        case .built: line += String(format: " (%.2fs)", outcome.seconds)
        case .restored: line += outcome.source == .remote ? " (from remote cache)" : " (from cache)"
        default: break
        }
        var text = line + "\n"
        if !outcome.output.isEmpty {
            text += outcome.output.hasSuffix("\n") ? outcome.output : outcome.output + "\n"
        }
        if outcome.status == .failed, let message = outcome.message {
            text += "error: \(outcome.target): \(message)\n"
        }
        write(text)
    }

    public func warning(_ text: String) {
        clearLine()
        write(text.hasPrefix("warning:") ? text + "\n" : "warning: \(text)\n")
    }

    public func buildFinished(_ summary: BuildSummary) {
        clearLine()
        write(Self.summaryLine(summary) + "\n")
    }

    public static func summaryLine(_ summary: BuildSummary) -> String {
        var line = "mlbuild: \(counted(summary.outcomes.count, "target")): \(summary.count(.built)) built, \(summary.count(.restored)) restored, "
            + "\(summary.count(.fresh)) fresh, \(summary.count(.failed)) failed, \(summary.count(.skipped)) skipped"
        if summary.bytesDownloaded > 0 || summary.bytesUploaded > 0 || summary.remoteHits > 0 {
            line += "; remote: \(counted(summary.remoteHits, "hit")), \(counted(summary.bytesDownloaded, "byte")) down, \(counted(summary.bytesUploaded, "byte")) up"
        }
        return line + String(format: " in %.2fs", summary.seconds)
    }
}
