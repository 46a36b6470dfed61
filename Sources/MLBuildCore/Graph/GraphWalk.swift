/// Depth-first walks with an explicit stack instead of recursion: a dependency chain is as deep
/// as it is long, and a recursive walk of a 20,000-target chain overflowed the thread's stack
/// (SIGSEGV in `build`, `-n`, `graph`, `status` and `clean`). Generic so that the graph types
/// stay passive data and the walks are tested on plain integers at a million nodes.
public enum GraphWalk {
    /// Every node reachable from `roots` (the roots included), each after all of its
    /// successors (post-order); successors are visited in the order given, roots in turn, so
    /// the order is deterministic. Assumes no cycle (a back edge is simply not followed).
    public static func postOrder<Node: Hashable>(from roots: [Node], successors: (Node) -> [Node]) -> [Node] {
        var seen: Set<Node> = []
        var order: [Node] = []
        // The current path: each node with its successors and the index of the next to follow.
        var stack: [(node: Node, successors: [Node], next: Int)] = []
        for root in roots where seen.insert(root).inserted {
            stack.append((root, successors(root), 0))
            while let top = stack.last {
                guard top.next < top.successors.count else {
                    order.append(top.node)
                    stack.removeLast()
                    continue
                }
                stack[stack.count - 1].next += 1
                let successor = top.successors[top.next]
                if seen.insert(successor).inserted { stack.append((successor, successors(successor), 0)) }
            }
        }
        return order
    }

    /// The first cycle met when walking from each of `roots` in turn: the path from the node
    /// the cycle returns to, through the nodes on it, and the edge that closes it (from the
    /// last node of the path back to the first). `node(edge)` is where an edge leads, or nil
    /// for an edge to leave out (one to a node that does not exist).
    public static func firstCycle<Node: Hashable, Edge>(from roots: [Node], edges: (Node) -> [Edge],
                                                         node: (Edge) -> Node?) -> (path: [Node], closingEdge: Edge)? {
        // true: on the current path; false: done (every cycle through it already ruled out).
        var onPath: [Node: Bool] = [:]
        var stack: [(node: Node, edges: [Edge], next: Int)] = []
        for root in roots where onPath[root] == nil {
            onPath[root] = true
            stack.append((root, edges(root), 0))
            while let top = stack.last {
                guard top.next < top.edges.count else {
                    onPath[top.node] = false
                    stack.removeLast()
                    continue
                }
                stack[stack.count - 1].next += 1
                let edge = top.edges[top.next]
                guard let next = node(edge) else { continue }
                switch onPath[next] {
                case true?:
                    let start = stack.lastIndex { $0.node == next } ?? 0
                    return (stack[start...].map(\.node), edge)
                case false?:
                    continue
                case nil:
                    onPath[next] = true
                    stack.append((next, edges(next), 0))
                }
            }
        }
        return nil
    }
}
