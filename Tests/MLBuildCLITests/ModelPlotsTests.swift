import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import MLBuildTestSupport
import Testing

/// The model rule's plots (docs/formats.md, "plots/*.json"; docs/experiments.md, "Plots"): every
/// plot of a classifier and of a regressor is written next to model.json, its JSON has the
/// documented fields and agrees with metrics.json, its SVG is well-formed and self-contained, and
/// the plots are outputs like any other (byte-identical on a rebuild, restored from the cache).
@Suite("model plots")
struct ModelPlotsTests {
    static let classification = ["calibration", "confusion_matrix", "feature_importance", "precision_recall", "roc"]
    static let regression = ["feature_importance", "predicted_vs_actual", "residuals"]
    static let common = ["format", "format_version", "model", "plot", "rows", "split", "title", "x_label", "y_label"]
    static let fields: [String: [String]] = [
        "roc": ["auc", "false_positive_rate", "thresholds", "true_positive_rate"],
        "precision_recall": ["average_precision", "positive_rate", "precision", "recall", "thresholds"],
        "calibration": ["bins"],
        "confusion_matrix": ["classes", "matrix", "threshold"],
        "feature_importance": ["column_aggregation", "columns", "definition", "description", "features"],
        "predicted_vs_actual": ["actual", "predicted", "sample_rows", "sampled"],
        "residuals": ["histogram", "predicted", "residual", "sample_rows", "sampled"],
    ]

    /// Decoded exactly (JSONSerialization may round doubles on Linux).
    struct ROC: Decodable {
        var auc: Double
        var false_positive_rate: [Double]
        var true_positive_rate: [Double]
    }

    struct Confusion: Decodable { var matrix: [[Int]]; var classes: [String]; var threshold: Double }

    struct Importance: Decodable {
        struct Feature: Decodable { var name: String; var column: String; var importance: Double }
        struct Column: Decodable { var column: String; var importance: Double }
        var definition: String
        var features: [Feature]
        var columns: [Column]
    }

    /// Every plot file of `model`: sorted names of plots/.
    static func files(_ ws: MLBuildWorkspace, _ model: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: "\(ws.path)/build/model/\(model)/plots").sorted()
    }

    /// The JSON has the common and the plot's own fields; the SVG parses as XML and refers to nothing outside.
    static func checkPlot(_ ws: MLBuildWorkspace, model: String, plot: String) throws {
        let json = try MLFixtures.json(ws, "build/model/\(model)/plots/\(plot).json")
        let expected = Set(common + (fields[plot] ?? []))
        #expect(Set(json.keys) == expected, "\(model)/\(plot).json: \(json.keys.sorted())")
        #expect(json["format"] as? String == "mlbuild-plot")
        #expect(json["plot"] as? String == plot)
        #expect(json["model"] as? String == "model:\(model)")
        #expect(json["split"] as? String == "test")
        try checkSVG(MLFixtures.bytes(ws, "build/model/\(model)/plots/\(plot).svg"), name: "\(model)/\(plot).svg")
    }

    static func checkSVG(_ data: Data, name: String) throws {
        let parser = XMLParser(data: data)
        #expect(parser.parse(), "\(name) is not well-formed XML: \(String(describing: parser.parserError))")
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains("<svg xmlns=\"http://www.w3.org/2000/svg\""), "\(name)")
        for banned in ["<script", "href=\"http", "xlink:href", "url(", "@import", "<image", "<foreignObject"] {
            #expect(!text.contains(banned), "\(name) contains \(banned)")
        }
        #expect(text.contains("<text"), "\(name) has no text (title, labels)")
    }

    static func trapezoid(_ x: [Double], _ y: [Double]) -> Double {
        var area = 0.0
        for k in 1 ..< x.count { area += (x[k] - x[k - 1]) * (y[k] + y[k - 1]) / 2 }
        return area
    }

    @Test func theExampleModelsHaveEveryClassificationPlot() throws {
        let ws = try ContainerExampleTests.exampleWorkspace()
        let run = try ws.build(["model:churn", "model:churn_gbt"])
        #expect(run.result.status == 0, "\(run.result.output)")
        for model in ["churn", "churn_gbt"] {
            #expect(try Self.files(ws, model) == Self.classification.flatMap { ["\($0).json", "\($0).svg"] }.sorted())
            for plot in Self.classification { try Self.checkPlot(ws, model: model, plot: plot) }
            let metrics = try MLFixtures.metrics(ws, model: model)
            let auc = try #require(metrics.metrics["auc"]?.number)
            let roc = try JSONDecoder().decode(ROC.self, from: MLFixtures.bytes(ws, "build/model/\(model)/plots/roc.json"))
            #expect(roc.auc == auc)
            #expect(abs(Self.trapezoid(roc.false_positive_rate, roc.true_positive_rate) - auc) < 1e-12)
            #expect(roc.false_positive_rate.first == 0 && roc.true_positive_rate.first == 0)
            #expect(roc.false_positive_rate.last == 1 && roc.true_positive_rate.last == 1)
            // The drawing's title is the JSON's, which gives the AUC.
            let svg = try ws.read("build/model/\(model)/plots/roc.svg")
            let title = try #require(MLFixtures.json(ws, "build/model/\(model)/plots/roc.json")["title"] as? String)
            #expect(title.hasPrefix("ROC — model:\(model) (AUC 0."))
            #expect(svg.contains(">\(title)</text>"))
            let confusion = try JSONDecoder().decode(Confusion.self, from: MLFixtures.bytes(ws, "build/model/\(model)/plots/confusion_matrix.json"))
            #expect(confusion.matrix == metrics.metrics["confusion_matrix"]?.matrix)
            #expect(confusion.classes == ["false", "true"])
            #expect(confusion.threshold == 0.5)
            // Calibration: 10 bins holding every test row.
            let calibration = try MLFixtures.json(ws, "build/model/\(model)/plots/calibration.json")
            let bins = try #require(calibration["bins"] as? [[String: Any]])
            #expect(bins.count == 10)
            #expect(bins.compactMap { ($0["count"] as? NSNumber)?.intValue }.reduce(0, +) == metrics.test_rows)
        }
        // Importance: gain for boosting, standardized coefficients for the logistic model; one-hot
        // features grouped back to their column.
        let gbt = try JSONDecoder().decode(Importance.self, from: MLFixtures.bytes(ws, "build/model/churn_gbt/plots/feature_importance.json"))
        #expect(gbt.definition == "total_split_gain")
        #expect(gbt.features.allSatisfy { $0.importance >= 0 } && gbt.features.contains { $0.importance > 0 })
        let lr = try JSONDecoder().decode(Importance.self, from: MLFixtures.bytes(ws, "build/model/churn/plots/feature_importance.json"))
        #expect(lr.definition == "standardized_coefficient")
        for importance in [gbt, lr] {
            let model = try MLFixtures.json(ws, "build/model/churn/model.json")
            let names = try #require((model["transform"] as? [String: Any])?["feature_names"] as? [String])
            #expect(importance.features.map(\.name) == names)
            #expect(importance.features.first { $0.name == "contract=one_year" }?.column == "contract")
            #expect(importance.columns.map(\.column).contains("contract"))
            #expect(!importance.columns.map(\.column).contains("contract=one_year"))
        }
        let contract = gbt.features.filter { $0.column == "contract" }.map(\.importance).reduce(0, +)
        #expect(gbt.columns.first { $0.column == "contract" }?.importance == contract)
    }

    static let regressionMlfile = """
    seed = 7

    dataset rows
        source = data/rows.csv
        schema = \(MLFixtures.schema)

    features amounts
        dataset = dataset:rows
        label = amount
        one_hot = plan
        impute = score:median
        split = 0.75

    model line
        features = features:amounts
        algorithm = linear_regression

    model boost
        features = features:amounts
        algorithm = gradient_boosting
        trees = 10
        min_samples_leaf = 5
    """

    @Test func regressionModelsHaveScatterResidualAndImportancePlots() throws {
        let ws = try MLBuildWorkspace(mlfile: Self.regressionMlfile)
        // 9,000 rows: a test split above the 2,000 points a scatter draws.
        try ws.write("data/rows.csv", MLFixtures.csv(rows: 9000))
        let run = try ws.build(["model:line", "model:boost"])
        #expect(run.result.status == 0, "\(run.result.output)")
        for model in ["line", "boost"] {
            #expect(try Self.files(ws, model) == (Self.regression.flatMap { ["\($0).json", "\($0).svg"] } + ["residuals_histogram.svg"]).sorted())
            for plot in Self.regression { try Self.checkPlot(ws, model: model, plot: plot) }
            try Self.checkSVG(MLFixtures.bytes(ws, "build/model/\(model)/plots/residuals_histogram.svg"), name: "\(model)/residuals_histogram.svg")
            let testRows = try MLFixtures.metrics(ws, model: model).test_rows
            let scatter = try MLFixtures.json(ws, "build/model/\(model)/plots/predicted_vs_actual.json")
            #expect(testRows > 2000)
            #expect(scatter["sampled"] as? Bool == true)
            #expect((scatter["sample_rows"] as? NSNumber)?.intValue == 2000)
            #expect((scatter["actual"] as? [Any])?.count == 2000)
            #expect((scatter["rows"] as? NSNumber)?.intValue == testRows)
            let residuals = try MLFixtures.json(ws, "build/model/\(model)/plots/residuals.json")
            let histogram = try #require(residuals["histogram"] as? [String: Any])
            #expect(((histogram["counts"] as? [NSNumber]) ?? []).map(\.intValue).reduce(0, +) == testRows)
            #expect((histogram["edges"] as? [Any])?.count == 21)
        }
        let line = try JSONDecoder().decode(Importance.self, from: MLFixtures.bytes(ws, "build/model/line/plots/feature_importance.json"))
        #expect(line.definition == "standardized_coefficient")
        let boost = try JSONDecoder().decode(Importance.self, from: MLFixtures.bytes(ws, "build/model/boost/plots/feature_importance.json"))
        #expect(boost.definition == "total_split_gain")
    }

    @Test func plotsAreByteIdenticalOnRebuildAndRestoredFromTheCache() throws {
        let ws = try MLFixtures.workspace()
        let first = try ws.build(["model:lr", "model:gbt"])
        #expect(first.result.status == 0, "\(first.result.output)")
        func snapshot() throws -> [String: Data] {
            var out: [String: Data] = [:]
            for model in ["lr", "gbt"] {
                for file in try Self.files(ws, model) { out["\(model)/\(file)"] = try MLFixtures.bytes(ws, "build/model/\(model)/plots/\(file)") }
            }
            return out
        }
        let before = try snapshot()
        #expect(before.count == 2 * 2 * Self.classification.count)
        // A clean rebuild (no outputs, no cache) makes the same bytes.
        try FileManager.default.removeItem(atPath: "\(ws.path)/build")
        try FileManager.default.removeItem(atPath: ws.cacheDirectory)
        let again = try ws.build(["model:lr", "model:gbt"])
        #expect(again.result.status == 0, "\(again.result.output)")
        #expect(again.targets("built").contains("model:lr") && again.targets("built").contains("model:gbt"), "\(again.statuses)")
        #expect(try snapshot() == before)
        // Deleted, then restored from the cache with the plots.
        try FileManager.default.removeItem(atPath: "\(ws.path)/build/model")
        let restored = try ws.build(["model:lr", "model:gbt"])
        #expect(restored.result.status == 0, "\(restored.result.output)")
        #expect(restored.targets("restored") == ["model:gbt", "model:lr"], "\(restored.statuses)")
        #expect(try snapshot() == before)
        // And then nothing to do.
        let noop = try ws.build(["model:lr", "model:gbt"])
        #expect(noop.targets("fresh") == ["dataset:rows", "features:rows", "model:gbt", "model:lr"], "\(noop.statuses)")
        #expect(try snapshot() == before)
    }
}
