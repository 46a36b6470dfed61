import MLBuildBasics
import MLBuildCache
import MLBuildCore

/// Running a target on the remote executor (`--remote-executor`): its action is the command a
/// local run would start (a task's `sh -c`, or `mlbuild exec-rule` for a built-in kind, with
/// the binary and the rule's spec in the input root), over an input root of its declared
/// inputs and its dependencies' outputs. The answer goes through the same gate as a remote
/// cache hit: declared outputs only, every blob verified, restored by `restore`.
extension Builder {
    enum RemotePlacement: Equatable {
        case local
        case remote
        /// The target must run remotely and cannot (no executor configured).
        case impossible(String)
    }

    /// Where `target` runs in this build.
    func remotePlacement(of target: TargetReference) -> RemotePlacement {
        guard let rule = project.rules[target], let configuration = project.configurations[target] else { return .local }
        let settings = ExecutionSettings.of(configuration)
        if settings.placement == .local { return .local }
        guard remoteExecution != nil else {
            return settings.placement == .remote
                ? .impossible("\(target) says 'execution = remote', but no remote executor is configured (--remote-executor grpc://HOST:PORT)")
                : .local
        }
        if !type(of: rule).runsRemotely || (rule as? any LocalOnlyInstance)?.runsOnlyLocally == true { return .local }
        // A secret would reach the executor's storage with the command (Project.load refuses
        // `execution = remote` there).
        if configuration.target.values.values.contains(where: { $0.scalars.contains(ResolvedValue.secretOpen) }) { return .local }
        return .remote
    }

    enum RemoteRun {
        case finished(Finished)
        /// The executor could not be used under `--remote-only`, or its result not put in place.
        case failed(String)
        /// The action ran remotely and failed.
        case failedRemotely(String, worker: String?)
        case interrupted
        /// Run it here instead (a warning said why, when there is something to say).
        case local
    }

    /// Runs `target` on the executor. `environment` is what a local run gives its child
    /// processes; what the action prints goes to `sink`.
    func runRemotely(_ target: TargetReference, evaluated: Evaluated, reason: RunReason, dependencies: [DependencyResult],
                     environment: [String: String], sink: OutputSink, since started: ContinuousClock.Instant,
                     observer: any BuildObserver) async -> RemoteRun {
        guard let options = remoteExecution, let rule = project.rules[target], let configuration = project.configurations[target] else {
            return .local
        }
        let outputs = rule.outputs.map(PathNormalizer.normalize)
        var inputs: [String: RemoteInput] = [:]
        for (path, digest) in evaluated.summary.inputs {
            // An input outside the workspace has no place in the input root.
            guard WorkspacePath.placement(of: path) != .outside, !path.hasPrefix("/") else { return .local }
            guard let stat = disk.stat(path, followLinks: true) else { return .failed("input '\(path)' disappeared") }
            inputs[path] = .file(path: path, digest: digest, size: stat.size, executable: stat.isExecutable, source: path)
        }
        var specDependencies: [(target: TargetReference, outputs: [String], result: ActionResult)] = []
        for dependency in dependencies {
            for output in dependency.result.outputs {
                switch output.kind {
                case .file:
                    guard let digest = output.digest else { continue }
                    inputs[output.path] = .file(path: output.path, digest: digest, size: output.size, executable: output.executable,
                                                source: output.path)
                case let .symlink(link): inputs[output.path] = .symlink(path: output.path, target: link)
                case .directory: inputs[output.path] = .directory(path: output.path)
                }
            }
            let declared = (project.rules[dependency.target]?.outputs ?? []).map(PathNormalizer.normalize)
            specDependencies.append((dependency.target, declared, dependency.result))
        }
        let command: (arguments: [String], environment: [String: String])
        if let own = rule.remoteCommand(environment: environment) {
            command = own
        } else {
            guard let binary = options.binary.value,
                  let spec = RemoteRuleSpec.make(configuration: configuration, key: evaluated.key, outputs: outputs, dependencies: specDependencies),
                  let bytes = try? spec.encoded() else { return .local }
            inputs[RemoteRuleSpec.binaryPath] = .file(path: RemoteRuleSpec.binaryPath, digest: binary.digest, size: binary.size,
                                                      executable: true, source: binary.path)
            inputs[RemoteRuleSpec.path] = .bytes(path: RemoteRuleSpec.path, content: bytes, executable: false)
            command = ([RemoteRuleSpec.binaryPath, "exec-rule", RemoteRuleSpec.path], environment)
        }
        let settings = ExecutionSettings.of(configuration)
        var platform: [String: String] = ["OSFamily": "linux", "ISA": "x86-64"]
        for (name, value) in settings.properties { platform[name] = value }
        let action = RemoteAction(
            target: target, arguments: command.arguments,
            environment: command.environment.keys.sorted().map { ($0, command.environment[$0] ?? "") },
            outputPaths: outputs.sorted(), inputs: inputs.keys.sorted().compactMap { inputs[$0] },
            platform: platform.keys.sorted().map { ($0, platform[$0] ?? "") }, timeout: settings.timeout,
            declared: DeclaredOutputs(rule.outputs))

        let store = self.store
        let execution = (try? await remoteLimiter.withSlot { await options.executor.execute(action, store: store) })
            ?? .unavailable("cancelled")
        if Task.isCancelled { return .interrupted }
        switch execution {
        case let .completed(completion):
            sink.append(Array(completion.output.utf8))
            let verified = Set(completion.result.outputs.compactMap(\.digest))
            switch await restore(completion.result, of: target, verified: verified) {
            case let .restored(result):
                try? actions.store(result, for: evaluated.key)
                // The farm's cache learns the result under mlbuild's key too, so a workspace
                // that asks by key (`--remote-cache`) finds it without executing anything.
                if let remote { await remote.upload(result: result, key: evaluated.key, store: store) }
                var done = finished(target, .built, evaluated, reason: reason, result: result, source: nil, since: started,
                                    output: sink.finish())
                done.outcome.executedRemotely = true
                done.outcome.worker = completion.worker
                return .finished(done)
            case let .failed(failure, warning):
                if let warning { observer.warning(warning) }
                return .failed("the remote result could not be put in place: \(failure)")
            }
        case let .failed(exitCode, output, worker):
            sink.append(Array(output.utf8))
            return .failedRemotely("command exited with status \(exitCode)" + (worker.map { " on remote worker \($0)" } ?? " on the remote executor"),
                                   worker: worker)
        case let .unavailable(why):
            return options.remoteOnly
                ? .failed("the remote executor \(options.executor.endpointDescription) cannot be used (\(why)) and --remote-only is set")
                : .local
        case let .refused(why):
            if options.remoteOnly {
                return .failed("the remote executor's answer was refused: \(why) (--remote-only is set)")
            }
            observer.warning("warning: remote executor \(options.executor.endpointDescription): answer for \(target) refused (\(why)); building it locally")
            return .local
        }
    }
}
