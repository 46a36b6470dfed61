/// The target graph: passive data (as in Ninja's graph.h). Nodes are target references; an edge
/// `a -> b` means a depends on b. Built once per run, after every rule has named its
/// dependencies, then checked for unknown targets and cycles.
public struct BuildGraph: Sendable {
    /// Dependencies of each node, in the order written (deduplicated).
    public private(set) var dependencies: [TargetReference: [LocatedReference]] = [:]
    /// All nodes in declaration order.
    public private(set) var nodes: [TargetReference] = []
    /// `dependencies` without locations, kept alongside: the scheduler asks for it per target.
    private var references: [TargetReference: [TargetReference]] = [:]

    public init() {}

    public mutating func addNode(_ node: TargetReference) {
        if dependencies[node] == nil {
            dependencies[node] = []
            references[node] = []
            nodes.append(node)
        }
    }

    public mutating func addEdge(from node: TargetReference, to dependency: LocatedReference) {
        addNode(node)
        if dependencies[node]?.contains(where: { $0.reference == dependency.reference }) == true { return }
        dependencies[node, default: []].append(dependency)
        references[node, default: []].append(dependency.reference)
    }

    public func dependencies(of node: TargetReference) -> [TargetReference] {
        references[node] ?? []
    }

    /// Errors for every edge to a node that does not exist, with a suggestion; edges to a
    /// reference `skipping` accepts are left out (their cause is reported elsewhere).
    public func checkReferences(source: SourceFile, skipping: (TargetReference) -> Bool = { _ in false }) -> [Diagnostic] {
        let names = nodes.map(\.description)
        var out: [Diagnostic] = []
        for node in nodes {
            for dependency in dependencies[node] ?? [] where dependencies[dependency.reference] == nil && !skipping(dependency.reference) {
                let hint = Suggestion.hint(for: dependency.reference.description, among: names)
                out.append(source.diagnostic("unknown target '\(dependency.reference)'\(hint)", at: dependency.location))
            }
        }
        return out
    }

    /// The first cycle found (walking nodes in declaration order), as a closed path
    /// `a -> b -> a` with the location of the edge that closes it; nil when acyclic.
    /// (An explicit-stack walk: see GraphWalk.)
    public func findCycle() -> (path: [TargetReference], closingEdge: LocatedReference)? {
        let found = GraphWalk.firstCycle(from: nodes, edges: { dependencies[$0] ?? [] }) { edge in
            dependencies[edge.reference] != nil ? edge.reference : nil
        }
        return found.map { ($0.path + [$0.closingEdge.reference], $0.closingEdge) }
    }

    /// `roots` and everything they depend on, dependencies before dependents; ties broken by
    /// declaration order so the order is the same on every run. Assumes no cycle.
    public func closure(of roots: [TargetReference]) -> [TargetReference] {
        GraphWalk.postOrder(from: roots) { node in
            let next = references[node] ?? []
            return next.allSatisfy { dependencies[$0] != nil } ? next : next.filter { dependencies[$0] != nil }
        }
    }
}
