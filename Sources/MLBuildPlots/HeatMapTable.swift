/// A table of counts whose cells are shaded by their count (white → blue), each cell showing
/// its count and its share of the row: a confusion matrix with actual classes as rows and
/// predicted classes as columns.
public struct HeatMapTable: Sendable {
    public var title: String
    public var rowLabel: String
    public var columnLabel: String
    public var rowNames: [String]
    public var columnNames: [String]
    public var cells: [[Int]]
    public var note: String?

    public init(title: String, rowLabel: String, columnLabel: String, rowNames: [String], columnNames: [String], cells: [[Int]], note: String? = nil) {
        self.title = title
        self.rowLabel = rowLabel
        self.columnLabel = columnLabel
        self.rowNames = rowNames
        self.columnNames = columnNames
        self.cells = cells
        self.note = note
    }

    public func svg() -> String {
        var svg = SVGDocument()
        svg.text(title, SVGDocument.width / 2, 28, anchor: .middle, size: 16, bold: true)
        if let note { svg.text(note, SVGDocument.width / 2, 46, anchor: .middle, size: 11, fill: "#666666") }
        let rows = cells.count, columns = cells.map(\.count).max() ?? 0
        guard rows > 0, columns > 0 else { return svg.render() }
        let left = 200.0, top = 96.0, size = min(360 / Double(max(rows, columns)), 180)
        let largest = max(cells.flatMap { $0 }.max() ?? 0, 1)
        svg.text(columnLabel, left + size * Double(columns) / 2, top - 28, anchor: .middle, size: 13)
        svg.text(rowLabel, 36, top + size * Double(rows) / 2, anchor: .middle, size: 13, rotate: true)
        for c in 0 ..< columns {
            let name = c < columnNames.count ? columnNames[c] : String(c)
            svg.text(name, left + size * (Double(c) + 0.5), top - 8, anchor: .middle, size: 12)
        }
        for (r, row) in cells.enumerated() {
            let name = r < rowNames.count ? rowNames[r] : String(r)
            svg.text(name, left - 10, top + size * (Double(r) + 0.5) + 4, anchor: .end, size: 12)
            let total = row.reduce(0, +)
            for c in 0 ..< columns {
                let count = c < row.count ? row[c] : 0
                let shade = Double(count) / Double(largest)
                let x = left + size * Double(c), y = top + size * Double(r)
                svg.rect(x, y, size, size, fill: Self.color(shade), stroke: "#ffffff")
                let ink = shade > 0.55 ? "#ffffff" : "#222222"
                svg.text(String(count), x + size / 2, y + size / 2, anchor: .middle, size: 18, bold: true, fill: ink)
                if total > 0 {
                    let share = SVGNumber.format(100 * Double(count) / Double(total), decimals: 1)
                    svg.text("\(share)% of row", x + size / 2, y + size / 2 + 20, anchor: .middle, size: 11, fill: ink)
                }
            }
        }
        return svg.render()
    }

    /// White (0) to #08519c (1), linear in RGB, as a fixed `#rrggbb`.
    static func color(_ t: Double) -> String {
        let t = t.isFinite ? min(max(t, 0), 1) : 0
        func channel(_ from: Double, _ to: Double) -> String {
            let v = Int((from + (to - from) * t).rounded())
            let hex = String(v, radix: 16)
            return hex.count == 1 ? "0" + hex : hex
        }
        return "#" + channel(247, 8) + channel(251, 81) + channel(255, 156)
    }
}
