import Foundation
import MLBuildCore
import MLBuildTestSupport
import Testing

/// One real `mlflow server` (PyPI mlflow from scripts/install-test-tools) for the whole suite,
/// started before its first test and stopped after its last, also when a test fails.
struct MLflowServerScope: SuiteTrait, TestScoping {
    @TaskLocal static var server: MLflowServer?

    var isRecursive: Bool { false }

    func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        // Started and stopped on a thread of their own: waiting for mlflow must not hold a thread
        // of the test pool (other suites' async network tests run on it meanwhile).
        let server = try await Self.onThread { try MLflowServer(executable: MLflowServer.executable(packageRoot: MLFixtures.repositoryRoot)) }
        do {
            try await Self.$server.withValue(server) { try await function() }
        } catch {
            try? await Self.onThread { server.stop() }
            throw error
        }
        try await Self.onThread { server.stop() }
    }

    static func onThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try work() }) }.start()
        }
    }
}

/// `mlbuild runs export --mlflow URL` and `--mlflow URL` / `MLBUILD_MLFLOW_URI` on a build, read
/// back through MLflow's REST API; a server that is down, rejects or answers garbage.
@Suite(.serialized, MLflowServerScope())
struct MLflowExportTests {
    static func server() throws -> MLflowServer {
        try #require(MLflowServerScope.server, "the suite's mlflow server")
    }

    static func json(_ response: HTTPConnection.Response) throws -> [String: Any] {
        #expect(response.status == 200, "\(response.status): \(response.text)")
        return try #require(try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any])
    }

    /// An MLflow run as runs/search returns it, decoded exactly (metric values as Double).
    struct Run: Decodable {
        struct Info: Decodable {
            var run_id: String
            var run_name: String
            var status: String
            var start_time: Int64
            var end_time: Int64?
            var experiment_id: String
        }
        struct KeyValue: Decodable { var key: String; var value: String }
        struct Metric: Decodable { var key: String; var value: Double; var step: Int64 }
        struct Data: Decodable {
            var params: [KeyValue]?
            var metrics: [Metric]?
            var tags: [KeyValue]?
        }
        var info: Info
        var data: Data

        var params: [String: String] { Dictionary((data.params ?? []).map { ($0.key, $0.value) }, uniquingKeysWith: { $1 }) }
        var metrics: [String: Double] { Dictionary((data.metrics ?? []).map { ($0.key, $0.value) }, uniquingKeysWith: { $1 }) }
        var tags: [String: String] { Dictionary((data.tags ?? []).map { ($0.key, $0.value) }, uniquingKeysWith: { $1 }) }
    }

    struct SearchAnswer: Decodable { var runs: [Run]? }

    /// The experiment's id, or nil when the server has no experiment of that name.
    static func experimentID(_ server: MLflowServer, _ name: String) throws -> String? {
        let query = name.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? name
        let response = try server.get("experiments/get-by-name?experiment_name=\(query)")
        if response.status == 404 { return nil }
        let experiment = try #require(try json(response)["experiment"] as? [String: Any])
        return experiment["experiment_id"] as? String
    }

    /// Every run of the experiment, sorted by run name.
    static func runs(_ server: MLflowServer, experiment: String) throws -> [Run] {
        let response = try server.post("runs/search", json: #"{"experiment_ids": ["\#(experiment)"], "max_results": 100}"#)
        #expect(response.status == 200, "\(response.text)")
        let answer = try JSONDecoder().decode(SearchAnswer.self, from: Data(response.body))
        return (answer.runs ?? []).sorted { $0.info.run_name < $1.info.run_name }
    }

    /// The lines of `text` that mention MLflow.
    static func mlflowLines(_ text: String) -> [String] {
        text.split(separator: "\n").map(String.init).filter { $0.contains("MLflow") }
    }

    static func gitWorkspace() throws -> (MLBuildWorkspace, String) {
        let ws = try MLFixtures.workspace()
        let env: [String: String?] = ["GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@e", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@e"]
        try ws.write(".gitignore", "build/\ncache/\n.mlbuild/\n")
        let git = try ProcessRunner.shell("git init -q && git add -A && git commit -q -m one && git rev-parse HEAD", in: ws.path, environment: env)
        #expect(git.status == 0, "\(git.output)")
        return (ws, git.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    @Test func exportLogsOneMLflowRunPerModelWithParamsMetricsTagsAndArtifacts() throws {
        let server = try Self.server()
        let (ws, commit) = try Self.gitWorkspace()
        let build = try ws.build([])
        #expect(build.result.status == 0, "\(build.result.output)")
        #expect(Self.mlflowLines(build.result.output).isEmpty, "no export without --mlflow")

        let export = try ws.run(["runs", "export", "--mlflow", server.url, "--mlflow-experiment", "churn-export"])
        #expect(export.status == 0, "\(export.output)")
        #expect(export.stderr == "")
        let experiment = try #require(try Self.experimentID(server, "churn-export"))
        let runs = try Self.runs(server, experiment: experiment)
        #expect(runs.map(\.info.run_name) == ["model:gbt", "model:lr"])
        #expect(export.stdout == runs.map { "exported \($0.info.run_name) to MLflow run \($0.info.run_id) (experiment churn-export)\n" }.joined())

        let shown = try #require(try JSONSerialization.jsonObject(with: Data(try ws.run(["runs", "show", "1", "--json"]).stdout.utf8))
            as? [String: Any])
        let historyTargets = try #require(shown["targets"] as? [[String: Any]])
        for run in runs {
            let target = run.info.run_name
            let name = String(target.dropFirst("model:".count))
            let history = try #require(historyTargets.first { $0["target"] as? String == target })
            #expect(run.info.status == "FINISHED")
            #expect(run.info.end_time != nil)
            // Params: the Mlfile's values, as the history recorded them.
            #expect(run.params == history["params"] as? [String: String])
            if target == "model:lr" {
                #expect(run.params == ["algorithm": "logistic_regression", "features": "features:rows", "gate": "auc >= 0.7", "l2": "1.0"])
            }
            // Metrics: every number of metrics.json, exactly.
            let file = try MLFixtures.metrics(ws, model: name)
            let expected = file.metrics.compactMapValues(\.number)
            #expect(run.metrics == expected)
            #expect(run.data.metrics?.allSatisfy { $0.step == 0 } == true)
            // Tags.
            let tags = run.tags
            #expect(tags["mlbuild.target"] == target)
            #expect(tags["mlbuild.run_id"] == "1")
            #expect(tags["mlbuild.action_key"] == build.keys[target])
            #expect(tags["mlflow.source.git.commit"] == commit)
            #expect(tags["mlbuild.git_dirty"] == "false")
            #expect(tags["mlflow.source.name"] == "Mlfile")
            let outputs = try #require(history["outputs"] as? [String: String])
            #expect(outputs.count >= 8)
            for (path, _) in outputs {
                let bytes = try MLFixtures.bytes(ws, path)
                #expect(tags["mlbuild.output.\(path)"] == "sha256:" + ContentDigest.of(bytes).hex, "\(path)")
            }
            // Artifacts: model.json, metrics.json and the plots, model.json byte for byte.
            let root = try Self.json(try server.get("artifacts/list?run_id=\(run.info.run_id)"))
            let files = try #require(root["files"] as? [[String: Any]])
            #expect(files.compactMap { $0["path"] as? String }.sorted() == ["metrics.json", "model.json", "plots"])
            let plots = try Self.json(try server.get("artifacts/list?run_id=\(run.info.run_id)&path=plots"))
            let plotFiles = try #require(plots["files"] as? [[String: Any]]).compactMap { $0["path"] as? String }.sorted()
            #expect(plotFiles == outputs.keys.filter { $0.contains("/plots/") }
                .map { "plots/" + ($0 as NSString).lastPathComponent }.sorted())
            #expect(plotFiles.count >= 6)
            let model = try server.raw("/api/2.0/mlflow-artifacts/artifacts/\(experiment)/\(run.info.run_id)/artifacts/model.json")
            #expect(model.status == 200)
            #expect(Data(model.body) == (try MLFixtures.bytes(ws, "build/model/\(name)/model.json")))
        }
    }

    @Test func exportingTheSameRunAgainCreatesNoDuplicates() throws {
        let server = try Self.server()
        let ws = try MLFixtures.workspace()
        #expect(try ws.run([]).status == 0)
        let first = try ws.run(["runs", "export", "--mlflow", server.url, "--mlflow-experiment", "again", "1"])
        #expect(first.status == 0, "\(first.output)")
        let experiment = try #require(try Self.experimentID(server, "again"))
        let runs = try Self.runs(server, experiment: experiment)
        #expect(runs.count == 2)

        let second = try ws.run(["runs", "export", "--mlflow", server.url, "--mlflow-experiment", "again", "--json"])
        #expect(second.status == 0, "\(second.output)")
        let answer = try #require(try JSONSerialization.jsonObject(with: Data(second.stdout.utf8)) as? [String: Any])
        #expect(answer["run"] as? Int == 1)
        #expect(answer["experiment"] as? String == "again")
        #expect(answer["experiment_id"] as? String == experiment)
        let targets = try #require(answer["targets"] as? [[String: Any]])
        #expect(targets.map { $0["target"] as? String } == ["model:gbt", "model:lr"])
        #expect(targets.map { $0["status"] as? String } == ["already exported", "already exported"])
        #expect(targets.map { $0["mlflow_run_id"] as? String } == runs.map(\.info.run_id))
        #expect(try Self.runs(server, experiment: experiment).map(\.info.run_id) == runs.map(\.info.run_id))

        let text = try ws.run(["runs", "export", "--mlflow", server.url, "--mlflow-experiment", "again"])
        #expect(text.stdout == runs.map { "\($0.info.run_name) already exported to MLflow run \($0.info.run_id) (experiment again)\n" }.joined())
    }

    @Test func aBuildWithMlflowOrMLBUILD_MLFLOW_URIExportsItsRun() throws {
        let server = try Self.server()
        let ws = try MLFixtures.workspace()
        let build = try ws.run(["--mlflow", server.url, "--mlflow-experiment", "on-build"])
        #expect(build.status == 0, "\(build.output)")
        let experiment = try #require(try Self.experimentID(server, "on-build"))
        let runs = try Self.runs(server, experiment: experiment)
        #expect(runs.map(\.info.run_name) == ["model:gbt", "model:lr"])
        #expect(runs.map { $0.tags["mlbuild.run_id"] } == ["1", "1"])
        for run in runs {
            #expect(build.stdout.contains("exported \(run.info.run_name) to MLflow run \(run.info.run_id) (experiment on-build)\n"))
        }
        // A build with nothing to do is recorded in full (not by the no-op fast path) and exported.
        Thread.sleep(forTimeInterval: 0.25)
        #expect(try ws.run([]).status == 0)
        let again = try ws.run(["--mlflow", server.url, "--mlflow-experiment", "on-build"], environment: ["MLBUILD_TRACE": "1"])
        #expect(again.status == 0, "\(again.output)")
        #expect(again.stderr.contains("trace: no-op fast path: miss (not tried with an MLflow export)\n"), "\(again.stderr)")
        let third = try Self.runs(server, experiment: experiment).filter { $0.tags["mlbuild.run_id"] == "3" }
        #expect(third.map(\.info.run_name) == ["model:gbt", "model:lr"])
        #expect(third.allSatisfy { $0.tags["mlbuild.status"] == "fresh" && $0.metrics["auc"] != nil }, "\(third)")

        // The environment variable, and the default experiment: mlbuild/<workspace directory>.
        let other = try MLFixtures.workspace()
        let viaEnvironment = try other.run(["model:lr"], environment: ["MLBUILD_MLFLOW_URI": server.url])
        #expect(viaEnvironment.status == 0, "\(viaEnvironment.output)")
        let name = "mlbuild/" + URL(fileURLWithPath: other.path).lastPathComponent
        let defaultExperiment = try #require(try Self.experimentID(server, name))
        let logged = try Self.runs(server, experiment: defaultExperiment)
        #expect(logged.map(\.info.run_name) == ["model:lr"])
        #expect(logged.first?.metrics["auc"] == (try MLFixtures.metrics(other, model: "lr")).metrics["auc"]?.number)
        #expect(viaEnvironment.stdout.contains("exported model:lr to MLflow run \(logged.first?.info.run_id ?? "?") (experiment \(name))\n"))
    }

    @Test func aServerThatIsDownNeverFailsABuildButFailsRunsExport() throws {
        let closed = try MLflowServer.unusedPort()
        let ws = try MLFixtures.workspace()
        // Credentials in the URL are never printed.
        let url = "http://alice:hunter2@127.0.0.1:\(closed)"
        let build = try ws.run(["--mlflow", url])
        #expect(build.status == 0, "\(build.output)")
        #expect(ws.exists("build/model/lr/model.json") && ws.exists("build/model/gbt/model.json"))
        let warnings = Self.mlflowLines(build.output)
        #expect(warnings.count == 1, "\(build.output)")
        #expect(warnings.first?.hasPrefix("warning: MLflow export to http://127.0.0.1:\(closed) failed: ") == true, "\(warnings)")
        #expect(warnings.first?.contains("connection refused") == true, "\(warnings)")
        #expect(!build.output.contains("hunter2") && !build.output.contains("alice"))

        let export = try ws.run(["runs", "export", "--mlflow", url])
        #expect(export.status == 1)
        #expect(export.stdout == "")
        #expect(export.stderr.hasPrefix("error: MLflow export to http://127.0.0.1:\(closed) failed: "), "\(export.stderr)")
        #expect(export.stderr.contains("connection refused"))
        #expect(!export.output.contains("hunter2"))

        let missing = try ws.run(["runs", "export"])
        #expect(missing.status == 2)
        #expect(missing.stderr == "error: no MLflow tracking server: give --mlflow URL (or set MLBUILD_MLFLOW_URI)\n")
    }

    @Test(arguments: [
        (HostileCacheServer.Answer.status(500), "HTTP 500"),
        (.body(Data("<html>not json".utf8)), "unexpected answer"),
    ])
    func aServerThatRejectsOrAnswersGarbageGivesOneWarning(answer: HostileCacheServer.Answer, reason: String) throws {
        let hostile = try HostileCacheServer()
        defer { hostile.stop() }
        hostile.answerEverything(with: answer)
        let ws = try MLFixtures.workspace()
        let url = hostile.baseURL.absoluteString
        let build = try ws.run(["--mlflow", url], environment: ["MLFLOW_TRACKING_TOKEN": "t0ken-xyz"])
        #expect(build.status == 0, "\(build.output)")
        #expect(ws.exists("build/model/lr/model.json"))
        let warnings = Self.mlflowLines(build.output)
        #expect(warnings.count == 1, "\(build.output)")
        #expect(warnings.first?.hasPrefix("warning: MLflow export to \(url) failed: ") == true, "\(warnings)")
        #expect(warnings.first?.contains(reason) == true, "\(warnings)")
        // The token went to the server as MLflow's bearer token, and nowhere else.
        #expect(hostile.requests.first?.headers["authorization"] == "Bearer t0ken-xyz")
        #expect(!build.output.contains("t0ken-xyz"))
        #expect(try ws.run(["runs"]).stdout.contains("t0ken-xyz") == false)

        let export = try ws.run(["runs", "export", "--mlflow", url])
        #expect(export.status == 1)
        #expect(export.stderr.hasPrefix("error: MLflow export to \(url) failed: "), "\(export.stderr)")
        #expect(export.stderr.contains(reason))
    }

    @Test func secretsNeverReachMLflow() throws {
        let server = try Self.server()
        let ws = try MLFixtures.workspace(mlfile: MLFixtures.mlfile() + """

        task notify
            outputs = notified.txt
            run = echo "${secret:WEBHOOK_TOKEN}" > /dev/null; touch notified.txt
            env = TOKEN=${secret:WEBHOOK_TOKEN}
        """)
        let secret = "s3cr3t-Webhook-Value"
        let build = try ws.run(["--mlflow", server.url, "--mlflow-experiment", "secrets"], environment: ["WEBHOOK_TOKEN": secret])
        #expect(build.status == 0, "\(build.output)")
        let experiment = try #require(try Self.experimentID(server, "secrets"))
        let search = try server.post("runs/search", json: #"{"experiment_ids": ["\#(experiment)"], "max_results": 100}"#)
        #expect(search.status == 200)
        #expect(!search.text.contains(secret))
        let runs = try Self.runs(server, experiment: experiment)
        #expect(runs.map(\.info.run_name) == ["model:gbt", "model:lr"])
        // The history holds the task's secret as <secret>; only model targets are exported.
        let shown = try ws.run(["runs", "show", "1"])
        #expect(shown.stdout.contains("<secret>"), "\(shown.stdout)")
        #expect(!shown.stdout.contains(secret))
    }

    @Test func artifactsTheServerCannotTakeAreSkippedWithOneWarning() throws {
        let server = try Self.server()
        // An experiment whose artifacts live in a directory of the server: not uploadable.
        let created = try server.post("experiments/create",
                                      json: #"{"name": "local-artifacts", "artifact_location": "file://\#(server.directory.path)/local"}"#)
        #expect(created.status == 200, "\(created.text)")
        let ws = try MLFixtures.workspace()
        #expect(try ws.run([]).status == 0)
        let export = try ws.run(["runs", "export", "--mlflow", server.url, "--mlflow-experiment", "local-artifacts"])
        #expect(export.status == 0, "\(export.output)")
        let warnings = Self.mlflowLines(export.stderr)
        #expect(warnings.count == 1, "\(export.stderr)")
        #expect(warnings.first?.hasPrefix("warning: MLflow export to \(server.url): artifacts not uploaded: ") == true, "\(warnings)")
        let experiment = try #require(try Self.experimentID(server, "local-artifacts"))
        let runs = try Self.runs(server, experiment: experiment)
        #expect(runs.map(\.info.run_name) == ["model:gbt", "model:lr"])
        #expect(runs.allSatisfy { !$0.params.isEmpty && !$0.metrics.isEmpty && $0.info.status == "FINISHED" })
    }
}
