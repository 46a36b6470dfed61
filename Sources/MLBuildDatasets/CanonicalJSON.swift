import Foundation
import MLBuildBasics

/// Deterministic JSON: object keys sorted by their UTF-8 bytes, two-space indentation, `\n`
/// line ends, a final newline, and one fixed number format (see `format(_:)`).
///
/// Every JSON artifact of this module goes through here so equal content gives equal bytes
/// (cache keys hash them). Codable values are encoded with JSONEncoder, read back as a
/// `JSONValue` tree, and re-serialized, so their number formatting is ours and not Foundation's.
public enum CanonicalJSON {
    /// Numbers: integral values with magnitude below 2^53 print as integers (`5`, `-3`);
    /// everything else prints as Swift's shortest round-trip form (`0.1`, `1e-05`), which Swift
    /// computes itself and is the same on every platform. Non-finite values print as `null`.
    public static func format(_ x: Double) -> String {
        guard x.isFinite else { return "null" }
        if x == x.rounded(), abs(x) < 9_007_199_254_740_992 {
            if x == 0 { return "0" }
            return String(Int64(x))
        }
        return "\(x)"
    }

    public static func serialize(_ value: JSONValue) -> Data {
        var out = ""
        write(value, indent: 0, into: &out)
        out += "\n"
        return Data(out.utf8)
    }

    /// The same value on one line, with no spaces and no final newline (keys still sorted): for
    /// line-oriented output such as JSON Lines logs.
    public static func line(_ value: JSONValue) -> String {
        var out = ""
        writeLine(value, into: &out)
        return out
    }

    private static func writeLine(_ value: JSONValue, into out: inout String) {
        switch value {
        case .array(let items):
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += "," }
                writeLine(item, into: &out)
            }
            out += "]"
        case .object(let members):
            out += "{"
            let keys = members.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            for (i, key) in keys.enumerated() {
                if i > 0 { out += "," }
                writeString(key, into: &out)
                out += ":"
                writeLine(members[key] ?? .null, into: &out)
            }
            out += "}"
        default:
            write(value, indent: 0, into: &out)
        }
    }

    /// Encodes `value` into the file at `url` (atomically). A number JSON cannot hold (an
    /// infinity) is an error naming the file and the field, not an `EncodingError` dump.
    public static func write<T: Encodable>(_ value: T, to url: URL) throws {
        let data: Data
        do {
            data = try encode(value)
        } catch let EncodingError.invalidValue(bad, context) {
            throw DatasetError.format(
                path: url.path,
                message: "cannot write \(DecodingFailure.fieldPath(context.codingPath)) = \(bad): JSON numbers must be finite")
        }
        try AtomicFile.write(data, to: url)
    }

    public static func encode<T: Encodable>(_ value: T) throws -> Data {
        let raw = try JSONEncoder().encode(value)
        return serialize(try JSONDecoder().decode(JSONValue.self, from: raw))
    }

    private static func write(_ value: JSONValue, indent: Int, into out: inout String) {
        // Made only where a line is broken: a scalar array of a million numbers (split.json's
        // row lists) would otherwise build two padding strings per number.
        var pad: String { String(repeating: "  ", count: indent + 1) }
        var closePad: String { String(repeating: "  ", count: indent) }
        switch value {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .number(let x): out += format(x)
        case .string(let s): writeString(s, into: &out)
        case .array(let items):
            if items.isEmpty {
                out += "[]"
                return
            }
            // Arrays of scalars stay on one line: histograms and index lists stay readable.
            if items.allSatisfy(\.isScalar) {
                out += "["
                for (i, item) in items.enumerated() {
                    if i > 0 { out += ", " }
                    write(item, indent: indent + 1, into: &out)
                }
                out += "]"
                return
            }
            out += "[\n"
            let itemPad = pad
            for (i, item) in items.enumerated() {
                out += itemPad
                write(item, indent: indent + 1, into: &out)
                out += i == items.count - 1 ? "\n" : ",\n"
            }
            out += closePad + "]"
        case .object(let members):
            if members.isEmpty {
                out += "{}"
                return
            }
            out += "{\n"
            let keys = members.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            let memberPad = pad
            for (i, key) in keys.enumerated() {
                out += memberPad
                writeString(key, into: &out)
                out += ": "
                write(members[key] ?? .null, indent: indent + 1, into: &out)
                out += i == keys.count - 1 ? "\n" : ",\n"
            }
            out += closePad + "}"
        }
    }

    /// `s` as a JSON string literal, appended to `out` (MLBuildBasics' `JSONString`): for writers
    /// that lay out a fixed shape themselves and must agree with `serialize` byte for byte.
    public static func writeString(_ s: String, into out: inout String) { JSONString.append(s, to: &out) }
}

extension JSONValue {
    var isScalar: Bool {
        switch self {
        case .array, .object: false
        default: true
        }
    }
}
