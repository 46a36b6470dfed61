import Foundation
import MLBuildTestSupport
import Testing

/// What `POST /v1/models/NAME/predict` answers: `predict`'s results, for CSV and JSON, and
/// `?partial=true` for batches with broken rows.
@Suite("mlbuild serve: predictions", .serialized)
struct ServePredictTests {
    @Test(.timeLimit(.minutes(5))) func answersEqualPredictForCSVAndJSONAcrossTwoModels() throws {
        let ws = try ServeFixture.built(["model:lr", "model:gbt"])
        let csvText = MLFixtures.csv(rows: 60, start: 1000)
        try ws.write("rows.csv", csvText)
        let server = try ServeFixture.start(ws, ["model:lr", "build/model/gbt/model.json"])
        for model in ["lr", "gbt"] {
            let predicted = try ServeFixture.predict(ws, "model:\(model)", "rows.csv")
            let csv = try server.request("POST", "/v1/models/\(model)/predict", headers: ServeFixture.csvType, body: Array(csvText.utf8))
            #expect(csv.status == 200)
            #expect(csv.header("content-type") == "text/csv")
            #expect(csv.text == predicted, "CSV in, CSV out: byte-identical to predict")

            let answer = try server.request(
                "POST", "/v1/models/\(model)/predict", headers: [("Content-Type", "application/json; charset=utf-8")],
                body: Array(ServeFixture.jsonRows(csvText).utf8))
            #expect(answer.status == 200, "\(answer.text)")
            let object = try ServeFixture.json(answer)
            #expect(object["model"] as? String == model)
            #expect(object["model_digest"] as? String == (try ServeFixture.digest(ws, "build/model/\(model)/model.json")))
            let predictions = try #require(object["predictions"] as? [[String: Any]])
            let lines = predicted.split(separator: "\n").dropFirst().map { $0.split(separator: ",").map(String.init) }
            #expect(predictions.count == lines.count)
            // Numbers compared as text: Foundation's JSONSerialization on Linux can round a
            // 17-digit number to a neighbouring double; the server's text is predict's text.
            #expect(Self.numbers("probability", in: answer.text) == lines.map { $0[2] }, "same number text as predict")
            for (p, fields) in zip(predictions, lines) {
                #expect(p["id"] as? String == fields[0])
                #expect(p["prediction"] as? String == fields[1])
            }
        }
        #expect(server.stop() == 0, "SIGTERM stops the server with exit 0: \(server.stderr)")
    }

    /// The text of every `"KEY": NUMBER` of a canonical JSON answer, in order.
    static func numbers(_ key: String, in text: String) -> [String] {
        text.split(separator: "\n").compactMap { line -> String? in
            guard let range = line.range(of: "\"\(key)\": ") else { return nil }
            return String(line[range.upperBound...]).trimmingCharacters(in: CharacterSet(charactersIn: ", "))
        }
    }

    /// Rows 1 and 3 of 6 are broken. Without `partial`: 422 listing both, nothing scored. With
    /// it: the same errors, plus the other four rows scored exactly as `predict` scores them
    /// alone, in input order, each with its row index. The same for a JSON body.
    @Test(.timeLimit(.minutes(5))) func partialScoresTheGoodRowsExactlyAsPredictDoes() throws {
        let ws = try ServeFixture.built()
        let rows = MLFixtures.csv(rows: 6, start: 500).split(separator: "\n").map(String.init)
        var broken = rows
        broken[2] = broken[2].replacingOccurrences(of: ",basic,", with: ",gold,").replacingOccurrences(of: ",plus,", with: ",gold,")
            .replacingOccurrences(of: ",pro,", with: ",gold,")
        let cells = broken[4].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        broken[4] = ([cells[0], "-4.0"] + cells[2...]).joined(separator: ",")
        let body = broken.joined(separator: "\n") + "\n"
        let good = ([rows[0]] + [1, 3, 5, 6].map { rows[$0] }).joined(separator: "\n") + "\n"
        try ws.write("good.csv", good)
        let predicted = try ServeFixture.predict(ws, "model:lr", "good.csv")
        let expected = predicted.split(separator: "\n").dropFirst().map { $0.split(separator: ",").map(String.init) }

        let server = try ServeFixture.start(ws, ["model:lr"])
        let whole = try server.request("POST", "/v1/models/lr/predict", headers: ServeFixture.csvType, body: Array(body.utf8))
        #expect(whole.status == 422)
        let wholeObject = try ServeFixture.json(whole)
        #expect(wholeObject["error"] is String)
        #expect(wholeObject["rows"] == nil, "the key is errors now")
        #expect(wholeObject["predictions"] == nil)
        let errors = try #require(wholeObject["errors"] as? [[String: Any]])
        #expect(errors.compactMap { $0["row"] as? Int } == [1, 3])
        #expect(errors.compactMap { $0["line"] as? Int } == [3, 5])
        #expect(errors.compactMap { $0["column"] as? String } == ["plan", "amount"])
        #expect(errors.allSatisfy { ($0["rule"] as? String)?.isEmpty == false })

        for (type, payload) in [("text/csv", body), ("application/json", ServeFixture.jsonRows(body))] {
            let partial = try server.request("POST", "/v1/models/lr/predict?partial=true", headers: [("Content-Type", type)], body: Array(payload.utf8))
            #expect(partial.status == 422, "\(type): \(partial.text)")
            let object = try ServeFixture.json(partial)
            #expect((object["errors"] as? [[String: Any]])?.compactMap { $0["row"] as? Int } == [1, 3], "\(type)")
            #expect(object["model"] as? String == "lr")
            let predictions = try #require(object["predictions"] as? [[String: Any]], "\(type)")
            #expect(predictions.compactMap { $0["row"] as? Int } == [0, 2, 4, 5], "\(type)")
            #expect(predictions.compactMap { $0["id"] as? String } == expected.map { $0[0] }, "\(type)")
            #expect(predictions.compactMap { $0["prediction"] as? String } == expected.map { $0[1] }, "\(type)")
            #expect(ServePredictTests.numbers("probability", in: partial.text) == expected.map { $0[2] }, "\(type): bit-identical to predict")
        }
        // Nothing broken: partial changes nothing.
        let clean = try server.request("POST", "/v1/models/lr/predict?partial=true", headers: ServeFixture.csvType, body: Array(good.utf8))
        #expect(clean.status == 200)
        #expect(clean.text == predicted)
        #expect(server.stop() == 0)
    }
}
