/// A typed, validated dataset in memory: one `Column` per schema column, in schema order.
/// Written to and read from `data.bin` (`ColumnarTable+Binary.swift`).
public struct ColumnarTable: Sendable, Equatable {
    public var rowCount: Int
    public var columns: [Column]
    /// The physical CSV line (1-based, header = 1) each row started on, for reports.
    public var lines: [Int]

    public init(rowCount: Int, columns: [Column], lines: [Int]) {
        self.rowCount = rowCount
        self.columns = columns
        self.lines = lines
    }

    public var schema: Schema { Schema(columns: columns.map(\.spec)) }

    public func column(named name: String) -> Column? {
        columns.first { $0.spec.name == name }
    }
}

/// One column's values. Null rows hold a zero value (0, 0.0, false, code 0) in `storage`.
public struct Column: Sendable, Equatable {
    public var spec: ColumnSpec
    public var nulls: [Bool]
    public var storage: ColumnStorage

    public init(spec: ColumnSpec, nulls: [Bool], storage: ColumnStorage) {
        self.spec = spec
        self.nulls = nulls
        self.storage = storage
    }

    /// A column of `rows` nulls (a column absent from a prediction file).
    public static func allNull(spec: ColumnSpec, rows: Int) -> Column {
        let storage: ColumnStorage
        switch spec.type {
        case .int: storage = .int(Array(repeating: 0, count: rows))
        case .float: storage = .float(Array(repeating: 0, count: rows))
        case .bool: storage = .bool(Array(repeating: false, count: rows))
        case .string: storage = .codes(Array(repeating: 0, count: rows), dictionary: [])
        case .category(let values): storage = .codes(Array(repeating: 0, count: rows), dictionary: values)
        }
        return Column(spec: spec, nulls: Array(repeating: true, count: rows), storage: storage)
    }

    public var nullCount: Int { nulls.reduce(0) { $0 + ($1 ? 1 : 0) } }

    /// The value as a double (ints, floats, bools as 0/1); nil when null or a text column.
    public func double(at row: Int) -> Double? {
        if nulls[row] { return nil }
        switch storage {
        case .int(let v): return Double(v[row])
        case .float(let v): return v[row]
        case .bool(let v): return v[row] ? 1 : 0
        case .codes: return nil
        }
    }

    /// The value as text (dictionary value, or the number/bool printed); nil when null.
    public func text(at row: Int) -> String? {
        if nulls[row] { return nil }
        switch storage {
        case .int(let v): return String(v[row])
        case .float(let v): return CanonicalJSON.format(v[row])
        case .bool(let v): return v[row] ? "true" : "false"
        case .codes(let codes, let dictionary): return dictionary[Int(codes[row])]
        }
    }
}

public enum ColumnStorage: Sendable, Equatable {
    case int([Int64])
    case float([Double])
    case bool([Bool])
    /// string and category columns: per-row codes into `dictionary`. For category columns the
    /// dictionary is the declared category list; for strings, values in first-seen order.
    case codes([UInt32], dictionary: [String])
}
