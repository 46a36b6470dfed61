import MLBuildCache
import MLBuildCore

/// Everything that enters a target's action key, kept apart so that `--explain` can say which
/// part changed. The key is SHA-256 over a type-tagged encoding of, in this order: the domain
/// `mlbuild-action-v1`, kind, rule version, the canonical parameters sorted by name, the input
/// files (workspace-relative path, content digest) sorted by path, the dependencies
/// (`KIND:NAME`, output-manifest digest) sorted, the seed when the kind uses it
/// (`Rule.usesSeed`), and the passed-through environment (name, value) sorted by name. Nothing
/// else: no absolute path, clock, host or user.
public struct TargetFingerprint: Sendable, Equatable {
    public var kind: String
    public var ruleVersion: Int
    public var parameters: [(String, String)]
    public var inputs: [(String, ContentDigest)]
    public var dependencies: [(TargetReference, ContentDigest)]
    /// nil for a kind that does not use the seed: then it is not hashed at all (the keys of
    /// kinds that use it keep the layout they always had).
    public var seed: UInt64?
    public var environment: [(String, String)]

    public var key: ContentDigest {
        var h = StableHasher(domain: "mlbuild-action-v1")
        h.append(kind)
        h.append(ruleVersion)
        h.appendCount(parameters.count)
        for (name, value) in parameters {
            h.append(name)
            h.append(value)
        }
        h.appendCount(inputs.count)
        for (path, digest) in inputs {
            h.append(path)
            h.append(digest)
        }
        h.appendCount(dependencies.count)
        for (reference, digest) in dependencies {
            h.append(reference.description)
            h.append(digest)
        }
        if let seed { h.append(seed) }
        h.appendCount(environment.count)
        for (name, value) in environment {
            h.append(name)
            h.append(value)
        }
        return h.finalize()
    }

    public static func == (a: TargetFingerprint, b: TargetFingerprint) -> Bool { a.key == b.key }

    /// What is remembered between runs for `--explain` and `status`: digests, and the values
    /// of parameters that `FingerprintSummary.displayableValue` lets be shown (never an
    /// environment value, a secret or a derived parameter).
    public var summary: FingerprintSummary {
        var values: [(String, String)] = []
        for (name, value) in parameters {
            if let shown = FingerprintSummary.displayableValue(name: name, value: value) { values.append((name, shown)) }
        }
        return FingerprintSummary(
            ruleVersion: "\(kind)/\(ruleVersion)",
            parameters: parameters.map { ($0.0, ContentDigest.of($0.1)) },
            inputs: inputs,
            dependencies: dependencies.map { ($0.0.description, $0.1) },
            seed: seed ?? 0,
            environment: environment.map { ($0.0, ContentDigest.of($0.1)) },
            parameterValues: values)
    }
}

/// The remembered shape of a fingerprint (names and digests, and the values of parameters that
/// may be shown).
public struct FingerprintSummary: Sendable {
    public var ruleVersion: String
    public var parameters: [(String, ContentDigest)]
    public var inputs: [(String, ContentDigest)]
    public var dependencies: [(String, ContentDigest)]
    /// 0 for a kind that does not use the seed (the state file keeps a number either way).
    public var seed: UInt64
    public var environment: [(String, ContentDigest)]
    /// Values of the parameters that may be shown (`displayableValue`), sorted by name; a
    /// parameter without one here is still compared, by digest.
    public var parameterValues: [(String, String)]

    public init(ruleVersion: String, parameters: [(String, ContentDigest)], inputs: [(String, ContentDigest)],
                dependencies: [(String, ContentDigest)], seed: UInt64, environment: [(String, ContentDigest)],
                parameterValues: [(String, String)] = []) {
        self.ruleVersion = ruleVersion
        self.parameters = parameters
        self.inputs = inputs
        self.dependencies = dependencies
        self.seed = seed
        self.environment = environment
        self.parameterValues = parameterValues
    }

    /// Longer values are remembered by digest only (the state file stays small).
    public static let maximumShownValueBytes = 80

    /// The text `--explain` and `status` may show for a parameter's value, or nil when it must
    /// not be remembered: a value that holds a `${secret:…}` reference (left in the canonical
    /// value between `ResolvedValue.secretOpen` and `secretClose`); any derived parameter
    /// (`derived.…`: read from the workspace by rule code at build time, not written in the
    /// Mlfile, so nothing tells whether it carries something sensitive, and no mask applies);
    /// a value longer than `maximumShownValueBytes` or with control characters (a multi-line
    /// `run`). List items (joined by U+001F in the canonical form) are shown comma-separated.
    public static func displayableValue(name: String, value: String) -> String? {
        guard !name.hasPrefix("derived."), value.utf8.count <= maximumShownValueBytes, !value.contains("${secret:"),
              !value.unicodeScalars.contains(where: { $0 == ResolvedValue.secretOpen || $0 == ResolvedValue.secretClose })
        else { return nil }
        let shown = value.replacingOccurrences(of: "\u{1F}", with: ", ")
        guard !shown.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else { return nil }
        return shown
    }

    /// The first difference from `previous`, in the order a user thinks about them. `status`
    /// (which builds nothing) and a build compute it the same way; the one input that differs
    /// between them is a derived parameter, read from the workspace when the key is computed,
    /// after a build has restored or built the dependencies (restoring a tracked output makes
    /// the git revision `-dirty`). So derived parameters are compared after the dependencies:
    /// when a dependency changed too, both say so.
    public func firstDifference(from previous: FingerprintSummary) -> RunReason.Cause? {
        if ruleVersion != previous.ruleVersion { return .ruleChanged }
        if let d = Self.firstChange(inputs, previous.inputs) { return .inputChanged(d) }
        let declared = parameters.filter { !$0.0.hasPrefix("derived.") }
        let derived = parameters.filter { $0.0.hasPrefix("derived.") }
        if let d = Self.firstChange(declared, previous.parameters.filter { !$0.0.hasPrefix("derived.") }) {
            return .parameterChanged(d, values: parameterChange(d, from: previous))
        }
        if let d = Self.firstChange(dependencies, previous.dependencies) { return .dependencyChanged(d) }
        if let d = Self.firstChange(derived, previous.parameters.filter { $0.0.hasPrefix("derived.") }) {
            return .parameterChanged(d, values: nil)
        }
        if let d = Self.firstChange(environment, previous.environment) { return .environmentChanged(d) }
        if seed != previous.seed { return .seedChanged }
        return nil
    }

    /// The old and new values of parameter `name` when both may be shown; an absent side reads
    /// `(unset)` (the parameter was added or removed).
    private func parameterChange(_ name: String, from previous: FingerprintSummary) -> RunReason.ParameterValues? {
        func side(_ summary: FingerprintSummary) -> String? {
            guard summary.parameters.contains(where: { $0.0 == name }) else { return "(unset)" }
            return summary.parameterValues.first { $0.0 == name }?.1
        }
        guard let old = side(previous), let new = side(self) else { return nil }
        return RunReason.ParameterValues(old: old, new: new)
    }

    private static func firstChange(_ now: [(String, ContentDigest)], _ before: [(String, ContentDigest)]) -> String? {
        var old: [String: ContentDigest] = [:]
        for (name, digest) in before { old[name] = digest }
        for (name, digest) in now where old[name] != digest { return name }
        let current = Set(now.map(\.0))
        return before.map(\.0).first { !current.contains($0) }
    }
}
