/// The common frame of an x/y chart: the title, the plot area, both axes with ticks, tick
/// labels and axis labels, and light grid lines. Charts draw their data inside `area` through
/// `x` and `y`.
struct PlotFrame {
    static let left = 72.0, right = 24.0, top = 48.0, bottom = 56.0
    static let axisColor = "#444444", gridColor = "#e6e6e6"

    let x: LinearScale
    let y: LinearScale

    /// Draws the frame into `svg`; the domains are data units.
    init(
        _ svg: inout SVGDocument, title: String, xLabel: String, yLabel: String,
        xDomain: (Double, Double), yDomain: (Double, Double), xTicks: Bool = true
    ) {
        let width = SVGDocument.width, height = SVGDocument.height
        x = LinearScale(domain: xDomain.0, xDomain.1, range: Self.left, width - Self.right)
        y = LinearScale(domain: yDomain.0, yDomain.1, range: height - Self.bottom, Self.top)
        svg.text(title, width / 2, 28, anchor: .middle, size: 16, bold: true)
        let (x0, x1) = (x.range.lower, x.range.upper), (y0, y1) = (y.range.lower, y.range.upper)
        if xTicks {
            let decimals = x.tickDecimals()
            for tick in x.ticks() {
                let px = x(tick)
                svg.line(px, y1, px, y0, stroke: Self.gridColor)
                svg.line(px, y0, px, y0 + 5, stroke: Self.axisColor)
                svg.text(SVGNumber.format(tick, decimals: decimals), px, y0 + 18, anchor: .middle, size: 11)
            }
        }
        let decimals = y.tickDecimals()
        for tick in y.ticks() {
            let py = y(tick)
            svg.line(x0, py, x1, py, stroke: Self.gridColor)
            svg.line(x0 - 5, py, x0, py, stroke: Self.axisColor)
            svg.text(SVGNumber.format(tick, decimals: decimals), x0 - 8, py + 4, anchor: .end, size: 11)
        }
        svg.line(x0, y0, x1, y0, stroke: Self.axisColor)
        svg.line(x0, y0, x0, y1, stroke: Self.axisColor)
        svg.text(xLabel, (x0 + x1) / 2, height - 16, anchor: .middle, size: 13)
        svg.text(yLabel, 20, (y0 + y1) / 2, anchor: .middle, size: 13, rotate: true)
    }
}

/// Colours of the series, in order (colour-blind friendly, from the Okabe–Ito palette).
enum PlotPalette {
    static let series = ["#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9"]
    static let reference = "#999999"
    static func color(_ index: Int) -> String { series[index % series.count] }
}
