import Logging
import MLBuildDatasets
#if canImport(Glibc)
import Glibc
#endif

/// A swift-log handler that writes one JSON object per line to standard error:
///
///     {"event": MESSAGE, "level": "info", "time": "2026-12-02T03:49:04.123Z", METADATA…}
///
/// Keys sorted; metadata values that are integers, floating-point numbers or booleans
/// (`.stringConvertible(42)`) stay JSON numbers and booleans, everything else is a string.
/// `time` is UTC, RFC 3339 with milliseconds, computed with `gmtime_r` (no time zone files:
/// the server runs in images that have no /etc). Lines go to `writer` whole, in the order they
/// were logged, and are written by its thread (`LineWriter`: a slow disk never holds up a
/// request); concurrent requests never interleave their lines.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    public var logLevel: Logger.Level = .info
    private let writer: LineWriter

    init(writer: LineWriter = .standardError) {
        self.writer = writer
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields: [String: JSONValue] = [:]
        for (key, value) in metadata { fields[key] = Self.json(value) }
        if let provided = metadataProvider?.get() {
            for (key, value) in provided { fields[key] = Self.json(value) }
        }
        for (key, value) in event.metadata ?? [:] { fields[key] = Self.json(value) }
        if let error = event.error { fields["error"] = .string("\(error)") }
        fields["event"] = .string(event.message.description)
        fields["level"] = .string(event.level.rawValue)
        fields["time"] = .string(Self.now())
        writer.write(Array((CanonicalJSON.line(.object(fields)) + "\n").utf8))
    }

    static func json(_ value: Logger.Metadata.Value) -> JSONValue {
        switch value {
        case .string(let s): return .string(s)
        case .stringConvertible(let c):
            switch c {
            case let i as Int: return .number(Double(i))
            case let d as Double: return .number(d)
            case let b as Bool: return .bool(b)
            default: return .string(c.description)
            }
        case .array(let items): return .array(items.map(json))
        case .dictionary(let members): return .object(members.mapValues(json))
        }
    }

    /// The current UTC time as RFC 3339 with milliseconds: `2026-12-02T03:49:04.123Z`.
    static func now() -> String {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        var seconds = spec.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ n: Int32, _ width: Int) -> String {
            let text = String(n)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(Int32(spec.tv_nsec / 1_000_000), 3))Z"
    }
}
