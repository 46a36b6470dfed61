import Foundation
import MLBuildHistory
import Testing
@testable import MLBuildTracking

/// The requests the export builds from history records (no server: the end-to-end tests in
/// MLBuildCLITests run against a real `mlflow server`).
@Suite struct MLflowRequestTests {
    /// Decoded (RunSummary has no public memberwise init; the history's JSON names are its coding keys).
    static let run: RunSummary = {
        let json = """
            {"id": 4, "started_at": "2026-01-02T03:04:05.250Z", "finished_at": "2026-01-02T03:04:07.500Z",
             "git_revision": "0123abcd", "git_dirty": true, "user": "ana", "command_line": "mlbuild", "exit_status": 0,
             "mlfile_path": "Mlfile", "built": 1, "restored": 0, "fresh": 0, "failed": 0, "experiment": "exp-1a2b"}
            """
        do { return try JSONDecoder().decode(RunSummary.self, from: Data(json.utf8)) } catch {
            preconditionFailure("test fixture: \(error)")
        }
    }()

    static func target(params: [TargetRecord.Parameter] = [], metrics: [TargetRecord.Metric] = [],
                       outputs: [TargetRecord.Output] = []) -> TargetRecord {
        var record = TargetRecord(target: "model:churn", kind: "model", status: "built", actionKey: "k1", seconds: 1, seed: 7,
                                  params: params)
        record.metrics = metrics
        record.outputs = outputs
        return record
    }

    @Test func aBatchHoldsParamsMetricsAtTheRunsEndAndTheDocumentedTags() throws {
        let target = Self.target(
            params: [.init(name: "l2", value: "0.1"), .init(name: "token", value: "<secret>"),
                     .init(name: "long", value: String(repeating: "x", count: 7000))],
            metrics: [.init(name: "auc", value: 0.8123456789012345), .init(name: "nan", value: .nan)],
            outputs: [.init(path: "build/model/churn/model.json", digest: "ab12")])
        let batch = MLflowExport.batch(Self.run, target)
        #expect(batch.params.map(\.key) == ["l2", "token", "long"])
        #expect(batch.params[1].value == "<secret>")
        #expect(batch.params[2].value.count == 6000)
        #expect(batch.metrics == [MLflowMetric(key: "auc", value: 0.8123456789012345, timestamp: 1_767_323_047_500, step: 0)])
        #expect(Dictionary(uniqueKeysWithValues: batch.tags.map { ($0.key, $0.value) }) == [
            "mlbuild.target": "model:churn", "mlbuild.run_id": "4", "mlbuild.status": "built", "mlflow.source.name": "Mlfile",
            "mlflow.user": "ana", "mlbuild.action_key": "k1", "mlflow.source.git.commit": "0123abcd", "mlbuild.git_dirty": "true",
            "mlbuild.output.build/model/churn/model.json": "sha256:ab12", "mlbuild.experiment": "exp-1a2b",
        ])
        #expect(MLflowExport.milliseconds(Self.run.startedAt) == 1_767_323_045_250)
    }

    @Test func batchesKeepWithinMLflowsLimits() {
        let params = (0..<250).map { MLflowKeyValue(key: "p\($0)", value: "v") }
        let metrics = (0..<1700).map { MLflowMetric(key: "m\($0)", value: Double($0), timestamp: 0, step: 0) }
        let tags = (0..<30).map { MLflowKeyValue(key: "t\($0)", value: "v") }
        let batches = MLflowClient.batches(runID: "r", params: params, metrics: metrics, tags: tags)
        #expect(batches.map(\.params.count) == [100, 100, 50])
        #expect(batches.map(\.metrics.count) == [800, 800, 100])
        #expect(batches.map(\.tags.count) == [30, 0, 0])
        #expect(batches.allSatisfy { $0.params.count + $0.metrics.count + $0.tags.count <= 1000 && $0.run_id == "r" })
        #expect(batches.flatMap(\.params) == params && batches.flatMap(\.metrics) == metrics && batches.flatMap(\.tags) == tags)
        #expect(MLflowClient.batches(runID: "r", params: [], metrics: [], tags: []).count == 1)
    }

    @Test func requestsEncodeMetricsExactly() throws {
        let request = LogBatchRequest(run_id: "r", params: [], metrics: [
            MLflowMetric(key: "auc", value: 0.1 + 0.2, timestamp: 1, step: 0),
        ], tags: [])
        let text = String(decoding: try JSONEncoder().encode(request), as: UTF8.self)
        #expect(text.contains(#""value":0.30000000000000004"#))
    }

    @Test func artifactsAreModelMetricsAndPlotsRelativeToTheModelDirectory() {
        let target = Self.target(outputs: [
            .init(path: "build/model/churn/metrics.json", digest: "1"), .init(path: "build/model/churn/model.json", digest: "2"),
            .init(path: "build/model/churn/plots/roc.json", digest: "3"), .init(path: "build/model/churn/plots/roc.svg", digest: "4"),
            .init(path: "build/model/churn/other.bin", digest: "5"), .init(path: "elsewhere/model.txt", digest: "6"),
        ])
        #expect(MLflowExport.artifacts(of: target).map(\.artifactPath) == ["metrics.json", "model.json", "plots/roc.json", "plots/roc.svg"])
        #expect(MLflowExport.artifacts(of: Self.target(outputs: [.init(path: "x/metrics.json", digest: "1")])).isEmpty)
    }

    @Test func keysAndFilterLiteralsAreSafe() {
        #expect(MLflowExport.key("mlbuild.output.build/a b+c%.json") == "mlbuild.output.build/a b_c_.json")
        #expect(MLflowExport.key("é") == "_")
        #expect(MLflowExport.quoted("model:churn") == "'model:churn'")
        #expect(MLflowExport.quoted("it's") == "\"it's\"")
    }

    @Test func artifactURLsGoThroughTheProxyOnly() throws {
        let client = try MLflowClient(url: "http://127.0.0.1:5000/prefix/", environment: [:])
        #expect(client.artifactURL(artifactURI: "mlflow-artifacts:/1/abc/artifacts", path: "plots/roc.svg")?.absoluteString
            == "http://127.0.0.1:5000/prefix/api/2.0/mlflow-artifacts/artifacts/1/abc/artifacts/plots/roc.svg")
        #expect(client.artifactURL(artifactURI: "mlflow-artifacts://host:9/1/abc/artifacts", path: "model.json")?.absoluteString
            == "http://127.0.0.1:5000/prefix/api/2.0/mlflow-artifacts/artifacts/1/abc/artifacts/model.json")
        #expect(client.artifactURL(artifactURI: "file:///srv/mlruns/1/abc/artifacts", path: "model.json") == nil)
        #expect(client.artifactURL(artifactURI: "/srv/mlruns/1/abc/artifacts", path: "model.json") == nil)
        #expect(client.artifactURL(artifactURI: "mlflow-artifacts:/1/../x", path: "model.json") == nil)
    }

    @Test func urlsAreShownWithoutCredentials() throws {
        #expect(MLflowClient.redacted("http://u:p@host:5000/x") == "http://host:5000/x")
        #expect(MLflowClient.redacted("http://host:5000/x@y") == "http://host:5000/x@y")
        let client = try MLflowClient(url: "https://alice:hunter2@mlflow.example:8443/", environment: [:])
        #expect(client.displayURL == "https://mlflow.example:8443")
        #expect(!client.baseURL.absoluteString.contains("hunter2"))
        #expect(throws: MLflowError.self) { try MLflowClient(url: "ftp://x", environment: [:]) }
        #expect(throws: MLflowError.self) { try MLflowClient(url: "not a url", environment: [:]) }
    }

    @Test func credentialsComeFromMLflowsEnvironment() {
        #expect(MLflowCredentials.header(environment: ["MLFLOW_TRACKING_TOKEN": "tok"])?.value == "Bearer tok")
        let basic = MLflowCredentials.header(environment: ["MLFLOW_TRACKING_USERNAME": "u", "MLFLOW_TRACKING_PASSWORD": "p"])
        #expect(basic?.value == "Basic " + Data("u:p".utf8).base64EncodedString())
        #expect("\(basic.map { "\($0)" } ?? "")" == "Authorization: <redacted>")
        #expect(MLflowCredentials.header(environment: [:]) == nil)
    }

    @Test func defaultExperimentIsNamedAfterTheWorkspaceDirectory() {
        #expect(MLflowExport.defaultExperimentName(workspaceRoot: "/home/ana/churn") == "mlbuild/churn")
        #expect(MLflowExport.defaultExperimentName(workspaceRoot: "/home/ana/churn/") == "mlbuild/churn")
    }

    @Test func errorBodiesAreShortAndPrintable() {
        #expect(MLflowClient.errorMessage(Data(#"{"error_code": "INVALID_PARAMETER_VALUE", "message": "bad\nkey"}"#.utf8))
            == "INVALID_PARAMETER_VALUE: bad key")
        #expect(MLflowClient.errorMessage(Data()) == "empty body")
        #expect(MLflowClient.excerpt(Data(String(repeating: "a", count: 500).utf8)).count == 200)
    }
}
