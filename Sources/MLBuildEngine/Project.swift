import MLBuildCore

/// An Mlfile with every target configured by its rule and the graph checked: what every
/// command (build, status, graph, clean) starts from.
public struct Project: Sendable {
    public let mlfile: Mlfile
    public let rules: [TargetReference: any Rule]
    public let configurations: [TargetReference: TargetConfiguration]
    public let graph: BuildGraph
    /// Each output path → the target that writes it.
    public let producers: [String: TargetReference]

    /// Configures all targets and checks the graph; every problem is reported at once, sorted
    /// by line and column: syntax, substitution, keys, values, dependencies, outputs, cycles, in
    /// every target. Only a problem that follows from another one is left out (a key whose value
    /// did not resolve is not also missing; a dependency on a target of unknown kind is not also
    /// unknown). `cacheDirectory`: the local cache's path relative to the workspace root when it
    /// lies inside the workspace (no output may touch it).
    public static func load(mlfile: Mlfile, registry: RuleRegistry, seedOverride: UInt64?, cacheDirectory: String? = nil) throws -> Project {
        var diagnostics = DiagnosticCollector()
        diagnostics.add(mlfile.diagnostics)
        var rules: [TargetReference: any Rule] = [:]
        var configurations: [TargetReference: TargetConfiguration] = [:]
        rules.reserveCapacity(mlfile.targets.count)
        configurations.reserveCapacity(mlfile.targets.count)
        var graph = BuildGraph()
        let defaultSeed = seedOverride ?? mlfile.seed ?? 0
        for target in mlfile.targets {
            let node = graph.addNode(target.reference)
            for dependency in target.dependencies { graph.addEdge(fromIndex: node, to: dependency) }
            guard let ruleType = registry.rule(for: target.reference.kind) else {
                let hint = Suggestion.hint(for: target.reference.kind, among: registry.kinds)
                diagnostics.add(target.source.diagnostic("unknown target kind '\(target.reference.kind)'\(hint)", at: target.kindLocation,
                                                         notes: ["known kinds: \(registry.kinds.joined(separator: ", "))"]))
                continue
            }
            // Made even when a value is bad, so that the rest of the target is checked too.
            let configuration = TargetConfiguration(target: target, keys: ruleType.keys, defaultSeed: defaultSeed, diagnostics: &diagnostics)
            let rule = ruleType.init(configuration: configuration, diagnostics: &diagnostics)
            checkPlacement(configuration, kind: ruleType, diagnostics: &diagnostics)
            rules[target.reference] = rule
            configurations[target.reference] = configuration
            for dependency in rule.implicitDependencies {
                graph.addEdge(fromIndex: node, to: dependency)
            }
            for auxiliary in rule.auxiliaryTargets {
                guard let derived = configuration.auxiliary(auxiliary.reference, parameters: auxiliary.parameters) else { continue }
                let auxiliaryNode = graph.addNode(auxiliary.reference)
                rules[auxiliary.reference] = auxiliary.rule
                configurations[auxiliary.reference] = derived
                for dependency in auxiliary.rule.implicitDependencies {
                    graph.addEdge(fromIndex: auxiliaryNode, to: dependency)
                }
            }
        }

        for target in mlfile.targets {
            guard let rule = rules[target.reference], let configuration = configurations[target.reference] else { continue }
            rule.check(against: rules, configuration: configuration, diagnostics: &diagnostics)
            for dependency in rule.derivedDependencies(among: rules) {
                graph.addEdge(from: target.reference, to: dependency)
            }
        }

        // Outputs: one producer each, and an input that another target produces is an implicit
        // dependency on it (as in Make), so the order is right even when the header forgot it.
        let declared = OutputPlacement.declaredOutputs(of: mlfile, rules: rules)
        var producers: [String: TargetReference] = [:]
        producers.reserveCapacity(declared.count)
        for output in declared {
            if let other = producers.updateValue(output.target, forKey: output.path), other != output.target {
                diagnostics.add(mlfile.source.diagnostic("output '\(output.path)' of \(output.target) is also an output of \(other)",
                                                         at: OutputPlacement.location(of: output.path, in: mlfile.targets[output.index])))
            }
        }
        var protected: [(path: String, what: String)] = [(".git", "the git repository"), (".mlbuild", "mlbuild's state directory")]
        let mlfilePath = WorkspacePath.lexicallyNormalized(mlfile.source.path)
        if WorkspacePath.placement(of: mlfilePath) != .outside { protected.append((mlfilePath, "the Mlfile")) }
        if let cacheDirectory { protected.append((cacheDirectory, "the cache directory")) }
        // Each input's static path (its directory part before any wildcard), per target.
        let inputPaths = mlfile.targets.map { target in
            (rules[target.reference]?.inputs ?? []).map { PathNormalizer.normalize(InputResolver.staticPrefix($0.pattern)) }
        }
        for diagnostic in OutputPlacement.check(mlfile: mlfile, rules: rules, declared: declared, inputPaths: inputPaths, producers: producers,
                                                protected: protected) {
            diagnostics.add(diagnostic)
        }
        // Directory → producers of outputs below it, so that an input directory (or glob root)
        // that holds another target's outputs depends on that target. Indexed once: the no-op
        // path loads a 1,000-target Mlfile on every run.
        var producersBelow: [String: Set<TargetReference>] = [:]
        for (output, producer) in producers {
            for directory in PathNormalizer.parents(of: output) {
                producersBelow[directory, default: []].insert(producer)
            }
        }
        for (index, target) in mlfile.targets.enumerated() {
            guard let rule = rules[target.reference] else { continue }
            for (input, path) in zip(rule.inputs, inputPaths[index]) {
                // Usually one producer or none: an array, kept free of repeats, not a Set.
                var found: [TargetReference] = producersBelow[path].map { Array($0) } ?? []
                func add(_ producer: TargetReference) { if !found.contains(producer) { found.append(producer) } }
                if let producer = producers[path] { add(producer) }
                for ancestor in PathNormalizer.parents(of: path) {
                    if let producer = producers[ancestor] { add(producer) }
                }
                if found.isEmpty { continue }
                for producer in found.sorted() where producer != target.reference {
                    graph.addEdge(from: target.reference, to: LocatedReference(producer, at: input.location ?? target.nameLocation))
                }
            }
        }

        // A name on a header line that declares no target was reported with that line.
        let declaredOnBrokenLine = { (reference: TargetReference) in mlfile.brokenHeaderNames.contains(reference.name) }
        diagnostics.add(graph.checkReferences(source: mlfile.source, skipping: declaredOnBrokenLine))
        for located in mlfile.defaultTargets where !graph.contains(located.reference) && !declaredOnBrokenLine(located.reference) {
            let hint = Suggestion.hint(for: located.reference.description, among: graph.nodes.map(\.description))
            diagnostics.add(mlfile.source.diagnostic("unknown default target '\(located.reference)'\(hint)", at: located.location))
        }
        if let cycle = graph.findCycle() {
            let path = cycle.path.map(\.description).joined(separator: " -> ")
            diagnostics.add(mlfile.source.diagnostic("dependency cycle: \(path)", at: cycle.closingEdge.location))
        }
        if !diagnostics.isEmpty { throw Self.sorted(diagnostics.diagnostics) }
        return Project(mlfile: mlfile, rules: rules, configurations: configurations, graph: graph, producers: producers)
    }

    /// The placement keys (`ExecutionSettings`), and that a target that must run remotely can.
    private static func checkPlacement(_ configuration: TargetConfiguration, kind: any Rule.Type, diagnostics: inout DiagnosticCollector) {
        let target = configuration.target
        guard target.keyLocations["execution"] != nil || target.keyLocations["exec_properties"] != nil
            || target.keyLocations["timeout"] != nil else { return }
        let settings = ExecutionSettings(configuration: configuration, diagnostics: &diagnostics)
        guard settings.placement == .remote else { return }
        if !kind.runsRemotely {
            diagnostics.add(configuration.diagnostic("execution", "\(kind.kind) targets always run locally "
                + "(they read the workspace's git state), so 'execution = remote' cannot hold"))
        } else if target.values.values.contains(where: { $0.scalars.contains(ResolvedValue.secretOpen) }) {
            diagnostics.add(configuration.diagnostic("execution", "a target that uses ${secret:…} always runs locally "
                + "(its secret would reach the executor's storage), so 'execution = remote' cannot hold"))
        }
    }

    /// The auxiliary targets `target` brings with it (`AuxiliaryTarget`), sorted.
    public func auxiliaryTargets(of target: TargetReference) -> [TargetReference] {
        (rules[target]?.auxiliaryTargets ?? []).map(\.reference).filter { rules[$0] != nil }.sorted()
    }

    /// By line and column (diagnostics without a location first), the order found kept among
    /// equals; the same diagnostic found twice is shown once.
    static func sorted(_ diagnostics: [Diagnostic]) -> DiagnosticList {
        var seen: Set<Diagnostic> = []
        let unique = diagnostics.filter { seen.insert($0).inserted }
        let order = unique.indices.sorted { i, j in
            let a = unique[i].location, b = unique[j].location
            return (a?.line ?? 0, a?.column ?? 0, i) < (b?.line ?? 0, b?.column ?? 0, j)
        }
        return DiagnosticList(order.map { unique[$0] })
    }

    /// Parses command-line target names, with suggestions for typos.
    public func resolveTargets(_ names: [String]) throws -> [TargetReference] {
        if names.isEmpty {
            let defaults = mlfile.defaultTargets.map(\.reference)
            return defaults.isEmpty ? graph.nodes : defaults
        }
        var out: [TargetReference] = []
        var diagnostics = DiagnosticCollector()
        let known = graph.nodes.map(\.description)
        for name in names {
            if let reference = TargetReference(parsing: name), graph.contains(reference) {
                out.append(reference)
            } else if !name.contains(":"), let match = graph.nodes.first(where: { $0.name == name }),
                      graph.nodes.filter({ $0.name == name }).count == 1 {
                out.append(match)
            } else {
                diagnostics.add(Diagnostic("unknown target '\(name)'\(Suggestion.hint(for: name, among: known))"))
            }
        }
        try diagnostics.throwIfAny()
        return out
    }
}

/// Workspace-relative path spelling: no `./`, no duplicate or trailing slashes.
public enum PathNormalizer {
    public static func normalize(_ path: String) -> String {
        if isNormal(path) { return path }
        var parts: [Substring] = []
        for part in path.split(separator: "/", omittingEmptySubsequences: true) where part != "." {
            parts.append(part)
        }
        let joined = parts.joined(separator: "/")
        return path.hasPrefix("/") ? "/" + joined : (joined.isEmpty ? "." : joined)
    }

    /// Already in normal form: no empty, `.` components or trailing slash (the common case).
    static func isNormal(_ path: String) -> Bool {
        var length = 0       // length of the current component
        var dotOnly = true   // the current component is all dots so far
        var index = 0
        for b in path.utf8 {
            if b == 47 {
                if length == 0 && index != 0 { return false }  // "//"
                if length == 1 && dotOnly { return false }     // "/./"
                length = 0
                dotOnly = true
            } else {
                length += 1
                if b != 46 { dotOnly = false }
            }
            index += 1
        }
        return length > 0 && !(length == 1 && dotOnly)
    }

    /// Each directory above `path`, innermost first (`a/b/c`: `a/b`, then `a`). Found on UTF-8
    /// bytes: `lastIndex(of: "/")` on Characters was a tenth of loading a 10,000-target Mlfile.
    public static func parents(of path: String) -> ParentDirectories { ParentDirectories(rest: Substring(path)) }

    public struct ParentDirectories: Sequence, IteratorProtocol {
        var rest: Substring

        public mutating func next() -> String? {
            guard let slash = rest.utf8.lastIndex(of: UInt8(ascii: "/")) else { return nil }
            rest = rest[..<slash]
            return String(rest)
        }
    }

    public static func isSameOrInside(_ path: String, _ directory: String) -> Bool {
        if path == directory { return true }
        // ASCII (nearly every path): compared as bytes, without making `directory + "/"`.
        var path = path, directory = directory
        let asBytes: Bool? = path.withUTF8 { inner in
            directory.withUTF8 { outer -> Bool? in
                guard inner.allSatisfy({ $0 < 0x80 }), outer.allSatisfy({ $0 < 0x80 }) else { return nil }
                return inner.count > outer.count && inner[outer.count] == 47
                    && UnsafeBufferPointer(rebasing: inner[..<outer.count]).elementsEqual(outer)
            }
        }
        return asBytes ?? path.hasPrefix(directory + "/")
    }
}
