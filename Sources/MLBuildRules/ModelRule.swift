import Foundation
import MLBuildCache
import MLBuildCore
import MLBuildDatasets
import MLBuildEngine
import MLBuildONNX
import MLBuildTraining

/// `model NAME` — a model trained on a features target's train matrix, scored on its test
/// matrix, held to quality gates.
///
///     model churn
///         features = features:churn
///         algorithm = logistic_regression      # or linear_regression, gradient_boosting
///         l2 = 1.0
///         gate = auc >= 0.80, recall >= 0.5
///
/// Hyper-parameters (defaults as in scikit-learn): logistic_regression `l2`, `tolerance`,
/// `max_iterations`; linear_regression `alpha`; gradient_boosting `trees`, `learning_rate`,
/// `max_leaf_nodes`, `min_samples_leaf`, `max_bins`, `l2`, `max_depth`, `subsample`. `task`
/// defaults from the algorithm, else from the label (two classes → classification, a number →
/// regression). Writes `build/model/NAME/model.json` (ModelArtifact), `metrics.json` and
/// `plots/*.json` + `plots/*.svg` (ModelPlots, on the test split); a gate
/// miss fails the target with every gate's measured value and publishes nothing.
public struct ModelRule: Rule {
    public static let kind = "model"
    public static let version = 3  // 3: plots/ (issue 10); 2: text cells must be UTF-8, overflow-free statistics, validated transforms (issue 8)
    public static let summary = "trains a model on a features target, scores it on the test split and enforces quality gates"
    static let hyperparameterKeys = [
        "alpha", "l2", "learning_rate", "max_bins", "max_depth", "max_iterations", "max_leaf_nodes", "min_samples_leaf",
        "subsample", "tolerance", "trees",
    ]
    public static let keys: [RuleKey] = [
        RuleKey("features", required: true, summary: "features:NAME to train on"),
        RuleKey("algorithm", required: true, summary: "logistic_regression, linear_regression or gradient_boosting"),
        RuleKey("task", summary: "classification or regression (default: from the algorithm, else the label)"),
        RuleKey("gate", .list, summary: "METRIC >= N or METRIC <= N on the test split, e.g. auc >= 0.8, recall >= 0.5"),
        RuleKey("formats", .list, summary: "json (always) and onnx: also write model.onnx (see docs/ml.md, \"ONNX export\")"),
    ] + hyperparameterKeys.map { RuleKey($0, summary: "hyper-parameter (see docs/ml.md)") }

    public let name: String
    public let features: LocatedReference
    public let algorithm: String
    /// Hyper-parameters as written, by name.
    let hyperparameters: [String: String]
    /// Every hyper-parameter with its effective value.
    let resolvedHyperparameters: [(name: String, value: String)]
    /// Given or implied by the algorithm; nil = decided by the label at run time.
    let task: TrainingTask?
    let gates: [ModelGate]
    /// `formats = json, onnx`: also write model.onnx (ModelONNX).
    let writesONNX: Bool
    /// The target's canonical Mlfile parameters (for lineage).
    let parameters: [(String, String)]

    public init(configuration: TargetConfiguration, diagnostics: inout DiagnosticCollector) {
        name = configuration.reference.name
        let features = diagnostics.attempt { try configuration.reference("features", kind: FeaturesRule.kind) } ?? nil
        // Never built without one (a missing or bad `features` is an Mlfile error).
        self.features = features ?? LocatedReference(TargetReference(kind: FeaturesRule.kind, name: ""), at: configuration.target.nameLocation)
        implicitDependencies = features.map { [$0] } ?? []
        let given = diagnostics.attempt { try configuration.string("algorithm") } ?? nil
        let algorithm = given ?? ""
        self.algorithm = algorithm
        // Only a usable algorithm decides which hyper-parameters and metrics apply.
        var known = given != nil
        if given != nil, !ModelTrainer.algorithms.contains(algorithm) {
            known = false
            diagnostics.add(configuration.diagnostic(
                "algorithm", "unknown algorithm '\(algorithm)'\(Suggestion.hint(for: algorithm, among: ModelTrainer.algorithms))",
                notes: ["algorithms: \(ModelTrainer.algorithms.joined(separator: ", "))"]))
        }
        var hyperparameters: [String: String] = [:]
        for key in Self.hyperparameterKeys {
            guard configuration.has(key), let text = diagnostics.attempt({ try configuration.string(key) }) ?? nil else { continue }
            hyperparameters[key] = text
        }
        self.hyperparameters = hyperparameters
        var resolved: [(name: String, value: String)] = []
        if known {
            // Each value on its own, so every bad one is reported at its line.
            let accepted = (try? ModelTrainer.hyperparameterNames(algorithm: algorithm)) ?? []
            for (key, text) in hyperparameters.sorted(by: { $0.key < $1.key }) {
                guard accepted.contains(key) else {
                    let location = configuration.target.keyLocations[key] ?? configuration.target.nameLocation
                    diagnostics.add(configuration.target.source.diagnostic(
                        "'\(key)' is not a hyper-parameter of \(algorithm)", at: location,
                        notes: ["\(algorithm) accepts: \(accepted.joined(separator: ", "))"]))
                    continue
                }
                do {
                    _ = try ModelTrainer.resolvedHyperparameters(algorithm: algorithm, hyperparameters: [key: text])
                } catch {
                    diagnostics.add(configuration.diagnostic(key, "\(error)"))
                }
            }
            resolved = (try? ModelTrainer.resolvedHyperparameters(algorithm: algorithm, hyperparameters: hyperparameters)) ?? []
        }
        resolvedHyperparameters = resolved
        var task: TrainingTask?
        if let text = diagnostics.attempt({ try configuration.string("task") }) ?? nil {
            if let given = TrainingTask(rawValue: text) {
                task = given
            } else {
                diagnostics.add(configuration.diagnostic(
                    "task", "task must be classification or regression, not '\(text)'\(Suggestion.hint(for: text, among: ["classification", "regression"]))"))
            }
        }
        let implied: TrainingTask? = switch algorithm {
        case "logistic_regression": .classification
        case "linear_regression": .regression
        default: nil
        }
        if let given = task, let implied, given != implied {
            diagnostics.add(configuration.diagnostic("task", "\(algorithm) does not support \(given.rawValue)"))
        }
        self.task = task ?? implied
        var gates: [ModelGate] = []
        for item in diagnostics.attempt({ try configuration.list("gate") }) ?? [] {
            guard let gate = diagnostics.attempt({ try ModelGate(item: item, source: configuration.target.source) }) else { continue }
            if let task = self.task, !gate.applies(to: task) {
                diagnostics.add(configuration.target.source.diagnostic(
                    "metric '\(gate.metric)' does not apply to \(task.rawValue)", at: gate.location,
                    notes: ["\(task.rawValue) metrics: \((task == .classification ? Metrics.classificationNames : Metrics.regressionNames).joined(separator: ", "))"]))
            }
            gates.append(gate)
        }
        self.gates = gates
        var writesONNX = false
        for item in diagnostics.attempt({ try configuration.list("formats") }) ?? [] {
            guard ModelONNX.formats.contains(item.text) else {
                diagnostics.add(configuration.target.source.diagnostic(
                    "unknown model format '\(item.text)'\(Suggestion.hint(for: item.text, among: ModelONNX.formats))", at: item.location,
                    notes: ["formats: \(ModelONNX.formats.joined(separator: ", "))"]))
                continue
            }
            writesONNX = writesONNX || item.text == "onnx"
        }
        self.writesONNX = writesONNX
        parameters = (diagnostics.attempt { try configuration.canonicalParameters() }) ?? []
    }

    /// The features it trains on, when named well (a bad name is reported, not depended on).
    public let implicitDependencies: [LocatedReference]

    public var inputs: [InputPattern] { [] }

    public var outputs: [String] { [Self.directory(name)] }

    /// `build/model/NAME`.
    public static func directory(_ name: String) -> String { "build/model/\(name)" }

    public func run(_ context: RuleContext) async throws {
        let workspace = URL(fileURLWithPath: context.workspace)
        let featuresDirectory = workspace.appendingPathComponent(FeaturesRule.directory(features.reference.name))
        let train: FeatureMatrix, test: FeatureMatrix, transform: FittedTransform, transformJSON: JSONValue, upstream: JSONValue
        do {
            train = try FeatureMatrix.read(from: featuresDirectory.appendingPathComponent("train.bin"))
            test = try FeatureMatrix.read(from: featuresDirectory.appendingPathComponent("test.bin"))
            let transformURL = featuresDirectory.appendingPathComponent("transform.json")
            transform = try FittedTransform.read(from: transformURL)
            transformJSON = try JSONDecoder().decode(JSONValue.self, from: Data(contentsOf: transformURL))
            upstream = try JSONDecoder().decode(JSONValue.self, from: Data(contentsOf: featuresDirectory.appendingPathComponent(FeaturesLineage.fileName)))
        } catch let error as DatasetError {
            throw RuleFailure("cannot read \(features.reference)'s outputs: \(error.description)")
        }
        let task = try self.task ?? Self.task(for: transform.label, target: context.target)
        for gate in gates where !gate.applies(to: task) {
            throw RuleFailure("\(gate.location): metric '\(gate.metric)' does not apply to \(task.rawValue) (the label '\(transform.label.column)' makes this a \(task.rawValue) model)")
        }
        guard let trainLabels = train.labels, let testLabels = test.labels else {
            throw RuleFailure("\(features.reference)'s matrices have no labels")
        }
        if task == .classification {
            if let classes = transform.label.classes, classes.count != 2 {
                throw RuleFailure("classification needs exactly 2 classes; label '\(transform.label.column)' has \(classes.count) (\(classes.joined(separator: ", ")))")
            }
            if let bad = (trainLabels + testLabels).first(where: { $0 != 0 && $0 != 1 }) {
                throw RuleFailure("classification needs labels 0 and 1; label '\(transform.label.column)' has the value \(CanonicalJSON.format(bad))")
            }
        }
        let model: TrainedModel
        let splitGain: [Double]?
        let scores: [Double]
        let metrics: Metrics
        let clock = ContinuousClock()
        let started = clock.now
        var fitSeconds = 0.0
        do {
            let trained = try ModelTrainer.trainRecordingGain(
                algorithm: algorithm, hyperparameters: hyperparameters, task: task, seed: context.seed, x: train.features, y: trainLabels)
            model = trained.model
            splitGain = trained.splitGain
            let fit = clock.now - started
            fitSeconds = Double(fit.components.seconds) + Double(fit.components.attoseconds) / 1e18
            scores = try model.predict(matrix: test.features)
            metrics = task == .classification
                ? try Metrics.classification(labels: testLabels, probabilities: scores)
                : try Metrics.regression(targets: testLabels, predictions: scores)
        } catch let error as TrainingError {
            throw RuleFailure("\(algorithm): \(error.description)")
        }
        var metricsJSON: [String: JSONValue] = [:]
        for (name, value) in metrics.sorted { metricsJSON[name] = .number(value) }
        if let confusion = metrics.confusionMatrix {
            metricsJSON["confusion_matrix"] = .array(confusion.rows.map { .array($0.map { .number($0) }) })
        }
        if let report = ModelGate.report(gates, metrics: metrics, testRows: test.features.rows) {
            throw RuleFailure(report)
        }
        let metricsFile: JSONValue = .object([
            "task": .string(task.rawValue),
            "test_rows": .number(test.features.rows),
            "train_rows": .number(train.features.rows),
            "metrics": .object(metricsJSON),
            "gates": .array(gates.map { $0.json(value: metrics[$0.metric]) }),
        ])
        let lineage = try lineage(context, upstream: upstream)
        let document = try ModelArtifact.document(
            algorithm: algorithm, hyperparameters: resolvedHyperparameters, task: task, model: model, transform: transform,
            transformJSON: transformJSON, metrics: .object(metricsJSON), lineage: lineage)
        var plots = ModelPlots(target: context.target.description, rows: test.features.rows)
        do {
            if task == .classification {
                let classes = ModelArtifact(task: task, model: model, transform: transform).classes
                try plots.classification(labels: testLabels, scores: scores, metrics: metrics, classes: classes, threshold: ModelArtifact.threshold)
            } else {
                plots.regression(targets: testLabels, predictions: scores)
            }
        } catch let error as TrainingError {
            throw RuleFailure("\(algorithm): plots: \(error.description)")
        }
        if let importance = FeatureImportance.of(model, splitGain: splitGain, x: train.features) {
            plots.featureImportance(importance, transform: transform)
        }
        let output = workspace.appendingPathComponent(Self.directory(name))
        try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
        try plots.write(to: output.appendingPathComponent(ModelPlots.directory))
        try AtomicFile.write(CanonicalJSON.serialize(metricsFile), to: output.appendingPathComponent("metrics.json"))
        try AtomicFile.write(CanonicalJSON.serialize(document), to: output.appendingPathComponent("model.json"))
        if writesONNX {
            do {
                let artifact = ModelArtifact(task: task, model: model, transform: transform)
                try AtomicFile.write(ModelONNX.bytes(of: artifact, graphName: context.target.description), to: output.appendingPathComponent(ModelONNX.fileName))
            } catch let error as ONNXExportError {
                throw RuleFailure("formats: cannot write \(ModelONNX.fileName): \(error.description)")
            }
        }
        let shown = metrics.sorted.filter { ["auc", "accuracy", "recall", "rmse", "r2"].contains($0.name) }
            .map { "\($0.name) \(CanonicalJSON.format(ModelGate.rounded($0.value)))" }
        // The fit time goes to the log only, never into an artifact.
        context.output.append(line: "\(algorithm) on \(train.features.rows) rows (fit \(String(format: "%.3f", fitSeconds))s); test (\(test.features.rows) rows): \(shown.joined(separator: ", "))")
    }

    /// The default task from the label's encoding.
    static func task(for label: FittedTransform.LabelEncoding, target: TargetReference) throws -> TrainingTask {
        if let classes = label.classes {
            guard classes.count == 2 else {
                throw RuleFailure("label '\(label.column)' has \(classes.count) classes; only two-class classification is supported (or set task = regression)")
            }
            return .classification
        }
        return .regression
    }

    /// Where the model came from: the features and datasets it was made of (output digests),
    /// its own action key and Mlfile parameters, the seed and the mlbuild version.
    func lineage(_ context: RuleContext, upstream: JSONValue) throws -> JSONValue {
        guard let result = context.dependencies[features.reference] else {
            throw RuleFailure("internal: \(context.target) has no result for \(features.reference)")
        }
        var datasets: JSONValue = .array([])
        if case .object(let members) = upstream, let list = members["datasets"] { datasets = list }
        var parameters: [String: JSONValue] = [:]
        for (name, value) in self.parameters { parameters[name] = .string(value.replacingOccurrences(of: "\u{1F}", with: ", ")) }
        return .object([
            "action_key": .string(context.key.hex),
            "target": .string(context.target.description),
            "seed": .string(String(context.seed)),
            "mlbuild_version": .string(MLBuildRulesVersion.current),
            "parameters": .object(parameters),
            "features": FeaturesLineage.describe(features.reference, result, role: nil),
            "datasets": datasets,
        ])
    }
}
