import Foundation
import MLBuildTraining

/// Prediction-time mapping of raw CSV rows to feature rows with a saved `FittedTransform`.
///
/// The file is read with the dataset's schema and cell options. The label and dropped columns
/// may be absent and are ignored when present; id columns may be absent (then `ids` is nil);
/// feature columns must be there and undeclared ones are an error, as for datasets. A row that breaks the schema (type, not null, min/max, category) or cannot be
/// transformed (null without impute) is left out and reported with its line; all other rows
/// map through exactly the code that built train.bin/test.bin.
public struct RawRowMapper: Sendable {
    public let transform: FittedTransform
    /// What does not depend on the rows, worked out once per transform (a server maps many
    /// small requests with one mapper): the transform's problems, the schema rows are read
    /// with, and which columns may be absent or are ignored.
    private let problems: [String]
    private let relaxed: Schema
    private let optional: Set<String>
    private let ignored: Set<String>

    public struct Mapped: Sendable {
        /// The first id column's value per mapped row, or nil without an id column.
        public var ids: [String]?
        public var matrix: Matrix
        /// CSV line of each mapped row.
        public var lines: [Int]
        /// Rows left out, by line (one entry per broken cell; a row may have several).
        public var rowErrors: [RowError]
    }

    /// Tokenizes the columns the features target pseudonymized, with the key from the secret
    /// the transform names; nil when none were.
    private let pseudonymizer: Pseudonymizer?
    /// Why raw rows cannot be mapped: the transform's columns are tokens and the key is not set.
    public let missingKey: String?

    /// `environment`: where the key of a pseudonymized transform is looked up, by the secret's
    /// name (the build's environment, for a model built from it).
    public init(transform: FittedTransform, environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.transform = transform
        if let pseudonymized = transform.pseudonymized {
            if let key = environment[pseudonymized.keySecret], !key.isEmpty {
                pseudonymizer = Pseudonymizer(columns: pseudonymized.columns, key: Array(key.utf8))
                missingKey = nil
            } else {
                pseudonymizer = nil
                missingKey = "the model's column\(pseudonymized.columns.count == 1 ? "" : "s") "
                    + pseudonymized.columns.map { "'\($0)'" }.joined(separator: ", ")
                    + " \(pseudonymized.columns.count == 1 ? "was" : "were") pseudonymized when it was built: set the secret "
                    + "\(pseudonymized.keySecret) (the same HMAC key) in the environment to score raw rows"
            }
        } else {
            pseudonymizer = nil
            missingKey = nil
        }
        // A transform decoded from a file a user may have edited is checked before any row.
        problems = transform.problems()
        let schema = transform.schema
        let used = Set(transform.steps.map(\.column))
        optional = Set(schema.columns.map(\.name).filter { !used.contains($0) })
        // Label and dropped columns are neither validated nor needed; ids are validated.
        ignored = optional.subtracting(transform.idColumns)
        relaxed = Schema(columns: schema.columns.map { c in
            var c = c
            c.unique = false  // uniqueness is a dataset rule, not a row rule
            return c
        })
    }

    public init(transformFile: URL) throws {
        self.init(transform: try FittedTransform.read(from: transformFile))
    }

    public func map(csv: URL) throws -> (ids: [String]?, matrix: Matrix, rowErrors: [RowError]) {
        let m = try map(source: CSVSource(url: csv))
        return (m.ids, m.matrix, m.rowErrors)
    }

    public func map(source: some TableSource) throws -> Mapped {
        let read = try read(source: source)
        var mapped = try self.mapped(read, rows: read.keep)
        mapped.rowErrors = (read.errors + mapped.rowErrors).sorted { ($0.line, $0.column) < ($1.line, $1.column) }
        return mapped
    }

    /// A source read and checked, before any feature is computed: `map` in two halves, so a
    /// caller can map the kept rows block by block (`mlbuild predict` on a million rows holds
    /// one block's features at a time, not a 280 MB matrix).
    public struct Read: Sendable {
        let table: ColumnarTable
        /// Rows that passed the schema and the transform's checks, in input order.
        public let keep: [Int]
        /// Rows left out so far (schema, null without impute, log1p domain), unsorted.
        public let errors: [RowError]
        /// The first id column, when the source has it (an absent one reads as all null).
        let idColumn: Column?
    }

    public func read(source: some TableSource) throws -> Read {
        if !problems.isEmpty {
            throw DatasetError.features(message: FittedTransform.describe(problems, field: ""))
        }
        if let missingKey { throw DatasetError.features(message: missingKey) }
        var (table, builders) = try DatasetIngester.scan(
            source, schema: relaxed, options: transform.options, mayBeAbsent: optional, ignore: ignored,
            collectRowErrors: true)
        try pseudonymizer?.apply(to: &table)
        var errors = builders.flatMap(\.rowErrors)
        var bad = Set(errors.map(\.line))
        var keep: [Int] = []
        let unusable = transform.unusableRows(of: table)
        for r in 0 ..< table.rowCount where bad.isEmpty || !bad.contains(table.lines[r]) {
            if let e = unusable(r) {
                errors.append(e)
                bad.insert(e.line)
            } else {
                keep.append(r)
            }
        }
        var idColumn: Column?
        if let idName = transform.idColumns.first, let column = table.column(named: idName),
           column.nullCount < table.rowCount || table.rowCount == 0 {
            idColumn = column
        }
        return Read(table: table, keep: keep, errors: errors, idColumn: idColumn)
    }

    /// The features of `rows` (a slice of `read.keep`, in order). Rows whose features are not
    /// all finite are left out and reported in `rowErrors` (unsorted; `map` sorts).
    public func mapped(_ read: Read, rows: some Collection<Int>) throws -> Mapped {
        let table = read.table
        var keep = Array(rows)
        var errors: [RowError] = []
        var matrix = try transform.features(of: table, rows: keep)
        // A finite cell can still map to an infinite feature (1e308 standardized by a small
        // scale): such a row is reported, never scored as if the value were missing.
        let width = matrix.columns
        var finite: [Int] = []
        for (i, r) in keep.enumerated() {
            if let k = (0 ..< width).first(where: { !matrix.values[i * width + $0].isFinite }) {
                let column = transform.column(ofFeature: k) ?? transform.featureNames[k]
                errors.append(RowError(
                    line: table.lines[r], column: column,
                    message: "the value \(table.column(named: column)?.text(at: r) ?? "") maps to feature '\(transform.featureNames[k])' = \(matrix.values[i * width + k]), not a finite number"))
            } else {
                finite.append(i)
            }
        }
        if finite.count != keep.count {
            var values: [Double] = []
            values.reserveCapacity(finite.count * width)
            for i in finite { values += matrix.values[i * width ..< (i + 1) * width] }
            matrix = Matrix(rows: finite.count, columns: width, values: values)
            keep = finite.map { keep[$0] }
        }
        let ids = read.idColumn.map { column in keep.map { column.text(at: $0) ?? "" } }
        return Mapped(ids: ids, matrix: matrix, lines: keep.map { table.lines[$0] }, rowErrors: errors)
    }
}
