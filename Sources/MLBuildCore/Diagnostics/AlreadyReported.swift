/// Thrown instead of a diagnostic about something that already has one: a value that failed to
/// resolve, a key refused as a whole, a required key reported missing. Code that goes on after a
/// problem (to report every independent one at once) gets nothing usable from the value, and
/// `DiagnosticCollector.attempt` records nothing for it: one mistake, one diagnostic.
public struct AlreadyReported: Error, Sendable, CustomStringConvertible {
    /// What was reported (for a stray error that reaches a person: it should never happen).
    public var what: String

    public init(_ what: String) { self.what = what }

    public var description: String { "\(what) (reported above)" }
}
