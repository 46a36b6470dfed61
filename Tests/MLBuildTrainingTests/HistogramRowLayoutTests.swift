import Foundation
import MLBuildBasics
import Testing
@testable import MLBuildTraining

/// The sparse histogram layout: which features skip their default bin, that the rows it stores
/// are exactly the binned matrix, and that trees grown with default bins filled in by subtraction
/// match trees grown with every bin added.
@Suite struct HistogramRowLayoutTests {
    /// Five features: dense numeric, one-hot (80 % zeros), 70 % missing, constant, and a 50/50
    /// flag (exactly half: sparse, the rule is "at least half").
    static func mixedData(rows n: Int, seed: UInt64) -> (Matrix, [Double]) {
        var rng = SplitMix64(seed: seed)
        var values = [Double](), y = [Double]()
        for row in 0 ..< n {
            let numeric = TestData.normal(&rng)
            let oneHot: Double = rng.nextUnit() < 0.2 ? 1 : 0
            let mostlyMissing = rng.nextUnit() < 0.7 ? Double.nan : TestData.normal(&rng)
            let flag: Double = row % 2 == 0 ? 1 : 0
            values += [numeric, oneHot, mostlyMissing, 3, flag]
            let score = numeric + 1.5 * oneHot + (mostlyMissing.isNaN ? -0.5 : mostlyMissing) + 0.3 * flag
            y.append(rng.nextUnit() < 1 / (1 + exp(-score)) ? 1 : 0)
        }
        return (Matrix(rows: n, columns: 5, values: values), y)
    }

    @Test func sparseFeaturesAndRowsReconstructTheBins() {
        let n = 5_000
        let (x, _) = Self.mixedData(rows: n, seed: 11)
        var rng = SplitMix64(seed: 1)
        let binner = FeatureBinner(fitting: x, maxBins: 255, rng: &rng)
        let (bins, _) = binner.transform(x)
        let stride = HistogramTreeGrower.binStride
        let layout = bins.withUnsafeBufferPointer { HistogramRowLayout(byColumn: $0, rows: n, features: 5, stride: stride) }
        #expect(layout.denseFeatures == [0])
        #expect(layout.sparseFeatures == [1, 2, 3, 4])
        #expect(layout.defaultBin == [nil, 0, binner.missingBin, 0, 0])
        #expect(layout.slotBase == [0, stride, 2 * stride, 3 * stride, 4 * stride])
        var wrong = 0
        for row in 0 ..< n {
            if layout.dense[row] != bins[row] { wrong += 1 }
            var expected = [UInt32]()
            for feature in layout.sparseFeatures where Int(bins[feature * n + row]) != layout.defaultBin[feature] {
                expected.append(UInt32(layout.slotBase[feature] + Int(bins[feature * n + row])))
            }
            let stored = layout.sparseSlots[Int(layout.sparseStart[row]) ..< Int(layout.sparseStart[row + 1])]
            if Array(stored) != expected { wrong += 1 }
        }
        #expect(wrong == 0)
        #expect(layout.sparseStart[n] == UInt32(layout.sparseSlots.count))
    }

    @Test(arguments: [1, 2, 8])
    func defaultBinsBySubtractionGrowTheSameTrees(threads: Int) async throws {
        // 120,000 rows: the root and large nodes take the chunked path, small ones the grouped
        // one (feature groups need m·d ≥ 32,768).
        let n = 120_000
        let (x, y) = Self.mixedData(rows: n, seed: 5)
        var rng = SplitMix64(seed: 2)
        let binner = FeatureBinner(fitting: x, maxBins: 255, rng: &rng)
        let (bins, hasMissing) = binner.transform(x)
        let parameters = HistogramTreeGrower.Parameters(maxLeafNodes: 31, maxDepth: nil, minSamplesLeaf: 20, l2: 0, learningRate: 0.1)
        func grow(sparseShare: Double) async throws -> [HistogramTreeGrower.Node] {
            try await WorkBudget(threads: threads).run {
                let layout = bins.withUnsafeBufferPointer {
                    HistogramRowLayout(byColumn: $0, rows: n, features: 5, stride: HistogramTreeGrower.binStride, sparseShare: sparseShare)
                }
                let grower = HistogramTreeGrower(parameters: parameters, binner: binner, hasMissing: hasMissing, rowCount: n,
                                                 featureCount: 5, layout: layout)
                // Log-loss gradients at p = 0.5.
                let gradients = y.map { SIMD2(0.5 - $0, 0.25) }
                var indices = (0 ..< n).map(UInt32.init), scratch = [UInt32](repeating: 0, count: n)
                var ordered = [SIMD2<Double>](repeating: .zero, count: n)
                return bins.withUnsafeBufferPointer { b in
                    gradients.withUnsafeBufferPointer { g in
                        indices.withUnsafeMutableBufferPointer { idx in
                            scratch.withUnsafeMutableBufferPointer { s in
                                ordered.withUnsafeMutableBufferPointer { o in
                                    grower.grow(binsByColumn: b, gradients: g, indices: idx, scratch: s, ordered: o, identity: true)
                                }
                            }
                        }
                    }
                }
            }
        }
        let sparse = try await grow(sparseShare: HistogramRowLayout.sparseShare)
        let dense = try await grow(sparseShare: 2)
        #expect(sparse.count == dense.count && sparse.count == 61)
        #expect(sparse.map(\.feature) == dense.map(\.feature))
        #expect(sparse.map(\.bin) == dense.map(\.bin))
        #expect(sparse.map(\.missingGoesLeft) == dense.map(\.missingGoesLeft))
        #expect(sparse.map { $0.end - $0.start } == dense.map { $0.end - $0.start })
        // Sums differ only by rounding (a default bin is total − others, not a direct sum).
        for (a, b) in zip(sparse, dense) {
            #expect(abs(a.value - b.value) <= 1e-12 * max(1, abs(b.value)))
        }
        // Every feature of the data is used somewhere, the sparse ones included.
        #expect(Set(sparse.filter { !$0.isLeaf }.map(\.feature)).isSuperset(of: [0, 1, 2]))
    }
}
