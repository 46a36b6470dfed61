/// The textual schema syntax (see docs/formats.md, "Schema text"):
///
///     customer_id: string id, tenure: int min=0 max=72,
///     contract: category(month-to-month, one_year, two_year), total_charges: float nullable
///
/// Items are split on commas outside parentheses and double quotes; newlines are whitespace;
/// `#` starts a comment to the end of the line (for schema files). Names and category values may
/// be double-quoted (`""` inside quotes is one quote) when they hold spaces, commas or parentheses.
enum SchemaText {
    static func parse(_ text: String) throws(SchemaParseError) -> Schema {
        let (schema, errors) = parseAll(text)
        if let first = errors.first { throw first }
        guard let schema else { throw SchemaParseError(itemIndex: 0, item: "", offset: 0, message: "schema declares no columns") }
        return schema
    }

    /// Every column item's problem (the first of each item: the rest of an item is not read
    /// after one), in order; the schema when there is none. An unbalanced `(` or quote stops
    /// everything, since it decides where the items are.
    static func parseAll(_ text: String) -> (schema: Schema?, errors: [SchemaParseError]) {
        let chars = Array(text)
        let items: [(start: Int, end: Int)]
        do throws(SchemaParseError) {
            items = try splitItems(chars)
        } catch {
            return (nil, [error])
        }
        var columns: [ColumnSpec] = []
        var errors: [SchemaParseError] = []
        var seen: [String: Int] = [:]
        for (n, item) in items.enumerated() {
            var parser = ItemParser(chars: chars, start: item.start, end: item.end, itemIndex: n + 1)
            do throws(SchemaParseError) {
                let spec = try parser.parse()
                if let first = seen[spec.name] {
                    errors.append(parser.error(at: item.start, "duplicate column '\(spec.name)' (first declared as column \(first))"))
                    continue
                }
                seen[spec.name] = n + 1
                columns.append(spec)
            } catch {
                errors.append(error)
            }
        }
        if columns.isEmpty, errors.isEmpty {
            errors.append(SchemaParseError(itemIndex: 0, item: "", offset: 0, message: "schema declares no columns"))
        }
        return (errors.isEmpty ? Schema(columns: columns) : nil, errors)
    }

    /// Double-quotes a name or category value when bare text could not hold it.
    static func quoteIfNeeded(_ s: String) -> String {
        let special: Set<Character> = [",", "(", ")", "\"", ":", "#", "="]
        if !s.isEmpty, !s.contains(where: { special.contains($0) || $0.isWhitespace }) { return s }
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// Item ranges; a blank tail after a final comma is dropped (a trailing comma is allowed).
    private static func splitItems(_ chars: [Character]) throws(SchemaParseError) -> [(start: Int, end: Int)] {
        var items: [(start: Int, end: Int)] = []
        var depth = 0
        var inQuotes = false
        var start = 0
        var sawContent = false
        var i = 0
        var parenOpen = 0
        var quoteOpen = 0
        while i < chars.count {
            let c = chars[i]
            if inQuotes {
                if c == "\"" {
                    if i + 1 < chars.count, chars[i + 1] == "\"" { i += 1 } else { inQuotes = false }
                }
            } else if c == "#" {
                while i < chars.count, chars[i] != "\n" { i += 1 }
                continue
            } else if c == ",", depth == 0 {
                items.append((start, i))
                start = i + 1
                sawContent = false
            } else {
                if !c.isWhitespace { sawContent = true }
                if c == "\"" {
                    inQuotes = true
                    quoteOpen = i
                } else if c == "(" {
                    if depth == 0 { parenOpen = i }
                    depth += 1
                } else if c == ")" {
                    depth -= 1
                    if depth < 0 { throw itemError(chars, start, i, items.count + 1, "unbalanced ')'") }
                }
            }
            i += 1
        }
        if inQuotes { throw itemError(chars, start, quoteOpen, items.count + 1, "unterminated quoted text") }
        if depth > 0 { throw itemError(chars, start, parenOpen, items.count + 1, "unclosed '('") }
        if sawContent { items.append((start, chars.count)) }
        return items
    }

    static func itemError(_ chars: [Character], _ start: Int, _ offset: Int, _ index: Int, _ message: String) -> SchemaParseError {
        let end = chars[start...].firstIndex(of: ",") ?? chars.count
        let item = String(chars[start ..< max(start, end)]).trimmingCharacters(in: .whitespacesAndNewlines)
        return SchemaParseError(itemIndex: index, item: item, offset: offset, message: message)
    }
}

/// Parses one column item `name: type attr attr=value ...` within [start, end).
private struct ItemParser {
    let chars: [Character]
    let start: Int
    let end: Int
    let itemIndex: Int
    var pos: Int

    init(chars: [Character], start: Int, end: Int, itemIndex: Int) {
        self.chars = chars
        self.start = start
        self.end = end
        self.itemIndex = itemIndex
        self.pos = start
    }

    var itemText: String {
        // Comments are part of the raw range; show the item without them.
        var out = ""
        var i = start
        while i < end {
            if chars[i] == "#" {
                while i < end, chars[i] != "\n" { i += 1 }
                continue
            }
            out.append(chars[i])
            i += 1
        }
        return out.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }.joined(separator: " ")
    }

    func error(at offset: Int, _ message: String) -> SchemaParseError {
        SchemaParseError(itemIndex: itemIndex, item: itemText, offset: offset, message: message)
    }

    mutating func skipSpace() {
        while pos < end {
            if chars[pos] == "#" {
                while pos < end, chars[pos] != "\n" { pos += 1 }
            } else if chars[pos].isWhitespace {
                pos += 1
            } else {
                break
            }
        }
    }

    /// A quoted string or a bare run of characters not in `stops` and not whitespace.
    mutating func word(stops: Set<Character>) throws(SchemaParseError) -> String? {
        guard pos < end else { return nil }
        if chars[pos] == "\"" {
            let open = pos
            pos += 1
            var out = ""
            while pos < end {
                if chars[pos] == "\"" {
                    if pos + 1 < end, chars[pos + 1] == "\"" {
                        out.append("\"")
                        pos += 2
                        continue
                    }
                    pos += 1
                    return out
                }
                out.append(chars[pos])
                pos += 1
            }
            throw error(at: open, "unterminated quoted text")
        }
        let s = pos
        while pos < end, !stops.contains(chars[pos]), !chars[pos].isWhitespace { pos += 1 }
        return pos > s ? String(chars[s ..< pos]) : nil
    }

    mutating func parse() throws(SchemaParseError) -> ColumnSpec {
        skipSpace()
        if pos >= end { throw error(at: start, "empty column spec (two commas in a row?)") }
        let nameAt = pos
        guard let name = try word(stops: [":", "(", ")", ","]), !name.isEmpty else {
            throw error(at: nameAt, "expected a column name")
        }
        skipSpace()
        guard pos < end, chars[pos] == ":" else {
            throw error(at: pos, "expected ':' after column name '\(name)' (write `\(name): TYPE`)")
        }
        pos += 1
        skipSpace()
        let typeAt = pos
        guard let typeName = try word(stops: ["(", ")", ",", "="]) else {
            throw error(at: typeAt, "missing type for column '\(name)' (expected int, float, bool, string or category(...))")
        }
        var type: ColumnType
        switch typeName {
        case "int": type = .int
        case "float": type = .float
        case "bool": type = .bool
        case "string": type = .string
        case "category": type = .category(try categoryValues(typeAt: typeAt))
        default:
            throw error(at: typeAt, "unknown type '\(typeName)' (expected int, float, bool, string or category(...))")
        }
        if case .category = type {} else if pos < end, chars[pos] == "(" {
            throw error(at: pos, "type '\(typeName)' takes no '(...)'")
        }
        var spec = ColumnSpec(name: name, type: type)
        var seenAttrs: Set<String> = []
        while true {
            skipSpace()
            if pos >= end { break }
            let attrAt = pos
            guard let attr = try word(stops: ["=", "(", ")"]) else {
                throw error(at: attrAt, "unexpected '\(chars[pos])'")
            }
            if seenAttrs.contains(attr) { throw error(at: attrAt, "attribute '\(attr)' given twice") }
            seenAttrs.insert(attr)
            switch attr {
            case "nullable": spec.nullable = true
            case "id": spec.isID = true
            case "pii": spec.isPII = true
            case "unique": spec.unique = true
            case "min", "max":
                guard spec.type.isNumeric else {
                    throw error(at: attrAt, "'\(attr)=' applies only to int and float columns, not \(spec.type.name)")
                }
                guard pos < end, chars[pos] == "=" else { throw error(at: pos, "expected '\(attr)=NUMBER'") }
                pos += 1
                let valueAt = pos
                guard let text = try word(stops: ["(", ")"]), let value = Double(text), value.isFinite else {
                    throw error(at: valueAt, "'\(attr)=' needs a finite number")
                }
                if attr == "min" { spec.min = value } else { spec.max = value }
            default:
                throw error(at: attrAt, "unknown attribute '\(attr)' (expected nullable, id, pii, unique, min=X, max=Y)")
            }
        }
        if let lo = spec.min, let hi = spec.max, lo > hi {
            throw error(at: start, "min=\(CanonicalJSON.format(lo)) is greater than max=\(CanonicalJSON.format(hi))")
        }
        return spec
    }

    mutating func categoryValues(typeAt: Int) throws(SchemaParseError) -> [String] {
        guard pos < end, chars[pos] == "(" else {
            throw error(at: pos, "category needs its values: category(a, b, c)")
        }
        pos += 1
        var values: [String] = []
        while true {
            skipSpace()
            let valueAt = pos
            if pos < end, chars[pos] == ")", values.isEmpty { throw error(at: valueAt, "category() lists no values") }
            guard let raw = try quotedOrBareCategory() else { throw error(at: valueAt, "expected a category value") }
            if values.contains(raw) { throw error(at: valueAt, "category value '\(raw)' listed twice") }
            values.append(raw)
            skipSpace()
            guard pos < end else { throw error(at: typeAt, "unclosed category(") }
            if chars[pos] == ")" {
                pos += 1
                return values
            }
            guard chars[pos] == "," else { throw error(at: pos, "expected ',' or ')' in category list") }
            pos += 1
        }
    }

    /// Category values may contain inner spaces (`month to month`); bare ones are trimmed.
    mutating func quotedOrBareCategory() throws(SchemaParseError) -> String? {
        guard pos < end else { return nil }
        if chars[pos] == "\"" { return try word(stops: []) }
        let s = pos
        while pos < end, chars[pos] != ",", chars[pos] != ")", chars[pos] != "(" { pos += 1 }
        let v = String(chars[s ..< pos]).trimmingCharacters(in: .whitespacesAndNewlines)
        return v.isEmpty ? nil : v
    }
}
