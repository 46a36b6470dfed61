/// A target graph drawn as a self-contained SVG: a layered layout, left to right. Each node is
/// a labelled box coloured by its kind, with its status under the label; each edge is a curve
/// from a dependency to its dependent, ending in an arrowhead (a small polygon, no marker, so
/// no `url(#…)` reference).
///
/// Layout: a node's layer is its longest path from a node without dependencies (so every edge
/// points right); within a layer, nodes are ordered by the mean position of their
/// dependencies in the layer before (barycentre), ties by the order given. Only draws: the
/// caller says which nodes, kinds, statuses and edges there are. Bytes are a pure function of
/// the input (numbers through `SVGNumber`, elements in a fixed order); the size grows with the
/// graph.
public struct GraphDiagram: Sendable {
    public struct Node: Sendable {
        public var id: String
        public var label: String
        /// The target kind (`dataset`, `model`…): picks the fill colour.
        public var kind: String
        /// Shown under the label (`up to date`, `stale`, `not built`); nil for none.
        public var status: String?

        public init(id: String, label: String, kind: String, status: String? = nil) {
            self.id = id
            self.label = label
            self.kind = kind
            self.status = status
        }
    }

    public var nodes: [Node]
    /// (dependency id, dependent id); edges naming an unknown node are left out.
    public var edges: [(from: String, to: String)]

    public init(nodes: [Node], edges: [(from: String, to: String)]) {
        self.nodes = nodes
        self.edges = edges
    }

    static let boxHeight = 44.0
    static let rowGap = 20.0
    static let columnGap = 70.0
    static let margin = 16.0
    static let characterWidth = 7.2

    /// The fill of a kind's boxes (unknown kinds are grey).
    public static func color(kind: String) -> String {
        switch kind {
        case "dataset": return "#dbeafe"
        case "features": return "#ede9fe"
        case "model": return "#dcfce7"
        case "container": return "#fef3c7"
        case "task": return "#f3f4f6"
        default: return "#e5e7eb"
        }
    }

    /// The outline of a status: green when up to date, orange when stale, grey otherwise.
    static func outline(status: String?) -> (color: String, dashed: Bool) {
        switch status {
        case "up to date": return ("#15803d", false)
        case "stale": return ("#c2410c", false)
        case nil: return ("#374151", false)
        default: return ("#6b7280", true)
        }
    }

    /// Each node's layer (0 = no dependencies), by index into `nodes`.
    func layers() -> [Int] {
        var index: [String: Int] = [:]
        for (i, node) in nodes.enumerated() where index[node.id] == nil { index[node.id] = i }
        var predecessors = [[Int]](repeating: [], count: nodes.count)
        for edge in edges {
            guard let a = index[edge.from], let b = index[edge.to], a != b else { continue }
            if !predecessors[b].contains(a) { predecessors[b].append(a) }
        }
        var layer = [Int?](repeating: nil, count: nodes.count)
        var visiting = Set<Int>()
        func depth(_ i: Int) -> Int {
            if let known = layer[i] { return known }
            // A cycle (which a valid Mlfile never has) is cut where it closes.
            guard visiting.insert(i).inserted else { return 0 }
            let d = predecessors[i].map { depth($0) + 1 }.max() ?? 0
            visiting.remove(i)
            layer[i] = d
            return d
        }
        return nodes.indices.map { depth($0) }
    }

    public func svg() -> String {
        let f: (Double) -> String = SVGNumber.format
        var index: [String: Int] = [:]
        for (i, node) in nodes.enumerated() where index[node.id] == nil { index[node.id] = i }
        let layerOf = layers()
        let layerCount = (layerOf.max() ?? -1) + 1
        var predecessors = [[Int]](repeating: [], count: nodes.count)
        var drawnEdges: [(Int, Int)] = []
        for edge in edges {
            guard let a = index[edge.from], let b = index[edge.to], a != b else { continue }
            if !predecessors[b].contains(a) {
                predecessors[b].append(a)
                drawnEdges.append((a, b))
            }
        }
        // Order within each layer by barycentre of the dependencies' rows, ties by given order.
        var row = [Double](repeating: 0, count: nodes.count)
        var columns: [[Int]] = Array(repeating: [], count: layerCount)
        for i in nodes.indices where index[nodes[i].id] == i { columns[layerOf[i]].append(i) }
        for l in 0 ..< layerCount {
            let keyed = columns[l].map { i -> (Double, Int) in
                let rows = predecessors[i].map { row[$0] }
                return (rows.isEmpty ? Double(i) : rows.reduce(0, +) / Double(rows.count), i)
            }
            columns[l] = keyed.sorted { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }.map(\.1)
            for (r, i) in columns[l].enumerated() { row[i] = Double(r) }
        }
        // Box widths: the widest label of each layer.
        func textWidth(_ text: String) -> Double { Double(text.count) * Self.characterWidth }
        let widths = columns.map { column in
            column.map { max(textWidth(nodes[$0].label), textWidth(nodes[$0].status ?? "")) + 24 }.max() ?? 0
        }
        var x = [Double](repeating: 0, count: nodes.count), y = [Double](repeating: 0, count: nodes.count)
        var left = Self.margin
        var tallest = 0
        for l in 0 ..< layerCount {
            for (r, i) in columns[l].enumerated() {
                x[i] = left
                y[i] = Self.margin + Double(r) * (Self.boxHeight + Self.rowGap)
            }
            tallest = max(tallest, columns[l].count)
            left += widths[l] + Self.columnGap
        }
        let width = max(left - Self.columnGap + Self.margin, 2 * Self.margin)
        let height = 2 * Self.margin + Double(tallest) * Self.boxHeight + Double(max(tallest - 1, 0)) * Self.rowGap

        var out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        out += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(f(width))\" height=\"\(f(height))\" viewBox=\"0 0 \(f(width)) \(f(height))\""
        out += " font-family=\"sans-serif\" font-size=\"12\">\n"
        out += "<rect x=\"0\" y=\"0\" width=\"\(f(width))\" height=\"\(f(height))\" fill=\"#ffffff\"/>\n"
        for (a, b) in drawnEdges {
            let x1 = x[a] + widths[layerOf[a]], y1 = y[a] + Self.boxHeight / 2
            let x2 = x[b] - 6, y2 = y[b] + Self.boxHeight / 2
            let mid = (x1 + x2) / 2
            out += "<path d=\"M \(f(x1)) \(f(y1)) C \(f(mid)) \(f(y1)) \(f(mid)) \(f(y2)) \(f(x2)) \(f(y2))\" fill=\"none\" stroke=\"#6b7280\" stroke-width=\"1.5\"/>\n"
            out += "<polygon points=\"\(f(x2)),\(f(y2 - 4)) \(f(x2 + 6)),\(f(y2)) \(f(x2)),\(f(y2 + 4))\" fill=\"#6b7280\"/>\n"
        }
        for l in 0 ..< layerCount {
            for i in columns[l] {
                let node = nodes[i]
                let outline = Self.outline(status: node.status)
                let dash = outline.dashed ? " stroke-dasharray=\"4 3\"" : ""
                out += "<rect x=\"\(f(x[i]))\" y=\"\(f(y[i]))\" width=\"\(f(widths[l]))\" height=\"\(f(Self.boxHeight))\" rx=\"6\""
                out += " fill=\"\(Self.color(kind: node.kind))\" stroke=\"\(outline.color)\" stroke-width=\"1.5\"\(dash)/>\n"
                let centre = x[i] + widths[l] / 2
                let labelY = y[i] + (node.status == nil ? 26 : 19)
                out += "<text x=\"\(f(centre))\" y=\"\(f(labelY))\" text-anchor=\"middle\" fill=\"#111827\">\(SVGDocument.escape(node.label))</text>\n"
                if let status = node.status {
                    out += "<text x=\"\(f(centre))\" y=\"\(f(y[i] + 35))\" text-anchor=\"middle\" font-size=\"10\" fill=\"\(outline.color)\">\(SVGDocument.escape(status))</text>\n"
                }
            }
        }
        out += "</svg>\n"
        return out
    }
}
