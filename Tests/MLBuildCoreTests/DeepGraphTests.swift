import MLBuildCore
import Testing

/// Graph walks with an explicit stack: a dependency chain as deep as it is long must not
/// overflow the thread's stack (the recursive walks crashed with SIGSEGV at ~20,000 targets
/// when the first target declared was the top of the chain). The million-node chain runs on
/// plain integers: building a million-target `BuildGraph` takes most of a minute in a debug
/// build, and the walks are the same code.
@Suite("deep graphs")
struct DeepGraphTests {
    static let here = SourceLocation(file: "Mlfile", line: 1, column: 1)

    /// `t0 -> t1 -> … -> t(n-1)`, declared top first: every walk starts at the deep end.
    static func chain(_ count: Int) -> (BuildGraph, [TargetReference]) {
        let nodes = (0..<count).map { TargetReference(kind: "task", name: "t\($0)") }
        var graph = BuildGraph()
        for node in nodes { graph.addNode(node) }
        for i in 0..<(count - 1) { graph.addEdge(from: nodes[i], to: LocatedReference(nodes[i + 1], at: here)) }
        return (graph, nodes)
    }

    @Test(.timeLimit(.minutes(5)))
    func theWalksGoAMillionDeep() {
        // 0 -> 1 -> … -> 999,999 (and a harmless shortcut from 0 straight to the bottom).
        let count = 1_000_000
        let successors: (Int) -> [Int] = { $0 == 0 ? [1, count - 1] : $0 + 1 < count ? [$0 + 1] : [] }
        let order = GraphWalk.postOrder(from: [0], successors: successors)
        #expect(order.count == count)
        #expect(order.first == count - 1 && order.last == 0)
        #expect(zip(order, order.dropFirst()).allSatisfy { $0 == $1 + 1 })
        #expect(GraphWalk.firstCycle(from: [0], edges: successors, node: { $0 }) == nil)
        // The same chain closed at the bottom: the cycle is the last three nodes.
        let cycle = GraphWalk.firstCycle(from: [0], edges: { $0 == count - 1 ? [count - 3] : successors($0) }, node: { $0 })
        #expect(cycle?.path == [count - 3, count - 2, count - 1])
        #expect(cycle?.closingEdge == count - 3)
    }

    @Test(.timeLimit(.minutes(5)))
    func aDeepTargetChainHasNoCycleAndOrdersDeepestFirst() {
        let count = 50_000
        let (graph, nodes) = Self.chain(count)
        #expect(graph.findCycle() == nil)
        let order = graph.closure(of: [nodes[0]])
        #expect(order == nodes.reversed())
        #expect(graph.closure(of: nodes) == nodes.reversed())
    }

    @Test func aCycleAtTheBottomOfADeepChainIsFoundWithItsPath() {
        let count = 50_000
        var (graph, nodes) = Self.chain(count)
        let closing = LocatedReference(nodes[count - 3], at: SourceLocation(file: "Mlfile", line: 9, column: 4))
        graph.addEdge(from: nodes[count - 1], to: closing)
        let cycle = graph.findCycle()
        #expect(cycle?.path.map(\.name) == ["t\(count - 3)", "t\(count - 2)", "t\(count - 1)", "t\(count - 3)"])
        #expect(cycle?.closingEdge.location == closing.location)
    }

    @Test func closureVisitsSharedDependenciesOnceInDeclarationOrder() {
        func ref(_ s: String) -> TargetReference { TargetReference(kind: "task", name: s) }
        var graph = BuildGraph()
        for n in ["top", "left", "right", "base", "unrelated"] { graph.addNode(ref(n)) }
        graph.addEdge(from: ref("top"), to: LocatedReference(ref("left"), at: Self.here))
        graph.addEdge(from: ref("top"), to: LocatedReference(ref("right"), at: Self.here))
        graph.addEdge(from: ref("left"), to: LocatedReference(ref("base"), at: Self.here))
        graph.addEdge(from: ref("right"), to: LocatedReference(ref("base"), at: Self.here))
        #expect(graph.closure(of: [ref("top")]).map(\.name) == ["base", "left", "right", "top"])
        #expect(graph.closure(of: [ref("right"), ref("top")]).map(\.name) == ["base", "right", "left", "top"])
    }
}
