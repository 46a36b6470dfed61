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

    /// Errors for every edge to a node that does not exist, with a suggestion.
    public func checkReferences(source: SourceFile) -> [Diagnostic] {
        let names = nodes.map(\.description)
        var out: [Diagnostic] = []
        for node in nodes {
            for dependency in dependencies[node] ?? [] where dependencies[dependency.reference] == nil {
                let hint = Suggestion.hint(for: dependency.reference.description, among: names)
                out.append(source.diagnostic("unknown target '\(dependency.reference)'\(hint)", at: dependency.location))
            }
        }
        return out
    }

    /// The first cycle found (walking nodes in declaration order), as a closed path
    /// `a -> b -> a` with the location of the edge that closes it; nil when acyclic.
    public func findCycle() -> (path: [TargetReference], closingEdge: LocatedReference)? {
        enum Mark { case visiting, done }
        var marks: [TargetReference: Mark] = [:]
        var stack: [TargetReference] = []
        func visit(_ node: TargetReference) -> (path: [TargetReference], closingEdge: LocatedReference)? {
            marks[node] = .visiting
            stack.append(node)
            for edge in dependencies[node] ?? [] where dependencies[edge.reference] != nil {
                switch marks[edge.reference] {
                case .visiting:
                    let start = stack.firstIndex(of: edge.reference) ?? 0
                    return (Array(stack[start...]) + [edge.reference], edge)
                case .done:
                    continue
                case nil:
                    if let cycle = visit(edge.reference) { return cycle }
                }
            }
            stack.removeLast()
            marks[node] = .done
            return nil
        }
        for node in nodes where marks[node] == nil {
            if let cycle = visit(node) { return cycle }
        }
        return nil
    }

    /// `roots` and everything they depend on, dependencies before dependents; ties broken by
    /// declaration order so the order is the same on every run. Assumes no cycle.
    public func closure(of roots: [TargetReference]) -> [TargetReference] {
        var seen: Set<TargetReference> = []
        var order: [TargetReference] = []
        func visit(_ node: TargetReference) {
            guard seen.insert(node).inserted else { return }
            for dependency in dependencies(of: node) where dependencies[dependency] != nil { visit(dependency) }
            order.append(node)
        }
        for root in roots { visit(root) }
        return order
    }
}
