import MLBuildCore

/// A target's values, checked against its kind's keys, with typed accessors whose errors point
/// at the value in the Mlfile.
public struct TargetConfiguration: Sendable {
    public let target: ResolvedTarget
    public let keys: [RuleKey]
    /// The seed in force for this target (its own `seed`, else `--seed`, else the Mlfile's, else 0).
    public let seed: UInt64

    public var reference: TargetReference { target.reference }

    /// Checks for unknown and missing keys (all reported at once).
    public init(target: ResolvedTarget, keys: [RuleKey], defaultSeed: UInt64) throws {
        self.target = target
        self.keys = keys + RuleKey.common
        var diagnostics = DiagnosticCollector()
        let names = self.keys.map(\.name)
        for key in target.keyOrder where !names.contains(key) {
            let hint = Suggestion.hint(for: key, among: names)
            let location = target.keyLocations[key] ?? target.nameLocation
            diagnostics.add(target.source.diagnostic("unknown key '\(key)' for \(target.reference.kind) targets\(hint)", at: location,
                                                     notes: ["\(target.reference.kind) accepts: \(names.sorted().joined(separator: ", "))"]))
        }
        // A secret anywhere else would be written into a path, a file, a key or an image.
        for key in self.keys where !key.acceptsSecrets {
            if let value = target.values[key.name], value.scalars.contains(ResolvedValue.secretOpen) {
                diagnostics.add(value.diagnostic("'\(key.name)' cannot hold a secret: ${secret:…} is allowed only in a task's "
                    + "'run' and 'env', where its value reaches the command at run time and nothing else"))
            }
        }
        for key in self.keys where key.required && target.values[key.name] == nil && target.keyLocations[key.name] == nil {
            diagnostics.add(target.diagnostic("\(target.reference) is missing the required key '\(key.name)'"))
        }
        var seed = defaultSeed
        if let value = target.values["seed"] {
            if let text = diagnostics.attempt({ try value.scalarValue() }) {
                if let n = UInt64(text) { seed = n } else {
                    diagnostics.add(value.diagnostic("seed must be a non-negative integer, not '\(text)'"))
                }
            }
        }
        self.seed = seed
        try diagnostics.throwIfAny()
        canonical = try? computeCanonicalParameters()
    }

    public func has(_ key: String) -> Bool { target.values[key] != nil }

    public func value(_ key: String) -> ResolvedValue? { target.values[key] }

    /// A diagnostic pointing at `key`'s value (or at the target when absent).
    public func diagnostic(_ key: String, _ message: String, notes: [String] = []) -> Diagnostic {
        if let value = target.values[key] { return value.diagnostic(message, notes: notes) }
        return target.diagnostic(message, notes: notes)
    }

    public func string(_ key: String) throws -> String? {
        guard let value = target.values[key] else { return nil }
        return try value.scalarValue()
    }

    public func requiredString(_ key: String) throws -> String {
        guard let text = try string(key), !text.isEmpty else {
            throw diagnostic(key, "\(reference) needs a value for '\(key)'")
        }
        return text
    }

    public func list(_ key: String) throws -> [ResolvedValue.Item] {
        guard let value = target.values[key] else { return [] }
        return try value.listItems()
    }

    public func integer(_ key: String, in range: ClosedRange<Int>? = nil) throws -> Int? {
        guard let text = try string(key) else { return nil }
        guard let n = Int(text) else { throw diagnostic(key, "'\(key)' must be an integer, not '\(text)'") }
        if let range, !range.contains(n) {
            throw diagnostic(key, "'\(key)' must be between \(range.lowerBound) and \(range.upperBound), not \(n)")
        }
        return n
    }

    public func number(_ key: String, in range: ClosedRange<Double>? = nil) throws -> Double? {
        guard let text = try string(key) else { return nil }
        guard let x = Double(text), x.isFinite else { throw diagnostic(key, "'\(key)' must be a number, not '\(text)'") }
        if let range, !range.contains(x) {
            throw diagnostic(key, "'\(key)' must be between \(range.lowerBound) and \(range.upperBound), not \(text)")
        }
        return x
    }

    public func boolean(_ key: String) throws -> Bool? {
        guard let text = try string(key) else { return nil }
        switch text.lowercased() {
        case "true", "yes", "on", "1": return true
        case "false", "no", "off", "0": return false
        default: throw diagnostic(key, "'\(key)' must be true or false, not '\(text)'")
        }
    }

    /// A `KIND:NAME` value, optionally of a required kind.
    public func reference(_ key: String, kind: String? = nil) throws -> LocatedReference? {
        guard let value = target.values[key] else { return nil }
        let text = try value.scalarValue()
        guard let reference = TargetReference(parsing: text) else {
            throw value.diagnostic("'\(key)' must name a target as KIND:NAME, not '\(text)'")
        }
        if let kind, reference.kind != kind {
            throw value.diagnostic("'\(key)' must name a \(kind) target, not '\(reference)'")
        }
        return LocatedReference(reference, at: value.location)
    }

    /// The canonical text of every value, by key: what enters the action key. Lists are their
    /// trimmed items joined by U+001F; scalars are trimmed and unquoted. `description` and
    /// `seed` are left out (the seed enters the key on its own).
    public func canonicalParameters() throws -> [(String, String)] {
        if let cached = canonical { return cached }
        return try computeCanonicalParameters()
    }

    /// Computed once at init when every value is valid (the no-op path asks for it per target).
    private var canonical: [(String, String)]?

    private func computeCanonicalParameters() throws -> [(String, String)] {
        var out: [(String, String)] = []
        for key in keys where key.name != "description" && key.name != "seed" {
            guard let value = target.values[key.name] else { continue }
            switch key.shape {
            case .scalar: out.append((key.name, try value.scalarValue()))
            case .list: out.append((key.name, try value.listItems().map(\.text).joined(separator: "\u{1F}")))
            }
        }
        return out.sorted { $0.0 < $1.0 }
    }
}
