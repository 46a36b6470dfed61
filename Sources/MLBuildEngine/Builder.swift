import Foundation
import MLBuildBasics
import MLBuildCache
import MLBuildCore
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

public struct BuildOptions: Sendable {
    public var jobs: Int
    public var keepGoing: Bool
    public var explain: Bool

    public init(jobs: Int, keepGoing: Bool = false, explain: Bool = false) {
        self.jobs = max(1, jobs)
        self.keepGoing = keepGoing
        self.explain = explain
    }
}

/// Drives a build: decides per target whether it is fresh, restorable or must run, runs what
/// must run (at most `jobs` at once, dependencies first), and records results in the cache and
/// the workspace state. Keys and results do not depend on `jobs` or on timing: a target's key
/// is computed only from its own inputs and its dependencies' finished results.
public final class Builder: Sendable {
    public let project: Project
    public let workspace: Workspace
    public let statCache: StatCache
    public let store: ContentStore
    public let actions: ActionCache
    public let runner: any CommandRunner
    public let remote: (any RemoteCacheBackend)?
    /// Where targets run when not here (`--remote-executor`); nil: everything runs locally.
    public let remoteExecution: RemoteExecutionOptions?
    /// Remote actions in flight (`--remote-jobs`), apart from the `-j` budget.
    let remoteLimiter: RemoteTransferLimiter
    /// Every file-system call of the engine goes through it (the stat cache and the content
    /// store have their own, normally the same one): tests build in memory with a fake.
    public let disk: any DiskInterface
    /// Stats of every file and directory that decided a key or a freshness check in this run,
    /// taken when they were read: the no-op manifest is made of them (see NoopManifest).
    /// `usable` turns false when something outside files decided a key, or when an output is a
    /// symbolic link (the manifest compares followed stats, which cannot tell link targets apart).
    /// A file's digest is kept with its stat: a file written within the racy window is recorded
    /// with the digest this build used, so that the next check can re-hash it.
    private let witness = Mutex<(stats: [String: NoopManifest.Witnessed], usable: Bool)>(([:], true))
    /// Blobs this build found corrupt and quarantined, each reported once.
    private let quarantineReported = Mutex<Set<ContentDigest>>([])
    /// Action keys computed by this builder (a target whose state record's witness holds has
    /// its key reused, not computed): `keysComputed`.
    private let keyCount = Atomic<Int>(0)

    /// How many action keys this builder computed (by `build` or `plan`); a target whose
    /// evaluation witness matched its state record is not counted (see `EvaluationWitness`).
    public var keysComputed: Int { keyCount.load(ordering: .relaxed) }

    public init(project: Project, workspace: Workspace, statCache: StatCache, runner: any CommandRunner = ProcessCommandRunner(),
                remote: (any RemoteCacheBackend)? = nil, remoteExecution: RemoteExecutionOptions? = nil,
                disk: any DiskInterface = RealDisk()) {
        self.project = project
        self.workspace = workspace
        self.statCache = statCache
        store = ContentStore(layout: workspace.cache, disk: disk)
        actions = ActionCache(layout: workspace.cache, disk: disk)
        self.runner = runner
        self.remote = remote
        self.remoteExecution = remoteExecution
        remoteLimiter = RemoteTransferLimiter(limit: remoteExecution?.jobs ?? 1)
        self.disk = disk
    }

    // MARK: Evaluation

    /// What the scheduler decided for a target before doing anything slow.
    enum Decision: Sendable {
        case fresh(ActionResult)
        case restore(ActionResult, RunReason)
        case run(RunReason)
    }

    struct Evaluated: Sendable {
        /// nil when the key was not computed: the state record's witness held (`EvaluationWitness`),
        /// so the record's key and summary stand.
        var fingerprint: TargetFingerprint?
        var key: ContentDigest
        var decision: Decision
        /// Why the workspace state does not make the target fresh; nil without a state record
        /// (then the reason depends on what the caches hold and what is on disk).
        var recordCause: RunReason.Cause?
        /// Told to the user before the target runs (a local cache entry that was refused).
        var warning: String?
        /// The state record's summary when its key is this one: the same fingerprint, so the
        /// summary need not be derived again (a third of a fresh target's evaluation). Always
        /// set when `fingerprint` is nil.
        var recordSummary: FingerprintSummary?
        /// What the new state record keeps as its witness (nil: none).
        var witness: ContentDigest?

        var summary: FingerprintSummary {
            if let recordSummary { return recordSummary }
            // Not reached: without a fingerprint there is always the record's summary.
            return fingerprint?.summary
                ?? FingerprintSummary(ruleVersion: "", parameters: [], inputs: [], dependencies: [], seed: 0, environment: [])
        }

        /// The state record of this evaluation ending with `result`.
        func record(_ result: ActionResult) -> BuildState.Record {
            BuildState.Record(key: key, result: result, summary: summary, witness: witness)
        }
    }

    /// The fingerprint of `target` given its dependencies' results.
    /// `owner`: the target whose evaluation, restore or run looked at the path (each path's
    /// owners let the incremental path tell which targets a changed file makes stale).
    func witness(_ path: String, _ stat: FileStat?, digest: ContentDigest? = nil, by owner: TargetReference) {
        witness.withLock {
            guard let stat else { $0.usable = false; return }
            var owners = $0.stats[path]?.owners ?? []
            if !owners.contains(owner) { owners.append(owner) }
            $0.stats[path] = NoopManifest.Witnessed(stat: stat, digest: digest, owners: owners)
        }
    }

    /// What the no-op manifest should record after a successful build; nil when it must not be
    /// written. `position`: each target's index in the manifest's target list (an entry with an
    /// owner outside it gets no owners).
    public func noopEntries(position: (TargetReference) -> UInt32?) -> [NoopManifest.Entry]? {
        let (stats, usable) = witness.withLock { ($0.stats, $0.usable) }
        return usable ? NoopManifest.entries(for: stats, position: position, disk: disk) : nil
    }

    /// The environment values a rule passes through (its `environment` names that are set),
    /// sorted by name: what enters its key and what its command sees.
    func passedEnvironment(_ rule: any Rule) -> [(String, String)] {
        var environment: [(String, String)] = []
        for name in Set(rule.environment).sorted() {
            if let value = workspace.environment[name] { environment.append((name, value)) }
        }
        return environment
    }

    /// The fingerprint of `target` given its dependencies' results (sorted by target) and its
    /// derived parameters (`Rule.derivedParameters`, read once per evaluation).
    func fingerprint(of target: TargetReference, rule: any Rule, configuration: TargetConfiguration,
                     dependencies: [DependencyResult], derived: [(name: String, value: String)]) throws -> TargetFingerprint {
        var inputs: [String: ContentDigest] = [:]
        // Inputs that a dependency produced have digests verified in this run already.
        func produced(_ path: String) -> ContentDigest? {
            for dependency in dependencies { if let digest = dependency.producedDigest(path) { return digest } }
            return nil
        }
        for pattern in rule.inputs {
            if !dependencies.isEmpty, let digest = produced(PathNormalizer.normalize(pattern.pattern)) {
                inputs[PathNormalizer.normalize(pattern.pattern)] = digest
                continue
            }
            var directories: [(String, FileStat?)] = []
            for path in try InputResolver.expand(pattern, directories: &directories, disk: disk) {
                if !dependencies.isEmpty, let digest = produced(path) {
                    inputs[path] = digest
                    continue
                }
                guard let (digest, stat) = try statCache.digest(of: path) else {
                    throw RuleFailure("input '\(path)' of \(target) disappeared while it was hashed")
                }
                witness(path, stat, digest: digest, by: target)
                inputs[path] = digest
            }
            for (directory, stat) in directories { witness(directory, stat, by: target) }
        }
        var parameters = try configuration.canonicalParameters()
        if !derived.isEmpty { witness.withLock { $0.usable = false } }
        for (name, value) in derived { parameters.append(("derived.\(name)", value)) }
        parameters.sort { $0.0 < $1.0 }
        return TargetFingerprint(
            kind: type(of: rule).kind, ruleVersion: type(of: rule).version,
            parameters: parameters,
            inputs: inputs.keys.sorted().compactMap { path in inputs[path].map { (path, $0) } },
            dependencies: dependencies.map { ($0.target, $0.manifest) },
            seed: type(of: rule).usesSeed ? configuration.seed : nil, environment: passedEnvironment(rule))
    }

    /// Whether every output of `result` is on disk with its recorded digest (a symlink with its
    /// recorded target, an empty directory as a directory); else the first path that is not.
    func firstMismatchedOutput(_ result: ActionResult, of target: TargetReference) -> String? {
        for output in result.outputs {
            switch output.kind {
            case .file:
                guard let (digest, stat) = try? statCache.digest(of: output.path), digest == output.digest,
                      stat.isExecutable == output.executable || !output.executable else { return output.path }
                witness(output.path, stat, digest: digest, by: target)
            case let .symlink(link):
                guard disk.stat(output.path, followLinks: false)?.isSymbolicLink == true,
                      (try? disk.readLink(output.path)) == link else { return output.path }
                // The no-op manifest records followed stats; a link's own cannot be checked that way.
                witness(output.path, nil, by: target)
            case .directory:
                guard disk.stat(output.path, followLinks: false)?.isDirectory == true else { return output.path }
            }
        }
        return nil
    }

    /// Decides `target` given its dependencies' results (sorted by target) and the previous
    /// build's state. When the state record's witness equals this evaluation's and the record's
    /// outputs are in place, the target is fresh with the record's key, which is not computed
    /// again; anything else computes the key and decides as before (same reasons).
    func evaluate(_ target: TargetReference, dependencies: [DependencyResult], state: BuildState) throws -> Evaluated {
        guard let rule = project.rules[target], let configuration = project.configurations[target] else {
            throw RuleFailure("internal: \(target) is not configured")
        }
        let derived = try rule.derivedParameters(workspace: workspace.root)
        let declared = DeclaredOutputs(rule.outputs)
        let record = state.records[target]
        // Taken before the key's inputs are read: a file that changes in between leaves a
        // witness that the next build does not find (never the other way round).
        var witnessed: ContentDigest?
        if derived.isEmpty {
            let check = witnessCheck(target, rule: rule, configuration: configuration, dependencies: dependencies, record: record)
            if let fresh = check.fresh { return fresh }
            witnessed = check.witness
        }
        let fingerprint = try fingerprint(of: target, rule: rule, configuration: configuration, dependencies: dependencies, derived: derived)
        let key = fingerprint.key
        keyCount.add(1, ordering: .relaxed)
        var recordCause: RunReason.Cause?
        if let record {
            if record.key == key {
                // The state file is data like any other: a record that does not match the
                // declaration (damaged, or written by a poisoned entry) is never fresh.
                if declared.mismatch(in: record.result) != nil {
                    recordCause = .outputMissingOrModified(declared.paths.first ?? ".")
                } else if let bad = firstMismatchedOutput(record.result, of: target) {
                    recordCause = .outputMissingOrModified(bad)
                } else {
                    return Evaluated(fingerprint: fingerprint, key: key, decision: .fresh(record.result), recordCause: nil,
                                     recordSummary: record.summary, witness: witnessed)
                }
            } else {
                recordCause = fingerprint.summary.firstDifference(from: record.summary) ?? .keyChanged
            }
        }
        var evaluated = Evaluated(fingerprint: fingerprint, key: key, decision: .run(RunReason(recordCause ?? .noCacheEntry)),
                                  recordCause: recordCause, witness: witnessed)
        guard let cached = actions.lookup(key) else { return evaluated }
        if let mismatch = declared.mismatch(in: cached) {
            // Never restored; the local build that follows overwrites the entry.
            evaluated.decision = .run(RunReason(recordCause ?? .unusableCacheEntry(.local)))
            evaluated.warning = "warning: local cache entry ac/\(key.hex) does not match \(target)'s declared outputs (\(mismatch)); building locally"
            return evaluated
        }
        evaluated.decision = decision(restoring: cached, of: target, from: .localCache, evaluated: evaluated, declared: declared)
        return evaluated
    }

    /// This evaluation's witness (`EvaluationWitness`; nil: none), and, when it equals the state
    /// record's and the record's outputs are in place (checked by stat, as any fresh target's),
    /// the fresh evaluation with the record's key, which is not computed. The caller has found
    /// that the rule derives no parameters.
    func witnessCheck(_ target: TargetReference, rule: any Rule, configuration: TargetConfiguration, dependencies: [DependencyResult],
                      record: BuildState.Record?) -> (witness: ContentDigest?, fresh: Evaluated?) {
        guard let (witness, stats) = EvaluationWitness.compute(rule: rule, configuration: configuration,
                                                               environment: workspace.environment,
                                                               dependencies: dependencies, statCache: statCache)
        else { return (nil, nil) }
        guard let record, record.witness == witness, DeclaredOutputs(rule.outputs).mismatch(in: record.result) == nil,
              firstMismatchedOutput(record.result, of: target) == nil else { return (witness, nil) }
        for (path, stat) in stats {
            self.witness(path, stat, digest: record.summary.inputs.first { $0.0 == path }?.1, by: target)
        }
        let fresh = Evaluated(fingerprint: nil, key: record.key, decision: .fresh(record.result), recordCause: nil,
                              recordSummary: record.summary, witness: witness)
        return (witness, fresh)
    }

    /// A target found fresh by its state record's witness without leaving the scheduler (no
    /// task: at 10,000 fresh targets the task hops cost more than the check). Only for a
    /// record with a witness, so only for a rule that derived no parameters last time (its
    /// `derivedParameters` is asked here, and must still return none); nil: evaluate in a task.
    func freshByWitness(_ target: TargetReference, dependencies: [DependencyResult], state: BuildState) -> Evaluated? {
        guard let record = state.records[target], record.witness != nil,
              let rule = project.rules[target], let configuration = project.configurations[target],
              let derived = try? rule.derivedParameters(workspace: workspace.root), derived.isEmpty
        else { return nil }
        return witnessCheck(target, rule: rule, configuration: configuration, dependencies: dependencies, record: record).fresh
    }

    /// The decision for a cached `result` that matches the target's declaration: fresh when its
    /// outputs are already in place, else a restore, with the record's cause or, without a
    /// record, what is on disk: nothing (`outputs missing`) or the first output that differs.
    func decision(restoring result: ActionResult, of target: TargetReference, from source: RunReason.Source, evaluated: Evaluated,
                  declared: DeclaredOutputs) -> Decision {
        guard let bad = firstMismatchedOutput(result, of: target) else { return .fresh(result) }
        let cause: RunReason.Cause
        if let recordCause = evaluated.recordCause {
            cause = recordCause
        } else if declared.paths.allSatisfy({ disk.stat($0, followLinks: false) == nil }) {
            cause = .outputsMissing
        } else {
            cause = .outputMissingOrModified(bad)
        }
        return .restore(result, RunReason(cause, source))
    }

    /// What the remote cache offers for a target that the local cache cannot satisfy (the
    /// decision was `.run(reason)`): its result, fresh or to restore, or the reason to build,
    /// which no longer says "no cache entry" when the remote was not asked or was refused.
    func remoteDecision(for target: TargetReference, evaluated: Evaluated, reason: RunReason) async -> Decision {
        guard let remote else { return .run(reason) }
        let declared = DeclaredOutputs(project.rules[target]?.outputs ?? [])
        switch await remote.lookupAction(evaluated.key, target: target, declared: declared) {
        case let .hit(result): return decision(restoring: result, of: target, from: .remoteCache, evaluated: evaluated, declared: declared)
        case .miss: return .run(reason)
        case .rejected: return .run(reason.replacingNoCacheEntry(with: .unusableCacheEntry(.remote)))
        case .unavailable: return .run(reason.replacingNoCacheEntry(with: .remoteUnavailable))
        }
    }

    // MARK: Scheduling

    struct Finished: Sendable {
        var outcome: TargetOutcome
        var record: BuildState.Record?
        var result: ActionResult?
        /// `result`'s manifest digest, computed in the target's task (nil: computed when needed).
        var manifest: ContentDigest?
        /// Reasons not told yet, for `--explain` (a restore from the remote cache is known to
        /// be possible only once the remote has answered).
        var explanations: [RunReason] = []
        /// Stopped by a cancellation: not an outcome of the build, nothing of it is kept.
        var interrupted = false
    }

    /// What a task of the scheduler hands back: a finished target, or a target whose restore
    /// did not happen and that must now be built. The scheduler tells the warnings and reasons
    /// (observers hear from one task at a time) and then starts the build.
    enum Step: Sendable {
        case finished(Finished)
        case started(Started)
        case build(Rebuild)
    }

    struct Rebuild: Sendable {
        var target: TargetReference
        var evaluated: Evaluated
        var reason: RunReason
        var dependencies: [DependencyResult]
        var started: ContinuousClock.Instant
        var warnings: [String] = []
        var explanations: [RunReason] = []
    }

    /// A target evaluated inside its task that is not fresh: the scheduler tells the observers
    /// (one task at a time) and then starts its restore or build.
    struct Started: Sendable {
        var target: TargetReference
        var evaluated: Evaluated
        var dependencies: [DependencyResult]
    }

    /// Builds `roots` and everything they need. Cancelling the calling task (SIGINT/SIGTERM in
    /// the CLI) stops the build: running children get SIGTERM then SIGKILL by process group,
    /// nothing more starts, what was running is discarded (its outputs removed, nothing cached
    /// or recorded), and the state of every target that finished is saved.
    /// `assumedFresh`: targets known fresh without evaluation (the incremental path: their
    /// files were checked unchanged against the no-op manifest); each ends fresh with its
    /// record in `previousState` (the state file as already read; nil: read it here).
    public func build(_ roots: [TargetReference], options: BuildOptions, observer: any BuildObserver,
                      assumedFresh: Set<TargetReference> = [], previousState: BuildState? = nil) async -> BuildSummary {
        // The one executor for this build's rule work: `-j` threads (see WorkBudget).
        let budget = WorkBudget(threads: options.jobs)
        return await withTaskCancellationHandler {
            await WorkBudget.$scoped.withValue(budget) {
                await schedule(roots, options: options, observer: observer, budget: budget, assumedFresh: assumedFresh,
                               previousState: previousState)
            }
        } onCancel: {
            budget.cancel()
        }
    }

    /// The scheduling loop. State is indexed by each target's position in the topological
    /// order (arrays, not dictionaries keyed by target), and every target's evaluation (input
    /// hashing, derived parameters, key, cache lookup) runs inside one of the `-j` bounded tasks,
    /// so it overlaps with running targets and independent inputs hash in parallel.
    private func schedule(_ roots: [TargetReference], options: BuildOptions, observer: any BuildObserver,
                          budget: WorkBudget, assumedFresh: Set<TargetReference>, previousState: BuildState?) async -> BuildSummary {
        let clock = ContinuousClock()
        let started = clock.now
        let order = project.graph.closure(of: roots)
        let count = order.count
        var position: [TargetReference: Int] = [:]
        position.reserveCapacity(count)
        for (index, target) in order.enumerated() { position[target] = index }
        // What the previous build recorded, read by evaluations while `state` takes new records.
        let previous = previousState ?? BuildState.load(from: workspace.statePath, disk: disk)
        var state = previous
        var dependencies = [[Int]](repeating: [], count: count)
        var dependents = [[Int]](repeating: [], count: count)
        var waitingOn = [Int](repeating: 0, count: count)
        for index in 0 ..< count {
            for dependency in project.graph.dependencies(of: order[index]) {
                guard let dependencyIndex = position[dependency] else { continue }
                dependencies[index].append(dependencyIndex)
                dependents[dependencyIndex].append(index)
            }
            waitingOn[index] = dependencies[index].count
            // Sorted by target, as the key takes them: evaluations get them in this order.
            if dependencies[index].count > 1 { dependencies[index].sort { order[$0] < order[$1] } }
        }
        var ready = ReadyQueue()
        for index in 0 ..< count where waitingOn[index] == 0 { ready.push(index) }
        var results = [DependencyResult?](repeating: nil, count: count)
        var blocked = [Bool](repeating: false, count: count)   // failed or skipped
        var summary = BuildSummary()
        // Targets told to observers as started; `inFlight` also counts targets being evaluated.
        var running: [TargetReference] = []
        var inFlight = 0
        // Targets handed to the remote executor: they hold no `-j` slot (`--remote-jobs` bounds them).
        var remoteRunning: Set<TargetReference> = []
        var stop = false
        var settled = 0   // finished, skipped, interrupted or not started
        // The state file is rewritten only when a record changed: a no-op build writes nothing.
        var stateChanged: Set<TargetReference> = []
        observer.buildStarted(total: count)

        func dependencyResults(_ index: Int) -> [DependencyResult] {
            dependencies[index].compactMap { results[$0] }
        }

        func complete(_ finished: Finished) {
            let target = finished.outcome.target
            guard let index = position[target] else { return }
            settled += 1
            if finished.interrupted {
                // Stopped by a cancellation: its outputs are gone, so is any record of them.
                summary.interrupted.append(target)
                if state.records.removeValue(forKey: target) != nil { stateChanged.insert(target) }
                blocked[index] = true
                return
            }
            if options.explain { for reason in finished.explanations { observer.explain(target, reason: reason) } }
            summary.outcomes.append(finished.outcome)
            if finished.outcome.status != .fresh && finished.outcome.status != .skipped { statCache.invalidateRunMemo() }
            if let result = finished.result {
                results[index] = DependencyResult(target: target, result: result, manifest: finished.manifest)
            }
            if let record = finished.record {
                let previous = state.records[target]
                if previous?.key != record.key || previous?.result != record.result || previous?.witness != record.witness {
                    stateChanged.insert(target)
                }
                state.records[target] = record
            }
            if finished.outcome.status == .failed || finished.outcome.status == .skipped {
                blocked[index] = true
                if state.records.removeValue(forKey: target) != nil { stateChanged.insert(target) }
                if finished.outcome.status == .failed, !options.keepGoing { stop = true }
            }
            observer.targetFinished(finished.outcome, done: summary.outcomes.count, total: count)
            for dependent in dependents[index] {
                waitingOn[dependent] -= 1
                if waitingOn[dependent] == 0 { ready.push(dependent) }
            }
        }

        func notStarted(_ target: TargetReference) {
            settled += 1
            summary.notStarted += 1
        }

        await withTaskGroup(of: Step.self) { group in
            while true {
                while !Task.isCancelled, inFlight < options.jobs, let index = ready.pop() {
                    let target = order[index]
                    if stop {
                        complete(Finished(outcome: TargetOutcome(target: target, status: .skipped, message: "build stopped after a failure")))
                        continue
                    }
                    if let failed = dependencies[index].first(where: { blocked[$0] }) {
                        complete(Finished(outcome: TargetOutcome(target: target, status: .skipped, message: "dependency \(order[failed]) did not build")))
                        continue
                    }
                    if !assumedFresh.isEmpty, assumedFresh.contains(target) {
                        guard let record = previous.records[target] else {
                            complete(Finished(outcome: TargetOutcome(target: target, status: .failed, message: "no state record of \(target)")))
                            continue
                        }
                        complete(Finished(outcome: TargetOutcome(target: target, status: .fresh, key: record.key, result: record.result),
                                          record: nil, result: record.result, manifest: record.result.manifestDigest))
                        continue
                    }
                    let dependencyResults = dependencyResults(index)
                    if let evaluated = freshByWitness(target, dependencies: dependencyResults, state: previous),
                       case let .fresh(result) = evaluated.decision {
                        // No new record: the previous one (same key, result, summary, witness) stands.
                        complete(Finished(outcome: TargetOutcome(target: target, status: .fresh, key: evaluated.key, result: result),
                                          record: nil, result: result, manifest: result.manifestDigest))
                        continue
                    }
                    inFlight += 1
                    group.addTask { self.evaluateInTask(target, dependencies: dependencyResults, previous: previous) }
                }
                guard let step = await group.next() else { break }
                switch step {
                case let .finished(finished):
                    if remoteRunning.remove(finished.outcome.target) == nil { inFlight -= 1 }
                    running.removeAll { $0 == finished.outcome.target }
                    complete(finished)
                case let .started(evaluation):
                    let target = evaluation.target, evaluated = evaluation.evaluated
                    if Task.isCancelled {
                        inFlight -= 1
                        notStarted(target)
                        continue
                    }
                    if let warning = evaluated.warning { observer.warning(warning) }
                    if case let .fresh(result) = evaluated.decision {
                        inFlight -= 1
                        let record = evaluated.record(result)
                        complete(Finished(outcome: TargetOutcome(target: target, status: .fresh, key: evaluated.key, result: result),
                                          record: record, result: result))
                        continue
                    }
                    running.append(target)
                    observer.targetStarted(target, running: running, done: summary.outcomes.count, total: count)
                    let started = clock.now
                    let dependencies = evaluation.dependencies
                    switch evaluated.decision {
                    case let .restore(result, reason):
                        if options.explain { observer.explain(target, reason: reason) }
                        group.addTask {
                            await self.restoreLocally(target, evaluated: evaluated, result: result, reason: reason,
                                                      dependencies: dependencies, since: started)
                        }
                    case let .run(reason) where remote != nil:
                        // Told once the remote has answered: it may turn the build into a restore.
                        group.addTask {
                            await self.restoreRemotely(target, evaluated: evaluated, reason: reason, dependencies: dependencies, since: started)
                        }
                    case let .run(reason):
                        if options.explain { observer.explain(target, reason: reason) }
                        if remotePlacement(of: target) == .remote {
                            inFlight -= 1
                            remoteRunning.insert(target)
                        }
                        group.addTask {
                            .finished(await self.run(target, evaluated: evaluated, reason: reason, dependencies: dependencies,
                                                     since: started, budget: budget, observer: observer))
                        }
                    case .fresh: break   // handled above
                    }
                case let .build(rebuild):
                    if Task.isCancelled {
                        inFlight -= 1
                        running.removeAll { $0 == rebuild.target }
                        notStarted(rebuild.target)
                        continue
                    }
                    for warning in rebuild.warnings { observer.warning(warning) }
                    if options.explain { for reason in rebuild.explanations { observer.explain(rebuild.target, reason: reason) } }
                    if remotePlacement(of: rebuild.target) == .remote {
                        inFlight -= 1
                        remoteRunning.insert(rebuild.target)
                    }
                    group.addTask {
                        .finished(await self.run(rebuild.target, evaluated: rebuild.evaluated, reason: rebuild.reason,
                                                 dependencies: rebuild.dependencies, since: rebuild.started, budget: budget,
                                                 observer: observer))
                    }
                }
            }
        }

        if Task.isCancelled {
            summary.cancelled = true
            // Never started: still waiting in the ready queue or on their dependencies.
            summary.notStarted += count - settled
        }
        summary.seconds = (clock.now - started).seconds
        summary.bytesDownloaded = remote?.bytesDownloaded ?? 0
        summary.bytesUploaded = remote?.bytesUploaded ?? 0
        // Outcomes in dependency order, whatever order they finished in.
        summary.outcomes.sort { (position[$0.target] ?? 0) < (position[$1.target] ?? 0) }
        summary.interrupted.sort { (position[$0] ?? 0) < (position[$1] ?? 0) }
        do {
            if !stateChanged.isEmpty { try state.saveChanges(stateChanged, to: workspace.statePath, disk: disk) }
            try statCache.save()
        } catch {
            observer.warning("could not save the build state: \(error)")
        }
        observer.buildFinished(summary)
        return summary
    }

    /// A target's evaluation, run inside a bounded task: fresh and failed targets come back
    /// finished (no thread, no hop back to the scheduler before their dependents can go);
    /// anything else comes back to be started by the scheduler.
    private func evaluateInTask(_ target: TargetReference, dependencies: [DependencyResult],
                                previous: BuildState) -> Step {
        let evaluated: Evaluated
        do {
            evaluated = try evaluate(target, dependencies: dependencies, state: previous)
        } catch {
            return .finished(Finished(outcome: TargetOutcome(target: target, status: .failed, message: Self.describe(error))))
        }
        if case let .fresh(result) = evaluated.decision, evaluated.warning == nil {
            let record = evaluated.record(result)
            return .finished(Finished(outcome: TargetOutcome(target: target, status: .fresh, key: evaluated.key, result: result),
                                      record: record, result: result, manifest: result.manifestDigest))
        }
        return .started(Started(target: target, evaluated: evaluated, dependencies: dependencies))
    }

    // MARK: Executing one target

    /// Restores a result from the local action cache; when that fails, a build, with why.
    func restoreLocally(_ target: TargetReference, evaluated: Evaluated, result: ActionResult, reason: RunReason,
                        dependencies: [DependencyResult], since started: ContinuousClock.Instant) async -> Step {
        switch await restore(result, of: target) {
        case let .restored(result):
            return .finished(finished(target, .restored, evaluated, reason: reason, result: result, source: .local, since: started))
        case let .failed(failure, warning):
            let rebuild = RunReason(.restoreFailed(failure))
            return .build(Rebuild(target: target, evaluated: evaluated, reason: rebuild, dependencies: dependencies, started: started,
                                  warnings: warning.map { [$0] } ?? [], explanations: [rebuild]))
        }
    }

    /// Asks the remote cache for a target the local cache cannot satisfy; restores its result
    /// when every blob downloads and verifies, else a build, with why.
    func restoreRemotely(_ target: TargetReference, evaluated: Evaluated, reason: RunReason,
                         dependencies: [DependencyResult], since started: ContinuousClock.Instant) async -> Step {
        func build(_ reason: RunReason, told: [RunReason], warnings: [String] = []) -> Step {
            .build(Rebuild(target: target, evaluated: evaluated, reason: reason, dependencies: dependencies, started: started,
                           warnings: warnings, explanations: told))
        }
        guard let remote else { return build(reason, told: [reason]) }
        let restorable: RunReason, result: ActionResult
        switch await remoteDecision(for: target, evaluated: evaluated, reason: reason) {
        case let .fresh(result):
            return .finished(finished(target, .fresh, evaluated, reason: nil, result: result, source: nil, since: started))
        case let .run(reason):
            return build(reason, told: [reason])
        case let .restore(found, why):
            (result, restorable) = (found, why)
        }
        let store = self.store
        // One size per digest (DeclaredOutputs checked it): no download may exceed it.
        var sizes: [ContentDigest: UInt64] = [:]
        for output in result.outputs { if let digest = output.digest { sizes[digest] = output.size } }
        let missing = sizes.keys.filter { !store.contains($0) }.sorted()
        let notFetched = await withTaskGroup(of: ContentDigest?.self) { group in
            for digest in missing {
                let size = sizes[digest] ?? 0
                group.addTask { await remote.fetchBlob(digest, size: size, into: store) ? nil : digest }
            }
            var failed: [ContentDigest] = []
            for await digest in group { if let digest { failed.append(digest) } }
            return failed.sorted().first
        }
        if let notFetched {
            let rebuild = RunReason(.restoreFailed(.blobNotDownloaded(notFetched)))
            return build(rebuild, told: [restorable, rebuild])
        }
        switch await restore(result, of: target, verified: Set(missing)) {
        case let .restored(result):
            try? actions.store(result, for: evaluated.key)
            var done = finished(target, .restored, evaluated, reason: restorable, result: result, source: .remote, since: started)
            done.explanations = [restorable]
            return .finished(done)
        case let .failed(failure, warning):
            let rebuild = RunReason(.restoreFailed(failure))
            return build(rebuild, told: [restorable, rebuild], warnings: warning.map { [$0] } ?? [])
        }
    }

    func finished(_ target: TargetReference, _ status: TargetStatus, _ evaluated: Evaluated, reason: RunReason?,
                          result: ActionResult, source: CacheSource?, since started: ContinuousClock.Instant, output: String = "") -> Finished {
        let record = evaluated.record(result)
        let outcome = TargetOutcome(target: target, status: status, key: evaluated.key, seconds: (ContinuousClock.now - started).seconds,
                                    reason: reason, source: source, output: output, result: result)
        return Finished(outcome: outcome, record: record, result: result, manifest: result.manifestDigest)
    }

    enum Restore: Sendable {
        case restored(ActionResult)
        /// `warning`: told once per blob this build quarantined.
        case failed(RunReason.RestoreFailure, warning: String?)
    }

    /// Puts a cached result's entries in place, or says why it could not (the caller then
    /// builds instead), with a warning when this call quarantined a blob. Only the target's
    /// declared outputs are removed or written: `result` must match them (`DeclaredOutputs`),
    /// which is checked again here.
    func restore(_ result: ActionResult, of target: TargetReference, verified: Set<ContentDigest> = []) async -> Restore {
        let store = self.store, statCache = self.statCache, disk = self.disk
        let declared = DeclaredOutputs(project.rules[target]?.outputs ?? [])
        do {
            let restored = try await Blocking.run { () -> ActionResult in
                if let mismatch = declared.mismatch(in: result) { throw RuleFailure(mismatch) }
                for output in result.outputs {
                    guard let digest = output.digest else { continue }
                    // A blob is named by its content, so its size is known: a result that
                    // states another size is not the result of this content.
                    guard let stat = disk.stat(store.path(of: digest), followLinks: true) else { throw ContentStore.Failure.missing(digest) }
                    if stat.size != output.size {
                        // Which one lies: a blob whose content is not its name is quarantined.
                        try store.verify(digest)
                        throw SizeMismatch(digest: digest, recorded: output.size, actual: stat.size)
                    }
                }
                // Remove what is there first, so a directory output holds exactly the cached entries.
                for path in declared.paths {
                    try WorkspacePath.checkParents(of: path, disk: disk)
                    try disk.removeTree(path)
                }
                for output in result.outputs {
                    try WorkspacePath.checkParents(of: output.path, disk: disk)
                    try disk.createDirectories(FileSystem.parent(of: output.path))
                    switch output.kind {
                    case .file:
                        guard let digest = output.digest else { throw RuleFailure("bad digest") }
                        try store.materialize(digest, to: output.path, executable: output.executable, verified: verified.contains(digest))
                        let stat = disk.stat(output.path, followLinks: true)
                        if let stat { statCache.remember(output.path, stat: stat, digest: digest) }
                        self.witness(output.path, stat, digest: digest, by: target)
                    case let .symlink(link):
                        try disk.createSymbolicLink(at: output.path, target: link)
                        self.witness(output.path, nil, by: target)
                    case .directory:
                        try disk.createDirectories(output.path)
                    }
                }
                return result
            }
            return .restored(restored)
        } catch let ContentStore.Failure.corrupt(digest, actual) {
            // Concurrent restores may find one bad blob twice: it is reported once.
            let first = quarantineReported.withLock { $0.insert(digest).inserted }
            let warning = first ? "warning: \(ContentStore.Failure.corrupt(digest, actual: actual)); building \(target) instead" : nil
            return .failed(.blobCorrupt(digest, actual: actual), warning: warning)
        } catch let ContentStore.Failure.missing(digest) {
            return .failed(.blobMissing(digest), warning: nil)
        } catch let mismatch as SizeMismatch {
            return .failed(.blobSize(mismatch.digest, recorded: mismatch.recorded, actual: mismatch.actual), warning: nil)
        } catch {
            return .failed(.other(Self.describe(error)), warning: nil)
        }
    }

    /// A blob that is intact (its content hashes to its name) but of another size than the
    /// action result states.
    private struct SizeMismatch: Error {
        var digest: ContentDigest
        var recorded: UInt64
        var actual: UInt64
    }

    private func run(_ target: TargetReference, evaluated: Evaluated, reason: RunReason,
                     dependencies: [DependencyResult], since started: ContinuousClock.Instant,
                     budget: WorkBudget, observer: any BuildObserver) async -> Finished {
        guard let rule = project.rules[target], let configuration = project.configurations[target] else {
            return Finished(outcome: TargetOutcome(target: target, status: .failed, message: "internal: not configured"))
        }
        let secrets = secretValues(for: configuration)
        // Masks secrets as the output arrives; output beyond a few MB goes to .mlbuild/logs/.
        let log = "logs/\(target.kind)-\(target.name).log"
        let sink = OutputSink(logPath: "\(workspace.stateDirectory)/\(log)", displayPath: ".mlbuild/\(log)",
                              secrets: SecretMasker(secrets.values))
        let outputs = rule.outputs.map(PathNormalizer.normalize)
        if let missing = secrets.keys.sorted().first(where: { workspace.environment[$0] == nil }) {
            return Finished(outcome: TargetOutcome(target: target, status: .failed, key: evaluated.key, reason: reason,
                                                   message: "secret '\(missing)' is not set in the environment"))
        }
        if workspace.cache.isReadOnly {
            return Finished(outcome: TargetOutcome(target: target, status: .failed, key: evaluated.key, reason: reason,
                                                   message: "must be built, but the cache directory \(workspace.cache.root) is read-only "
                                                       + "(a build stores every result there): use --cache-dir with a writable directory"))
        }
        func fail(_ message: String) -> Finished {
            for path in outputs where (try? WorkspacePath.checkParents(of: path, disk: self.disk)) != nil { try? self.disk.removeTree(path) }
            let output = sink.finish()
            var message = Self.redact(message, secrets: secrets)
            if sink.spilled, let path = sink.displayPath { message += " (its full output is in \(path))" }
            let outcome = TargetOutcome(target: target, status: .failed, key: evaluated.key,
                                        seconds: (ContinuousClock.now - started).seconds, reason: reason,
                                        message: message, output: output)
            return Finished(outcome: outcome)
        }
        var environment: [String: String] = ["PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
        for (name, value) in passedEnvironment(rule) { environment[name] = value }
        // A kind that does not use the seed has none in its key, so it must not see one either.
        let seed = type(of: rule).usesSeed ? configuration.seed : 0
        if type(of: rule).usesSeed { environment["MLBUILD_SEED"] = String(seed) }
        environment["MLBUILD_TARGET"] = target.description
        switch remotePlacement(of: target) {
        case .local: break
        case let .impossible(message): return fail(message)
        case .remote:
            switch await runRemotely(target, evaluated: evaluated, reason: reason, dependencies: dependencies, environment: environment,
                                     sink: sink, since: started, observer: observer) {
            case let .finished(done): return done
            case let .failed(message): return fail(message)
            case let .failedRemotely(message, worker):
                var failed = fail(message)
                failed.outcome.executedRemotely = true
                failed.outcome.worker = worker
                return failed
            case .interrupted:
                var finished = fail("cancelled")
                finished.interrupted = true
                return finished
            case .local: break
            }
        }
        do {
            for path in outputs {
                try WorkspacePath.checkParents(of: path, disk: disk)
                try disk.removeTree(path)
                try disk.createDirectories(FileSystem.parent(of: path))
            }
        } catch {
            return fail("\(error)")
        }
        var dependencyOutputs: [TargetReference: [String]] = [:]
        var dependencyResults: [TargetReference: ActionResult] = [:]
        for dependency in dependencies {
            dependencyOutputs[dependency.target] = (project.rules[dependency.target]?.outputs ?? []).map(PathNormalizer.normalize)
            dependencyResults[dependency.target] = dependency.result
        }
        let context = RuleContext(target: target, workspace: workspace.root, seed: seed, key: evaluated.key,
                                  environment: environment, secrets: secrets, dependencies: dependencyResults,
                                  output: sink, commandRunner: runner, cache: workspace.cache, budget: budget,
                                  progress: RuleProgress { done, total, unit in observer.progress(target, done: done, total: total, unit: unit) },
                                  outputs: outputs, dependencyOutputs: dependencyOutputs,
                                  inputDigests: Dictionary((evaluated.fingerprint?.inputs ?? []).map { ($0.0, $0.1) }, uniquingKeysWith: { a, _ in a }))
        /// A cancelled build keeps nothing of what was running: its outputs are removed and
        /// neither the cache nor the state hears of it.
        func interrupted() -> Finished {
            var finished = fail("cancelled")
            finished.interrupted = true
            return finished
        }
        do {
            try await rule.run(context)
            context.progress.finish()
        } catch {
            if Task.isCancelled || budget.isCancelled { return interrupted() }
            return fail(Self.describe(error))
        }
        if Task.isCancelled || budget.isCancelled { return interrupted() }
        let store = self.store, statCache = self.statCache, disk = self.disk, actions = self.actions
        let key = evaluated.key
        let collected: Result<ActionResult, Error>
        do {
            // Collected and stored in the action cache in one hop to a budget thread: thread
            // hand-offs were a fifth of mlbuild's own time in a cold 10,000-target build, and
            // this saves one per target (and keeps the action cache's file write off the
            // cooperative pool).
            collected = .success(try await Blocking.run {
                var files: [ActionResult.Output] = []
                // An output declared inside another output of the same target is collected with it.
                let roots = Set(outputs).filter { path in !outputs.contains { $0 != path && PathNormalizer.isSameOrInside(path, $0) } }
                for path in roots.sorted() {
                    try WorkspacePath.checkParents(of: path, disk: disk)  // the command may have made a parent a link
                    for entry in try OutputCollector.entries(of: path, target: target, disk: disk) {
                        switch entry {
                        case let .file(file):
                            guard let fileStat = disk.stat(file, followLinks: false) else { continue }
                            let (digest, size) = try store.insert(fileAt: file)
                            statCache.remember(file, stat: fileStat, digest: digest)
                            self.witness(file, fileStat, digest: digest, by: target)
                            files.append(ActionResult.Output(path: file, digest: digest, size: size, executable: fileStat.isExecutable))
                        case let .symlink(link, target: linkTarget):
                            self.witness(link, nil, by: target)
                            files.append(.symlink(path: link, target: linkTarget))
                        case let .directory(directory):
                            files.append(.directory(path: directory))
                        }
                    }
                }
                let result = ActionResult(outputs: files)
                try budget.checkCancellation()  // a cancelled build caches nothing of what was running
                do {
                    try actions.store(result, for: key)
                } catch {
                    throw ActionCacheWriteFailure(detail: "\(error)")
                }
                return result
            })
        } catch {
            collected = .failure(error)
        }
        switch collected {
        case .failure where Task.isCancelled || budget.isCancelled:
            return interrupted()
        case let .failure(error as ActionCacheWriteFailure):
            return fail("cannot write the action cache: \(error.detail)")
        case let .failure(error):
            return fail(Self.describe(error))
        case let .success(result):
            if let remote { await remote.upload(result: result, key: evaluated.key, store: store) }
            return finished(target, .built, evaluated, reason: reason, result: result, source: nil, since: started,
                            output: sink.finish())
        }
    }

    /// Values of the `${secret:NAME}` references in a target, from the environment at run time.
    func secretValues(for configuration: TargetConfiguration) -> [String: String] {
        var names: Set<String> = []
        for value in configuration.target.values.values { names.formUnion(ResolvedValue.secretNames(in: value.scalars)) }
        var out: [String: String] = [:]
        for name in names { out[name] = workspace.environment[name] ?? "" }
        return out
    }

    /// Masks every secret value in `text` (see SecretMasker: by bytes, any length, longest first).
    public static func redact(_ text: String, secrets: [String: String]) -> String {
        SecretMasker(secrets.values).mask(text)
    }

    public static func describe(_ error: Error) -> String {
        if let diagnostic = error as? Diagnostic { return diagnostic.rendered }
        if let list = error as? DiagnosticList { return list.description }
        return "\(error)"
    }
}

/// The action cache refused a result the build collected (a full disk, a read-only entry).
struct ActionCacheWriteFailure: Error {
    var detail: String
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

