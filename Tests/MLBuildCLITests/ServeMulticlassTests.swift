import Foundation
import MLBuildTestSupport
import Testing

/// `mlbuild serve` with a multi-class model (one `probability_<class>` per class) and a binary
/// model whose Mlfile sets its decision threshold (recorded with every prediction).
@Suite("mlbuild serve: multi-class and thresholded models", .serialized)
struct ServeMulticlassTests {
    @Test(.timeLimit(.minutes(5))) func aMulticlassModelAnswersEveryClassProbabilityAsPredictDoes() throws {
        let ws = try TrainingBreadthTests.flowerWorkspace()
        let build = try ws.build(["model:gbt"])
        #expect(build.result.status == 0, "\(build.result.output)")
        let rows = TrainingBreadthTests.flowers(rows: 30).split(separator: "\n").prefix(12).joined(separator: "\n") + "\n"
        try ws.write("rows.csv", rows)
        let predicted = try ServeFixture.predict(ws, "model:gbt", "rows.csv")
        let server = try ServeFixture.start(ws, ["model:gbt"])
        let csv = try server.request("POST", "/v1/models/gbt/predict", headers: ServeFixture.csvType, body: Array(rows.utf8))
        #expect(csv.status == 200)
        #expect(csv.text == predicted, "CSV in, CSV out: byte-identical to predict")

        let json = "{\"rows\":[" + rows.split(separator: "\n").dropFirst().map { line -> String in
            let f = line.split(separator: ",").map(String.init)
            return "{\"id\":\"\(f[0])\",\"petal\":\(f[1]),\"sepal\":\(f[2]),\"colour\":\"\(f[3])\"}"
        }.joined(separator: ",") + "]}"
        let answer = try server.request("POST", "/v1/models/gbt/predict", headers: ServeFixture.jsonType, body: Array(json.utf8))
        #expect(answer.status == 200, "\(answer.text)")
        let predictions = try #require(try ServeFixture.json(answer)["predictions"] as? [[String: Any]])
        let lines = predicted.split(separator: "\n").dropFirst().map { $0.split(separator: ",").map(String.init) }
        #expect(predictions.count == 11 && lines.count == 11)
        for (p, fields) in zip(predictions, lines) {
            #expect(Set(p.keys) == ["id", "prediction", "probability_setosa", "probability_versicolor", "probability_virginica"])
            #expect(p["prediction"] as? String == fields[1])
            #expect(p["id"] as? String == fields[0])
        }
        let models = try ServeFixture.json(try server.request("GET", "/v1/models"))
        let entry = try #require((models["models"] as? [[String: Any]])?.first)
        #expect(entry["classes"] as? [String] == ["setosa", "versicolor", "virginica"])
        #expect(entry["output_columns"] as? [String] == ["id", "prediction", "probability_setosa", "probability_versicolor", "probability_virginica"])
        #expect(entry["threshold"] == nil)
        #expect(server.stop() == 0, "\(server.stderr)")
    }

    @Test(.timeLimit(.minutes(5))) func aThresholdedModelRecordsItsThresholdWithEveryPrediction() throws {
        let extra = """

            model lr35
                features = features:rows
                algorithm = logistic_regression
                threshold = 0.35
            """
        let ws = try MLFixtures.workspace(mlfile: MLFixtures.mlfile(extraModel: extra))
        #expect(try ws.build(["model:lr35"]).result.status == 0)
        let csvText = MLFixtures.csv(rows: 40, start: 2000)
        try ws.write("rows.csv", csvText)
        let predicted = try ServeFixture.predict(ws, "model:lr35", "rows.csv")
        let server = try ServeFixture.start(ws, ["model:lr35"])
        let csv = try server.request("POST", "/v1/models/lr35/predict", headers: ServeFixture.csvType, body: Array(csvText.utf8))
        #expect(csv.text == predicted)
        let answer = try server.request("POST", "/v1/models/lr35/predict", headers: ServeFixture.jsonType,
                                        body: Array(ServeFixture.jsonRows(csvText).utf8))
        #expect(answer.status == 200, "\(answer.text)")
        let predictions = try #require(try ServeFixture.json(answer)["predictions"] as? [[String: Any]])
        #expect(predictions.count == 40)
        for p in predictions {
            let probability = try #require(p["probability"] as? Double)
            #expect(p["threshold"] as? Double == 0.35)
            #expect(p["prediction"] as? String == (probability >= 0.35 ? "true" : "false"))
        }
        let models = try ServeFixture.json(try server.request("GET", "/v1/models"))
        let entry = try #require((models["models"] as? [[String: Any]])?.first)
        #expect(entry["threshold"] as? Double == 0.35)
        #expect(entry["threshold_method"] as? String == "fixed")
        #expect(server.stop() == 0, "\(server.stderr)")
    }
}
