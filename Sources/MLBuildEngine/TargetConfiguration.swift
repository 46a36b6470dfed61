import MLBuildCore

/// A target's values, checked against its kind's keys, with typed accessors whose errors point
/// at the value in the Mlfile.
///
/// A key that was written but has no usable value (its `${…}` failed, or it holds a secret it
/// may not) is reported once, here or by the resolver: its accessors throw `AlreadyReported`,
/// `has` is true and `value` is nil, so that a rule neither repeats the problem nor takes the
/// key for missing.
public struct TargetConfiguration: Sendable {
    public let target: ResolvedTarget
    public let keys: [RuleKey]
    /// The seed in force for this target (its own `seed`, else `--seed`, else the Mlfile's, else 0).
    public let seed: UInt64
    /// Written keys without a usable value (see above).
    public let unusableKeys: Set<String>

    /// The target's own reference (an auxiliary target's differs from `target.reference`).
    public private(set) var reference: TargetReference

    /// Checks for unknown and missing keys, refused secrets and the seed, adding every problem
    /// to `diagnostics`; the configuration is made all the same, from the values that are good,
    /// so that the rule can check the rest.
    public init(target: ResolvedTarget, keys: [RuleKey], defaultSeed: UInt64, diagnostics: inout DiagnosticCollector) {
        self.target = target
        reference = target.reference
        self.keys = keys + RuleKey.common
        for key in target.keyOrder where !self.keys.contains(where: { $0.name == key }) {
            let names = self.keys.map(\.name)
            let hint = Suggestion.hint(for: key, among: names)
            let location = target.keyLocations[key] ?? target.nameLocation
            diagnostics.add(target.source.diagnostic("unknown key '\(key)' for \(target.reference.kind) targets\(hint)", at: location,
                                                     notes: ["\(target.reference.kind) accepts: \(names.sorted().joined(separator: ", "))"]))
        }
        var unusable: Set<String> = []
        if target.hasErrors { unusable = Set(target.keyOrder.filter { target.values[$0] == nil }) }
        // A secret anywhere else would be written into a path, a file, a key or an image.
        let holdsSecret = target.values.values.contains { $0.scalars.contains(ResolvedValue.secretOpen) }
        for key in self.keys where holdsSecret && !key.acceptsSecrets {
            if let value = target.values[key.name], value.scalars.contains(ResolvedValue.secretOpen) {
                diagnostics.add(value.diagnostic("'\(key.name)' cannot hold a secret: ${secret:…} is allowed only in a task's "
                    + "'run' and 'env', where its value reaches the command at run time and nothing else, and in a dataset's 'pseudonymize_key'"))
                unusable.insert(key.name)
            }
        }
        unusableKeys = unusable
        // Only when the whole body was read: a key may sit on a line that could not be.
        if !target.isIncomplete {
            for key in self.keys where key.required && target.keyLocations[key.name] == nil {
                diagnostics.add(target.diagnostic("\(target.reference) is missing the required key '\(key.name)'"))
            }
        }
        var seed = defaultSeed
        if let value = target.values["seed"], !unusable.contains("seed") {
            if let text = diagnostics.attempt({ try value.scalarValue() }) {
                if let n = UInt64(text) { seed = n } else {
                    diagnostics.add(value.diagnostic("seed must be a non-negative integer, not '\(text)'"))
                }
            }
        }
        self.seed = seed
        canonical = try? computeCanonicalParameters()
    }

    /// Whether `key` was written (even when its value is not usable).
    public func has(_ key: String) -> Bool { target.keyLocations[key] != nil }

    /// Whether `key` is surely not written: not there, and the whole body was read. A check that
    /// complains about an absent key asks this, not `!has`.
    public func lacks(_ key: String) -> Bool { !has(key) && !target.isIncomplete }

    /// The usable value of `key`, or nil (not written, or already reported).
    public func value(_ key: String) -> ResolvedValue? {
        unusableKeys.contains(key) ? nil : target.values[key]
    }

    /// The usable value, nil when not written; `AlreadyReported` when written but not usable.
    private func checkedValue(_ key: String) throws -> ResolvedValue? {
        if unusableKeys.contains(key) { throw AlreadyReported("'\(key)' of \(reference)") }
        return target.values[key]
    }

    /// A diagnostic pointing at `key`'s value (or at the target when absent).
    public func diagnostic(_ key: String, _ message: String, notes: [String] = []) -> Diagnostic {
        if let value = target.values[key] { return value.diagnostic(message, notes: notes) }
        return target.diagnostic(message, notes: notes)
    }

    public func string(_ key: String) throws -> String? {
        guard let value = try checkedValue(key) else { return nil }
        return try value.scalarValue()
    }

    /// A non-empty value. A required key that is not written is reported by `init` (or its body
    /// was not read whole, which is reported too): this throws `AlreadyReported` for it.
    public func requiredString(_ key: String) throws -> String {
        guard let text = try string(key) else {
            if target.isIncomplete || keys.contains(where: { $0.name == key && $0.required }) {
                throw AlreadyReported("\(reference) is missing '\(key)'")
            }
            throw diagnostic(key, "\(reference) needs a value for '\(key)'")
        }
        guard !text.isEmpty else {
            throw diagnostic(key, "\(reference) needs a value for '\(key)'")
        }
        return text
    }

    public func list(_ key: String) throws -> [ResolvedValue.Item] {
        guard let value = try checkedValue(key) else { return [] }
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
        guard let value = try checkedValue(key) else { return nil }
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
    /// trimmed items joined by U+001F; scalars are trimmed and unquoted. `description`, `seed`
    /// (which enters the key on its own) and the placement keys (`RuleKey.placementKeys`) are
    /// left out.
    public func canonicalParameters() throws -> [(String, String)] {
        if let cached = canonical { return cached }
        return try computeCanonicalParameters()
    }

    /// The configuration of an auxiliary target of this one (`AuxiliaryTarget`): the same values,
    /// keys and seed, its own reference, and `parameters` added to the canonical parameters
    /// (nil when a value of the parent is not usable: the parent's own diagnostics say why).
    public func auxiliary(_ reference: TargetReference, parameters: [(String, String)]) -> TargetConfiguration? {
        guard let own = canonical else { return nil }
        var copy = self
        copy.reference = reference
        copy.canonical = (own + parameters).sorted { $0.0 < $1.0 }
        return copy
    }

    /// Computed once at init when every value is valid (the no-op path asks for it per target).
    private var canonical: [(String, String)]?

    private func computeCanonicalParameters() throws -> [(String, String)] {
        var out: [(String, String)] = []
        for key in keys where key.name != "description" && key.name != "seed" && !RuleKey.placementKeys.contains(key.name) {
            guard let value = target.values[key.name] else { continue }
            switch key.shape {
            case .scalar: out.append((key.name, try value.scalarValue()))
            case .list: out.append((key.name, try value.listTexts().joined(separator: "\u{1F}")))
            }
        }
        return out.sorted { $0.0 < $1.0 }
    }
}
