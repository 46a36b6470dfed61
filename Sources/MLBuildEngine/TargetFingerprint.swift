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

    /// What is remembered between runs for `--explain`: digests only, never values (an
    /// environment value could be sensitive).
    public var summary: FingerprintSummary {
        FingerprintSummary(
            ruleVersion: "\(kind)/\(ruleVersion)",
            parameters: parameters.map { ($0.0, ContentDigest.of($0.1)) },
            inputs: inputs,
            dependencies: dependencies.map { ($0.0.description, $0.1) },
            seed: seed ?? 0,
            environment: environment.map { ($0.0, ContentDigest.of($0.1)) })
    }
}

/// The remembered shape of a fingerprint (names and digests).
public struct FingerprintSummary: Sendable {
    public var ruleVersion: String
    public var parameters: [(String, ContentDigest)]
    public var inputs: [(String, ContentDigest)]
    public var dependencies: [(String, ContentDigest)]
    /// 0 for a kind that does not use the seed (the state file keeps a number either way).
    public var seed: UInt64
    public var environment: [(String, ContentDigest)]

    /// The first difference from `previous`, in the order a user thinks about them.
    public func firstDifference(from previous: FingerprintSummary) -> RunReason.Cause? {
        if ruleVersion != previous.ruleVersion { return .ruleChanged }
        if let d = Self.firstChange(inputs, previous.inputs) { return .inputChanged(d) }
        if let d = Self.firstChange(parameters, previous.parameters) { return .parameterChanged(d) }
        if let d = Self.firstChange(dependencies, previous.dependencies) { return .dependencyChanged(d) }
        if let d = Self.firstChange(environment, previous.environment) { return .environmentChanged(d) }
        if seed != previous.seed { return .seedChanged }
        return nil
    }

    private static func firstChange(_ now: [(String, ContentDigest)], _ before: [(String, ContentDigest)]) -> String? {
        var old: [String: ContentDigest] = [:]
        for (name, digest) in before { old[name] = digest }
        for (name, digest) in now where old[name] != digest { return name }
        let current = Set(now.map(\.0))
        return before.map(\.0).first { !current.contains($0) }
    }
}
