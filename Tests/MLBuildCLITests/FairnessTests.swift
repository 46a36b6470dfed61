import Foundation
import MLBuildTestSupport
import Testing

/// `fairness = COLUMN, …` on a model, end to end with the real binary: every number of
/// metrics.json's `fairness` against fairlearn's on the same predictions (fairlearn_check.py, in
/// the .venv-tests/fairlearn venv that scripts/install-test-tools makes, or the Python that
/// `$MLBUILD_TEST_FAIRLEARN_PYTHON` names; without fairlearn these tests fail, never skip), the gates, the report, `/v1/models`, `mlbuild monitor`'s per-group
/// selection-rate drift and the Mlfile errors.
@Suite("Fairness metrics and gates")
struct FairnessTests {
    static let checker = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("fairlearn_check.py").path

    /// `.venv-tests/fairlearn/bin/python` with fairlearn and scikit-learn, or a failure saying how to get it.
    static func python() throws -> String {
        let python = ProcessInfo.processInfo.environment["MLBUILD_TEST_FAIRLEARN_PYTHON"]
            ?? MLFixtures.repositoryRoot.appendingPathComponent(".venv-tests/fairlearn/bin/python").path
        let probe = try? ProcessRunner.run(python, ["-c", "import fairlearn, sklearn"])
        guard let probe, probe.status == 0 else {
            Issue.record("fairlearn is missing: run scripts/install-test-tools (looked for \(python) with fairlearn and scikit-learn)")
            throw ToolMissing()
        }
        return python
    }

    struct ToolMissing: Error {}

    static let schema = "id: string id unique, gender: category(female, male, nonbinary) pii, age_band: int min=0 max=3, "
        + "member: bool, region: string, x: float, z: float, approved: bool"

    /// Rows whose approval leans on x, z and (unfairly) on gender and age band. No RNG.
    static func csv(rows: Range<Int>, genderShift: Double = 0) -> String {
        var out = "id,gender,age_band,member,region,x,z,approved\n"
        let genders = ["female", "male", "nonbinary"]
        let regions = ["north", "south", "east", "west"]
        for r in rows {
            let gender = genders[(r * 7 + r / 5) % 3 == 2 && r % 4 != 0 ? 0 : (r * 7 + r / 5) % 3]
            let age = (r * 11) % 4
            let member = r % 3 != 1
            let region = regions[(r * 5 + r / 7) % 4]
            let x = Double((r * 37) % 101) / 25 - 2 + (gender == "female" ? genderShift : 0)
            let z = Double((r * 53) % 89) / 30 - 1.5
            let noise = Double((r * 29) % 13) / 6 - 1
            let score = x + 0.5 * z + (gender == "male" ? 0.8 : 0) + (age == 3 ? -0.7 : 0) + (member ? 0.3 : 0) + noise
            out += "P\(r),\(gender),\(age),\(member),\(region),\(x),\(z),\(score > 0.4)\n"
        }
        return out
    }

    static func mlfile(gate: String = "auc >= 0.6, demographic_parity_difference <= 0.95, disparate_impact_ratio >= 0.01") -> String {
        """
        seed = 7

        dataset people
            source = data/people.csv
            schema = \(schema)

        dataset people_new
            source = data/people_new.csv
            schema = \(schema)

        features split
            dataset = dataset:people
            label = approved
            drop = id, gender, age_band, region
            standardize = x, z
            split = 0.7

        features holdout
            dataset = dataset:people
            test = dataset:people_new
            label = approved
            drop = id, gender, age_band, region

        model fair
            features = features:split
            algorithm = logistic_regression
            fairness = gender, age_band, member, region
            gate = \(gate)

        model fair_gbt
            features = features:holdout
            algorithm = gradient_boosting
            trees = 20
            threshold = 0.4
            fairness = gender, region

        """
    }

    static func workspace(mlfile: String = FairnessTests.mlfile()) throws -> MLBuildWorkspace {
        let ws = try MLBuildWorkspace(mlfile: mlfile)
        try ws.write("data/people.csv", csv(rows: 0 ..< 900))
        try ws.write("data/people_new.csv", csv(rows: 2000 ..< 2400))
        return ws
    }

    /// Runs fairlearn_check.py on one model; its output.
    static func check(_ ws: MLBuildWorkspace, python: String, model: String, features: String, data: String,
                      metrics: String? = nil) throws -> ProcessResult {
        let predict = try ws.run(["predict", "model:\(model)", "--input", data, "--output", "\(model).predictions.csv"])
        #expect(predict.status == 0, "\(predict.stderr)")
        return try ProcessRunner.run(python, [checker, metrics ?? "build/model/\(model)/metrics.json", "build/features/\(features)/split.json",
                                              data, "\(model).predictions.csv", "approved", "true", "true"], in: ws.path)
    }

    @Test(.timeLimit(.minutes(5))) func everyNumberMatchesFairlearn() throws {
        let python = try Self.python()
        let ws = try Self.workspace()
        let build = try ws.build(["model:fair", "model:fair_gbt"])
        #expect(build.result.status == 0, "\(build.result.output)")
        for (model, features, data) in [("fair", "split", "data/people.csv"), ("fair_gbt", "holdout", "data/people_new.csv")] {
            let run = try Self.check(ws, python: python, model: model, features: features, data: data)
            #expect(run.status == 0, "model:\(model): \(run.output)")
            #expect(run.stdout.contains(" 0 failed"), "\(run.stdout)")
            // Four columns of 2–4 groups, six numbers each, plus aggregates: far more than a handful.
            let checks = Int(run.stdout.split(separator: "\n").last?.split(separator: " ").first ?? "") ?? 0
            #expect(checks >= (model == "fair" ? 60 : 30), "\(run.stdout)")
        }
        let metrics = try MLFixtures.json(ws, "build/model/fair/metrics.json")
        let fairness = try #require(metrics["fairness"] as? [String: [String: Any]])
        #expect(fairness.keys.sorted() == ["age_band", "gender", "member", "region"])
        let groups = try #require(fairness["gender"]?["groups"] as? [[String: Any]])
        #expect(groups.map { $0["group"] as? String } == ["female", "male", "nonbinary"], "a category's groups in declared order")
        #expect((fairness["age_band"]?["groups"] as? [[String: Any]])?.map { $0["group"] as? String } == ["0", "1", "2", "3"])
        #expect(groups.reduce(0) { $0 + ($1["count"] as? Int ?? 0) } == metrics["test_rows"] as? Int)

        // The check can fail: one selection rate moved by 1e-7 is caught.
        let text = try ws.read("build/model/fair/metrics.json")
        let rate = try #require(groups.first?["selection_rate"] as? Double)
        let original = "\"selection_rate\": \(Self.shortest(rate))"
        #expect(text.contains(original), "\(original)")
        try ws.write("tampered.json", text.replacingOccurrences(of: original, with: "\"selection_rate\": \(Self.shortest(rate + 1e-7))"))
        let tampered = try Self.check(ws, python: python, model: "fair", features: "split", data: "data/people.csv", metrics: "tampered.json")
        #expect(tampered.status == 1 && tampered.stdout.contains("FAIL gender=female selection_rate"), "\(tampered.output)")
    }

    /// Shortest round-trip text, as CanonicalJSON writes a non-integer.
    static func shortest(_ x: Double) -> String { x == x.rounded() ? String(Int(x)) : "\(x)" }

    @Test(.timeLimit(.minutes(5))) func aFairnessGateFailsTheBuildWithTheMeasuredValue() throws {
        let ws = try Self.workspace(mlfile: Self.mlfile(gate: "demographic_parity_difference <= 0.001, equalized_odds_difference <= 1"))
        let build = try ws.run(["model:fair"])
        #expect(build.status == 1, "\(build.output)")
        #expect(build.stderr.contains("quality gate failed (1 of 2"), "\(build.stderr)")
        #expect(build.stderr.contains("demographic_parity_difference = 0."), "\(build.stderr)")
        #expect(build.stderr.contains("required demographic_parity_difference <= 0.001  FAILED"), "\(build.stderr)")
        #expect(build.stderr.contains("equalized_odds_difference <= 1  ok"), "\(build.stderr)")
        #expect(!ws.exists("build/model/fair/metrics.json"), "a gate miss publishes nothing")
    }

    @Test(.timeLimit(.minutes(5))) func theReportAndServeShowEachGroup() throws {
        let ws = try Self.workspace()
        let build = try ws.run(["model:fair"])
        #expect(build.status == 0, "\(build.output)")
        let metrics = try MLFixtures.json(ws, "build/model/fair/metrics.json")
        let fairness = try #require(metrics["fairness"] as? [String: [String: Any]])
        let flat = try #require(metrics["metrics"] as? [String: Any])
        // The flat metrics hold the worst column: the largest difference, the smallest ratio.
        let differences = fairness.values.compactMap { $0["demographic_parity_difference"] as? Double }
        #expect(flat["demographic_parity_difference"] as? Double == differences.max())
        let ratios = fairness.values.compactMap { $0["disparate_impact_ratio"] as? Double }
        #expect(flat["disparate_impact_ratio"] as? Double == ratios.min())
        let gates = try #require(metrics["gates"] as? [[String: Any]])
        #expect(gates.contains { $0["metric"] as? String == "demographic_parity_difference" && $0["passed"] as? Bool == true })

        let report = try ws.run(["report", "-o", "report.html"])
        #expect(report.status == 0, "\(report.output)")
        let html = try ws.read("report.html")
        for column in ["gender", "age_band", "member", "region"] { #expect(html.contains("data-fairness=\"\(column)\""), "\(column)") }
        #expect(html.contains("data-group=\"nonbinary\""))
        let gender = try #require(fairness["gender"])
        #expect(html.contains("demographic_parity_difference \(String(format: "%.6f", gender["demographic_parity_difference"] as? Double ?? -1).replacingOccurrences(of: "0+$", with: "", options: .regularExpression))"))

        let server = try ServeFixture.start(ws, ["model:fair"])
        let models = try server.request("GET", "/v1/models")
        #expect(server.stop() == 0)
        #expect(models.status == 200)
        let list = try #require(try ServeFixture.json(models)["models"] as? [[String: Any]])
        let served = try #require(list.first?["fairness"] as? [String: [String: Any]], "\(models.text)")
        #expect(served.keys.sorted() == fairness.keys.sorted())
        #expect(served["gender"]?["demographic_parity_difference"] as? Double == gender["demographic_parity_difference"] as? Double)
        #expect((served["gender"]?["groups"] as? [[String: Any]])?.count == 3)
    }

    @Test(.timeLimit(.minutes(5))) func monitorReportsEachGroupsSelectionRateDrift() throws {
        let ws = try Self.workspace()
        #expect(try ws.run(["model:fair"]).status == 0)
        // New rows where women's x is higher: their selection rate rises, the others' stay.
        try ws.write("new.csv", Self.csv(rows: 5000 ..< 5600, genderShift: 1.5))
        let run = try ws.run(["monitor", "model:fair", "--input", "new.csv", "--max-psi", "10", "--json",
                              "--max-selection-rate-drift", "0.3", "--prometheus", "m.prom"])
        #expect(run.status == 1, "\(run.output)")
        // Only women's rate moved past 0.3 (the rows differ from the test split's, so every
        // group moved a little).
        #expect(run.stderr.contains("error: selection rate drift past 0.3: gender=female +0.") && !run.stderr.contains("gender=male"),
                "\(run.stderr)")
        let report = try ReleaseFixtures.json(run.stdout)
        let entries = try #require(report["fairness"] as? [[String: Any]])
        let metrics = try MLFixtures.json(ws, "build/model/fair/metrics.json")
        let fairness = try #require(metrics["fairness"] as? [String: [String: Any]])
        // Each rate: the share of the group's rows `mlbuild predict` calls true.
        let predict = try ws.run(["predict", "model:fair", "--input", "new.csv"])
        let predicted = predict.stdout.split(separator: "\n").dropFirst().map { $0.split(separator: ",")[1] == "true" }
        let rows = Self.csv(rows: 5000 ..< 5600).split(separator: "\n").dropFirst().map { $0.split(separator: ",").map(String.init) }
        #expect(predicted.count == 600 && rows.count == 600)
        let columnIndex = ["gender": 1, "age_band": 2, "member": 3, "region": 4]
        #expect(entries.count == 3 + 4 + 2 + 4)
        for entry in entries {
            let column = try #require(entry["column"] as? String), group = try #require(entry["group"] as? String)
            let members = rows.indices.filter { rows[$0][columnIndex[column] ?? 0] == group }
            #expect(entry["rows"] as? Int == members.count, "\(column)=\(group)")
            let rate = Double(members.filter { predicted[$0] }.count) / Double(members.count)
            // Foundation's JSON reader may miss the last bit of a double: 1e-12, not equality.
            #expect(abs((entry["selection_rate"] as? Double ?? -1) - rate) < 1e-12, "\(column)=\(group)")
            let baseline = (fairness[column]?["groups"] as? [[String: Any]])?.first { $0["group"] as? String == group }?["selection_rate"] as? Double
            #expect(entry["baseline_selection_rate"] as? Double == baseline, "\(column)=\(group)")
            if let baseline { #expect(abs((entry["drift"] as? Double ?? -1) - (rate - baseline)) < 1e-12, "\(column)=\(group)") }
        }
        let prom = try ws.read("m.prom")
        #expect(prom.contains("mlbuild_monitor_selection_rate{column=\"gender\",group=\"female\",model=\"model:fair\"} "))
        #expect(prom.contains("# TYPE mlbuild_monitor_selection_rate_drift gauge"))
        #expect(prom.contains("mlbuild_monitor_passed{model=\"model:fair\"} 0"))
        // Without a limit the drift is reported, not enforced.
        let plain = try ws.run(["monitor", "model:fair", "--input", "new.csv", "--max-psi", "10"])
        #expect(plain.status == 0, "\(plain.output)")
        #expect(plain.stdout.contains("selection rate by group"), "\(plain.stdout)")
    }

    @Test func mlfileErrorsPointAtTheFairnessItem() throws {
        let ws = try MLBuildWorkspace(mlfile: """
        dataset d
            source = d.csv
            schema = id: string id, email: string pii, score: float, kind: category(a, b), y: bool, amount: float

        features f
            dataset = dataset:d
            label = y
            drop = id, email

        model m
            features = features:f
            algorithm = logistic_regression
            fairness = score, nope, y, email, kind, kind

        model r
            features = features:f
            algorithm = linear_regression
            fairness = kind

        model g
            features = features:f
            algorithm = logistic_regression
            gate = equalized_odds_difference <= 0.1

        """)
        try ws.write("d.csv", "id,email,score,kind,y,amount\n")
        let run = try ws.run(["model:m"])
        #expect(run.status == 2, "\(run.output)")
        let expected = [
            "Mlfile:13:16: error: 'fairness': 'score' is a float column; fairness needs groups (a bool, category, int or string column) of dataset:d",
            "Mlfile:13:23: error: 'fairness': 'nope' is not a column of the dataset",
            "Mlfile:13:29: error: 'fairness': 'y' is the label; fairness compares groups of another column of dataset:d",
            "Mlfile:13:32: error: 'fairness': 'email' is a pii string column: its values would be the group names",
            "Mlfile:13:45: error: 'fairness' lists column 'kind' twice",
            "Mlfile:18:16: error: fairness applies to classification models",
            "Mlfile:23:12: error: gate on 'equalized_odds_difference' needs the groups to compare: add fairness = COLUMN, … to model:g",
        ]
        for line in expected { #expect(run.stderr.contains(line), "\(line)\n---\n\(run.stderr)") }
    }
}
