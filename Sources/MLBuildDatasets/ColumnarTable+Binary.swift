import Foundation
import MLBuildBasics

/// `data.bin`, the typed columnar form of a dataset (version 1, all integers little-endian):
///
///     magic        8 bytes  "MLBDATA\0"
///     version      u32      1
///     row_count    u64
///     column_count u32
///     lines        row_count × u32   physical CSV line each row started on (header = 1)
///     column × column_count, in schema order:
///       name       u32 byte length + UTF-8
///       type       u8       0 int, 1 float, 2 bool, 3 string, 4 category
///       nulls      ceil(row_count / 8) bytes; row i is null when bit (i % 8) of byte (i / 8) is 1
///       values     int: row_count × i64; float: row_count × f64 (IEEE 754 bits);
///                  bool: row_count × u8 (0/1);
///                  string/category: dict_count u32, dict_count × (u32 length + UTF-8),
///                  then row_count × u32 codes into that dictionary
///                  (null rows hold 0 / 0.0 / 0 / code 0)
///
/// For a category column the dictionary is the declared category list, in declared order.
extension ColumnarTable {
    static let magic: [UInt8] = Array("MLBDATA\0".utf8)
    static let formatVersion: UInt32 = 1

    public func binaryData() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(64 + rowCount * (4 + columns.count * 9))
        encode { out.append(contentsOf: $0) }
        return out
    }

    /// Writes `data.bin` from the columns in place: peak memory stays the table's, not twice it.
    public func write(to url: URL) throws {
        try AtomicFile.stream(to: url.path) { stream in
            try encode { try stream.write($0) }
        }
    }

    /// Hands the file's bytes to `emit` in order: small headers from a scratch writer, value
    /// arrays straight from the columns' storage.
    private func encode(_ emit: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        var w = BinaryWriter()
        func header(_ fill: (inout BinaryWriter) -> Void) throws {
            w = BinaryWriter()
            fill(&w)
            try w.bytes.withUnsafeBytes(emit)
        }
        try header {
            $0.raw(Self.magic)
            $0.u32(Self.formatVersion)
            $0.u64(UInt64(rowCount))
            $0.u32(UInt32(columns.count))
        }
        try Self.littleEndian(lines.map { UInt32(truncatingIfNeeded: $0) }, emit)
        for c in columns {
            var bitmap = [UInt8](repeating: 0, count: (rowCount + 7) / 8)
            for (i, isNull) in c.nulls.enumerated() where isNull { bitmap[i >> 3] |= 1 << UInt8(i & 7) }
            try header {
                $0.string(c.spec.name)
                $0.u8(Self.typeCode(c.spec.type))
                $0.raw(bitmap)
            }
            switch c.storage {
            case .int(let v): try Self.littleEndian(v, emit)
            case .float(let v):
                #if _endian(little)
                try v.withUnsafeBytes(emit)
                #else
                try Self.littleEndian(v.map(\.bitPattern), emit)
                #endif
            case .bool(let v): try Self.littleEndian(v.map { $0 ? UInt8(1) : 0 }, emit)
            case .codes(let codes, let dictionary):
                try header {
                    $0.u32(UInt32(dictionary.count))
                    for s in dictionary { $0.string(s) }
                }
                try Self.littleEndian(codes, emit)
            }
        }
    }

    private static func littleEndian<T: FixedWidthInteger>(_ values: [T], _ emit: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        #if _endian(little)
        try values.withUnsafeBytes(emit)
        #else
        try values.map(\.littleEndian).withUnsafeBytes(emit)
        #endif
    }

    /// Reads `data.bin`. With `schema` (from the same dataset's schema.json) the columns get
    /// their full specs back (nullability, ranges, id); the names and types must match.
    public static func read(from url: URL, schema: Schema? = nil) throws -> ColumnarTable {
        let bytes = try CSVSource.readAll(url, name: url.path)
        return try decode(bytes, path: url.path, schema: schema)
    }

    public static func decode(_ bytes: [UInt8], path: String, schema: Schema? = nil) throws -> ColumnarTable {
        // A truncated file says so with the file's name in front.
        do { return try decodeSections(bytes, path: path, schema: schema) } catch let malformed as BinaryReader.Malformed {
            throw DatasetError.format(path: path, message: malformed.detail)
        }
    }

    private static func decodeSections(_ bytes: [UInt8], path: String, schema: Schema? = nil) throws -> ColumnarTable {
        var r = BinaryReader(bytes: bytes)
        guard Array(try r.raw(8, "magic")) == magic else {
            throw DatasetError.format(path: path, message: "not an mlbuild data.bin file (bad magic)")
        }
        let version = try r.u32("version")
        guard version == formatVersion else {
            throw DatasetError.format(path: path, message: "data.bin version \(version) is not supported (expected \(formatVersion))")
        }
        let rows64 = try r.u64("row count")
        guard rows64 <= UInt64(bytes.count) else { throw DatasetError.format(path: path, message: "row count \(rows64) exceeds the file size") }
        let rows = Int(rows64)
        let columnCount = Int(try r.u32("column count"))
        if let schema, schema.columns.count != columnCount {
            throw DatasetError.format(path: path, message: "has \(columnCount) columns, the schema declares \(schema.columns.count)")
        }
        let lines = try r.array(UInt32.self, count: rows, "line numbers").map { Int($0) }
        // Where each column starts (a walk that copies nothing), then the columns decoded on
        // the budget's threads: copying 200 MB of values into fresh memory is most of reading
        // data.bin. Errors come in file order, as a front-to-back decode meets them: a
        // column's own problems before a truncation found further on.
        var starts: [BinaryReader] = []
        var walkFailure: (any Error)?
        do {
            for index in 0 ..< columnCount {
                starts.append(r)
                try skipColumn(&r, index: index, rows: rows, path: path)
            }
            try r.expectEnd()
        } catch {
            walkFailure = error
        }
        let decoded = ParallelOutcomes<Column>(count: starts.count)
        WorkBudget.current.parallelFor(starts.count) { index in
            decoded.record(index) {
                var reader = starts[index]
                return try decodeColumn(&reader, index: index, rows: rows, path: path, schema: schema)
            }
        }
        let columns = try decoded.inOrder()
        if let walkFailure { throw walkFailure }
        return ColumnarTable(rowCount: rows, columns: columns, lines: lines)
    }

    /// Moves `r` past one column without decoding it (its name, type, bitmap and values).
    private static func skipColumn(_ r: inout BinaryReader, index: Int, rows: Int, path: String) throws {
        let name = try r.string("column \(index + 1) name")
        let code = try r.u8("column '\(name)' type")
        _ = try r.raw((rows + 7) / 8, "column '\(name)' null bitmap")
        switch code {
        case 0, 1: _ = try r.raw(rows.multipliedReportingOverflow(by: 8).overflow ? -1 : rows * 8, "column '\(name)' values")
        case 2: _ = try r.raw(rows, "column '\(name)' values")
        case 3, 4:
            let n = Int(try r.u32("column '\(name)' dictionary size"))
            for _ in 0 ..< n {
                let length = Int(try r.u32("column '\(name)' dictionary entry length"))
                _ = try r.raw(length, "column '\(name)' dictionary entry")
            }
            _ = try r.raw(rows.multipliedReportingOverflow(by: 4).overflow ? -1 : rows * 4, "column '\(name)' codes")
        default:
            throw DatasetError.format(path: path, message: "column '\(name)' has unknown type code \(code)")
        }
    }

    /// One column, from `r` placed at its start.
    private static func decodeColumn(_ r: inout BinaryReader, index: Int, rows: Int, path: String, schema: Schema?) throws -> Column {
        let name = try r.string("column \(index + 1) name")
        let code = try r.u8("column '\(name)' type")
        let nulls = expandNulls(try r.raw((rows + 7) / 8, "column '\(name)' null bitmap"), rows: rows)
        let storage: ColumnStorage
        var type: ColumnType
        switch code {
        case 0:
            type = .int
            storage = .int(try r.array(Int64.self, count: rows, "column '\(name)' values"))
        case 1:
            type = .float
            storage = .float(try r.doubles(count: rows, "column '\(name)' values"))
        case 2:
            type = .bool
            storage = .bool(Array(try r.raw(rows, "column '\(name)' values")).map { $0 != 0 })
        case 3, 4:
            let n = Int(try r.u32("column '\(name)' dictionary size"))
            var dictionary: [String] = []
            for _ in 0 ..< n { dictionary.append(try r.string("column '\(name)' dictionary entry")) }
            let codes = try r.array(UInt32.self, count: rows, "column '\(name)' codes")
            if let bad = codes.first(where: { Int($0) >= max(n, 1) }) {
                throw DatasetError.format(path: path, message: "column '\(name)' code \(bad) outside its dictionary of \(n)")
            }
            type = code == 3 ? .string : .category(dictionary)
            storage = .codes(codes, dictionary: dictionary)
        default:
            throw DatasetError.format(path: path, message: "column '\(name)' has unknown type code \(code)")
        }
        var spec = ColumnSpec(name: name, type: type)
        if let schema {
            let declared = schema.columns[index]
            guard declared.name == name, declared.type == type else {
                throw DatasetError.format(path: path, message: "column \(index + 1) is '\(name)' (\(type.name)), the schema declares '\(declared.name)' (\(declared.type.name))")
            }
            spec = declared
        }
        return Column(spec: spec, nulls: nulls, storage: storage)
    }

    /// The null bitmap as one flag per row. Most columns have no nulls: those are one fill.
    private static func expandNulls(_ bitmap: ArraySlice<UInt8>, rows: Int) -> [Bool] {
        if bitmap.allSatisfy({ $0 == 0 }) { return [Bool](repeating: false, count: rows) }
        return [Bool](unsafeUninitializedCapacity: rows) { out, n in
            bitmap.withUnsafeBufferPointer { bits in
                for i in 0 ..< rows { out[i] = bits[i >> 3] & (1 << UInt8(i & 7)) != 0 }
            }
            n = rows
        }
    }

    static func typeCode(_ type: ColumnType) -> UInt8 {
        switch type {
        case .int: 0
        case .float: 1
        case .bool: 2
        case .string: 3
        case .category: 4
        }
    }
}
