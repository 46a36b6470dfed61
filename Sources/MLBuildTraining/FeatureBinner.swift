import Foundation

/// Maps raw feature values to small bin indices for histogram-based trees, as scikit-learn's
/// `_BinMapper` does.
///
/// Thresholds per feature come from (a sample of at most 200,000 of) the training rows, NaNs
/// excluded: with at most `maxBins` distinct values, the midpoints between consecutive distinct
/// values; otherwise the `maxBins − 1` interior percentiles (numpy's "midpoint" method).
/// A value x goes to bin #{thresholds < x} (so x ≤ thresholds[b] ⇔ bin(x) ≤ b, which is what lets
/// the trees store raw thresholds); NaN goes to the dedicated bin `missingBin = maxBins`.
struct FeatureBinner: Sendable {
    static let sampleLimit = 200_000

    let maxBins: Int
    let thresholds: [[Double]]
    var missingBin: Int { maxBins }

    init(maxBins: Int, thresholds: [[Double]]) {
        self.maxBins = maxBins
        self.thresholds = thresholds
    }

    /// Learns thresholds from `x`; the row sample (when n > 200,000) is drawn from `rng`.
    init(fitting x: Matrix, maxBins: Int, rng: inout SplitMix64) {
        let n = x.rows, d = x.columns
        let sample: [Int]
        if n > Self.sampleLimit {
            // Selection sampling (Knuth's algorithm S): exactly `sampleLimit` rows, in order.
            var chosen = [Int]()
            chosen.reserveCapacity(Self.sampleLimit)
            var needed = Self.sampleLimit
            for row in 0 ..< n where needed > 0 {
                if rng.nextUnit() * Double(n - row) < Double(needed) {
                    chosen.append(row)
                    needed -= 1
                }
            }
            sample = chosen
        } else {
            sample = Array(0 ..< n)
        }
        var result = [[Double]](repeating: [], count: d)
        result.withUnsafeMutableBufferPointer { out in
            x.values.withUnsafeBufferPointer { xs in
                parallelFor(d) { feature in
                    var column = [Double]()
                    column.reserveCapacity(sample.count)
                    for row in sample {
                        let value = xs[row * d + feature]
                        if !value.isNaN { column.append(value) }
                    }
                    out[feature] = Self.thresholds(sortedColumn: column.sorted(), maxBins: maxBins)
                }
            }
        }
        self.maxBins = maxBins
        thresholds = result
    }

    static func thresholds(sortedColumn column: [Double], maxBins: Int) -> [Double] {
        guard !column.isEmpty else { return [] }
        var distinct = [Double]()
        for value in column where distinct.last != value { distinct.append(value) }
        var cuts: [Double]
        if distinct.count <= maxBins {
            cuts = (0 ..< max(0, distinct.count - 1)).map { (distinct[$0] + distinct[$0 + 1]) * 0.5 }
        } else {
            let m = column.count
            cuts = (1 ..< maxBins).map { k in
                let position = Double(k) / Double(maxBins) * Double(m - 1)
                let lower = Int(position.rounded(.down))
                if Double(lower) == position || lower + 1 >= m { return column[lower] }
                return (column[lower] + column[lower + 1]) * 0.5
            }
        }
        // +∞ thresholds are reserved for "split on missing" nodes.
        return cuts.map { min($0, .greatestFiniteMagnitude) }
    }

    /// Number of non-missing bins of `feature`.
    func binCount(_ feature: Int) -> Int { thresholds[feature].count + 1 }

    func bin(_ value: Double, feature: Int) -> Int {
        if value.isNaN { return missingBin }
        let cuts = thresholds[feature]
        var low = 0, high = cuts.count
        while low < high {
            let middle = (low + high) / 2
            if value <= cuts[middle] { high = middle } else { low = middle + 1 }
        }
        return low
    }

    /// The raw threshold stored in a tree for a split "bin ≤ b goes left".
    func rawThreshold(feature: Int, bin: Int) -> Double {
        let cuts = thresholds[feature]
        return bin < cuts.count ? cuts[bin] : .greatestFiniteMagnitude
    }

    /// Row-major bins (feature f of row r at r·d + f: one row's bins share a cache line, which is
    /// what the row-wise histogram pass reads), and which features had a NaN.
    func transform(_ x: Matrix) -> (bins: [UInt8], hasMissing: [Bool]) {
        let n = x.rows, d = x.columns
        var bins = [UInt8](repeating: 0, count: n * d)
        let chunks = FixedChunks(total: n, rowsPerChunk: 32_768)
        let missing = x.values.withUnsafeBufferPointer { xs in
            bins.withUnsafeMutableBufferPointer { out in
                chunks.map { range -> [Bool] in
                    var seen = [Bool](repeating: false, count: d)
                    for row in range {
                        for feature in 0 ..< d {
                            let b = bin(xs[row * d + feature], feature: feature)
                            if b == missingBin { seen[feature] = true }
                            out[row * d + feature] = UInt8(truncatingIfNeeded: b)
                        }
                    }
                    return seen
                }
            }
        }
        let hasMissing = (0 ..< d).map { f in missing.contains { $0[f] } }
        return (bins, hasMissing)
    }
}
