import Foundation
import MLBuildCore
import MLBuildHistory
import MLBuildPlots

/// `mlbuild report`'s page: one static HTML document with no script, no link to any other file
/// or host, its CSS in one `<style>` and every image an inline `<svg>`. Built from the Mlfile,
/// the outputs in build/ and the run history; the same workspace and history give the same
/// bytes (no clock; every list in Mlfile order or sorted). Problems reading an output become
/// `warnings` (and a note in that section); the page is always complete.
struct ReportPage {
    struct Target {
        var reference: TargetReference
        /// The Mlfile's `description`, if any.
        var description: String?
        /// `up to date`, `stale` or `not built`.
        var status: String
        var dependencies: [TargetReference]
        /// The Mlfile values, canonical, secrets as `<secret>`.
        var parameters: [TargetRecord.Parameter]
        /// The rule's declared outputs (workspace-relative).
        var outputs: [String]
    }

    var mlfile: String
    var root: String
    var git: GitRevision?
    var targets: [Target]
    var history: ReportHistory?
    private(set) var warnings: [String] = []
    private var html = HTMLWriter()
    private var drawings = 0

    init(mlfile: String, root: String, git: GitRevision?, targets: [Target], history: ReportHistory?, warnings: [String]) {
        self.mlfile = mlfile
        self.root = root
        self.git = git
        self.targets = targets
        self.history = history
        self.warnings = warnings
    }

    static let style: StaticString = """
        body{font-family:sans-serif;margin:0 auto;max-width:1320px;padding:16px 24px;color:#111827;background:#ffffff}
        h1{font-size:24px;margin:8px 0}h2{font-size:20px;border-bottom:1px solid #d1d5db;padding-bottom:4px;margin-top:32px}
        h3{font-size:16px;margin:20px 0 8px}table{border-collapse:collapse;margin:8px 0;font-size:13px}
        th,td{border:1px solid #d1d5db;padding:3px 8px;text-align:left;vertical-align:top}th{background:#f3f4f6}
        td.num{text-align:right}.pass{color:#15803d;font-weight:bold}.fail{color:#b91c1c;font-weight:bold}
        .warning{background:#fef3c7;border:1px solid #f59e0b;padding:6px 10px}.muted{color:#6b7280}
        .plots{display:flex;flex-wrap:wrap;gap:12px}.plots figure{margin:0;border:1px solid #e5e7eb}
        .plots svg{width:480px;height:360px;display:block}.small svg{width:320px;height:240px}
        .graph{overflow-x:auto;border:1px solid #e5e7eb;padding:4px}.graph svg{display:block}
        figcaption{font-size:12px;color:#374151;padding:2px 6px}code{font-size:12px;word-break:break-all}
        section.target{border-top:3px solid #e5e7eb;margin-top:24px}
        """

    mutating func render() -> String {
        html = HTMLWriter()
        drawings = 0
        html.markup("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
        html.element("title", "mlbuild report: \(mlfile)")
        html.markup("\n<style>\n")
        html.markup(Self.style)
        html.markup("\n</style>\n</head>\n<body>\n")
        header()
        contents()
        graph()
        for (i, target) in targets.enumerated() { section(target, anchor: Self.anchor(i, target.reference)) }
        html.markup("</body>\n</html>\n")
        return html.text
    }

    static func anchor(_ index: Int, _ target: TargetReference) -> String {
        "t\(index + 1)-" + String(target.description.unicodeScalars.map { CharacterSet.alphanumerics.contains($0) && $0.isASCII ? Character($0) : "-" })
    }

    // MARK: Header, contents, graph

    private mutating func header() {
        html.element("h1", "mlbuild report")
        var rows: [[String]] = [["Mlfile", mlfile]]
        if let git {
            rows.append(["Git revision", git.commit + (git.dirty ? " (dirty: tracked files changed)" : " (clean)")])
        } else {
            rows.append(["Git revision", "not in a git repository"])
        }
        if let run = history?.latest {
            var parts = ["run:\(run.id)", "started \(run.startedAt)", run.exitStatus.map { "exit \($0)" } ?? "unfinished"]
            if let revision = run.gitRevision { parts.append("git " + String(revision.prefix(7)) + (run.gitDirty == true ? " (dirty)" : "")) }
            rows.append(["Latest run", parts.joined(separator: ", ") + " — " + run.commandLine])
        } else {
            rows.append(["Latest run", "no run history"])
        }
        let notBuilt = targets.filter { $0.status == "not built" }.count
        let stale = targets.filter { $0.status == "stale" }.count
        rows.append(["Targets", "\(targets.count) (\(targets.count - notBuilt - stale) up to date, \(stale) stale, \(notBuilt) not built)"])
        html.open("table", [("class", "kv")])
        html.open("tbody")
        for row in rows {
            html.open("tr")
            html.element("th", row[0])
            html.element("td", row[1])
            html.close("tr")
        }
        html.close("tbody")
        html.close("table")
        html.newline()
    }

    private mutating func contents() {
        html.open("nav")
        html.element("h2", "Contents")
        html.open("ul")
        html.open("li")
        html.element("a", "Target graph", [("href", "#graph")])
        html.close("li")
        for (i, target) in targets.enumerated() {
            html.open("li")
            html.element("a", target.reference.description, [("href", "#" + Self.anchor(i, target.reference))])
            html.text(" — \(target.status)")
            html.close("li")
        }
        html.close("ul")
        html.close("nav")
        html.newline()
    }

    private mutating func graph() {
        html.open("section", [("id", "graph")])
        html.element("h2", "Target graph")
        let nodes = targets.map { GraphDiagram.Node(id: $0.reference.description, label: $0.reference.description, kind: $0.reference.kind, status: $0.status) }
        var edges: [(from: String, to: String)] = []
        for target in targets {
            for dependency in target.dependencies { edges.append((dependency.description, target.reference.description)) }
        }
        html.open("div", [("class", "graph")])
        drawing(GraphDiagram(nodes: nodes, edges: edges).svg(), source: "the target graph")
        html.close("div")
        html.element("p", "Arrows point from a target to the targets that need it. Box colours: dataset blue, features violet, model green, container amber, task grey; a dashed outline is a target not built yet.", [("class", "muted")])
        html.close("section")
        html.newline()
    }

    /// Inlines one SVG drawing; a drawing that cannot be inlined safely is a warning instead.
    private mutating func drawing(_ svg: String, source: String) {
        drawings += 1
        if let inline = InlineSVG(svg, idPrefix: "d\(drawings)") {
            html.svg(inline)
        } else {
            warn("\(source): not a self-contained SVG drawing; left out of the page")
        }
    }

    private mutating func warn(_ message: String) {
        warnings.append(message)
        html.element("p", "warning: \(message)", [("class", "warning")])
    }

    // MARK: Targets

    private mutating func section(_ target: Target, anchor: String) {
        html.open("section", [("class", "target"), ("id", anchor)])
        html.element("h2", target.reference.description)
        if let description = target.description { html.element("p", description, [("class", "description")]) }
        html.open("p")
        html.text("Status: ")
        html.element("strong", target.status)
        if !target.dependencies.isEmpty { html.text(" · needs " + target.dependencies.map(\.description).joined(separator: ", ")) }
        html.close("p")
        if target.status == "not built" {
            html.element("p", "not built: run `mlbuild \(target.reference)` to build it.", [("class", "muted")])
        } else {
            switch target.reference.kind {
            case "dataset": dataset(target)
            case "features": features(target)
            case "model": model(target)
            default: outputs(target)
            }
        }
        parameters(target)
        html.close("section")
        html.newline()
    }

    private mutating func parameters(_ target: Target) {
        guard !target.parameters.isEmpty else { return }
        html.element("h3", "Parameters")
        html.table(["Parameter", "Value"], target.parameters.map { [$0.name, $0.value] })
    }

    private mutating func dataset(_ target: Target) {
        let directory = "build/dataset/\(target.reference.name)"
        html.element("h3", "Schema")
        let schemaFile = ReportFile.decode(SchemaView.self, "\(directory)/schema.json", root: root)
        switch schemaFile {
        case .missing: html.element("p", "no schema.json", [("class", "muted")])
        case let .unreadable(message): warn(message)
        case let .read(schema):
            html.table(["Column", "Type", "Attributes"], schema.columns.map { column in
                var attributes: [String] = []
                if column.id == true { attributes.append("id") }
                if column.unique == true { attributes.append("unique") }
                if column.nullable == true { attributes.append("nullable") }
                if let min = column.min { attributes.append("min=\(HistoryOutput.number(min))") }
                if let max = column.max { attributes.append("max=\(HistoryOutput.number(max))") }
                let type = column.categories.map { "\(column.type)(\($0.joined(separator: ", ")))" } ?? column.type
                return [column.name, type, attributes.joined(separator: " ")]
            })
        }
        html.element("h3", "Validation")
        let stats = ReportFile.decode(StatsView.self, "\(directory)/stats.json", root: root)
        switch stats {
        case .missing: html.element("p", "no stats.json", [("class", "muted")])
        case let .unreadable(message): warn(message)
        case let .read(stats):
            var rules = 0
            if case let .read(schema) = schemaFile {
                for column in schema.columns {
                    rules += 1 + (column.nullable == true ? 0 : 1) + (column.unique == true ? 1 : 0) + (column.min == nil ? 0 : 1)
                        + (column.max == nil ? 0 : 1) + (column.categories == nil ? 0 : 1)
                }
            }
            html.element("p", "\(stats.rows) rows, \(stats.columns.count) columns; \(rules) column rules checked on every row, 0 violations (a dataset is written only when every rule holds).")
            let options = (schemaFile.value?.options ?? [:]).filter { key, value in
                if case .null = value { return false }
                if case let .array(items) = value, items.isEmpty { return false }
                return key != "max_psi"  // shown with the drift, when there is a baseline
            }
            if !options.isEmpty {
                html.table(["Dataset rule", "Value"], options.keys.sorted().map { [$0, options[$0]?.text ?? ""] })
            }
        }
        switch ReportFile.decode(DriftView.self, "\(directory)/drift.json", root: root) {
        case .missing: break
        case let .unreadable(message):
            html.element("h3", "Drift")
            warn(message)
        case let .read(drift):
            html.element("h3", "Drift")
            let limit = drift.max_psi.map(HistoryOutput.number) ?? "-"
            html.element("p", "Population stability index per column against the baseline (max_psi \(limit)): \(drift.passed == false ? "failed" : "passed").")
            var rows = drift.columns.keys.sorted().map { name -> [String] in
                let column = drift.columns[name]
                return [name, column?.method ?? "-", column?.psi.map { String(format: "%.4f", $0) } ?? "-"]
            }
            for name in (drift.skipped ?? [:]).keys.sorted() { rows.append([name, "skipped", drift.skipped?[name] ?? ""]) }
            html.table(["Column", "Method", "PSI"], rows)
        }
        if case let .read(stats) = stats {
            html.element("h3", "Columns")
            let order = schemaFile.value?.columns.map(\.name) ?? stats.columns.keys.sorted()
            html.table(["Column", "Type", "Count", "Nulls", "Distinct", "Min", "Max", "Mean", "Std"], order.compactMap { name in
                guard let c = stats.columns[name] else { return nil }
                let n: (Double?) -> String = { $0.map(HistoryOutput.number) ?? "" }
                return [name, c.type, c.count.map(String.init) ?? "", c.nulls.map(String.init) ?? "", c.distinct.map(String.init) ?? "",
                        n(c.min), n(c.max), n(c.mean), n(c.std)]
            })
            html.open("div", [("class", "plots small")])
            for name in order {
                guard let column = stats.columns[name] else { continue }
                if let histogram = column.histogram, histogram.edges.count == histogram.counts.count + 1 {
                    figure(HistogramChart(title: name, xLabel: name, edges: histogram.edges, counts: histogram.counts).svg(),
                           caption: "\(name): histogram of \(column.count ?? 0) values", source: "\(directory)/stats.json \(name)")
                } else if let frequencies = column.frequencies, !frequencies.isEmpty {
                    let top = Array(frequencies.prefix(20))
                    let bars = top.map { (label: $0.value.text, value: Double($0.count)) }
                    let note = frequencies.count > 20 ? " (top 20 of \(frequencies.count))" : ""
                    figure(BarChart(title: name, valueLabel: "rows", bars: bars, limit: 20).svg(),
                           caption: "\(name): rows per value\(note)", source: "\(directory)/stats.json \(name)")
                }
            }
            html.close("div")
        }
    }

    private mutating func figure(_ svg: String, caption: String, source: String) {
        html.open("figure")
        drawing(svg, source: source)
        html.element("figcaption", caption)
        html.close("figure")
    }

    private mutating func features(_ target: Target) {
        let directory = "build/features/\(target.reference.name)"
        html.element("h3", "Features")
        switch ReportFile.decode([String].self, "\(directory)/feature_names.json", root: root) {
        case .missing: html.element("p", "no feature_names.json", [("class", "muted")])
        case let .unreadable(message): warn(message)
        case let .read(names):
            html.element("p", "\(names.count) features: " + names.joined(separator: ", "))
        }
        switch ReportFile.decode(SplitView.self, "\(directory)/split.json", root: root) {
        case .missing: break
        case let .unreadable(message): warn(message)
        case let .read(split):
            html.element("p", "\(split.train_rows?.count ?? 0) training rows, \(split.test_rows?.count ?? 0) test rows (\(split.test_source ?? "split")).")
        }
    }

    /// metrics.json's `fairness`: per column its aggregates, then a row per group.
    private mutating func fairness(_ columns: [String: MetricsView.Fairness]) {
        html.element("h3", "Fairness")
        html.element("p", "Decisions on the test split by group of each column (fairlearn's definitions; docs/responsible.md).")
        for column in columns.keys.sorted() {
            guard let entry = columns[column] else { continue }
            html.element("h4", column)
            let ratio = entry.disparate_impact_ratio.map(HistoryOutput.number) ?? "undefined"
            html.element("p", "demographic_parity_difference \(HistoryOutput.number(entry.demographic_parity_difference)), "
                + "equalized_odds_difference \(HistoryOutput.number(entry.equalized_odds_difference)), disparate_impact_ratio \(ratio)")
            html.open("table", [("class", "fairness"), ("data-fairness", column)])
            html.open("thead")
            html.open("tr")
            for title in ["Group", "Rows", "Selection rate", "True positive rate", "False positive rate", "AUC"] { html.element("th", title) }
            html.close("tr")
            html.close("thead")
            html.open("tbody")
            for group in entry.groups {
                html.open("tr", [("data-group", group.group ?? "null")])
                html.element("td", group.group ?? "(null)")
                html.element("td", String(group.count), [("class", "num")])
                for value in [group.selection_rate, group.true_positive_rate, group.false_positive_rate] {
                    html.element("td", HistoryOutput.number(value), [("class", "num")])
                }
                html.element("td", group.auc.map(HistoryOutput.number) ?? "-", [("class", "num")])
                html.close("tr")
            }
            html.close("tbody")
            html.close("table")
            html.newline()
        }
    }

    private mutating func model(_ target: Target) {
        let directory = "build/model/\(target.reference.name)"
        let name = target.reference.description
        html.element("h3", "Metrics")
        var current: [String: Double]?
        switch ReportFile.decode(MetricsView.self, "\(directory)/metrics.json", root: root) {
        case .missing: html.element("p", "no metrics.json", [("class", "muted")])
        case let .unreadable(message): warn(message)
        case let .read(metrics):
            current = metrics.numbers
            var summary = metrics.task.map { "\($0)" } ?? "model"
            if let test = metrics.test_rows { summary += ", evaluated on \(test) test rows" }
            if let train = metrics.train_rows { summary += " (trained on \(train))" }
            html.element("p", summary + ".")
            html.open("table", [("class", "metrics")])
            html.open("thead")
            html.open("tr")
            html.element("th", "Metric")
            html.element("th", "Value")
            html.close("tr")
            html.close("thead")
            html.open("tbody")
            for key in metrics.metrics.keys.sorted() {
                html.open("tr", [("data-metric", key)])
                html.element("td", key)
                html.element("td", metrics.metrics[key]?.text ?? "", [("class", "num")])
                html.close("tr")
            }
            html.close("tbody")
            html.close("table")
            html.newline()
            html.element("h3", "Gates")
            let gates = metrics.gates ?? []
            if gates.isEmpty {
                html.element("p", "no gates", [("class", "muted")])
            } else {
                html.open("table")
                html.open("thead")
                html.open("tr")
                for title in ["Gate", "Value", "Result"] { html.element("th", title) }
                html.close("tr")
                html.close("thead")
                html.open("tbody")
                for gate in gates {
                    html.open("tr")
                    html.element("td", "\(gate.metric) \(gate.op) \(HistoryOutput.number(gate.threshold))")
                    html.element("td", gate.value.map(HistoryOutput.number) ?? "-", [("class", "num")])
                    html.element("td", gate.passed ? "pass" : "fail", [("class", gate.passed ? "pass" : "fail")])
                    html.close("tr")
                }
                html.close("tbody")
                html.close("table")
                html.newline()
            }
            if let fairness = metrics.fairness, !fairness.isEmpty { self.fairness(fairness) }
        }
        comparison(name, current: current)
        html.element("h3", "Plots")
        let plots = "\(directory)/plots"
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: "\(root)/\(plots)")) ?? []).filter { $0.hasSuffix(".svg") }.sorted()
        if files.isEmpty {
            html.element("p", "no plots", [("class", "muted")])
        } else {
            html.open("div", [("class", "plots")])
            for file in files {
                guard let data = FileManager.default.contents(atPath: "\(root)/\(plots)/\(file)"),
                      let text = String(data: data, encoding: .utf8) else {
                    warn("\(plots)/\(file): cannot be read")
                    continue
                }
                html.open("figure", [("data-plot", String(file.dropLast(4)))])
                drawing(text, source: "\(plots)/\(file)")
                html.element("figcaption", "\(plots)/\(file)")
                html.close("figure")
            }
            html.close("div")
        }
        html.element("h3", "Lineage")
        switch ReportFile.decode(ModelView.self, "\(directory)/model.json", root: root) {
        case .missing: html.element("p", "no model.json", [("class", "muted")])
        case let .unreadable(message): warn(message)
        case let .read(model):
            var rows: [[String]] = []
            if let algorithm = model.algorithm { rows.append(["algorithm", algorithm]) }
            if let task = model.task { rows.append(["task", task]) }
            if let lineage = model.lineage {
                if let key = lineage.action_key { rows.append(["action key", key]) }
                if let seed = lineage.seed { rows.append(["seed", seed]) }
                if let version = lineage.mlbuild_version { rows.append(["mlbuild version", version]) }
                if let features = lineage.features {
                    rows.append(["features \(features.target ?? "")", features.outputs_digest ?? "-"])
                }
                for dataset in lineage.datasets ?? [] {
                    rows.append(["dataset \(dataset.target ?? "") (\(dataset.role ?? "-"))", dataset.outputs_digest ?? "-"])
                }
            }
            html.table(["Lineage", "Value"], rows)
        }
    }

    /// Old, new and change per metric against the previous run that recorded other values.
    private mutating func comparison(_ target: String, current: [String: Double]?) {
        html.element("h3", "Compared with the previous run")
        guard let history else {
            html.element("p", "no previous run (no run history)", [("class", "muted")])
            return
        }
        guard let current, !current.isEmpty else {
            html.element("p", "no current metrics to compare", [("class", "muted")])
            return
        }
        guard let previous = history.previous(of: target, differingFrom: current) else {
            html.element("p", "no previous run with different metrics", [("class", "muted")])
            return
        }
        let rows = HistoryDiffRow.rows(old: [target: previous.metrics], new: [target: current], all: true)
        html.open("table", [("class", "comparison")])
        html.open("thead")
        html.open("tr")
        for title in ["Metric", "Old (run:\(previous.run.id))", "New (current)", "Change"] { html.element("th", title) }
        html.close("tr")
        html.close("thead")
        html.open("tbody")
        for row in rows {
            html.open("tr", [("data-metric", row.name)])
            html.element("td", row.name)
            html.element("td", row.old.map(HistoryOutput.number) ?? "-", [("class", "num")])
            html.element("td", row.new.map(HistoryOutput.number) ?? "-", [("class", "num")])
            html.element("td", row.old.flatMap { o in row.new.map { HistoryOutput.signed($0 - o) } } ?? "-", [("class", "num")])
            html.close("tr")
        }
        html.close("tbody")
        html.close("table")
        html.newline()
    }

    private mutating func outputs(_ target: Target) {
        html.element("h3", "Outputs")
        var rows: [[String]] = []
        for output in target.outputs {
            let path = "\(root)/\(output)"
            guard let stat = FileStat.of(path) else {
                rows.append([output, "missing", ""])
                continue
            }
            if !stat.isRegularFile {
                rows.append([output, "directory", ""])
                continue
            }
            guard let data = FileManager.default.contents(atPath: path) else {
                rows.append([output, "unreadable", ""])
                continue
            }
            var note = "\(data.count) bytes"
            // A container's `digest` output is the image's manifest digest.
            if target.reference.kind == "container", output.hasSuffix("/digest") {
                note = "image " + String(decoding: data.prefix(200), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            }
            rows.append([output, "sha256:" + ContentDigest.of(data).hex, note])
        }
        html.table(["Output", "Digest", "Notes"], rows)
    }
}

extension ReportFile {
    var value: Value? { if case let .read(value) = self { return value } else { return nil } }
}

/// What the report reads from the run history: the newest run and, per model, the run to
/// compare with.
struct ReportHistory {
    var latest: RunSummary?
    /// Newest first (at most `limit` runs back).
    var runs: [RunDetail]

    static let limit = 100

    init(store: HistoryStore) throws {
        runs = try store.runs(limit: Self.limit).compactMap { try store.run($0.id) }
        latest = runs.first?.run
    }

    /// The newest run whose recorded metrics of `target` differ from `current`.
    func previous(of target: String, differingFrom current: [String: Double]) -> (run: RunSummary, metrics: [String: Double])? {
        for detail in runs {
            guard let record = detail.targets.first(where: { $0.target == target }), !record.metrics.isEmpty else { continue }
            let metrics = Dictionary(record.metrics.map { ($0.name, $0.value) }, uniquingKeysWith: { $1 })
            if metrics != current { return (detail.run, metrics) }
        }
        return nil
    }
}
