import Foundation

/// Population stability index of each column of a dataset against a baseline's stats.json.
///
/// PSI = Σ_bins (a − e) · ln(a / e), with e the baseline's and a this dataset's share of
/// non-null values in each bin. Bins: for int/float columns the baseline's 10 histogram bins
/// (values outside the baseline's [min, max] count in the end bins); for bool and category
/// columns the values (baseline frequencies ∪ values seen now). A share of 0 is replaced by
/// `epsilon` = 0.0001 (shares are not renormalized) so empty bins give a large, finite PSI.
/// Nulls are left out (null rates are checked by max_null_fraction). id and string columns,
/// and columns the baseline does not have or types it does not share, are listed as skipped.
public struct DriftReport: Sendable, Equatable, CustomStringConvertible {
    public struct Entry: Sendable, Equatable {
        public var column: String
        public var psi: Double
        /// `histogram` or `frequencies`.
        public var method: String
    }

    /// Sorted by column name.
    public var entries: [Entry]
    /// Columns not compared, with why, sorted by column name.
    public var skipped: [(column: String, reason: String)]
    public var maxPSI: Double

    public static let epsilon = 0.0001

    public var drifted: [Entry] { entries.filter { $0.psi > maxPSI } }
    public var passed: Bool { drifted.isEmpty }

    public static func == (a: DriftReport, b: DriftReport) -> Bool {
        a.entries == b.entries && a.maxPSI == b.maxPSI && a.skipped.map(\.column) == b.skipped.map(\.column)
            && a.skipped.map(\.reason) == b.skipped.map(\.reason)
    }

    public static func compute(table: ColumnarTable, baseline: DatasetStats, maxPSI: Double) -> DriftReport {
        var entries: [Entry] = []
        var skipped: [(String, String)] = []
        for column in table.columns {
            let name = column.spec.name
            guard let base = baseline.columns[name] else {
                skipped.append((name, "not in the baseline"))
                continue
            }
            if column.spec.isID {
                skipped.append((name, "id column"))
                continue
            }
            if column.spec.isPII {
                skipped.append((name, "pii column"))
                continue
            }
            guard base.type == column.spec.type.name else {
                skipped.append((name, "type \(column.spec.type.name) here, \(base.type) in the baseline"))
                continue
            }
            switch column.storage {
            case .int, .float:
                guard let h = base.histogram, let lo = h.edges.first, let hi = h.edges.last, h.counts.count == Histogram.binCount else {
                    skipped.append((name, "the baseline has no values"))
                    continue
                }
                var counts = [Int](repeating: 0, count: Histogram.binCount)
                var n = 0
                for r in 0 ..< table.rowCount {
                    if let v = column.double(at: r) {
                        counts[Histogram.bin(v, min: lo, max: hi)] += 1
                        n += 1
                    }
                }
                entries.append(Entry(column: name, psi: psi(expected: h.counts, actual: counts, actualTotal: n), method: "histogram"))
            case .bool, .codes:
                if case .codes = column.storage, case .string = column.spec.type {
                    skipped.append((name, "string column"))
                    continue
                }
                guard let freqs = base.frequencies else {
                    skipped.append((name, "the baseline has no frequencies"))
                    continue
                }
                var current: [String: Int] = [:]
                var n = 0
                for r in 0 ..< table.rowCount {
                    if let v = column.text(at: r) {
                        current[v, default: 0] += 1
                        n += 1
                    }
                }
                let values = Set(freqs.map(\.value)).union(current.keys).sorted()
                let baseCounts = Dictionary(freqs.map { ($0.value, $0.count) }, uniquingKeysWith: +)
                entries.append(Entry(
                    column: name,
                    psi: psi(expected: values.map { baseCounts[$0] ?? 0 }, actual: values.map { current[$0] ?? 0 }, actualTotal: n),
                    method: "frequencies"))
            }
        }
        entries.sort { Array($0.column.utf8).lexicographicallyPrecedes(Array($1.column.utf8)) }
        skipped.sort { Array($0.0.utf8).lexicographicallyPrecedes(Array($1.0.utf8)) }
        return DriftReport(entries: entries, skipped: skipped, maxPSI: maxPSI)
    }

    /// PSI of two count vectors over the same bins (fixed summation order: bin order).
    public static func psi(expected: [Int], actual: [Int], actualTotal: Int? = nil) -> Double {
        let eTotal = Double(expected.reduce(0, +))
        let aTotal = Double(actualTotal ?? actual.reduce(0, +))
        guard eTotal > 0, aTotal > 0 else { return 0 }
        var sum = 0.0
        for i in 0 ..< expected.count {
            let e = Swift.max(Double(expected[i]) / eTotal, epsilon)
            let a = Swift.max(Double(actual[i]) / aTotal, epsilon)
            sum += (a - e) * log(a / e)
        }
        return sum
    }

    /// One line per column, sorted by name, drifted ones marked.
    public var description: String {
        var lines: [String] = []
        let n = drifted.count
        lines.append(passed
            ? "drift check passed: every column's PSI is at most \(CanonicalJSON.format(maxPSI))"
            : "drift check failed: \(n) column\(n == 1 ? "" : "s") over max_psi=\(CanonicalJSON.format(maxPSI))")
        for e in entries {
            let mark = e.psi > maxPSI ? "  DRIFT" : ""
            lines.append("  \(e.column): psi \(String(format: "%.4f", e.psi)) (\(e.method))\(mark)")
        }
        for s in skipped { lines.append("  \(s.column): skipped (\(s.reason))") }
        return lines.joined(separator: "\n")
    }

    /// `drift.json`: {"columns": {name: {"method", "psi"}}, "max_psi", "passed", "skipped": {name: reason}}.
    public func json() -> JSONValue {
        var columns: [String: JSONValue] = [:]
        for e in entries { columns[e.column] = .object(["psi": .number(e.psi), "method": .string(e.method)]) }
        var sk: [String: JSONValue] = [:]
        for s in skipped { sk[s.column] = .string(s.reason) }
        return .object(["columns": .object(columns), "max_psi": .number(maxPSI), "passed": .bool(passed), "skipped": .object(sk)])
    }
}

/// Thrown when a dataset drifts past max_psi; its description lists every column's PSI.
public struct DriftError: Error, Sendable, CustomStringConvertible {
    public var source: String
    public var report: DriftReport
    public var description: String { "\(source): \(report.description)" }
}
