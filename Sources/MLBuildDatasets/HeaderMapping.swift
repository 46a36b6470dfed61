/// Matches a source's header to a schema: which schema column each source field feeds.
struct HeaderMapping {
    /// For each source field, the index of its schema column.
    var schemaIndexOfField: [Int]
    /// Schema column indices present in the source, in schema order.
    var presentColumns: [Int]

    /// Undeclared source columns and declared columns missing from the source are errors, except
    /// that columns in `mayBeAbsent` may be missing. All problems are reported together.
    init(header: [String], schema: Schema, source: String, mayBeAbsent: Set<String> = []) throws {
        var seen: [String: Int] = [:]
        var undeclared: [String] = []
        var map: [Int] = []
        for (i, raw) in header.enumerated() {
            let name = Self.trimmed(raw)
            if let first = seen[name] {
                throw DatasetError.header(path: source, message: "header names column '\(name)' twice (fields \(first + 1) and \(i + 1))")
            }
            seen[name] = i
            if let j = schema.index(of: name) { map.append(j) } else {
                undeclared.append(name)
                map.append(-1)
            }
        }
        let missing = schema.columns.map(\.name).filter { seen[$0] == nil && !mayBeAbsent.contains($0) }
        var problems: [String] = []
        if !undeclared.isEmpty {
            problems.append("columns not declared in the schema: " + undeclared.map { "'\($0)'" }.joined(separator: ", "))
        }
        if !missing.isEmpty {
            problems.append("declared columns missing from the file: " + missing.map { "'\($0)'" }.joined(separator: ", "))
        }
        if !problems.isEmpty { throw DatasetError.header(path: source, message: problems.joined(separator: "; ")) }
        schemaIndexOfField = map
        presentColumns = map.sorted()
    }

    /// `name.trimmingCharacters(in: .whitespaces)`, without Foundation for the usual name that
    /// starts and ends with a visible ASCII character (a server maps a header per request).
    static func trimmed(_ name: String) -> String {
        let utf8 = name.utf8
        guard let first = utf8.first, let last = utf8.last else { return name }
        func plain(_ byte: UInt8) -> Bool { byte < 0x80 && byte != 0x20 && byte != 0x09 }
        return plain(first) && plain(last) ? name : name.trimmingCharacters(in: .whitespaces)
    }
}
