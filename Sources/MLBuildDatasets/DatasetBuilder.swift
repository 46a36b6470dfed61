import Foundation
import MLBuildBasics

/// The `dataset` rule in one call: ingest, validate (quality gate), compare with a baseline
/// (drift gate), and write the outputs. Nothing is written when a gate fails.
///
/// Outputs in `outputDirectory` (each written atomically): `data.bin`
/// (`ColumnarTable+Binary.swift`), `schema.json` (`SchemaFile`), `stats.json`
/// (`DatasetStats`), and `drift.json` (`DriftReport.json()`) when a baseline is given.
public enum DatasetBuilder {
    public struct Result: Sendable {
        public var table: ColumnarTable
        public var report: ValidationReport
        public var stats: DatasetStats
        public var drift: DriftReport?
        /// Output file names written, sorted.
        public var outputs: [String]
    }

    /// - Parameter baselineDirectory: the output directory of the `baseline = dataset:OTHER`
    ///   target (its stats.json is read), or nil.
    /// - Throws: `DatasetValidationError` (full report), `DriftError` (every column's PSI),
    ///   `DatasetError` (malformed CSV, header mismatch, bad options, I/O).
    public static func build(
        source: some TableSource, schema: Schema, options: DatasetOptions,
        outputDirectory: URL, baselineDirectory: URL? = nil, progress: IngestProgress? = nil, pseudonymizer: Pseudonymizer? = nil
    ) throws -> Result {
        var (table, report) = try DatasetIngester.ingest(source, schema: schema, options: options, progress: progress)
        if !report.passed { throw DatasetValidationError(report: report) }
        // Validated on the values as written (their messages show `<pii>` for pii columns);
        // every output, data.bin included, holds the tokens.
        try pseudonymizer?.apply(to: &table)
        let stats = DatasetStats.compute(table)
        var drift: DriftReport?
        if let baselineDirectory {
            let baseline = try DatasetStats.read(from: baselineDirectory.appendingPathComponent("stats.json"))
            let d = DriftReport.compute(table: table, baseline: baseline, maxPSI: options.maxPSI)
            if !d.passed { throw DriftError(source: source.name, report: d) }
            drift = d
        }
        try FileManager.default.createDirectory(at: outputDirectory, withIntermediateDirectories: true)
        try table.write(to: outputDirectory.appendingPathComponent("data.bin"))
        try SchemaFile(schema: schema, options: options).write(to: outputDirectory.appendingPathComponent("schema.json"))
        try stats.write(to: outputDirectory.appendingPathComponent("stats.json"))
        var outputs = ["data.bin", "schema.json", "stats.json"]
        if let drift {
            try AtomicFile.write(CanonicalJSON.serialize(drift.json()), to: outputDirectory.appendingPathComponent("drift.json"))
            outputs.append("drift.json")
        }
        return Result(table: table, report: report, stats: stats, drift: drift, outputs: outputs.sorted())
    }

    /// Loads a built dataset (for `features`, `test = dataset:OTHER`, prediction).
    public static func load(directory: URL) throws -> (table: ColumnarTable, schemaFile: SchemaFile) {
        let schemaFile = try SchemaFile.read(from: directory.appendingPathComponent("schema.json"))
        let table = try ColumnarTable.read(from: directory.appendingPathComponent("data.bin"), schema: schemaFile.schema)
        return (table, schemaFile)
    }
}
