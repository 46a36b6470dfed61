import Foundation
import Testing
@testable import MLBuildTraining

/// What a model must satisfy before it scores: every number a prediction reads is finite (NaN
/// coefficients would print a confident class for every row), named by its field.
@Suite struct ModelValidationTests {
    @Test func fittedModelsHaveNoProblems() throws {
        let lr = TrainedModel.logisticRegression(.init(coefficients: [0.5, -1], intercept: 0.25, iterations: 3, converged: true))
        let tree = RegressionTree(nodes: [
            TreeNode(feature: 1, threshold: .greatestFiniteMagnitude, missingGoesLeft: true, left: 1, right: 2, value: 0),
            .leaf(value: -0.5), .leaf(value: 0.5),
        ])
        let gb = TrainedModel.gradientBoosting(.init(task: .classification, featureCount: 2, baseline: 0.1, trees: [tree]))
        #expect(lr.problems() == [])
        #expect(gb.problems() == [])
    }

    @Test func nonFiniteNumbersAreNamedByField() throws {
        #expect(TrainedModel.logisticRegression(.init(coefficients: [0.5, .nan, .infinity], intercept: 0, iterations: 1, converged: true)).problems()
            == ["model.coefficients[1]: not a finite number"])
        #expect(TrainedModel.linearRegression(.init(coefficients: [1], intercept: -.infinity)).problems()
            == ["model.intercept: not a finite number"])
        let tree = RegressionTree(nodes: [
            TreeNode(feature: 0, threshold: .infinity, missingGoesLeft: false, left: 1, right: 2, value: 0),
            .leaf(value: 1), .leaf(value: .nan),
        ])
        #expect(TrainedModel.gradientBoosting(.init(task: .regression, featureCount: 1, baseline: .nan, trees: [tree])).problems() == [
            "model.baseline: not a finite number",
            "model.trees[0].nodes[0].threshold: not a finite number",
            "model.trees[0].nodes[2].value: not a finite number",
        ])
    }
}
