import Foundation
import MLBuildTestSupport
import Testing

/// Multi-class models, class weights, decision thresholds, early stopping and cross-validation,
/// through the real binary (issue 15).
@Suite("training breadth: multi-class, class_weight, threshold, early stopping, cv")
struct TrainingBreadthTests {
    static let flowerHeader = "id,petal,sepal,colour,species"

    /// Three species told apart by `petal` (with overlap) and `colour`; no RNG, fixed
    /// modular arithmetic, so the CSV is the same on every run.
    static func flowers(rows: Int) -> String {
        var out = flowerHeader + "\n"
        let species = ["setosa", "versicolor", "virginica"]
        let colours = ["blue", "red", "white"]
        for r in 0 ..< rows {
            let k = (r * 7) % 3
            let petal = Double(k) * 2 + Double((r * 37) % 29) / 10        // overlapping bands
            let sepal = Double((r * 13) % 17) / 3                          // noise
            let colour = (r * 11) % 5 == 0 ? colours[(k + 1) % 3] : colours[k]
            out += "F\(r),\(petal),\(sepal),\(colour),\(species[k])\n"
        }
        return out
    }

    static func flowerMlfile(models: String, labelType: String = "category(setosa, versicolor, virginica)") -> String {
        """
        seed = 3

        dataset flowers
            source = data/flowers.csv
            schema = id: string id unique, petal: float, sepal: float, colour: category(blue, red, white), species: \(labelType)

        features flowers
            dataset = dataset:flowers
            label = species
            one_hot = colour
            standardize = petal, sepal
            split = 0.7
            stratify = true

        \(models)
        """
    }

    static let twoModels = """
        model lr
            features = features:flowers
            algorithm = logistic_regression

        model gbt
            features = features:flowers
            algorithm = gradient_boosting
            trees = 30
            min_samples_leaf = 5
            gate = accuracy >= 0.6, f1_macro >= 0.5
        """

    static func flowerWorkspace(models: String = twoModels, rows: Int = 300) throws -> MLBuildWorkspace {
        let ws = try MLBuildWorkspace(mlfile: flowerMlfile(models: models))
        try ws.write("data/flowers.csv", flowers(rows: rows))
        return ws
    }

    @Test(arguments: ["lr", "gbt"]) func aThreeClassLabelTrainsAMulticlassModelWithItsMetricsAndProbabilities(model: String) throws {
        let ws = try Self.flowerWorkspace()
        let run = try ws.build(["model:\(model)"])
        #expect(run.result.status == 0, "\(run.result.output)")
        let metrics = try MLFixtures.json(ws, "build/model/\(model)/metrics.json")
        let values = try #require(metrics["metrics"] as? [String: Any])
        for name in ["accuracy", "auc", "f1_macro", "f1_weighted", "log_loss", "precision_macro", "precision_weighted",
                     "recall_macro", "recall_weighted"] {
            let value = try #require(values[name] as? Double, "\(name) missing from \(values.keys.sorted())")
            #expect(value.isFinite)
        }
        #expect(values["precision"] == nil, "binary-only metrics are not reported for 3 classes")
        #expect(try #require(values["accuracy"] as? Double) > 0.6, "the fixture has real signal")
        let confusion = try #require(values["confusion_matrix"] as? [[Int]])
        #expect(confusion.count == 3 && confusion.allSatisfy { $0.count == 3 })
        #expect(confusion.joined().reduce(0, +) == metrics["test_rows"] as? Int)
        #expect(metrics["classes"] as? [String] == ["setosa", "versicolor", "virginica"])
        let document = try MLFixtures.json(ws, "build/model/\(model)/model.json")
        let output = try #require(document["output"] as? [String: Any])
        #expect(output["columns"] as? [String] == ["id", "prediction", "probability_setosa", "probability_versicolor", "probability_virginica"])
        #expect(output["threshold"] == nil)

        try ws.write("rows.csv", Self.flowerHeader + "\nQ1,0.5,1,blue,setosa\nQ2,4.9,2,white,virginica\nQ3,2.5,3,red,versicolor\n")
        let predicted = try ws.run(["predict", "model:\(model)", "--input", "rows.csv"])
        #expect(predicted.status == 0, "\(predicted.stderr)")
        let lines = predicted.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == "id,prediction,probability_setosa,probability_versicolor,probability_virginica")
        #expect(lines.count == 4)
        let classes = ["setosa", "versicolor", "virginica"]
        for line in lines.dropFirst() {
            let fields = line.split(separator: ",").map(String.init)
            let p = fields[2...].compactMap(Double.init)
            #expect(p.count == 3)
            #expect(abs(p.reduce(0, +) - 1) < 1e-12, "\(line)")
            let best = p.indices.max { p[$0] < p[$1] } ?? 0
            #expect(fields[1] == classes[best], "the prediction is the most probable class: \(line)")
        }
        #expect(lines[1].hasPrefix("Q1,setosa,"), "\(lines)")
        #expect(lines[2].hasPrefix("Q2,virginica,"), "\(lines)")
    }

    @Test func aMulticlassModelIsBitIdenticalFromRunToRun() throws {
        var documents: [[Data]] = []
        for _ in 0 ..< 2 {  // two workspaces, two caches: both trained from scratch
            let ws = try Self.flowerWorkspace()
            let run = try ws.build(["model:lr", "model:gbt"])
            #expect(run.result.status == 0, "\(run.result.output)")
            #expect(run.targets("built").contains("model:gbt"))
            documents.append(try ["lr", "gbt"].map { try MLFixtures.bytes(ws, "build/model/\($0)/model.json") })
        }
        #expect(documents[0] == documents[1])
    }

    @Test func aNumericLabelOfClassNumbersClassifiesWhenAsked() throws {
        var csv = "id,petal,sepal,colour,species\n"
        for line in Self.flowers(rows: 240).split(separator: "\n").dropFirst() {
            var fields = line.split(separator: ",").map(String.init)
            fields[4] = String(["setosa", "versicolor", "virginica"].firstIndex(of: fields[4]) ?? 0)
            csv += fields.joined(separator: ",") + "\n"
        }
        let models = """
            model lr
                features = features:flowers
                algorithm = logistic_regression
            """
        let ws = try MLBuildWorkspace(mlfile: Self.flowerMlfile(models: models, labelType: "int"))
        try ws.write("data/flowers.csv", csv)
        let run = try ws.build(["model:lr"])
        #expect(run.result.status == 0, "\(run.result.output)")
        let document = try MLFixtures.json(ws, "build/model/lr/model.json")
        #expect((document["output"] as? [String: Any])?["classes"] as? [String] == ["0", "1", "2"])
        #expect((document["output"] as? [String: Any])?["columns"] as? [String] == ["id", "prediction", "probability_0", "probability_1", "probability_2"])
    }

    @Test func aBinaryGateOnAMulticlassModelFailsNamingTheGateAndTheMetricsThatApply() throws {
        let models = """
            model lr
                features = features:flowers
                algorithm = logistic_regression
                gate = recall >= 0.5
            """
        let ws = try Self.flowerWorkspace(models: models)
        let run = try ws.build(["model:lr"])
        #expect(run.result.status == 1)
        #expect(run.result.stderr.contains("Mlfile:18:12: metric 'recall' does not apply to a 3-class model"), "\(run.result.stderr)")
        #expect(run.result.stderr.contains("recall_macro"), "\(run.result.stderr)")
        #expect(!ws.exists("build/model/lr"))
    }

    // MARK: - Thresholds and class weights (binary)

    @Test func aFixedThresholdDecidesMetricsPredictionsAndGatesAndIsRecorded() throws {
        let extra = """

            model lr35
                features = features:rows
                algorithm = logistic_regression
                threshold = 0.35
            """
        let ws = try MLFixtures.workspace(mlfile: MLFixtures.mlfile(extraModel: extra))
        let run = try ws.build(["model:lr", "model:lr35"])
        #expect(run.result.status == 0, "\(run.result.output)")
        let plain = try MLFixtures.metrics(ws, model: "lr"), low = try MLFixtures.metrics(ws, model: "lr35")
        #expect(plain.metrics["auc"]?.number == low.metrics["auc"]?.number, "the same model: AUC does not depend on the threshold")
        let recall = try #require(plain.metrics["recall"]?.number), lowRecall = try #require(low.metrics["recall"]?.number)
        #expect(lowRecall >= recall)
        #expect(plain.metrics["confusion_matrix"]?.matrix != low.metrics["confusion_matrix"]?.matrix)
        let document = try MLFixtures.json(ws, "build/model/lr35/model.json")
        let output = try #require(document["output"] as? [String: Any])
        #expect(output["threshold"] as? Double == 0.35)
        #expect(output["threshold_method"] as? String == "fixed")
        #expect(output["columns"] as? [String] == ["id", "prediction", "probability", "threshold"])
        #expect(try MLFixtures.json(ws, "build/model/lr35/metrics.json")["threshold"] as? Double == 0.35)

        try ws.write("test_rows.csv", MLFixtures.csv(rows: 400))
        let predicted = try ws.run(["predict", "model:lr35", "--input", "test_rows.csv"])
        #expect(predicted.status == 0, "\(predicted.stderr)")
        var between = 0
        for line in predicted.stdout.split(separator: "\n").dropFirst() {
            let fields = line.split(separator: ",").map(String.init)
            let p = try #require(Double(fields[2]))
            #expect(fields[1] == (p >= 0.35 ? "true" : "false"), "\(line)")
            #expect(fields[3] == "0.35")
            if p >= 0.35 && p <= 0.5 { between += 1 }
        }
        #expect(between > 0, "some rows are decided differently than at 0.5")
    }

    @Test func maxF1ChoosesAThresholdOnTheTrainingRowsAndRecordsIt() throws {
        let extra = """

            model tuned
                features = features:rows
                algorithm = logistic_regression
                threshold = max_f1
            """
        let ws = try MLFixtures.workspace(mlfile: MLFixtures.mlfile(extraModel: extra))
        let run = try ws.build(["model:tuned"])
        #expect(run.result.status == 0, "\(run.result.output)")
        let output = try #require(try MLFixtures.json(ws, "build/model/tuned/model.json")["output"] as? [String: Any])
        #expect(output["threshold_method"] as? String == "max_f1")
        let threshold = try #require(output["threshold"] as? Double)
        #expect(threshold > 0 && threshold < 1)
        #expect(try MLFixtures.json(ws, "build/model/tuned/metrics.json")["threshold"] as? Double == threshold)
        let other = try MLFixtures.workspace(mlfile: MLFixtures.mlfile(extraModel: extra))
        #expect(try other.build(["model:tuned"]).result.status == 0)
        #expect(try MLFixtures.bytes(other, "build/model/tuned/model.json") == MLFixtures.bytes(ws, "build/model/tuned/model.json"),
                "the choice is deterministic")
    }

    @Test func classWeightsChangeTheModelAndAnUnknownClassIsNamedAtItsItem() throws {
        let extra = """

            model balanced
                features = features:rows
                algorithm = logistic_regression
                class_weight = balanced

            model heavy
                features = features:rows
                algorithm = gradient_boosting
                trees = 20
                class_weight = true:3
            """
        let ws = try MLFixtures.workspace(mlfile: MLFixtures.mlfile(extraModel: extra))
        let run = try ws.build(["model:lr", "model:balanced", "model:gbt", "model:heavy"])
        #expect(run.result.status == 0, "\(run.result.output)")
        func model(_ name: String) throws -> String {
            let document = try MLFixtures.json(ws, "build/model/\(name)/model.json")
            let data = try JSONSerialization.data(withJSONObject: document["model"] ?? [:], options: [.sortedKeys])
            return String(decoding: data, as: UTF8.self)
        }
        #expect(try model("lr") != model("balanced"))
        #expect(try model("gbt") != model("heavy"))
        let hyper = try #require(try MLFixtures.json(ws, "build/model/heavy/model.json")["hyperparameters"] as? [String: Any])
        #expect(hyper["class_weight"] as? String == "true:3")
        // Positives weigh 3: recall rises.
        let base = try #require(try MLFixtures.metrics(ws, model: "gbt").metrics["recall"]?.number)
        let weighted = try #require(try MLFixtures.metrics(ws, model: "heavy").metrics["recall"]?.number)
        #expect(weighted >= base)

        let wrong = """

            model typo
                features = features:rows
                algorithm = logistic_regression
                class_weight = ture:3
            """
        try ws.write("Mlfile", MLFixtures.mlfile(extraModel: wrong))
        let failed = try ws.build(["model:typo"])
        #expect(failed.result.status == 1)
        #expect(failed.result.stderr.contains("Mlfile:32:20: class_weight names the class 'ture', which the label does not have (did you mean 'true'?)"),
                "\(failed.result.stderr)")
        #expect(!ws.exists("build/model/typo"))
    }

    @Test func everyNewKeyIsCheckedAtItsLineAndColumnAllAtOnce() throws {
        let extra = """

            model a
                features = features:rows
                algorithm = logistic_regression
                threshold = 1.5
                cv = 1
                early_stopping = true
                class_weight = balanced, yes:2
                gate = cv_auc >= 0.8

            model b
                features = features:rows
                algorithm = linear_regression
                threshold = 0.3
                class_weight = 1:2
                cv = five
            """
        let ws = try MLFixtures.workspace(mlfile: MLFixtures.mlfile(extraModel: extra))
        let run = try ws.run(["model:a"])
        #expect(run.status != 0)
        let err = run.stderr
        for expected in [
            "Mlfile:32:17: error: threshold must be a probability strictly between 0 and 1, or max_f1; not '1.5'",
            "Mlfile:33:10: error: cv must be an integer >= 2 (the number of folds), not '1'",
            "Mlfile:34:5: error: 'early_stopping' is not a hyper-parameter of logistic_regression",
            "Mlfile:35:20: error: 'balanced' cannot be combined with CLASS:WEIGHT items",
            "Mlfile:36:12: error: gate on 'cv_auc' needs cross-validation",
            "Mlfile:41:17: error: threshold applies to binary classification, and this model is a regression model",
            "Mlfile:42:20: error: class_weight applies to classification, and this model is a regression model",
            "Mlfile:43:10: error: cv must be an integer >= 2 (the number of folds), not 'five'",
        ] {
            #expect(err.contains(expected), "missing: \(expected)\n\(err)")
        }
        #expect(!ws.exists("build"))
    }

    // MARK: - Early stopping

    @Test func earlyStoppingKeepsFewerTreesAndRecordsHowMany() throws {
        let extra = """

            model early
                features = features:rows
                algorithm = gradient_boosting
                trees = 300
                learning_rate = 0.3
                min_samples_leaf = 5
                early_stopping = true
                n_iter_no_change = 3
                validation_fraction = 0.2
            """
        let ws = try MLFixtures.workspace(mlfile: MLFixtures.mlfile(extraModel: extra))
        let run = try ws.build(["model:early"])
        #expect(run.result.status == 0, "\(run.result.output)")
        let document = try MLFixtures.json(ws, "build/model/early/model.json")
        let kept = try #require(document["trees_kept"] as? Int)
        #expect(kept >= 4 && kept < 300, "\(kept)")
        let trees = try #require((document["model"] as? [String: Any]).flatMap { ($0["model"] as? [String: Any])?["trees"] as? [Any] })
        #expect(trees.count == kept)
        let hyper = try #require(document["hyperparameters"] as? [String: Any])
        #expect(hyper["early_stopping"] as? Bool == true)
        #expect(run.result.output.contains("stopped early: \(kept) of 300 trees kept"), "\(run.result.output)")
    }

    // MARK: - Cross-validation

    static func cvExtra(_ folds: String, gate: String = "cv_auc >= 0.7") -> String {
        """

        model cvlr
            features = features:rows
            algorithm = logistic_regression
            cv = \(folds)
            gate = \(gate)
        """
    }

    @Test func cvRunsOneCachedActionPerFoldAndReportsMeanAndStd() throws {
        let ws = try MLFixtures.workspace(mlfile: MLFixtures.mlfile(extraModel: Self.cvExtra("3")))
        let run = try ws.build(["model:cvlr", "-j", "2"])
        #expect(run.result.status == 0, "\(run.result.output)")
        #expect(run.targets("built") == ["cv:cvlr.fold-1", "cv:cvlr.fold-2", "cv:cvlr.fold-3", "dataset:rows", "features:rows", "model:cvlr"])
        let metrics = try MLFixtures.json(ws, "build/model/cvlr/metrics.json")
        let values = try #require(metrics["metrics"] as? [String: Any])
        let cvAUC = try #require(values["cv_auc"] as? Double), std = try #require(values["cv_auc_std"] as? Double)
        // The mean and population std of the folds' own AUCs.
        let folds = try (1 ... 3).map { fold in
            try #require((try MLFixtures.json(ws, "build/cv/cvlr/fold-\(fold)/metrics.json")["metrics"] as? [String: Any])?["auc"] as? Double)
        }
        let mean = folds.reduce(0, +) / 3
        #expect(abs(cvAUC - mean) < 1e-15)
        #expect(abs(std - (folds.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 3).squareRoot()) < 1e-15)
        #expect(values["cv_accuracy"] is Double && values["cv_log_loss_std"] is Double)
        let gates = try #require(metrics["gates"] as? [[String: Any]])
        #expect(gates.first?["metric"] as? String == "cv_auc" && gates.first?["passed"] as? Bool == true)
        // Folds are stratified and cover the training rows once.
        let sizes = try (1 ... 3).map { try MLFixtures.json(ws, "build/cv/cvlr/fold-\($0)/metrics.json")["test_rows"] as? Int ?? 0 }
        #expect(sizes.reduce(0, +) == metrics["train_rows"] as? Int)

        let again = try ws.build(["model:cvlr"])
        #expect(again.targets("fresh").count == 6, "\(again.statuses)")

        // Another fold count reuses no fold; going back restores the first three from the cache.
        try ws.write("Mlfile", MLFixtures.mlfile(extraModel: Self.cvExtra("4")))
        let four = try ws.build(["model:cvlr"])
        #expect(four.result.status == 0, "\(four.result.output)")
        #expect(four.targets("built") == ["cv:cvlr.fold-1", "cv:cvlr.fold-2", "cv:cvlr.fold-3", "cv:cvlr.fold-4", "model:cvlr"])
        try ws.write("Mlfile", MLFixtures.mlfile(extraModel: Self.cvExtra("3")))
        let back = try ws.build(["model:cvlr"])
        #expect(back.result.status == 0)
        #expect(back.targets("built").isEmpty, "\(back.statuses)")
        let restored = try #require(try MLFixtures.json(ws, "build/model/cvlr/metrics.json")["metrics"] as? [String: Any])
        #expect(restored["cv_auc"] as? Double == cvAUC, "the three-fold result again")
    }

    @Test func aRegressionModelCrossValidatesOnShuffledFolds() throws {
        let mlfile = """
            seed = 1

            dataset r
                source = data/r.csv
                schema = id: string id unique, x: float, z: float, y: float

            features r
                dataset = dataset:r
                label = y
                standardize = x, z

            model lin
                features = features:r
                algorithm = linear_regression
                cv = 4
                gate = cv_r2 >= 0.9, cv_rmse_std <= 1
            """
        let ws = try MLBuildWorkspace(mlfile: mlfile)
        var csv = "id,x,z,y\n"
        for r in 0 ..< 200 {
            let x = Double((r * 37) % 101) / 10, z = Double((r * 13) % 17) / 3
            csv += "R\(r),\(x),\(z),\(2 * x - z + Double((r * 53) % 11) / 5)\n"
        }
        try ws.write("data/r.csv", csv)
        let run = try ws.build(["model:lin"])
        #expect(run.result.status == 0, "\(run.result.output)")
        #expect(run.targets("built").filter { $0.hasPrefix("cv:") } == (1 ... 4).map { "cv:lin.fold-\($0)" })
        let metrics = try #require(try MLFixtures.json(ws, "build/model/lin/metrics.json")["metrics"] as? [String: Any])
        for name in ["cv_mae", "cv_mae_std", "cv_r2", "cv_r2_std", "cv_rmse", "cv_rmse_std"] { #expect(metrics[name] is Double, "\(name)") }
        let sizes = try (1 ... 4).map { try MLFixtures.json(ws, "build/cv/lin/fold-\($0)/metrics.json")["test_rows"] as? Int ?? 0 }
        #expect(sizes.reduce(0, +) == 160 && sizes.allSatisfy { $0 == 40 }, "\(sizes)")
    }

    @Test func anExperimentSweepCrossValidatesEachVariantInItsOwnTree() throws {
        let ws = try MLFixtures.workspace(mlfile: MLFixtures.mlfile(extraModel: Self.cvExtra("3")))
        let run = try ws.run(["exp", "run", "--set", "model:cvlr.l2=0.1,10", "--json"])
        #expect(run.status == 0, "\(run.output)")
        #expect(!ws.exists("build/cv"), "the workspace's own folds are not touched by the variants")
        let document = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        let variants = try #require(document["variants"] as? [[String: Any]])
        #expect(variants.count == 2)
        var means: [Double] = []
        for variant in variants {
            let id = try #require(variant["id"] as? String)
            for fold in 1 ... 3 { #expect(ws.exists("build/exp/\(id)/build/cv/cvlr/fold-\(fold)/metrics.json")) }
            let metrics = try MLFixtures.json(ws, "build/exp/\(id)/build/model/cvlr/metrics.json")
            means.append(try #require((metrics["metrics"] as? [String: Any])?["cv_auc"] as? Double))
        }
        #expect(means[0] != means[1], "each variant's folds trained with its own l2")
    }

    @Test func aCrossValidatedGateMissFailsTheModelWithTheMeasuredMean() throws {
        let ws = try MLFixtures.workspace(mlfile: MLFixtures.mlfile(extraModel: Self.cvExtra("3", gate: "cv_auc >= 0.9999")))
        let run = try ws.build(["model:cvlr"])
        #expect(run.result.status == 1)
        #expect(run.statuses["model:cvlr"] == "failed")
        #expect(run.result.stderr.contains("cv_auc = 0."), "\(run.result.stderr)")
        #expect(run.result.stderr.contains("required cv_auc >= 0.9999  FAILED"), "\(run.result.stderr)")
        #expect(!ws.exists("build/model/cvlr"))
    }
}
