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
        let known = Set(schemaColumns)
        let header = schemaColumns.filter(used.contains) + used.subtracting(known).sorted()
        var errors: [(row: Int, column: String, message: String)] = []
        var text = header.map(Self.field).joined(separator: ",") + "\n"
        var lines: [Int] = []
        var line = 2
        for (index, row) in rows.enumerated() {
            lines.append(line)
            var cells: [String] = []
            for column in header {
                switch row[column] ?? .null {
                case .null: cells.append("")
                case .bool(let b): cells.append(b ? "true" : "false")
                case .number(let x): cells.append(CanonicalJSON.format(x))
                case .string(let s): cells.append(Self.field(s))
                case .array, .object:
                    errors.append((index, column, "expected a string, number, boolean or null"))
                    cells.append("")
                }
            }
            let record = cells.joined(separator: ",")
            // A quoted newline inside a cell moves the next record's starting line.
            line += 1 + record.utf8.reduce(0) { $1 == UInt8(ascii: "\n") ? $0 + 1 : $0 }
            text += record + "\n"
        }
        // A header-only CSV with no columns would be an empty first line; keep the shape valid.
        csv = Array(text.utf8)
        self.lines = lines
        cellErrors = errors
    }

    /// RFC 4180 quoting, as `predict` writes its fields.
    static func field(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
