import Foundation
import MLBuildDatasets
import MLBuildRules
import MLBuildTraining

/// The invariants the model.json and predict-input fuzzers hold scoring to, shared with the
/// in-process regression tests (Tests/FuzzChecksTests) so that both check the same rules. Each
/// check returns the broken invariants as text: empty when all hold.
public enum ModelChecks {
    /// Decodes `bytes` as a model.json, then scores rows of its own schema. A refusal must be a
    /// `ModelArtifactError` naming the file. `decoded` tells whether the model was accepted.
    public static func violations(ofModelJSON bytes: [UInt8]) -> (violations: [String], decoded: Bool) {
        let artifact: ModelArtifact
        do {
            artifact = try ModelArtifact.decode(Data(bytes), path: "model.json")
        } catch let error as ModelArtifactError {
            return (error.description.hasPrefix("model.json: ") ? [] : ["error does not name the file: \(error.description)"], false)
        } catch {
            return (["unexpected error type \(type(of: error)): \(error)"], false)
        }
        return (rows(for: artifact.transform.schema).flatMap { violations(scoring: $0, with: artifact, records: 1) }, true)
    }

    /// Scores `bytes` (a rows CSV) with `artifact`. The call may fail only with a row report
    /// (`ModelPredictor.Failure`) or a message (`ModelArtifactError`); on success the output has
    /// the header and one line per record (when `records` is given), and every score in it parses
    /// back as a finite double (a probability within [0, 1]).
    public static func violations(scoring bytes: [UInt8], with artifact: ModelArtifact, records: Int?) -> [String] {
        let text: String
        do {
            text = try ModelPredictor.predict(artifact, source: CSVSource(name: "rows.csv", bytes: bytes))
        } catch let failure as ModelPredictor.Failure {
            if failure.rowErrors.isEmpty { return ["a Failure without row errors"] }
            _ = failure.description
            return []
        } catch let error as ModelArtifactError {
            return error.description.isEmpty ? ["an empty ModelArtifactError"] : []
        } catch {
            return ["unexpected error type \(type(of: error)): \(error)"]
        }
        guard text.hasPrefix(artifact.outputColumns.joined(separator: ",") + "\n"), text.hasSuffix("\n") else {
            return ["output header or end: \(text.prefix(200))"]
        }
        // Quoted ids may hold commas and line breaks; the numbers are checked on plain output.
        guard !text.contains("\"") else { return [] }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        var violations: [String] = []
        if let records, lines.count != records + 1 { violations.append("\(lines.count - 1) output rows for \(records) records") }
        for line in lines.dropFirst() {
            // [id,] prediction [, probability]: the last field is the score.
            guard let last = line.split(separator: ",", omittingEmptySubsequences: false).last, let x = Double(last), x.isFinite else {
                violations.append("output row without a finite score: \(line.prefix(200))")
                continue
            }
            if artifact.task == .classification, !(0 ... 1).contains(x) { violations.append("probability \(x) outside [0, 1]") }
        }
        return violations
    }

    /// The fuzzers' schema: every column type, an id, nulls, bounds.
    public static let schemaText =
        "id: string id unique, amount: float min=0, n: int, plan: category(basic, plus, pro), color: string, score: float nullable, active: bool nullable, label: bool"

    /// Deterministic training rows for `schemaText`.
    public static func trainingCSV(rows: Int = 120) -> String {
        var out = "id,amount,n,plan,color,score,active,label\n"
        let plans = ["basic", "plus", "pro"]
        let colors = ["red", "green", "blue", "é", "日本"]
        for r in 0 ..< rows {
            let amount = Double((r * 37) % 101) / 10
            let n = (r * 13) % 50 - 5
            let plan = plans[(r * 7) % 3]
            let score = r % 9 == 4 ? "" : String(Double((r * 29) % 17) / 4)
            let active = r % 11 == 3 ? "" : (r % 4 == 0 ? "no" : "yes")
            let label = amount + (plan == "pro" ? 2 : 0) + Double((r * 53) % 11) - 5 > 5 ? "yes" : "no"
            out += "C\(r),\(amount),\(n),\(plan),\(colors[(r * 3) % colors.count]),\(score),\(active),\(label)\n"
        }
        return out
    }

    /// One artifact per algorithm (logistic regression, gradient boosting, linear regression on
    /// the same features), trained in memory from `trainingCSV()`.
    public static func artifacts() throws -> [ModelArtifact] {
        let schema = try Schema(parsing: schemaText)
        let options = DatasetOptions()
        let table = try DatasetIngester.ingestValidated(CSVSource(name: "train.csv", text: trainingCSV()), schema: schema, options: options)
        let spec = try FeatureSpec(
            options: [
                "label": "label", "standardize": "amount", "bucketize": "n:0|10|20", "one_hot": "plan, color",
                "log1p": "score", "minmax": "score", "impute": "score:median, active:mode", "split": "0.75",
            ],
            seed: 7)
        let built = try FeatureBuilder.build(dataset: table, schemaFile: SchemaFile(schema: schema, options: options), spec: spec, outputDirectory: nil)
        guard let train = built.train, let labels = train.labels else { throw TrainingError.emptyData }
        var out: [ModelArtifact] = []
        for (algorithm, task, parameters) in [
            ("logistic_regression", TrainingTask.classification, [String: String]()),
            ("gradient_boosting", .classification, ["trees": "5", "max_leaf_nodes": "4", "min_samples_leaf": "3"]),
            ("linear_regression", .regression, [:]),
        ] {
            let model = try ModelTrainer.train(
                algorithm: algorithm, hyperparameters: parameters, task: task, seed: 7, x: train.features, y: labels)
            out.append(ModelArtifact(task: task, model: model, transform: built.transform))
        }
        return out
    }

    /// CSVs for any schema, one data row each: valid, boundary, null and wrong cells.
    public static func rows(for schema: Schema) -> [[UInt8]] {
        func quote(_ s: String) -> String {
            s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" })
                ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
        }
        let header = schema.columns.map { quote($0.name) }.joined(separator: ",") + "\n"
        return (0 ..< 4).map { variant in
            let cells = schema.columns.map { column -> String in
                switch column.type {
                case .int: return ["1", "-3", "", "9223372036854775807"][variant]
                case .float: return ["2.5", "1e300", "", "-0"][variant]
                case .bool: return ["yes", "no", "", "maybe"][variant]
                case .string: return ["red", "", "é", "x"][variant]
                case .category(let values): return [values.first ?? "", values.last ?? "", "", "nope"][variant]
                }
            }
            return Array((header + cells.map(quote).joined(separator: ",") + "\n").utf8)
        }
    }
}
