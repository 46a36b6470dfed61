import MLBuildBasics
import MLBuildCache
import MLBuildCore

/// One kind of target (`task`, `dataset`, `model`, …). A new kind is one type conforming to
/// this protocol, registered in `RuleRegistry`: the engine does the rest (keys, caching,
/// scheduling, freshness, events).
public protocol Rule: Sendable {
    /// The kind word in the Mlfile header.
    static var kind: String { get }
    /// Enters every action key: bump it when the rule's behaviour changes, so that results of
    /// the old behaviour stop matching.
    static var version: Int { get }
    /// The body keys this kind accepts (besides the common `description` and `seed`).
    static var keys: [RuleKey] { get }
    /// One line for `--help` and docs.
    static var summary: String { get }
    /// Whether the kind's result depends on the seed (a random split, a model's fit, a task,
    /// which gets `MLBUILD_SEED`). Only then does the seed enter the key, so that `--seed 7`
    /// rebuilds what is random and nothing else; a kind that says false runs with seed 0 and
    /// without `MLBUILD_SEED`, so it cannot depend on it by mistake.
    static var usesSeed: Bool { get }

    /// Checks and keeps the target's values, adding every problem to `diagnostics` (one per
    /// mistake: a value the configuration already reported throws `AlreadyReported` from its
    /// accessors, which `DiagnosticCollector.attempt` drops). The rule is made all the same, from
    /// the values that are good, so that `Project.load` can check the rest (outputs, dependencies)
    /// in the same run; a project with any diagnostic builds nothing. What it exposes must not
    /// stand in for a bad value (no placeholder dependency or output), or that would be reported
    /// again.
    init(configuration: TargetConfiguration, diagnostics: inout DiagnosticCollector)

    /// Targets needed beyond those in the header (e.g. `dataset = dataset:churn`).
    var implicitDependencies: [LocatedReference] { get }
    /// Files, directories or globs (workspace-relative) whose content enters the key.
    var inputs: [InputPattern] { get }
    /// Workspace-relative files or directories the rule writes; they are the target's result.
    var outputs: [String] { get }
    /// Environment variables passed through to the rule; their values enter the key.
    var environment: [String] { get }
    /// Facts the rule reads from the workspace at build time that change its result but are
    /// neither files nor Mlfile values (e.g. the git revision an image is labelled with). They
    /// enter the key as parameters named `derived.NAME`. Called when the key is computed.
    func derivedParameters(workspace: String) throws -> [(name: String, value: String)]
    /// Targets this one brings with it (`AuxiliaryTarget`), made from the same configuration.
    var auxiliaryTargets: [AuxiliaryTarget] { get }
    /// Checks the target against the other targets' rules once every target is made (a
    /// features target against its dataset's inline schema), adding each problem to
    /// `diagnostics` at the place in the Mlfile it concerns. Not called on the incremental path,
    /// which configures targets alone: what is checked here must also be checked at run time.
    func check(against rules: [TargetReference: any Rule], configuration: TargetConfiguration,
               diagnostics: inout DiagnosticCollector)
    /// Targets needed that follow only from other targets' rules (a model with `fairness` reads
    /// the datasets its features were made from), asked once every target is made. They are
    /// edges like `implicitDependencies`: in the key, in `RuleContext.dependencyOutputs`, shipped
    /// to a remote worker; the incremental path keeps them through the no-op manifest.
    func derivedDependencies(among rules: [TargetReference: any Rule]) -> [LocatedReference]
    /// Produces the outputs. Throwing (or leaving a declared output missing) fails the target.
    func run(_ context: RuleContext) async throws

    /// Whether the kind can run on a remote worker: its result must follow from its inputs,
    /// its dependencies' outputs and its values alone (not from the workspace's git state).
    static var runsRemotely: Bool { get }
    /// The command a remote worker runs for this rule, given the environment a local run
    /// would give its child processes; nil: `mlbuild exec-rule` runs the rule itself there.
    func remoteCommand(environment: [String: String]) -> (arguments: [String], environment: [String: String])?
}

extension Rule {
    public static var usesSeed: Bool { false }
    public var implicitDependencies: [LocatedReference] { [] }
    public var environment: [String] { [] }
    public func derivedParameters(workspace: String) throws -> [(name: String, value: String)] { [] }
    public var auxiliaryTargets: [AuxiliaryTarget] { [] }
    public func check(against rules: [TargetReference: any Rule], configuration: TargetConfiguration,
                      diagnostics: inout DiagnosticCollector) {}
    public func derivedDependencies(among rules: [TargetReference: any Rule]) -> [LocatedReference] { [] }
    public static var runsRemotely: Bool { true }
    public func remoteCommand(environment: [String: String]) -> (arguments: [String], environment: [String: String])? { nil }
}

/// A body key a rule accepts.
public struct RuleKey: Sendable {
    public enum Shape: Sendable { case scalar, list }

    public var name: String
    public var shape: Shape
    public var required: Bool
    public var summary: String
    /// Whether a `${secret:NAME}` may appear in the value: only where the value reaches the
    /// command's environment at run time and never a file, a key or an image (a task's `run`
    /// and `env`).
    public var acceptsSecrets: Bool

    public init(_ name: String, _ shape: Shape = .scalar, required: Bool = false, acceptsSecrets: Bool = false, summary: String) {
        self.name = name
        self.shape = shape
        self.required = required
        self.acceptsSecrets = acceptsSecrets
        self.summary = summary
    }

    /// Keys every kind accepts.
    public static let common: [RuleKey] = [
        RuleKey("description", summary: "what the target is for (not part of the key)"),
        RuleKey("seed", summary: "the target's seed (overrides --seed and the Mlfile's seed)"),
        RuleKey("execution", summary: "where the target runs: local, remote or auto (remote when an executor is configured; not part of the key)"),
        RuleKey("exec_properties", .list, summary: "platform properties a remote worker must offer, NAME=VALUE (e.g. cores=8, memory=32G; not part of the key)"),
        RuleKey("timeout", summary: "longest run of the target's remote action: seconds, or a number with s, m or h (not part of the key)"),
    ]

    /// Common keys that say where and how a target runs, never what it makes: they stay out of
    /// the action key, so a result is shared whether it was made locally or on a farm.
    public static let placementKeys: Set<String> = ["execution", "exec_properties", "timeout"]
}

/// An input as declared: a path or glob, and where it was written.
public struct InputPattern: Sendable, Hashable {
    public var pattern: String
    public var location: SourceLocation?

    public init(_ pattern: String, at location: SourceLocation? = nil) {
        self.pattern = pattern
        self.location = location
    }
}

/// What a rule sees while it runs.
public struct RuleContext: Sendable {
    public let target: TargetReference
    /// Absolute path of the workspace root (also the process's working directory). Never put it
    /// into an artifact or a key.
    public let workspace: String
    public let seed: UInt64
    /// The action key of this run (for lineage records).
    public let key: ContentDigest
    /// The clean environment for child processes: declared `env`, `MLBUILD_SEED`,
    /// `MLBUILD_TARGET` and a fixed `PATH` unless `PATH` is declared.
    public let environment: [String: String]
    /// Values of the `${secret:NAME}` references, read at run time. Never log them.
    public let secrets: [String: String]
    /// Results of the direct dependencies.
    public let dependencies: [TargetReference: ActionResult]
    /// Appends to the target's captured output (shown after it finishes).
    public let output: OutputSink
    public let commandRunner: any CommandRunner
    /// The local cache directory, for rules that keep reusable intermediate pieces in its CAS
    /// (the container rule's compressed layer blobs, so `cache verify`/`gc` cover them). nil when
    /// the caller has none. Like `workspace`, never put its path into an artifact or a key.
    public let cache: CacheLayout?
    /// Where rule work runs (`budget.run`) and where its parallel loops find helpers: the
    /// build's `-j` budget. In-process rules look at `budget.isCancelled` where a check is cheap.
    public let budget: WorkBudget
    /// Where the rule says how far it has got (`context.progress.report(done:total:unit:)`);
    /// cheap to call often (it throttles itself).
    public let progress: RuleProgress
    /// This target's declared output paths, normalized and relative to `workspace`: a rule
    /// writes there instead of rebuilding the paths from its kind and name.
    public let outputs: [String]
    /// Each direct dependency's declared output paths, normalized and relative to `workspace`
    /// (where the rule reads them).
    public let dependencyOutputs: [TargetReference: [String]]
    /// The SHA-256 of each input file as the key hashed it, by workspace-relative path (empty
    /// when the caller did not resolve inputs: a rule then hashes what it needs itself).
    public let inputDigests: [String: ContentDigest]

    public init(target: TargetReference, workspace: String, seed: UInt64, key: ContentDigest,
                environment: [String: String], secrets: [String: String],
                dependencies: [TargetReference: ActionResult], output: OutputSink, commandRunner: any CommandRunner,
                cache: CacheLayout? = nil, budget: WorkBudget = .shared, progress: RuleProgress = .none,
                outputs: [String] = [], dependencyOutputs: [TargetReference: [String]] = [:],
                inputDigests: [String: ContentDigest] = [:]) {
        self.target = target
        self.workspace = workspace
        self.seed = seed
        self.key = key
        self.environment = environment
        self.secrets = secrets
        self.dependencies = dependencies
        self.output = output
        self.commandRunner = commandRunner
        self.cache = cache
        self.budget = budget
        self.progress = progress
        self.outputs = outputs
        self.dependencyOutputs = dependencyOutputs
        self.inputDigests = inputDigests
    }

    /// The one declared output of `dependency` (a dataset's, features' or model's directory),
    /// or a failure naming it when it declares none or several.
    public func outputDirectory(of dependency: TargetReference) throws -> String {
        guard let paths = dependencyOutputs[dependency], paths.count == 1, let path = paths.first else {
            throw RuleFailure("internal: \(target) does not know where \(dependency)'s output is")
        }
        return path
    }

    /// This target's one declared output (a dataset's, features' or model's directory).
    public func outputDirectory() throws -> String {
        guard outputs.count == 1, let path = outputs.first else {
            throw RuleFailure("internal: \(target) declares \(outputs.count) outputs, not one directory")
        }
        return path
    }
}

/// A rule's failure with a message meant for the user as it is.
public struct RuleFailure: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
