import Foundation

/// Builds the report's HTML, escaping by construction: tag and attribute names are compile-time
/// strings, every text and attribute value is escaped, and the only markup taken as is is an
/// `InlineSVG` (drawn by MLBuildPlots or checked when read from a plot file).
///
/// Text escaping also breaks every `//` (`https://…` is written `https:/&#47;…`): a value from
/// the Mlfile reads the same, but the page never holds a URL-looking string a checker (or a
/// careless browser extension) could take for an external reference.
struct HTMLWriter {
    private(set) var text = ""

    mutating func open(_ tag: StaticString, _ attributes: [(StaticString, String)] = []) {
        text += "<\(tag)"
        for (name, value) in attributes { text += " \(name)=\"\(Self.escape(value))\"" }
        text += ">"
    }

    mutating func close(_ tag: StaticString) { text += "</\(tag)>" }

    /// `<tag …>escaped text</tag>`.
    mutating func element(_ tag: StaticString, _ content: String, _ attributes: [(StaticString, String)] = []) {
        open(tag, attributes)
        self.text(content)
        close(tag)
    }

    mutating func text(_ content: String) { text += Self.escape(content) }

    mutating func newline() { text += "\n" }

    mutating func svg(_ drawing: InlineSVG) { text += drawing.markup }

    /// Markup written by this program (the doctype, the style sheet): static strings only.
    mutating func markup(_ fixed: StaticString) { text += "\(fixed)" }

    /// A table: a header row and rows of escaped cells.
    mutating func table(_ header: [String], _ rows: [[String]], className: String? = nil) {
        if let className { open("table", [("class", className)]) } else { open("table") }
        open("thead")
        open("tr")
        for cell in header { element("th", cell) }
        close("tr")
        close("thead")
        open("tbody")
        for row in rows {
            open("tr")
            for cell in row { element("td", cell) }
            close("tr")
        }
        close("tbody")
        close("table")
        newline()
    }

    static func escape(_ value: String) -> String {
        var out = ""
        out.reserveCapacity(value.utf8.count)
        var previousSlash = false
        for scalar in value.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            case "/": out += previousSlash ? "&#47;" : "/"
            case "\t", "\n": out.unicodeScalars.append(scalar)
            default:
                // Control characters (not allowed in HTML text) and noncharacters become U+FFFD.
                if scalar.value < 0x20 || scalar.value == 0x7F || (0xFFFE ... 0xFFFF).contains(scalar.value) {
                    out += "\u{FFFD}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
            previousSlash = scalar == "/"
        }
        return out
    }
}

/// An SVG drawing ready to be placed in the page: no XML prolog, no namespace URL (an inline
/// `<svg>` in HTML needs none), ids made unique with a per-drawing prefix. Made only from
/// MLBuildPlots' output, which has no script, link or external reference; a file that holds
/// one anyway (edited by hand) is refused.
struct InlineSVG {
    let markup: String

    /// nil when `source` is not an `<svg>` element or holds a script, a link or a `url(` that
    /// is not a reference into the drawing itself.
    init?(_ source: String, idPrefix: String) {
        var text = Substring(source)
        if text.hasPrefix("<?xml"), let end = text.range(of: "?>") { text = text[end.upperBound...] }
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard trimmed.hasPrefix("<svg"), trimmed.hasSuffix("</svg>") else { return nil }
        let lowered = trimmed.lowercased()
        for forbidden in ["<script", "href", "<foreignobject", "<image", "<!doctype", "<!entity", "@import", "javascript:", " on"] {
            if forbidden == " on" {
                // Event handler attributes (onload=…) inside a tag.
                if lowered.range(of: #"<[a-z][^>]*\son[a-z]+\s*="#, options: .regularExpression) != nil { return nil }
            } else if lowered.contains(forbidden) {
                return nil
            }
        }
        var markup = trimmed.replacingOccurrences(of: " xmlns=\"http://www.w3.org/2000/svg\"", with: "")
        if markup.contains("http://") || markup.contains("https://") { return nil }
        // ids, and the url(#id) references to them, get the drawing's prefix.
        markup = markup.replacingOccurrences(of: " id=\"", with: " id=\"\(idPrefix)-")
        markup = markup.replacingOccurrences(of: "url(#", with: "url(#\(idPrefix)-")
        if markup.replacingOccurrences(of: "url(#", with: "").contains("url(") { return nil }
        self.markup = markup
    }
}
