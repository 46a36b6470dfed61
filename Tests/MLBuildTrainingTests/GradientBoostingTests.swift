import Foundation
import Testing
@testable import MLBuildTraining

@Suite struct GradientBoostingTests {
    static func encode(_ model: TrainedModel) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return try encoder.encode(model)
    }

    /// y = 1 for x < 100, 5 from 100 on. One stump with learning rate 1 fits it exactly: baseline
    /// 3, threshold at the midpoint 99.5, leaves −2 and +2.
    @Test func regressionStumpFitsStepFunctionExactly() throws {
        let x = Matrix(rows: 200, columns: 1, values: (0 ..< 200).map(Double.init))
        let y = (0 ..< 200).map { $0 < 100 ? 1.0 : 5.0 }
        let model = try GradientBoosting(trees: 1, learningRate: 1, maxLeafNodes: 2, minSamplesLeaf: 1)
            .fit(x: x, y: y, task: .regression)
        #expect(model.baseline == 3)
        let nodes = model.trees[0].nodes
        #expect(nodes.count == 3)
        #expect(nodes[0].feature == 0 && nodes[0].threshold == 99.5)
        #expect(nodes[nodes[0].left].value == -2 && nodes[nodes[0].right].value == 2)
        #expect(try model.predict(matrix: x) == y)
    }

    @Test func classifierSeparatesStepFunction() throws {
        let x = Matrix(rows: 400, columns: 2, values: (0 ..< 400).flatMap { [Double($0 % 200), Double($0 % 7)] })
        let y = (0 ..< 400).map { $0 % 200 >= 120 ? 1.0 : 0.0 }
        let model = try GradientBoosting(trees: 20).fit(x: x, y: y, task: .classification)
        // Baseline is the log-odds of the prior 160/400.
        #expect(abs(model.baseline - log(0.4 / 0.6)) < 1e-15)
        let p = try model.predict(matrix: x)
        let metrics = try Metrics.classification(labels: y, probabilities: p)
        #expect(metrics["accuracy"] == 1)
        #expect(metrics["auc"] == 1)
        #expect(model.trees.allSatisfy { $0.nodes[0].feature == 0 })
    }

    /// Small batches walk the nested trees, large ones a flattened forest: every row scores the
    /// same either way, bit for bit, missing values included.
    @Test func smallAndLargeBatchesScoreEveryRowAlike() throws {
        var rng = SplitMix64(seed: 11)
        let rows = 300
        var values = [Double](), y = [Double]()
        for i in 0 ..< rows {
            let a = Double(rng.next() % 1000) / 7, b = Double(rng.next() % 100)
            values += [i % 13 == 0 ? .nan : a, b]
            y.append(a + b > 90 ? 1 : 0)
        }
        let x = Matrix(rows: rows, columns: 2, values: values)
        let model = try GradientBoosting(trees: 30, maxLeafNodes: 15).fit(x: x, y: y, task: .classification)
        let whole = try model.predict(matrix: x)
        #expect(rows >= GradientBoostingModel.flattenFromRows)
        for r in 0 ..< rows {
            let one = try model.predict(matrix: Matrix(rows: 1, columns: 2, values: Array(values[2 * r ..< 2 * r + 2])))
            #expect(one[0].bitPattern == whole[r].bitPattern, "row \(r)")
            #expect(try model.predict(row: Array(values[2 * r ..< 2 * r + 2])).bitPattern == whole[r].bitPattern)
        }
        let few = GradientBoostingModel.flattenFromRows - 1
        let head = try model.predict(matrix: Matrix(rows: few, columns: 2, values: Array(values[0 ..< 2 * few])))
        #expect(head.map(\.bitPattern) == whole[0 ..< few].map(\.bitPattern))
    }

    @Test func learnsFromMissingValues() throws {
        // Feature 0 is NaN exactly when the label is 1; feature 1 is noise.
        var rng = SplitMix64(seed: 4)
        var values = [Double](), y = [Double]()
        for i in 0 ..< 300 {
            let label = Double(i % 2)
            values += [label == 1 ? .nan : rng.nextUnit(), rng.nextUnit()]
            y.append(label)
        }
        let x = Matrix(rows: 300, columns: 2, values: values)
        let model = try GradientBoosting(trees: 10).fit(x: x, y: y, task: .classification)
        let first = model.trees[0].nodes[0]
        #expect(first.feature == 0)
        // Every non-missing value goes left, the missing ones right: a "split on missing".
        #expect(first.threshold == .greatestFiniteMagnitude && !first.missingGoesLeft)
        #expect(try model.predict(row: [.nan, 0.5]) > 0.5)
        #expect(try model.predict(row: [0.5, 0.5]) < 0.5)
    }

    @Test func maxDepthOneGivesStumps() throws {
        let (x, y) = TestData.logistic(rows: 400, columns: 3, seed: 9)
        let model = try GradientBoosting(trees: 5, maxDepth: 1).fit(x: x, y: y, task: .classification)
        #expect(model.trees.allSatisfy { $0.nodes.count == 3 })
    }

    @Test func leafCountAndMinSamplesLeafAreRespected() throws {
        let (x, y) = TestData.logistic(rows: 2_000, columns: 5, seed: 21)
        let model = try GradientBoosting(trees: 3, maxLeafNodes: 7, minSamplesLeaf: 50).fit(x: x, y: y, task: .classification)
        for tree in model.trees {
            #expect(tree.nodes.filter(\.isLeaf).count <= 7)
        }
        // Count training rows per leaf of the first tree.
        var counts = [Int: Int]()
        let tree = model.trees[0]
        for r in 0 ..< x.rows {
            var i = 0
            while !tree.nodes[i].isLeaf {
                let node = tree.nodes[i]
                i = x[r, node.feature] <= node.threshold ? node.left : node.right
            }
            counts[i, default: 0] += 1
        }
        #expect(counts.values.allSatisfy { $0 >= 50 })
    }

    @Test func sameSeedSameBytesAndOtherSeedWithSubsampleDiffers() throws {
        let (x, y) = TestData.logistic(rows: 3_000, columns: 4, seed: 17)
        func fit(_ seed: UInt64, _ subsample: String) throws -> Data {
            try Self.encode(ModelTrainer.train(
                algorithm: "gradient_boosting", hyperparameters: ["trees": "10", "subsample": subsample],
                task: .classification, seed: seed, x: x, y: y))
        }
        #expect(try fit(1, "1.0") == fit(1, "1.0"))
        #expect(try fit(1, "0.5") == fit(1, "0.5"))
        #expect(try fit(1, "0.5") != fit(2, "0.5"))
    }

    @Test func largeFitIsIdenticalAcrossRuns() throws {
        // Big enough for chunked row-wise histograms and parallel partitions.
        let (x, y) = TestData.logistic(rows: 150_000, columns: 4, seed: 23)
        let booster = GradientBoosting(trees: 3)
        let first = try booster.fit(x: x, y: y, task: .classification)
        #expect(try booster.fit(x: x, y: y, task: .classification) == first)
    }

    @Test func binningUsesMidpointsOrQuantiles() {
        #expect(FeatureBinner.thresholds(sortedColumn: [1, 1, 2, 4], maxBins: 255) == [1.5, 3])
        // More distinct values than bins: percentiles 25/50/75 by numpy's averaged_inverted_cdf
        // (values checked against numpy), repeated thresholds dropped.
        #expect(FeatureBinner.thresholds(sortedColumn: (0 ... 10).map(Double.init), maxBins: 4) == [2, 5, 8])
        #expect(FeatureBinner.thresholds(sortedColumn: (0 ... 11).map(Double.init), maxBins: 4) == [2.5, 5.5, 8.5])
        #expect(FeatureBinner.thresholds(sortedColumn: [0, 0, 0, 0, 0, 1, 1, 2, 3, 4, 5], maxBins: 4) == [0, 1, 3])
        #expect(FeatureBinner.thresholds(sortedColumn: [0, 0, 0, 0, 0, 0, 0, 0, 0, 9], maxBins: 2) == [4.5])
        #expect(FeatureBinner.thresholds(sortedColumn: [7, 7, 7], maxBins: 255) == [])
        let binner = FeatureBinner(maxBins: 4, thresholds: [[2.5, 5, 7.5]])
        #expect([2.5, 2.6, 7.5, 100, .nan].map { binner.bin($0, feature: 0) } == [0, 1, 2, 3, 4])
    }

    @Test func transformBinsEveryValueLikeTheScalarSearch() {
        // 1,037 rows: whole 8-row groups, a partial last group and a partial 1,024-row block.
        // Features with 0, 1, 2, 7 and 254 cuts; values on, between and beyond the cuts, ±∞, NaN.
        var rng = SplitMix64(seed: 7)
        let cutLists: [[Double]] = [[], [0.5], [-1, 1], (0 ..< 7).map { Double($0) - 3 }, (0 ..< 254).map { Double($0) / 25 - 5 }]
        let rows = 1037, d = cutLists.count
        var values = [Double](repeating: 0, count: rows * d)
        for row in 0 ..< rows {
            for feature in 0 ..< d {
                let cuts = cutLists[feature]
                let pick = rng.nextUnit()
                values[row * d + feature] = switch pick {
                case ..<0.05: .nan
                case ..<0.08: .infinity
                case ..<0.11: -.infinity
                case ..<0.4: cuts.isEmpty ? 0 : cuts[Int(rng.nextUnit() * Double(cuts.count))]
                default: rng.nextUnit() * 14 - 7
                }
            }
        }
        let binner = FeatureBinner(maxBins: 255, thresholds: cutLists)
        let (byColumn, hasMissing) = binner.transform(Matrix(rows: rows, columns: d, values: values))
        var mismatches = 0
        for row in 0 ..< rows {
            for feature in 0 ..< d {
                let expected = UInt8(binner.bin(values[row * d + feature], feature: feature))
                if byColumn[feature * rows + row] != expected { mismatches += 1 }
            }
        }
        #expect(mismatches == 0)
        #expect(hasMissing == [Bool](repeating: true, count: d))
    }

    @Test func corruptTreeFailsToDecode() throws {
        let json = """
        {"algorithm":"gradient_boosting","model":{"baseline":0,"featureCount":1,"task":"regression",
         "trees":[{"nodes":[{"feature":0,"threshold":1,"missingGoesLeft":true,"left":0,"right":2,"value":0}]}]}}
        """
        #expect(throws: TrainingError.self) { try JSONDecoder().decode(TrainedModel.self, from: Data(json.utf8)) }
    }
}
