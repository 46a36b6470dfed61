import MLBuildDatasets

/// The model's input columns, as `JSONRows` matches request keys against them: made once per
/// served model, not per request.
struct JSONRowColumns: Sendable {
    let names: [String]
    let utf8: [[UInt8]]
    /// Each name as a CSV header field (`JSONRows.field`).
    let headerFields: [[UInt8]]

    init(_ names: [String]) {
        self.names = names
        utf8 = names.map { Array($0.utf8) }
        headerFields = names.map { Array(JSONRows.field($0).utf8) }
    }
}

/// The usual predict body, `{"rows": [{COLUMN: scalar, …}, …]}` with only the model's columns
/// as keys, read straight into the CSV `JSONRows` would make of it, without building a
/// `JSONValue` tree, a dictionary per row or a `String` per cell (those were most of a 100-row
/// request's CPU in bench/serve's profile).
///
/// The bytes are exactly what the general path makes (a test compares them body by body): each
/// cell as `JSONRows` writes it, the header the columns some row uses, in schema order. Anything
/// else answers nil and goes the general way, which also words the errors: another top-level
/// key, an unknown or repeated key, an escape in a string, an array or object as a cell, no
/// rows, invalid UTF-8, a number the general reader leaves to Foundation.
enum DirectJSONRows {
    static func read(_ body: [UInt8], columns: JSONRowColumns) -> JSONRows? {
        body.withUnsafeBufferPointer { buffer in
            var scanner = Scanner(bytes: buffer, columns: columns)
            return scanner.rows()
        }
    }

    private struct Scanner {
        let bytes: UnsafeBufferPointer<UInt8>
        let columns: [[UInt8]]
        let headerFields: [[UInt8]]
        var index = 0
        /// Every cell's CSV bytes, one after another; `cells` holds where each one is.
        var cellBytes: [UInt8] = []
        /// Per row, per column: the range of its cell in `cellBytes`, or -1 when the key is absent.
        var cellStart: [Int] = []
        var cellEnd: [Int] = []

        init(bytes: UnsafeBufferPointer<UInt8>, columns: JSONRowColumns) {
            self.bytes = bytes
            self.columns = columns.utf8
            headerFields = columns.headerFields
            cellBytes.reserveCapacity(bytes.count)
        }

        mutating func rows() -> JSONRows? {
            guard take(UInt8(ascii: "{")), let key = plainString(), key.elementsEqual("rows".utf8),
                  take(UInt8(ascii: ":")), take(UInt8(ascii: "[")) else { return nil }
            var rowCount = 0
            var used = [Bool](repeating: false, count: columns.count)
            repeat {
                guard row(&used) else { return nil }
                rowCount += 1
            } while take(UInt8(ascii: ","))
            guard take(UInt8(ascii: "]")), take(UInt8(ascii: "}")) else { return nil }
            skipWhitespace()
            guard index == bytes.count else { return nil }

            var csv: [UInt8] = []
            csv.reserveCapacity(cellBytes.count + rowCount * columns.count + 256)
            let header = columns.indices.filter { used[$0] }
            for (i, column) in header.enumerated() {
                if i > 0 { csv.append(UInt8(ascii: ",")) }
                csv.append(contentsOf: headerFields[column])
            }
            csv.append(UInt8(ascii: "\n"))
            for row in 0 ..< rowCount {
                for (i, column) in header.enumerated() {
                    if i > 0 { csv.append(UInt8(ascii: ",")) }
                    let slot = row * columns.count + column
                    if cellStart[slot] >= 0 { csv.append(contentsOf: cellBytes[cellStart[slot] ..< cellEnd[slot]]) }
                }
                csv.append(UInt8(ascii: "\n"))
            }
            // No cell holds a newline (a raw one is not JSON, an escaped one is declined).
            return JSONRows(csv: csv, lines: (0 ..< rowCount).map { $0 + 2 })
        }

        /// One `{KEY: scalar, …}` object; its cells go into the next row's slots.
        mutating func row(_ used: inout [Bool]) -> Bool {
            let base = cellStart.count
            cellStart.append(contentsOf: repeatElement(-1, count: columns.count))
            cellEnd.append(contentsOf: repeatElement(-1, count: columns.count))
            guard take(UInt8(ascii: "{")) else { return false }
            if take(UInt8(ascii: "}")) { return true }
            var expected = 0  // keys usually come in schema order
            repeat {
                guard let key = plainString(), let column = column(named: key, from: expected),
                      cellStart[base + column] < 0, take(UInt8(ascii: ":")) else { return false }
                let start = cellBytes.count
                guard cell() else { return false }
                cellStart[base + column] = start
                cellEnd[base + column] = cellBytes.count
                used[column] = true
                expected = column + 1
            } while take(UInt8(ascii: ","))
            return take(UInt8(ascii: "}"))
        }

        func column(named key: UnsafeBufferPointer<UInt8>, from expected: Int) -> Int? {
            if expected < columns.count, key.elementsEqual(columns[expected]) { return expected }
            return columns.firstIndex { key.elementsEqual($0) }
        }

        /// A scalar value, appended to `cellBytes` as `JSONRows` writes it in the CSV.
        mutating func cell() -> Bool {
            skipWhitespace()
            guard index < bytes.count else { return false }
            switch bytes[index] {
            case UInt8(ascii: "\""):
                guard let text = plainString() else { return false }
                appendCell(text, to: &cellBytes)
                return true
            case UInt8(ascii: "t"): return literal("true", append: true)
            case UInt8(ascii: "f"): return literal("false", append: true)
            case UInt8(ascii: "n"): return literal("null", append: false)
            case UInt8(ascii: "-"), UInt8(ascii: "0") ... UInt8(ascii: "9"): return number()
            default: return false  // an array or object (reported by the general path), or not JSON
            }
        }

        /// RFC 4180 quoting as `JSONRows.field`: only a comma can need it here (quotes and
        /// line breaks would have been escapes).
        func appendCell(_ text: some Collection<UInt8>, to out: inout [UInt8]) {
            if text.contains(UInt8(ascii: ",")) {
                out.append(UInt8(ascii: "\""))
                out.append(contentsOf: text)
                out.append(UInt8(ascii: "\""))
            } else {
                out.append(contentsOf: text)
            }
        }

        mutating func literal(_ word: StaticString, append: Bool) -> Bool {
            guard JSONGrammar.literal(word, bytes, &index) else { return false }
            if append { cellBytes.append(contentsOf: UnsafeBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount)) }
            return true
        }

        /// A number in the grammar `RequestJSON` reads, written as `CanonicalJSON.format` of its
        /// double. A plain integer of up to 15 digits is already in that form and is copied.
        mutating func number() -> Bool {
            let start = index
            // Exponents (and the zero and underflow cases they bring) go the general way.
            guard let span = JSONGrammar.number(bytes, from: start), !span.hasExponent else { return false }
            index = span.end
            let text = UnsafeBufferPointer(rebasing: bytes[start ..< index])
            let negativeZero = text.count == 2 && text[0] == UInt8(ascii: "-")
                && text[1] == UInt8(ascii: "0")
            if !span.hasFraction && span.integerDigits <= 15 && !negativeZero {
                cellBytes.append(contentsOf: text)
                return true
            }
            guard let value = Double(String(decoding: text, as: UTF8.self)), value.isFinite else { return false }
            // Non-zero digits that underflow to zero are left to Foundation, as `RequestJSON` does.
            if value == 0, JSONGrammar.hasNonZeroDigit(bytes, start ..< index) { return false }
            cellBytes.append(contentsOf: CanonicalJSON.format(value).utf8)
            return true
        }

        /// A string with no escapes and valid UTF-8 (after whitespace), its bytes between the quotes.
        mutating func plainString() -> UnsafeBufferPointer<UInt8>? {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { return nil }
            index += 1
            let start = index
            let ascii = JSONGrammar.skipPlainStringBytes(bytes, &index)
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { return nil }
            let text = UnsafeBufferPointer(rebasing: bytes[start ..< index])
            index += 1
            if !ascii && String(validating: text, as: UTF8.self) == nil { return nil }
            return text
        }

        /// Skips whitespace, then takes `byte` if it is next.
        mutating func take(_ byte: UInt8) -> Bool {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == byte else { return false }
            index += 1
            return true
        }

        mutating func skipWhitespace() { JSONGrammar.skipWhitespace(bytes, &index) }
    }
}
