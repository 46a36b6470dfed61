import Foundation
import MLBuildCache
import MLBuildCore

/// What `mlbuild exec-rule` needs to run one built-in target on a worker exactly as a local
/// build runs it: the target's values (as a one-target Mlfile, already substituted), its seed
/// and action key, its declared outputs and its direct dependencies' outputs and results. It
/// travels as `.mlbuild/exec/rule.json` in the action's input root, next to the mlbuild binary.
///
/// Deterministic bytes (sorted keys, no time, no host, no workspace path), so the same target
/// makes the same action digest on every machine. No secret is ever in it: a target that uses
/// `${secret:…}` never runs remotely.
public struct RemoteRuleSpec: Codable, Sendable, Equatable {
    public static let currentFormat = 1
    /// Where the spec and the binary are in the input root.
    public static let path = ".mlbuild/exec/rule.json"
    public static let binaryPath = ".mlbuild/exec/mlbuild"

    public struct Dependency: Codable, Sendable, Equatable {
        public var target: String
        public var outputs: [String]
        public var result: ActionResult
    }

    public var format: Int
    /// The target to run (an auxiliary target's own reference).
    public var target: String
    /// The Mlfile target that holds the values (the parent of an auxiliary target).
    public var declaredBy: String
    public var mlfile: String
    public var seed: UInt64
    public var key: String
    public var outputs: [String]
    public var dependencies: [Dependency]

    /// The spec of `configuration`'s target, or nil when its values cannot be written as an
    /// Mlfile that reads back to the same values (the target then runs locally).
    public static func make(configuration: TargetConfiguration, key: ContentDigest, outputs: [String],
                            dependencies: [(target: TargetReference, outputs: [String], result: ActionResult)]) -> RemoteRuleSpec? {
        let resolved = configuration.target
        var text = "\(resolved.reference.kind) \(resolved.reference.name)"
        if !resolved.dependencies.isEmpty {
            text += ": " + resolved.dependencies.map(\.reference.description).joined(separator: " ")
        }
        text += "\n"
        for name in resolved.keyOrder {
            guard let value = resolved.values[name] else { return nil }
            if value.scalars.contains(ResolvedValue.secretOpen) { return nil }
            var line = ""
            for scalar in value.scalars {
                if scalar == "\n" || scalar == "\r" { return nil }
                if scalar == "$" { line += "$$" } else { line.unicodeScalars.append(scalar) }
            }
            text += "    \(name) = \(line)\n"
        }
        // Read back as exec-rule will: the same values, or the target stays local.
        guard let reread = try? Mlfile.load(path: "rule.mlfile", text: text, environment: [:]), reread.diagnostics.isEmpty,
              let target = reread.targets.first, reread.targets.count == 1, target.keyOrder == resolved.keyOrder,
              resolved.keyOrder.allSatisfy({ target.values[$0]?.scalars == resolved.values[$0]?.scalars })
        else { return nil }
        return RemoteRuleSpec(
            format: currentFormat, target: configuration.reference.description, declaredBy: resolved.reference.description,
            mlfile: text, seed: configuration.seed, key: key.hex, outputs: outputs,
            dependencies: dependencies.map { Dependency(target: $0.target.description, outputs: $0.outputs, result: $0.result) }
                .sorted { $0.target < $1.target })
    }

    public func encoded() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(self)) + [10]
    }

    public static func decode(_ bytes: [UInt8]) throws -> RemoteRuleSpec {
        let spec = try JSONDecoder().decode(RemoteRuleSpec.self, from: Data(bytes))
        guard spec.format == currentFormat else {
            throw RuleFailure("rule spec format \(spec.format) is not the \(currentFormat) this mlbuild reads")
        }
        return spec
    }

    /// The rule and configuration the spec stands for, made as `Project.load` makes them.
    public func rule(registry: RuleRegistry) throws -> (rule: any Rule, configuration: TargetConfiguration) {
        guard let own = TargetReference(parsing: target), let parent = TargetReference(parsing: declaredBy) else {
            throw RuleFailure("rule spec names no target")
        }
        let mlfile = try Mlfile.load(path: Self.path, text: self.mlfile, environment: [:])
        guard mlfile.diagnostics.isEmpty, let resolved = mlfile.target(parent) else {
            throw RuleFailure("rule spec for \(target) does not hold its values" + (mlfile.diagnostics.first.map { ": \($0.rendered)" } ?? ""))
        }
        guard let ruleType = registry.rule(for: parent.kind) else { throw RuleFailure("unknown target kind '\(parent.kind)'") }
        var diagnostics = DiagnosticCollector()
        let configuration = TargetConfiguration(target: resolved, keys: ruleType.keys, defaultSeed: seed, diagnostics: &diagnostics)
        let rule = ruleType.init(configuration: configuration, diagnostics: &diagnostics)
        if let first = diagnostics.diagnostics.first { throw first }
        if own == parent { return (rule, configuration) }
        guard let auxiliary = rule.auxiliaryTargets.first(where: { $0.reference == own }),
              let derived = configuration.auxiliary(own, parameters: auxiliary.parameters) else {
            throw RuleFailure("\(parent) brings no target \(own)")
        }
        return (auxiliary.rule, derived)
    }
}
