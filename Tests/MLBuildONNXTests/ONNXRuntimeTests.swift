import Foundation
import MLBuildTestSupport
import Testing

/// End to end: build models with the real binary, export them as ONNX (`mlbuild export` and
/// `formats = json, onnx`), run them in onnxruntime on raw CSV rows (run_onnx.py, in the
/// .venv-tests venv that scripts/install-test-tools makes) and compare with `mlbuild predict`
/// on the same rows: probabilities and regression values to 1e-5 (relative to the value's size
/// for values above 1: the ONNX-ML operators return float32), labels exactly.
/// Without onnxruntime these tests fail: they never skip.
@Suite("ONNX models in onnxruntime")
struct ONNXRuntimeTests {
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    static let runner = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("run_onnx.py").path

    /// `.venv-tests/bin/python` with onnxruntime and onnx, or a failure saying how to get it.
    static func python() throws -> String {
        let python = ProcessInfo.processInfo.environment["MLBUILD_TEST_PYTHON"]
            ?? repositoryRoot.appendingPathComponent(".venv-tests/bin/python").path
        let probe = try? ProcessRunner.run(python, ["-c", "import onnxruntime, onnx"])
        guard let probe, probe.status == 0 else {
            Issue.record("onnxruntime is missing: run scripts/install-test-tools (looked for \(python) with onnxruntime and onnx)")
            throw ToolMissing()
        }
        return python
    }

    struct ToolMissing: Error {}

    /// Rows with every kind of transform step and nulls: x (standardize, impute median), t (log1p
    /// then minmax, impute mean), b (bucketize), flag (bool, impute mode), city (string one-hot,
    /// impute mode), plan (category one-hot); y is a bool label, v a numeric one. No RNG.
    static func csv(rows: Range<Int>) -> String {
        var out = "id,x,t,b,flag,city,plan,y,v,kind\n"
        let cities = ["lyon", "paris", "nice", "lille"]
        let plans = ["basic", "plus", "pro"]
        for r in rows {
            let x = Double((r * 37) % 101) / 10 - 3
            let t = Double((r * 13) % 50) * 1.7
            let b = (r * 11) % 31 - 3
            let flag = r % 3 != 0
            let city = cities[(r * 7) % 4]
            let plan = plans[(r * 5) % 3]
            let noise = Double((r * 53) % 11) - 5
            let cityEffects: [String: Double] = ["lyon": 1.0, "paris": -1.5, "nice": 0.5, "lille": 0]
            let cityEffect: Double = cityEffects[city] ?? 0
            let flagEffect: Double = flag ? 1.5 : -0.5
            let bEffect: Double = b > 10 ? 1 : 0
            let score: Double = x + flagEffect + cityEffect + bEffect + noise * 0.6
            let logT: Double = Foundation.log1p(t)
            let v: Double = 3 * x + 2 * logT + 5 * cityEffect + Double(b) / 10 + noise * 0.3
            func cell(_ text: String, nullEvery k: Int, _ offset: Int) -> String { r % k == offset ? (r % 2 == 0 ? "" : "NA") : text }
            out += "R\(r),\(cell(String(x), nullEvery: 17, 3)),\(cell(String(t), nullEvery: 19, 5)),\(b),"
            let kind = score < 0.2 ? "low" : score < 2.5 ? "mid" : "high"
            out += "\(cell(flag ? "yes" : "no", nullEvery: 23, 7)),\(cell(city, nullEvery: 29, 11)),\(plan),\(score > 1.2),\(v),\(kind)\n"
        }
        return out
    }

    static let mlfile = """
    seed = 11
    dataset rows
        source = data/rows.csv
        schema = id: string id unique, x: float nullable, t: float nullable min=0, b: int, flag: bool nullable,
            city: string nullable, plan: category(basic, plus, pro), y: bool, v: float, kind: category(low, mid, high)
        null_values = NA
    features cls
        dataset = dataset:rows
        label = y
        drop = v, kind
        standardize = x
        log1p = t
        minmax = t
        bucketize = b:0|10|20
        one_hot = city, plan
        impute = x:median, t:mean, flag:mode, city:mode
        split = 0.8
        stratify = true
    features reg
        dataset = dataset:rows
        label = v
        drop = y, kind
        standardize = x
        log1p = t
        minmax = t
        bucketize = b:0|10|20
        one_hot = city, plan
        impute = x:median, t:mean, flag:mode, city:mode
    model lr
        features = features:cls
        algorithm = logistic_regression
    model gbt
        features = features:cls
        algorithm = gradient_boosting
        trees = 40
        min_samples_leaf = 5
        formats = json, onnx
    model lin
        features = features:reg
        algorithm = linear_regression
    model gbr
        features = features:reg
        algorithm = gradient_boosting
        trees = 40
        formats = onnx
    features multi
        dataset = dataset:rows
        label = kind
        drop = y, v
        standardize = x
        log1p = t
        bucketize = b:0|10|20
        one_hot = city, plan
        impute = x:median, t:mean, flag:mode, city:mode
        stratify = true
    model mlr
        features = features:multi
        algorithm = logistic_regression
        formats = json, onnx
    model mgb
        features = features:multi
        algorithm = gradient_boosting
        trees = 20
        min_samples_leaf = 5
        formats = json, onnx
    model lrt
        features = features:cls
        algorithm = logistic_regression
        threshold = 0.35
        formats = json, onnx
    """

    /// New rows: nulls in every nullable column, spelled both ways, an unknown city, and the
    /// training rows themselves (the split thresholds' neighbours).
    static let scoredRows: String = {
        var text = csv(rows: 0 ..< 300)
        text += "N1,,,5,,,basic,,,\nN2,NA,NA,-10,NA,NA,pro,,,\nN3,1.25,3.5,40,yes,tokyo,plus,,,\nN4,0,0,10,no,lyon,basic,,,\n"
        return text
    }()

    static func workspace() throws -> MLBuildWorkspace {
        let ws = try MLBuildWorkspace(mlfile: mlfile)
        try ws.write("data/rows.csv", csv(rows: 0 ..< 300))
        try ws.write("score.csv", scoredRows)
        return ws
    }

    struct Predicted {
        var ids: [String]
        /// Classifiers: the predicted class names.
        var labels: [String]?
        /// Per row: [P(classes[1])] for binary classifiers, [P(class k) for each k] for several
        /// classes, [value] for regressors.
        var values: [[Double]]
    }

    /// `mlbuild predict`'s CSV: id, prediction, then probability (and threshold) or
    /// probability_CLASS per class, or nothing more for regressors.
    static func predict(_ ws: MLBuildWorkspace, _ model: String, input: String) throws -> Predicted {
        let run = try ws.run(["predict", model, "--input", input])
        try #require(run.status == 0, "\(run.stderr)")
        let lines = run.stdout.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        let header = lines[0]
        let body = lines.dropFirst()
        let prediction = try #require(header.firstIndex(of: "prediction"))
        let probabilities = header.indices.filter { header[$0] == "probability" || header[$0].hasPrefix("probability_") }
        if probabilities.isEmpty {
            return Predicted(ids: body.map { $0[0] }, labels: nil, values: body.map { [Double($0[prediction]) ?? .nan] })
        }
        return Predicted(
            ids: body.map { $0[0] }, labels: body.map { $0[prediction] },
            values: body.map { row in probabilities.map { Double(row[$0]) ?? .nan } })
    }

    /// run_onnx.py's JSON.
    static func onnxruntime(_ ws: MLBuildWorkspace, onnx: String, modelJSON: String, input: String) throws -> [String: Any] {
        let run = try ProcessRunner.run(try python(), [runner, onnx, modelJSON, input], in: ws.path)
        try #require(run.status == 0, "run_onnx.py failed: \(run.stderr)")
        return try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
    }

    /// Checks onnxruntime's answers against predict's; returns the largest difference.
    @discardableResult
    static func compare(_ ws: MLBuildWorkspace, model name: String, onnx: String, input: String) throws -> Double {
        let expected = try predict(ws, "model:\(name)", input: input)
        let result = try onnxruntime(ws, onnx: onnx, modelJSON: "build/model/\(name)/model.json", input: input)
        let outputs = try #require(result["outputs"] as? [String: Any])
        #expect((result["producer"] as? String)?.hasPrefix("mlbuild ") == true)
        var worst = 0.0
        if let labels = expected.labels {
            let onnxLabels = try #require(outputs["label"] as? [String])
            let probabilities = try #require(outputs["probabilities"] as? [[Double]])
            #expect(onnxLabels.count == labels.count)
            let mismatched = zip(labels, onnxLabels).enumerated().filter { $0.element.0 != $0.element.1 }.map { expected.ids[$0.offset] }
            #expect(mismatched.isEmpty, "\(name): labels differ on rows \(mismatched.prefix(10))")
            for (row, p) in probabilities.enumerated() {
                #expect(abs(p.reduce(0, +) - 1) < 1e-6)
                // Binary: predict prints P(classes[1]); several classes: every P(class k).
                let got = expected.values[row].count == 1 ? [p[1]] : p
                #expect(got.count == expected.values[row].count)
                for (a, b) in zip(got, expected.values[row]) {
                    worst = max(worst, abs(a - b))
                    #expect(abs(a - b) <= 1e-5, "\(name) row \(expected.ids[row]): onnxruntime \(a), predict \(b)")
                }
            }
        } else {
            let values = try #require(outputs["variable"] as? [[Double]])
            #expect(values.count == expected.values.count)
            for (row, v) in values.enumerated() {
                let want = expected.values[row][0]
                let difference = abs(v[0] - want) / max(1, abs(want))
                worst = max(worst, difference)
                #expect(difference <= 1e-5, "\(name) row \(expected.ids[row]): onnxruntime \(v[0]), predict \(want)")
            }
        }
        return worst
    }

    @Test func everyFixtureModelAgreesWithPredictInOnnxruntime() throws {
        _ = try Self.python()
        let ws = try Self.workspace()
        let build = try ws.build(["model:lr", "model:gbt", "model:lin", "model:gbr"])
        try #require(build.result.status == 0, "\(build.result.output)")
        // formats = … onnx: written by the build, next to model.json.
        #expect(ws.exists("build/model/gbt/model.onnx"))
        #expect(ws.exists("build/model/gbr/model.onnx"))
        #expect(!ws.exists("build/model/lr/model.onnx"))
        for name in ["lr", "lin"] {
            let export = try ws.run(["export", "model:\(name)", "--format", "onnx", "-o", "\(name).onnx"])
            try #require(export.status == 0, "\(export.stderr)")
            #expect(export.stdout.hasPrefix("wrote \(name).onnx ("))
        }
        var worst: [String: Double] = [:]
        worst["lr"] = try Self.compare(ws, model: "lr", onnx: "lr.onnx", input: "score.csv")
        worst["gbt"] = try Self.compare(ws, model: "gbt", onnx: "build/model/gbt/model.onnx", input: "score.csv")
        worst["lin"] = try Self.compare(ws, model: "lin", onnx: "lin.onnx", input: "score.csv")
        worst["gbr"] = try Self.compare(ws, model: "gbr", onnx: "build/model/gbr/model.onnx", input: "score.csv")
        print("ONNX vs predict, largest difference per model: \(worst.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))")
        // The unknown city and the all-null row were scored by both.
        let result = try Self.onnxruntime(ws, onnx: "lr.onnx", modelJSON: "build/model/lr/model.json", input: "score.csv")
        #expect(result["inputs"] as? [String] == ["x", "t", "b", "flag", "city", "plan"])
        #expect((result["opsets"] as? [String: Int]) == ["": 19, "ai.onnx.ml": 3])
    }

    @Test func multiClassAndThresholdModelsAgreeWithPredictInOnnxruntime() throws {
        _ = try Self.python()
        let ws = try Self.workspace()
        let build = try ws.build(["model:mlr", "model:mgb", "model:lrt"])
        try #require(build.result.status == 0, "\(build.result.output)")
        var worst: [String: Double] = [:]
        for name in ["mlr", "mgb", "lrt"] {
            worst[name] = try Self.compare(ws, model: name, onnx: "build/model/\(name)/model.onnx", input: "score.csv")
        }
        print("ONNX vs predict (3 classes, threshold 0.35), largest difference per model: \(worst.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))")
        let result = try Self.onnxruntime(ws, onnx: "build/model/mgb/model.onnx", modelJSON: "build/model/mgb/model.json", input: "score.csv")
        let outputs = try #require(result["outputs"] as? [String: Any])
        let labels = try #require(outputs["label"] as? [String])
        // All three classes are predicted somewhere (a swapped class order would show).
        #expect(Set(labels) == ["low", "mid", "high"])
        // The threshold model decides with P >= 0.35: some rows are positive only because of it.
        let lrt = try Self.predict(ws, "model:lrt", input: "score.csv")
        #expect(lrt.values.contains { $0[0] >= 0.35 && $0[0] <= 0.5 })
    }

    @Test func exportedBytesAreTheBuildsBytesAndRepeat() throws {
        _ = try Self.python()
        let ws = try Self.workspace()
        let build = try ws.build(["model:gbt"])
        try #require(build.result.status == 0, "\(build.result.output)")
        let first = try ws.run(["export", "model:gbt", "--format", "onnx", "--json"])
        try #require(first.status == 0, "\(first.stderr)")
        let info = try #require(try JSONSerialization.jsonObject(with: Data(first.stdout.utf8)) as? [String: Any])
        // Default output: NAME.onnx in the current directory.
        #expect(info["path"] as? String == "gbt.onnx")
        let exported = try ws.directory.data("gbt.onnx")
        #expect(info["bytes"] as? Int == exported.count)
        #expect((info["sha256"] as? String)?.count == 64)
        // The build's model.onnx and the export are the same bytes (one code path, ModelONNX).
        #expect(try ws.directory.data("build/model/gbt/model.onnx") == exported)
        // A second export, a restore from the cache and a rebuild from scratch give the same bytes.
        _ = try ws.run(["export", "model:gbt", "--format", "onnx", "-o", "again.onnx"])
        #expect(try ws.directory.data("again.onnx") == exported)
        let second = try ws.build(["model:gbt"])
        #expect(second.result.output.contains("0 built"), "\(second.result.output)")
        try ws.directory.remove("build")
        let restored = try ws.build(["model:gbt"])
        try #require(restored.result.status == 0, "\(restored.result.output)")
        #expect(restored.result.output.contains("restored model:gbt"), "\(restored.result.output)")
        #expect(try ws.directory.data("build/model/gbt/model.onnx") == exported)
        try ws.directory.remove("build")
        try ws.directory.remove("cache")
        let rebuild = try ws.build(["model:gbt"])
        try #require(rebuild.result.status == 0, "\(rebuild.result.output)")
        #expect(try ws.directory.data("build/model/gbt/model.onnx") == exported)
    }

    @Test func churnExampleModelsAgreeWithPredictInOnnxruntime() throws {
        _ = try Self.python()
        let ws = try MLBuildWorkspace(mlfile: try String(contentsOf: Self.repositoryRoot.appendingPathComponent("Mlfile.example"), encoding: .utf8))
        for file in ["churn.csv", "churn_recent.csv"] {
            try ws.directory.write("data/\(file)", try Data(contentsOf: Self.repositoryRoot.appendingPathComponent("data/\(file)")))
        }
        let build = try ws.build(["model:churn", "model:churn_gbt"])
        try #require(build.result.status == 0, "\(build.result.output)")
        for name in ["churn", "churn_gbt"] {
            let export = try ws.run(["export", "model:\(name)", "--format", "onnx"])
            try #require(export.status == 0, "\(export.stderr)")
            // churn_recent.csv: new customers, blank total_charges among them.
            let worst = try Self.compare(ws, model: name, onnx: "\(name).onnx", input: "data/churn_recent.csv")
            print("ONNX vs predict on churn_recent.csv, \(name): largest difference \(worst)")
        }
    }

    @Test func addingOnnxToFormatsRebuildsAndExplainsWhy() throws {
        let ws = try Self.workspace()
        let first = try ws.build(["model:lr"])
        try #require(first.result.status == 0, "\(first.result.output)")
        #expect(!ws.exists("build/model/lr/model.onnx"))
        try ws.write("Mlfile", Self.mlfile.replacingOccurrences(
            of: "    algorithm = logistic_regression\nmodel gbt", with: "    algorithm = logistic_regression\n    formats = json, onnx\nmodel gbt"))
        #expect(try ws.read("Mlfile").contains("formats = json, onnx\nmodel gbt"))
        let second = try ws.build(["model:lr", "--explain"])
        try #require(second.result.status == 0, "\(second.result.output)")
        #expect(second.result.stderr.contains("explain: model:lr: parameter formats changed"), "\(second.result.stderr)")
        #expect(ws.exists("build/model/lr/model.onnx"))
    }

    @Test func exportErrorsNameTheProblem() throws {
        let ws = try Self.workspace()
        let unbuilt = try ws.run(["export", "model:lr", "--format", "onnx"])
        #expect(unbuilt.status == 1)
        #expect(unbuilt.stderr.contains("build/model/lr/model.json does not exist: build the model first (mlbuild model:lr)"), "\(unbuilt.stderr)")
        let format = try ws.run(["export", "model:lr", "--format", "pmml"])
        #expect(format.status != 0)
        #expect(format.stderr.contains("unknown format 'pmml' (formats: onnx)"), "\(format.stderr)")
        try ws.write("Mlfile", Self.mlfile.replacingOccurrences(of: "formats = json, onnx", with: "formats = json, onxx"))
        let mlfile = try ws.run(["model:gbt"])
        #expect(mlfile.status == 2)
        #expect(mlfile.stderr.contains("Mlfile:37:21: error: unknown model format 'onxx' (did you mean 'onnx'?)"), "\(mlfile.stderr)")
    }
}
