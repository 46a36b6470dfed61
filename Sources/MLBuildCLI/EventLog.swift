import Foundation
import MLBuildCore
import MLBuildEngine
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// `--events FILE`: JSON Lines, one object per finished target and a final summary:
///
///     {"type":"target","target":"task:a","status":"built","key":"<hex>","seconds":0.12,"reason":"input a.txt changed","executed":"local"}
///     {"type":"target","target":"model:m","status":"built","key":"<hex>","seconds":2.5,"reason":"no cache entry","executed":"remote","worker":"bot-1"}
///     {"type":"target","target":"task:b","status":"restored","key":"<hex>","seconds":0.01,"reason":"outputs missing; restorable from the remote cache","from":"remote"}
///     {"type":"progress","target":"model:churn","done":40,"total":100,"unit":"trees"}
///     {"type":"summary","built":1,"restored":1,"fresh":3,"failed":0,"skipped":0,"seconds":0.52,"remote_hits":1,"bytes_down":0,"bytes_up":0,"noop_fast_path":false}
///
/// `progress` lines come from inside a running rule (`RuleProgress`): `done` units of `total`
/// (null when unknown), at most four a second per target, and always the final one.
/// `noop_fast_path` says which path the build took: true when the no-op manifest held and every
/// target was reported fresh without loading the Mlfile (NoopFastPath), false for a full build.
/// Written to `FILE.tmp` as the build goes and renamed to FILE at the end. Secret values never
/// reach it (errors are redacted before they get here).
public final class EventLog: BuildObserver {
    private let path: String
    /// Where lines go until the build ends (then renamed to `path`); nil when `path` is a
    /// device or FIFO (`--events /dev/null`, `--events /dev/stdout`), written in place.
    private let temp: String?
    /// Guards the file descriptor.
    private let fd: Mutex<Int32>
    private let noopFastPath: Bool

    public init(path: String, noopFastPath: Bool) throws {
        self.path = path
        self.noopFastPath = noopFastPath
        let descriptor: Int32
        if FileStat.of(path)?.isSpecial == true {
            temp = nil
            descriptor = open(path, O_WRONLY | O_CLOEXEC)
        } else {
            let temp = path + ".tmp"
            self.temp = temp
            try FileSystem.createDirectories(FileSystem.parent(of: path))
            descriptor = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        }
        guard descriptor >= 0 else { throw FileSystem.Failure("write", path) }
        fd = Mutex(descriptor)
    }

    private func emit(_ fields: [(String, Any?)]) {
        var parts: [String] = []
        for (name, value) in fields {
            switch value {
            case nil: parts.append("\"\(name)\":null")
            // Bool first: no numeric case may take it for 0 or 1.
            case let b as Bool: parts.append("\"\(name)\":\(b)")
            case let s as String: parts.append("\"\(name)\":\(Self.quote(s))")
            case let d as Double: parts.append("\"\(name)\":\(String(format: "%.3f", d))")
            case let i as Int: parts.append("\"\(name)\":\(i)")
            case let i as Int64: parts.append("\"\(name)\":\(i)")
            case let u as UInt64: parts.append("\"\(name)\":\(u)")
            default: continue
            }
        }
        let line = Array(("{" + parts.joined(separator: ",") + "}\n").utf8)
        fd.withLock { fd in _ = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } }
    }

    static func quote(_ s: String) -> String { JSONString.quoted(s) }

    public func targetFinished(_ outcome: TargetOutcome, done: Int, total: Int) {
        var fields: [(String, Any?)] = [
            ("type", "target"), ("target", outcome.target.description), ("status", outcome.status.rawValue),
            ("key", outcome.key?.hex), ("seconds", outcome.seconds),
        ]
        if let reason = outcome.reason { fields.append(("reason", reason.description)) }
        if let source = outcome.source { fields.append(("from", source.rawValue)) }
        if let message = outcome.message { fields.append(("error", message)) }
        // Where it ran, for a target that ran (built, or failed while running).
        if outcome.executedRemotely {
            fields.append(("executed", "remote"))
            if let worker = outcome.worker { fields.append(("worker", worker)) }
        } else if outcome.status == .built || (outcome.status == .failed && outcome.key != nil) {
            fields.append(("executed", "local"))
        }
        emit(fields)
    }

    public func progress(_ target: TargetReference, done: Int64, total: Int64?, unit: String) {
        emit([("type", "progress"), ("target", target.description), ("done", done), ("total", total), ("unit", unit)])
    }

    public func buildFinished(_ summary: BuildSummary) {
        var fields: [(String, Any?)] = [
            ("type", "summary"), ("built", summary.count(.built)), ("restored", summary.count(.restored)),
            ("fresh", summary.count(.fresh)), ("failed", summary.count(.failed)), ("skipped", summary.count(.skipped)),
            ("seconds", summary.seconds), ("remote_hits", summary.remoteHits),
            ("bytes_down", summary.bytesDownloaded), ("bytes_up", summary.bytesUploaded),
            ("noop_fast_path", noopFastPath),
        ]
        // Only on a cancelled build (SIGINT/SIGTERM): the line of every other build is unchanged.
        if summary.cancelled { fields.append(("cancelled", true)) }
        emit(fields)
        fd.withLock { fd in
            if temp != nil { fsync(fd) }
            close(fd)
            fd = -1
        }
        if let temp { rename(temp, path) }
    }
}

/// Fans observer calls out to several observers.
public final class ObserverGroup: BuildObserver {
    private let observers: [any BuildObserver]

    public init(_ observers: [any BuildObserver]) { self.observers = observers }

    public func buildStarted(total: Int) { for o in observers { o.buildStarted(total: total) } }
    public func targetStarted(_ target: TargetReference, running: [TargetReference], done: Int, total: Int) {
        for o in observers { o.targetStarted(target, running: running, done: done, total: total) }
    }
    public func targetFinished(_ outcome: TargetOutcome, done: Int, total: Int) {
        for o in observers { o.targetFinished(outcome, done: done, total: total) }
    }
    public func explain(_ target: TargetReference, reason: RunReason) {
        for o in observers { o.explain(target, reason: reason) }
    }
    public func warning(_ text: String) { for o in observers { o.warning(text) } }
    public func progress(_ target: TargetReference, done: Int64, total: Int64?, unit: String) {
        for o in observers { o.progress(target, done: done, total: total, unit: unit) }
    }
    public func buildFinished(_ summary: BuildSummary) { for o in observers { o.buildFinished(summary) } }
}
