import Foundation
import Testing
@testable import MLBuildTraining

@Suite struct LogisticRegressionTests {
    static let separableX = Matrix(rows: 6, columns: 1, values: [-3, -2, -1, 1, 2, 3])
    static let separableY: [Double] = [0, 0, 0, 1, 1, 1]

    @Test func separableDataPerfectAccuracyAndWeightsGrowAsL2Shrinks() throws {
        var previous = 0.0
        for l2 in [10.0, 1, 0.1, 0.01] {
            let model = try LogisticRegression(l2: l2).fit(x: Self.separableX, y: Self.separableY)
            #expect(model.converged)
            let p = try model.predictProbability(matrix: Self.separableX)
            let metrics = try Metrics.classification(labels: Self.separableY, probabilities: p)
            #expect(metrics["accuracy"] == 1)
            #expect(model.coefficients[0] > previous)
            previous = model.coefficients[0]
        }
    }

    /// One binary feature, no penalty: the MLE matches the empirical log-odds per group.
    /// x = 0: one positive in four → b = log(1/3); x = 1: three in four → w = log 3 − log(1/3).
    @Test func unpenalizedBinaryFeatureMatchesEmpiricalLogOdds() throws {
        let x = Matrix(rows: 8, columns: 1, values: [0, 0, 0, 0, 1, 1, 1, 1])
        let y: [Double] = [0, 0, 0, 1, 1, 1, 1, 0]
        let model = try LogisticRegression(l2: 0, tolerance: 1e-12).fit(x: x, y: y)
        #expect(model.converged)
        #expect(abs(model.intercept - log(1.0 / 3)) < 1e-10)
        #expect(abs(model.coefficients[0] - 2 * log(3.0)) < 1e-10)
    }

    @Test func gradientVanishesAtTheOptimum() throws {
        let (x, y) = TestData.logistic(rows: 500, columns: 4, seed: 3)
        let l2 = 2.0
        let model = try LogisticRegression(l2: l2, tolerance: 1e-10).fit(x: x, y: y)
        #expect(model.converged)
        #expect(model.iterations >= 2 && model.iterations <= 10)
        var gradient = [Double](repeating: 0, count: 5)
        for r in 0 ..< x.rows {
            let row = Array(x.values[r * 4 ..< (r + 1) * 4])
            let residual = try model.predictProbability(row: row) - y[r]
            for j in 0 ..< 4 { gradient[j] += residual * row[j] }
            gradient[4] += residual
        }
        for j in 0 ..< 4 { gradient[j] += l2 * model.coefficients[j] }
        for g in gradient { #expect(abs(g) < 1e-7) }
    }

    @Test func iterationBudgetIsReported() throws {
        let (x, y) = TestData.logistic(rows: 200, columns: 3, seed: 5)
        let model = try LogisticRegression(tolerance: 1e-14, maxIterations: 1).fit(x: x, y: y)
        #expect(model.iterations == 1)
        #expect(!model.converged)
    }

    @Test func rowAndMatrixPredictionsAgreeBitForBit() throws {
        let (x, y) = TestData.logistic(rows: 300, columns: 7, seed: 11)
        let model = try LogisticRegression().fit(x: x, y: y)
        let batch = try model.predictProbability(matrix: x)
        for r in 0 ..< x.rows {
            #expect(try model.predictProbability(row: Array(x.values[r * 7 ..< (r + 1) * 7])) == batch[r])
        }
    }

    @Test func labelsMustBeBinary() {
        #expect(throws: TrainingError.invalidLabel(row: 1, value: 2, expected: "0 or 1")) {
            try LogisticRegression().fit(x: Matrix(rows: 2, columns: 1, values: [0, 1]), y: [0, 2])
        }
    }

    @Test func largeProblemIsIdenticalAcrossRuns() throws {
        // 40,000 rows → several chunks run concurrently; the fixed reduction order must make the
        // result bit-identical.
        let (x, y) = TestData.logistic(rows: 40_000, columns: 6, seed: 13)
        let first = try LogisticRegression().fit(x: x, y: y)
        for _ in 0 ..< 3 { #expect(try LogisticRegression().fit(x: x, y: y) == first) }
    }
}
