import Foundation
import MLBuildTestSupport
import Testing

/// What the server says about itself: /healthz, /readyz, /v1/models, /metrics, the JSON access
/// log and X-Request-Id.
@Suite("mlbuild serve: models, metrics and logs", .serialized)
struct ServeObservabilityTests {
    @Test(.timeLimit(.minutes(5))) func modelsEndpointShowsSignatureMetricsAndLineage() throws {
        let ws = try ServeFixture.built(["model:lr", "model:gbt"])
        let server = try ServeFixture.start(ws, ["model:lr", "model:gbt"])
        #expect(try ServeFixture.json(try server.request("GET", "/healthz"))["status"] as? String == "up")
        let ready = try server.request("GET", "/readyz")
        #expect(ready.status == 200)
        #expect(try ServeFixture.json(ready)["models"] as? Int == 2)

        let listed = try #require(try ServeFixture.json(try server.request("GET", "/v1/models"))["models"] as? [[String: Any]])
        #expect(listed.compactMap { $0["name"] as? String } == ["gbt", "lr"])
        #expect(listed.compactMap { $0["algorithm"] as? String } == ["gradient_boosting", "logistic_regression"])
        let lr = try #require(listed.last)
        let modelJSON = try MLFixtures.json(ws, "build/model/lr/model.json")
        #expect(lr["digest"] as? String == (try ServeFixture.digest(ws, "build/model/lr/model.json")))
        #expect((lr["input_columns"] as? [[String: Any]])?.compactMap { $0["name"] as? String } == ["id", "amount", "plan", "score", "active", "label"])
        #expect((lr["input_columns"] as? [[String: Any]])?.compactMap { $0["role"] as? String } == ["id", "feature", "feature", "feature", "feature", "label"])
        #expect(lr["output_columns"] as? [String] == ["id", "prediction", "probability"])
        let metrics = try #require(lr["metrics"] as? [String: Any])
        #expect(metrics["auc"] as? Double == (modelJSON["metrics"] as? [String: Any])?["auc"] as? Double)
        let evaluation = try #require(lr["evaluation"] as? [String: Any], "metrics.json's gates and row counts")
        #expect((evaluation["test_rows"] as? Int ?? 0) + (evaluation["train_rows"] as? Int ?? 0) == 400)
        #expect((evaluation["gates"] as? [[String: Any]])?.first?["metric"] as? String == "auc")
        let lineage = try #require(lr["lineage"] as? [String: Any])
        let recorded = try #require(modelJSON["lineage"] as? [String: Any])
        #expect(lineage["target"] as? String == "model:lr")
        #expect(lineage["action_key"] as? String == recorded["action_key"] as? String)
        #expect(lineage["seed"] as? String == "7")
        #expect(lineage["mlbuild_version"] as? String == recorded["mlbuild_version"] as? String)
        #expect((lineage["features"] as? [String: Any])?["target"] as? String == "features:rows")
        #expect((lineage["features"] as? [String: Any])?["outputs_digest"] as? String
                == (recorded["features"] as? [String: Any])?["outputs_digest"] as? String)
        #expect((lineage["datasets"] as? [[String: Any]])?.compactMap { $0["target"] as? String } == ["dataset:rows", "dataset:rows"]
                || (lineage["datasets"] as? [[String: Any]])?.compactMap { $0["target"] as? String } == ["dataset:rows"])
        #expect((lineage["features"] as? [String: Any])?["files"] == nil, "a summary: no per-file lists")
        #expect(server.stop() == 0)
    }

    /// /metrics counts exactly what was sent; every request has one JSON access-log line with
    /// its fields; X-Request-Id is echoed, or generated when absent.
    @Test(.timeLimit(.minutes(5))) func metricsAndAccessLogsCountWhatWasSent() throws {
        let ws = try ServeFixture.built()
        let server = try ServeFixture.start(ws, ["model:lr"])
        let empty = try server.request("GET", "/metrics")
        #expect(empty.status == 200)
        #expect(empty.header("content-type")?.hasPrefix("text/plain; version=0.0.4") == true)
        #expect(empty.text.contains("mlbuild_serve_model_info{model=\"lr\",digest=\"\(try ServeFixture.digest(ws, "build/model/lr/model.json"))\"} 1.0"))
        #expect(empty.text.contains("mlbuild_serve_rows_total{model=\"lr\"} 0"), "\(empty.text)")

        let rows = Array(MLFixtures.csv(rows: 7).utf8)
        for _ in 0 ..< 3 {
            #expect(try server.request("POST", "/v1/models/lr/predict", headers: ServeFixture.csvType, body: rows).status == 200)
        }
        let tagged = try server.request("POST", "/v1/models/lr/predict", headers: ServeFixture.csvType + [("X-Request-Id", "trace-42")], body: rows)
        #expect(tagged.header("x-request-id") == "trace-42")
        let untagged = try server.request("GET", "/v1/nothing")
        #expect(untagged.status == 404)
        let generated = try #require(untagged.header("x-request-id"))
        #expect(generated.count == 32 && generated.allSatisfy(\.isHexDigit), "\(generated)")
        #expect(try server.request("POST", "/v1/models/lr/predict", headers: [("Content-Type", "text/plain")], body: rows).status == 415)
        #expect(try server.request("POST", "/v1/models/zzz/predict", headers: ServeFixture.csvType, body: rows).status == 404)

        let text = try server.request("GET", "/metrics").text
        for line in [
            "mlbuild_serve_requests_total{model=\"lr\",code=\"200\"} 4",
            "mlbuild_serve_requests_total{model=\"lr\",code=\"415\"} 1",
            "mlbuild_serve_requests_total{model=\"\",code=\"404\"} 2",
            "mlbuild_serve_requests_total{model=\"\",code=\"200\"} 1",
            "mlbuild_serve_rows_total{model=\"lr\"} 28",
            "mlbuild_serve_errors_total{code=\"404\"} 2",
            "mlbuild_serve_errors_total{code=\"415\"} 1",
            "mlbuild_serve_request_duration_seconds_count{model=\"lr\"} 5",
            "mlbuild_serve_in_flight_requests 1.0",
            "# TYPE mlbuild_serve_request_duration_seconds histogram",
        ] {
            #expect(text.contains(line + "\n"), "\(line) in\n\(text)")
        }

        #expect(server.stop() == 0)
        let log = server.logLines
        let requests = log.filter { $0["event"] as? String == "request" }
        #expect(requests.count == 9, "one line per request: \(requests.count)")
        for line in requests {
            for field in ["time", "method", "path", "status", "rows", "latency_ms", "request_id", "model", "level"] {
                #expect(line[field] != nil, "\(field) in \(line)")
            }
            let time = line["time"] as? String ?? ""
            #expect(time.count == 24 && time.hasSuffix("Z") && time.dropFirst(10).hasPrefix("T"), "RFC 3339 UTC: \(time)")
            #expect(line["latency_ms"] is Double || line["latency_ms"] is Int)
        }
        let tagLine = try #require(requests.first { $0["request_id"] as? String == "trace-42" })
        #expect(tagLine["method"] as? String == "POST")
        #expect(tagLine["path"] as? String == "/v1/models/lr/predict")
        #expect(tagLine["status"] as? Int == 200)
        #expect(tagLine["rows"] as? Int == 7)
        #expect(tagLine["model"] as? String == "lr")
        #expect(requests.contains { $0["request_id"] as? String == generated && $0["status"] as? Int == 404 })
        #expect(log.contains { $0["event"] as? String == "serving" })
        #expect(log.contains { $0["event"] as? String == "shutdown" && $0["phase"] as? String == "stopped" })
        #expect(server.stderr.hasPrefix("mlbuild serve: listening on http://127.0.0.1:"), "the plain first line stays")
    }
}
