import Synchronization

/// How far a running rule has got (rows ingested, trees grown of N, bytes packed), told to the
/// build's observers (`BuildObserver.progress`): the terminal's progress line and `--events`.
///
/// A rule may call `report` as often as it likes, from any thread: reports are forwarded at
/// most once per `minimumInterval` (a few times a second), except that a report with a new
/// unit, and the final one (`done == total`), always go through. `finish()` (called by the
/// engine when the rule returns) forwards the last report that was held back, so an observer
/// always sees where the rule ended. The interval uses a monotonic clock and never reaches a
/// key or an artifact.
public final class RuleProgress: Sendable {
    /// Receives the reports that pass the throttle.
    public typealias Sink = @Sendable (_ done: Int64, _ total: Int64?, _ unit: String) -> Void

    private struct Report: Equatable {
        var done: Int64
        var total: Int64?
        var unit: String
    }

    private struct State {
        var lastForwarded: Report?
        var lastForwardedAt: Duration?
        /// A report not forwarded yet (held back by the throttle).
        var pending: Report?
    }

    private let sink: Sink?
    private let minimumInterval: Duration
    private let now: @Sendable () -> Duration
    private let state = Mutex(State())

    /// A reporter that forwards nothing (rules run outside a build, tests).
    public static let none = RuleProgress()

    public init() {
        sink = nil
        minimumInterval = .zero
        now = { .zero }
    }

    /// `clock` is the time since any fixed instant (tests pass a fake one).
    public init(minimumInterval: Duration = .milliseconds(250), clock: (@Sendable () -> Duration)? = nil, sink: @escaping Sink) {
        self.sink = sink
        self.minimumInterval = minimumInterval
        if let clock {
            now = clock
        } else {
            let origin = ContinuousClock.now
            now = { ContinuousClock.now - origin }
        }
    }

    /// `done` units of `total` (nil when unknown) are done: e.g. `report(done: 40, total: 100, unit: "trees")`.
    public func report(done: Int64, total: Int64?, unit: String) {
        guard let sink else { return }
        let report = Report(done: done, total: total, unit: unit)
        // The sink is called under the lock so that reports reach observers in order.
        state.withLock { s in
            if s.lastForwarded == report { return }
            let time = now()
            let isFinal = total.map { done >= $0 } ?? false
            let newUnit = s.lastForwarded?.unit != unit
            if isFinal || newUnit || s.lastForwardedAt.map({ time - $0 >= minimumInterval }) ?? true {
                s.lastForwarded = report
                s.lastForwardedAt = time
                s.pending = nil
                sink(done, total, unit)
                return
            }
            s.pending = report
        }
    }

    /// Forwards the last report the throttle held back, if any.
    public func finish() {
        guard let sink else { return }
        state.withLock { s in
            guard let pending = s.pending else { return }
            s.pending = nil
            s.lastForwarded = pending
            s.lastForwardedAt = now()
            sink(pending.done, pending.total, pending.unit)
        }
    }
}
