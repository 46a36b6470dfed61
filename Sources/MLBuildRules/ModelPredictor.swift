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

    /// `predict(_:csv:name:)` as UTF-8 bytes (what `mlbuild predict` writes).
    public static func predictBytes(_ artifact: ModelArtifact, csv path: String, name: String) throws -> [UInt8] {
        formatBytes(try score(artifact, source: CSVSource(url: URL(fileURLWithPath: path), name: name)), for: artifact)
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
    public static func score(
        _ artifact: ModelArtifact, mapper: RawRowMapper? = nil, source: some TableSource, blockRows: Int = defaultBlockRows
    ) throws -> [Prediction] {
        let blockRows = max(1, blockRows)
        let name = source.name
        let mapper = mapper ?? RawRowMapper(transform: artifact.transform)
        let read: RawRowMapper.Read
        do {
            read = try mapper.read(source: source)
        } catch let error as DatasetError {
            throw ModelArtifactError(error.description)
        }
        // Block by block: one block's features in memory at a time. Every row is scored on its
        // own, so the blocks change nothing in the numbers; errors are gathered over all blocks
        // and reported as one list, as before.
        var rowErrors = read.errors
        var broken: [RowError] = []
        var out: [Prediction] = []
        out.reserveCapacity(read.keep.count)
        var start = 0
        repeat {
            let rows = read.keep[start ..< min(start + blockRows, read.keep.count)]
            let block: RawRowMapper.Mapped
            do {
                block = try mapper.mapped(read, rows: rows)
            } catch let error as DatasetError {
                throw ModelArtifactError(error.description)
            }
            rowErrors += block.rowErrors
            if rowErrors.isEmpty {
                if artifact.isMulticlass {
                    try scoreClasses(artifact, block: block, into: &out, broken: &broken)
                } else {
                    try scoreBlock(artifact, block: block, into: &out, broken: &broken)
                }
            }
            start += blockRows
        } while start < read.keep.count
        if !rowErrors.isEmpty {
            throw Failure(rowErrors: rowErrors.sorted { ($0.line, $0.column) < ($1.line, $1.column) }, path: name)
        }
        if !broken.isEmpty { throw Failure(rowErrors: broken, path: name) }
        return out
    }

    /// Rows scored per block: 64Ki rows of 35 features are 18 MB.
    public static let defaultBlockRows = 1 << 16

    /// The model's answer, a TrainingError reported as the artifact's fault (only an artifact
    /// built in memory can get one: `ModelArtifact.decode` checks widths).
    private static func scoring<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as TrainingError {
            throw ModelArtifactError("the model cannot score the transform's features: \(error.description)")
        }
    }

    /// A binary classifier's or a regressor's rows.
    private static func scoreBlock(
        _ artifact: ModelArtifact, block: RawRowMapper.Mapped, into out: inout [Prediction], broken: inout [RowError]
    ) throws {
        let scores = try scoring { try artifact.model.predict(matrix: block.matrix) }
        // Finite features can still overflow a linear score (inf − inf); a NaN would print as a
        // prediction of classes[0], so it fails the call like a broken row.
        for (row, score) in scores.enumerated() where artifact.task == .classification ? score.isNaN : !score.isFinite {
            broken.append(RowError(line: block.lines[row], column: "*", message: "the model's score is \(score), not a number (feature values too large for this model)"))
        }
        guard broken.isEmpty else { return }
        let classes = artifact.classes
        for (row, score) in scores.enumerated() {
            let id = artifact.idColumn != nil ? (block.ids.map { $0[row] } ?? "") : nil
            switch artifact.task {
            case .classification:
                let index = artifact.decide(score)
                out.append(Prediction(id: id, label: index < classes.count ? classes[index] : String(index), score: score))
            case .regression:
                out.append(Prediction(id: id, label: nil, score: score))
            }
        }
    }

    /// A multi-class model's rows: every class's probability, the most probable class predicted.
    private static func scoreClasses(
        _ artifact: ModelArtifact, block: RawRowMapper.Mapped, into out: inout [Prediction], broken: inout [RowError]
    ) throws {
        let probabilities = try scoring { try artifact.model.predictProbabilities(matrix: block.matrix) }
        let k = probabilities.columns
        let classes = artifact.classes
        for row in 0 ..< probabilities.rows {
            let p = Array(probabilities.values[row * k ..< (row + 1) * k])
            guard p.allSatisfy({ $0.isFinite }) else {
                broken.append(RowError(line: block.lines[row], column: "*", message: "the model's probabilities are not numbers (feature values too large for this model)"))
                continue
            }
            var best = 0
            for c in 1 ..< max(k, 1) where p[c] > p[best] { best = c }
            let id = artifact.idColumn != nil ? (block.ids.map { $0[row] } ?? "") : nil
            out.append(Prediction(id: id, label: best < classes.count ? classes[best] : String(best), score: p[best], probabilities: p))
        }
    }

    /// The output CSV of `predictions` (the format in this type's comment).
    public static func format(_ predictions: [Prediction], for artifact: ModelArtifact) -> String {
        String(decoding: formatBytes(predictions, for: artifact), as: UTF8.self)
    }

    /// `format` as UTF-8 bytes, written field by field into one buffer sized up front (the
    /// String-per-field version spent as long printing 1M rows as scoring them).
    public static func formatBytes(_ predictions: [Prediction], for artifact: ModelArtifact) -> [UInt8] {
        var out: [UInt8] = []
        let perRow = 8 + (artifact.idColumn != nil ? 16 : 0) + 24 * (predictions.first?.probabilities?.count ?? 2)
        out.reserveCapacity(64 + predictions.count * perRow)
        out += Array(artifact.outputColumns.map(csvField).joined(separator: ",").utf8)
        out.append(0x0A)
        let classification = artifact.task == .classification
        let threshold = classification ? artifact.decisionThreshold.map { Array(CanonicalJSON.format($0).utf8) } : nil
        // Labels repeat: each class name's field bytes once.
        var labelBytes: [String: [UInt8]] = [:]
        for prediction in predictions {
            var first = true
            func separator() {
                if !first { out.append(0x2C) }
                first = false
            }
            if artifact.idColumn != nil {
                separator()
                appendField(prediction.id ?? "", to: &out)
            }
            if classification {
                separator()
                let label = prediction.label ?? ""
                if let bytes = labelBytes[label] {
                    out += bytes
                } else {
                    let bytes = Array(csvField(label).utf8)
                    labelBytes[label] = bytes
                    out += bytes
                }
            }
            if let probabilities = prediction.probabilities {
                for p in probabilities {
                    separator()
                    out += CanonicalJSON.format(p).utf8
                }
            } else {
                separator()
                out += CanonicalJSON.format(prediction.score).utf8
                if let threshold {
                    separator()
                    out += threshold
                }
            }
            out.append(0x0A)
        }
        return out
    }

    /// `csvField`, appended: a field needing no quotes is copied as it is.
    private static func appendField(_ text: String, to out: inout [UInt8]) {
        var plain = true
        for b in text.utf8 where b == 0x2C || b == 0x22 || b == 0x0A || b == 0x0D {
            plain = false
            break
        }
        if plain {
            out += text.utf8
        } else {
            out += csvField(text).utf8
        }
    }

    /// Quotes a field when it holds a comma, quote or line break.
    static func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
