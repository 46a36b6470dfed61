import Crypto
import Foundation
import MLBuildBasics
#if canImport(Glibc)
import Glibc
#endif

/// The audit log: every build, release, approval, promotion, rollback and push, appended to
/// `.mlbuild/audit.log` as one line of JSON each, hash-chained:
///
///     {"action":"release","details":{"channel":"prod","image":"sha256:…",…},"prev":HEX,"seq":7,
///      "time":"2026-12-03T10:00:00Z","who":"ana@example.com"}
///
/// Keys are sorted and there are no spaces, so a line's bytes are a function of its content.
/// `prev` is the SHA-256 of the previous line's bytes (64 zeros for the first entry), and
/// `.mlbuild/audit.head` holds `SEQ HEX` of the last line, so an edited, removed, inserted or
/// reordered entry (also the last one) breaks the chain at a place `verify` names.
///
/// Appends take an exclusive `flock` on `.mlbuild/audit.lock` (concurrent processes are
/// serialized, none is lost), write the line with one `write` on an `O_APPEND` descriptor and
/// (for all but builds) fsync before the head is replaced. Callers never pass secrets: details are keys, digests,
/// names and numbers. Times are wall-clock (this is a record of events, not an artifact).
public struct AuditLog: Sendable {
    public let path: String
    public var headPath: String { path.replacingOccurrences(of: ".log", with: ".head", options: .backwards) }
    var lockPath: String { path.replacingOccurrences(of: ".log", with: ".lock", options: .backwards) }

    public static let genesis = String(repeating: "0", count: 64)

    public init(path: String) { self.path = path }

    /// `STATE_DIRECTORY/audit.log`.
    public init(stateDirectory: String) { self.init(path: "\(stateDirectory)/audit.log") }

    public struct Entry: Sendable, Equatable {
        public var seq: Int
        public var prev: String
        public var time: String
        public var who: String
        public var action: String
        public var details: [String: String]
        /// SHA-256 of the line, hex.
        public var hash: String
    }

    /// Appends one entry; returns it.
    @discardableResult
    /// `durable`: fsync the line and the head before returning (releases, approvals, rollbacks,
    /// pushes); a build's entry is not worth two fsyncs on the no-op path (the run history
    /// makes the same choice), and a crash can at worst lose the last lines with their head.
    public func append(action: String, who: String, details: [String: String], at date: Date = Date(), durable: Bool = true) throws -> Entry {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        let lock = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard lock >= 0 else { throw AuditError("cannot open \(lockPath): \(String(cString: strerror(errno)))") }
        defer { close(lock) }
        while flock(lock, LOCK_EX) != 0 {
            guard errno == EINTR else { throw AuditError("cannot lock \(lockPath): \(String(cString: strerror(errno)))") }
        }
        defer { flock(lock, LOCK_UN) }

        let (seq, prev) = try lastEntry()
        let entryTime = HistoryTime.format(date)
        let line = Self.line(seq: seq + 1, prev: prev, time: entryTime, who: who, action: action, details: details)
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw AuditError("cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let bytes = Array((line + "\n").utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count else { throw AuditError("cannot append to \(path): \(String(cString: strerror(errno)))") }
        if durable { fsync(fd) }
        let hash = Self.hash(line)
        try AtomicFile.write("\(seq + 1) \(hash)\n", to: headPath, durable: durable)
        return Entry(seq: seq + 1, prev: prev, time: entryTime, who: who, action: action, details: details, hash: hash)
    }

    /// The last entry's number and hash, from the head file (0 and the genesis hash for a new log).
    private func lastEntry() throws -> (Int, String) {
        guard let text = try? String(contentsOfFile: headPath, encoding: .utf8) else {
            // No head: a log without one was started by hand or damaged; `verify` says so.
            if FileManager.default.fileExists(atPath: path), let last = try readLines().last {
                let entry = try Self.parse(last, number: 0)
                return (entry.seq, entry.hash)
            }
            return (0, Self.genesis)
        }
        let parts = text.split(separator: " ")
        guard parts.count == 2, let seq = Int(parts[0]) else { throw AuditError("\(headPath) is damaged; run `mlbuild audit --verify`") }
        return (seq, parts[1].trimmingCharacters(in: .whitespacesAndNewlines))
    }

    func readLines() throws -> [String] {
        guard FileManager.default.fileExists(atPath: path) else { return [] }
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw AuditError("cannot read \(path): \(error.localizedDescription)")
        }
        return String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
    }

    /// Every entry, in order (parsed, not checked).
    public func entries() throws -> [Entry] {
        try readLines().enumerated().map { try Self.parse($0.element, number: $0.offset + 1) }
    }

    /// The first place the chain breaks, or nil when it is intact.
    public struct Break: Sendable, Equatable, CustomStringConvertible {
        /// The 1-based line of the first bad entry.
        public var line: Int
        public var reason: String
        public var description: String { "entry \(line): \(reason)" }
    }

    public func verify() throws -> (entries: Int, firstBreak: Break?) {
        let lines = try readLines()
        var prev = Self.genesis
        for (index, line) in lines.enumerated() {
            let number = index + 1
            let entry: Entry
            do { entry = try Self.parse(line, number: number) } catch let error as AuditError {
                return (lines.count, Break(line: number, reason: error.description))
            }
            if entry.seq != number {
                return (lines.count, Break(line: number, reason: entry.seq > number
                    ? "it is numbered \(entry.seq): \(entry.seq - number == 1 ? "entry \(number) was" : "entries \(number)–\(entry.seq - 1) were") removed (or the entries reordered)"
                    : "it is numbered \(entry.seq), not \(number): entries were inserted or reordered"))
            }
            if entry.prev != prev {
                // The numbering holds, so the entry before changed (or this one's prev did).
                return (lines.count, index == 0
                    ? Break(line: 1, reason: "its prev is not the chain's start: it was edited")
                    : Break(line: index, reason: "it was edited: its hash is no longer the prev that entry \(number) records"))
            }
            prev = entry.hash
        }
        let head = try? String(contentsOfFile: headPath, encoding: .utf8)
        let expected = lines.isEmpty ? nil : "\(lines.count) \(prev)"
        switch (head?.trimmingCharacters(in: .whitespacesAndNewlines), expected) {
        case (nil, nil): break
        case (nil, _?):
            return (lines.count, Break(line: lines.count, reason: "\(headPath) is missing: the end of the log cannot be checked"))
        case let (text?, wanted):
            if text != wanted {
                let parts = text.split(separator: " ")
                let headSeq = parts.first.flatMap { Int($0) } ?? -1
                if headSeq > lines.count {
                    return (lines.count, Break(line: lines.count + 1, reason: "missing: the log ends at entry \(lines.count) but \(headSeq) were written (entries removed from the end)"))
                }
                return (lines.count, Break(line: max(lines.count, 1), reason: "the last entry is not the one last written (\(headPath) says \(text.prefix(20))…): it was edited or replaced"))
            }
        }
        return (lines.count, nil)
    }

    /// The entry's line: canonical JSON, keys sorted, no spaces.
    static func line(seq: Int, prev: String, time: String, who: String, action: String, details: [String: String]) -> String {
        var out = "{\"action\":"
        JSONString.append(action, to: &out)
        out += ",\"details\":{"
        for (i, key) in details.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }).enumerated() {
            if i > 0 { out += "," }
            JSONString.append(key, to: &out)
            out += ":"
            JSONString.append(details[key] ?? "", to: &out)
        }
        out += "},\"prev\":"
        JSONString.append(prev, to: &out)
        out += ",\"seq\":\(seq),\"time\":"
        JSONString.append(time, to: &out)
        out += ",\"who\":"
        JSONString.append(who, to: &out)
        return out + "}"
    }

    static func hash(_ line: String) -> String {
        ContentDigest(SHA256.hash(data: Array(line.utf8))).hex
    }

    static func parse(_ line: String, number: Int) throws -> Entry {
        guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
              let seq = object["seq"] as? Int, let prev = object["prev"] as? String, let action = object["action"] as? String,
              let time = object["time"] as? String, let who = object["who"] as? String
        else {
            throw AuditError("not an audit entry (unreadable JSON or a missing field)")
        }
        var details: [String: String] = [:]
        for (key, value) in object["details"] as? [String: Any] ?? [:] { details[key] = value as? String ?? "\(value)" }
        return Entry(seq: seq, prev: prev, time: time, who: who, action: action, details: details, hash: hash(line))
    }
}

public struct AuditError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
