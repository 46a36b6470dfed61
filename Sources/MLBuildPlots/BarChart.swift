/// Horizontal bars, one per label, largest magnitude first (ties by label), signed values
/// drawn left or right of zero; at most `limit` bars, the rest counted in a note.
public struct BarChart: Sendable {
    public var title: String
    public var valueLabel: String
    public var bars: [(label: String, value: Double)]
    public var limit: Int

    public init(title: String, valueLabel: String, bars: [(label: String, value: Double)], limit: Int = 25) {
        self.title = title
        self.valueLabel = valueLabel
        self.bars = bars
        self.limit = limit
    }

    /// The bars in drawing order: |value| descending, then label.
    public var sortedBars: [(label: String, value: Double)] {
        bars.sorted { a, b in
            abs(a.value) != abs(b.value) ? abs(a.value) > abs(b.value) : a.label.utf8.lexicographicallyPrecedes(b.label.utf8)
        }
    }

    public func svg() -> String {
        var svg = SVGDocument()
        let shown = Array(sortedBars.prefix(max(limit, 1)))
        let labelWidth = 210.0
        let left = labelWidth + 16, right = SVGDocument.width - 32
        let top = 56.0, bottom = SVGDocument.height - 56
        svg.text(title, SVGDocument.width / 2, 28, anchor: .middle, size: 16, bold: true)
        if bars.count > shown.count {
            svg.text("the \(shown.count) largest of \(bars.count)", SVGDocument.width / 2, 44, anchor: .middle, size: 11, fill: "#666666")
        }
        let values = shown.map(\.value)
        let lo = min(values.min() ?? 0, 0), hi = max(values.max() ?? 1, 0)
        let scale = LinearScale(domain: lo, hi == lo ? lo + 1 : hi, range: left, right)
        let decimals = scale.tickDecimals()
        for tick in scale.ticks() {
            let px = scale(tick)
            svg.line(px, top, px, bottom, stroke: PlotFrame.gridColor)
            svg.text(SVGNumber.format(tick, decimals: decimals), px, bottom + 18, anchor: .middle, size: 11)
        }
        let slot = shown.isEmpty ? 0 : (bottom - top) / Double(shown.count)
        let barHeight = min(slot * 0.7, 24)
        for (i, bar) in shown.enumerated() {
            let cy = top + slot * (Double(i) + 0.5)
            let x0 = scale(0), x1 = scale(bar.value)
            svg.rect(min(x0, x1), cy - barHeight / 2, abs(x1 - x0), barHeight, fill: bar.value < 0 ? PlotPalette.color(1) : PlotPalette.color(0))
            // About 6 px a character at 11 px: 28 characters fit the label column.
            let label = bar.label.count > 28 ? String(bar.label.prefix(27)) + "…" : bar.label
            svg.text(label, labelWidth, cy + 4, anchor: .end, size: 11)
        }
        svg.line(scale(0), top, scale(0), bottom, stroke: PlotFrame.axisColor)
        svg.text(valueLabel, (left + right) / 2, SVGDocument.height - 16, anchor: .middle, size: 13)
        return svg.render()
    }
}
