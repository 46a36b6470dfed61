import Foundation
import Testing
@testable import MLBuildTraining

/// Expected numbers from scikit-learn 1.7.2 (bench/.venv), computed by the calls named beside them.
@Suite struct MulticlassMetricsTests {
    static let labels: [Double] = [0, 1, 2, 2, 1, 0, 2, 1, 0, 2]
    static let probabilities = Matrix(rows: 10, columns: 3, values: [
        0.7, 0.2, 0.1, 0.2, 0.5, 0.3, 0.1, 0.3, 0.6, 0.3, 0.4, 0.3, 0.1, 0.8, 0.1,
        0.4, 0.4, 0.2, 0.2, 0.2, 0.6, 0.5, 0.3, 0.2, 0.6, 0.1, 0.3, 0.0, 0.0, 1.0,
    ])

    func close(_ a: Double?, _ b: Double) -> Bool { a.map { abs($0 - b) < 1e-12 } ?? false }

    @Test func matchesScikitLearn() throws {
        let m = try Metrics.multiclass(labels: Self.labels, probabilities: Self.probabilities)
        #expect(close(m["accuracy"], 0.8))  // accuracy_score(y, P.argmax(1))
        #expect(close(m["precision_macro"], 0.8055555555555555))  // precision_score(..., average="macro")
        #expect(close(m["recall_macro"], 0.8055555555555555))
        #expect(close(m["f1_macro"], 0.7936507936507936))
        #expect(close(m["precision_weighted"], 0.825))  // average="weighted"
        #expect(close(m["recall_weighted"], 0.8))
        #expect(close(m["f1_weighted"], 0.8))
        #expect(close(m["log_loss"], 0.6129678887636887))  // log_loss(y, P, labels=[0, 1, 2]) (a 0 clipped)
        #expect(close(m["auc"], 0.9305555555555557))  // roc_auc_score(y, P, multi_class="ovr", average="macro")
        // confusion_matrix(y, P.argmax(1)); row 5 ties 0.4/0.4 and goes to class 0.
        #expect(m.confusionMatrix?.rows == [[3, 0, 0], [1, 2, 0], [0, 1, 3]])
        #expect(m.sorted.map(\.name) == Metrics.multiclassNames)
    }

    /// Class 2 of 4 is neither true nor predicted: sklearn's macro average leaves it out; the
    /// one-vs-rest AUC is undefined, so `auc` is absent.
    @Test func absentClassFollowsScikitLearnLabels() throws {
        let p = Matrix(rows: 5, columns: 4, values: [
            0.6, 0.2, 0.1, 0.1, 0.1, 0.6, 0.1, 0.2, 0.1, 0.1, 0.1, 0.7, 0.5, 0.1, 0.1, 0.3, 0.2, 0.3, 0.1, 0.4,
        ])
        let m = try Metrics.multiclass(labels: [0, 1, 3, 3, 1], probabilities: p)
        #expect(close(m["f1_macro"], 0.611111111111111))  // f1_score(y, pred, average="macro")
        #expect(close(m["precision_macro"], 0.6666666666666666))
        #expect(close(m["recall_weighted"], 0.6))
        #expect(m["auc"] == nil)
        #expect(m.confusionMatrix?.rows[2] == [0, 0, 0, 0])
    }

    @Test func badInputsNameTheRow() {
        #expect(throws: TrainingError.invalidLabel(row: 1, value: 3, expected: "a class index from 0 to 2")) {
            try Metrics.multiclass(labels: [0, 3], probabilities: Matrix(rows: 2, columns: 3, repeating: 1.0 / 3))
        }
        #expect(throws: TrainingError.invalidLabel(row: 0, value: 0.5, expected: "a class index from 0 to 2")) {
            try Metrics.multiclass(labels: [0.5], probabilities: Matrix(rows: 1, columns: 3, repeating: 1.0 / 3))
        }
        #expect(throws: TrainingError.self) {
            try Metrics.multiclass(labels: [0, 1, 2], probabilities: Matrix(rows: 2, columns: 3, repeating: 1.0 / 3))
        }
    }

    /// FixedThresholdClassifier(threshold=0.35): class 1 iff p >= 0.35.
    @Test func binaryThreshold() throws {
        let labels: [Double] = [0, 0, 1, 1, 1, 0], p = [0.2, 0.35, 0.35, 0.4, 0.9, 0.6]
        let m = try Metrics.classification(labels: labels, probabilities: p, threshold: 0.35)
        #expect(m.confusionMatrix?.rows == [[1, 2], [0, 3]])
        #expect(close(m["accuracy"], 0.6666666666666666))
        #expect(close(m["precision"], 0.6))
        #expect(m["recall"] == 1)
        #expect(m["f1"] == 0.75)
        let plain = try Metrics.classification(labels: labels, probabilities: p)
        #expect(m["auc"] == plain["auc"] && m["log_loss"] == plain["log_loss"])
        #expect(plain.confusionMatrix?.rows == [[2, 1], [2, 1]])
    }

    @Test func confusionMatrixJSON() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let binary = ConfusionMatrix(trueNegatives: 1, falsePositives: 2, falseNegatives: 3, truePositives: 4)
        let binaryJSON = String(decoding: try encoder.encode(binary), as: UTF8.self)
        #expect(binaryJSON == #"{"falseNegatives":3,"falsePositives":2,"trueNegatives":1,"truePositives":4}"#)
        #expect(try JSONDecoder().decode(ConfusionMatrix.self, from: Data(binaryJSON.utf8)) == binary)
        #expect(ConfusionMatrix(rows: [[1, 2], [3, 4]]) == binary)
        let multi = ConfusionMatrix(rows: [[1, 0, 0], [0, 2, 1], [0, 0, 3]])
        let multiJSON = String(decoding: try encoder.encode(multi), as: UTF8.self)
        #expect(multiJSON == #"{"classCount":3,"rows":[[1,0,0],[0,2,1],[0,0,3]]}"#)
        #expect(try JSONDecoder().decode(ConfusionMatrix.self, from: Data(multiJSON.utf8)) == multi)
        #expect(multi.classCount == 3)
    }

    /// compute_class_weight("balanced", classes=..., y=...).
    @Test func balancedClassWeights() {
        #expect(ClassWeights.balanced(labels: Self.labels, classCount: 3) == [1.1111111111111112, 1.1111111111111112, 0.8333333333333334])
        // Classes 0, 1, 3 present of 4: n_classes = 3 as sklearn sees it; class 2 weighs 0.
        #expect(ClassWeights.balanced(labels: [0, 1, 3, 3, 1], classCount: 4) == [1.6666666666666667, 0.8333333333333334, 0, 0.8333333333333334])
        #expect(ClassWeights.sampleWeights(labels: [2, 0, 1], classWeights: [0.5, 1, 3]) == [3, 0.5, 1])
    }
}
