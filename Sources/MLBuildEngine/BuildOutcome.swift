import MLBuildCache
import MLBuildCore

/// The five words every report uses for a target's result.
public enum TargetStatus: String, Sendable, Codable {
    /// Outputs already in place with the right digests: nothing done.
    case fresh
    /// Put back from the cache: nothing run.
    case restored
    /// The rule ran.
    case built
    case failed
    /// Not attempted because a dependency failed.
    case skipped
}

/// Where a restored result came from.
public enum CacheSource: String, Sendable { case local, remote }

public struct TargetOutcome: Sendable {
    public var target: TargetReference
    public var status: TargetStatus
    public var key: ContentDigest?
    public var seconds: Double
    /// Why the target was not fresh (nil when fresh or skipped).
    public var reason: RunReason?
    public var source: CacheSource?
    /// The error, for failed targets.
    public var message: String?
    /// What the target printed (secrets masked).
    public var output: String
    /// The verified action result the target ended with (fresh, restored or built), so that
    /// reports (the run history) need not read it back from the action cache; nil otherwise.
    public var result: ActionResult?
    /// The target was built by a remote executor (`--remote-executor`), on `worker` when the
    /// service named it; false when it ran here or was not built.
    public var executedRemotely = false
    public var worker: String?

    public init(target: TargetReference, status: TargetStatus, key: ContentDigest? = nil, seconds: Double = 0,
                reason: RunReason? = nil, source: CacheSource? = nil, message: String? = nil, output: String = "",
                result: ActionResult? = nil) {
        self.target = target
        self.status = status
        self.key = key
        self.seconds = seconds
        self.reason = reason
        self.source = source
        self.message = message
        self.output = output
        self.result = result
    }
}

public struct BuildSummary: Sendable {
    public var outcomes: [TargetOutcome] = []
    public var seconds: Double = 0
    public var bytesDownloaded: UInt64 = 0
    public var bytesUploaded: UInt64 = 0
    /// True when the build was cancelled (SIGINT/SIGTERM): `outcomes` then holds only the
    /// targets that finished before it stopped.
    public var cancelled = false
    /// Targets that were running when the build was cancelled: stopped, their outputs removed,
    /// nothing recorded or cached for them.
    public var interrupted: [TargetReference] = []
    /// Targets of the build that a cancellation kept from starting.
    public var notStarted = 0

    public init() {}

    /// Counted in place through the buffer's addressor (`buffer[i].status` reads the field):
    /// `filter` copied every matching outcome (5 MB at 10,000 targets), and `reduce` or a
    /// closure still copied each one (40 ms of a 100,000-target summary).
    public func count(_ status: TargetStatus) -> Int {
        outcomes.withUnsafeBufferPointer { buffer in
            var count = 0
            for index in buffer.indices where buffer[index].status == status { count += 1 }
            return count
        }
    }

    public var succeeded: Bool { !cancelled && count(.failed) == 0 && count(.skipped) == 0 }

    public var remoteHits: Int {
        outcomes.withUnsafeBufferPointer { buffer in
            var count = 0
            for index in buffer.indices where buffer[index].status == .restored && buffer[index].source == .remote { count += 1 }
            return count
        }
    }
}

/// Receives progress from the scheduler (always from one task at a time, in order), except
/// `progress`, which comes from the running rules' threads: it may arrive concurrently with
/// any other call, so an observer that implements it guards its state.
public protocol BuildObserver: AnyObject, Sendable {
    func buildStarted(total: Int)
    func targetStarted(_ target: TargetReference, running: [TargetReference], done: Int, total: Int)
    func targetFinished(_ outcome: TargetOutcome, done: Int, total: Int)
    /// Why `target` is not fresh and how it will be satisfied (`--explain`); told again, with
    /// the new reason, when a restore fails and the target is built instead.
    func explain(_ target: TargetReference, reason: RunReason)
    func warning(_ text: String)
    /// A running target's own progress (`RuleProgress`): `done` units of `total` (nil when
    /// unknown), at most a few times a second per target, and always the final report.
    func progress(_ target: TargetReference, done: Int64, total: Int64?, unit: String)
    func buildFinished(_ summary: BuildSummary)
}

extension BuildObserver {
    public func buildStarted(total: Int) {}
    public func targetStarted(_ target: TargetReference, running: [TargetReference], done: Int, total: Int) {}
    public func explain(_ target: TargetReference, reason: RunReason) {}
    public func warning(_ text: String) {}
    public func progress(_ target: TargetReference, done: Int64, total: Int64?, unit: String) {}
}
