/// `schema infer`: guesses a schema from a CSV so nobody types 40 column specs by hand.
///
/// Per column, over the non-null cells (null as in `CellReader`): all integers → `int`; all
/// finite decimals → `float`; all bool spellings → `bool` (so 0/1 columns stay `int`); at most
/// `maxCategories` (20) distinct values → `category(...)` with the values sorted; otherwise
/// `string`. Any null makes the column `nullable`; a column with no values at all is
/// `string nullable`. No id, unique or range guesses: those are decisions, not observations.
public enum SchemaInferrer {
    public static let maxCategories = 20

    public static func infer(_ source: some TableSource, options: DatasetOptions = DatasetOptions()) throws -> Schema {
        let reader = CellReader(options: options)
        var names: [String] = []
        var states: [State] = []
        try source.scan(
            header: { header in
                names = header.map { $0.trimmingCharacters(in: .whitespaces) }
                if let dup = Dictionary(grouping: names, by: { $0 }).filter({ $0.value.count > 1 }).keys.sorted().first {
                    throw DatasetError.header(path: source.name, message: "header names column '\(dup)' twice")
                }
                states = Array(repeating: State(), count: header.count)
            },
            batch: { batch in
                for f in 0 ..< batch.fieldCount {
                    for r in 0 ..< batch.count {
                        let t = NumberParser.trimmed(batch.bytes(r, f))
                        if let offset = UTF8Check.firstInvalidOffset(t) {
                            throw DatasetError.csv(
                                path: source.name, line: batch.line(r),
                                message: "column '\(names[f])': '\(UTF8Check.shown(t))' is not UTF-8 (\(UTF8Check.problem(t, at: offset))); re-encode the file as UTF-8")
                        }
                        states[f].add(t, reader: reader)
                    }
                }
            })
        return Schema(columns: zip(names, states).map { $1.spec(name: $0) })
    }

    /// The schema as an Mlfile value: `schema = a: int,` then one indented line per column.
    public static func mlfileBlock(_ schema: Schema, indent: String = "    ") -> String {
        "schema = " + schema.text(indent: indent) + "\n"
    }

    struct State {
        var nulls = 0
        var values = 0
        var allInt = true
        var allFloat = true
        var allBool = true
        var distinct = ByteInterner()
        var tooMany = false

        mutating func add(_ t: UnsafeBufferPointer<UInt8>, reader: CellReader) {
            if reader.isNull(t) {
                nulls += 1
                return
            }
            values += 1
            if allInt, NumberParser.parseInt(t) == nil { allInt = false }
            if !allInt, allFloat, NumberParser.parseDouble(t) == nil { allFloat = false }
            if allBool, reader.bool(t) == nil { allBool = false }
            if !tooMany {
                _ = distinct.intern(t)
                if distinct.count > SchemaInferrer.maxCategories { tooMany = true }
            }
        }

        func spec(name: String) -> ColumnSpec {
            let type: ColumnType
            if values == 0 {
                type = .string
            } else if allInt {
                type = .int
            } else if allFloat {
                type = .float
            } else if allBool {
                type = .bool
            } else if !tooMany {
                type = .category(distinct.strings.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) })
            } else {
                type = .string
            }
            return ColumnSpec(name: name, type: type, nullable: nulls > 0 || values == 0)
        }
    }
}
