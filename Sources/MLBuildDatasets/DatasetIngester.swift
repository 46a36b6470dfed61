import MLBuildBasics

/// Reads a source into a typed `ColumnarTable` and checks every schema and dataset rule.
public enum DatasetIngester {
    /// The table (invalid cells stored as null) and the validation report. Structural problems
    /// (malformed CSV, header not matching the schema) throw instead: there is nothing to report on.
    /// `progress` hears the rows read so far after each batch (`IngestProgress`).
    public static func ingest(
        _ source: some TableSource, schema: Schema, options: DatasetOptions = DatasetOptions(),
        progress: IngestProgress? = nil
    ) throws -> (table: ColumnarTable, report: ValidationReport) {
        try options.validate()
        try options.validate(against: schema)
        let (table, builders) = try scan(source, schema: schema, options: options, progress: progress)
        var violations = builders.flatMap { $0.violations() }
        violations += datasetViolations(table, options: options)
        return (table, ValidationReport(source: source.name, rowCount: table.rowCount, violations: violations))
    }

    /// Scans a source into columns (all schema columns, in schema order). Columns in
    /// `mayBeAbsent` may be missing from the header; missing columns and columns in `ignore`
    /// come back all-null.
    static func scan(
        _ source: some TableSource, schema: Schema, options: DatasetOptions,
        mayBeAbsent: Set<String> = [], ignore: Set<String> = [], collectRowErrors: Bool = false,
        progress: IngestProgress? = nil
    ) throws -> (table: ColumnarTable, builders: [ColumnBuilder]) {
        let reader = CellReader(options: options)
        let fresh = { schema.columns.map { ColumnBuilder(spec: $0, collectRowErrors: collectRowErrors) } }
        var pipeline: BatchPipeline?
        // A source that is one batch (a `serve` request, a small file) is converted on this
        // thread: starting the pipeline's two worker threads cost more than the conversion
        // (bench/serve: two thread creations per request). Same builders, same order, same bytes.
        var inline: [ColumnBuilder]?
        var fieldMap: [Int] = []
        var finished: [ColumnBuilder]?
        var lines: [Int] = []
        var filled: Set<Int> = []
        try source.scan(
            header: { names in
                let m = try HeaderMapping(header: names, schema: schema, source: source.name, mayBeAbsent: mayBeAbsent)
                fieldMap = m.schemaIndexOfField.map { $0 >= 0 && ignore.contains(schema.columns[$0].name) ? -1 : $0 }
                filled = Set(fieldMap.filter { $0 >= 0 })
            },
            batch: { batch in
                if WorkBudget.current.isCancelled {
                    // A cancelled build (Ctrl-C) stops between batches. The workers read the
                    // source's bytes: they finish what they hold before the scan unwinds.
                    _ = pipeline?.finish()
                    pipeline = nil
                    try WorkBudget.current.checkCancellation()
                }
                if lines.capacity < lines.count + batch.count, batch.estimatedTotalCount > lines.count {
                    lines.reserveCapacity(batch.estimatedTotalCount + batch.estimatedTotalCount / 32 + batch.count)
                }
                for r in 0 ..< batch.count { lines.append(batch.line(r)) }
                if pipeline == nil, inline == nil {
                    if lines.count == batch.count, batch.estimatedTotalCount <= batch.count {
                        inline = fresh()
                    } else {
                        // Workers on free threads of the work budget; none free (-j 1): inline.
                        let p = BatchPipeline(builders: fresh(), fieldToBuilder: fieldMap, reader: reader)
                        if p.start() { pipeline = p } else { inline = fresh() }
                    }
                }
                if inline != nil {
                    for (field, column) in fieldMap.enumerated() where column >= 0 {
                        inline?[column].append(batch: batch, field: field, reader: reader)
                    }
                    batch.consumed?.offset = batch.endOffset
                } else if let pipeline {
                    pipeline.submit(batch)
                    batch.consumed?.offset = pipeline.convertedOffset
                }
                progress?(lines.count, batch.estimatedTotalCount > lines.count ? batch.estimatedTotalCount : nil)
            },
            end: {
                // The worker reads the source's bytes: it must be done before they go away.
                finished = pipeline?.finish() ?? inline
            })
        progress?(lines.count, lines.count)
        let builders = finished ?? fresh()
        let columns = builders.enumerated().map { i, b in
            filled.contains(i) ? b.finish() : Column.allNull(spec: b.spec, rows: lines.count)
        }
        return (ColumnarTable(rowCount: lines.count, columns: columns, lines: lines), builders)
    }

    /// Ingests and throws `DatasetValidationError` (the full report) when any rule fails.
    public static func ingestValidated(
        _ source: some TableSource, schema: Schema, options: DatasetOptions = DatasetOptions()
    ) throws -> ColumnarTable {
        let (table, report) = try ingest(source, schema: schema, options: options)
        if !report.passed { throw DatasetValidationError(report: report) }
        return table
    }

    static func datasetViolations(_ table: ColumnarTable, options: DatasetOptions) -> [Violation] {
        var out: [Violation] = []
        if options.maxNullFraction < 1, table.rowCount > 0 {
            for column in table.columns {
                let nulls = column.nullCount
                let fraction = Double(nulls) / Double(table.rowCount)
                if fraction > options.maxNullFraction {
                    let lines = (0 ..< table.rowCount).lazy.filter { column.nulls[$0] }.prefix(Violation.maxLines).map { table.lines[$0] }
                    out.append(Violation(
                        column: column.spec.name, rule: "max_null_fraction",
                        detail: "max_null_fraction=\(CanonicalJSON.format(options.maxNullFraction))", count: nulls,
                        lines: Array(lines),
                        note: "\(nulls) of \(table.rowCount) rows null (\(CanonicalJSON.format((fraction * 10000).rounded() / 10000)))"))
                }
            }
        }
        if table.rowCount < options.minRows {
            out.append(Violation(
                column: nil, rule: "min_rows", detail: "min_rows=\(options.minRows)", count: table.rowCount, lines: [],
                note: "\(table.rowCount) rows"))
        }
        if !options.uniqueKey.isEmpty {
            let cols = options.uniqueKey.compactMap { table.column(named: $0) }
            var seen: Set<[UInt64]> = []
            var tally = ViolationTally()
            for r in 0 ..< table.rowCount {
                let key = cols.map { Self.keyPart($0, r) }
                if !seen.insert(key).inserted {
                    tally.add(line: table.lines[r], example: cols.map { $0.spec.isPII ? ColumnSpec.piiPlaceholder : $0.text(at: r) ?? "" }
                        .joined(separator: ", "))
                }
            }
            if tally.count > 0 {
                out.append(Violation(
                    column: nil, rule: "unique", detail: "unique(\(options.uniqueKey.joined(separator: ", ")))",
                    count: tally.count, lines: tally.lines, example: tally.example))
            }
        }
        return out
    }

    /// A row's value as a hashable word: nulls are one distinct value (two null keys collide).
    private static func keyPart(_ c: Column, _ r: Int) -> UInt64 {
        if c.nulls[r] { return UInt64.max }
        switch c.storage {
        case .int(let v): return UInt64(bitPattern: v[r])
        case .float(let v): return (v[r] == 0 ? 0.0 : v[r]).bitPattern
        case .bool(let v): return v[r] ? 1 : 0
        case .codes(let v, _): return UInt64(v[r])
        }
    }
}
