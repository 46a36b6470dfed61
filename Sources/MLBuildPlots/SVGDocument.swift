/// A self-contained SVG document built element by element: no script, no external reference
/// (no `href`, no `url(`), no font fetched (the generic `sans-serif` family), and deterministic
/// bytes — every number goes through `SVGNumber.format`, elements are written in the order they
/// are added, and nothing depends on the clock or the machine.
public struct SVGDocument: Sendable {
    public static let width = 640.0
    public static let height = 480.0

    private var body: [String] = []

    public init() {}

    /// The whole file: XML declaration, the `<svg>` root and a newline at the end.
    public func render() -> String {
        let w = SVGNumber.format(Self.width), h = SVGNumber.format(Self.height)
        var out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        out += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(w)\" height=\"\(h)\" viewBox=\"0 0 \(w) \(h)\""
        out += " font-family=\"sans-serif\" font-size=\"12\">\n"
        out += "<rect x=\"0\" y=\"0\" width=\"\(w)\" height=\"\(h)\" fill=\"#ffffff\"/>\n"
        for line in body { out += line + "\n" }
        out += "</svg>\n"
        return out
    }

    public mutating func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, stroke: String, width: Double = 1, dashed: Bool = false) {
        let f: (Double) -> String = SVGNumber.format
        body.append("<line x1=\"\(f(x1))\" y1=\"\(f(y1))\" x2=\"\(f(x2))\" y2=\"\(f(y2))\" stroke=\"\(stroke)\" stroke-width=\"\(f(width))\"\(dashed ? " stroke-dasharray=\"4 3\"" : "")/>")
    }

    public mutating func polyline(_ points: [(x: Double, y: Double)], stroke: String, width: Double = 2, dashed: Bool = false) {
        guard !points.isEmpty else { return }
        let f: (Double) -> String = SVGNumber.format
        // A point that lands on the previous one (at the written precision) adds nothing: a
        // curve of a large test split stays as small as its drawing.
        var written: [String] = []
        for point in points {
            let text = "\(f(point.x)),\(f(point.y))"
            if written.last != text { written.append(text) }
        }
        let text = written.joined(separator: " ")
        let dash = dashed ? " stroke-dasharray=\"4 3\"" : ""
        body.append("<polyline points=\"\(text)\" fill=\"none\" stroke=\"\(stroke)\" stroke-width=\"\(f(width))\" stroke-linejoin=\"round\"\(dash)/>")
    }

    public mutating func rect(_ x: Double, _ y: Double, _ width: Double, _ height: Double, fill: String, stroke: String? = nil) {
        let f: (Double) -> String = SVGNumber.format
        let outline = stroke.map { " stroke=\"\($0)\"" } ?? ""
        body.append("<rect x=\"\(f(x))\" y=\"\(f(y))\" width=\"\(f(max(width, 0)))\" height=\"\(f(max(height, 0)))\" fill=\"\(fill)\"\(outline)/>")
    }

    public mutating func circle(_ x: Double, _ y: Double, radius: Double, fill: String, opacity: Double = 1) {
        let f: (Double) -> String = SVGNumber.format
        let alpha = opacity < 1 ? " fill-opacity=\"\(f(opacity))\"" : ""
        body.append("<circle cx=\"\(f(x))\" cy=\"\(f(y))\" r=\"\(f(radius))\" fill=\"\(fill)\"\(alpha)/>")
    }

    public enum Anchor: String, Sendable { case start, middle, end }

    public mutating func text(
        _ text: String, _ x: Double, _ y: Double, anchor: Anchor = .start, size: Double = 12, bold: Bool = false,
        fill: String = "#222222", rotate: Bool = false
    ) {
        let f: (Double) -> String = SVGNumber.format
        var attributes = "x=\"\(f(x))\" y=\"\(f(y))\" text-anchor=\"\(anchor.rawValue)\" font-size=\"\(f(size))\" fill=\"\(fill)\""
        if bold { attributes += " font-weight=\"bold\"" }
        if rotate { attributes += " transform=\"rotate(-90 \(f(x)) \(f(y)))\"" }
        body.append("<text \(attributes)>\(Self.escape(text))</text>")
    }

    /// XML text and attribute escaping; control characters other than tab and newline (not
    /// allowed in XML 1.0) become U+FFFD.
    public static func escape(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\t", "\n": out.unicodeScalars.append(scalar)
            default:
                if scalar.value < 0x20 || (0xFFFE ... 0xFFFF).contains(scalar.value) {
                    out += "\u{FFFD}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }
}
