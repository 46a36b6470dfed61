import Foundation
import MLBuildTestSupport
import Testing

/// `mlbuild predict` on a regression model: the output columns are the id and `prediction`
/// (no probability), one row per input row in input order, and each value is model.json's
/// intercept plus its coefficients applied to the row (docs/ml.md).
@Suite("predict with a regression model")
struct RegressionPredictTests {
    /// y = 2·x1 − 3·x2 + 5 exactly, on 40 rows.
    static func csv(rows: Range<Int>) -> String {
        var out = "id,x1,x2,y\n"
        for r in rows {
            let x1 = Double(r % 7) + 0.5
            let x2 = (r * 3) % 11
            out += "R\(r),\(x1),\(x2),\(2 * x1 - 3 * Double(x2) + 5)\n"
        }
        return out
    }

    static let mlfile = """
    seed = 7
    dataset points
        source = data/points.csv
        schema = id: string id unique, x1: float, x2: int, y: float
    features points
        dataset = dataset:points
        label = y
        split = 0.75
    model line
        features = features:points
        algorithm = linear_regression
        alpha = 0
    """

    @Test func predictionsAreTheCoefficientsAppliedToEachRow() throws {
        let ws = try MLBuildWorkspace(mlfile: Self.mlfile)
        try ws.write("data/points.csv", Self.csv(rows: 0..<40))
        let build = try ws.build(["model:line"])
        #expect(build.result.status == 0, "\(build.result.output)")
        let model = try MLFixtures.json(ws, "build/model/line/model.json")
        #expect(model["task"] as? String == "regression")
        #expect((model["output"] as? [String: Any])?["columns"] as? [String] == ["id", "prediction"])
        // JSONDecoder, not JSONSerialization: the latter's doubles are not always the nearest.
        struct Weights: Decodable {
            struct Inner: Decodable { var model: Linear }
            struct Linear: Decodable { var coefficients: [Double]; var intercept: Double }
            var model: Inner
        }
        let weights = try JSONDecoder().decode(Weights.self, from: MLFixtures.bytes(ws, "build/model/line/model.json")).model.model
        let (coefficients, intercept) = (weights.coefficients, weights.intercept)
        let names = try #require((model["transform"] as? [String: Any])?["feature_names"] as? [String])
        #expect(names == ["x1", "x2"])
        #expect(coefficients.count == 2)

        // New rows, in an order of their own, without the label.
        let rows: [(id: String, x1: Double, x2: Double)] = [("N3", 10.25, 4), ("N1", -2, 0), ("N2", 0, 7), ("N4", 3.5, -1)]
        try ws.write("new.csv", "id,x1,x2\n" + rows.map { "\($0.id),\($0.x1),\(Int($0.x2))" }.joined(separator: "\n") + "\n")
        let run = try ws.run(["predict", "model:line", "--input", "new.csv"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.isEmpty)
        let lines = run.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines.first == "id,prediction")
        #expect(lines.count == rows.count + 2, "a header, one line per row, and the final newline")
        #expect(lines.last == "")
        for (row, line) in zip(rows, lines.dropFirst()) {
            let fields = line.split(separator: ",").map(String.init)
            #expect(fields.count == 2, "\(line)")
            #expect(fields.first == row.id)
            let value = try #require(fields.last.flatMap(Double.init), "\(line)")
            // The model's own order of operations (linearScore: the sum of products, then the
            // intercept), so the comparison can be exact.
            #expect(value == intercept + (row.x1 * coefficients[0] + row.x2 * coefficients[1]), "\(line)")
            // And the line the data came from (no noise, no penalty): close to exact.
            #expect(abs(value - (2 * row.x1 - 3 * row.x2 + 5)) < 1e-9, "\(line)")
        }
        // The test split's error is zero up to rounding.
        let rmse = try #require(try MLFixtures.metrics(ws, model: "line").metrics["rmse"]?.number)
        #expect(rmse < 1e-9)
    }
}
