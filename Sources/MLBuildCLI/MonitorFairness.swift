import Foundation
import MLBuildCore
import MLBuildDatasets
import MLBuildRules

/// `mlbuild monitor` on a model with `fairness = …`: each group's selection rate (the share of
/// its rows the model predicts as the positive class) on the new rows, against the same group's
/// rate on the test split (metrics.json's `fairness`). Groups the new rows lack are left out;
/// groups the test split lacked have no baseline (drift null). Groups come in metrics.json's
/// order (`ModelFairness.ordered`).
struct MonitorFairness {
    struct Entry {
        var column: String
        /// nil: the rows where the column is null.
        var group: String?
        var rows: Int
        var selectionRate: Double
        var baseline: Double?

        var drift: Double? { baseline.map { selectionRate - $0 } }

        var json: JSONValue {
            .object([
                "column": .string(column), "group": group.map { .string($0) } ?? .null, "rows": .number(rows),
                "selection_rate": .number(selectionRate), "baseline_selection_rate": .optional(baseline),
                "drift": .optional(drift),
            ])
        }
    }

    var entries: [Entry]

    /// The baseline rates from metrics.json, by column then group (null group as nil); nil when
    /// the model has no `fairness`.
    static func baseline(metricsJSON path: String) -> [String: [String?: Double]]? {
        guard let bytes = try? FileSystem.readBytes(path),
              case .object(let root)? = try? JSONDecoder().decode(JSONValue.self, from: Data(bytes)),
              case .object(let columns)? = root["fairness"] else { return nil }
        var out: [String: [String?: Double]] = [:]
        for (column, value) in columns {
            guard case .object(let entry) = value, case .array(let groups)? = entry["groups"] else { continue }
            var rates: [String?: Double] = [:]
            for case .object(let group) in groups {
                guard case .number(let rate)? = group["selection_rate"] else { continue }
                switch group["group"] {
                case .string(let name)?: rates[name] = rate
                default: rates[nil] = rate
                }
            }
            out[column] = rates
        }
        return out
    }

    /// `table`: the new rows as ingested; `predictions`: the model's, in the same order.
    init(baseline: [String: [String?: Double]], table: ColumnarTable, predictions: [ModelPredictor.Prediction], positive: String) throws {
        guard predictions.count == table.rowCount else {
            throw CLIError.message("fairness: \(predictions.count) predictions for \(table.rowCount) rows")
        }
        var entries: [Entry] = []
        for column in baseline.keys.sorted() {
            guard let values = table.column(named: column) else {
                throw CLIError.message("fairness: the new rows have no column '\(column)' (the model compares its groups)")
            }
            var rows: [String?: Int] = [:], selected: [String?: Int] = [:]
            for row in 0 ..< table.rowCount {
                let group = values.text(at: row)
                rows[group, default: 0] += 1
                if predictions[row].label == positive { selected[group, default: 0] += 1 }
            }
            for group in ModelFairness.ordered(Set(rows.keys), type: values.spec.type) {
                let count = rows[group] ?? 0
                entries.append(Entry(column: column, group: group, rows: count,
                                     selectionRate: Double(selected[group] ?? 0) / Double(max(count, 1)),
                                     baseline: baseline[column]?[group] ?? nil))
            }
        }
        self.entries = entries
    }

    /// Groups whose rate moved more than `limit` either way.
    func drifted(past limit: Double) -> [Entry] {
        entries.filter { ($0.drift.map(abs) ?? 0) > limit }
    }
}
