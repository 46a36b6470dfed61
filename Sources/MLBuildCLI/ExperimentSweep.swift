import MLBuildCore
import MLBuildEngine
import MLBuildRules
import MLBuildTraining

/// What `exp run` sweeps: each `--set TARGET.KEY=V1,V2,…` (a target's scalar Mlfile key and
/// the values to try), and the variants drawn from them — every combination, or `--random N`
/// of them chosen by SplitMix64 from `--seed`.
struct ExperimentSweep: Sendable {
    struct Parameter: Sendable {
        /// The `--set` argument as typed (errors name it).
        var argument: String
        var target: TargetReference
        var key: String
        var values: [String]
        var name: String { "\(target).\(key)" }
    }

    struct Variant: Sendable {
        var id: String
        /// One change per parameter, in `--set` order.
        var changes: [MlfileValueEdit.Change]
    }

    var parameters: [Parameter]

    /// Parses and checks each `--set` against the project: the target exists, its kind has the
    /// key, the key holds one value, and each value can be written into the Mlfile.
    init(arguments: [String], project: Project) throws {
        var parameters: [Parameter] = []
        for argument in arguments {
            let example = "expected TARGET.KEY=VALUE[,VALUE…], e.g. --set model:churn.l2=0.1,1,10"
            guard let equals = argument.firstIndex(of: "="), let dot = argument[..<equals].lastIndex(of: ".") else {
                throw CLIError.usage("--set \(argument): \(example)")
            }
            let targetText = String(argument[..<dot]), key = String(argument[argument.index(after: dot)..<equals])
            let values = argument[argument.index(after: equals)...].split(separator: ",", omittingEmptySubsequences: false)
                .map { String($0) }
            guard let target = TargetReference(parsing: targetText), !key.isEmpty else {
                throw CLIError.usage("--set \(argument): \(example)")
            }
            guard project.graph.dependencies[target] != nil, let rule = project.rules[target] else {
                let hint = Suggestion.hint(for: targetText, among: project.graph.nodes.map(\.description))
                throw CLIError.usage("--set \(argument): unknown target '\(targetText)'\(hint)")
            }
            // What a variant can differ in: not its description, nor where it runs (not part of the key).
            let keys = (type(of: rule).keys + RuleKey.common).filter { $0.name != "description" && !RuleKey.placementKeys.contains($0.name) }
            guard let ruleKey = keys.first(where: { $0.name == key }) else {
                let names = keys.map(\.name)
                throw CLIError.usage("--set \(argument): \(target.kind) targets have no key '\(key)'"
                    + "\(Suggestion.hint(for: key, among: names)) (keys: \(names.sorted().joined(separator: ", ")))")
            }
            guard ruleKey.shape == .scalar else {
                throw CLIError.usage("--set \(argument): '\(key)' is a list; --set sweeps keys that hold one value")
            }
            for value in values {
                if let problem = MlfileValueEdit.problem(writing: value) {
                    throw CLIError.usage("--set \(argument): value '\(value)' has \(problem)")
                }
            }
            if let repeated = Dictionary(grouping: values, by: { $0 }).filter({ $0.value.count > 1 }).keys.sorted().first {
                throw CLIError.usage("--set \(argument): value '\(repeated)' is given twice")
            }
            if let earlier = parameters.first(where: { $0.target == target && $0.key == key }) {
                throw CLIError.usage("--set \(argument): \(target).\(key) is already swept by --set \(earlier.argument)")
            }
            parameters.append(Parameter(argument: argument, target: target, key: key, values: values))
        }
        self.parameters = parameters
    }

    /// The swept targets, sorted.
    var targets: [TargetReference] { Array(Set(parameters.map(\.target))).sorted() }

    /// Every combination, the first `--set` varying slowest.
    var grid: [Variant] {
        var combinations: [[String]] = [[]]
        for parameter in parameters {
            combinations = combinations.flatMap { prefix in parameter.values.map { prefix + [$0] } }
        }
        return combinations.map(variant)
    }

    /// `count` distinct combinations drawn with SplitMix64(seed), in grid order.
    func random(_ count: Int, seed: UInt64) -> [Variant] {
        let all = grid
        var indices = Array(all.indices)
        var generator = SplitMix64(seed: seed)
        generator.shuffle(&indices)
        return indices.prefix(count).sorted().map { all[$0] }
    }

    func variant(_ values: [String]) -> Variant {
        let changes = zip(parameters, values).map { MlfileValueEdit.Change(target: $0.target, key: $0.key, value: $1) }
        return Variant(id: Self.id(changes), changes: changes)
    }

    /// `exp-` and 8 hex digits of the stable hash of the sorted `TARGET.KEY=VALUE` pairs: the
    /// same values always give the same id (and so the same output tree and keys).
    static func id(_ changes: [MlfileValueEdit.Change]) -> String {
        var hasher = StableHasher(domain: "mlbuild-exp-v1")
        let pairs = changes.map { "\($0.target).\($0.key)=\($0.value)" }.sorted()
        hasher.appendCount(pairs.count)
        for pair in pairs { hasher.append(pair) }
        return "exp-" + hasher.finalize().hex.prefix(8)
    }
}
