import Foundation
import MLBuildDatasets
@testable import MLBuildONNX
import MLBuildTestSupport
import MLBuildTraining
import Testing

/// Three-class graphs (softmax over K raw scores, iteration-major trees: tree i adds to class
/// i % K) run in onnxruntime and compared with the same arithmetic done here in double, on raw
/// rows mapped by `RawRowMapper` (the code `mlbuild predict` maps rows with).
@Suite("ONNX multi-class graphs in onnxruntime")
struct ONNXMultiClassTests {
    static let classes = ["setosa", "versicolor", "virginica"]

    /// Raw rows of ONNXGraphTests' transform: nulls, an unknown city, bucket edges.
    static let rows = """
    id,x,t,b,flag,city,y
    A,1.5,0,0,yes,lyon,true
    B,,3,10,,paris,false
    C,-4.25,2,-1,no,,true
    D,7,12.5,25,yes,tokyo,false
    E,0.3,1,9,no,nice,true
    F,NA,0.5,10,NA,NA,false
    """

    static let coefficients: [Double] = [
        0.5, -1.25, 0.1, 0.2, 0.3, 0.75, -0.5, 0.25,
        -0.75, 0.5, 0.0, -0.4, 0.6, 0.1, 0.9, -0.3,
        0.25, 0.75, -0.2, 0.2, -0.9, -0.85, -0.4, 0.05,
    ]
    static let intercepts: [Double] = [0.1, -0.3, 0.2]

    static let baselines: [Double] = [-0.1, 0.2, 0.05]
    /// Two iterations × three classes; tree i splits on feature i % 8.
    static let trees: [RegressionTree] = (0 ..< 6).map { i in
        RegressionTree(nodes: [
            TreeNode(feature: (i * 3) % 8, threshold: [0.1 + 0.2, 0.5, 0.25, 0.5, -0.7, 0.5][i], missingGoesLeft: false, left: 1, right: 2, value: 0),
            .leaf(value: Double(i) * 0.1 - 0.2), .leaf(value: 0.3 - Double(i) * 0.05),
        ])
    }

    /// The most probable class, the lowest index on ties.
    static func argmax(_ p: [Double]) -> Int {
        var best = 0
        for k in p.indices where p[k] > p[best] { best = k }
        return best
    }

    static func softmax(_ z: [Double]) -> [Double] {
        let m = z.max() ?? 0
        let e = z.map { Foundation.exp($0 - m) }
        let s = e.reduce(0, +)
        return e.map { $0 / s }
    }

    /// The features of `rows`, as predict maps them.
    static func features() throws -> Matrix {
        let dir = try TemporaryDirectory(prefix: "mlbuild-onnx")
        try dir.write("rows.csv", rows + "\n")
        let mapped = try RawRowMapper(transform: ONNXGraphTests.transform()).map(csv: dir.url("rows.csv"))
        try #require(mapped.rowErrors.isEmpty, "\(mapped.rowErrors)")
        return mapped.matrix
    }

    /// Runs `scores` as a 3-class model in onnxruntime on `rows`.
    static func run(_ scores: Scores) throws -> (labels: [String], probabilities: [[Double]]) {
        let python = try ONNXRuntimeTests.python()
        let proto = try ONNXExporter.modelProto(
            scores: scores, task: .classification, algorithm: "test", transform: ONNXGraphTests.transform(), classes: classes,
            threshold: nil, graphName: "model:iris", producerVersion: "1")
        let dir = try TemporaryDirectory(prefix: "mlbuild-onnx")
        try dir.write("model.onnx", try proto.serializedData())
        try dir.write("rows.csv", rows + "\n")
        // What run_onnx.py reads of a model.json: the column types and the cell options.
        try dir.write("model.json", """
            {"transform": {"options": {"null_values": ["NA"]}},
             "input": {"columns": [{"name": "x", "type": "float"}, {"name": "t", "type": "float"}, {"name": "b", "type": "int"},
                                   {"name": "flag", "type": "bool"}, {"name": "city", "type": "string"}]}}
            """)
        let run = try ProcessRunner.run(python, [ONNXRuntimeTests.runner, "model.onnx", "model.json", "rows.csv"], in: dir.path)
        try #require(run.status == 0, "\(run.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        let outputs = try #require(json["outputs"] as? [String: Any])
        return (try #require(outputs["label"] as? [String]), try #require(outputs["probabilities"] as? [[Double]]))
    }

    static func check(_ result: (labels: [String], probabilities: [[Double]]), expected: [[Double]]) {
        #expect(result.probabilities.count == expected.count)
        for (row, (got, want)) in zip(result.probabilities, expected).enumerated() {
            for k in 0 ..< 3 { #expect(abs(got[k] - want[k]) <= 1e-6, "row \(row) class \(k): \(got[k]) vs \(want[k])") }
            #expect(result.labels[row] == classes[argmax(want)], "row \(row)")
        }
    }

    @Test func multinomialLinearScoresAreSoftmaxedPerClass() throws {
        let x = try Self.features()
        var expected: [[Double]] = []
        for r in 0 ..< x.rows {
            var z: [Double] = []
            for k in 0 ..< 3 {
                var sum: Double = Self.intercepts[k]
                for j in 0 ..< 8 { sum += x.values[r * 8 + j] * Self.coefficients[k * 8 + j] }
                z.append(sum)
            }
            expected.append(Self.softmax(z))
        }
        // The rows do not all pick the same class (the test would not see a wrong column order).
        #expect(Set(expected.map(Self.argmax)).count >= 2)
        let result = try Self.run(Scores(kind: .linear(coefficients: Self.coefficients, intercepts: Self.intercepts), classCount: 3))
        Self.check(result, expected: expected)
    }

    @Test func treesAddToClassIModuloKFromTheirBaselines() throws {
        let x = try Self.features()
        let expected = (0 ..< x.rows).map { r -> [Double] in
            let row = Array(x.values[r * 8 ..< (r + 1) * 8])
            return Self.softmax((0 ..< 3).map { k in
                // Class k's trees as a one-class ensemble: baseline k + its trees.
                let own = Self.trees.enumerated().filter { $0.offset % 3 == k }.map(\.element)
                let model = GradientBoostingModel(task: .regression, featureCount: 8, baseline: Self.baselines[k], trees: own)
                return (try? model.predict(row: row)) ?? .nan
            })
        }
        #expect(Set(expected.map(Self.argmax)).count >= 2)
        let result = try Self.run(Scores(kind: .trees(Self.trees, baselines: Self.baselines), classCount: 3))
        Self.check(result, expected: expected)
    }
}
