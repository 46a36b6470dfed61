import Foundation
import MLBuildCore
import MLBuildDatasets
import MLBuildPlots
import MLBuildTraining

/// The plots of a model target, on its test split (the rows metrics.json reports on):
/// `build/model/NAME/plots/PLOT.json` (the data, canonical JSON) and `PLOT.svg` (drawn by
/// MLBuildPlots). Classification: roc, precision_recall, calibration, confusion_matrix,
/// feature_importance; regression: predicted_vs_actual, residuals, feature_importance.
/// Documented in docs/formats.md ("plots/*.json").
///
/// Every file starts with
///     {"format": "mlbuild-plot", "format_version": 1, "plot": NAME, "title": TEXT,
///      "model": "model:NAME", "split": "test", "rows": N, "x_label": TEXT, "y_label": TEXT, …}
/// and adds its own fields (see `classification` and `regression`).
struct ModelPlots {
    static let directory = "plots"
    static let format = "mlbuild-plot"
    static let formatVersion = 1
    static let classificationNames = ["calibration", "confusion_matrix", "feature_importance", "precision_recall", "roc"]
    static let multiclassNames = ["confusion_matrix", "feature_importance", "roc"]
    static let regressionNames = ["feature_importance", "predicted_vs_actual", "residuals"]

    /// Whether `path` (workspace-relative) lies in the plots directory of `target`, a model.
    /// `outputDirectory`: the model's declared output directory (from the `RuleContext`).
    static func isPlot(_ path: String, of target: TargetReference, outputDirectory: String) -> Bool {
        guard target.kind == ModelRule.kind else { return false }
        let plots = outputDirectory + "/" + directory
        return path == plots || path.hasPrefix(plots + "/")
    }

    struct Plot {
        var name: String
        var json: JSONValue
        var svg: String
    }

    let target: String
    let rows: Int
    var plots: [Plot] = []

    init(target: String, rows: Int) {
        self.target = target
        self.rows = rows
    }

    /// The members every plot has.
    private func header(_ name: String, title: String, xLabel: String, yLabel: String) -> [String: JSONValue] {
        [
            "format": .string(Self.format), "format_version": .number(Self.formatVersion), "plot": .string(name),
            "title": .string(title), "model": .string(target), "split": .string("test"), "rows": .number(rows),
            "x_label": .string(xLabel), "y_label": .string(yLabel),
        ]
    }

    private static func numbers(_ values: [Double]) -> JSONValue { .array(values.map { .number($0) }) }

    /// A 4-decimal figure for titles.
    private static func short(_ x: Double) -> String { SVGNumber.format(x, decimals: 4) }

    // MARK: - Classification

    /// ROC (`auc`: metrics.json's value, null with one class; `false_positive_rate`,
    /// `true_positive_rate`, `thresholds` with thresholds[0] null = above every score),
    /// precision_recall (`average_precision`, `recall`, `precision`, `thresholds`,
    /// `positive_rate`), calibration (`bins`: lower, upper, count, mean_predicted,
    /// observed_rate; null when empty), confusion_matrix (`classes`, `threshold`, `matrix`
    /// [[tn, fp], [fn, tp]], rows actual, columns predicted).
    mutating func classification(labels: [Double], scores: [Double], metrics: Metrics, classes: [String], threshold: Double) throws {
        let curves = try EvaluationCurves(labels: labels, scores: scores)
        let auc = metrics["auc"]
        let undefined = "undefined: the test split holds one class"

        let rocTitle = "ROC — \(target)" + (auc.map { " (AUC \(Self.short($0)))" } ?? "")
        var roc = header("roc", title: rocTitle, xLabel: "false positive rate", yLabel: "true positive rate")
        roc["auc"] = .optional(auc)
        roc["false_positive_rate"] = Self.numbers(curves.falsePositiveRates)
        roc["true_positive_rate"] = Self.numbers(curves.truePositiveRates)
        roc["thresholds"] = Self.numbers(curves.thresholds)
        plots.append(Plot(name: "roc", json: .object(roc), svg: LineChart(
            title: rocTitle, xLabel: "false positive rate", yLabel: "true positive rate",
            series: [.init(name: "model", x: curves.falsePositiveRates, y: curves.truePositiveRates)],
            diagonal: true, note: auc == nil ? undefined : nil).svg()))

        let positives = labels.reduce(0) { $0 + ($1 == 1 ? 1 : 0) }
        let positiveRate = Double(positives) / Double(labels.count)
        let ap = curves.averagePrecision
        let prTitle = "Precision–recall — \(target)" + (ap.map { " (AP \(Self.short($0)))" } ?? "")
        var pr = header("precision_recall", title: prTitle, xLabel: "recall", yLabel: "precision")
        pr["average_precision"] = .optional(ap)
        pr["positive_rate"] = .number(positiveRate)
        pr["recall"] = Self.numbers(curves.recalls)
        pr["precision"] = Self.numbers(curves.precisions)
        pr["thresholds"] = Self.numbers(curves.prThresholds)
        plots.append(Plot(name: "precision_recall", json: .object(pr), svg: LineChart(
            title: prTitle, xLabel: "recall", yLabel: "precision",
            series: [.init(name: "model", x: curves.recalls, y: curves.precisions, step: true)],
            note: ap == nil ? "undefined: no positive row in the test split" : "dashed: the positive rate \(Self.short(positiveRate))"
        ).svgWithBaseline(positiveRate)))

        let title = "Calibration — \(target)"
        var calibration = header("calibration", title: title, xLabel: "mean predicted probability", yLabel: "observed positive rate")
        calibration["bins"] = .array(curves.calibration.map { bin in
            .object([
                "lower": .number(bin.lower), "upper": .number(bin.upper), "count": .number(bin.count),
                "mean_predicted": .optional(bin.meanPredicted), "observed_rate": .optional(bin.observedRate),
            ])
        })
        let filled = curves.calibration.filter { $0.count > 0 }
        plots.append(Plot(name: "calibration", json: .object(calibration), svg: LineChart(
            title: title, xLabel: "mean predicted probability", yLabel: "observed positive rate",
            series: [.init(name: "model", x: filled.compactMap(\.meanPredicted), y: filled.compactMap(\.observedRate), markers: true)],
            diagonal: true,
            note: "10 equal-width bins; rows per bin: " + curves.calibration.map { String($0.count) }.joined(separator: " ")).svg()))

        let confusion = metrics.confusionMatrix ?? ConfusionMatrix(trueNegatives: 0, falsePositives: 0, falseNegatives: 0, truePositives: 0)
        let cmTitle = "Confusion matrix — \(target)"
        var cm = header("confusion_matrix", title: cmTitle, xLabel: "predicted", yLabel: "actual")
        cm["classes"] = .array(classes.map { .string($0) })
        cm["threshold"] = .number(threshold)
        cm["matrix"] = .array(confusion.rows.map { .array($0.map { .number($0) }) })
        plots.append(Plot(name: "confusion_matrix", json: .object(cm), svg: HeatMapTable(
            title: cmTitle, rowLabel: "actual", columnLabel: "predicted", rowNames: classes, columnNames: classes,
            cells: confusion.rows, note: "predicted \(classes.count > 1 ? classes[1] : "1") when the probability is above \(SVGNumber.format(threshold))"
        ).svg()))
    }

    // MARK: - Multi-class

    /// roc: one one-vs-rest curve per class (`classes`: [{`class`, `auc` (null when the test
    /// split lacks the class or holds only it), `false_positive_rate`, `true_positive_rate`,
    /// `thresholds`}], `auc`: metrics.json's macro average); confusion_matrix (`classes`,
    /// `matrix` K×K, rows actual, columns predicted: the most probable class).
    mutating func multiclass(labels: [Double], probabilities: Matrix, metrics: Metrics, classes: [String]) throws {
        let k = probabilities.columns
        var perClass: [JSONValue] = []
        var series: [LineChart.Series] = []
        for c in 0 ..< k {
            let binary = labels.map { $0 == Double(c) ? 1.0 : 0.0 }
            let scores = (0 ..< probabilities.rows).map { probabilities.values[$0 * k + c] }
            let curves = try EvaluationCurves(labels: binary, scores: scores)
            let auc = try Metrics.rocAUC(labels: binary, scores: scores)
            let name = c < classes.count ? classes[c] : String(c)
            perClass.append(.object([
                "class": .string(name), "auc": .optional(auc),
                "false_positive_rate": Self.numbers(curves.falsePositiveRates),
                "true_positive_rate": Self.numbers(curves.truePositiveRates),
                "thresholds": Self.numbers(curves.thresholds),
            ]))
            series.append(.init(name: name + (auc.map { " (AUC \(Self.short($0)))" } ?? ""), x: curves.falsePositiveRates, y: curves.truePositiveRates))
        }
        let auc = metrics["auc"]
        let rocTitle = "ROC, one vs rest — \(target)" + (auc.map { " (macro AUC \(Self.short($0)))" } ?? "")
        var roc = header("roc", title: rocTitle, xLabel: "false positive rate", yLabel: "true positive rate")
        roc["auc"] = .optional(auc)
        roc["classes"] = .array(perClass)
        plots.append(Plot(name: "roc", json: .object(roc), svg: LineChart(
            title: rocTitle, xLabel: "false positive rate", yLabel: "true positive rate", series: series, diagonal: true,
            note: auc == nil ? "macro AUC undefined: a class is missing from the test split" : nil).svg()))

        let rows = metrics.confusionMatrix?.rows ?? []
        let cmTitle = "Confusion matrix — \(target)"
        var cm = header("confusion_matrix", title: cmTitle, xLabel: "predicted", yLabel: "actual")
        cm["classes"] = .array(classes.map { .string($0) })
        cm["matrix"] = .array(rows.map { .array($0.map { .number($0) }) })
        plots.append(Plot(name: "confusion_matrix", json: .object(cm), svg: HeatMapTable(
            title: cmTitle, rowLabel: "actual", columnLabel: "predicted", rowNames: classes, columnNames: classes,
            cells: rows, note: "predicted: the most probable class").svg()))
    }

    // MARK: - Regression

    /// predicted_vs_actual (`actual`, `predicted`, `sampled`, `sample_rows`), residuals
    /// (`predicted`, `residual` = actual − predicted, `sampled`, `sample_rows`, and
    /// `histogram` {`edges`, `counts`} of every row's residual in 20 equal-width bins).
    mutating func regression(targets: [Double], predictions: [Double]) {
        let sample = PlotSample.rows(count: targets.count)
        let sampled = sample.count < targets.count
        let note = sampled ? "\(sample.count) of \(targets.count) rows, evenly spaced" : nil
        let actual = sample.map { targets[$0] }, predicted = sample.map { predictions[$0] }
        let title = "Predicted vs actual — \(target)"
        var pva = header("predicted_vs_actual", title: title, xLabel: "actual", yLabel: "predicted")
        pva["actual"] = Self.numbers(actual)
        pva["predicted"] = Self.numbers(predicted)
        pva["sampled"] = .bool(sampled)
        pva["sample_rows"] = .number(sample.count)
        plots.append(Plot(name: "predicted_vs_actual", json: .object(pva), svg: ScatterChart(
            title: title, xLabel: "actual", yLabel: "predicted", x: actual, y: predicted, reference: .diagonal, note: note).svg()))

        let residuals = zip(targets, predictions).map { $0 - $1 }
        let histogram = ValueHistogram(residuals)
        let sampledResiduals = sample.map { residuals[$0] }
        let rTitle = "Residuals — \(target)"
        var r = header("residuals", title: rTitle, xLabel: "predicted", yLabel: "residual (actual − predicted)")
        r["predicted"] = Self.numbers(predicted)
        r["residual"] = Self.numbers(sampledResiduals)
        r["sampled"] = .bool(sampled)
        r["sample_rows"] = .number(sample.count)
        r["histogram"] = .object(["edges": Self.numbers(histogram.edges), "counts": .array(histogram.counts.map { .number($0) })])
        plots.append(Plot(name: "residuals", json: .object(r), svg: ScatterChart(
            title: rTitle, xLabel: "predicted", yLabel: "residual (actual − predicted)", x: predicted, y: sampledResiduals,
            reference: .zero, note: note).svg()))
        plots.append(Plot(name: "residuals_histogram", json: .null, svg: HistogramChart(
            title: "Residual histogram — \(target)", xLabel: "residual (actual − predicted)", edges: histogram.edges,
            counts: histogram.counts, note: "every test row, 20 equal-width bins").svg()))
    }

    // MARK: - Feature importance

    /// feature_importance: `definition` (total_split_gain | standardized_coefficient),
    /// `description`, `features` [{name, column, importance}] in matrix order, and `columns`
    /// [{column, importance}] in transform order, a one-hot or bucketed column's features
    /// combined by `column_aggregation` (sum for gain, sum of absolute values for coefficients).
    mutating func featureImportance(_ importance: FeatureImportance, transform: FittedTransform) {
        let names = transform.featureNames
        var columnOf: [String] = []
        for step in transform.steps { columnOf += Array(repeating: step.column, count: step.width) }
        if columnOf.count != names.count { columnOf = names }
        let gain = importance.definition == .totalSplitGain
        let description = gain
            ? "sum over every split on the feature in every tree of the split's gain G_L²/(H_L+λ) + G_R²/(H_R+λ) − G²/(H+λ), recorded while training"
            : "coefficient × the feature's standard deviation on the training rows (divisor n): the change of the linear score for one standard deviation"
        var columns: [(column: String, value: Double)] = []
        for (k, column) in columnOf.enumerated() where k < importance.values.count {
            let value = gain ? importance.values[k] : abs(importance.values[k])
            if let i = columns.firstIndex(where: { $0.column == column }) { columns[i].value += value } else { columns.append((column, value)) }
        }
        let valueLabel = gain ? "total split gain" : "standardized coefficient (coefficient × sd)"
        let title = "Feature importance — \(target)"
        var json = header("feature_importance", title: title, xLabel: valueLabel, yLabel: "feature")
        json["definition"] = .string(importance.definition.rawValue)
        json["description"] = .string(description)
        json["column_aggregation"] = .string(gain ? "sum" : "sum_of_absolute_values")
        json["features"] = .array(zip(names, importance.values).enumerated().map { k, pair in
            .object(["name": .string(pair.0), "column": .string(k < columnOf.count ? columnOf[k] : pair.0), "importance": .number(pair.1)])
        })
        json["columns"] = .array(columns.map { .object(["column": .string($0.column), "importance": .number($0.value)]) })
        plots.append(Plot(name: "feature_importance", json: .object(json), svg: BarChart(
            title: title, valueLabel: valueLabel, bars: zip(names, importance.values).map { (label: $0, value: $1) }).svg()))
    }

    /// Writes every plot (JSON then SVG, each atomically) into `directory`.
    func write(to directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for plot in plots {
            if plot.json != .null {
                try AtomicFile.write(CanonicalJSON.serialize(plot.json), to: directory.appendingPathComponent("\(plot.name).json"))
            }
            try AtomicFile.write(Data(plot.svg.utf8), to: directory.appendingPathComponent("\(plot.name).svg"))
        }
    }
}

private extension LineChart {
    /// The chart with a dashed horizontal line at `y` (a precision–recall curve's no-skill level).
    func svgWithBaseline(_ y: Double) -> String {
        var chart = self
        chart.series.append(.init(name: "positive rate", x: [0, 1], y: [y, y], reference: true))
        return chart.svg()
    }
}
