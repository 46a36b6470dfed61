import Foundation
import MLBuildCore
import MLBuildEngine
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Human output: on a terminal a live progress line (done/total and what is running) with
/// finished targets scrolling above it; with `CI=true` or no terminal, one plain line per
/// target. Fresh targets are not listed (as Ninja prints nothing for up-to-date edges).
/// A closing summary line always.
public final class ConsoleReporter: BuildObserver {
    private let live: Bool
    /// Guards the progress line state (observer calls come from one task, but stay safe).
    private let state = Mutex<(lineShown: Bool, running: [TargetReference])>((false, []))

    /// With `--explain`: a changed parameter's old and new values (from the run history), so
    /// that `parameter l2 changed` reads `parameter l2 changed: 1.0 → 0.1`.
    private let parameterValues: (@Sendable (TargetReference, String) -> (old: String, new: String)?)?

    public init(live: Bool, parameterValues: (@Sendable (TargetReference, String) -> (old: String, new: String)?)? = nil) {
        self.live = live
        self.parameterValues = parameterValues
    }

    public static func wantsLiveOutput(environment: [String: String]) -> Bool {
        let ci = environment["CI"].map { !$0.isEmpty && $0 != "false" && $0 != "0" } ?? false
        return !ci && isatty(2) == 1 && environment["TERM"] != "dumb"
    }

    private func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }

    private func clearLine() {
        state.withLock { s in
            if s.lineShown { write("\r\u{1B}[K"); s.lineShown = false }
        }
    }

    public func targetStarted(_ target: TargetReference, running: [TargetReference], done: Int, total: Int) {
        state.withLock { $0.running = running }
        drawProgress(running: running, done: done, total: total)
    }

    /// The live line: `[done/total] running a, b, c, +N`, cut to the terminal's width.
    private func drawProgress(running: [TargetReference], done: Int, total: Int) {
        guard live, !running.isEmpty else { return }
        var names = running.prefix(3).map(\.description).joined(separator: ", ")
        if running.count > 3 { names += ", +\(running.count - 3)" }
        var columns = winsize()
        let width = ioctl(2, UInt(TIOCGWINSZ), &columns) == 0 && columns.ws_col > 20 ? Int(columns.ws_col) : 80
        let line = String("[\(done)/\(total)] running \(names)".prefix(width - 1))
        state.withLock { s in
            write("\r\u{1B}[K" + line)
            s.lineShown = true
        }
    }

    public func explain(_ target: TargetReference, reason: RunReason) {
        clearLine()
        var text = reason.description
        if case let .parameterChanged(name) = reason.cause, let values = parameterValues?(target, name) {
            text = "\(reason.cause): \(values.old) → \(values.new)" + text.dropFirst(reason.cause.description.count)
        }
        write("explain: \(target): \(text)\n")
    }

    public func targetFinished(_ outcome: TargetOutcome, done: Int, total: Int) {
        let running = state.withLock { s -> [TargetReference] in
            s.running.removeAll { $0 == outcome.target }
            return s.running
        }
        defer { drawProgress(running: running, done: done, total: total) }
        guard outcome.status != .fresh else { return }
        clearLine()
        var line = "[\(done)/\(total)] \(outcome.status.rawValue) \(outcome.target)"
        switch outcome.status {
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
