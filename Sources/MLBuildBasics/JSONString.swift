/// The one JSON string escaper: `s` as a JSON string literal (quoted; `"` `\` and control
/// characters escaped, `\n` `\r` `\t` short, the rest `\u00XX`; everything else as is, so the
/// output is UTF-8 like the input). Every hand-laid JSON writer (canonical JSON, `--events`,
/// state files) uses it, so they agree byte for byte.
public enum JSONString {
    public static func append(_ s: String, to out: inout String) {
        out += "\""
        // Most strings need no escape: then they go in whole, not scalar by scalar.
        if !s.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
            out += s
            out += "\""
            return
        }
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 {
                    let hex = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        out += "\""
    }

    public static func quoted(_ s: String) -> String {
        var out = ""
        append(s, to: &out)
        return out
    }
}
