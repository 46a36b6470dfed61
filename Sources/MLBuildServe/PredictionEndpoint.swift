import Foundation
import MLBuildDatasets
import MLBuildRules

/// `POST /v1/models/NAME/predict`, without HTTP: a model, body bytes and a media type in, a
/// reply out (and how many rows were scored, for the metrics and the access log).
///
/// - `text/csv`: the body is a CSV as `mlbuild predict --input` reads it; the answer is the CSV
///   `predict` prints, byte for byte.
/// - `application/json`: `{"rows": [{COLUMN: value}, …]}` (see `JSONRows`); the answer is
///   `{"model", "model_digest", "predictions": [{"id"?, "prediction", "probability"? | "probability_<class>"…,
///   "threshold"?}, …]}` in
///   input order, with the numbers `predict` would print.
///
/// Statuses: 415 another media type, 413 more rows than `maxRows` (counted before anything is
/// scored), 400 a body that cannot be read as rows (malformed JSON, a CSV with the wrong field
/// count or missing feature columns), 422 rows that break the model's input schema: every broken
/// cell is listed in `errors` as `{"row": index from 0, "line": CSV line, "column", "rule"}` and
/// nothing is scored — unless `partial` (`?partial=true`): then the other rows are scored too
/// and the 422 also carries `predictions` for them, in input order, each with its `"row"`,
/// computed exactly as `predict` computes those rows (the broken records are dropped and the
/// rest scored again; rows do not depend on each other).
public struct PredictionEndpoint: Sendable {
    public var maxRows: Int
    public static let defaultMaxRows = 100_000

    public init(maxRows: Int = defaultMaxRows) {
        self.maxRows = maxRows
    }

    public struct Outcome: Sendable {
        public var reply: ServeReply
        /// Rows scored (answered with a prediction).
        public var rows: Int
    }

    enum BodyFormat { case csv, json }

    /// One broken cell, by row index (nil when the scorer names a line no record starts on).
    struct CellError {
        var row: Int?
        var line: Int
        var column: String
        var rule: String

        var json: JSONValue {
            .object(["row": row.map { .number($0) } ?? .null, "line": .number(line), "column": .string(column), "rule": .string(rule)])
        }
    }

    public func predict(_ model: ServedModel, contentType: String?, body: [UInt8], partial: Bool = false) -> Outcome {
        // Parameters (`; charset=utf-8`) do not change how the rows read: CSV and JSON are UTF-8 here.
        let mediaType = (contentType ?? "").split(separator: ";").first.map {
            $0.trimmingCharacters(in: .whitespaces).lowercased()
        } ?? ""
        let format: BodyFormat
        switch mediaType {
        case "text/csv": format = .csv
        case "application/json": format = .json
        default:
            return Outcome(reply: .error(415, "unsupported Content-Type '\(contentType ?? "")': send text/csv or application/json"), rows: 0)
        }
        let csv: [UInt8]
        // Row index → the CSV line it starts on (errors come by line, clients read row indices).
        var lineOfRow: [Int] = []
        var cellErrors: [CellError] = []
        switch format {
        case .csv:
            csv = body
            lineOfRow = CSVRecords.lines(csv) ?? []
        case .json:
            let rows: JSONRows
            do {
                rows = try JSONRows.read(body: body, columns: model.rowColumns)
            } catch JSONRows.Failure.malformed(let message) {
                return Outcome(reply: .error(400, message), rows: 0)
            } catch {
                return Outcome(reply: .error(400, "the body cannot be read: \(error)"), rows: 0)
            }
            csv = rows.csv
            lineOfRow = rows.lines
            cellErrors = rows.cellErrors.map { CellError(row: $0.row, line: rows.lines[$0.row], column: $0.column, rule: $0.message) }
        }
        let rowCount = lineOfRow.count
        if rowCount > maxRows {
            return Outcome(reply: .error(413, "the request has \(rowCount) rows, more than the \(maxRows) this server scores at once (--max-rows); split it"), rows: 0)
        }
        if rowCount == 0 && format == .json { return Outcome(reply: jsonAnswer(model, [], rows: nil), rows: 0) }

        let predictions: [ModelPredictor.Prediction]
        do {
            predictions = try ModelPredictor.score(model.artifact, mapper: model.mapper, source: CSVSource(name: "request body", bytes: csv))
            if cellErrors.isEmpty { return Outcome(reply: answer(format, model, predictions), rows: predictions.count) }
        } catch let failure as ModelPredictor.Failure {
            // The mapper lists errors column by column; clients read them row by row. A cell
            // that JSON could not carry was sent as empty: its own error replaces the scorer's.
            let taken = Set(cellErrors.map { "\($0.line)\u{0}\($0.column)" })
            var rowOfLine: [Int: Int] = [:]
            for (row, line) in lineOfRow.enumerated() { rowOfLine[line] = row }
            for e in failure.rowErrors where !taken.contains("\(e.line)\u{0}\(e.column)") {
                cellErrors.append(CellError(row: rowOfLine[e.line], line: e.line, column: e.column, rule: e.message))
            }
        } catch let error as ModelArtifactError {
            return Outcome(reply: .error(400, error.description), rows: 0)
        } catch {
            return Outcome(reply: .error(500, "scoring failed: \(error)"), rows: 0)
        }
        return rowsBroken(model, csv: csv, errors: cellErrors, partial: partial)
    }

    /// The 422: every broken cell in row order; with `partial`, the other rows scored.
    private func rowsBroken(_ model: ServedModel, csv: [UInt8], errors unordered: [CellError], partial: Bool) -> Outcome {
        let errors = unordered.enumerated().sorted { ($0.element.line, $0.offset) < ($1.element.line, $1.offset) }.map(\.element)
        let broken = Set(errors.map(\.line)).count
        let errorList = JSONValue.array(errors.map(\.json))
        // A line that starts no record cannot be dropped alone: then nothing is scored.
        guard partial, errors.allSatisfy({ $0.row != nil }) else {
            return Outcome(reply: .error(422, "\(broken) row(s) break the model's input schema; nothing was scored", ["errors": errorList]), rows: 0)
        }
        let dropped = Set(errors.compactMap(\.row))
        var scored: [ModelPredictor.Prediction] = []
        var rows: [Int] = []
        do {
            let rest = try CSVRecords.keeping(csv, without: dropped)
            rows = rest.rows
            if !rows.isEmpty {
                scored = try ModelPredictor.score(model.artifact, mapper: model.mapper, source: CSVSource(name: "request body", bytes: rest.csv))
            }
        } catch {
            // Rows are independent, so the rest scores; if it does not, say so rather than guess.
            return Outcome(reply: .error(422, "\(broken) row(s) break the model's input schema, and the other rows could not be scored alone: \(error)", ["errors": errorList]), rows: 0)
        }
        var object = Self.jsonObject(model, scored, rows: rows)
        object["error"] = .string("\(broken) row(s) break the model's input schema; the other \(scored.count) were scored")
        object["errors"] = errorList
        return Outcome(reply: .json(422, .object(object)), rows: scored.count)
    }

    private func answer(_ format: BodyFormat, _ model: ServedModel, _ predictions: [ModelPredictor.Prediction]) -> ServeReply {
        switch format {
        case .csv:
            return ServeReply(status: 200, contentType: "text/csv", body: ModelPredictor.formatBytes(predictions, for: model.artifact))
        case .json:
            return ServeReply(status: 200, contentType: "application/json", body: Self.answerBody(model, predictions))
        }
    }

    /// The 200 JSON answer written directly, in the layout `CanonicalJSON.serialize` gives
    /// `jsonObject(model, predictions, rows: nil)` (a test holds the two equal byte for byte),
    /// without a dictionary and a key sort per prediction.
    static func answerBody(_ model: ServedModel, _ predictions: [ModelPredictor.Prediction]) -> [UInt8] {
        let artifact = model.artifact
        // Per-class probabilities and recorded thresholds: the general (sorted-key) path.
        if artifact.isMulticlass || artifact.decisionThreshold != nil {
            return Array(CanonicalJSON.serialize(.object(jsonObject(model, predictions, rows: nil))))
        }
        var out = "{\n  \"model\": "
        CanonicalJSON.writeString(model.name, into: &out)
        out += ",\n  \"model_digest\": "
        CanonicalJSON.writeString(model.digest, into: &out)
        out += ",\n  \"predictions\": "
        if predictions.isEmpty {
            out += "[]"
        } else {
            out += "[\n"
            for (index, p) in predictions.enumerated() {
                out += index == 0 ? "    {\n" : ",\n    {\n"
                // Members in key order: id, prediction, probability.
                if artifact.idColumn != nil {
                    out += "      \"id\": "
                    CanonicalJSON.writeString(p.id ?? "", into: &out)
                    out += ",\n"
                }
                out += "      \"prediction\": "
                switch artifact.task {
                case .classification:
                    CanonicalJSON.writeString(p.label ?? "", into: &out)
                    out += ",\n      \"probability\": "
                    out += CanonicalJSON.format(p.score)
                case .regression:
                    out += CanonicalJSON.format(p.score)
                }
                out += "\n    }"
            }
            out += "\n  ]"
        }
        out += "\n}\n"
        return Array(out.utf8)
    }

    /// `{"model", "model_digest", "predictions"}`; with `rows`, each prediction says its row index.
    private func jsonAnswer(_ model: ServedModel, _ predictions: [ModelPredictor.Prediction], rows: [Int]?) -> ServeReply {
        .json(200, .object(Self.jsonObject(model, predictions, rows: rows)))
    }

    static func jsonObject(_ model: ServedModel, _ predictions: [ModelPredictor.Prediction], rows: [Int]?) -> [String: JSONValue] {
        let artifact = model.artifact
        let items: [JSONValue] = predictions.enumerated().map { index, p in
            var object: [String: JSONValue] = [:]
            if artifact.idColumn != nil { object["id"] = .string(p.id ?? "") }
            switch artifact.task {
            case .classification:
                object["prediction"] = .string(p.label ?? "")
                if let probabilities = p.probabilities {
                    for (name, value) in zip(artifact.probabilityColumns, probabilities) { object[name] = .number(value) }
                } else {
                    object["probability"] = .number(p.score)
                    if let threshold = artifact.decisionThreshold { object["threshold"] = .number(threshold) }
                }
            case .regression:
                object["prediction"] = .number(p.score)
            }
            if let rows, index < rows.count { object["row"] = .number(rows[index]) }
            return .object(object)
        }
        return ["model": .string(model.name), "model_digest": .string(model.digest), "predictions": .array(items)]
    }
}
