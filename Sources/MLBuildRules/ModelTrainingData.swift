import Foundation
import MLBuildCore
import MLBuildDatasets
import MLBuildEngine
import MLBuildTraining

/// What a model (and each of its cross-validation folds) trains from: the features target's
/// matrices and transform, with the label's classes resolved.
struct ModelTrainingData {
    var train: FeatureMatrix
    var test: FeatureMatrix
    var trainLabels: [Double]
    var testLabels: [Double]
    var transform: FittedTransform
    /// transform.json as read (embedded in model.json as is).
    var transformJSON: JSONValue
    /// The features target's lineage record.
    var upstream: JSONValue
    var task: TrainingTask
    /// Class names by label value (classification); empty for regression.
    var classes: [String]
    /// The features' output directory these were read from (the fit key hashes its files).
    var directory: URL

    var classCount: Int { classes.count }
    var isMulticlass: Bool { classes.count > 2 }

    /// Reads `features`' outputs from its output directory (`RuleContext.outputDirectory(of:)`)
    /// and resolves the task and classes.
    static func read(_ context: RuleContext, features: TargetReference, task given: TrainingTask?) throws -> ModelTrainingData {
        let directory = URL(fileURLWithPath: context.workspace).appendingPathComponent(try context.outputDirectory(of: features))
        let train: FeatureMatrix, test: FeatureMatrix, transform: FittedTransform, transformJSON: JSONValue, upstream: JSONValue
        do {
            train = try FeatureMatrix.read(from: directory.appendingPathComponent("train.bin"))
            test = try FeatureMatrix.read(from: directory.appendingPathComponent("test.bin"))
            let transformURL = directory.appendingPathComponent("transform.json")
            transform = try FittedTransform.read(from: transformURL)
            transformJSON = try JSONDecoder().decode(JSONValue.self, from: Data(contentsOf: transformURL))
            upstream = try JSONDecoder().decode(JSONValue.self, from: Data(contentsOf: directory.appendingPathComponent(FeaturesLineage.fileName)))
        } catch let error as DatasetError {
            throw RuleFailure("cannot read \(features)'s outputs: \(error.description)")
        }
        guard let trainLabels = train.labels, let testLabels = test.labels else {
            throw RuleFailure("\(features)'s matrices have no labels")
        }
        let task = given ?? (transform.label.classes != nil ? .classification : .regression)
        var classes: [String] = []
        if task == .classification {
            classes = try Self.classes(of: transform.label, labels: trainLabels + testLabels)
        }
        return ModelTrainingData(train: train, test: test, trainLabels: trainLabels, testLabels: testLabels, transform: transform,
                                 transformJSON: transformJSON, upstream: upstream, task: task, classes: classes, directory: directory)
    }

    /// The label's classes: its encoding's names (bool, category, string labels), else — a
    /// numeric label asked to classify — the class numbers 0…K−1, which its values must be.
    static func classes(of label: FittedTransform.LabelEncoding, labels: [Double]) throws -> [String] {
        if let classes = label.classes {
            guard classes.count >= 2 else {
                throw RuleFailure("classification needs at least 2 classes; label '\(label.column)' has \(classes.count) (\(classes.joined(separator: ", ")))")
            }
            return classes
        }
        var largest = 0
        for value in labels {
            guard value >= 0, value == value.rounded(), value < 1e6 else {
                throw RuleFailure("classification of the numeric label '\(label.column)' needs the class numbers 0, 1, …; "
                                  + "it has the value \(CanonicalJSON.format(value)) (declare the column as a category for other values)")
            }
            largest = max(largest, Int(value))
        }
        return ModelArtifact.numberedClasses(max(largest + 1, 2))
    }
}
