import Testing
@testable import MLBuildTraining

@Suite struct LinearRegressionTests {
    /// x = [0, 1, 2], y = [1, 3, 2], alpha = 1: centered x = [−1, 0, 1], centered y = [−1, 1, 0],
    /// w = Σxy / (Σx² + alpha) = 1 / 3, b = ȳ − x̄·w = 2 − 1/3 = 5/3.
    @Test func threePointRidgeByHand() throws {
        let model = try LinearRegression(alpha: 1).fit(x: Matrix(rows: 3, columns: 1, values: [0, 1, 2]), y: [1, 3, 2])
        #expect(abs(model.coefficients[0] - 1.0 / 3) < 1e-15)
        #expect(abs(model.intercept - 5.0 / 3) < 1e-15)
        #expect(abs(try model.predict(row: [3]) - (5.0 / 3 + 1)) < 1e-14)
    }

    @Test func recoversLinearTargetWithTinyAlpha() throws {
        var rng = SplitMix64(seed: 7)
        var values = [Double](), y = [Double]()
        for _ in 0 ..< 50 {
            let x1 = rng.nextUnit() * 10 - 5, x2 = rng.nextUnit() * 4
            values += [x1, x2]
            y.append(3 * x1 - 2 * x2 + 5)
        }
        let model = try LinearRegression(alpha: 1e-10).fit(x: Matrix(rows: 50, columns: 2, values: values), y: y)
        #expect(abs(model.coefficients[0] - 3) < 1e-9)
        #expect(abs(model.coefficients[1] + 2) < 1e-9)
        #expect(abs(model.intercept - 5) < 1e-9)
    }

    @Test func alphaShrinksCoefficients() throws {
        let x = Matrix(rows: 4, columns: 1, values: [1, 2, 3, 4])
        let y = [2.0, 4, 6, 8]
        let small = try LinearRegression(alpha: 0.1).fit(x: x, y: y).coefficients[0]
        let large = try LinearRegression(alpha: 10).fit(x: x, y: y).coefficients[0]
        // Σxc² = 5, Σxc·yc = 10: w = 10 / (5 + alpha).
        #expect(abs(small - 10 / 5.1) < 1e-14)
        #expect(abs(large - 10 / 15.0) < 1e-14)
    }

    @Test func singularWithoutPenaltyIsAnError() {
        let x = Matrix(rows: 3, columns: 2, values: [1, 2, 2, 4, 3, 6])  // column 2 = 2 × column 1
        #expect(throws: TrainingError.self) { try LinearRegression(alpha: 0).fit(x: x, y: [1, 2, 3]) }
    }

    @Test func nonFiniteFeatureIsRejectedWithPosition() {
        let x = Matrix(rows: 2, columns: 2, values: [1, 2, 3, .nan])
        #expect(throws: TrainingError.nonFiniteFeature(row: 1, column: 1)) {
            try LinearRegression().fit(x: x, y: [1, 2])
        }
    }
}
