import Foundation
import MLBuildTestSupport
import Testing

@Suite("dataset, features and model targets through the real binary")
struct MLRuleTests {
    @Test func theChainBuildsAndASecondBuildIsFresh() throws {
        let ws = try MLFixtures.workspace()
        let first = try ws.build(["model:lr", "model:gbt"])
        #expect(first.result.status == 0, "\(first.result.output)")
        #expect(first.targets("built") == ["dataset:rows", "features:rows", "model:gbt", "model:lr"])
        for file in ["data.bin", "lineage.json", "schema.json", "stats.json"] { #expect(ws.exists("build/dataset/rows/\(file)")) }
        for file in ["train.bin", "test.bin", "transform.json", "feature_names.json", "split.json", "lineage.json"] {
            #expect(ws.exists("build/features/rows/\(file)"))
        }
        let metrics = try MLFixtures.metrics(ws, model: "lr")
        #expect(metrics.test_rows == 99)  // stratified: round(0.25 × each class)
        let auc = try #require(metrics.metrics["auc"]?.number)
        #expect(auc > 0.8, "the fixture has real signal")
        let model = try MLFixtures.json(ws, "build/model/lr/model.json")
        #expect(model["format"] as? String == "mlbuild-model")
        #expect(model["format_version"] as? Int == 1)
        #expect(model["task"] as? String == "classification")
        #expect((model["hyperparameters"] as? [String: Any])?["max_iterations"] as? Int == 100)
        let input = try #require(model["input"] as? [String: Any])
        #expect(input["id_column"] as? String == "id")
        #expect((model["output"] as? [String: Any])?["columns"] as? [String] == ["id", "prediction", "probability"])
        // The embedded transform is transform.json, and lineage names every upstream digest.
        let transform = try MLFixtures.json(ws, "build/features/rows/transform.json")
        #expect(NSDictionary(dictionary: try #require(model["transform"] as? [String: Any])).isEqual(to: transform))
        let lineage = try #require(model["lineage"] as? [String: Any])
        #expect(lineage["seed"] as? String == "7")
        #expect(lineage["mlbuild_version"] as? String == "0.1.0")
        #expect(lineage["action_key"] as? String == first.keys["model:lr"])
        let datasets = try #require(lineage["datasets"] as? [[String: Any]])
        #expect(datasets.map { $0["target"] as? String } == ["dataset:rows"])
        let files = try #require(datasets.first?["files"] as? [String: String])
        #expect(files.keys.sorted() == ["build/dataset/rows/data.bin", "build/dataset/rows/lineage.json", "build/dataset/rows/schema.json", "build/dataset/rows/stats.json"])
        let second = try ws.build(["model:lr", "model:gbt"])
        #expect(second.targets("fresh") == ["dataset:rows", "features:rows", "model:gbt", "model:lr"])
    }

    @Test func schemaViolationsFailTheDatasetWithTheReportAndPublishNothing() throws {
        var csv = MLFixtures.csv(rows: 100)
        csv += "D1,-2.5,plus,1,yes,no\n"          // line 102: amount below min
        csv += "D2,3,gold,1,yes,no\n"             // line 103: unknown plan
        csv += "D3,-1,basic,1,maybe,no\n"         // line 104: amount below min, bad bool
        let ws = try MLBuildWorkspace(mlfile: MLFixtures.mlfile())
        try ws.write("data/rows.csv", csv)
        let run = try ws.build(["model:lr"])
        #expect(run.result.status == 1)
        #expect(run.statuses["dataset:rows"] == "failed")
        #expect(run.targets("skipped") == ["features:rows", "model:lr"])
        let err = run.result.stderr
        #expect(err.contains("data/rows.csv: validation failed, 3 rules violated:"), "\(err)")
        #expect(err.contains("column 'amount': min=0 violated by 2 rows (lines 102, 104; first value '-2.5')"), "\(err)")
        #expect(err.contains("column 'plan': category(basic, plus, pro) violated by 1 row (line 103; first value 'gold')"), "\(err)")
        #expect(err.contains("column 'active': type bool violated by 1 row (line 104; first value 'maybe')"), "\(err)")
        #expect(!ws.exists("build/dataset/rows"))
    }

    @Test func driftPastMaxPSIFailsWithEveryColumnListed() throws {
        let ws = try MLFixtures.workspace(mlfile: MLFixtures.mlfileWithRecentData)
        try ws.write("data/recent.csv", MLFixtures.csv(rows: 200, shift: 4, start: 1000))
        let run = try ws.build(["dataset:recent"])
        #expect(run.result.status == 1)
        #expect(run.statuses["dataset:rows"] == "built")
        #expect(run.statuses["dataset:recent"] == "failed")
        let err = run.result.stderr
        #expect(err.contains("data/recent.csv: drift check failed: "), "\(err)")
        #expect(err.contains("over max_psi=0.2"), "\(err)")
        #expect(err.range(of: #"amount: psi [0-9.]+ \(histogram\)  DRIFT"#, options: .regularExpression) != nil, "\(err)")
        for column in ["active", "label", "plan", "score"] { #expect(err.contains("  \(column): psi "), "\(column)") }
        #expect(err.contains("id: skipped (id column)"))
        #expect(!ws.exists("build/dataset/recent"))
        // Within the gate: drift.json is written.
        try ws.write("data/recent.csv", MLFixtures.csv(rows: 200, start: 1000))
        let ok = try ws.build(["dataset:recent"])
        #expect(ok.result.status == 0, "\(ok.result.output)")
        #expect((try MLFixtures.json(ws, "build/dataset/recent/drift.json"))["passed"] as? Bool == true)
    }

    @Test func aGateMissFailsTheModelWithMeasuredValuesAndPublishesNothing() throws {
        let ws = try MLFixtures.workspace(mlfile: MLFixtures.mlfile(gate: "auc >= 0.999, log_loss <= 5"))
        let run = try ws.build(["model:lr"])
        #expect(run.result.status == 1)
        #expect(run.statuses["features:rows"] == "built")
        #expect(run.statuses["model:lr"] == "failed")
        let err = run.result.stderr
        #expect(err.contains("model:lr: quality gate failed (1 of 2 on 99 test rows); nothing published:"), "\(err)")
        #expect(err.range(of: #"  auc = 0\.[0-9]+, required auc >= 0\.999  FAILED"#, options: .regularExpression) != nil, "\(err)")
        #expect(err.range(of: #"  log_loss = 0\.[0-9]+, required log_loss <= 5  ok"#, options: .regularExpression) != nil, "\(err)")
        #expect(!ws.exists("build/model/lr/model.json"))
        #expect(!ws.exists("build/model/lr"))
    }

    @Test func cleanBuildsInTwoWorkspacesAndAtAnyJobCountGiveIdenticalBytes() throws {
        let a = try MLFixtures.workspace()
        let b = try MLFixtures.workspace()
        #expect(try a.build(["model:lr", "model:gbt", "-j", "1"]).result.status == 0)
        #expect(try b.build(["model:lr", "model:gbt", "-j", "8"]).result.status == 0)
        for path in ["build/dataset/rows/data.bin", "build/dataset/rows/stats.json", "build/features/rows/train.bin",
                     "build/features/rows/transform.json", "build/model/lr/model.json", "build/model/lr/metrics.json",
                     "build/model/gbt/model.json"] {
            #expect(try MLFixtures.bytes(a, path) == MLFixtures.bytes(b, path), "\(path)")
        }
        // And again in the same workspace after a clean, without the cache.
        try FileManager.default.removeItem(atPath: "\(a.path)/cache")
        let before = try MLFixtures.bytes(a, "build/model/gbt/model.json")
        try a.run(["clean"])
        let rebuilt = try a.build(["model:gbt", "-j", "2"])
        #expect(rebuilt.targets("built") == ["dataset:rows", "features:rows", "model:gbt"])
        #expect(try MLFixtures.bytes(a, "build/model/gbt/model.json") == before)
    }

    @Test func aDifferentSeedChangesTheSplitAndTheModel() throws {
        let ws = try MLFixtures.workspace()
        #expect(try ws.build(["model:gbt", "--seed", "1"]).result.status == 0)
        let split1 = try MLFixtures.json(ws, "build/features/rows/split.json")
        let model1 = try MLFixtures.bytes(ws, "build/model/gbt/model.json")
        #expect(try ws.build(["model:gbt", "--seed", "2"]).result.status == 0)
        let split2 = try MLFixtures.json(ws, "build/features/rows/split.json")
        #expect(split1["seed"] as? String == "1")
        #expect(split2["seed"] as? String == "2")
        #expect((split1["test_rows"] as? [Int]) != (split2["test_rows"] as? [Int]))
        #expect((split1["test_rows"] as? [Int])?.count == 99)
        #expect(try MLFixtures.bytes(ws, "build/model/gbt/model.json") != model1)
    }

    @Test func editingAHyperparameterRebuildsOnlyThatModel() throws {
        let ws = try MLFixtures.workspace()
        #expect(try ws.build(["model:lr", "model:gbt"]).result.status == 0)
        let before = try MLFixtures.bytes(ws, "build/model/lr/model.json")
        try ws.write("Mlfile", MLFixtures.mlfile(l2: "10"))
        let run = try ws.build(["model:lr", "model:gbt", "--explain"])
        #expect(run.result.status == 0, "\(run.result.output)")
        #expect(run.targets("built") == ["model:lr"])
        #expect(run.targets("fresh") == ["dataset:rows", "features:rows", "model:gbt"])
        #expect(run.result.stderr.contains("explain: model:lr: parameter l2 changed"), "\(run.result.stderr)")
        let model = try MLFixtures.json(ws, "build/model/lr/model.json")
        #expect((model["hyperparameters"] as? [String: Any])?["l2"] as? Int == 10)
        #expect(try MLFixtures.bytes(ws, "build/model/lr/model.json") != before)
    }

    @Test func editingTheDataRebuildsTheWholeChain() throws {
        let ws = try MLFixtures.workspace()
        #expect(try ws.build(["model:lr"]).result.status == 0)
        try ws.write("data/rows.csv", MLFixtures.csv(rows: 401))
        let run = try ws.build(["model:lr", "--explain"])
        #expect(run.targets("built") == ["dataset:rows", "features:rows", "model:lr"])
        #expect(run.result.stderr.contains("explain: dataset:rows: input data/rows.csv changed"), "\(run.result.stderr)")
        #expect(run.result.stderr.contains("explain: features:rows: dependency dataset:rows produced new output"), "\(run.result.stderr)")
        // Back to the old data: everything comes from the cache.
        try ws.write("data/rows.csv", MLFixtures.csv(rows: 400))
        #expect(try ws.build(["model:lr"]).targets("restored") == ["dataset:rows", "features:rows", "model:lr"])
    }

    @Test func theExampleMlfileBuildsOnTheChurnData() throws {
        let ws = try MLBuildWorkspace()
        let root = MLFixtures.repositoryRoot
        try ws.write("Mlfile.example", String(contentsOf: root.appendingPathComponent("Mlfile.example"), encoding: .utf8))
        for file in ["churn.csv", "churn_recent.csv"] {
            try ws.directory.write("data/\(file)", Data(contentsOf: root.appendingPathComponent("data/\(file)")))
        }
        let run = try ws.build(["-f", "Mlfile.example"])
        #expect(run.result.status == 0, "\(run.result.output)")
        #expect(run.targets("built") == ["dataset:churn", "features:churn", "model:churn"])
        let metrics = try MLFixtures.metrics(ws, model: "churn")
        #expect(metrics.test_rows == 1000)
        #expect(try #require(metrics.metrics["auc"]?.number) > 0.83)
        let all = try ws.build(["-f", "Mlfile.example", "model:churn_gbt", "dataset:churn_recent"])
        #expect(all.result.status == 0, "\(all.result.output)")
        #expect(try #require(MLFixtures.metrics(ws, model: "churn_gbt").metrics["auc"]?.number) > 0.8)
        #expect(ws.exists("build/dataset/churn_recent/drift.json"))
    }
}
