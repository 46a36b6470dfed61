import MLBuildCore
import MLBuildDatasets
import MLBuildEngine
import MLBuildTraining

/// A model target's settings beyond the algorithm's hyper-parameters: how classes are weighted,
/// where the decision threshold sits and how many cross-validation folds it reports. Parsed from
/// the Mlfile by `ModelRule`; each problem points at the value at fault.
struct ModelOptions: Sendable {
    /// `class_weight = balanced` or `class_weight = CLASS:WEIGHT, …` (scikit-learn's semantics:
    /// a class not listed weighs 1).
    enum ClassWeight: Sendable {
        case balanced
        case explicit([(name: String, weight: Double, location: SourceLocation)])
    }

    /// `threshold = 0.35` or `threshold = max_f1` (binary classifiers only).
    enum Threshold: Sendable, Equatable {
        case fixed(Double)
        case maxF1
    }

    var classWeight: ClassWeight?
    var threshold: Threshold?
    /// `cv = N`: stratified N-fold cross-validation on the training rows.
    var folds: Int?
    /// Where each option was written (for errors found at run time, when the classes are known).
    var locations: [String: SourceLocation] = [:]

    static let keys: [RuleKey] = [
        RuleKey("class_weight", .list, summary: "balanced, or CLASS:WEIGHT, … (classification; scikit-learn's semantics)"),
        RuleKey("threshold", summary: "decision threshold of a binary classifier: a probability in (0, 1), or max_f1"),
        RuleKey("cv", summary: "N >= 2: stratified N-fold cross-validation on the training rows (cv_METRIC, cv_METRIC_std)"),
    ]

    init() {}

    /// Reads the three keys; `task` is the model's task when the Mlfile decides it.
    init(configuration: TargetConfiguration, task: TrainingTask?, diagnostics: inout DiagnosticCollector) {
        for key in ["class_weight", "threshold", "cv"] {
            if let location = configuration.value(key)?.location { locations[key] = location }
        }
        if configuration.has("class_weight") {
            let items = diagnostics.attempt { try configuration.list("class_weight") } ?? []
            classWeight = Self.classWeight(items, configuration: configuration, diagnostics: &diagnostics)
            if task == .regression {
                diagnostics.add(configuration.diagnostic("class_weight", "class_weight applies to classification, and this model is a regression model"))
            }
        }
        if let text = diagnostics.attempt({ try configuration.string("threshold") }) ?? nil {
            if text == "max_f1" {
                threshold = .maxF1
            } else if let value = Double(text), value.isFinite, value > 0, value < 1 {
                threshold = .fixed(value)
            } else {
                diagnostics.add(configuration.diagnostic(
                    "threshold", "threshold must be a probability strictly between 0 and 1, or max_f1; not '\(text)'"))
            }
            if task == .regression {
                diagnostics.add(configuration.diagnostic("threshold", "threshold applies to binary classification, and this model is a regression model"))
            }
        }
        if let text = diagnostics.attempt({ try configuration.string("cv") }) ?? nil {
            if let n = Int(text), n >= 2 {
                folds = n
            } else {
                diagnostics.add(configuration.diagnostic("cv", "cv must be an integer >= 2 (the number of folds), not '\(text)'"))
            }
        }
    }

    private static func classWeight(_ items: [ResolvedValue.Item], configuration: TargetConfiguration,
                                    diagnostics: inout DiagnosticCollector) -> ClassWeight? {
        let source = configuration.target.source
        if items.count == 1, items[0].text == "balanced" { return .balanced }
        var entries: [(name: String, weight: Double, location: SourceLocation)] = []
        var ok = !items.isEmpty
        if items.isEmpty {
            diagnostics.add(configuration.diagnostic("class_weight", "class_weight needs 'balanced' or CLASS:WEIGHT items"))
        }
        for item in items {
            if item.text == "balanced" {
                diagnostics.add(source.diagnostic("'balanced' cannot be combined with CLASS:WEIGHT items", at: item.location))
                ok = false
                continue
            }
            guard let colon = item.text.lastIndex(of: ":") else {
                diagnostics.add(source.diagnostic("class_weight item '\(item.text)' must be CLASS:WEIGHT (or class_weight = balanced)", at: item.location))
                ok = false
                continue
            }
            let name = String(item.text[..<colon]).trimmingCharacters(in: .whitespaces)
            let number = String(item.text[item.text.index(after: colon)...]).trimmingCharacters(in: .whitespaces)
            guard !name.isEmpty else {
                diagnostics.add(source.diagnostic("class_weight item '\(item.text)' names no class", at: item.location))
                ok = false
                continue
            }
            guard let weight = Double(number), weight.isFinite, weight >= 0 else {
                let offset = item.text.distance(from: item.text.startIndex, to: item.text.index(after: colon))
                    + item.text[item.text.index(after: colon)...].prefix(while: { $0 == " " }).count
                diagnostics.add(source.diagnostic("class weight '\(number)' of class '\(name)' must be a number >= 0",
                                                  at: item.location(atCharacterOffset: offset)))
                ok = false
                continue
            }
            if entries.contains(where: { $0.name == name }) {
                diagnostics.add(source.diagnostic("class '\(name)' is weighted twice in class_weight", at: item.location))
                ok = false
                continue
            }
            entries.append((name, weight, item.location))
        }
        return ok ? .explicit(entries) : nil
    }

    /// The canonical text of the options, for the artifact and its lineage.
    var summary: [(name: String, value: String)] {
        var out: [(String, String)] = []
        switch classWeight {
        case .balanced?: out.append(("class_weight", "balanced"))
        case .explicit(let entries)?: out.append(("class_weight", entries.map { "\($0.name):\(CanonicalJSON.format($0.weight))" }.joined(separator: ", ")))
        case nil: break
        }
        if let folds { out.append(("cv", String(folds))) }
        switch threshold {
        case .fixed(let t)?: out.append(("threshold", CanonicalJSON.format(t)))
        case .maxF1?: out.append(("threshold", "max_f1"))
        case nil: break
        }
        return out
    }

    /// Per-row sample weights from `class_weight` for labels 0..<classes.count, or nil when no
    /// weighting is asked for. An unknown class name fails, pointing at its item.
    func sampleWeights(labels: [Double], classes: [String]) throws -> [Double]? {
        guard let classWeight else { return nil }
        let weights: [Double]
        switch classWeight {
        case .balanced:
            weights = ClassWeights.balanced(labels: labels, classCount: classes.count)
        case .explicit(let entries):
            var byClass = [Double](repeating: 1, count: classes.count)
            for entry in entries {
                guard let index = classes.firstIndex(of: entry.name) else {
                    let hint = Suggestion.hintAllowingSwaps(for: entry.name, among: classes)
                    throw RuleFailure("\(entry.location): class_weight names the class '\(entry.name)', which the label does not have\(hint) "
                                      + "(classes: \(classes.joined(separator: ", ")))")
                }
                byClass[index] = entry.weight
            }
            weights = byClass
        }
        let sample = ClassWeights.sampleWeights(labels: labels, classWeights: weights)
        guard sample.contains(where: { $0 > 0 }) else {
            throw RuleFailure("\(locations["class_weight"].map { "\($0): " } ?? "")class_weight gives every training row the weight 0")
        }
        return sample
    }
}
