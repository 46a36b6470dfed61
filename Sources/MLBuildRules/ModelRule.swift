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
/// `max_leaf_nodes`, `min_samples_leaf`, `max_bins`, `l2`, `max_depth`, `subsample`,
/// `early_stopping`, `validation_fraction`, `n_iter_no_change`, `tolerance`. `task` defaults from
/// the algorithm, else from the label (classes → classification, binary or multi-class; a number
/// → regression). Every model also takes `class_weight`, `threshold`, `cv` (ModelOptions; `cv`
/// brings the fold targets `cv:NAME.fold-K`, ModelFoldRule) and `formats = json, onnx`.
/// Writes `build/model/NAME/model.json` (ModelArtifact), `metrics.json`, `plots/*.json` +
/// `plots/*.svg` (ModelPlots, on the test split) and, when asked, `model.onnx` (ModelONNX); a
/// gate miss fails the target with every gate's measured value and publishes nothing.
public struct ModelRule: Rule {
    public static let kind = "model"
    public static let version = 4  // 4: multi-class, class_weight, threshold, cv, early stopping, formats (issue 15); 3: plots/ (issue 10); 2: text cells must be UTF-8, overflow-free statistics, validated transforms (issue 8)
    /// Gradient boosting's subsampling, threshold tuning's folds; the seed is in model.json's lineage.
    public static let usesSeed = true
    public static let summary = "trains a model on a features target, scores it on the test split and enforces quality gates"
    static let hyperparameterKeys = [
        "alpha", "early_stopping", "l2", "learning_rate", "max_bins", "max_depth", "max_iterations", "max_leaf_nodes",
        "min_samples_leaf", "n_iter_no_change", "subsample", "tolerance", "trees", "validation_fraction",
    ]
    public static let keys: [RuleKey] = [
        RuleKey("features", required: true, summary: "features:NAME to train on"),
        RuleKey("algorithm", required: true, summary: "logistic_regression, linear_regression or gradient_boosting"),
        RuleKey("task", summary: "classification or regression (default: from the algorithm, else the label)"),
        RuleKey("gate", .list, summary: "METRIC >= N or METRIC <= N on the test split, e.g. auc >= 0.8, recall >= 0.5"),
        RuleKey("formats", .list, summary: "json (always) and onnx: also write model.onnx (see docs/ml.md, \"ONNX export\")"),
        RuleKey("fairness", .list, summary: "dataset columns whose groups' selection rates, error rates and AUC are compared on the test split (docs/responsible.md)"),
    ] + ModelOptions.keys + hyperparameterKeys.map { RuleKey($0, summary: "hyper-parameter (see docs/ml.md)") }

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
    /// class_weight, threshold, cv.
    let options: ModelOptions
    /// `fairness = COLUMN, …` (ModelFairness).
    let fairness: ModelFairness
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
                    notes: ["\(task.rawValue) metrics: \(ModelGate.names(for: task, classCount: nil).joined(separator: ", "))"]))
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
        options = ModelOptions(configuration: configuration, task: self.task, diagnostics: &diagnostics)
        fairness = ModelFairness(configuration: configuration, task: self.task, diagnostics: &diagnostics)
        if fairness.isEmpty {
            for gate in gates where gate.isFairness {
                diagnostics.add(configuration.target.source.diagnostic(
                    "gate on '\(gate.metric)' needs the groups to compare: add fairness = COLUMN, … to \(configuration.reference)",
                    at: gate.location))
            }
        }
        if options.folds == nil {
            for gate in gates where gate.isCrossValidated {
                diagnostics.add(configuration.target.source.diagnostic(
                    "gate on '\(gate.metric)' needs cross-validation: add cv = 5 (or another fold count) to \(configuration.reference)",
                    at: gate.location))
            }
        }
        parameters = (diagnostics.attempt { try configuration.canonicalParameters() }) ?? []
        if let folds = options.folds, let features {
            let location = configuration.value("cv")?.location ?? configuration.target.nameLocation
            // `fitSettings` itself needs every stored property set, which this is part of.
            let fit = ModelFit(algorithm: algorithm, hyperparameters: hyperparameters, options: options)
            let model = name, task = self.task
            let folds = (1 ... folds).map { fold in
                AuxiliaryTarget(
                    reference: ModelFoldRule.reference(model: model, fold: fold),
                    rule: ModelFoldRule(model: model, fold: fold, folds: folds, features: features, task: task, fit: fit),
                    parameters: [("cv.fold", String(fold))])
            }
            auxiliaryTargets = folds
            implicitDependencies += folds.map { LocatedReference($0.reference, at: location) }
        } else {
            auxiliaryTargets = []
        }
    }

    /// The `fairness` columns against the dataset's inline schema.
    public func check(against rules: [TargetReference: any Rule], configuration: TargetConfiguration,
                      diagnostics: inout DiagnosticCollector) {
        fairness.check(features: features.reference, rules: rules, source: configuration.target.source, diagnostics: &diagnostics)
    }

    /// With `fairness`, the datasets of its features: the groups are read there.
    public func derivedDependencies(among rules: [TargetReference: any Rule]) -> [LocatedReference] {
        fairness.datasets(of: features.reference, among: rules, at: fairness.columns.first?.location ?? features.location)
    }

    /// The features it trains on, when named well (a bad name is reported, not depended on),
    /// and its cross-validation folds.
    public private(set) var implicitDependencies: [LocatedReference]

    /// `cv = N`: the folds `cv:NAME.fold-1` … `cv:NAME.fold-N` (`ModelFoldRule`).
    public let auxiliaryTargets: [AuxiliaryTarget]

    /// What a fit needs of this target's values.
    var fitSettings: ModelFit { ModelFit(algorithm: algorithm, hyperparameters: hyperparameters, options: options) }

    public var inputs: [InputPattern] { [] }

    public var outputs: [String] { [Self.directory(name)] }

    /// `build/model/NAME`.
    public static func directory(_ name: String) -> String { "build/model/\(name)" }

    /// On the build's work budget, not Swift's cooperative pool (see WorkBudget).
    public func run(_ context: RuleContext) async throws {
        try await context.budget.run { try self.runOnBudget(context) }
    }

    func runOnBudget(_ context: RuleContext) throws {
        let data = try ModelTrainingData.read(context, features: features.reference, task: task)
        let task = data.task
        let kind = data.isMulticlass ? "\(data.classCount)-class" : task.rawValue
        for gate in gates where !gate.applies(to: task, classCount: data.classCount) {
            let names = ModelGate.names(for: task, classCount: data.classCount)
            throw RuleFailure("\(gate.location): metric '\(gate.metric)' does not apply to a \(kind) model (the label '\(data.transform.label.column)' "
                              + "makes this one; its metrics: \(names.joined(separator: ", ")))")
        }
        let fit = fitSettings
        let clock = ContinuousClock()
        let started = clock.now
        let (fitted, reused) = try ModelFitCache.fit(fit, data: data, context: context, part: "model") {
            try fit.fit(x: data.train.features, y: data.trainLabels, data: data, seed: context.seed, progress: context.progress)
        }
        let elapsed = clock.now - started
        let fitSeconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let evaluation = try fit.evaluate(fitted, x: data.test.features, y: data.testLabels, data: data)
        var metrics = evaluation.metrics
        var metricsJSON: [String: JSONValue] = [:]
        var crossValidation: JSONValue?
        if let folds = options.folds {
            let summary = try ModelFoldRule.summarize(context, model: name, folds: folds)
            for (metric, value) in summary.metrics { metrics.values[metric] = value }
            crossValidation = .object(["folds": .number(folds), "fold_metrics": .array(summary.perFold)])
        }
        for (name, value) in metrics.sorted { metricsJSON[name] = .number(value) }
        if let confusion = metrics.confusionMatrix {
            metricsJSON["confusion_matrix"] = .array(confusion.rows.map { .array($0.map { .number($0) }) })
        }
        var fairnessJSON: JSONValue?
        if !fairness.isEmpty {
            guard task == .classification, !data.isMulticlass else {
                throw RuleFailure("\(fairness.columns[0].location): 'fairness' applies to binary classifiers; this model is \(kind) "
                                  + "(the label '\(data.transform.label.column)')")
            }
            let groupings = try fairness.groups(context, features: features.reference, data: data)
            let (json, worst) = try ModelFairness.evaluate(groupings, labels: data.testLabels, scores: evaluation.scores, threshold: fitted.threshold)
            fairnessJSON = json
            for (metric, value) in worst {
                metrics.values[metric] = value
                metricsJSON[metric] = .number(value)
            }
        }
        if let report = ModelGate.report(gates, metrics: metrics, testRows: data.test.features.rows) {
            throw RuleFailure(report)
        }
        var metricsFile: [String: JSONValue] = [
            "task": .string(task.rawValue),
            "test_rows": .number(data.test.features.rows),
            "train_rows": .number(data.train.features.rows),
            "metrics": .object(metricsJSON),
            "gates": .array(gates.map { $0.json(value: metrics[$0.metric]) }),
        ]
        if data.isMulticlass { metricsFile["classes"] = .array(data.classes.map { .string($0) }) }
        if let threshold = fitted.threshold { metricsFile["threshold"] = .number(threshold) }
        if let crossValidation { metricsFile["cv"] = crossValidation }
        if let fairnessJSON { metricsFile["fairness"] = fairnessJSON }
        let lineage = try lineage(context, upstream: data.upstream)
        let thresholdMethod: String? = switch options.threshold {
        case .maxF1?: "max_f1"
        case .fixed?: "fixed"
        case nil: nil
        }
        let document = try ModelArtifact.document(
            algorithm: algorithm, hyperparameters: resolvedHyperparameters + options.summary, task: task, model: fitted.model,
            transform: data.transform, transformJSON: data.transformJSON, metrics: .object(metricsJSON), lineage: lineage,
            decisionThreshold: fitted.threshold, thresholdMethod: thresholdMethod)
        let artifact = ModelArtifact(task: task, model: fitted.model, transform: data.transform,
                                     decisionThreshold: fitted.threshold, thresholdMethod: thresholdMethod)
        var plots = ModelPlots(target: context.target.description, rows: data.test.features.rows)
        do {
            switch task {
            case .classification where data.isMulticlass:
                if let probabilities = evaluation.probabilities {
                    try plots.multiclass(labels: data.testLabels, probabilities: probabilities, metrics: metrics, classes: data.classes)
                }
            case .classification:
                try plots.classification(labels: data.testLabels, scores: evaluation.scores, metrics: metrics, classes: artifact.classes,
                                         threshold: artifact.threshold)
            case .regression:
                plots.regression(targets: data.testLabels, predictions: evaluation.scores)
            }
        } catch let error as TrainingError {
            throw RuleFailure("\(algorithm): plots: \(error.description)")
        }
        if let importance = FeatureImportance.of(fitted.model, splitGain: fitted.splitGain, x: data.train.features) {
            plots.featureImportance(importance, transform: data.transform)
        }
        let output = URL(fileURLWithPath: context.workspace).appendingPathComponent(try context.outputDirectory())
        try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
        try plots.write(to: output.appendingPathComponent(ModelPlots.directory))
        try AtomicFile.write(CanonicalJSON.serialize(.object(metricsFile)), to: output.appendingPathComponent("metrics.json"))
        try AtomicFile.write(CanonicalJSON.serialize(document), to: output.appendingPathComponent("model.json"))
        if writesONNX {
            do {
                try AtomicFile.write(ModelONNX.bytes(of: artifact, graphName: context.target.description), to: output.appendingPathComponent(ModelONNX.fileName))
            } catch let error as ONNXExportError {
                throw RuleFailure("formats: cannot write \(ModelONNX.fileName): \(error.description)")
            }
        }
        let shown = metrics.sorted.filter { ["auc", "accuracy", "recall", "rmse", "r2", "cv_auc", "cv_accuracy", "cv_r2"].contains($0.name) }
            .map { "\($0.name) \(CanonicalJSON.format(ModelGate.rounded($0.value)))" }
        var facts = ["\(algorithm) on \(data.train.features.rows) rows"]
        if data.isMulticlass { facts.append("\(data.classCount) classes") }
        if case .gradientBoosting(let booster) = fitted.model,
           let planned = resolvedHyperparameters.first(where: { $0.name == "trees" }).flatMap({ Int($0.value) }), booster.iterations < planned {
            facts.append("stopped early: \(booster.iterations) of \(planned) trees kept")
        }
        if let threshold = fitted.threshold { facts.append("threshold \(CanonicalJSON.format(ModelGate.rounded(threshold)))") }
        // The fit time goes to the log only, never into an artifact.
        let fitNote = reused.map { "; \($0)" } ?? " (fit \(String(format: "%.3f", fitSeconds))s)"
        context.output.append(line: "\(facts.joined(separator: ", "))\(fitNote); "
                              + "test (\(data.test.features.rows) rows): \(shown.joined(separator: ", "))")
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
