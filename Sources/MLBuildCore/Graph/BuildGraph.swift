/// The target graph: passive data (as in Ninja's graph.h). Nodes are target references; an edge
/// `a -> b` means a depends on b. Built once per run, after every rule has named its
/// dependencies, then checked for unknown targets and cycles.
///
/// Stored by node index (a node's place in `nodes`): one hash per node and per edge while
/// building, and the walks (cycle check, closure) run on integers. At 10,000 targets, the
/// dictionaries keyed by `TargetReference` that this replaces were most of the graph's cost.
public struct BuildGraph: Sendable {
    /// All nodes in declaration order; a node's index here is its index in the graph.
    public private(set) var nodes: [TargetReference] = []
    /// Node → its index in `nodes`.
    private var indices: [TargetReference: Int] = [:]
    /// Per node index: its dependencies in the order written (deduplicated), with where.
    private var located: [[LocatedReference]] = []
    /// `located` without locations, kept alongside: the scheduler asks for it per target.
    private var references: [[TargetReference]] = []

    public init() {}

    /// Dependencies of each node, in the order written (deduplicated). Built on each call: ask
    /// `contains`, `index(of:)` or `dependencies(of:)` in a loop.
    public var dependencies: [TargetReference: [LocatedReference]] {
        Dictionary(uniqueKeysWithValues: zip(nodes, located))
    }

    public var count: Int { nodes.count }

    /// Whether `node` is in the graph (declared, or brought by a rule).
    public func contains(_ node: TargetReference) -> Bool { indices[node] != nil }

    /// `node`'s index in `nodes`, nil when it is not in the graph.
    public func index(of node: TargetReference) -> Int? { indices[node] }

    private mutating func insert(_ node: TargetReference) -> Int {
        if let index = indices[node] { return index }
        let index = nodes.count
        indices[node] = index
        nodes.append(node)
        located.append([])
        references.append([])
        return index
    }

    /// Adds `node` unless it is there; its index either way.
    @discardableResult
    public mutating func addNode(_ node: TargetReference) -> Int {
        insert(node)
    }

    public mutating func addEdge(from node: TargetReference, to dependency: LocatedReference) {
        addEdge(fromIndex: insert(node), to: dependency)
    }

    /// `addEdge(from:to:)` from the node at `index` (from `addNode`), without looking it up.
    public mutating func addEdge(fromIndex index: Int, to dependency: LocatedReference) {
        if references[index].contains(dependency.reference) { return }
        located[index].append(dependency)
        references[index].append(dependency.reference)
    }

    public func dependencies(of node: TargetReference) -> [TargetReference] {
        indices[node].map { references[$0] } ?? []
    }

    /// The dependencies of the node at `index`, with where each was written.
    public func locatedDependencies(ofIndex index: Int) -> [LocatedReference] { located[index] }

    /// Per node index, the indices of its dependencies in the order written; an edge to a target
    /// that is not in the graph is left out. One hash per edge, once: for walks on integers.
    public func dependencyIndices() -> [[Int]] {
        references.map { $0.compactMap { indices[$0] } }
    }

    /// Errors for every edge to a node that does not exist, with a suggestion; edges to a
    /// reference `skipping` accepts are left out (their cause is reported elsewhere).
    public func checkReferences(source: SourceFile, skipping: (TargetReference) -> Bool = { _ in false }) -> [Diagnostic] {
        var names: [String]?
        var out: [Diagnostic] = []
        for edges in located {
            for dependency in edges where indices[dependency.reference] == nil && !skipping(dependency.reference) {
                if names == nil { names = nodes.map(\.description) }
                let hint = Suggestion.hint(for: dependency.reference.description, among: names ?? [])
                out.append(source.diagnostic("unknown target '\(dependency.reference)'\(hint)", at: dependency.location))
            }
        }
        return out
    }

    /// The first cycle found (walking nodes in declaration order), as a closed path
    /// `a -> b -> a` with the location of the edge that closes it; nil when acyclic.
    /// (An explicit-stack walk on node indices, as `GraphWalk.firstCycle` does on any nodes.)
    public func findCycle() -> (path: [TargetReference], closingEdge: LocatedReference)? {
        // Per node, per edge in `located` order: the index it leads to, or -1 (unknown target).
        let targets = located.map { $0.map { indices[$0.reference] ?? -1 } }
        // 0: not seen; 1: on the current path; 2: done (every cycle through it ruled out).
        var state = [UInt8](repeating: 0, count: nodes.count)
        var stack: [(node: Int, next: Int)] = []
        for root in nodes.indices where state[root] == 0 {
            state[root] = 1
            stack.append((root, 0))
            while let top = stack.last {
                let edges = targets[top.node]
                guard top.next < edges.count else {
                    state[top.node] = 2
                    stack.removeLast()
                    continue
                }
                stack[stack.count - 1].next += 1
                let next = edges[top.next]
                guard next >= 0 else { continue }
                switch state[next] {
                case 1:
                    let start = stack.lastIndex { $0.node == next } ?? 0
                    let path = stack[start...].map { nodes[$0.node] }
                    let closing = located[top.node][top.next]
                    return (path + [closing.reference], closing)
                case 2:
                    continue
                default:
                    state[next] = 1
                    stack.append((next, 0))
                }
            }
        }
        return nil
    }

    /// `roots` and everything they depend on, dependencies before dependents; ties broken by
    /// declaration order so the order is the same on every run. Assumes no cycle. A root that
    /// is not in the graph is listed once, in its place, with no dependencies.
    public func closure(of roots: [TargetReference]) -> [TargetReference] {
        var unknownRoots: Set<TargetReference> = []
        var order: [TargetReference] = []
        var seen = [Bool](repeating: false, count: nodes.count)
        for root in roots {
            guard let index = indices[root] else {
                if unknownRoots.insert(root).inserted { order.append(root) }
                continue
            }
            walk(from: index, seen: &seen) { order.append(nodes[$0]) }
        }
        return order
    }

    /// `closure(of:)` on node indices (an index outside the graph is left out).
    public func closure(ofIndices roots: [Int]) -> [Int] {
        var order: [Int] = []
        var seen = [Bool](repeating: false, count: nodes.count)
        for root in roots where nodes.indices.contains(root) { walk(from: root, seen: &seen) { order.append($0) } }
        return order
    }

    /// Post-order from `root` over nodes not yet `seen`, with an explicit stack (a chain of
    /// targets is as deep as it is long).
    private func walk(from root: Int, seen: inout [Bool], _ visit: (Int) -> Void) {
        guard !seen[root] else { return }
        seen[root] = true
        var stack: [(node: Int, next: Int)] = [(root, 0)]
        while let top = stack.last {
            let edges = references[top.node]
            guard top.next < edges.count else {
                visit(top.node)
                stack.removeLast()
                continue
            }
            stack[stack.count - 1].next += 1
            guard let next = indices[edges[top.next]], !seen[next] else { continue }
            seen[next] = true
            stack.append((next, 0))
        }
    }
}
