import Foundation
import MLBuildTestSupport

/// Small, deterministic ML workspaces for the dataset → features → model tests.
enum MLFixtures {
    /// The repository root (for data/ and Mlfile.example).
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    static let header = "id,amount,plan,score,active,label"

    /// `rows` customers with real but noisy signal: label = yes when amount + plan effect + noise
    /// is high. No RNG: cells come from fixed modular arithmetic, so the CSV is the same on
    /// every run. `shift` moves `amount` (for drift tests).
    static func csv(rows: Int, shift: Double = 0, start: Int = 0) -> String {
        var out = header + "\n"
        let plans = ["basic", "plus", "pro"]
        for r in start ..< start + rows {
            let amount = Double((r * 37) % 101) / 10 + shift          // 0 … 10
            let plan = plans[(r * 7) % 3]
            let noise = Double((r * 53) % 11) - 5                      // -5 … 5
            let score = Double((r * 29) % 17) / 4                      // pure noise feature
            let effect = plan == "pro" ? 2.0 : plan == "plus" ? 0.5 : -1.0
            let label = amount + effect + noise * 0.9 > 5.5 ? "yes" : "no"
            let active = r % 4 == 0 ? "no" : "yes"
            let scoreCell = r % 23 == 5 ? "" : String(score)            // a few blanks
            out += "C\(r),\(amount),\(plan),\(scoreCell),\(active),\(label)\n"
        }
        return out
    }

    static let schema = "id: string id unique, amount: float min=0, plan: category(basic, plus, pro), score: float nullable, active: bool, label: bool"

    /// dataset → features → two models.
    static func mlfile(gate: String = "auc >= 0.7", l2: String = "1.0", extraModel: String = "") -> String {
        """
        seed = 7

        dataset rows
            source = data/rows.csv
            schema = \(schema)
            min_rows = 50

        features rows
            dataset = dataset:rows
            label = label
            one_hot = plan
            standardize = amount
            impute = score:median
            split = 0.75
            stratify = true

        model lr
            features = features:rows
            algorithm = logistic_regression
            l2 = \(l2)
            gate = \(gate)

        model gbt
            features = features:rows
            algorithm = gradient_boosting
            trees = 20
            min_samples_leaf = 5
        \(extraModel)
        """
    }

    /// `mlfile()` plus `dataset:recent` (data/recent.csv, same schema), checked for drift
    /// against `dataset:rows`.
    static var mlfileWithRecentData: String {
        mlfile() + """

        dataset recent
            source = data/recent.csv
            schema = \(schema)
            baseline = dataset:rows
        """
    }

    static func workspace(mlfile: String = MLFixtures.mlfile(), rows: Int = 400) throws -> MLBuildWorkspace {
        let ws = try MLBuildWorkspace(mlfile: mlfile)
        try ws.write("data/rows.csv", csv(rows: rows))
        return ws
    }

    /// A JSON file of the workspace as a dictionary.
    static func json(_ ws: MLBuildWorkspace, _ path: String) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: "\(ws.path)/\(path)"))
        return (try JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:]
    }

    static func bytes(_ ws: MLBuildWorkspace, _ path: String) throws -> Data {
        try Data(contentsOf: URL(fileURLWithPath: "\(ws.path)/\(path)"))
    }

    /// metrics.json's metric values, decoded exactly.
    struct MetricsFile: Decodable {
        var metrics: [String: MetricValue]
        var test_rows: Int
    }

    enum MetricValue: Decodable {
        case number(Double)
        case matrix([[Int]])
        init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let x = try? c.decode(Double.self) { self = .number(x) } else { self = .matrix(try c.decode([[Int]].self)) }
        }
        var number: Double? { if case .number(let x) = self { return x } else { return nil } }
        var matrix: [[Int]]? { if case .matrix(let m) = self { return m } else { return nil } }
    }

    static func metrics(_ ws: MLBuildWorkspace, model: String) throws -> MetricsFile {
        try JSONDecoder().decode(MetricsFile.self, from: bytes(ws, "build/model/\(model)/metrics.json"))
    }
}
