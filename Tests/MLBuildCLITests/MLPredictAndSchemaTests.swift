import Foundation
import MLBuildTestSupport
import MLBuildTraining
import Testing

@Suite("mlbuild predict, schema infer and ML Mlfile errors")
struct MLPredictAndSchemaTests {
    /// The raw CSV lines of the test split (label column kept: predict ignores it).
    static func testRows(_ ws: MLBuildWorkspace, dropLabel: Bool) throws -> (csv: String, labels: [Double]) {
        let split = try MLFixtures.json(ws, "build/features/rows/split.json")
        let lines = try #require(split["test_lines"] as? [Int])
        let all = try ws.read("data/rows.csv").split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        func cut(_ line: String) -> String {
            dropLabel ? line.split(separator: ",", omittingEmptySubsequences: false).dropLast().joined(separator: ",") : line
        }
        var csv = cut(all[0]) + "\n"
        var labels: [Double] = []
        for line in lines {
            csv += cut(all[line - 1]) + "\n"
            labels.append(all[line - 1].hasSuffix(",yes") ? 1 : 0)
        }
        return (csv, labels)
    }

    @Test(arguments: ["lr", "gbt"]) func predictionsOnTheTestRowsAreTheOnesTheMetricsUsed(model: String) throws {
        let ws = try MLFixtures.workspace()
        #expect(try ws.build(["model:\(model)"]).result.status == 0)
        let (csv, labels) = try Self.testRows(ws, dropLabel: model == "lr")
        try ws.write("test_rows.csv", csv)
        let run = try ws.run(["predict", "model:\(model)", "--input", "test_rows.csv", "--output", "preds.csv"])
        #expect(run.status == 0, "\(run.output)")
        #expect(run.stdout.isEmpty)
        let out = try ws.read("preds.csv").split(separator: "\n").map(String.init)
        #expect(out.first == "id,prediction,probability")
        #expect(out.count == labels.count + 1)
        var probabilities: [Double] = []
        for (i, row) in out.dropFirst().enumerated() {
            let fields = row.split(separator: ",").map(String.init)
            #expect(fields.count == 3)
            #expect(fields[0] == csv.split(separator: "\n")[i + 1].split(separator: ",").first.map(String.init))
            let p = try #require(Double(fields[2]))
            #expect(fields[1] == (p > 0.5 ? "true" : "false"))
            probabilities.append(p)
        }
        // Recomputing the metrics from predict's output gives metrics.json exactly.
        let recomputed = try Metrics.classification(labels: labels, probabilities: probabilities)
        let stored = try MLFixtures.metrics(ws, model: model)
        for name in ["accuracy", "auc", "f1", "log_loss", "precision", "recall"] {
            #expect(stored.metrics[name]?.number == recomputed[name], "\(name)")
        }
        let confusion = try #require(recomputed.confusionMatrix)
        #expect(stored.metrics["confusion_matrix"]?.matrix == confusion.rows)
        // Without --output the same CSV goes to standard output.
        let stdout = try ws.run(["predict", "model:\(model)", "--input", "test_rows.csv"])
        #expect(stdout.stdout == (try ws.read("preds.csv")))
    }

    @Test func aRowThatBreaksTheSchemaIsReportedByLineAndNothingIsWritten() throws {
        let ws = try MLFixtures.workspace()
        #expect(try ws.build(["model:lr"]).result.status == 0)
        try ws.write("rows.csv", """
            id,amount,plan,score,active
            N1,3.5,plus,1.25,yes
            N2,-4,plus,1.25,yes
            N3,2,gold,,no
            N4,1,basic,0.5,yes

            """)
        let run = try ws.run(["predict", "model:lr", "--input", "rows.csv", "--output", "preds.csv"])
        #expect(run.status == 1)
        #expect(run.stdout.isEmpty)
        #expect(run.stderr.contains("error: rows.csv: 2 rows break the model's input schema; nothing was scored:"), "\(run.stderr)")
        #expect(run.stderr.contains("rows.csv:3: column 'amount': min=0"), "\(run.stderr)")
        #expect(run.stderr.contains("rows.csv:4: column 'plan': "), "\(run.stderr)")
        #expect(!ws.exists("preds.csv"))
        // The good rows alone score; the blank score is imputed, not an error.
        try ws.write("rows.csv", "id,amount,plan,score,active\nN1,3.5,plus,1.25,yes\nN4,1,basic,,yes\n")
        let ok = try ws.run(["predict", "model:lr", "--input", "rows.csv"])
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(ok.stdout.split(separator: "\n").map { $0.split(separator: ",").first.map(String.init) } == ["id", "N1", "N4"])
    }

    @Test func predictBuildsNothingAndSaysToBuildFirst() throws {
        let ws = try MLFixtures.workspace()
        try ws.write("rows.csv", "id,amount,plan,score,active\nN1,3.5,plus,1.25,yes\n")
        let run = try ws.run(["predict", "model:lr", "--input", "rows.csv"])
        #expect(run.status == 1)
        #expect(run.stderr.contains("error: build/model/lr/model.json does not exist: build the model first (mlbuild model:lr)"))
        #expect(!ws.exists("build"))
        // Any model.json path works too (e.g. a known-good copy).
        #expect(try ws.build(["model:gbt"]).result.status == 0)
        try FileManager.default.copyItem(atPath: "\(ws.path)/build/model/gbt/model.json", toPath: "\(ws.path)/good.json")
        let byPath = try ws.run(["predict", "good.json", "--input", "rows.csv"])
        #expect(byPath.status == 0, "\(byPath.stderr)")
        #expect(byPath.stdout.hasPrefix("id,prediction,probability\nN1,"))
    }

    @Test func schemaInferPrintsABlockThatBuildsAsADataset() throws {
        let ws = try MLBuildWorkspace()
        try ws.write("data/rows.csv", MLFixtures.csv(rows: 120))
        let infer = try ws.run(["schema", "infer", "data/rows.csv"])
        #expect(infer.status == 0, "\(infer.stderr)")
        #expect(infer.stdout == """
                schema = id: string,
                    amount: float,
                    plan: category(basic, plus, pro),
                    score: float nullable,
                    active: bool,
                    label: bool

            """)
        try ws.write("Mlfile", "dataset rows\n    source = data/rows.csv\n" + infer.stdout)
        let run = try ws.build(["dataset:rows"])
        #expect(run.result.status == 0, "\(run.result.output)")
        let schema = try MLFixtures.json(ws, "build/dataset/rows/schema.json")
        let columns = try #require(schema["columns"] as? [[String: Any]])
        #expect(columns.map { $0["type"] as? String } == ["string", "float", "category", "float", "bool", "bool"])
    }

    @Test func mlfileErrorsPointAtTheLineAndColumn() throws {
        let ws = try MLFixtures.workspace(mlfile: MLFixtures.mlfile(extraModel: """
            model bad0
                features = features:rows
                algorithm = gradient_boosting
                tress = 100
            model bad
                features = features:rows
                algorithm = gradient_boosting
                gate = auc > 0.8, acu >= 0.7, recall >= high
            """))
        let run = try ws.run(["model:lr"])
        #expect(run.status == 2)
        let err = run.stderr
        let line = try #require(ws.read("Mlfile").split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0.contains("tress") }) + 1
        #expect(err.contains("Mlfile:\(line):5: error: unknown key 'tress' for model targets (did you mean 'trees'?)"), "\(err)")
        #expect(err.contains("Mlfile:\(line + 4):12: error: gate 'auc > 0.8' must be METRIC >= NUMBER or METRIC <= NUMBER"), "\(err)")
        #expect(err.contains("Mlfile:\(line + 4):23: error: unknown metric 'acu' in gate (did you mean 'auc'?)"), "\(err)")
        #expect(err.contains("Mlfile:\(line + 4):45: error: gate threshold 'high' is not a number"), "\(err)")
    }

    @Test func modelValueErrorsNameTheKey() throws {
        let ws = try MLFixtures.workspace(mlfile: MLFixtures.mlfile(l2: "-1", extraModel: """
            model bad
                features = features:rows
                algorithm = logistic_regresion
            model bad2
                features = features:rows
                algorithm = logistic_regression
                trees = 10
                gate = rmse <= 3
            """))
        let run = try ws.run(["model:lr"])
        #expect(run.status == 2)
        let err = run.stderr
        #expect(err.contains("error: invalid value '-1' for hyper-parameter 'l2': expected a number >= 0"), "\(err)")
        #expect(err.contains("error: unknown algorithm 'logistic_regresion' (did you mean 'logistic_regression'?)"), "\(err)")
        #expect(err.contains("error: 'trees' is not a hyper-parameter of logistic_regression"), "\(err)")
        #expect(err.contains("error: metric 'rmse' does not apply to classification"), "\(err)")
    }

    @Test func schemaErrorsPointAtTheItemInTheMlfile() throws {
        let ws = try MLBuildWorkspace(mlfile: """
            dataset rows
                source = data/rows.csv
                schema = id: string id,
                    amount: integer,
                    plan: category(a, b)
            """)
        try ws.write("data/rows.csv", "id,amount,plan\n1,2,a\n")
        let run = try ws.run(["dataset:rows"])
        #expect(run.status == 2)
        #expect(run.stderr.contains("Mlfile:4:17: error: schema column 2 'amount: integer': unknown type 'integer'"), "\(run.stderr)")
    }
}
