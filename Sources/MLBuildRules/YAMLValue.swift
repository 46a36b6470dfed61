/// A YAML value as the deploy rule writes it (maps, lists, strings, integers, booleans) and its
/// one rendering: block style, two-space indents, map keys sorted by their UTF-8 bytes, so
/// that the same value is the same bytes on every run.
///
/// Quoting is decided per scalar, not by the caller: a string is written plain only when YAML
/// 1.1 and 1.2 parsers both read it back as that string (it starts with a letter, `/` or `_`,
/// holds only `[A-Za-z0-9_./@:-]`, does not end with `:`, and is not one of the words YAML 1.1
/// reads as a boolean or null: `true`, `no`, `on`, `y`, `null`, …, in any case). Everything
/// else — digits first (`"8080"`, `"500m"`, `"1.0"`), spaces, `#`, quotes, the empty string,
/// non-ASCII — is double-quoted, with `\\`, `\"`, and `\uXXXX` (or `\n`, `\t`) for control
/// characters, U+0085, U+2028, U+2029 and U+FEFF. Integers and booleans are written plain.
/// An empty map is `{}`, an empty list `[]`.
indirect enum YAMLValue: Sendable, Equatable {
    case string(String)
    case integer(Int)
    case boolean(Bool)
    case list([YAMLValue])
    /// Keys are unique; their order here does not matter (rendering sorts them).
    case map([String: YAMLValue])

    /// The value as one YAML document's text, ending with a newline.
    var rendered: String {
        var out = ""
        Self.write(self, indent: 0, into: &out, inlineFirst: false)
        return out
    }

    /// Several documents, each introduced by `---`.
    static func stream(_ documents: [YAMLValue]) -> String {
        documents.map { "---\n" + $0.rendered }.joined()
    }

    /// A string as a YAML scalar: plain when that reads back as the same string, else double-quoted.
    static func scalar(_ text: String) -> String {
        isPlainSafe(text) ? text : quoted(text)
    }

    static let yaml11Words: Set<String> = [
        "true", "false", "yes", "no", "on", "off", "y", "n", "null", "~",
    ]

    static func isPlainSafe(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard let first = bytes.first, let last = bytes.last else { return false }
        func isLetter(_ b: UInt8) -> Bool { (0x41...0x5A).contains(b) || (0x61...0x7A).contains(b) }
        func isDigit(_ b: UInt8) -> Bool { (0x30...0x39).contains(b) }
        guard isLetter(first) || first == UInt8(ascii: "/") || first == UInt8(ascii: "_") else { return false }
        guard last != UInt8(ascii: ":") else { return false }
        let allowed: Set<UInt8> = Set("_./@:-".utf8)
        guard bytes.allSatisfy({ isLetter($0) || isDigit($0) || allowed.contains($0) }) else { return false }
        return !yaml11Words.contains(text.lowercased())
    }

    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                let v = scalar.value
                if v < 0x20 || v == 0x7F || (0x80...0x9F).contains(v) || v == 0x2028 || v == 0x2029 || v == 0xFEFF {
                    let hex = String(v, radix: 16, uppercase: true)
                    out += "\\u" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    /// Whether the value is written on the line of its key (`key: value`) rather than below it.
    private var isInline: Bool {
        switch self {
        case .string, .integer, .boolean: return true
        case let .list(items): return items.isEmpty
        case let .map(fields): return fields.isEmpty
        }
    }

    private var inlineText: String {
        switch self {
        case let .string(s): return scalar(s)
        case let .integer(n): return String(n)
        case let .boolean(b): return b ? "true" : "false"
        case .list: return "[]"
        case .map: return "{}"
        }
    }

    private func scalar(_ text: String) -> String { Self.scalar(text) }

    /// `inlineFirst`: the first line continues a `- ` already written (a map inside a list).
    private static func write(_ value: YAMLValue, indent: Int, into out: inout String, inlineFirst: Bool) {
        let pad = String(repeating: " ", count: indent)
        switch value {
        case let .map(fields) where !fields.isEmpty:
            for (index, key) in fields.keys.sorted(by: { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }).enumerated() {
                guard let item = fields[key] else { continue }
                out += (index == 0 && inlineFirst ? "" : pad) + scalar(key) + ":"
                if item.isInline {
                    out += " " + item.inlineText + "\n"
                } else {
                    // A map or a list under a key is indented by two.
                    out += "\n"
                    write(item, indent: indent + 2, into: &out, inlineFirst: false)
                }
            }
        case let .list(items) where !items.isEmpty:
            for (index, item) in items.enumerated() {
                out += (index == 0 && inlineFirst ? "" : pad) + "-"
                if item.isInline {
                    out += " " + item.inlineText + "\n"
                } else if case .map = item {
                    out += " "
                    write(item, indent: indent + 2, into: &out, inlineFirst: true)
                } else {
                    out += "\n"
                    write(item, indent: indent + 2, into: &out, inlineFirst: false)
                }
            }
        default:
            out += (inlineFirst ? "" : pad) + value.inlineText + "\n"
        }
    }
}
