import ArgumentParser
import Foundation
import MLBuildBasics
import MLBuildCore
import MLBuildDatasets
import MLBuildEngine
import MLBuildRules

/// `mlbuild monitor model:NAME --input new.csv`: new data against the model's training data.
struct MonitorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "monitor",
        abstract: "Check new rows against a model's input schema and its training data's distribution (PSI).",
        discussion: """
        For cron and CI after a release. The rows of --input are validated against the schema \
        of the dataset the model was trained on (the label column may be absent; min_rows does \
        not apply to a batch), then each column's population stability index is computed \
        against that dataset's stats.json, by the same code as a dataset's drift gate \
        (baseline = …). Prints a table, writes Prometheus text-format gauges with \
        --prometheus FILE (atomically, for node-exporter's textfile collector), and exits 1 \
        when a row breaks the schema or a column's PSI exceeds --max-psi. For a model with \
        `fairness = …` it also scores the rows and reports each group's selection rate (share \
        predicted as the positive class) against the group's rate on the test split; with \
        --max-selection-rate-drift X a group whose rate moved by more than X fails the check.
        """)

    @OptionGroup var workspaceOptions: WorkspaceOptions

    @Argument(help: ArgumentHelp("The model target (built).", valueName: "model:NAME"))
    var target: String

    @Option(help: ArgumentHelp("The new rows (CSV with the dataset's header).", valueName: "FILE"))
    var input: String

    @Option(name: .customLong("max-psi"), help: ArgumentHelp("Fail past this PSI in any column (default 0.2).", valueName: "X"))
    var maxPSI = 0.2

    @Option(name: .customLong("max-selection-rate-drift"),
            help: ArgumentHelp("Fail when a fairness group's selection rate moved by more than X (default: report only).", valueName: "X"))
    var maxSelectionRateDrift: Double?

    @Option(help: ArgumentHelp("Write Prometheus text-format gauges to FILE.", valueName: "FILE"))
    var prometheus: String?

    @Flag(help: "Print the result as JSON.")
    var json = false

    func validate() throws {
        guard maxPSI.isFinite, maxPSI >= 0 else { throw ValidationError("--max-psi must be a number ≥ 0") }
        if let limit = maxSelectionRateDrift, !(limit.isFinite && limit >= 0) {
            throw ValidationError("--max-selection-rate-drift must be a number ≥ 0")
        }
    }

    func run() async throws {
        let startDirectory = FileManager.default.currentDirectoryPath
        func absolute(_ path: String) -> String { path.hasPrefix("/") ? path : "\(startDirectory)/\(path)" }
        let inputPath = absolute(input)
        let prometheusPath = prometheus.map(absolute)
        let workspace = try workspaceOptions.workspace()
        let project = try workspaceOptions.project(in: workspace)
        guard let model = TargetReference(parsing: target), model.kind == "model", let rule = project.rules[model],
              let directory = rule.outputs.first.map(PathNormalizer.normalize) else {
            throw CLIError.usage("'\(target)' is not a model target of the Mlfile (model:NAME)")
        }
        let artifact: ModelArtifact
        do { artifact = try ModelArtifact.read(from: "\(directory)/model.json") } catch {
            throw CLIError.message("\(model) is not built (\(directory)/model.json: \(error)); build it first: mlbuild \(model)")
        }
        let training = try Self.trainingDataset(of: "\(directory)/model.json", project: project)
        let schemaFile: SchemaFile
        let baseline: DatasetStats
        do {
            schemaFile = try SchemaFile.read(from: URL(fileURLWithPath: "\(training.directory)/schema.json"))
            baseline = try DatasetStats.read(from: URL(fileURLWithPath: "\(training.directory)/stats.json"))
        } catch {
            throw CLIError.message("cannot read \(training.target)'s schema or statistics in \(training.directory) (build it: mlbuild \(training.target)): \(error)")
        }
        guard FileManager.default.fileExists(atPath: inputPath) else { throw CLIError.message("'\(input)' does not exist") }
        let source = CSVSource(url: URL(fileURLWithPath: inputPath), name: input)
        // Rows to score carry no label: the schema without it when the header lacks it.
        let header = try Self.header(of: source)
        var schema = schemaFile.columns
        let label = artifact.transform.label.column
        if !header.contains(label) {
            schema.columns.removeAll { $0.name == label }
        }
        var options = schemaFile.options
        options.minRows = 0
        let table: ColumnarTable
        let report: ValidationReport
        do {
            (table, report) = try DatasetIngester.ingest(source, schema: schema, options: options)
        } catch let error as DatasetError {
            throw CLIError.message(error.description)
        }
        let drift = DriftReport.compute(table: table, baseline: baseline, maxPSI: maxPSI)
        var fairness: MonitorFairness?
        if report.passed, artifact.task == .classification, !artifact.isMulticlass, artifact.classes.count == 2,
           let rates = MonitorFairness.baseline(metricsJSON: "\(directory)/metrics.json") {
            let predictions: [ModelPredictor.Prediction]
            do {
                predictions = try ModelPredictor.score(artifact, source: source)
            } catch let error as ModelPredictor.Failure {
                throw CLIError.message(error.description)
            } catch let error as ModelArtifactError {
                throw CLIError.message(error.description)
            }
            fairness = try MonitorFairness(baseline: rates, table: table, predictions: predictions, positive: artifact.classes[1])
        }
        let groupsDrifted = maxSelectionRateDrift.map { fairness?.drifted(past: $0) ?? [] } ?? []
        let passed = report.passed && drift.passed && groupsDrifted.isEmpty
        if let prometheusPath {
            let text = Self.prometheusText(model: model, rows: table.rowCount, report: report, drift: drift, fairness: fairness,
                                           passed: passed)
            do { try AtomicFile.write(text, to: prometheusPath) } catch {
                throw CLIError.message("cannot write \(prometheus ?? prometheusPath): \(error)")
            }
        }
        if json {
            var object: [String: JSONValue] = [
                "model": .string(model.description), "baseline": .string(training.target), "rows": .number(table.rowCount),
                "valid": .bool(report.passed), "violations": .array(report.violations.map { .string($0.description) }),
                "max_psi": .number(maxPSI), "passed": .bool(passed),
                "columns": .array(drift.entries.map { .object(["column": .string($0.column), "psi": .number($0.psi), "method": .string($0.method), "drifted": .bool($0.psi > maxPSI)]) }),
                "skipped": .array(drift.skipped.map { .object(["column": .string($0.column), "reason": .string($0.reason)]) }),
            ]
            if let fairness {
                object["fairness"] = .array(fairness.entries.map(\.json))
                object["max_selection_rate_drift"] = .optional(maxSelectionRateDrift)
            }
            print(CanonicalJSON.line(.object(object)))
        } else {
            print("\(input): \(table.rowCount) rows against \(training.target) (the training data of \(model))")
            var rows = TextTable(["COLUMN", "PSI", "METHOD", "STATUS"])
            for entry in drift.entries {
                rows.add([entry.column, String(format: "%.4f", entry.psi), entry.method, entry.psi > maxPSI ? "DRIFT (> \(CanonicalJSON.format(maxPSI)))" : "ok"])
            }
            for skipped in drift.skipped { rows.add([skipped.column, "-", "-", "skipped: \(skipped.reason)"]) }
            print(rows.render(), terminator: "")
            if let fairness {
                print("selection rate by group (the share predicted \(artifact.classes[1])), against the test split:")
                var groups = TextTable(["COLUMN", "GROUP", "ROWS", "RATE", "BASELINE", "DRIFT", "STATUS"])
                for entry in fairness.entries {
                    let moved = maxSelectionRateDrift.map { limit in (entry.drift.map(abs) ?? 0) > limit } ?? false
                    groups.add([entry.column, entry.group ?? "(null)", String(entry.rows), String(format: "%.4f", entry.selectionRate),
                                entry.baseline.map { String(format: "%.4f", $0) } ?? "-",
                                entry.drift.map { String(format: "%+.4f", $0) } ?? "-",
                                moved ? "DRIFT (> \(CanonicalJSON.format(maxSelectionRateDrift ?? 0)))" : (entry.baseline == nil ? "new group" : "ok")])
                }
                print(groups.render(), terminator: "")
            }
        }
        if !report.passed {
            MLBuildMain.printError(report.description)
            throw CLIError.failed
        }
        if !drift.passed {
            MLBuildMain.printError("error: drift past max-psi \(CanonicalJSON.format(maxPSI)): "
                + drift.drifted.map { "\($0.column) psi \(String(format: "%.4f", $0.psi))" }.joined(separator: ", "))
            throw CLIError.failed
        }
        if !groupsDrifted.isEmpty {
            MLBuildMain.printError("error: selection rate drift past \(CanonicalJSON.format(maxSelectionRateDrift ?? 0)): "
                + groupsDrifted.map { "\($0.column)=\($0.group ?? "(null)") \(String(format: "%+.4f", $0.drift ?? 0))" }.joined(separator: ", "))
            throw CLIError.failed
        }
    }

    /// The training dataset named in model.json's lineage (`role: train`) and its output directory.
    static func trainingDataset(of modelJSON: String, project: Project) throws -> (target: String, directory: String) {
        guard let bytes = try? FileSystem.readBytes(modelJSON),
              case .object(let root)? = try? JSONDecoder().decode(JSONValue.self, from: Data(bytes)),
              case .object(let lineage)? = root["lineage"], case .array(let datasets)? = lineage["datasets"] else {
            throw CLIError.message("\(modelJSON) has no lineage naming its training dataset")
        }
        for case .object(let dataset) in datasets where dataset["role"] == .string("train") {
            guard case .string(let name)? = dataset["target"], let reference = TargetReference(parsing: name),
                  let directory = project.rules[reference]?.outputs.first else { continue }
            return (name, PathNormalizer.normalize(directory))
        }
        throw CLIError.message("\(modelJSON)'s training dataset is not a target of this Mlfile")
    }

    private struct HeaderRead: Error { var names: [String] }

    static func header(of source: CSVSource) throws -> [String] {
        do {
            try source.scan(header: { throw HeaderRead(names: $0) }, batch: { _ in }, end: {})
        } catch let read as HeaderRead {
            return read.names
        } catch let error as DatasetError {
            throw CLIError.message(error.description)
        }
        return []
    }

    /// Gauges for a textfile collector, one family each, labels sorted.
    static func prometheusText(model: TargetReference, rows: Int, report: ValidationReport, drift: DriftReport,
                               fairness: MonitorFairness? = nil, passed: Bool? = nil) -> String {
        func label(_ text: String) -> String {
            text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n")
        }
        let m = "model=\"\(label(model.description))\""
        var out = "# HELP mlbuild_monitor_psi Population stability index of a column of new data against the model's training data.\n"
        out += "# TYPE mlbuild_monitor_psi gauge\n"
        for entry in drift.entries.sorted(by: { $0.column < $1.column }) {
            out += "mlbuild_monitor_psi{column=\"\(label(entry.column))\",\(m)} \(CanonicalJSON.format(entry.psi))\n"
        }
        out += "# HELP mlbuild_monitor_max_psi The PSI threshold of the check.\n# TYPE mlbuild_monitor_max_psi gauge\n"
        out += "mlbuild_monitor_max_psi{\(m)} \(CanonicalJSON.format(drift.maxPSI))\n"
        out += "# HELP mlbuild_monitor_drifted_columns Columns whose PSI is past the threshold.\n# TYPE mlbuild_monitor_drifted_columns gauge\n"
        out += "mlbuild_monitor_drifted_columns{\(m)} \(drift.drifted.count)\n"
        out += "# HELP mlbuild_monitor_rows Rows checked.\n# TYPE mlbuild_monitor_rows gauge\n"
        out += "mlbuild_monitor_rows{\(m)} \(rows)\n"
        out += "# HELP mlbuild_monitor_violations Schema violations found in the new rows.\n# TYPE mlbuild_monitor_violations gauge\n"
        out += "mlbuild_monitor_violations{\(m)} \(report.violations.count)\n"
        if let fairness {
            out += "# HELP mlbuild_monitor_selection_rate Share of a fairness group's new rows predicted as the positive class.\n"
            out += "# TYPE mlbuild_monitor_selection_rate gauge\n"
            for entry in fairness.entries {
                out += "mlbuild_monitor_selection_rate{column=\"\(label(entry.column))\",group=\"\(label(entry.group ?? "null"))\",\(m)} \(CanonicalJSON.format(entry.selectionRate))\n"
            }
            out += "# HELP mlbuild_monitor_selection_rate_drift A fairness group's selection rate minus its rate on the test split.\n"
            out += "# TYPE mlbuild_monitor_selection_rate_drift gauge\n"
            for entry in fairness.entries {
                guard let drift = entry.drift else { continue }
                out += "mlbuild_monitor_selection_rate_drift{column=\"\(label(entry.column))\",group=\"\(label(entry.group ?? "null"))\",\(m)} \(CanonicalJSON.format(drift))\n"
            }
        }
        out += "# HELP mlbuild_monitor_passed 1 when the rows are valid, no column drifted and no fairness group moved past its limit, else 0.\n# TYPE mlbuild_monitor_passed gauge\n"
        out += "mlbuild_monitor_passed{\(m)} \((passed ?? (report.passed && drift.passed)) ? 1 : 0)\n"
        return out
    }
}
