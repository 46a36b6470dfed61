import MLBuildCore

extension Project {
    /// A project of some targets of an Mlfile that a full load accepted before and that has not
    /// changed since (the incremental path, see `NoopManifest`): only `targets` are configured
    /// by their rules, with `dependencies` (each target's edges, as the full load's graph had
    /// them) taken as given; the dependencies that are not in `targets` are configured too (a
    /// rule reads where its dependencies' outputs are) but have no edges: the builder is told
    /// they are fresh. The checks of a full load (outputs, cycles)
    /// are not made again: they held for these very bytes.
    ///
    /// Nil when the subset cannot stand in for the full load: a target is not declared in the
    /// Mlfile (an auxiliary target), a target brings auxiliary targets, or anything reports a
    /// problem. The caller then loads the whole project.
    public static func subset(mlfile: Mlfile, registry: RuleRegistry, seedOverride: UInt64?,
                              targets: [TargetReference], dependencies: [TargetReference: [TargetReference]]) -> Project? {
        var diagnostics = DiagnosticCollector()
        guard mlfile.diagnostics.isEmpty else { return nil }
        var wanted = Set(targets)
        for list in dependencies.values { wanted.formUnion(list) }
        var rules: [TargetReference: any Rule] = [:]
        var configurations: [TargetReference: TargetConfiguration] = [:]
        let defaultSeed = seedOverride ?? mlfile.seed ?? 0
        for target in mlfile.targets where wanted.contains(target.reference) {
            guard let ruleType = registry.rule(for: target.reference.kind) else { return nil }
            let configuration = TargetConfiguration(target: target, keys: ruleType.keys, defaultSeed: defaultSeed, diagnostics: &diagnostics)
            let rule = ruleType.init(configuration: configuration, diagnostics: &diagnostics)
            guard rule.auxiliaryTargets.isEmpty else { return nil }
            rules[target.reference] = rule
            configurations[target.reference] = configuration
        }
        guard diagnostics.isEmpty, rules.count == wanted.count else { return nil }
        var graph = BuildGraph()
        for target in targets {
            let node = graph.addNode(target)
            for dependency in dependencies[target] ?? [] {
                graph.addEdge(fromIndex: node, to: LocatedReference(dependency, at: SourceLocation(file: mlfile.source.path, line: 0, column: 0)))
            }
        }
        for target in targets {
            for dependency in dependencies[target] ?? [] where !graph.contains(dependency) { _ = graph.addNode(dependency) }
        }
        var producers: [String: TargetReference] = [:]
        for (target, rule) in rules {
            for output in rule.outputs { producers[PathNormalizer.normalize(output)] = target }
        }
        return Project(mlfile: mlfile, rules: rules, configurations: configurations, graph: graph, producers: producers)
    }
}
