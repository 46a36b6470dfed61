import Foundation
import MLBuildDatasets
import MLBuildTraining

/// `mlbuild predict`: raw rows of the dataset's schema → the saved transform → the model.
///
/// Output CSV (RFC 4180, `\n` line ends): a header, then one row per input row in input order:
/// the id column when the schema names one, `prediction` (a class name for classifiers; the
/// value for regressors) and, for binary classifiers, `probability` (of `classes[1]`, which is
/// predicted when the probability is above 0.5, or at least the model's `threshold` when its
/// Mlfile set one, then also recorded in a `threshold` column), for multi-class ones
/// `probability_<class>` for each class (the prediction is
/// the most probable class, the first on ties). Numbers are printed in
/// their shortest round-trip form, so they parse back to the exact doubles the metrics used.
/// Any row that breaks the schema fails the whole call: no row is silently dropped.
public enum ModelPredictor {
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public var rowErrors: [RowError]
        public var path: String
        /// At most `shown` errors are listed, then a count of the rest.
        public var description: String {
            let shown = 20
            let lines = Set(rowErrors.map(\.line)).count
            var out = ["\(path): \(lines) row\(lines == 1 ? " breaks" : "s break") the model's input schema; nothing was scored:"]
            for error in rowErrors.prefix(shown) { out.append("  \(path):\(error.line): column '\(error.column)': \(error.message)") }
            if rowErrors.count > shown { out.append("  … and \(rowErrors.count - shown) more") }
            return out.joined(separator: "\n")
        }
    }

    /// Scores the CSV at `path` (shown as `name` in errors). Returns the output CSV text.
    public static func predict(_ artifact: ModelArtifact, csv path: String, name: String) throws -> String {
        try predict(artifact, source: CSVSource(url: URL(fileURLWithPath: path), name: name))
    }

    /// One scored row: what a line of the output CSV says, before it is printed.
    public struct Prediction: Sendable, Equatable {
        /// The id column's value, when the schema names an id column.
        public var id: String?
        /// Classifiers: the predicted class name. Regressors: nil (the score is the prediction).
        public var label: String?
        /// Binary classifiers: the probability of `classes[1]`. Multi-class: the probability of
        /// the predicted class. Regressors: the predicted value.
        public var score: Double
        /// Multi-class classifiers: the probability of each class, in `classes` order.
        public var probabilities: [Double]? = nil
    }

    /// Scores the rows of `source`. Throws `Failure` (rows that break the schema, or scores that
    /// are not numbers) or `ModelArtifactError` (an unreadable source or an unusable model).
    public static func predict(_ artifact: ModelArtifact, source: some TableSource) throws -> String {
        format(try score(artifact, source: source), for: artifact)
    }

    /// The rows of `source`, scored in input order: `predict` without the printing, for callers
    /// (`mlbuild serve`) that answer in another format but must agree with `predict` exactly.
    /// `mapper` is `RawRowMapper(transform: artifact.transform)`, made once by a caller that
    /// scores many sources with one artifact.
    public static func score(_ artifact: ModelArtifact, mapper: RawRowMapper? = nil, source: some TableSource) throws -> [Prediction] {
        let name = source.name
        let mapped: RawRowMapper.Mapped
        do {
            mapped = try (mapper ?? RawRowMapper(transform: artifact.transform)).map(source: source)
        } catch let error as DatasetError {
            throw ModelArtifactError(error.description)
        }
        if !mapped.rowErrors.isEmpty { throw Failure(rowErrors: mapped.rowErrors, path: name) }
        if artifact.isMulticlass { return try scoreClasses(artifact, mapped: mapped, name: name) }
        let scores: [Double]
        do {
            scores = try artifact.model.predict(matrix: mapped.matrix)
        } catch let error as TrainingError {
            // Only an artifact built in memory can get here: `ModelArtifact.decode` checks widths.
            throw ModelArtifactError("the model cannot score the transform's features: \(error.description)")
        }
        // Finite features can still overflow a linear score (inf − inf); a NaN would print as a
        // prediction of classes[0], so it fails the call like a broken row.
        let broken = scores.indices.filter { artifact.task == .classification ? scores[$0].isNaN : !scores[$0].isFinite }
        if !broken.isEmpty {
            throw Failure(
                rowErrors: broken.map { RowError(line: mapped.lines[$0], column: "*", message: "the model's score is \(scores[$0]), not a number (feature values too large for this model)") },
                path: name)
        }
        let classes = artifact.classes
        return scores.enumerated().map { row, score in
            let id = artifact.idColumn != nil ? (mapped.ids.map { $0[row] } ?? "") : nil
            switch artifact.task {
            case .classification:
                let index = artifact.decide(score)
                return Prediction(id: id, label: index < classes.count ? classes[index] : String(index), score: score)
            case .regression:
                return Prediction(id: id, label: nil, score: score)
            }
        }
    }

    /// A multi-class model's rows: every class's probability, the most probable class predicted.
    private static func scoreClasses(_ artifact: ModelArtifact, mapped: RawRowMapper.Mapped, name: String) throws -> [Prediction] {
        let probabilities: Matrix
        do {
            probabilities = try artifact.model.predictProbabilities(matrix: mapped.matrix)
        } catch let error as TrainingError {
            throw ModelArtifactError("the model cannot score the transform's features: \(error.description)")
        }
        let k = probabilities.columns
        var broken: [RowError] = []
        var out: [Prediction] = []
        out.reserveCapacity(probabilities.rows)
        let classes = artifact.classes
        for row in 0 ..< probabilities.rows {
            let p = Array(probabilities.values[row * k ..< (row + 1) * k])
            guard p.allSatisfy({ $0.isFinite }) else {
                broken.append(RowError(line: mapped.lines[row], column: "*", message: "the model's probabilities are not numbers (feature values too large for this model)"))
                continue
            }
            var best = 0
            for c in 1 ..< max(k, 1) where p[c] > p[best] { best = c }
            let id = artifact.idColumn != nil ? (mapped.ids.map { $0[row] } ?? "") : nil
            out.append(Prediction(id: id, label: best < classes.count ? classes[best] : String(best), score: p[best], probabilities: p))
        }
        if !broken.isEmpty { throw Failure(rowErrors: broken, path: name) }
        return out
    }

    /// The output CSV of `predictions` (the format in this type's comment).
    public static func format(_ predictions: [Prediction], for artifact: ModelArtifact) -> String {
        var out = artifact.outputColumns.map(csvField).joined(separator: ",") + "\n"
        for prediction in predictions {
            var fields: [String] = []
            if artifact.idColumn != nil { fields.append(csvField(prediction.id ?? "")) }
            if artifact.task == .classification { fields.append(csvField(prediction.label ?? "")) }
            if let probabilities = prediction.probabilities {
                fields += probabilities.map(CanonicalJSON.format)
            } else {
                fields.append(CanonicalJSON.format(prediction.score))
                if let threshold = artifact.decisionThreshold, artifact.task == .classification { fields.append(CanonicalJSON.format(threshold)) }
            }
            out += fields.joined(separator: ",") + "\n"
        }
        return out
    }

    /// Quotes a field when it holds a comma, quote or line break.
    static func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
