/// Counts over equal-or-unequal bins given by their edges (`edges.count == counts.count + 1`),
/// drawn as adjoining bars.
public struct HistogramChart: Sendable {
    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var edges: [Double]
    public var counts: [Int]
    public var note: String?

    public init(title: String, xLabel: String, yLabel: String = "rows", edges: [Double], counts: [Int], note: String? = nil) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.edges = edges
        self.counts = counts
        self.note = note
    }

    public func svg() -> String {
        var svg = SVGDocument()
        let n = min(counts.count, max(edges.count - 1, 0))
        let xDomain = n > 0 ? (edges[0], edges[n]) : (0.0, 1.0)
        let top = Double(counts.prefix(n).max() ?? 0)
        let frame = PlotFrame(&svg, title: title, xLabel: xLabel, yLabel: yLabel, xDomain: xDomain, yDomain: (0, max(top * 1.05, 1)))
        if let note { svg.text(note, SVGDocument.width / 2, 44, anchor: .middle, size: 11, fill: "#666666") }
        for k in 0 ..< n where counts[k] > 0 {
            let x0 = frame.x(edges[k]), x1 = frame.x(edges[k + 1])
            let y = frame.y(Double(counts[k]))
            svg.rect(x0, y, x1 - x0, frame.y.range.lower - y, fill: PlotPalette.color(0), stroke: "#ffffff")
        }
        return svg.render()
    }
}
