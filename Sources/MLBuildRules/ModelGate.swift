import MLBuildCore
import MLBuildDatasets
import MLBuildTraining

/// One quality gate of a `model` target: `auc >= 0.80` or `log_loss <= 0.45`, measured on the
/// test split. `gate = auc >= 0.80, recall >= 0.5` is a list of them; all must hold.
struct ModelGate: Sendable, Equatable {
    enum Comparison: String, Sendable {
        case atLeast = ">="
        case atMost = "<="
    }

    var metric: String
    var comparison: Comparison
    var threshold: Double
    /// The threshold as written (shown back in reports).
    var thresholdText: String
    var location: SourceLocation

    /// Every metric a gate may name: each task's metrics on the test split, and with `cv = N`
    /// their cross-validated mean `cv_METRIC` and standard deviation `cv_METRIC_std`.
    /// With `fairness = COLUMN, …`, also the worst of each fairness aggregate over the columns.
    static let metricNames: [String] = (baseNames + baseNames.map { "cv_\($0)" } + baseNames.map { "cv_\($0)_std" }
        + GroupFairness.metricNames).sorted()

    /// The test-split metrics of every task, sorted.
    static let baseNames = Set(Metrics.classificationNames + Metrics.multiclassNames + Metrics.regressionNames).sorted()

    /// The note listing what a gate may name.
    static var metricsNote: String {
        "metrics: \(baseNames.joined(separator: ", ")); with cv = N also cv_METRIC and cv_METRIC_std; "
            + "with fairness = COLUMN, … also \(GroupFairness.metricNames.joined(separator: ", "))"
    }

    /// The metrics of a model of `task` (`classCount` nil: either kind of classifier).
    static func names(for task: TrainingTask, classCount: Int?) -> [String] {
        switch (task, classCount) {
        case (.regression, _): return Metrics.regressionNames
        case (.classification, let k?) where k > 2: return Metrics.multiclassNames
        case (.classification, _?): return (Metrics.classificationNames + GroupFairness.metricNames).sorted()
        case (.classification, nil): return Set(Metrics.classificationNames + Metrics.multiclassNames + GroupFairness.metricNames).sorted()
        }
    }

    /// Whether the gate reads a fairness aggregate (needs `fairness = COLUMN, …`).
    var isFairness: Bool { GroupFairness.metricNames.contains(metric) }

    /// Whether the gate reads a cross-validation summary (`cv_auc`, `cv_auc_std`).
    var isCrossValidated: Bool { metric.hasPrefix("cv_") }

    /// The test-split metric a gate names, without its `cv_` and `_std`.
    var baseMetric: String {
        guard isCrossValidated else { return metric }
        var name = String(metric.dropFirst(3))
        if name.hasSuffix("_std"), !Self.names(for: .classification, classCount: nil).contains(name),
           !Metrics.regressionNames.contains(name) {
            name = String(name.dropLast(4))
        }
        return name
    }

    /// Parses one gate item; errors point at the item.
    init(item: ResolvedValue.Item, source: SourceFile) throws {
        location = item.location
        let text = item.text
        let operators: [(String, Comparison)] = [(">=", .atLeast), ("<=", .atMost)]
        guard let (range, comparison) = operators.lazy.compactMap({ op in text.range(of: op.0).map { ($0, op.1) } }).first else {
            throw source.diagnostic("gate '\(text)' must be METRIC >= NUMBER or METRIC <= NUMBER", at: item.location,
                                    notes: [Self.metricsNote])
        }
        let metric = text[..<range.lowerBound].trimmingCharacters(in: .whitespaces)
        let number = text[range.upperBound...].trimmingCharacters(in: .whitespaces)
        guard !metric.isEmpty, metric.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
            throw source.diagnostic("gate '\(text)' must be METRIC >= NUMBER or METRIC <= NUMBER", at: item.location)
        }
        guard Self.metricNames.contains(metric) else {
            throw source.diagnostic("unknown metric '\(metric)' in gate\(Self.hint(for: metric))",
                                    at: item.location, notes: [Self.metricsNote])
        }
        guard let threshold = Double(number), threshold.isFinite else {
            // Mapped through the item, not counted along its first line: the number may sit on a
            // continuation line, or come from a `${…}`.
            let offset = text.distance(from: text.startIndex, to: range.upperBound)
                + text[range.upperBound...].prefix(while: { $0 == " " || $0 == "\t" }).count
            throw source.diagnostic("gate threshold '\(number)' is not a number", at: item.location(atCharacterOffset: offset))
        }
        self.metric = metric
        self.comparison = comparison
        self.threshold = threshold
        thresholdText = number
    }

    /// "Did you mean": the usual typo distance, plus swapped letters (`acu`), which the distance
    /// rule rejects for names as short as metric names.
    static func hint(for metric: String) -> String {
        Suggestion.hintAllowingSwaps(for: metric, among: metricNames)
    }

    /// Whether the metric belongs to `task`.
    func applies(to task: TrainingTask) -> Bool {
        Self.names(for: task, classCount: nil).contains(baseMetric)
    }

    /// Whether the metric belongs to a model of `task` with `classCount` classes.
    func applies(to task: TrainingTask, classCount: Int) -> Bool {
        Self.names(for: task, classCount: task == .classification ? classCount : nil).contains(baseMetric)
    }

    /// The measured value, or nil when the metric is undefined on this test set (AUC of one class).
    func passes(_ value: Double?) -> Bool {
        guard let value else { return false }
        switch comparison {
        case .atLeast: return value >= threshold
        case .atMost: return value <= threshold
        }
    }

    var description: String { "\(metric) \(comparison.rawValue) \(thresholdText)" }

    /// `{"metric", "op", "threshold", "value", "passed"}` for metrics.json.
    func json(value: Double?) -> JSONValue {
        .object([
            "metric": .string(metric), "op": .string(comparison.rawValue), "threshold": .number(threshold),
            "value": .optional(value), "passed": .bool(passes(value)),
        ])
    }

    /// The report for a failed build: every gate with its measured value, misses marked.
    static func report(_ gates: [ModelGate], metrics: Metrics, testRows: Int) -> String? {
        let failed = gates.filter { !$0.passes(metrics[$0.metric]) }
        guard !failed.isEmpty else { return nil }
        var lines = ["quality gate failed (\(failed.count) of \(gates.count) on \(testRows) test rows); nothing published:"]
        for gate in gates {
            let value = metrics[gate.metric]
            let undefined = gate.isFairness ? "undefined (no test row is predicted 1)" : "undefined (the test set holds one class)"
            let measured = value.map { CanonicalJSON.format(Self.rounded($0)) } ?? undefined
            lines.append("  \(gate.metric) = \(measured), required \(gate.description)\(gate.passes(value) ? "  ok" : "  FAILED")")
        }
        return lines.joined(separator: "\n")
    }

    /// Six decimals for messages (artifacts keep full precision).
    static func rounded(_ x: Double) -> Double { (x * 1_000_000).rounded() / 1_000_000 }
}
