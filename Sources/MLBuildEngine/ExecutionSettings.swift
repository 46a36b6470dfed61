import MLBuildCore

/// Where and how a target runs: the common keys `execution`, `exec_properties` and `timeout`
/// (`RuleKey.placementKeys`, which stay out of the action key).
public struct ExecutionSettings: Sendable, Equatable {
    public enum Placement: String, Sendable, CaseIterable {
        /// Always on this machine.
        case local
        /// On the remote executor; a build without one fails the target.
        case remote
        /// Remote when an executor is configured and the target can go there, else local.
        case auto
    }

    public var placement: Placement = .auto
    /// `exec_properties` as written, sorted by name.
    public var properties: [(name: String, value: String)] = []
    public var timeout: Duration?

    public init() {}

    public static func == (a: Self, b: Self) -> Bool {
        a.placement == b.placement && a.timeout == b.timeout
            && a.properties.map(\.name) == b.properties.map(\.name) && a.properties.map(\.value) == b.properties.map(\.value)
    }

    /// The target's settings, every bad value reported to `diagnostics` at its place.
    public init(configuration: TargetConfiguration, diagnostics: inout DiagnosticCollector) {
        if let text = diagnostics.attempt({ try configuration.string("execution") }) ?? nil {
            if let placement = Placement(rawValue: text) {
                self.placement = placement
            } else {
                diagnostics.add(configuration.diagnostic("execution", "'execution' must be local, remote or auto, not '\(text)'"))
            }
        }
        var seen: [String: Int] = [:]
        for item in diagnostics.attempt({ try configuration.list("exec_properties") }) ?? [] {
            let parts = item.text.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = parts.first.map { String($0).trimmingWhitespace } ?? ""
            guard parts.count == 2, !name.isEmpty else {
                diagnostics.add(configuration.target.source.diagnostic("an exec_properties item must be NAME=VALUE, not '\(item.text)'", at: item.location))
                continue
            }
            if seen[name] != nil {
                diagnostics.add(configuration.target.source.diagnostic("exec_properties sets '\(name)' twice", at: item.location))
                continue
            }
            seen[name] = properties.count
            properties.append((name, String(parts[1]).trimmingWhitespace))
        }
        properties.sort { $0.name < $1.name }
        if let text = diagnostics.attempt({ try configuration.string("timeout") }) ?? nil {
            if let duration = Self.duration(text) {
                timeout = duration
            } else {
                diagnostics.add(configuration.diagnostic("timeout", "'timeout' must be a positive duration such as 90, 90s, 15m or 2h, not '\(text)'"))
            }
        }
    }

    /// The settings of a configuration `Project.load` accepted (its values were checked there).
    public static func of(_ configuration: TargetConfiguration) -> ExecutionSettings {
        var ignored = DiagnosticCollector()
        return ExecutionSettings(configuration: configuration, diagnostics: &ignored)
    }

    /// `90`, `90s`, `15m`, `2h` → a duration; nil for anything else or zero.
    static func duration(_ text: String) -> Duration? {
        var digits = Substring(text)
        var unit: Int64 = 1
        switch text.last {
        case "s": digits = digits.dropLast()
        case "m": digits = digits.dropLast(); unit = 60
        case "h": digits = digits.dropLast(); unit = 3600
        default: break
        }
        guard let n = Int64(digits), n > 0, n <= Int64.max / unit / 1000 else { return nil }
        return .seconds(n * unit)
    }
}

extension String {
    fileprivate var trimmingWhitespace: String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}
