import Foundation
import MLBuildDatasets
import MLBuildRules

/// `POST /v1/models/NAME/predict`, without HTTP: body bytes and a media type in, a reply out.
///
/// - `text/csv`: the body is a CSV as `mlbuild predict --input` reads it; the answer is the CSV
///   `predict` prints, byte for byte.
/// - `application/json`: `{"rows": [{COLUMN: value}, …]}` (see `JSONRows`); the answer is
///   `{"model", "model_digest", "predictions": [{"id"?, "prediction", "probability"?}, …]}` in
///   input order, with the numbers `predict` would print.
///
/// Statuses: 404 unknown model, 415 another media type, 400 a body that cannot be read as
/// rows (malformed JSON, a CSV with the wrong field count or missing feature columns), 422 rows
/// that break the model's input schema: every broken cell is listed as
/// `{"row": index from 0, "line": CSV line, "column", "rule"}` and nothing is scored.
public struct PredictionEndpoint: Sendable {
    public var models: [String: ServedModel]

    public init(models: [ServedModel]) {
        var byName: [String: ServedModel] = [:]
        for model in models { byName[model.name] = model }
        self.models = byName
    }

    enum BodyFormat { case csv, json }

    public func predict(model name: String, contentType: String?, body: [UInt8]) -> ServeReply {
        guard let model = models[name] else {
            return .error(404, "no model named '\(name)' is served (served: \(models.keys.sorted().joined(separator: ", ")))")
        }
        // Parameters (`; charset=utf-8`) do not change how the rows read: CSV and JSON are UTF-8 here.
        let mediaType = (contentType ?? "").split(separator: ";").first.map {
            $0.trimmingCharacters(in: .whitespaces).lowercased()
        } ?? ""
        let format: BodyFormat
        switch mediaType {
        case "text/csv": format = .csv
        case "application/json": format = .json
        default:
            return .error(415, "unsupported Content-Type '\(contentType ?? "")': send text/csv or application/json")
        }
        let csv: [UInt8]
        let rowOfLine: [Int: Int]
        switch format {
        case .csv:
            csv = body
            rowOfLine = Self.recordLines(csv)
        case .json:
            let rows: JSONRows
            do {
                rows = try JSONRows(body: body, schemaColumns: model.artifact.transform.schema.columns.map(\.name))
            } catch JSONRows.Failure.malformed(let message) {
                return .error(400, message)
            } catch {
                return .error(400, "the body cannot be read: \(error)")
            }
            if !rows.cellErrors.isEmpty {
                let errors: [JSONValue] = rows.cellErrors.map { e in
                    .object(["row": .number(e.row), "line": .number(rows.lines[e.row]), "column": .string(e.column), "rule": .string(e.message)])
                }
                return .error(422, "\(Set(rows.cellErrors.map { $0.row }).count) row(s) break the model's input schema; nothing was scored", ["rows": .array(errors)])
            }
            if rows.lines.isEmpty { return jsonAnswer(model, []) }
            csv = rows.csv
            var map: [Int: Int] = [:]
            for (row, line) in rows.lines.enumerated() { map[line] = row }
            rowOfLine = map
        }
        let predictions: [ModelPredictor.Prediction]
        do {
            predictions = try ModelPredictor.score(model.artifact, source: CSVSource(name: "request body", bytes: csv))
        } catch let failure as ModelPredictor.Failure {
            // The mapper lists errors column by column; clients read them row by row.
            let ordered = failure.rowErrors.enumerated().sorted { ($0.element.line, $0.offset) < ($1.element.line, $1.offset) }.map(\.element)
            let errors: [JSONValue] = ordered.map { e in
                var object: [String: JSONValue] = ["line": .number(e.line), "column": .string(e.column), "rule": .string(e.message)]
                object["row"] = rowOfLine[e.line].map { .number($0) } ?? .null
                return .object(object)
            }
            let broken = Set(failure.rowErrors.map(\.line)).count
            return .error(422, "\(broken) row(s) break the model's input schema; nothing was scored", ["rows": .array(errors)])
        } catch let error as ModelArtifactError {
            return .error(400, error.description)
        } catch {
            return .error(500, "scoring failed: \(error)")
        }
        switch format {
        case .csv:
            return ServeReply(status: 200, contentType: "text/csv", body: Array(ModelPredictor.format(predictions, for: model.artifact).utf8))
        case .json:
            return jsonAnswer(model, predictions)
        }
    }

    private func jsonAnswer(_ model: ServedModel, _ predictions: [ModelPredictor.Prediction]) -> ServeReply {
        let artifact = model.artifact
        let items: [JSONValue] = predictions.map { p in
            var object: [String: JSONValue] = [:]
            if artifact.idColumn != nil { object["id"] = .string(p.id ?? "") }
            switch artifact.task {
            case .classification:
                object["prediction"] = .string(p.label ?? "")
                object["probability"] = .number(p.score)
            case .regression:
                object["prediction"] = .number(p.score)
            }
            return .object(object)
        }
        return .json(200, .object([
            "model": .string(model.name), "model_digest": .string(model.digest), "predictions": .array(items),
        ]))
    }

    /// Physical line → record index (from 0) of a CSV, for reporting row errors by index.
    /// Empty when the CSV cannot be scanned; the scorer then reports why.
    static func recordLines(_ csv: [UInt8]) -> [Int: Int] {
        var map: [Int: Int] = [:]
        var next = 0
        do {
            try CSVSource(name: "request body", bytes: csv).scan(header: { _ in }, batch: { batch in
                for r in 0 ..< batch.count {
                    map[batch.line(r)] = next
                    next += 1
                }
            })
        } catch {
            return [:]
        }
        return map
    }
}
