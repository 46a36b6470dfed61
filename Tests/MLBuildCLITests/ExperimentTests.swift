import Foundation
import MLBuildHistory
import MLBuildTestSupport
import Testing

/// `exp run`, `exp show` and `exp apply` through the real binary, on the small dataset →
/// features → model:lr, model:gbt fixture.
@Suite("exp run / show / apply")
struct ExperimentTests {
    static let grid = ["exp", "run", "--set", "model:lr.l2=0.1,1,10", "--set", "model:gbt.learning_rate=0.05,0.1", "-j", "2"]

    /// Every file under `directory` (not following links) → its bytes or link target, minus `skipping`.
    static func tree(_ ws: MLBuildWorkspace, _ directory: String, skipping: String? = nil) throws -> [String: Data] {
        var out: [String: Data] = [:]
        let root = "\(ws.path)/\(directory)"
        guard let walker = FileManager.default.enumerator(atPath: root) else { return out }
        while let relative = walker.nextObject() as? String {
            if let skipping, relative == skipping || relative.hasPrefix(skipping + "/") { continue }
            let path = "\(root)/\(relative)"
            if let link = try? FileManager.default.destinationOfSymbolicLink(atPath: path) {
                out[relative] = Data("link:\(link)".utf8)
            } else if let data = FileManager.default.contents(atPath: path) {
                out[relative] = data
            } else {
                out[relative] = Data("dir".utf8)
            }
        }
        return out
    }

    /// The ids printed by exp run (first column of stdout).
    static func ids(_ result: ProcessResult) -> [String] {
        result.stdout.split(separator: "\n").map { String($0.split(separator: "\t")[0]) }
    }

    static func lines(_ text: String, containing part: String) -> Int {
        text.split(separator: "\n").filter { $0.contains(part) }.count
    }

    /// exp.json, decoded as metrics.json is (JSONDecoder), so that equal text is equal numbers.
    struct Record: Decodable {
        struct Target: Decodable {
            var status: String
            var metrics: [String: Double]?
        }
        var id: String
        var parameters: [String: String]
        var targets: [String: Target]
    }

    static func record(_ ws: MLBuildWorkspace, _ id: String) throws -> Record {
        try JSONDecoder().decode(Record.self, from: MLFixtures.bytes(ws, "build/exp/\(id)/exp.json"))
    }

    @Test func aGridBuildsEveryVariantInItsOwnTreeAndTheSharedTargetsOnce() throws {
        let ws = try MLFixtures.workspace()
        let run = try ws.run(Self.grid)
        #expect(run.status == 0, "\(run.output)")
        let ids = Self.ids(run)
        #expect(ids.count == 6 && Set(ids).count == 6, "\(run.stdout)")
        #expect(ids.allSatisfy { $0.hasPrefix("exp-") && $0.count == 12 })
        // The shared dataset and features ran once, in the workspace; each model once per variant.
        #expect(Self.lines(run.stderr, containing: "built dataset:rows") == 1, "\(run.stderr)")
        #expect(Self.lines(run.stderr, containing: "built features:rows") == 1)
        #expect(Self.lines(run.stderr, containing: "] built model:lr") == 6)
        #expect(Self.lines(run.stderr, containing: "] built model:gbt") == 6)
        #expect(!ws.exists("build/model"), "the workspace's models are not built")
        var lossByL2: [String: Set<Double>] = [:]
        var values: Set<String> = []
        for id in ids {
            let record = try Self.record(ws, id)
            #expect(record.id == id)
            let parameters = record.parameters
            #expect(Set(parameters.keys) == ["model:lr.l2", "model:gbt.learning_rate"])
            values.insert("\(parameters["model:lr.l2"] ?? "") \(parameters["model:gbt.learning_rate"] ?? "")")
            let targets = record.targets
            #expect(targets["model:lr"]?.status == "built")
            #expect(targets["features:rows"]?.status == "fresh")
            #expect(targets.keys.sorted() == ["dataset:rows", "features:rows", "model:gbt", "model:lr"])
            let lr = try #require(targets["model:lr"]?.metrics)
            // exp.json holds exactly the numbers of the variant's own metrics.json.
            let file = try JSONDecoder().decode(MLFixtures.MetricsFile.self, from: MLFixtures.bytes(ws, "build/exp/\(id)/build/model/lr/metrics.json"))
            #expect(lr["log_loss"] == file.metrics["log_loss"]?.number)
            lossByL2[parameters["model:lr.l2"] ?? "", default: []].insert(try #require(lr["log_loss"]))
            #expect(targets["model:gbt"]?.metrics?["auc"] != nil)
        }
        #expect(values.count == 6)
        // One log loss per l2 (the gbt value does not touch model:lr), and three different ones.
        #expect(lossByL2.values.allSatisfy { $0.count == 1 })
        #expect(Set(lossByL2.values.compactMap(\.first)).count == 3)
    }

    @Test func theWorkspaceBuildIsUntouchedAndARerunBuildsNothing() throws {
        let ws = try MLFixtures.workspace()
        #expect(try ws.run(["model:lr", "model:gbt"]).status == 0)
        let before = try Self.tree(ws, "build")
        let first = try ws.run(Self.grid)
        #expect(first.status == 0, "\(first.output)")
        #expect(try Self.tree(ws, "build", skipping: "exp") == before)
        #expect(Self.lines(first.stderr, containing: "built dataset:") == 0 && Self.lines(first.stderr, containing: "built features:") == 0)
        let again = try ws.run(Self.grid)
        #expect(again.status == 0, "\(again.output)")
        #expect(Self.ids(again) == Self.ids(first))
        #expect(!again.stderr.contains(" built "), "\(again.stderr)")
        // Without the trees, every variant comes back from the cache under the same ids.
        try FileManager.default.removeItem(atPath: "\(ws.path)/build/exp")
        let restored = try ws.run(Self.grid)
        #expect(restored.status == 0, "\(restored.output)")
        #expect(Self.ids(restored) == Self.ids(first))
        #expect(!restored.stderr.contains(" built "), "\(restored.stderr)")
        #expect(Self.lines(restored.stderr, containing: "restored model:") == 12)
        #expect(try Self.tree(ws, "build", skipping: "exp") == before)
        // And the workspace's own build is still fresh.
        let build = try ws.build(["model:lr", "model:gbt"])
        #expect(build.targets("fresh").count == 4, "\(build.result.output)")
    }

    @Test func aRandomDrawIsTheSameForTheSameSeed() throws {
        let ws = try MLFixtures.workspace()
        let arguments = ["exp", "run", "--set", "model:lr.l2=0.1,1,10", "--set", "model:lr.max_iterations=50,100", "--random", "3", "--seed", "7"]
        let first = try ws.run(arguments)
        #expect(first.status == 0, "\(first.output)")
        #expect(Self.ids(first).count == 3)
        let second = try ws.run(arguments)
        #expect(Self.ids(second) == Self.ids(first))
        #expect(first.stdout == second.stdout)
        // --json: the same variants, in order, each its exp.json and status.
        let json = try ws.run(arguments + ["--json"])
        #expect(json.status == 0, "\(json.output)")
        let document = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let variants = try #require(document["variants"] as? [[String: Any]])
        #expect(variants.map { $0["id"] as? String ?? "" } == Self.ids(first))
        #expect(variants.allSatisfy { $0["status"] as? String == "ok" })
        let first0 = try Self.record(ws, Self.ids(first)[0])
        #expect(variants.first?["parameters"] as? [String: String] == first0.parameters)
        #expect(((variants.first?["targets"] as? [String: Any])?["model:lr"] as? [String: Any])?["status"] as? String == "fresh")
    }

    @Test func showSortsByTheMetricAndPrintsJSON() throws {
        let ws = try MLFixtures.workspace()
        #expect(try ws.run(["model:lr"]).status == 0)
        #expect(try ws.run(["exp", "run", "--set", "model:lr.l2=0.001,1,100"]).status == 0)
        let show = try ws.run(["exp", "show", "--sort", "log_loss"])
        #expect(show.status == 0, "\(show.output)")
        let rows = show.stdout.split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
        let header = try #require(rows.first)
        #expect(header.first == "id" && header.contains("model:lr.l2") && header.contains("auc") && header.last == "status")
        #expect(rows.count == 5)
        #expect(rows[1].first == "workspace" && rows[1][1] == "1.0")
        let loss = try #require(header.firstIndex(of: "log_loss"))
        let losses = rows.dropFirst(2).map { Double($0[loss]) ?? .nan }
        #expect(losses == losses.sorted(), "ascending: lower log loss is better")
        #expect(rows.dropFirst(2).allSatisfy { $0.last == "ok" })

        let json = try ws.run(["exp", "show", "--sort", "auc", "--limit", "2", "--json"])
        let document = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let list = try #require(document["rows"] as? [[String: Any]])
        #expect(list.map { $0["id"] as? String ?? "" }.first == "workspace")
        #expect(list.count == 3)
        let aucs = list.dropFirst().map { (($0["metrics"] as? [String: [String: Double]])?["model:lr"]?["auc"]) ?? .nan }
        #expect(aucs == aucs.sorted(by: >), "descending: higher auc is better")
        #expect((list[1]["parameters"] as? [String: String])?.keys.sorted() == ["model:lr.l2"])
        #expect(list[1]["status"] as? String == "ok")
    }

    @Test func eachVariantIsARunInTheHistoryAndTheDiffDefaultsSkipThem() throws {
        let ws = try MLFixtures.workspace()
        #expect(try ws.run(["model:lr"]).status == 0)
        let run = try ws.run(["exp", "run", "--set", "model:lr.l2=0.1,10"])
        #expect(run.status == 0, "\(run.output)")
        let ids = Self.ids(run)
        let store = try HistoryStore(path: "\(ws.path)/.mlbuild/history.sqlite")
        let runs = try store.runs(limit: 10)
        #expect(runs.map(\.id) == [3, 2, 1])
        #expect(runs.map(\.experiment) == [ids[1], ids[0], nil])
        for (runID, id) in [(Int64(2), ids[0]), (3, ids[1])] {
            let detail = try #require(try store.run(runID))
            #expect(detail.run.exitStatus == 0 && detail.run.commandLine.hasPrefix("mlbuild exp run --set"))
            let model = try #require(detail.targets.first { $0.target == "model:lr" })
            #expect(model.status == "built")
            #expect(model.params.first { $0.name == "l2" }?.value == (try Self.record(ws, id)).parameters["model:lr.l2"])
            // The same numbers as the variant's exp.json, and its outputs under build/exp/<id>/.
            #expect(model.metrics.first { $0.name == "log_loss" }?.value == (try Self.record(ws, id)).targets["model:lr"]?.metrics?["log_loss"])
            #expect(model.outputs.contains { $0.path == "build/exp/\(id)/build/model/lr/model.json" })
            #expect(detail.targets.first { $0.target == "features:rows" }?.status == "fresh")
        }
        // Listed with the variant's id; the defaults of the diffs and --explain use run 1, the last build.
        let list = try ws.run(["runs"])
        #expect(list.status == 0 && list.stdout.split(separator: "\n")[1].contains("\t\(ids[1])\t"), "\(list.stdout)")
        let json = try ws.run(["runs", "--json"])
        let document = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let experiments = (document["runs"] as? [[String: Any]])?.map { $0["experiment"] as? String ?? "-" }
        #expect(experiments == [ids[1], ids[0], "-"])
        #expect(try store.lastRun() == 1)
        let diff = try ws.run(["params", "diff", "--json"])
        #expect(diff.status == 0, "\(diff.output)")
        let diffDocument = try #require(try JSONSerialization.jsonObject(with: Data(diff.stdout.utf8)) as? [String: Any])
        #expect(diffDocument["old"] as? String == "run:1")
        let show = try ws.run(["runs", "show", "2"])
        #expect(show.stdout.contains("experiment: \(ids[0])\n"), "\(show.stdout)")
    }

    @Test func applyChangesOneLinePerParameterAndABuildReproducesTheVariant() throws {
        let ws = try MLFixtures.workspace()
        let run = try ws.run(Self.grid)
        #expect(run.status == 0, "\(run.output)")
        let chosen = try #require(try Self.ids(run).first { id in
            try Self.record(ws, id).parameters == ["model:lr.l2": "0.1", "model:gbt.learning_rate": "0.05"]
        })
        // The Mlfile changed since the sweep (the targets moved down): values are found where they are now.
        try ws.write("Mlfile", "# moved\n\n" + (try ws.read("Mlfile")))
        let before = try ws.read("Mlfile")
        let apply = try ws.run(["exp", "apply", chosen])
        #expect(apply.status == 0, "\(apply.output)")
        #expect(apply.stdout == "Mlfile: model:gbt learning_rate = 0.05\nMlfile: model:lr l2 = 0.1\n")
        let after = try ws.read("Mlfile")
        // l2's line is replaced; learning_rate, absent, is one new line after gbt's last key.
        let expected = before.replacingOccurrences(of: "    l2 = 1.0\n", with: "    l2 = 0.1\n")
            .replacingOccurrences(of: "    min_samples_leaf = 5\n", with: "    min_samples_leaf = 5\n    learning_rate = 0.05\n")
        #expect(after == expected)
        #expect(after.split(separator: "\n", omittingEmptySubsequences: false).count
            == before.split(separator: "\n", omittingEmptySubsequences: false).count + 1)
        let build = try ws.run(["model:lr", "model:gbt"])
        #expect(build.status == 0, "\(build.output)")
        for model in ["lr", "gbt"] {
            #expect(try MLFixtures.bytes(ws, "build/model/\(model)/metrics.json")
                == MLFixtures.bytes(ws, "build/exp/\(chosen)/build/model/\(model)/metrics.json"))
        }
        // Applied again: nothing to change, said so in JSON.
        let again = try ws.run(["exp", "apply", chosen, "--json"])
        #expect(again.status == 0, "\(again.output)")
        let document = try #require(try JSONSerialization.jsonObject(with: Data(again.stdout.utf8)) as? [String: Any])
        #expect(document["experiment"] as? String == chosen && document["file"] as? String == "Mlfile")
        #expect(document["changed"] as? Bool == false)
        let changes = (document["changes"] as? [[String: String]]) ?? []
        #expect(changes == [["target": "model:gbt", "key": "learning_rate", "value": "0.05"],
                            ["target": "model:lr", "key": "l2", "value": "0.1"]])
        #expect(try ws.read("Mlfile") == after)
        let unknown = try ws.run(["exp", "apply", "exp-00000000"])
        #expect(unknown.status == 2)
        #expect(unknown.stderr.hasPrefix("error: unknown experiment 'exp-00000000'"))
        #expect(unknown.stderr.contains("; known: \(Self.ids(run).sorted().joined(separator: ", "))\n"))
    }

    @Test func aFailedVariantIsRecordedAndTheOthersGoOn() throws {
        let ws = try MLFixtures.workspace(mlfile: MLFixtures.mlfile(gate: "auc >= 0.99"))
        let run = try ws.run(["exp", "run", "--set", "model:lr.l2=0.1,1", "--set", "model:gbt.trees=5,10", "-j", "1", "model:lr", "model:gbt"])
        #expect(run.status == 1, "\(run.output)")
        let ids = Self.ids(run)
        #expect(ids.count == 4)
        #expect(run.stdout.split(separator: "\n").allSatisfy { $0.split(separator: "\t")[1] == "failed" })
        for id in ids {
            let record = try Self.record(ws, id)
            #expect(record.targets["model:lr"]?.status == "failed" && record.targets["model:lr"]?.metrics == nil)
            #expect(record.targets["model:gbt"]?.status == "built" && record.targets["model:gbt"]?.metrics?["auc"] != nil)
        }
        #expect(Self.lines(run.stderr, containing: "quality gate failed") == 4)
        #expect(run.stderr.hasSuffix("mlbuild: 4 variants: 0 ok, 4 failed (mlbuild exp show compares them)\n"))
    }

    @Test func aTaskDownstreamOfASweptTargetIsRefused() throws {
        let task = "\ntask report: model:lr\n    outputs = out/report.txt\n    run = cat build/model/lr/metrics.json > out/report.txt\n"
        let ws = try MLFixtures.workspace(mlfile: MLFixtures.mlfile(extraModel: task))
        let result = try ws.run(["exp", "run", "--set", "model:lr.l2=0.1,1", "task:report"])
        #expect(result.status == 2)
        #expect(result.stderr == "error: task:report depends on a swept target; exp run builds only dataset, features and model targets per variant\n")
        #expect(!ws.exists("build"))
    }

    @Test(arguments: [
        (["--set", "model:lrr.l2=1"], "error: --set model:lrr.l2=1: unknown target 'model:lrr' (did you mean 'model:lr'?)\n"),
        (["--set", "model:lr.l3=1"], "error: --set model:lr.l3=1: model targets have no key 'l3' (did you mean 'l2'?) (keys: algorithm, alpha, class_weight, cv, early_stopping, fairness, features, formats, gate, l2, learning_rate, max_bins, max_depth, max_iterations, max_leaf_nodes, min_samples_leaf, n_iter_no_change, seed, subsample, task, threshold, tolerance, trees, validation_fraction)\n"),
        (["--set", "model:lr=1"], "error: --set model:lr=1: expected TARGET.KEY=VALUE[,VALUE…], e.g. --set model:churn.l2=0.1,1,10\n"),
        (["--set", "model:lr.gate=auc >= 0.5"], "error: --set model:lr.gate=auc >= 0.5: 'gate' is a list; --set sweeps keys that hold one value\n"),
        (["--set", "model:lr.l2=1,,2"], "error: --set model:lr.l2=1,,2: value '' has an empty value\n"),
        (["--set", "model:lr.l2=0.1,-1"], "error: --set model:lr.l2=0.1,-1: value '-1' is rejected: invalid value '-1' for hyper-parameter 'l2': expected a number >= 0\n"),
    ])
    func aBadSetIsAnErrorBeforeAnythingIsBuilt(arguments: [String], message: String) throws {
        let ws = try MLFixtures.workspace()
        let result = try ws.run(["exp", "run"] + arguments)
        #expect(result.status == 2)
        #expect(result.stderr == message)
        #expect(!ws.exists("build"))
    }
}
