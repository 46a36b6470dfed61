import Foundation
import MLBuildTraining
import MLBuildBasics

/// The `features` rule in one call: check the spec against the schema, split (or take the
/// holdout), fit every transform on the training rows only, and write the outputs.
///
/// Outputs (atomic): `train.bin`, `test.bin` (`FeatureMatrix`), `transform.json`
/// (`FittedTransform`), `feature_names.json` (array, matrix column order), and `split.json`:
/// `{"seed", "split" (fraction or null), "stratify", "test_source" ("split" | "holdout"),
/// "train_rows", "test_rows", "test_lines"}` where rows are 0-based indices into the dataset's
/// data.bin (test rows into the holdout's when test_source is holdout), in matrix order, and
/// test_lines are those rows' CSV line numbers.
public enum FeatureBuilder {
    public struct Result: Sendable {
        public var transform: FittedTransform
        /// The matrices, when built in memory (no output directory); with one they are only
        /// in train.bin and test.bin.
        public var train: FeatureMatrix?
        public var test: FeatureMatrix?
        public var trainRows: [Int]
        public var testRows: [Int]
        public var outputs: [String]
    }

    /// - Parameters:
    ///   - dataset: the `dataset:` input (from `DatasetBuilder.load`), with its schema.json.
    ///   - holdout: the `test = dataset:OTHER` table, or nil for a random split.
    ///   - outputDirectory: where to write, or nil to only compute.
    ///   - pseudonymizeKey: with `spec.pseudonymize`, the HMAC key and the name of the secret it
    ///     came from (recorded in the transform, so that predict asks for the same one).
    public static func build(
        dataset: ColumnarTable, schemaFile: SchemaFile, holdout: ColumnarTable? = nil, spec: FeatureSpec,
        outputDirectory: URL?, pseudonymizeKey: (secret: String, key: [UInt8])? = nil
    ) throws -> Result {
        let schema = schemaFile.schema
        try check(spec, schema: schema)
        var dataset = dataset, holdout = holdout
        if !spec.pseudonymize.isEmpty {
            guard let pseudonymizeKey else {
                throw DatasetError.features(message: "pseudonymize: no key (pseudonymize_key = ${secret:NAME})")
            }
            // Before anything is fitted: the one-hot categories, and so the model, hold tokens.
            let pseudonymizer = Pseudonymizer(columns: spec.pseudonymize, key: pseudonymizeKey.key)
            try pseudonymizer.apply(to: &dataset)
            if var table = holdout {
                try pseudonymizer.apply(to: &table)
                holdout = table
            }
        }
        if let holdout {
            let a = schema.columns.map { "\($0.name): \($0.type)" }
            let b = holdout.columns.map { "\($0.spec.name): \($0.spec.type)" }
            if a != b {
                throw DatasetError.features(message: "the test dataset's columns differ from the training dataset's (names and types must match, in order)")
            }
        }
        let label = try labelEncoding(spec, schema: schema, tables: [dataset] + (holdout.map { [$0] } ?? []))
        let provisional = FittedTransform(
            version: 1, schema: schema, options: schemaFile.options, label: label, idColumns: [], steps: [], featureNames: [])

        // Split.
        let trainRows: [Int]
        let testRows: [Int]
        if holdout != nil {
            trainRows = Array(0 ..< dataset.rowCount)
            testRows = Array(0 ..< (holdout?.rowCount ?? 0))
        } else {
            let fraction = spec.split ?? FeatureSpec.defaultSplit
            var strata: [Double]?
            if spec.stratify {
                guard label.type != "float" else {
                    throw DatasetError.features(message: "stratify needs a class label; '\(spec.label)' is a float column")
                }
                strata = try provisional.labels(of: dataset, rows: Array(0 ..< dataset.rowCount))
            }
            (trainRows, testRows) = DataSplitter.split(count: dataset.rowCount, fraction: fraction, seed: spec.seed, strata: strata)
        }
        if trainRows.isEmpty { throw DatasetError.features(message: "no training rows (the dataset has \(dataset.rowCount) rows)") }
        let testTable = holdout ?? dataset

        var transform = try fit(spec, schemaFile: schemaFile, label: label, table: dataset, trainRows: trainRows,
                                testTable: testTable, testRows: testRows)
        if !spec.pseudonymize.isEmpty, let pseudonymizeKey {
            transform.pseudonymized = FittedTransform.Pseudonymized(columns: spec.pseudonymize, keySecret: pseudonymizeKey.secret)
        }
        // Each matrix is filled in row blocks on the budget's threads (`FittedTransform`), in
        // the order train features, train labels, test features, test labels, so the first
        // error is the same however it is built. Written: streamed into train.bin and test.bin
        // chunk by chunk, never whole in memory, and nothing replaces an output until both
        // matrices are complete (test.bin and the small files are written inside train.bin's
        // stream, before its commit).
        guard let dir = outputDirectory else {
            let train = FeatureMatrix(features: try transform.features(of: dataset, rows: trainRows),
                                      labels: try transform.labels(of: dataset, rows: trainRows))
            let test = FeatureMatrix(features: try transform.features(of: testTable, rows: testRows),
                                     labels: try transform.labels(of: testTable, rows: testRows))
            return Result(transform: transform, train: train, test: test, trainRows: trainRows, testRows: testRows, outputs: [])
        }
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        func stream(_ name: String, table: ColumnarTable, rows: [Int], beforeCommit: () throws -> Void) throws {
            try FeatureMatrix.stream(
                to: dir.appendingPathComponent(name), rows: rows.count, columns: transform.featureNames.count, hasLabels: true,
                features: { write in try transform.streamFeatures(of: table, rows: rows, write) },
                labels: { try transform.labels(of: table, rows: rows) }, beforeCommit: beforeCommit)
        }
        try stream("train.bin", table: dataset, rows: trainRows) {
            try stream("test.bin", table: testTable, rows: testRows) {
                try writeSmallFiles(to: dir, transform: transform, spec: spec, holdout: holdout != nil, trainRows: trainRows,
                                    testRows: testRows, testTable: testTable)
            }
        }
        return Result(transform: transform, train: nil, test: nil, trainRows: trainRows, testRows: testRows,
                      outputs: ["feature_names.json", "split.json", "test.bin", "train.bin", "transform.json"])
    }

    /// transform.json, feature_names.json and split.json (see the type).
    private static func writeSmallFiles(
        to dir: URL, transform: FittedTransform, spec: FeatureSpec, holdout: Bool, trainRows: [Int], testRows: [Int], testTable: ColumnarTable
    ) throws {
        try transform.write(to: dir.appendingPathComponent("transform.json"))
        try AtomicFile.write(
            CanonicalJSON.serialize(.array(transform.featureNames.map { .string($0) })),
            to: dir.appendingPathComponent("feature_names.json"))
        let split = SplitFile(
            seed: spec.seed, split: holdout ? nil : spec.split ?? FeatureSpec.defaultSplit, stratify: spec.stratify,
            trainRows: trainRows, testRows: testRows, testLines: testRows.map { testTable.lines[$0] })
        try AtomicFile.write(split.bytes(), to: dir.appendingPathComponent("split.json"))
    }

    /// Every problem of the spec against the schema, reported together.
    /// Why a features target cannot pseudonymize `column` (beyond what every option checks: in
    /// the schema, not an id, the label or dropped), or nil: only a one-hot string column's values
    /// reach its outputs (as feature names); an id or dropped column is the dataset's to
    /// pseudonymize.
    public static func pseudonymizeProblem(_ column: String, spec: FeatureSpec, schema: Schema) -> String? {
        guard let c = schema[column], !c.isID, column != spec.label, !spec.drop.contains(column) else {
            return "column '\(column)' does not reach the features' outputs (an id, the label, dropped or unknown); pseudonymize it on the dataset"
        }
        guard case .string = c.type, spec.oneHot.contains(column) else {
            return "column '\(column)' is \(c.type.name)\(spec.oneHot.contains(column) ? "" : ", not in one_hot"); a features target "
                + "pseudonymizes one-hot string columns (their values would be the model's feature names)"
        }
        if case .constant? = spec.impute.first(where: { $0.column == column })?.strategy {
            return "column '\(column)' imputes a constant, which would not be a token (use mode)"
        }
        return nil
    }

    static func check(_ spec: FeatureSpec, schema: Schema) throws {
        var problems: [String] = []
        func lookup(_ name: String, _ option: String) -> ColumnSpec? {
            guard let c = schema[name] else {
                problems.append("\(option): column '\(name)' is not in the schema")
                return nil
            }
            if c.isID, option != "drop" { problems.append("\(option): column '\(name)' is an id column and never a feature") }
            if name == spec.label, option != "label" { problems.append("\(option): column '\(name)' is the label") }
            if spec.drop.contains(name), option != "drop" { problems.append("\(option): column '\(name)' is dropped") }
            return c
        }
        if let l = schema[spec.label] {
            if l.isID { problems.append("label: column '\(spec.label)' is an id column") }
        } else {
            problems.append("label: column '\(spec.label)' is not in the schema")
        }
        for n in spec.drop { _ = lookup(n, "drop") }
        for (option, list) in [("standardize", spec.standardize), ("minmax", spec.minmax), ("log1p", spec.log1p)] {
            for n in list {
                if let c = lookup(n, option), !c.type.isNumeric {
                    problems.append("\(option): column '\(n)' is \(c.type.name); \(option) applies to int and float columns")
                }
            }
        }
        for n in spec.standardize where spec.minmax.contains(n) {
            problems.append("column '\(n)' is in both standardize and minmax; choose one")
        }
        for (n, _) in spec.bucketize {
            if let c = lookup(n, "bucketize"), !c.type.isNumeric {
                problems.append("bucketize: column '\(n)' is \(c.type.name); bucketize applies to int and float columns")
            }
            if spec.standardize.contains(n) || spec.minmax.contains(n) {
                problems.append("column '\(n)' is bucketized and scaled; bucket indicators are not scaled, choose one")
            }
        }
        for n in spec.oneHot {
            if let c = lookup(n, "one_hot"), !c.type.isDictionaryEncoded {
                problems.append("one_hot: column '\(n)' is \(c.type.name); one_hot applies to category and string columns")
            }
        }
        for (n, how) in spec.impute {
            guard let c = lookup(n, "impute") else { continue }
            switch how {
            case .mean, .median:
                if !c.type.isNumeric { problems.append("impute: \(how.name) needs a numeric column; '\(n)' is \(c.type.name) (use mode or constant=VALUE)") }
            case .mode: break
            case .constant(let v):
                switch c.type {
                case .int, .float:
                    if constantValue(v, c, DatasetOptions()) == nil {
                        problems.append("impute: constant '\(v)' is not a valid \(c.type.name) value for column '\(n)'")
                    }
                case .category(let values):
                    if !values.contains(v) { problems.append("impute: constant '\(v)' is not a declared category of column '\(n)'") }
                default: break  // bool spellings are checked when fitting, with the dataset's options
                }
            }
        }
        problems += piiProblems(spec, schema: schema).map(\.message)
        for n in spec.pseudonymize where lookup(n, "pseudonymize") != nil {
            if let problem = pseudonymizeProblem(n, spec: spec, schema: schema) { problems.append("pseudonymize: \(problem)") }
        }
        for c in schema.columns where !c.isID && c.name != spec.label && !spec.drop.contains(c.name) {
            if c.type.isDictionaryEncoded, !spec.oneHot.contains(c.name) {
                problems.append("column '\(c.name)' is \(c.type.name == "category" ? "a category" : "a string") column: list it in one_hot or drop")
            }
        }
        if !problems.isEmpty {
            throw DatasetError.features(message: "features: " + problems.joined(separator: "; "))
        }
    }

    /// A `pii` column that would be a feature without `allow_pii` naming it, and an `allow_pii`
    /// entry that is not a pii column of the schema: each with the `allow_pii` item it concerns
    /// (nil: the column itself), so that the Mlfile check can point at it.
    public static func piiProblems(_ spec: FeatureSpec, schema: Schema) -> [(allowed: String?, message: String)] {
        var problems: [(allowed: String?, message: String)] = []
        for c in schema.columns where c.isPII && !c.isID && !spec.drop.contains(c.name) && !spec.allowPII.contains(c.name) {
            if c.name == spec.label {
                // A label's classes are written into transform.json and model.json.
                problems.append((nil, "column '\(c.name)' is pii and is the label: its values would be in the model; allow it with `allow_pii = \(c.name)`"))
            } else {
                problems.append((nil, "column '\(c.name)' is pii and would be a feature: drop it, or allow it with `allow_pii = \(c.name)`"))
            }
        }
        for name in spec.allowPII {
            guard let c = schema[name] else {
                problems.append((name, "allow_pii: column '\(name)' is not in the schema"))
                continue
            }
            if !c.isPII { problems.append((name, "allow_pii: column '\(name)' is not marked pii in the schema")) }
        }
        return problems
    }

    static func labelEncoding(_ spec: FeatureSpec, schema: Schema, tables: [ColumnarTable]) throws -> FittedTransform.LabelEncoding {
        guard let c = schema[spec.label] else { throw DatasetError.features(message: "label column '\(spec.label)' is not in the schema") }
        switch c.type {
        case .bool: return .init(column: c.name, type: "bool", classes: ["false", "true"])
        case .category(let values): return .init(column: c.name, type: "category", classes: values)
        case .string:
            var seen: Set<String> = []
            for t in tables { if let col = t.column(named: c.name) { for r in 0 ..< t.rowCount { if let s = col.text(at: r) { seen.insert(s) } } } }
            return .init(column: c.name, type: "string", classes: seen.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) })
        case .int:
            // The value itself: a class index (0/1) or a count; either way usable as a stratum.
            return .init(column: c.name, type: "int", classes: nil)
        case .float: return .init(column: c.name, type: "float", classes: nil)
        }
    }

    /// A constant impute value read with the column's type (bools need the dataset's spellings).
    static func constantValue(_ text: String, _ c: ColumnSpec, _ options: DatasetOptions) -> Double? {
        let reader = CellReader(options: options)
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBufferPointer { b -> Double? in
            switch c.type {
            case .int: return NumberParser.parseInt(b).map(Double.init)
            case .float: return NumberParser.parseDouble(b)
            case .bool: return reader.bool(b).map { $0 ? 1 : 0 }
            default: return nil
            }
        }
    }

    static func fit(
        _ spec: FeatureSpec, schemaFile: SchemaFile, label: FittedTransform.LabelEncoding, table: ColumnarTable,
        trainRows: [Int], testTable: ColumnarTable, testRows: [Int]
    ) throws -> FittedTransform {
        let schema = schemaFile.schema
        let context = FitContext(
            spec: spec, options: schemaFile.options, table: table, trainRows: trainRows, testTable: testTable, testRows: testRows,
            imputes: Dictionary(spec.impute.map { ($0.column, $0.strategy) }, uniquingKeysWith: { a, _ in a }),
            buckets: Dictionary(spec.bucketize.map { ($0.column, $0.boundaries) }, uniquingKeysWith: { a, _ in a }))
        let columns = schema.columns.filter { !$0.isID && $0.name != spec.label && !spec.drop.contains($0.name) }
        // Columns are fitted independently, on the budget's threads; the outcomes are read in
        // schema order, so the transform, the names and the first error are a serial fit's.
        let outcomes = ParallelOutcomes<ColumnFit>(count: columns.count)
        WorkBudget.current.parallelFor(columns.count) { i in
            outcomes.record(i) { try fitColumn(columns[i], context) }
        }
        var steps: [FittedTransform.ColumnTransform] = []
        var names: [String] = []
        var nullProblems: [String] = []
        for outcome in try outcomes.inOrder() {
            switch outcome {
            case let .fitted(step, stepNames):
                steps.append(step)
                names += stepNames
            case let .nullProblem(problem):
                nullProblems.append(problem)
            }
        }
        if !nullProblems.isEmpty { throw DatasetError.features(message: "features: " + nullProblems.joined(separator: "; ")) }
        return FittedTransform(
            version: 1, schema: schema, options: schemaFile.options, label: label,
            idColumns: schema.columns.filter(\.isID).map(\.name), steps: steps, featureNames: names)
    }

    /// What every column's fit reads.
    private struct FitContext {
        var spec: FeatureSpec
        var options: DatasetOptions
        var table: ColumnarTable
        var trainRows: [Int]
        var testTable: ColumnarTable
        var testRows: [Int]
        var imputes: [String: FeatureSpec.ImputeStrategy]
        var buckets: [String: [Double]]
    }

    /// One column's fitted step and the feature names it makes, or why it cannot be fitted
    /// without an impute (all of those are reported together).
    private enum ColumnFit {
        case fitted(FittedTransform.ColumnTransform, names: [String])
        case nullProblem(String)
    }

    private static func fitColumn(_ c: ColumnSpec, _ context: FitContext) throws -> ColumnFit {
        let spec = context.spec
        let (table, trainRows) = (context.table, context.trainRows)
        guard let column = table.column(named: c.name), let testColumn = context.testTable.column(named: c.name) else {
            throw DatasetError.features(message: "column '\(c.name)' is missing from the data")
        }
        let how = context.imputes[c.name]
        if how == nil {
            let bad = trainRows.filter { column.nulls[$0] }.map { table.lines[$0] }
                + context.testRows.filter { testColumn.nulls[$0] }.map { context.testTable.lines[$0] }
            if !bad.isEmpty {
                let lines = bad.sorted().prefix(Violation.maxLines).map(String.init).joined(separator: ", ")
                let hint = c.type.isNumeric ? "median" : "mode"
                return .nullProblem("column '\(c.name)' has \(bad.count) null value\(bad.count == 1 ? "" : "s") (lines \(lines)) and no impute; add `impute = \(c.name):\(hint)` (or mean/mode/constant=VALUE)")
            }
        }
        var step = FittedTransform.ColumnTransform(
            column: c.name, kind: "numeric", imputeValue: nil, imputeText: nil, log1p: false, scaling: nil, center: nil,
            scale: nil, categories: nil, boundaries: nil)
        switch c.type {
        case .int, .float:
            let trainValues = trainRows.compactMap { column.double(at: $0) }
            if let how {
                guard !trainValues.isEmpty else {
                    throw DatasetError.features(message: "impute: column '\(c.name)' has no values in the training rows to \(how.name) from")
                }
                switch how {
                case .mean: step.imputeValue = Moments(trainValues)?.mean
                case .median: step.imputeValue = ColumnStats.quantile(trainValues.sorted(), 0.5)
                case .mode: step.imputeValue = mode(trainValues)
                case .constant(let v): step.imputeValue = constantValue(v, c, context.options)
                }
            }
            step.log1p = spec.log1p.contains(c.name)
            // Scaling is fitted on the values as they reach it: after impute and log1p.
            var fitted: [Double] = []
            fitted.reserveCapacity(trainRows.count)
            for r in trainRows { fitted.append(try step.base(column, row: r, line: table.lines[r])) }
            if let b = context.buckets[c.name] {
                step.kind = "buckets"
                step.boundaries = b
                return .fitted(step, names: bucketNames(c.name, b))
            }
            if spec.standardize.contains(c.name) {
                // Overflow-safe (a column of 1e308 has a finite mean and std).
                let moments = Moments(fitted)
                let std = moments?.std ?? 0
                step.scaling = "standardize"
                step.center = moments?.mean ?? 0
                step.scale = std > 0 ? std : 1
            } else if spec.minmax.contains(c.name) {
                let lo = fitted.min() ?? 0
                let hi = fitted.max() ?? 0
                guard (hi - lo).isFinite else {
                    throw DatasetError.features(
                        message: "minmax: column '\(c.name)' spans \(CanonicalJSON.format(lo)) to \(CanonicalJSON.format(hi)) in the training rows, a range larger than the largest double; use standardize for this column")
                }
                step.scaling = "minmax"
                step.center = lo
                step.scale = hi > lo ? hi - lo : 1
            }
            return .fitted(step, names: [c.name])
        case .bool:
            step.kind = "bool"
            if let how {
                let trainValues = trainRows.compactMap { column.double(at: $0) }
                switch how {
                case .constant(let v):
                    guard let x = constantValue(v, c, context.options) else {
                        throw DatasetError.features(message: "impute: constant '\(v)' is not a bool spelling for column '\(c.name)'")
                    }
                    step.imputeValue = x
                default:
                    guard !trainValues.isEmpty else {
                        throw DatasetError.features(message: "impute: column '\(c.name)' has no values in the training rows")
                    }
                    step.imputeValue = how == .mean ? trainValues.reduce(0, +) / Double(trainValues.count) : mode(trainValues)
                }
            }
            return .fitted(step, names: [c.name])
        case .category, .string:
            step.kind = "one_hot"
            let categories: [String]
            if case .category(let values) = c.type {
                categories = values
            } else {
                var seen: Set<String> = []
                for r in trainRows { if let s = column.text(at: r) { seen.insert(s) } }
                categories = seen.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
            }
            step.categories = categories
            if let how {
                switch how {
                case .constant(let v): step.imputeText = v
                default:
                    var counts: [String: Int] = [:]
                    for r in trainRows { if let s = column.text(at: r) { counts[s, default: 0] += 1 } }
                    guard let best = counts.sorted(by: { $0.value != $1.value ? $0.value > $1.value : Array($0.key.utf8).lexicographicallyPrecedes(Array($1.key.utf8)) }).first else {
                        throw DatasetError.features(message: "impute: column '\(c.name)' has no values in the training rows")
                    }
                    step.imputeText = best.key
                }
            }
            return .fitted(step, names: categories.map { "\(c.name)=\($0)" })
        }
    }

    /// Most frequent value; ties go to the smallest.
    static func mode(_ values: [Double]) -> Double {
        var counts: [Double: Int] = [:]
        for v in values { counts[v, default: 0] += 1 }
        return counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.first?.key ?? 0
    }

    /// `tenure[-inf,0)`, `tenure[0,12)`, …, `tenure[48,inf)`.
    static func bucketNames(_ column: String, _ b: [Double]) -> [String] {
        let edges = ["-inf"] + b.map(CanonicalJSON.format) + ["inf"]
        return (0 ... b.count).map { "\(column)[\(edges[$0]),\(edges[$0 + 1]))" }
    }
}
