import Foundation

/// What the progress line knows of one running target's own progress (`RuleProgress`), and the
/// words it shows: `trees 40/100 · 12 s left`, `rows 120000`, `bytes 3.2/40.0 MB · 1 min left`.
///
/// The time left is a straight-line estimate from the rate since the first report of the
/// current unit (a rule that changes unit, rows then trees, starts a new estimate); none until
/// a second has passed and some work was done, so the first figures are not wild.
public struct TargetProgress: Sendable, Equatable {
    public var done: Int64
    public var total: Int64?
    public var unit: String
    /// The first report of this unit: when, and how much was done then.
    public var since: Double
    public var doneAtStart: Int64
    /// When the latest report arrived (seconds on the same clock as `since`).
    public var updated: Double

    public init(done: Int64, total: Int64?, unit: String, at time: Double) {
        self.done = done
        self.total = total
        self.unit = unit
        since = time
        doneAtStart = done
        updated = time
    }

    /// This progress after a new report at `time`.
    public func updated(done: Int64, total: Int64?, unit: String, at time: Double) -> TargetProgress {
        guard unit == self.unit else { return TargetProgress(done: done, total: total, unit: unit, at: time) }
        var next = self
        next.done = done
        next.total = total
        next.updated = time
        return next
    }

    /// Seconds left at the rate seen so far; nil when unknown.
    public func secondsLeft(now: Double) -> Double? {
        guard let total, total > done else { return total.map { _ in 0 } }
        let elapsed = updated - since, worked = done - doneAtStart
        guard elapsed >= 1, worked > 0 else { return nil }
        let rate = Double(worked) / elapsed
        // Time since the last report counts as already spent.
        return max(0, Double(total - done) / rate - (now - updated))
    }

    /// `trees 40/100 · 12 s left` (no estimate yet: `trees 40/100`; no total: `trees 40`).
    public func text(now: Double) -> String {
        var text = unit == "bytes" ? "bytes \(Self.megabytes(done))" : "\(unit) \(done)"
        if let total { text += "/" + (unit == "bytes" ? Self.megabytes(total) + " MB" : "\(total)") } else if unit == "bytes" { text += " MB" }
        if let left = secondsLeft(now: now), done < (total ?? 0) { text += " · " + Self.duration(left) + " left" }
        return text
    }

    static func megabytes(_ bytes: Int64) -> String { String(format: "%.1f", Double(bytes) / 1_000_000) }

    /// `12 s`, `3 min`, `1 h 5 min`, rounded up so that the estimate does not reach 0 early.
    public static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded(.up))
        if s < 60 { return "\(max(s, 1)) s" }
        let minutes = (s + 59) / 60
        if minutes < 60 { return "\(minutes) min" }
        return "\(minutes / 60) h \(minutes % 60) min"
    }
}
