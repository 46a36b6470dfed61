import Foundation

/// The binned training matrix as the histogram passes read it, and where each feature's bins
/// sit in a histogram.
///
/// A feature whose most frequent bin holds at least half the rows (a one-hot column, a flag, a
/// mostly-missing column) is *sparse*: rows in that default bin are not added at all, and the
/// default bin is filled in afterwards as the node's total minus the feature's other bins
/// (`HistogramTreeGrower.fillDefaultBins`), as LightGBM does. On the 1M-row bench set the 15
/// one-hot columns of 35 cost 15 additions a row before and about 3 now.
///
/// Histogram slots put the dense features first (in feature order, each `binStride` slots
/// apart, so a row's dense bins are added at fixed offsets) and the sparse ones after them.
/// Per row: the dense features' bins side by side (`dense`, row-major), and the slots of the
/// row's non-default sparse bins (`sparseSlots[sparseStart[r] ..< sparseStart[r + 1]]`, in
/// feature order). Built from the column-major bins with integer work only, so it cannot
/// change any sum's order.
struct HistogramRowLayout {
    /// Original feature indices of the dense features, in slot order.
    let denseFeatures: [Int]
    /// Original feature indices of the sparse features, in slot order.
    let sparseFeatures: [Int]
    /// Per original feature: the first histogram slot of its bins.
    let slotBase: [Int]
    /// Per original feature: its default bin when sparse, else nil.
    let defaultBin: [Int?]
    /// rows × denseFeatures.count bins, row-major.
    let dense: [UInt8]
    /// rows + 1 offsets into `sparseSlots`.
    let sparseStart: [UInt32]
    /// Histogram slots (slotBase + bin) of every row's non-default sparse bins.
    let sparseSlots: [UInt32]

    /// A sparse feature's default bin holds at least this share of the rows.
    static let sparseShare = 0.5

    /// `sparseShare` above 1 makes every feature dense (tests compare the two ways).
    init(byColumn: UnsafeBufferPointer<UInt8>, rows n: Int, features d: Int, stride: Int, sparseShare: Double = Self.sparseShare) {
        var defaults = [Int?](repeating: nil, count: d)
        var dense = [Int](), sparse = [Int]()
        for feature in 0 ..< d {
            var counts = [Int](repeating: 0, count: 256)
            for row in 0 ..< n { counts[Int(byColumn[feature * n + row])] += 1 }
            // The most frequent bin; ties go to the lower bin.
            var best = 0
            for bin in 1 ..< 256 where counts[bin] > counts[best] { best = bin }
            if n > 0, Double(counts[best]) >= sparseShare * Double(n) {
                defaults[feature] = best
                sparse.append(feature)
            } else {
                dense.append(feature)
            }
        }
        var slotBase = [Int](repeating: 0, count: d)
        for (position, feature) in (dense + sparse).enumerated() { slotBase[feature] = position * stride }

        let width = dense.count
        var denseBins = [UInt8](repeating: 0, count: n * width)
        var start = [UInt32](repeating: 0, count: n + 1)
        let chunks = FixedChunks(total: n, rowsPerChunk: 16_384)
        // Pass 1: dense bins, and each row's count of non-default sparse bins.
        denseBins.withUnsafeMutableBufferPointer { out in
            start.withUnsafeMutableBufferPointer { counts in
                chunks.forEach { range in
                    for (j, feature) in dense.enumerated() {
                        let column = byColumn.baseAddress! + feature * n
                        for row in range { out[row &* width &+ j] = column[row] }
                    }
                    for feature in sparse {
                        let column = byColumn.baseAddress! + feature * n, fallback = UInt8(defaults[feature] ?? 0)
                        for row in range where column[row] != fallback { counts[row + 1] &+= 1 }
                    }
                }
            }
        }
        for row in 0 ..< n { start[row + 1] &+= start[row] }
        // Pass 2: the slots, each row's in feature order.
        var slots = [UInt32](repeating: 0, count: Int(start[n]))
        slots.withUnsafeMutableBufferPointer { out in
            start.withUnsafeBufferPointer { offsets in
                chunks.forEach { range in
                    var next = [Int](range.map { Int(offsets[$0]) })
                    for feature in sparse {
                        let column = byColumn.baseAddress! + feature * n, fallback = UInt8(defaults[feature] ?? 0)
                        let base = UInt32(slotBase[feature])
                        for row in range where column[row] != fallback {
                            out[next[row - range.lowerBound]] = base &+ UInt32(column[row])
                            next[row - range.lowerBound] &+= 1
                        }
                    }
                }
            }
        }
        denseFeatures = dense
        sparseFeatures = sparse
        self.slotBase = slotBase
        defaultBin = defaults
        self.dense = denseBins
        sparseStart = start
        sparseSlots = slots
    }
}
