import ArgumentParser
import Foundation
import MLBuildCache
import MLBuildCore
import MLBuildDatasets
import MLBuildEngine
import MLBuildRules

/// `mlbuild exp run|show|apply`: hyper-parameter sweeps built side by side with the workspace.
struct ExperimentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exp",
        abstract: "Sweep Mlfile parameters (exp run), compare the variants (exp show), keep one (exp apply).",
        subcommands: [ExperimentRunCommand.self, ExperimentShowCommand.self, ExperimentApplyCommand.self]
    )
}

/// `mlbuild exp run --set TARGET.KEY=V1,V2 … [--random N --seed S] [-j N] [TARGET…]`.
///
/// Each variant is the Mlfile with the variant's values written in (`MlfileValueEdit`),
/// configured as usual; the swept targets and every target of the build that depends on them
/// are relocated to `build/exp/<id>/` (`Project.relocating`), so they get their own keys and
/// outputs and the workspace's `build/` is not touched. The targets that do not depend on a
/// swept one are built first, once, as `mlbuild` builds them; each variant then finds them
/// fresh. Variants run up to `-j` at a time, each with its own state file
/// (`.mlbuild/exp/<id>.state`); a failed variant does not stop the others (exit 1 at the end).
/// Each variant is recorded in the run history as a run marked with its id.
struct ExperimentRunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Build every combination of the --set values, each variant in build/exp/<id>/.",
        discussion: """
        Each --set names a target, one of its keys and the values to try: \
        --set model:churn.l2=0.1,1,10 --set model:churn_gbt.learning_rate=0.05,0.1 builds 3 x 2 = 6 variants. \
        A variant's id is exp- and 8 hex digits of a hash of its values, so running the same sweep again builds \
        nothing (each variant is fresh, or restored from the cache) under the same ids. TARGETs (default: the swept targets) are \
        built in every variant; targets that do not depend on a swept one are built once, in the workspace. \
        Each variant writes build/exp/<id>/exp.json (its values, each target's status and the models' metrics). \
        Here --seed S seeds the --random draw only (the Mlfile's seeds are kept; sweep a target's seed with \
        --set TARGET.seed=1,2,3). Exit 1 when a variant failed (the others are built all the same).
        """
    )

    @OptionGroup var workspaceOptions: WorkspaceOptions
    @OptionGroup(title: "Run history") var historyOptions: HistoryOptions

    @Option(name: .customLong("set"), help: ArgumentHelp("A target's key and the values to try, TARGET.KEY=V1,V2,… (repeatable).",
                                                          valueName: "TARGET.KEY=VALUES"))
    var sets: [String] = []

    @Option(help: ArgumentHelp("Build N combinations drawn at random (seeded by --seed) instead of all.", valueName: "N"))
    var random: Int?

    @Option(name: .shortAndLong, help: ArgumentHelp("Run up to N variants at once (default: the number of cores).", valueName: "N"))
    var jobs: Int?

    @Argument(help: ArgumentHelp("Targets to build in every variant, as KIND:NAME (default: the swept targets).", valueName: "TARGET"))
    var targets: [String] = []

    @Flag(help: "Print the variants as JSON on stdout (each one's exp.json, in order) instead of one line each.")
    var json = false

    func validate() throws {
        if let jobs, jobs < 1 { throw ValidationError("-j must be at least 1") }
        if sets.isEmpty { throw ValidationError("exp run needs at least one --set TARGET.KEY=VALUE[,VALUE…]") }
        if let random, random < 1 { throw ValidationError("--random must be at least 1") }
        if workspaceOptions.seed != nil, random == nil {
            throw ValidationError("--seed seeds the --random draw; to sweep a target's seed use --set TARGET.seed=1,2,3")
        }
    }

    func run() async throws {
        let workspace = try workspaceOptions.workspace()
        let file = workspaceOptions.file
        let bytes: [UInt8]
        do { bytes = try FileSystem.readBytes(file) } catch {
            throw CLIError.mlfile("no Mlfile at '\(file)' in \(workspace.root) (use -f FILE or -C DIR)")
        }
        let project = try Self.load(bytes, path: file, workspace: workspace)
        let sweep = try ExperimentSweep(arguments: sets, project: project)
        let roots: [TargetReference]
        if targets.isEmpty {
            roots = sweep.targets
        } else {
            do { roots = try project.resolveTargets(targets) } catch let list as DiagnosticList {
                throw CLIError.usage(list.diagnostics.map(\.message).joined(separator: "\n"))
            }
        }
        let order = project.graph.closure(of: roots)
        // Relocated: the swept targets and what depends on them, within this build.
        var relocated = Set(sweep.targets)
        for target in order where project.graph.dependencies(of: target).contains(where: relocated.contains) { relocated.insert(target) }
        // A relocated model's cross-validation folds train with its values: relocated with it.
        for target in relocated.sorted() { relocated.formUnion(project.auxiliaryTargets(of: target)) }
        relocated.formIntersection(order)
        if let outside = sweep.targets.first(where: { !order.contains($0) }) {
            throw CLIError.usage("--set names \(outside), which none of \(roots.map(\.description).joined(separator: ", ")) needs")
        }
        let movable: Set<String> = [DatasetRule.kind, FeaturesRule.kind, ModelRule.kind, ModelFoldRule.kind]
        if let other = order.first(where: { relocated.contains($0) && !movable.contains($0.kind) }) {
            throw CLIError.usage("\(other) depends on a swept target; exp run builds only dataset, features and model targets per variant")
        }

        // Each value on its own first, so that a bad one is named by its --set; then each variant.
        for parameter in sweep.parameters {
            for value in parameter.values {
                let change = MlfileValueEdit.Change(target: parameter.target, key: parameter.key, value: value)
                do { _ = try Self.load(MlfileValueEdit.apply([change], to: bytes, path: file), path: file, workspace: workspace) } catch {
                    throw CLIError.usage("--set \(parameter.argument): value '\(value)' is rejected: \(Self.message(error))")
                }
            }
        }
        let variants = random.map { sweep.random($0, seed: workspaceOptions.seed ?? 0) } ?? sweep.grid
        var projects: [(ExperimentSweep.Variant, Project)] = []
        for variant in variants {
            let edited: Project
            do { edited = try Self.load(MlfileValueEdit.apply(variant.changes, to: bytes, path: file), path: file, workspace: workspace) } catch {
                let values = variant.changes.map { "\($0.target).\($0.key)=\($0.value)" }.joined(separator: " ")
                throw CLIError.usage("variant \(variant.id) (\(values)) is rejected: \(Self.message(error))")
            }
            projects.append((variant, edited.relocating(relocated, under: "\(ExperimentRecord.directory)/\(variant.id)")))
        }

        let workspaceLock = try FileLock(path: workspace.lockPath)
        if !workspaceLock.tryLock(.exclusive) {
            MLBuildMain.printError("mlbuild: waiting for another mlbuild in this workspace…")
            try workspaceLock.lock(.exclusive)
        }
        defer { workspaceLock.unlock() }
        if workspace.cache.isReadOnly {
            throw CLIError.usage("the cache directory \(workspace.cache.root) is read-only; exp run stores every variant's results there")
        }
        let cacheLock = try FileLock(path: workspace.cache.lockPath)
        try cacheLock.lock(.shared)
        defer { cacheLock.unlock() }
        let statCache = StatCache(path: workspace.statCachePath)
        let jobs = self.jobs ?? ProcessInfo.processInfo.activeProcessorCount
        let console = ConsoleReporter(live: false)

        try FileSystem.createDirectories("\(workspace.stateDirectory)/exp")
        // SIGINT/SIGTERM stop the shared build and every variant as they stop `mlbuild build`:
        // children by process group, nothing half-written kept, exit 130.
        let statePath = workspace.stateDirectory
        let (relocatedTargets, variantProjects) = (relocated, projects)
        let (outcome, signal) = await BuildCancellation.watch { () -> (sharedFailed: Bool, builds: [VariantBuild]) in
            // The shared part, once, as a normal build of those targets.
            let shared = order.filter { !relocatedTargets.contains($0) }
            if !shared.isEmpty {
                let builder = Builder(project: project, workspace: workspace, statCache: statCache)
                let summary = await builder.build(shared, options: BuildOptions(jobs: jobs), observer: SharedTargetsReporter(console))
                if !summary.succeeded || summary.cancelled { return (true, []) }
            }
            let builds = await withTaskGroup(of: (Int, VariantBuild).self) { group in
                var builds: [Int: VariantBuild] = [:]
                var next = 0
                func start() {
                    guard next < variantProjects.count, !Task.isCancelled else { return }
                    let index = next, (variant, variantProject) = variantProjects[index]
                    next += 1
                    var variantWorkspace = workspace
                    variantWorkspace.stateFile = "\(statePath)/exp/\(variant.id).state"
                    group.addTask {
                        let started = Date()
                        let builder = Builder(project: variantProject, workspace: variantWorkspace, statCache: statCache)
                        let summary = await builder.build(roots, options: BuildOptions(jobs: 1, keepGoing: true),
                                                          observer: ExperimentReporter(id: variant.id))
                        return (index, VariantBuild(workspace: variantWorkspace, summary: summary, started: started, finished: Date(),
                                                    record: Self.record(variant, summary: summary, project: variantProject)))
                    }
                }
                for _ in 0..<min(jobs, variantProjects.count) { start() }
                while let finished = await group.next() {
                    builds[finished.0] = finished.1
                    start()
                }
                return variantProjects.indices.compactMap { builds[$0] }
            }
            return (false, builds)
        }
        if signal != nil {
            // No descendant of a cancelled target outlives mlbuild; a variant that did not
            // finish leaves no exp.json and no history run (the next exp run builds it).
            ProcessGroupTermination.waitForAll()
            let done = outcome.builds.filter { !$0.summary.cancelled }.count
            MLBuildMain.printError("mlbuild: exp run cancelled (\(BuildCancellation.name(of: signal ?? SIGINT))): "
                + "\(done) of \(counted(projects.count, "variant")) finished")
            throw ExitCode(BuildCancellation.exitStatus)
        }
        if outcome.sharedFailed { throw CLIError.failed }
        let builds = outcome.builds
        // In the history, in the variants' order, one run each; the first problem stops recording (one warning).
        let historyPath = historyOptions.path(in: workspace)
        for (build, (variant, variantProject)) in zip(builds, projects) {
            let recorder = HistoryRecorder(path: historyPath, workspace: workspace, mlfilePath: file, experiment: variant.id,
                                           startedAt: build.started)
            recorder.finish(build.summary, project: variantProject, workspace: build.workspace, at: build.finished)
            if recorder.warned { break }
        }
        let records = builds.map(\.record)
        var failed = 0
        for record in records {
            do { try record.write() } catch { MLBuildMain.printError("warning: cannot write \(ExperimentRecord.path(of: record.id)): \(error)") }
            if !record.succeeded { failed += 1 }
            let values = record.parameters.keys.sorted().map { "\($0)=\(record.parameters[$0] ?? "")" }.joined(separator: " ")
            if !json { print("\(record.id)\t\(record.succeeded ? "ok" : "failed")\t\(values)") }
        }
        if json {
            let variants = records.map { record -> JSONValue in
                guard case .object(var members) = record.json else { return record.json }
                members["status"] = .string(record.succeeded ? "ok" : "failed")
                return .object(members)
            }
            print(String(decoding: CanonicalJSON.serialize(.object(["variants": .array(variants)])), as: UTF8.self), terminator: "")
        }
        MLBuildMain.printError("mlbuild: \(counted(records.count, "variant")): \(records.count - failed) ok, \(failed) failed "
            + "(mlbuild exp show compares them)")
        if failed > 0 { throw CLIError.failed }
    }

    /// A finished variant: what the history and exp.json record of it.
    struct VariantBuild: Sendable {
        var workspace: Workspace
        var summary: BuildSummary
        var started: Date
        var finished: Date
        var record: ExperimentRecord
    }

    /// The exp.json of a finished variant build.
    static func record(_ variant: ExperimentSweep.Variant, summary: BuildSummary, project: Project) -> ExperimentRecord {
        var record = ExperimentRecord(id: variant.id, parameters: [:], targets: [:])
        for change in variant.changes { record.parameters["\(change.target).\(change.key)"] = change.value }
        for outcome in summary.outcomes {
            var entry = ExperimentRecord.Target(status: outcome.status.rawValue, metrics: nil)
            let succeeded = outcome.status != .failed && outcome.status != .skipped
            if succeeded, outcome.target.kind == ModelRule.kind, let directory = project.rules[outcome.target]?.outputs.first {
                entry.metrics = ExperimentRecord.metrics(at: "\(PathNormalizer.normalize(directory))/metrics.json")
            }
            record.targets[outcome.target.description] = entry
        }
        return record
    }

    /// Parses and configures Mlfile bytes (the Mlfile's own seed: `--seed` seeds `--random`).
    static func load(_ bytes: [UInt8], path: String, workspace: Workspace) throws -> Project {
        do {
            let mlfile = try Mlfile.load(path: path, bytes: bytes, environment: workspace.environment)
            return try Project.load(mlfile: mlfile, registry: BuiltinRules.registry, seedOverride: nil,
                                    cacheDirectory: workspace.relativePath(of: workspace.cache.root))
        } catch let diagnostic as Diagnostic {
            throw CLIError.diagnostics(DiagnosticList([diagnostic]))
        } catch let list as DiagnosticList {
            throw CLIError.diagnostics(list)
        }
    }

    /// The messages of an Mlfile error, without the Mlfile's line (the value came from --set).
    static func message(_ error: Error) -> String {
        switch error {
        case CLIError.diagnostics(let list): return list.diagnostics.map(\.message).joined(separator: "; ")
        case let failure as MlfileValueEdit.Failure: return failure.description
        default: return "\(error)"
        }
    }
}

/// Progress of one variant's build, each line tagged with the variant's id; fresh targets
/// (the shared ones) are not listed.
final class ExperimentReporter: BuildObserver {
    let id: String
    init(id: String) { self.id = id }

    func targetFinished(_ outcome: TargetOutcome, done: Int, total: Int) {
        guard outcome.status != .fresh else { return }
        var text = "[\(id)] \(outcome.status.rawValue) \(outcome.target)"
        switch outcome.status {
        case .built: text += String(format: " (%.2fs)", outcome.seconds)
        case .restored: text += " (from cache)"
        default: break
        }
        text += "\n"
        if !outcome.output.isEmpty { text += outcome.output.hasSuffix("\n") ? outcome.output : outcome.output + "\n" }
        if outcome.status == .failed, let message = outcome.message { text += "error: [\(id)] \(outcome.target): \(message)\n" }
        FileHandle.standardError.write(Data(text.utf8))
    }

    func warning(_ text: String) {
        FileHandle.standardError.write(Data("[\(id)] \(text.hasPrefix("warning:") ? text : "warning: " + text)\n".utf8))
    }

    func buildFinished(_ summary: BuildSummary) {}
}

/// The console for the shared targets' build, without its summary line when all were fresh.
final class SharedTargetsReporter: BuildObserver {
    let console: ConsoleReporter
    init(_ console: ConsoleReporter) { self.console = console }

    func targetFinished(_ outcome: TargetOutcome, done: Int, total: Int) { console.targetFinished(outcome, done: done, total: total) }
    func warning(_ text: String) { console.warning(text) }
    func buildFinished(_ summary: BuildSummary) {
        if summary.count(.fresh) < summary.outcomes.count { console.buildFinished(summary) }
    }
}
