import Foundation

/// The build outputs the report reads, decoded leniently for display (formats in
/// docs/formats.md). Each reader says whether the file is missing (not built) or unreadable.
enum ReportFile<Value> {
    case missing
    case unreadable(String)
    case read(Value)

    /// Reads and decodes `relative` under `root`; an undecodable file is `unreadable` with the
    /// path and the reason.
    static func decode(_ type: Value.Type, _ relative: String, root: String) -> ReportFile<Value> where Value: Decodable {
        guard let data = FileManager.default.contents(atPath: "\(root)/\(relative)") else {
            return FileManager.default.fileExists(atPath: "\(root)/\(relative)") ? .unreadable("\(relative): cannot be read") : .missing
        }
        do {
            return .read(try JSONDecoder().decode(Value.self, from: data))
        } catch let error as DecodingError {
            return .unreadable("\(relative): not a valid file (\(ReportJSON.describe(error)))")
        } catch {
            return .unreadable("\(relative): not a valid file (\(error))")
        }
    }
}

/// Any JSON value, shown as text (numbers in the history's format).
enum ReportJSON: Decodable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([ReportJSON])
    case object([String: ReportJSON])

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let x = try? c.decode(Double.self) { self = .number(x) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([ReportJSON].self) { self = .array(a) }
        else { self = .object(try c.decode([String: ReportJSON].self)) }
    }

    var text: String {
        switch self {
        case .null: return "null"
        case let .bool(b): return b ? "true" : "false"
        case let .number(x): return HistoryOutput.number(x)
        case let .string(s): return s
        case let .array(a): return "[" + a.map(\.text).joined(separator: ", ") + "]"
        case let .object(o): return "{" + o.keys.sorted().map { "\($0): \(o[$0]?.text ?? "")" }.joined(separator: ", ") + "}"
        }
    }

    var number: Double? { if case let .number(x) = self { return x } else { return nil } }

    static func describe(_ error: DecodingError) -> String {
        switch error {
        case let .dataCorrupted(context), let .keyNotFound(_, context), let .typeMismatch(_, context), let .valueNotFound(_, context):
            let path = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            let reason = context.underlyingError.map { "\($0)" }.flatMap { $0.contains("JSON") ? "not JSON" : nil }
            return (path.isEmpty ? "" : "\(path.hasPrefix(".") ? String(path.dropFirst()) : path): ") + (reason ?? context.debugDescription)
        @unknown default:
            return "\(error)"
        }
    }
}

/// `build/dataset/NAME/schema.json`.
struct SchemaView: Decodable {
    struct Column: Decodable {
        var name: String
        var type: String
        var categories: [String]?
        var nullable: Bool?
        var id: Bool?
        var unique: Bool?
        var min: Double?
        var max: Double?
    }
    var columns: [Column]
    var options: [String: ReportJSON]?
}

/// `build/dataset/NAME/stats.json`.
struct StatsView: Decodable {
    struct Histogram: Decodable {
        var edges: [Double]
        var counts: [Int]
    }
    struct Frequency: Decodable {
        var value: ReportJSON
        var count: Int
    }
    struct Column: Decodable {
        var type: String
        var count: Int?
        var nulls: Int?
        var distinct: Int?
        var min: Double?
        var max: Double?
        var mean: Double?
        var std: Double?
        var histogram: Histogram?
        var frequencies: [Frequency]?
    }
    var rows: Int
    var columns: [String: Column]
}

/// `build/dataset/NAME/drift.json`.
struct DriftView: Decodable {
    struct Column: Decodable {
        var method: String?
        var psi: Double?
    }
    var columns: [String: Column]
    var max_psi: Double?
    var passed: Bool?
    var skipped: [String: String]?
}

/// `build/features/NAME/split.json` (only what the report shows).
struct SplitView: Decodable {
    var train_rows: [Int]?
    var test_rows: [Int]?
    var test_source: String?
}

/// `build/model/NAME/metrics.json`.
struct MetricsView: Decodable {
    struct Gate: Decodable {
        var metric: String
        var op: String
        var threshold: Double
        var value: Double?
        var passed: Bool
    }
    /// One `fairness` column (ModelFairness).
    struct Fairness: Decodable {
        struct Group: Decodable {
            var group: String?
            var count: Int
            var selection_rate: Double
            var true_positive_rate: Double
            var false_positive_rate: Double
            var auc: Double?
        }
        var demographic_parity_difference: Double
        var equalized_odds_difference: Double
        var disparate_impact_ratio: Double?
        var groups: [Group]
    }
    var gates: [Gate]?
    var fairness: [String: Fairness]?
    var metrics: [String: ReportJSON]
    var task: String?
    var test_rows: Int?
    var train_rows: Int?

    /// The numeric metrics, by name.
    var numbers: [String: Double] { metrics.compactMapValues(\.number) }
}

/// `build/model/NAME/model.json`: what the lineage section shows (never the weights).
struct ModelView: Decodable {
    struct Source: Decodable {
        var target: String?
        var role: String?
        var outputs_digest: String?
    }
    struct Lineage: Decodable {
        var action_key: String?
        var seed: String?
        var mlbuild_version: String?
        var features: Source?
        var datasets: [Source]?
    }
    var algorithm: String?
    var task: String?
    var lineage: Lineage?
}
