import MLBuildCore
import Testing

/// `BuildGraph` stores nodes by index (declaration order); the indexed views must say what the
/// reference-keyed ones say, and leave out edges to targets that are not in the graph.
@Suite("indexed build graph")
struct IndexedGraphTests {
    static let here = SourceLocation(file: "Mlfile", line: 1, column: 1)
    static func ref(_ s: String) -> TargetReference { TargetReference(kind: "task", name: s) }

    @Test func indicesFollowDeclarationOrderAndEdgesToUnknownTargetsAreLeftOut() {
        var graph = BuildGraph()
        for n in ["a", "b", "c"] { graph.addNode(Self.ref(n)) }
        graph.addEdge(from: Self.ref("c"), to: LocatedReference(Self.ref("a"), at: Self.here))
        graph.addEdge(from: Self.ref("c"), to: LocatedReference(Self.ref("missing"), at: Self.here))
        graph.addEdge(from: Self.ref("c"), to: LocatedReference(Self.ref("b"), at: Self.here))
        graph.addEdge(from: Self.ref("c"), to: LocatedReference(Self.ref("a"), at: Self.here))  // a duplicate: kept once
        #expect(graph.count == 3)
        #expect(graph.index(of: Self.ref("b")) == 1)
        #expect(graph.index(of: Self.ref("missing")) == nil)
        #expect(graph.contains(Self.ref("a")) && !graph.contains(Self.ref("missing")))
        #expect(graph.dependencies(of: Self.ref("c")).map(\.name) == ["a", "missing", "b"])
        #expect(graph.locatedDependencies(ofIndex: 2).map(\.reference.name) == ["a", "missing", "b"])
        #expect(graph.dependencyIndices() == [[], [], [0, 1]])
        #expect(graph.dependencies.count == 3 && graph.dependencies[Self.ref("c")]?.count == 3)
        #expect(graph.closure(ofIndices: [2]) == [0, 1, 2])
        #expect(graph.closure(of: [Self.ref("c")]).map(\.name) == ["a", "b", "c"])
        // A root that is not in the graph is listed once, in its place.
        #expect(graph.closure(of: [Self.ref("x"), Self.ref("b"), Self.ref("x")]).map(\.name) == ["x", "b"])
        let unknown = graph.checkReferences(source: SourceFile(path: "Mlfile", text: ""))
        #expect(unknown.count == 1 && unknown.first?.message.hasPrefix("unknown target 'task:missing'") == true)
    }

    @Test func aCycleThroughAnEdgeAddedLastIsClosedByThatEdge() {
        var graph = BuildGraph()
        for n in ["a", "b", "c"] { graph.addNode(Self.ref(n)) }
        graph.addEdge(from: Self.ref("a"), to: LocatedReference(Self.ref("b"), at: Self.here))
        graph.addEdge(from: Self.ref("b"), to: LocatedReference(Self.ref("c"), at: Self.here))
        #expect(graph.findCycle() == nil)
        let closing = SourceLocation(file: "Mlfile", line: 7, column: 3)
        graph.addEdge(from: Self.ref("c"), to: LocatedReference(Self.ref("b"), at: closing))
        let cycle = graph.findCycle()
        #expect(cycle?.path.map(\.name) == ["b", "c", "b"])
        #expect(cycle?.closingEdge.location == closing)
    }
}
