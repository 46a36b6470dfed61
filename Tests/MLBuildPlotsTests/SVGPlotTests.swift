import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
@testable import MLBuildPlots

@Suite("SVG plots")
struct SVGPlotTests {
    @Test(arguments: [
        (0.0, "0"), (-0.0, "0"), (1.0, "1"), (0.5, "0.5"), (0.125, "0.13"), (-3.14159, "-3.14"), (1e-9, "0"),
        (123456.789, "123456.79"), (2.0 / 3.0, "0.67"), (Double.nan, "0"), (Double.infinity, "0"),
    ])
    func numbersHaveOneFixedFormat(value: Double, text: String) {
        #expect(SVGNumber.format(value) == text)
    }

    @Test func numbersWithMoreDecimals() {
        #expect(SVGNumber.format(0.84123456, decimals: 4) == "0.8412")
        #expect(SVGNumber.format(0.8, decimals: 4) == "0.8")
        #expect(SVGNumber.format(-0.00004, decimals: 4) == "0")
        #expect(SVGNumber.format(12.5, decimals: 0) == "13")
    }

    @Test func textIsEscaped() {
        #expect(SVGDocument.escape("a<b & \"c\" 'd'>") == "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;")
        #expect(SVGDocument.escape("bell\u{7}") == "bell\u{FFFD}")
    }

    @Test func ticksAreNiceNumbers() {
        let unit = LinearScale(domain: 0, 1, range: 0, 100)
        #expect(unit.ticks() == [0, 0.2, 0.4, 0.6000000000000001, 0.8, 1])
        #expect(unit.tickDecimals() == 1)
        let wide = LinearScale(domain: -37, 412, range: 0, 100)
        #expect(wide.ticks() == [0, 100, 200, 300, 400])
        #expect(wide.tickDecimals() == 0)
        #expect(unit(0.5) == 50)
        #expect(unit(7) == 100, "clamped to the domain")
        let empty = LinearScale(domain: 3, 3, range: 0, 10)
        #expect(empty(3) == 5, "a point domain is widened around its value")
    }

    static func charts() -> [(String, String)] {
        [
            ("line", LineChart(
                title: "ROC <model:x>", xLabel: "false positive rate", yLabel: "true positive rate",
                series: [.init(name: "model", x: [0, 0, 0.5, 1], y: [0, 0.5, 1, 1]), .init(name: "b", x: [0, 1], y: [0.2, 0.2], step: true)],
                diagonal: true).svg()),
            ("scatter", ScatterChart(title: "pva", xLabel: "actual", yLabel: "predicted", x: [1, 2, 3], y: [1.1, 1.9, 3.2], reference: .diagonal).svg()),
            ("residuals", ScatterChart(title: "r", xLabel: "predicted", yLabel: "residual", x: [1, 2, 3], y: [0.1, -0.1, 0.2], reference: .zero).svg()),
            ("bars", BarChart(title: "imp", valueLabel: "gain", bars: [("a", 1), ("b", -3), ("c", 2)]).svg()),
            ("heat", HeatMapTable(title: "cm", rowLabel: "actual", columnLabel: "predicted", rowNames: ["no", "yes"],
                                  columnNames: ["no", "yes"], cells: [[50, 5], [10, 35]]).svg()),
            ("histogram", HistogramChart(title: "h", xLabel: "residual", edges: [0, 1, 2, 3], counts: [2, 0, 5]).svg()),
            ("empty line", LineChart(title: "none", xLabel: "x", yLabel: "y", series: [.init(name: "m", x: [], y: [])]).svg()),
            ("empty bars", BarChart(title: "none", valueLabel: "v", bars: []).svg()),
            ("empty histogram", HistogramChart(title: "none", xLabel: "x", edges: [], counts: []).svg()),
        ]
    }

    @Test func everyChartIsWellFormedSelfContainedAndDeterministic() throws {
        let first = Self.charts(), second = Self.charts()
        for ((name, svg), (_, again)) in zip(first, second) {
            #expect(svg == again, "\(name): the same input must give the same bytes")
            let parser = XMLParser(data: Data(svg.utf8))
            #expect(parser.parse(), "\(name): \(String(describing: parser.parserError))")
            for banned in ["<script", "href", "url(", "<image", "nan", "inf"] {
                #expect(!svg.contains(banned), "\(name) contains \(banned)")
            }
            #expect(svg.contains("width=\"640\" height=\"480\""), "\(name)")
            #expect(svg.hasSuffix("</svg>\n"), "\(name)")
        }
    }

    /// The frame maps x 0…1 onto 72…616 px and y 0…1 onto 424…48 px; repeated points are written once.
    @Test func aCurveIsAPolylineInThePlotArea() {
        let svg = LineChart(title: "t", xLabel: "x", yLabel: "y", series: [.init(name: "m", x: [0, 0, 0, 0.5, 1], y: [0, 0, 0, 0.5, 1])]).svg()
        #expect(svg.contains("<polyline points=\"72,424 344,236 616,48\" fill=\"none\" stroke=\"#0072b2\""))
        let steps = LineChart(title: "t", xLabel: "x", yLabel: "y", series: [.init(name: "m", x: [0, 1], y: [1, 0], step: true)]).svg()
        #expect(steps.contains("<polyline points=\"72,48 616,48 616,424\""))
    }

    @Test func barsAreSortedByMagnitudeAndTheTitleIsEscaped() throws {
        let chart = BarChart(title: "imp", valueLabel: "gain", bars: [("a", 1), ("b", -3), ("c", 2), ("d", 2)])
        #expect(chart.sortedBars.map(\.label) == ["b", "c", "d", "a"])
        let svg = try #require(Self.charts().first { $0.0 == "line" }?.1)
        #expect(svg.contains(">ROC &lt;model:x&gt;</text>"))
        // The heat map shows each count and its share of the row.
        let heat = try #require(Self.charts().first { $0.0 == "heat" }?.1)
        for text in [">50<", ">5<", ">10<", ">35<", ">90.9% of row<", ">22.2% of row<"] { #expect(heat.contains(text), "\(text)") }
        #expect(HeatMapTable.color(0) == "#f7fbff" && HeatMapTable.color(1) == "#08519c")
    }
}
