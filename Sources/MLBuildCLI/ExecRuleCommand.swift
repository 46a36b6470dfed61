import ArgumentParser
import Foundation
import MLBuildCache
import MLBuildCore
import MLBuildEngine
import MLBuildRules

/// `mlbuild exec-rule SPEC`: runs one built-in target's rule in the current directory from
/// the spec a build put into its remote action's input root (`RemoteRuleSpec`). This is what a
/// Remote Execution API worker runs for a dataset, features or model target; with the same
/// binary, the outputs are bit-identical to a local build's.
struct ExecRuleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exec-rule",
        abstract: "Run one target's rule from a remote action's spec (what a remote worker runs for built-in kinds).",
        discussion: "The current directory is the action's input root: the declared inputs and the dependencies' outputs at their workspace paths. The outputs are written there; the worker collects them."
    )

    @Argument(help: ArgumentHelp("The spec file (.mlbuild/exec/rule.json in the input root).", valueName: "SPEC"))
    var spec: String

    @Option(name: .shortAndLong, help: ArgumentHelp("Threads for the rule's work (default: the number of cores).", valueName: "N"))
    var jobs: Int?

    func validate() throws {
        if let jobs, jobs < 1 { throw ValidationError("-j must be at least 1") }
    }

    func run() async throws {
        let bytes: [UInt8]
        do {
            bytes = Array(try Data(contentsOf: URL(fileURLWithPath: spec)))
        } catch {
            throw CLIError.usage("cannot read the rule spec \(spec): \(error.localizedDescription)")
        }
        let spec: RemoteRuleSpec
        let rule: any Rule
        let configuration: TargetConfiguration
        do {
            spec = try RemoteRuleSpec.decode(bytes)
            (rule, configuration) = try spec.rule(registry: BuiltinRules.registry)
        } catch {
            throw CLIError.usage("rule spec \(self.spec): \(Builder.describe(error))")
        }
        guard let target = TargetReference(parsing: spec.target), let key = ContentDigest(hex: spec.key) else {
            throw CLIError.usage("rule spec \(self.spec) names no target or key")
        }
        var dependencies: [TargetReference: ActionResult] = [:]
        var dependencyOutputs: [TargetReference: [String]] = [:]
        for dependency in spec.dependencies {
            guard let reference = TargetReference(parsing: dependency.target) else { continue }
            dependencies[reference] = dependency.result
            dependencyOutputs[reference] = dependency.outputs
        }
        for path in spec.outputs {
            try WorkspacePath.checkParents(of: path)
            try FileSystem.removeTree(path)
            try FileSystem.createDirectories(FileSystem.parent(of: path))
        }
        let budget = WorkBudget(threads: jobs ?? ProcessInfo.processInfo.activeProcessorCount)
        let sink = OutputSink()
        let context = RuleContext(
            target: target, workspace: FileManager.default.currentDirectoryPath,
            seed: type(of: rule).usesSeed ? configuration.seed : 0, key: key,
            environment: ProcessInfo.processInfo.environment, secrets: [:], dependencies: dependencies, output: sink,
            commandRunner: ProcessCommandRunner(), cache: nil, budget: budget, outputs: spec.outputs,
            dependencyOutputs: dependencyOutputs)
        do {
            try await WorkBudget.$scoped.withValue(budget) { try await rule.run(context) }
        } catch {
            FileHandle.standardOutput.write(Data(sink.finish().utf8))
            MLBuildMain.printError("mlbuild exec-rule: \(target): \(Builder.describe(error))")
            throw CLIError.failed
        }
        FileHandle.standardOutput.write(Data(sink.finish().utf8))
    }
}
