import Foundation
import MLBuildBasics
import MLBuildTraining

/// `transform.json`: everything needed to turn raw rows into feature rows exactly as at build
/// time. Fitted on the training rows only. See docs/formats.md, "transform.json".
///
/// Per feature column, in schema order (label, id and dropped columns excluded):
/// numeric (int/float): x → impute if null → log1p → bucket one-hot | (x − center) / scale | x;
/// bool: x → impute if null → 0/1; one_hot (category/string): one 1.0 at the value's position,
/// all zeros for a value not in `categories` (unseen at fit time).
public struct FittedTransform: Codable, Sendable, Equatable {
    public var version: Int
    /// The dataset's full schema and cell options (how raw rows are read and validated).
    public var schema: Schema
    public var options: DatasetOptions
    public var label: LabelEncoding
    public var idColumns: [String]
    public var steps: [ColumnTransform]
    public var featureNames: [String]
    /// The features target's `pseudonymize`: these one-hot string columns were fitted on
    /// HMAC-SHA-256 tokens of their values (their categories are tokens), so raw rows are
    /// tokenized with the same key before they are mapped (`RawRowMapper`). Absent otherwise.
    public var pseudonymized: Pseudonymized? = nil

    public struct Pseudonymized: Codable, Sendable, Equatable {
        public var columns: [String]
        /// The name of the secret (environment variable) that holds the key: never the key.
        public var keySecret: String

        public init(columns: [String], keySecret: String) {
            self.columns = columns
            self.keySecret = keySecret
        }

        enum CodingKeys: String, CodingKey {
            case columns
            case keySecret = "key_secret"
        }
    }

    enum CodingKeys: String, CodingKey {
        case version, schema, options, label, steps
        case idColumns = "id_columns", featureNames = "feature_names", pseudonymized = "pseudonymize"
    }

    public struct LabelEncoding: Codable, Sendable, Equatable {
        public var column: String
        public var type: String
        /// Class names for bool (`false`, `true`), category (declared order) and string (sorted)
        /// labels: label value = class index. nil for numeric labels (regression: the value).
        public var classes: [String]?
    }

    public struct ColumnTransform: Codable, Sendable, Equatable {
        public var column: String
        /// `numeric`, `bool`, `one_hot` or `buckets`.
        public var kind: String
        /// Replacement for nulls: a number (numeric, bool as 0/1) or a category value (one_hot).
        public var imputeValue: Double?
        public var imputeText: String?
        public var log1p: Bool
        /// `standardize` (center = mean, scale = std or 1 when 0) or `minmax` (center = min,
        /// scale = max − min or 1 when 0); nil = no scaling.
        public var scaling: String?
        public var center: Double?
        public var scale: Double?
        public var categories: [String]?
        /// Bucket i holds boundaries[i-1] <= x < boundaries[i] (bucket 0: x < boundaries[0]).
        public var boundaries: [Double]?

        enum CodingKeys: String, CodingKey {
            case column, kind, log1p, scaling, center, scale, categories, boundaries
            case imputeValue = "impute_value", imputeText = "impute_text"
        }

        public var width: Int {
            switch kind {
            case "one_hot": categories?.count ?? 0
            case "buckets": (boundaries?.count ?? 0) + 1
            default: 1
            }
        }
    }

    /// Reads and validates (`problems()`) a transform.json; errors name the file and the field.
    public static func read(from url: URL) throws -> FittedTransform {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw DatasetError.io(path: url.path, message: "cannot read: \(error.localizedDescription)")
        }
        let transform: FittedTransform
        do {
            transform = try JSONDecoder().decode(FittedTransform.self, from: data)
        } catch {
            throw DatasetError.format(path: url.path, message: "not a valid transform.json: \(DecodingFailure.describe(error, data: data))")
        }
        try transform.validate(path: url.path)
        return transform
    }

    public func write(to url: URL) throws {
        try CanonicalJSON.write(self, to: url)
    }

    /// The feature rows of `rows` of `table` (all rows when nil). Throws naming the column when a
    /// needed value is null and the step has no impute, or log1p meets a value <= -1; use
    /// `usableRows` first to drop such rows instead.
    public func features(of table: ColumnarTable, rows: [Int]? = nil) throws -> Matrix {
        let rows = rows ?? Array(0 ..< table.rowCount)
        let (columns, width) = try prepare(table)
        var values = LargeArray.zeroed(Double.self, count: rows.count * width)
        do {
            try values.withUnsafeMutableBufferPointer { out in
                try rows.withUnsafeBufferPointer { all in try fillBlocks(columns, table: table, rows: all, into: out, width: width) }
            }
        } catch {
            throw firstError(columns, table: table, rows: rows, width: width) ?? error
        }
        return Matrix(rows: rows.count, columns: width, values: values)
    }

    /// The same rows as `features(of:rows:)`, handed to `emit` in order, `chunkRows` rows at a
    /// time from one reused buffer: a 230 MB training matrix goes to its file without ever
    /// being in memory whole (fresh memory costs more than filling it on this machine kind;
    /// 32,768 rows of 35 features are 9 MB, sixteen blocks for the threads to share). A
    /// failing row throws the error `features(of:rows:)` throws, before its chunk is emitted.
    public func streamFeatures(of table: ColumnarTable, rows: [Int], chunkRows: Int = 32_768,
                               _ emit: (UnsafeBufferPointer<Double>) throws -> Void) throws {
        let (columns, width) = try prepare(table)
        let chunkRows = max(1, chunkRows)
        var buffer = LargeArray.zeroed(Double.self, count: min(chunkRows, rows.count) * width)
        try rows.withUnsafeBufferPointer { all in
            for start in stride(from: 0, to: all.count, by: chunkRows) {
                let end = min(start + chunkRows, all.count)
                try buffer.withUnsafeMutableBufferPointer { out in
                    let chunk = UnsafeMutableBufferPointer(rebasing: out[0 ..< (end - start) * width])
                    chunk.update(repeating: 0)
                    do {
                        try fillBlocks(columns, table: table, rows: UnsafeBufferPointer(rebasing: all[start ..< end]), into: chunk, width: width)
                    } catch {
                        throw firstError(columns, table: table, rows: rows, width: width) ?? error
                    }
                    try emit(UnsafeBufferPointer(chunk))
                }
            }
        }
    }

    /// The columns the steps read, in step order, and the row width; throws when the steps do
    /// not make the named features or a column is missing.
    private func prepare(_ table: ColumnarTable) throws -> (columns: [Column], width: Int) {
        let width = featureNames.count
        // Each step writes its own width: together they must fill the row exactly (`problems()`
        // says which step is at fault).
        let made = steps.reduce(0) { $0 + $1.width }
        guard made == width else {
            throw DatasetError.features(message: "the transform's steps make \(made) features but it names \(width) (feature_names); the transform is inconsistent")
        }
        let columns = try steps.map { step in
            guard let column = table.column(named: step.column) else {
                throw DatasetError.features(message: "column '\(step.column)' is missing from the data")
            }
            return column
        }
        return (columns, width)
    }

    /// Every step over a block of rows, then the next block: the matrix is written one
    /// cache-sized block at a time, not walked once per step (35 passes over a 224 MB train
    /// matrix were most of filling it). Blocks are disjoint rows, so they are filled on the
    /// budget's threads. `out` holds zeros.
    private func fillBlocks(_ columns: [Column], table: ColumnarTable, rows all: UnsafeBufferPointer<Int>,
                            into out: UnsafeMutableBufferPointer<Double>, width: Int) throws {
        let blocks = (all.count + Self.blockRows - 1) / Self.blockRows
        let failures = ParallelOutcomes<Void>(count: blocks)
        WorkBudget.current.parallelFor(blocks) { b in
            let start = b * Self.blockRows
            let end = min(start + Self.blockRows, all.count)
            failures.record(b) {
                try fill(columns, table: table, rows: UnsafeBufferPointer(rebasing: all[start ..< end]),
                         into: UnsafeMutableBufferPointer(rebasing: out[start * width ..< end * width]), width: width)
            }
        }
        _ = try failures.inOrder()
    }

    /// The error a step-by-step pass over all `rows` meets first (step order, then row order),
    /// whichever block or chunk failed first: the same message for the same data however rows
    /// are blocked. Only on the error path (it fills a whole scratch matrix).
    private func firstError(_ columns: [Column], table: ColumnarTable, rows: [Int], width: Int) -> (any Error)? {
        var scratch = LargeArray.zeroed(Double.self, count: rows.count * width)
        do {
            try scratch.withUnsafeMutableBufferPointer { out in
                try rows.withUnsafeBufferPointer { all in
                    for (k, step) in steps.enumerated() {
                        try fill([columns[k]], steps: [step], table: table, rows: all, into: out, width: width,
                                 offset: steps[..<k].reduce(0) { $0 + $1.width })
                    }
                }
            }
        } catch {
            return error
        }
        return nil
    }

    /// Rows per block of `features(of:rows:)`: 2,048 rows of 35 features are 573 KB.
    static let blockRows = 2048

    /// `steps` (all of them by default) for `rows`, written into `out` (row i of `rows` at
    /// `i * width`), the first step's features at `offset`.
    private func fill(_ columns: [Column], steps: [ColumnTransform]? = nil, table: ColumnarTable, rows: UnsafeBufferPointer<Int>,
                      into out: UnsafeMutableBufferPointer<Double>, width: Int, offset: Int = 0) throws {
        var offset = offset
        for (step, column) in zip(steps ?? self.steps, columns) {
            if try !step.fillColumn(column, rows: rows, into: out, width: width, offset: offset) {
                for (i, r) in rows.enumerated() {
                    try step.write(column, row: r, into: out, at: i * width + offset, line: table.lines[r])
                }
            }
            offset += step.width
        }
    }

    /// The column whose step makes feature `k` (matrix column order), or nil when out of range.
    public func column(ofFeature k: Int) -> String? {
        var offset = 0
        for step in steps {
            if k < offset + step.width { return k >= offset ? step.column : nil }
            offset += step.width
        }
        return nil
    }

    /// Label values of `rows` (class index or the number); throws on a null or unknown label.
    public func labels(of table: ColumnarTable, rows: [Int]) throws -> [Double] {
        guard let column = table.column(named: label.column) else {
            throw DatasetError.features(message: "label column '\(label.column)' is missing from the data")
        }
        // Class labels of a text column: each dictionary code looked up once, not each row's text.
        if let classes = label.classes, case .codes(let codes, let dictionary) = column.storage {
            let classOfCode = dictionary.map { classes.firstIndex(of: $0) }
            return try rows.map { r in
                guard !column.nulls[r] else { throw nullLabel(table, row: r) }
                let code = Int(codes[r])
                guard code < classOfCode.count, let i = classOfCode[code] else { throw unknownClass(column.text(at: r) ?? "", table, row: r) }
                return Double(i)
            }
        }
        return try rows.map { r in
            if column.nulls[r] { throw nullLabel(table, row: r) }
            if let classes = label.classes {
                let text = column.text(at: r) ?? ""
                guard let i = classes.firstIndex(of: text) else { throw unknownClass(text, table, row: r) }
                return Double(i)
            }
            return column.double(at: r) ?? 0
        }
    }

    private func nullLabel(_ table: ColumnarTable, row r: Int) -> DatasetError {
        .features(message: "label column '\(label.column)' is null on line \(table.lines[r]); every row needs a label")
    }

    private func unknownClass(_ text: String, _ table: ColumnarTable, row r: Int) -> DatasetError {
        let shown = table.column(named: label.column)?.spec.isPII == true ? ColumnSpec.piiPlaceholder : text
        return .features(message: "label column '\(label.column)' value '\(shown)' on line \(table.lines[r]) is not a known class")
    }

    /// Per row of `table`, the first reason it cannot be mapped (a null without impute, log1p of
    /// <= -1). The columns are looked up once and the steps that cannot refuse a row are left out
    /// (by name for every row and step, the lookup was a quarter of `mlbuild predict`).
    func unusableRows(of table: ColumnarTable) -> (Int) -> RowError? {
        let checks = steps.compactMap { step -> (ColumnTransform, Column)? in
            guard let column = table.column(named: step.column) else { return nil }
            let nullRefused = step.imputeValue == nil && step.imputeText == nil && column.nullCount > 0
            return nullRefused || step.log1p ? (step, column) : nil
        }
        return { r in Self.unusable(checks, table, row: r) }
    }

    private static func unusable(_ checks: [(ColumnTransform, Column)], _ table: ColumnarTable, row r: Int) -> RowError? {
        for (step, column) in checks {
            if column.nulls[r], step.imputeValue == nil, step.imputeText == nil {
                return RowError(line: table.lines[r], column: step.column, message: "null, and the transform has no impute for this column")
            }
            if step.log1p, let v = column.double(at: r), v <= -1 {
                let shown = column.spec.isPII ? ColumnSpec.piiPlaceholder : CanonicalJSON.format(v)
                return RowError(line: table.lines[r], column: step.column, message: "log1p needs values > -1, got \(shown)")
            }
        }
        return nil
    }
}

extension FittedTransform.ColumnTransform {
    /// The numeric value after impute and log1p (before scaling / bucketing).
    @inline(__always)
    func base(_ column: Column, row r: Int, line: Int) throws -> Double {
        var x: Double
        if let v = column.double(at: r) {
            x = v
        } else if let imputeValue {
            x = imputeValue
        } else {
            throw DatasetError.features(message: "column '\(self.column)' is null on line \(line) and has no impute (add e.g. `impute = \(self.column):median`)")
        }
        if log1p {
            guard x > -1 else {
                let shown = column.spec.isPII ? ColumnSpec.piiPlaceholder : CanonicalJSON.format(x)
                throw DatasetError.features(message: "column '\(self.column)': log1p needs values > -1, got \(shown) on line \(line)")
            }
            x = Foundation.log1p(x)
        }
        return x
    }

    func write(_ column: Column, row r: Int, into values: UnsafeMutableBufferPointer<Double>, at i: Int, line: Int) throws {
        switch kind {
        case "one_hot":
            let text: String
            if let t = column.text(at: r) {
                text = t
            } else if let imputeText {
                text = imputeText
            } else {
                throw DatasetError.features(message: "column '\(self.column)' is null on line \(line) and has no impute (add e.g. `impute = \(self.column):mode`)")
            }
            if let k = categories?.firstIndex(of: text) { values[i + k] = 1 }
        case "buckets":
            let x = try base(column, row: r, line: line)
            let k = (boundaries ?? []).reduce(0) { $0 + (x >= $1 ? 1 : 0) }
            values[i + k] = 1
        default:
            let x = try base(column, row: r, line: line)
            if let center, let scale {
                let d = x - center
                // x and center on opposite sides of ±1e308: the same quotient from halves.
                values[i] = d.isFinite ? d / scale : (x / 2 - center / 2) / scale * 2
            } else {
                values[i] = x
            }
        }
    }
}
