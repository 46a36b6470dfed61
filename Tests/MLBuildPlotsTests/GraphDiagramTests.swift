import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
@testable import MLBuildPlots
import Testing

@Suite struct GraphDiagramTests {
    static let diamond = GraphDiagram(
        nodes: [
            .init(id: "a", label: "task:a", kind: "task", status: "up to date"),
            .init(id: "b", label: "dataset:b", kind: "dataset", status: "stale"),
            .init(id: "c", label: "model:<c>", kind: "model", status: "not built"),
            .init(id: "d", label: "container:d", kind: "container"),
        ],
        edges: [("a", "b"), ("a", "c"), ("b", "d"), ("c", "d"), ("x", "d")])

    @Test func layersAreLongestPathsFromTheSources() {
        #expect(Self.diamond.layers() == [0, 1, 1, 2])
        let chain = GraphDiagram(nodes: ["a", "b", "c"].map { .init(id: $0, label: $0, kind: "task") },
                                 edges: [("a", "b"), ("b", "c"), ("a", "c")])
        #expect(chain.layers() == [0, 1, 2])
    }

    @Test func drawsABoxPerNodeAndACurveAndArrowheadPerEdge() throws {
        let svg = Self.diamond.svg()
        #expect(svg == Self.diamond.svg())
        #expect(svg.hasPrefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\""))
        #expect(svg.components(separatedBy: "<rect ").count - 1 == 1 + 4)
        // The edge from the unknown node "x" is left out.
        #expect(svg.components(separatedBy: "<path ").count - 1 == 4)
        #expect(svg.components(separatedBy: "<polygon ").count - 1 == 4)
        #expect(svg.contains(">model:&lt;c&gt;</text>"))
        #expect(svg.contains("fill=\"\(GraphDiagram.color(kind: "dataset"))\" stroke=\"#c2410c\""))
        #expect(svg.contains(">not built</text>"))
        #expect(!svg.contains("url(") && !svg.contains("href") && !svg.contains("<script"))
        let parser = XMLParser(data: Data(svg.utf8))
        #expect(parser.parse())
        // Left to right by layer: a's box starts left of b's and c's, which start left of d's.
        func x(_ label: String) throws -> Double {
            let text = try #require(svg.range(of: ">\(label)</text>"))
            let line = svg[..<text.lowerBound].components(separatedBy: "\n").last ?? ""
            let value = try #require(line.components(separatedBy: "x=\"").dropFirst().first?.components(separatedBy: "\"").first)
            return try #require(Double(value))
        }
        #expect(try x("task:a") < x("dataset:b"))
        #expect(try x("dataset:b") == x("model:&lt;c&gt;"))
        #expect(try x("model:&lt;c&gt;") < x("container:d"))
    }
}
