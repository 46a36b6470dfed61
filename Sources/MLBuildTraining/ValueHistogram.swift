/// Counts of values over `bins` equal-width bins spanning their finite range (the last bin
/// closed); a constant sample gets one bin of width 1 centred on its value.
public struct ValueHistogram: Sendable, Equatable {
    public var edges: [Double]
    public var counts: [Int]

    public init(_ values: [Double], bins: Int = 20) {
        let finite = values.filter(\.isFinite)
        guard let lo = finite.min(), let hi = finite.max() else {
            edges = []
            counts = []
            return
        }
        guard hi > lo, bins > 1 else {
            edges = [lo - 0.5, lo + 0.5]
            counts = [finite.count]
            return
        }
        let width = (hi - lo) / Double(bins)
        edges = (0 ... bins).map { $0 == bins ? hi : lo + Double($0) * width }
        var counts = [Int](repeating: 0, count: bins)
        for v in finite { counts[min(max(Int((v - lo) / width), 0), bins - 1)] += 1 }
        self.counts = counts
    }
}

/// Which rows a scatter plot draws: all when there are at most `limit`, else `limit` rows
/// evenly spaced through the order given (row ⌊k·n/limit⌋ for k = 0…limit−1) — deterministic,
/// and spread over the whole test split.
public enum PlotSample {
    public static let defaultLimit = 2000

    public static func rows(count: Int, limit: Int = defaultLimit) -> [Int] {
        guard count > limit, limit > 0 else { return Array(0 ..< max(count, 0)) }
        return (0 ..< limit).map { Int((Int64($0) * Int64(count)) / Int64(limit)) }
    }
}
