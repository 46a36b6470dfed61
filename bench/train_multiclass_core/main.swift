// mlbuild's side of bench/train_multiclass: fits the training core on train.csv and scores
// test.csv (last column = class index, the rest standardized features, written by
// bench/train_multiclass.py), printing one JSON object. Built by the bench script in a throwaway
// package over Sources/MLBuildTraining, MLBuildBasics and CPrefetch.
//
//     train-multiclass-core DIR
import Foundation
import MLBuildBasics
import MLBuildTraining

func readCSV(_ path: String) throws -> (Matrix, [Double]) {
    let text = try String(contentsOfFile: path, encoding: .utf8)
    var values = [Double](), labels = [Double]()
    var columns = 0
    for line in text.split(separator: "\n").dropFirst() where !line.isEmpty {
        let cells = line.split(separator: ",").map { Double($0) ?? .nan }
        columns = cells.count - 1
        values += cells.dropLast()
        labels.append(cells[columns])
    }
    return (Matrix(rows: labels.count, columns: columns, values: values), labels)
}

func seconds(_ body: () throws -> TrainedModel) rethrows -> (TrainedModel, Double) {
    let start = DispatchTime.now().uptimeNanoseconds
    let model = try body()
    return (model, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
}

let dir = CommandLine.arguments[1]
let (trainX, trainY) = try readCSV(dir + "/train.csv")
let (testX, testY) = try readCSV(dir + "/test.csv")
let classCount = Int(trainY.max() ?? 1) + 1
var out: [String: Double] = [:]
for algorithm in ["logistic_regression", "gradient_boosting"] {
    let hyper = algorithm == "logistic_regression" ? ["tolerance": "1e-8", "max_iterations": "200"] : [:]
    let (model, fitSeconds) = try seconds {
        try ModelTrainer.trainRecordingGain(
            algorithm: algorithm, hyperparameters: hyper, task: .classification, seed: 0, x: trainX, y: trainY,
            classCount: classCount, sampleWeights: nil).model
    }
    let metrics = try Metrics.multiclass(labels: testY, probabilities: model.predictProbabilities(matrix: testX))
    out[algorithm + "_log_loss"] = metrics["log_loss"]
    out[algorithm + "_accuracy"] = metrics["accuracy"]
    out[algorithm + "_seconds"] = fitSeconds
}
let json = try JSONSerialization.data(withJSONObject: out, options: [.sortedKeys])
print(String(decoding: json, as: UTF8.self))
