/// Points, e.g. predicted vs actual or residual vs predicted, with an optional reference line:
/// the diagonal y = x or the horizontal y = 0.
public struct ScatterChart: Sendable {
    public enum Reference: Sendable { case none, diagonal, zero }

    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var x: [Double]
    public var y: [Double]
    public var reference: Reference
    public var note: String?

    public init(title: String, xLabel: String, yLabel: String, x: [Double], y: [Double], reference: Reference = .none, note: String? = nil) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.x = x
        self.y = y
        self.reference = reference
        self.note = note
    }

    public func svg() -> String {
        var svg = SVGDocument()
        var xDomain = LinearScale.paddedDomain(x), yDomain = LinearScale.paddedDomain(y, includeZero: reference == .zero)
        if reference == .diagonal {
            // One square domain, so that y = x is the 45° line.
            let both = LinearScale.paddedDomain(x + y)
            xDomain = both
            yDomain = both
        }
        let frame = PlotFrame(&svg, title: title, xLabel: xLabel, yLabel: yLabel, xDomain: xDomain, yDomain: yDomain)
        if let note { svg.text(note, SVGDocument.width / 2, 44, anchor: .middle, size: 11, fill: "#666666") }
        switch reference {
        case .none: break
        case .diagonal:
            let lo = frame.x.domain.lower, hi = frame.x.domain.upper
            svg.line(frame.x(lo), frame.y(lo), frame.x(hi), frame.y(hi), stroke: PlotPalette.reference, dashed: true)
        case .zero:
            svg.line(frame.x.range.lower, frame.y(0), frame.x.range.upper, frame.y(0), stroke: PlotPalette.reference, dashed: true)
        }
        for k in 0 ..< min(x.count, y.count) {
            svg.circle(frame.x(x[k]), frame.y(y[k]), radius: 2.5, fill: PlotPalette.color(0), opacity: 0.5)
        }
        return svg.render()
    }
}
