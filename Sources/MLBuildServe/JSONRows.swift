import Foundation
import MLBuildDatasets

/// `{"rows": [{COLUMN: value, …}, …]}` turned into the CSV `mlbuild predict` reads, so JSON
/// requests are scored by exactly the CSV path and agree with `predict` to the last bit.
///
/// Cells: strings as they are, numbers in `CanonicalJSON.format` (integers without a fraction,
/// others in shortest round-trip form, which parses back to the same double), booleans as
/// `true`/`false`, null or a missing key as an empty cell (which the schema reads as null).
/// The header is every key used by any row: the model's columns in schema order, then unknown
/// keys sorted, so an undeclared column fails as it does in a CSV.
struct JSONRows {
    var csv: [UInt8]
    /// CSV line (header = 1) where each row starts, by row index: row errors are reported by
    /// line, clients want the row index.
    var lines: [Int]
    /// Cells that no CSV can carry (arrays, objects), by row index and key.
    var cellErrors: [(row: Int, column: String, message: String)]

    enum Failure: Error {
        /// Not JSON, or not `{"rows": [object, …]}`; the message says which.
        case malformed(String)
    }

    init(csv: [UInt8], lines: [Int]) {
        self.csv = csv
        self.lines = lines
        cellErrors = []
    }

    /// The usual body by `DirectJSONRows`; anything else by the general path below.
    static func read(body: [UInt8], columns: JSONRowColumns) throws -> JSONRows {
        if let direct = DirectJSONRows.read(body, columns: columns) { return direct }
        return try JSONRows(body: body, schemaColumns: columns.names)
    }

    /// The general path: any JSON, any keys, every cell error.
    init(body: [UInt8], schemaColumns: [String]) throws {
        // The fast reader first; Foundation's decoder for what it declines (and for the message).
        let value: JSONValue
        if let fast = RequestJSON.parse(body) {
            value = fast
        } else {
            do {
                value = try JSONDecoder().decode(JSONValue.self, from: Data(body))
            } catch {
                throw Failure.malformed("the body is not valid JSON: \(DecodingFailure.describe(error, data: Data(body)))")
            }
        }
        guard case .object(let top) = value, let rowsValue = top["rows"] else {
            throw Failure.malformed("expected a JSON object with a \"rows\" array")
        }
        guard case .array(let items) = rowsValue else {
            throw Failure.malformed("\"rows\" must be an array of objects")
        }
        var rows: [[String: JSONValue]] = []
        for (index, item) in items.enumerated() {
            guard case .object(let row) = item else { throw Failure.malformed("rows[\(index)] is not an object") }
            rows.append(row)
        }
        let used = Set(rows.flatMap(\.keys))
        let header = schemaColumns.filter(used.contains) + used.subtracting(Set(schemaColumns)).sorted()
        var errors: [(row: Int, column: String, message: String)] = []
        // Bytes appended directly: this loop is most of a many-row request's cost.
        var out: [UInt8] = []
        out.reserveCapacity(body.count + 64)
        for (i, column) in header.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            Self.appendField(column, to: &out)
        }
        out.append(UInt8(ascii: "\n"))
        var lines: [Int] = []
        lines.reserveCapacity(rows.count)
        var line = 2
        for (index, row) in rows.enumerated() {
            lines.append(line)
            let recordStart = out.count
            for (i, column) in header.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                switch row[column] ?? .null {
                case .null: break
                case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
                case .number(let x): out.append(contentsOf: CanonicalJSON.format(x).utf8)
                case .string(let s): Self.appendField(s, to: &out)
                case .array, .object:
                    errors.append((index, column, "expected a string, number, boolean or null"))
                }
            }
            // A quoted newline inside a cell moves the next record's starting line.
            line += 1 + out[recordStart...].reduce(0) { $1 == UInt8(ascii: "\n") ? $0 + 1 : $0 }
            out.append(UInt8(ascii: "\n"))
        }
        csv = out
        self.lines = lines
        cellErrors = errors
    }

    /// `field(text)`'s bytes appended to `out`.
    static func appendField(_ text: String, to out: inout [UInt8]) {
        if text.utf8.contains(where: { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\n") || $0 == UInt8(ascii: "\r") }) {
            out.append(contentsOf: field(text).utf8)
        } else {
            out.append(contentsOf: text.utf8)
        }
    }

    /// RFC 4180 quoting, as `predict` writes its fields.
    static func field(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
