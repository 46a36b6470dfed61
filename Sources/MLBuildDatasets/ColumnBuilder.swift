/// Accumulates one column while a source is scanned: parses each cell straight from its bytes,
/// stores it typed, and tallies every schema rule the cell breaks (nothing stops at the first).
struct ColumnBuilder {
    let spec: ColumnSpec
    private let kind: Kind
    private let collectRowErrors: Bool
    private let categories: [String]
    /// `spec.isPII`, copied so that a message can be made without capturing `self`.
    private let pii: Bool

    private(set) var nulls: [Bool] = []
    private var ints: [Int64] = []
    private var floats: [Double] = []
    private var bools: [Bool] = []
    private var codes: [UInt32] = []
    private var interner = ByteInterner()
    /// interner code → declared category index, -1 when not declared, -2 when not UTF-8.
    private var categoryIndex: [Int32] = []
    /// string columns: interner code → whether the value is UTF-8 (checked once per distinct value).
    private var validText: [Bool] = []
    private var seenInts: Set<Int64> = []
    private var seenFloats: Set<UInt64> = []
    private var seenBools: Set<Bool> = []
    private var seenCodes: [Bool] = []

    var typeTally = ViolationTally()
    var notNullTally = ViolationTally()
    var minTally = ViolationTally()
    var maxTally = ViolationTally()
    var categoryTally = ViolationTally()
    var uniqueTally = ViolationTally()
    var encodingTally = ViolationTally()
    /// Per-cell errors (prediction mode only).
    var rowErrors: [RowError] = []

    private enum Kind { case int, float, bool, string, category }

    init(spec: ColumnSpec, collectRowErrors: Bool = false, reserve: Int = 0) {
        self.spec = spec
        self.collectRowErrors = collectRowErrors
        pii = spec.isPII
        switch spec.type {
        case .int: kind = .int; categories = []
        case .float: kind = .float; categories = []
        case .bool: kind = .bool; categories = []
        case .string: kind = .string; categories = []
        case .category(let values): kind = .category; categories = values
        }
        self.reserve(reserve)
    }

    private mutating func reserve(_ n: Int) {
        nulls.reserveCapacity(n)
        switch kind {
        case .int: ints.reserveCapacity(n)
        case .float: floats.reserveCapacity(n)
        case .bool: bools.reserveCapacity(n)
        case .string, .category: codes.reserveCapacity(n)
        }
    }

    @inline(__always)
    private mutating func appendNull() {
        nulls.append(true)
        switch kind {
        case .int: ints.append(0)
        case .float: floats.append(0)
        case .bool: bools.append(false)
        case .string, .category: codes.append(0)
        }
    }

    /// Appends field `field` of every record in the batch.
    mutating func append(batch: RecordBatch, field: Int, reader: CellReader) {
        if nulls.capacity < nulls.count + batch.count, batch.estimatedTotalCount > nulls.count {
            reserve(batch.estimatedTotalCount + batch.estimatedTotalCount / 32 + batch.count)
        }
        for r in 0 ..< batch.count {
            append(batch.bytes(r, field), line: batch.line(r), reader: reader)
        }
    }

    @inline(__always)
    mutating func append(_ raw: UnsafeBufferPointer<UInt8>, line: Int, reader: CellReader) {
        let t = NumberParser.trimmed(raw)
        if reader.isNull(t) {
            appendNull()
            if !spec.nullable {
                notNullTally.add(line: line, example: nil)
                if collectRowErrors { rowError(line, "not null: the cell is null") }
            }
            return
        }
        switch kind {
        case .int:
            guard let v = NumberParser.parseInt(t) else { return typeError(t, line) }
            nulls.append(false)
            ints.append(v)
            checkRange(Double(v), t, line)
            if spec.unique, !seenInts.insert(v).inserted { duplicate(t, line) }
        case .float:
            guard let v = NumberParser.parseDouble(t) else { return typeError(t, line) }
            nulls.append(false)
            floats.append(v)
            checkRange(v, t, line)
            if spec.unique, !seenFloats.insert((v == 0 ? 0.0 : v).bitPattern).inserted { duplicate(t, line) }
        case .bool:
            guard let v = reader.bool(t) else { return typeError(t, line) }
            nulls.append(false)
            bools.append(v)
            if spec.unique, !seenBools.insert(v).inserted { duplicate(t, line) }
        case .string:
            let (code, isNew) = interner.intern(t)
            if isNew { validText.append(UTF8Check.isValid(t)) }
            if !validText[code] { return encodingError(t, line) }
            nulls.append(false)
            codes.append(UInt32(code))
            if spec.unique, !isNew { duplicate(t, line) }
        case .category:
            let (code, isNew) = interner.intern(t)
            if isNew {
                // Matched only once known to be UTF-8: a decoded invalid value could equal a
                // declared category that holds U+FFFD.
                let index = UTF8Check.isValid(t) ? Int32(categories.firstIndex(of: interner.string(code)) ?? -1) : -2
                categoryIndex.append(index)
                seenCodes.append(false)
            }
            let index = categoryIndex[code]
            if index == -2 { return encodingError(t, line) }
            if index < 0 {
                categoryTally.add(line: line, example: Self.shown(t, pii: pii))
                if collectRowErrors { rowError(line, "\(Self.detail(spec.type)): '\(shown(t))' is not a declared category") }
                appendNull()
                return
            }
            nulls.append(false)
            codes.append(UInt32(index))
            if spec.unique {
                if seenCodes[code] { duplicate(t, line) } else { seenCodes[code] = true }
            }
        }
    }

    /// A text cell that is not UTF-8: a violation (a row error when predicting), stored as null.
    private mutating func encodingError(_ t: UnsafeBufferPointer<UInt8>, _ line: Int) {
        encodingTally.add(line: line, example: Self.shown(t, pii: pii))
        if collectRowErrors {
            let offset = UTF8Check.firstInvalidOffset(t) ?? 0
            // A pii cell's bad byte is part of its value.
            let problem = pii ? "" : " (\(UTF8Check.problem(t, at: offset)))"
            rowError(line, "'\(shown(t))' is not UTF-8\(problem); re-encode the file as UTF-8")
        }
        appendNull()
    }

    private mutating func typeError(_ t: UnsafeBufferPointer<UInt8>, _ line: Int) {
        typeTally.add(line: line, example: Self.shown(t, pii: pii))
        if collectRowErrors { rowError(line, "type \(spec.type.name): '\(shown(t))' is not \(Self.article(spec.type))") }
        appendNull()
    }

    @inline(__always)
    private mutating func checkRange(_ v: Double, _ t: UnsafeBufferPointer<UInt8>, _ line: Int) {
        if let lo = spec.min, v < lo {
            minTally.add(line: line, example: Self.shown(t, pii: pii))
            if collectRowErrors { rowError(line, "min=\(CanonicalJSON.format(lo)): \(shown(t)) is below the minimum") }
        }
        if let hi = spec.max, v > hi {
            maxTally.add(line: line, example: Self.shown(t, pii: pii))
            if collectRowErrors { rowError(line, "max=\(CanonicalJSON.format(hi)): \(shown(t)) is above the maximum") }
        }
    }

    private mutating func duplicate(_ t: UnsafeBufferPointer<UInt8>, _ line: Int) {
        uniqueTally.add(line: line, example: Self.shown(t, pii: pii))
    }

    private mutating func rowError(_ line: Int, _ message: String) {
        rowErrors.append(RowError(line: line, column: spec.name, message: message))
    }

    /// A cell as shown in messages: invalid UTF-8 bytes as `\xNN`, long cells cut.
    static func text(_ t: UnsafeBufferPointer<UInt8>) -> String { UTF8Check.shown(t) }

    /// This column's cell as shown in messages: `<pii>` for a pii column, whose values never
    /// leave data.bin.
    func shown(_ t: UnsafeBufferPointer<UInt8>) -> String { Self.shown(t, pii: pii) }

    /// The same for a tally's example, whose autoclosure must not capture `self`.
    static func shown(_ t: UnsafeBufferPointer<UInt8>, pii: Bool) -> String { pii ? ColumnSpec.piiPlaceholder : text(t) }

    static func article(_ type: ColumnType) -> String {
        switch type {
        case .int: "an integer"
        case .float: "a finite decimal number"
        case .bool: "a bool spelling (true/false, yes/no, 1/0, t/f, y/n or the dataset's true_values/false_values)"
        default: "valid"
        }
    }

    static func detail(_ type: ColumnType) -> String {
        if case .category(let values) = type { return "category(" + values.joined(separator: ", ") + ")" }
        return "type \(type.name)"
    }

    /// The violations of this column's own rules, in a fixed rule order.
    func violations() -> [Violation] {
        var out: [Violation] = []
        func add(_ tally: ViolationTally, _ rule: String, _ detail: String) {
            if tally.count > 0 {
                out.append(Violation(column: spec.name, rule: rule, detail: detail, count: tally.count, lines: tally.lines, example: tally.example))
            }
        }
        add(typeTally, "type", "type \(spec.type.name)")
        if encodingTally.count > 0 {
            let n = encodingTally.count
            out.append(Violation(
                column: spec.name, rule: "utf8", detail: "UTF-8 text", count: n, lines: encodingTally.lines,
                example: encodingTally.example,
                note: "\(n) row\(n == 1 ? " is" : "s are") not valid UTF-8 (mlbuild reads CSV as UTF-8: re-encode the file, e.g. with iconv -f LATIN1 -t UTF-8)"))
        }
        add(notNullTally, "not_null", "not null")
        add(categoryTally, "category", Self.detail(spec.type))
        if let lo = spec.min { add(minTally, "min", "min=\(CanonicalJSON.format(lo))") }
        if let hi = spec.max { add(maxTally, "max", "max=\(CanonicalJSON.format(hi))") }
        add(uniqueTally, "unique", "unique")
        return out
    }

    func finish() -> Column {
        let storage: ColumnStorage
        switch kind {
        case .int: storage = .int(ints)
        case .float: storage = .float(floats)
        case .bool: storage = .bool(bools)
        case .string: storage = .codes(codes, dictionary: interner.strings)
        case .category: storage = .codes(codes, dictionary: categories)
        }
        return Column(spec: spec, nulls: nulls, storage: storage)
    }
}
