import Foundation
import MLBuildCore
import MLBuildDatasets
import MLBuildEngine
import MLBuildTraining

/// `cv:NAME.fold-K` — fold K of a model's `cv = N` cross-validation, an auxiliary target of
/// `model:NAME` (`AuxiliaryTarget`): the model's settings fitted on the training rows outside
/// fold K and scored on fold K's rows. The folds are `StratifiedFolds(train labels, N, seed)`,
/// so every fold of a run sees the same split; its key holds the model's values plus the fold
/// and the fold count, so a changed count reuses no fold.
///
/// Writes `build/cv/NAME/fold-K/metrics.json`:
///     {"fold": K, "folds": N, "task", "train_rows", "test_rows", "metrics": {NAME: number}}
/// which `model:NAME` averages into `cv_METRIC` and `cv_METRIC_std`.
public struct ModelFoldRule: Rule {
    public static let kind = "cv"
    public static let version = 1
    /// The folds are drawn with the seed, and each fit uses it as the model's does.
    public static let usesSeed = true
    public static let summary = "one fold of a model's cross-validation (made by a model's cv = N)"
    public static var keys: [RuleKey] { ModelRule.keys }

    let model: String
    let fold: Int
    let folds: Int
    let features: LocatedReference
    let task: TrainingTask?
    let fit: ModelFit

    init(model: String, fold: Int, folds: Int, features: LocatedReference, task: TrainingTask?, fit: ModelFit) {
        self.model = model
        self.fold = fold
        self.folds = folds
        self.features = features
        self.task = task
        self.fit = fit
    }

    /// Never made from an Mlfile target (no Mlfile declares `cv` targets): a model makes its folds.
    public init(configuration: TargetConfiguration, diagnostics: inout DiagnosticCollector) {
        let parent = ModelRule(configuration: configuration, diagnostics: &diagnostics)
        self.init(model: parent.name, fold: 1, folds: parent.options.folds ?? 2, features: parent.features, task: parent.task,
                  fit: parent.fitSettings)
    }

    static func reference(model: String, fold: Int) -> TargetReference {
        TargetReference(kind: kind, name: "\(model).fold-\(fold)")
    }

    /// `build/cv/NAME/fold-K`.
    static func directory(model: String, fold: Int) -> String { "build/cv/\(model)/fold-\(fold)" }

    public var implicitDependencies: [LocatedReference] { features.reference.name.isEmpty ? [] : [features] }
    public var inputs: [InputPattern] { [] }
    public var outputs: [String] { [Self.directory(model: model, fold: fold)] }

    /// On the build's work budget, not Swift's cooperative pool (see WorkBudget).
    public func run(_ context: RuleContext) async throws {
        try await context.budget.run { try self.runOnBudget(context) }
    }

    func runOnBudget(_ context: RuleContext) throws {
        let data = try ModelTrainingData.read(context, features: features.reference, task: task)
        let split: StratifiedFolds
        do {
            split = try StratifiedFolds(labels: data.task == .classification ? data.trainLabels : [Double](repeating: 0, count: data.trainLabels.count),
                                        classCount: data.task == .classification ? data.classCount : 1, folds: folds, seed: context.seed)
        } catch let error as TrainingError {
            throw RuleFailure("cv = \(folds): \(error.description)")
        }
        let trainRows = split.trainIndices(fold: fold - 1), testRows = split.testIndices[fold - 1]
        let x = data.train.features
        let (fitted, reused) = try ModelFitCache.fit(fit, data: data, context: context, part: "fold \(fold) of \(folds)") {
            try fit.fit(x: x.selecting(rows: trainRows), y: trainRows.map { data.trainLabels[$0] }, data: data, seed: context.seed, progress: context.progress)
        }
        let evaluation = try fit.evaluate(fitted, x: x.selecting(rows: testRows), y: testRows.map { data.trainLabels[$0] }, data: data)
        var metrics: [String: JSONValue] = [:]
        for (name, value) in evaluation.metrics.sorted { metrics[name] = .number(value) }
        let document: JSONValue = .object([
            "fold": .number(fold), "folds": .number(folds), "task": .string(data.task.rawValue),
            "train_rows": .number(trainRows.count), "test_rows": .number(testRows.count), "metrics": .object(metrics),
        ])
        let output = URL(fileURLWithPath: context.workspace).appendingPathComponent(try context.outputDirectory())
        try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
        try AtomicFile.write(CanonicalJSON.serialize(document), to: output.appendingPathComponent("metrics.json"))
        let shown = evaluation.metrics.sorted.filter { ["auc", "accuracy", "rmse", "r2"].contains($0.name) }
            .map { "\($0.name) \(CanonicalJSON.format(ModelGate.rounded($0.value)))" }
        context.output.append(line: "fold \(fold) of \(folds): trained on \(trainRows.count) rows, scored \(testRows.count): \(shown.joined(separator: ", "))"
                              + (reused.map { "; \($0)" } ?? ""))
    }

    /// Mean and population standard deviation (numpy's `std`, as scikit-learn's reports use) of
    /// each metric every fold has, named `cv_METRIC` and `cv_METRIC_std`; the folds' own
    /// numbers in fold order. The folds are dependencies of `context`'s target (a model's).
    static func summarize(_ context: RuleContext, model: String, folds: Int) throws -> (metrics: [(String, Double)], perFold: [JSONValue]) {
        var documents: [[String: Double]] = []
        var perFold: [JSONValue] = []
        for fold in 1 ... folds {
            let directory = try context.outputDirectory(of: reference(model: model, fold: fold))
            let path = URL(fileURLWithPath: context.workspace).appendingPathComponent(directory).appendingPathComponent("metrics.json")
            guard let data = try? Data(contentsOf: path), let json = try? JSONDecoder().decode(JSONValue.self, from: data),
                  case .object(let members) = json, case .object(let metrics)? = members["metrics"] else {
                throw RuleFailure("cannot read fold \(fold)'s metrics (\(directory)/metrics.json)")
            }
            var values: [String: Double] = [:]
            for (name, value) in metrics { if case .number(let x) = value { values[name] = x } }
            documents.append(values)
            perFold.append(.object(metrics))
        }
        var out: [(String, Double)] = []
        let names = documents.first.map { Array($0.keys).sorted() } ?? []
        for name in names {
            let values = documents.compactMap { $0[name] }
            guard values.count == folds else { continue }  // e.g. auc of a fold holding one class
            let mean = values.reduce(0, +) / Double(folds)
            let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(folds)
            out.append(("cv_\(name)", mean))
            out.append(("cv_\(name)_std", variance.squareRoot()))
        }
        return (out, perFold)
    }
}
