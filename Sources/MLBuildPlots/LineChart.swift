/// Lines (or steps) through points, e.g. a ROC or precision–recall curve or a calibration
/// curve; optionally the diagonal y = x as a dashed reference, markers at the points, and a
/// legend when there is more than one series.
public struct LineChart: Sendable {
    public struct Series: Sendable {
        public var name: String
        public var x: [Double]
        public var y: [Double]
        /// Draw horizontal-then-vertical steps between points instead of straight segments.
        public var step: Bool
        public var markers: Bool
        /// A reference level rather than data: grey and dashed.
        public var reference: Bool
        public init(name: String, x: [Double], y: [Double], step: Bool = false, markers: Bool = false, reference: Bool = false) {
            self.name = name
            self.x = x
            self.y = y
            self.step = step
            self.markers = markers
            self.reference = reference
        }
    }

    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var series: [Series]
    public var xDomain: (Double, Double)
    public var yDomain: (Double, Double)
    public var diagonal: Bool
    /// A line of text under the title (e.g. why the chart is empty).
    public var note: String?

    public init(
        title: String, xLabel: String, yLabel: String, series: [Series], xDomain: (Double, Double) = (0, 1),
        yDomain: (Double, Double) = (0, 1), diagonal: Bool = false, note: String? = nil
    ) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.series = series
        self.xDomain = xDomain
        self.yDomain = yDomain
        self.diagonal = diagonal
        self.note = note
    }

    public func svg() -> String {
        var svg = SVGDocument()
        let frame = PlotFrame(&svg, title: title, xLabel: xLabel, yLabel: yLabel, xDomain: xDomain, yDomain: yDomain)
        if let note { svg.text(note, SVGDocument.width / 2, 44, anchor: .middle, size: 11, fill: "#666666") }
        if diagonal {
            let lo = max(frame.x.domain.lower, frame.y.domain.lower), hi = min(frame.x.domain.upper, frame.y.domain.upper)
            if lo < hi { svg.line(frame.x(lo), frame.y(lo), frame.x(hi), frame.y(hi), stroke: PlotPalette.reference, dashed: true) }
        }
        for (i, s) in series.enumerated() {
            let n = min(s.x.count, s.y.count)
            var points: [(x: Double, y: Double)] = []
            points.reserveCapacity(s.step ? 2 * n : n)
            for k in 0 ..< n {
                let px = frame.x(s.x[k]), py = frame.y(s.y[k])
                if s.step, let last = points.last { points.append((px, last.y)) }
                points.append((px, py))
            }
            svg.polyline(points, stroke: s.reference ? PlotPalette.reference : PlotPalette.color(i), dashed: s.reference)
            if s.markers {
                for k in 0 ..< n { svg.circle(frame.x(s.x[k]), frame.y(s.y[k]), radius: 3.5, fill: PlotPalette.color(i)) }
            }
        }
        if series.count > 1 {
            for (i, s) in series.enumerated() {
                let y = PlotFrame.top + 16 + Double(i) * 16
                let x = SVGDocument.width - PlotFrame.right - 160
                svg.line(x, y - 4, x + 18, y - 4, stroke: s.reference ? PlotPalette.reference : PlotPalette.color(i), width: 2, dashed: s.reference)
                svg.text(s.name, x + 24, y, size: 11)
            }
        }
        return svg.render()
    }
}
