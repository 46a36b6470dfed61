import Foundation
import MLBuildCore
import MLBuildDatasets
import MLBuildEngine

/// `dataset NAME` — a CSV checked against a schema, stored columnar with its statistics.
///
///     dataset churn
///         source = data/churn.csv
///         schema = customer_id: string id unique, tenure: int min=0 max=72,
///             contract: category(month-to-month, one_year, two_year), churned: bool
///         max_null_fraction = 0.05
///         min_rows = 1000
///         null_values = NA, ?
///
///     dataset churn_recent
///         source = data/churn_recent.csv
///         schema_file = data/churn.schema
///         baseline = dataset:churn     # drift gate (max_psi defaults to 0.2)
///
/// Writes `build/dataset/NAME/`: `data.bin`, `schema.json`, `stats.json` and, with a baseline,
/// `drift.json` (formats in docs/formats.md). A validation or drift failure fails the target
/// with the full report and publishes nothing. The source and the schema file are inputs; the
/// baseline is a dependency (its `stats.json` is read).
public struct DatasetRule: Rule {
    public static let kind = "dataset"
    public static let version = 4  // 4: lineage.json with the source files' digests (issue 13); 3: the seed left out of the key (issue 11: nothing random); 2: text cells must be UTF-8, overflow-free statistics, validated transforms (issue 8)
    public static let summary = "validates a CSV against a schema and stores it columnar with statistics (drift baseline)"
    public static let keys: [RuleKey] = [
        RuleKey("source", required: true, summary: "the CSV file (an input)"),
        RuleKey("schema", .list, summary: "the columns: NAME: TYPE [nullable] [id] [unique] [min=N] [max=N], …"),
        RuleKey("schema_file", summary: "a file holding the schema text instead of `schema` (an input)"),
        RuleKey("max_null_fraction", summary: "per column, fail when nulls / rows exceeds it"),
        RuleKey("min_rows", summary: "fail when the dataset has fewer rows"),
        RuleKey("unique", .list, summary: "columns whose values together must be unique"),
        RuleKey("null_values", .list, summary: "extra cell spellings read as null (blank cells always are)"),
        RuleKey("true_values", .list, summary: "extra spellings of true for bool columns"),
        RuleKey("false_values", .list, summary: "extra spellings of false for bool columns"),
        RuleKey("baseline", summary: "dataset:OTHER whose statistics are the drift baseline"),
        RuleKey("max_psi", summary: "the largest population stability index a column may have against the baseline (default 0.2)"),
        RuleKey("pseudonymize", .list, summary: "string columns whose values are replaced by HMAC-SHA-256 tokens (docs/responsible.md)"),
        RuleKey("pseudonymize_key", acceptsSecrets: true, summary: "the HMAC key for pseudonymize: ${secret:NAME}, never written in the Mlfile"),
    ]

    public let name: String
    public let source: String
    /// The inline schema, or nil when it comes from `schemaFile`.
    public let schema: Schema?
    public let schemaFile: String?
    public let options: DatasetOptions
    public let baseline: LocatedReference?
    /// `pseudonymize`'s columns, and the secret holding the key.
    public let pseudonymize: [String]
    public let pseudonymizeSecret: String?

    public init(configuration: TargetConfiguration, diagnostics: inout DiagnosticCollector) {
        name = configuration.reference.name
        source = diagnostics.attempt { try Self.workspacePath(configuration, "source") } ?? ""
        schemaFile = diagnostics.attempt { try configuration.has("schema_file") ? Self.workspacePath(configuration, "schema_file") : nil } ?? nil
        var schema: Schema?
        if let value = configuration.value("schema") {
            let (parsed, errors) = Schema.parsingAll(value.text)
            for error in errors {
                diagnostics.add(DatasetValueLocator.diagnostic(error.locatedDescription, in: value, offset: error.offset))
            }
            schema = parsed
        }
        self.schema = schema
        if configuration.has("schema"), configuration.has("schema_file") {
            diagnostics.add(configuration.diagnostic("schema_file", "give either 'schema' or 'schema_file', not both"))
        } else if configuration.lacks("schema"), configuration.lacks("schema_file") {
            diagnostics.add(configuration.target.diagnostic("\(configuration.reference) needs a 'schema' (inline) or a 'schema_file'"))
        }
        var baseline = diagnostics.attempt { try configuration.reference("baseline", kind: Self.kind) } ?? nil
        if let named = baseline, named.reference == configuration.reference {
            diagnostics.add(configuration.diagnostic("baseline", "a dataset cannot be its own baseline"))
            baseline = nil  // not also a dependency cycle
        }
        self.baseline = baseline
        var raw: [String: String] = [:]
        for key in DatasetOptions.keys.sorted() {
            guard let value = configuration.value(key) else { continue }
            raw[key] = value.text
        }
        if configuration.has("max_psi"), configuration.lacks("baseline") {
            diagnostics.add(configuration.diagnostic("max_psi", "'max_psi' needs 'baseline = dataset:OTHER'"))
        }
        let (options, errors) = DatasetOptions.parsing(options: raw)
        for error in errors + (schema.map { options.problems(against: $0) } ?? []) {
            if let diagnostic = DatasetValueLocator.diagnostic(for: error, in: configuration) { diagnostics.add(diagnostic) }
        }
        self.options = options
        (pseudonymize, pseudonymizeSecret) = Self.pseudonymization(configuration, schema: schema, diagnostics: &diagnostics)
    }

    /// `pseudonymize` and `pseudonymize_key`, checked: string columns of the (inline) schema,
    /// and a key that is exactly one `${secret:NAME}`.
    static func pseudonymization(_ configuration: TargetConfiguration, schema: Schema?,
                                 diagnostics: inout DiagnosticCollector) -> (columns: [String], secret: String?) {
        let items = diagnostics.attempt { try configuration.list("pseudonymize") } ?? []
        var secret: String?
        if let value = configuration.value("pseudonymize_key"), !configuration.unusableKeys.contains("pseudonymize_key") {
            let names = ResolvedValue.secretNames(in: value.scalars)
            let rest = ResolvedValue.replacingSecrets(in: value.scalars) { _ in "" }.trimmingCharacters(in: .whitespaces)
            if names.count == 1, rest.isEmpty {
                secret = names[0]
            } else {
                diagnostics.add(value.diagnostic("'pseudonymize_key' must be one ${secret:NAME}: a key written in the Mlfile would be in the repository and its history"))
            }
        }
        if !items.isEmpty, configuration.lacks("pseudonymize_key") {
            diagnostics.add(configuration.diagnostic("pseudonymize", "'pseudonymize' needs 'pseudonymize_key = ${secret:NAME}'"))
        }
        if items.isEmpty, configuration.has("pseudonymize_key"), configuration.lacks("pseudonymize") {
            diagnostics.add(configuration.diagnostic("pseudonymize_key", "'pseudonymize_key' without 'pseudonymize' pseudonymizes nothing"))
        }
        if let schema {
            for problem in Pseudonymizer.problems(columns: items.map(\.text), schema: schema) {
                guard let item = items.first(where: { $0.text == problem.column }) else { continue }
                diagnostics.add(configuration.target.source.diagnostic("'pseudonymize': \(problem.message)", at: item.location))
            }
        }
        return (items.map(\.text), secret)
    }

    /// A path value that must stay inside the workspace.
    static func workspacePath(_ configuration: TargetConfiguration, _ key: String) throws -> String {
        let text = try configuration.requiredString(key)
        if !WorkspacePath.isInside(text) {
            throw configuration.diagnostic(key, "'\(key)' must be a file inside the workspace, not '\(text)'")
        }
        if let problem = WorkspacePath.problem(text) {
            throw configuration.diagnostic(key, "\(key) '\(text)' \(problem)")
        }
        return text
    }

    public var implicitDependencies: [LocatedReference] { baseline.map { [$0] } ?? [] }

    public var inputs: [InputPattern] {
        // No `source` is an Mlfile error (reported): no input stands in for it.
        (source.isEmpty ? [] : [InputPattern(source)]) + (schemaFile.map { [InputPattern($0)] } ?? [])
    }

    public var outputs: [String] { [Self.directory(name)] }

    /// `build/dataset/NAME`.
    public static func directory(_ name: String) -> String { "build/dataset/\(name)" }

    /// On the build's work budget, not Swift's cooperative pool (see WorkBudget).
    public func run(_ context: RuleContext) async throws {
        try await context.budget.run { try self.runOnBudget(context) }
    }

    func runOnBudget(_ context: RuleContext) throws {
        let schema = try self.schema ?? loadSchemaFile()
        do {
            try options.validate(against: schema)
        } catch {
            throw RuleFailure("\(schemaFile ?? "schema"): \(error)")
        }
        let workspace = URL(fileURLWithPath: context.workspace)
        let csv = CSVSource(url: workspace.appendingPathComponent(source), name: source)
        let output = workspace.appendingPathComponent(try context.outputDirectory())
        let baselineDirectory = try baseline.map { workspace.appendingPathComponent(try context.outputDirectory(of: $0.reference)) }
        var pseudonymizer: Pseudonymizer?
        if !pseudonymize.isEmpty {
            guard let secret = pseudonymizeSecret, let key = context.secrets[secret], !key.isEmpty else {
                throw RuleFailure("pseudonymize_key: the secret \(pseudonymizeSecret ?? "") is not set (export it in the environment mlbuild runs in)")
            }
            if let problem = Pseudonymizer.problems(columns: pseudonymize, schema: schema).first {
                throw RuleFailure("\(schemaFile ?? "schema"): pseudonymize: \(problem.message)")
            }
            pseudonymizer = Pseudonymizer(columns: pseudonymize, key: Array(key.utf8))
        }
        let clock = ContinuousClock()
        let started = clock.now
        do {
            let result = try DatasetBuilder.build(
                source: csv, schema: schema, options: options, outputDirectory: output, baselineDirectory: baselineDirectory,
                progress: { rows, total in context.progress.report(done: Int64(rows), total: total.map(Int64.init), unit: "rows") },
                pseudonymizer: pseudonymizer)
            let elapsed = clock.now - started
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            // The time goes to the log only, never into an artifact.
            var summary = "\(source): \(result.table.rowCount) rows, \(schema.columns.count) columns valid (ingest, checks and stats \(String(format: "%.3f", seconds))s)"
            if let drift = result.drift {
                let worst = drift.entries.max { $0.psi < $1.psi }
                summary += worst.map { String(format: "; largest drift %@ psi %.4f (max_psi %g)", $0.column, $0.psi, drift.maxPSI) } ?? ""
            }
            context.output.append(line: summary)
            try writeLineage(context, to: output)
        } catch let error as DatasetValidationError {
            throw RuleFailure(error.description)
        } catch let error as DriftError {
            throw RuleFailure(error.description)
        } catch let error as DatasetError {
            throw RuleFailure(error.description)
        }
    }

    /// `lineage.json`: the source bytes the dataset was made of, which features, models,
    /// images and their provenance name in turn (`mlbuild lineage`):
    ///
    ///     {"sources": [{"path": "data/churn.csv", "role": "source", "sha256": HEX},
    ///                  {"path": "schemas/churn.schema", "role": "schema", "sha256": HEX}],
    ///      "target": "dataset:churn", "version": 1}
    func writeLineage(_ context: RuleContext, to output: URL) throws {
        var sources: [JSONValue] = []
        for (path, role) in [(source, "source")] + (schemaFile.map { [($0, "schema")] } ?? []) {
            let digest = try context.inputDigests[path] ?? FileHashing.digest(ofFileAt: path).digest
            sources.append(.object(["path": .string(path), "role": .string(role), "sha256": .string(digest.hex)]))
        }
        let lineage: JSONValue = .object(["sources": .array(sources), "target": .string(context.target.description), "version": .number(1)])
        try AtomicFile.write(CanonicalJSON.serialize(lineage), to: output.appendingPathComponent(Self.lineageFileName))
    }

    static let lineageFileName = "lineage.json"

    /// Reads and parses `schema_file`; errors point at the file's line and column.
    func loadSchemaFile() throws -> Schema {
        guard let schemaFile else { throw RuleFailure("no schema") }
        let text: String
        do {
            text = try String(contentsOfFile: schemaFile, encoding: .utf8)
        } catch {
            throw RuleFailure("\(schemaFile): cannot read the schema file: \(error.localizedDescription)")
        }
        do {
            return try Schema(parsing: text)
        } catch {
            // The offset counts Characters; the column counts bytes, as Mlfile columns do.
            var line = 1, column = 1, lineStart = text.startIndex
            var index = text.startIndex
            for c in text.prefix(error.offset) {
                index = text.index(after: index)
                if c == "\n" || c == "\r\n" {
                    line += 1
                    column = 1
                    lineStart = index
                } else {
                    column += c.utf8.count
                }
            }
            let sourceLine = text[lineStart...].prefix { $0 != "\n" && $0 != "\r\n" }
            let diagnostic = Diagnostic(error.locatedDescription,
                                        at: SourceLocation(file: schemaFile, line: line, column: column), sourceLine: String(sourceLine))
            throw RuleFailure(diagnostic.rendered)
        }
    }
}
