import Foundation
import MLBuildBasics

/// `stats.json`: per-column summary statistics, the drift baseline of later datasets.
///
/// Numeric columns (int, float): count (non-null), nulls, min, max, mean, std (population,
/// ddof = 0), quantiles p01…p99 (linear interpolation between order statistics, numpy's
/// default), and a 10-bin equal-width histogram over [min, max] (`Histogram`). Bool, category
/// and string columns: count, nulls, distinct, and frequencies (count descending, then value;
/// categories list every declared value, strings the top 20). id columns: count, nulls, distinct.
/// pii columns (of any type): count and nulls only, so that no value (not even a minimum, a
/// quantile or how many distinct values there are) leaves the dataset's data.bin.
public struct DatasetStats: Codable, Sendable, Equatable {
    public var version: Int
    public var rows: Int
    public var columns: [String: ColumnStats]

    public init(rows: Int, columns: [String: ColumnStats]) {
        self.version = 1
        self.rows = rows
        self.columns = columns
    }

    public static func read(from url: URL) throws -> DatasetStats {
        do {
            return try JSONDecoder().decode(DatasetStats.self, from: try Data(contentsOf: url))
        } catch {
            throw DatasetError.format(path: url.path, message: "not a valid stats.json: \(error)")
        }
    }

    public func write(to url: URL) throws {
        try CanonicalJSON.write(self, to: url)
    }

    public static let quantileLevels: [(key: String, p: Double)] = [
        ("p01", 0.01), ("p05", 0.05), ("p25", 0.25), ("p50", 0.5), ("p75", 0.75), ("p95", 0.95), ("p99", 0.99),
    ]
    public static let topFrequencies = 20

    /// Statistics of a table; column order and value order fixed, so equal data gives equal JSON.
    /// Columns are summarized in parallel (each column's own arithmetic order is fixed, so the
    /// result does not depend on scheduling), on the current `WorkBudget`'s free threads.
    public static func compute(_ table: ColumnarTable) -> DatasetStats {
        let results = ResultSlots(count: table.columns.count)
        WorkBudget.current.parallelFor(table.columns.count) { i in
            results.set(i, ColumnStats.compute(table.columns[i]))
        }
        var out: [String: ColumnStats] = [:]
        for (i, column) in table.columns.enumerated() { out[column.spec.name] = results.get(i) }
        return DatasetStats(rows: table.rowCount, columns: out)
    }

    /// Per-column results written from parallel workers; `lock` guards `slots`.
    private final class ResultSlots: @unchecked Sendable {
        private let lock = NSLock()
        private var slots: [ColumnStats?]
        init(count: Int) { slots = Array(repeating: nil, count: count) }
        func set(_ i: Int, _ value: ColumnStats) { lock.withLock { slots[i] = value } }
        func get(_ i: Int) -> ColumnStats? { lock.withLock { slots[i] } }
    }
}

public struct ColumnStats: Codable, Sendable, Equatable {
    public var type: String
    public var count: Int
    public var nulls: Int
    public var min: Double?
    public var max: Double?
    public var mean: Double?
    public var std: Double?
    public var quantiles: [String: Double]?
    public var histogram: Histogram?
    public var distinct: Int?
    public var frequencies: [Frequency]?

    public struct Frequency: Codable, Sendable, Equatable {
        public var value: String
        public var count: Int
        public init(value: String, count: Int) {
            self.value = value
            self.count = count
        }
    }

    public init(type: String, count: Int, nulls: Int) {
        self.type = type
        self.count = count
        self.nulls = nulls
    }

    static func compute(_ column: Column) -> ColumnStats {
        let nulls = column.nullCount
        var s = ColumnStats(type: column.spec.type.name, count: column.nulls.count - nulls, nulls: nulls)
        if column.spec.isPII { return s }
        switch column.storage {
        case .int, .float:
            var values: [Double] = []
            values.reserveCapacity(s.count)
            switch column.storage {
            case .int(let v): for r in 0 ..< v.count where !column.nulls[r] { values.append(Double(v[r])) }
            case .float(let v): for r in 0 ..< v.count where !column.nulls[r] { values.append(v[r]) }
            default: break
            }
            guard let first = values.first, let moments = Moments(values) else { return s }
            var lo = first
            var hi = first
            for v in values {
                lo = Swift.min(lo, v)
                hi = Swift.max(hi, v)
            }
            s.mean = moments.mean
            s.std = moments.std
            s.min = lo
            s.max = hi
            s.histogram = Histogram(values: values, min: lo, max: hi)
            // Quantiles need only the order statistics around each level, not a full sort.
            let n = values.count
            let positions = DatasetStats.quantileLevels.flatMap { level -> [Int] in
                let k = Int((Double(n - 1) * level.p).rounded(.down))
                return [k, Swift.min(k + 1, n - 1)]
            }
            OrderStatistics.select(&values, positions: positions)
            var q: [String: Double] = [:]
            for (key, p) in DatasetStats.quantileLevels { q[key] = interpolate(values, p) }
            s.quantiles = q
        case .bool(let v):
            var t = 0
            var f = 0
            for r in 0 ..< v.count where !column.nulls[r] { if v[r] { t += 1 } else { f += 1 } }
            s.distinct = (t > 0 ? 1 : 0) + (f > 0 ? 1 : 0)
            s.frequencies = sortedFrequencies([("false", f), ("true", t)])
        case .codes(let codes, let dictionary):
            var counts = [Int](repeating: 0, count: dictionary.count)
            for r in 0 ..< codes.count where !column.nulls[r] { counts[Int(codes[r])] += 1 }
            s.distinct = counts.filter { $0 > 0 }.count
            if column.spec.isID { return s }
            if case .category = column.spec.type {
                s.frequencies = sortedFrequencies(Array(zip(dictionary, counts)))
            } else {
                s.frequencies = Array(sortedFrequencies(zip(dictionary, counts).filter { $0.1 > 0 }).prefix(DatasetStats.topFrequencies))
            }
        }
        return s
    }

    /// Linear interpolation between order statistics (numpy "linear", R type 7) of sorted values.
    public static func quantile(_ sorted: [Double], _ p: Double) -> Double {
        interpolate(sorted, p)
    }

    /// Type-7 quantile reading only indices floor(h) and floor(h) + 1, which must hold their
    /// order statistics (a sorted array, or one prepared by `OrderStatistics.select`).
    static func interpolate(_ values: [Double], _ p: Double) -> Double {
        let h = Double(values.count - 1) * p
        let lo = Int(h.rounded(.down))
        let hi = Swift.min(lo + 1, values.count - 1)
        let fraction = h - Double(lo)
        let gap = values[hi] - values[lo]
        guard gap.isFinite else {
            // Order statistics more than the largest double apart (-1e308 and 1e308): the same
            // point computed in halves, which cannot overflow.
            return fraction == 0 ? values[lo] : 2 * (values[lo] / 2 + fraction * (values[hi] / 2 - values[lo] / 2))
        }
        return values[lo] + fraction * gap
    }

    private static func sortedFrequencies(_ pairs: [(String, Int)]) -> [Frequency] {
        pairs.sorted { $0.1 != $1.1 ? $0.1 > $1.1 : Array($0.0.utf8).lexicographicallyPrecedes(Array($1.0.utf8)) }
            .map { Frequency(value: $0.0, count: $0.1) }
    }
}

/// 10 equal-width bins over [min, max]: `edges` has 11 values (edges[10] == max); value x falls
/// in bin floor((x - min) / (max - min) * 10) clamped to 0…9, so max lands in the last bin and
/// out-of-range values (when binning another dataset for PSI) land in the end bins. A constant
/// column (min == max) puts x <= min in bin 0 and x > min in bin 9.
public struct Histogram: Codable, Sendable, Equatable {
    public var edges: [Double]
    public var counts: [Int]
    public static let binCount = 10

    public init(edges: [Double], counts: [Int]) {
        self.edges = edges
        self.counts = counts
    }

    init(values: [Double], min: Double, max: Double) {
        // A range so wide that (max − min) · 10 overflows (min -1e308, max 1e308) is stepped in
        // halves: every intermediate then stays between min / 2 and max / 2.
        let wide = !((max - min) * Double(Self.binCount)).isFinite
        edges = (0 ... Self.binCount).map { i in
            if i == Self.binCount { return max }
            if wide { return 2 * (min / 2 + (max / 2 - min / 2) / Double(Self.binCount) * Double(i)) }
            return min + (max - min) * Double(i) / Double(Self.binCount)
        }
        var c = [Int](repeating: 0, count: Self.binCount)
        for v in values { c[Self.bin(v, min: min, max: max)] += 1 }
        counts = c
    }

    @inline(__always)
    public static func bin(_ x: Double, min: Double, max: Double) -> Int {
        guard max > min else { return x <= min ? 0 : binCount - 1 }
        var scaled = (x - min) / (max - min) * Double(binCount)
        if !(max - min).isFinite || !(x - min).isFinite {
            // Differences past the largest double: the same ratio of halves.
            scaled = (x / 2 - min / 2) / (max / 2 - min / 2) * Double(binCount)
        }
        if !(scaled >= 0) { return 0 }
        if scaled >= Double(binCount - 1) { return binCount - 1 }
        return Int(scaled)
    }
}
