/// Checks a decoded transform before it maps a single row: a transform.json (or the copy embedded
/// in a model.json) may have been edited or corrupted, and mapping with an inconsistent one
/// either crashes (a one-hot list longer than its feature names writes past the row) or scores
/// silently wrong (a shorter or reordered list shifts every later feature). The rules are exactly
/// what `FeatureBuilder` produces, so every built transform passes.
extension FittedTransform {
    public static let supportedVersion = 1

    /// Every problem, each starting with the JSON field at fault (`steps[1].categories: …`), in
    /// field order. Empty when the transform is consistent.
    public func problems() -> [String] {
        var out: [String] = []
        if version != Self.supportedVersion {
            out.append("version: \(version) is not supported (this mlbuild reads version \(Self.supportedVersion))")
        }
        out += schemaProblems()
        do {
            try options.validate()
            try options.validate(against: schema)
        } catch {
            out.append("options: \(error)")
        }

        // Label.
        if let column = schema[label.column] {
            if column.isID { out.append("label.column: '\(label.column)' is an id column") }
            if label.type != column.type.name {
                out.append("label.type: '\(label.type)' but the schema declares '\(label.column)' as \(column.type.name)")
            }
            switch (column.type, label.classes) {
            case (.int, nil), (.float, nil): break
            case (.int, _?), (.float, _?):
                out.append("label.classes: present, but the \(column.type.name) label '\(label.column)' is a number, not a class")
            case (_, nil):
                out.append("label.classes: missing (the \(column.type.name) label '\(label.column)' needs its classes)")
            case (.bool, let classes?) where classes != ["false", "true"]:
                out.append("label.classes: \(Self.list(classes)), but a bool label's classes are ['false', 'true']")
            case (.category(let declared), let classes?) where classes != declared:
                out.append("label.classes: \(Self.list(classes)) differ from the schema's declared categories of '\(label.column)' \(Self.list(declared))")
            default: break
            }
            if let classes = label.classes, let dup = Self.firstDuplicate(classes) {
                out.append("label.classes: '\(dup)' is listed twice")
            }
        } else {
            out.append("label.column: '\(label.column)' is not in the schema")
        }

        // Id columns.
        for (i, name) in idColumns.enumerated() {
            if let column = schema[name] {
                if !column.isID { out.append("id_columns[\(i)]: '\(name)' is not an id column in the schema") }
            } else {
                out.append("id_columns[\(i)]: '\(name)' is not in the schema")
            }
        }
        if let dup = Self.firstDuplicate(idColumns) { out.append("id_columns: '\(dup)' is listed twice") }

        // Steps, and the feature names they make.
        var seen: [String: Int] = [:]
        var names: [String] = []
        for (i, step) in steps.enumerated() {
            let field = "steps[\(i)]"
            if let first = seen[step.column] {
                out.append("\(field).column: '\(step.column)' is already transformed by steps[\(first)]")
            }
            seen[step.column] = seen[step.column] ?? i
            guard let column = schema[step.column] else {
                out.append("\(field).column: '\(step.column)' is not in the schema")
                continue
            }
            if column.isID { out.append("\(field).column: '\(step.column)' is an id column, never a feature") }
            if step.column == label.column { out.append("\(field).column: '\(step.column)' is the label") }
            let stepProblems = step.problems(column: column)
            out += stepProblems.map { "\(field).\($0)" }
            if stepProblems.isEmpty { names += step.featureNames }
        }

        // The transform's width must be what the steps make, name for name: the model's
        // coefficients (or tree feature numbers) are read in this order.
        if out.isEmpty {
            if featureNames.count != names.count {
                out.append("feature_names: \(featureNames.count) names, but the steps make \(names.count) features (\(widthSummary))")
            } else if let k = featureNames.indices.first(where: { featureNames[$0] != names[$0] }) {
                out.append("feature_names[\(k)]: '\(featureNames[k])', but the steps make '\(names[k])' at position \(k)")
            }
        }
        if let pseudonymized {
            if pseudonymized.keySecret.isEmpty { out.append("pseudonymize.key_secret: empty") }
            for (i, name) in pseudonymized.columns.enumerated() {
                guard case .string? = schema[name]?.type, steps.contains(where: { $0.column == name && $0.kind == "one_hot" }) else {
                    out.append("pseudonymize.columns[\(i)]: '\(name)' is not a one-hot string column")
                    continue
                }
            }
        }
        return out
    }

    /// Throws `DatasetError.format` listing every problem, the file named by `path`.
    public func validate(path: String, field: String = "") throws {
        let found = problems()
        guard !found.isEmpty else { return }
        throw DatasetError.format(path: path, message: Self.describe(found, field: field))
    }

    /// `invalid transform: a; b` with each problem's field prefixed by `field` (e.g. `transform.`).
    static func describe(_ problems: [String], field: String) -> String {
        let shown = problems.prefix(10).map { field + $0 }
        let more = problems.count > 10 ? "; … and \(problems.count - 10) more" : ""
        return "invalid transform (edited or corrupted? rebuild it): " + shown.joined(separator: "; ") + more
    }

    private var widthSummary: String {
        steps.map { "\($0.column): \($0.width)" }.joined(separator: ", ")
    }

    private func schemaProblems() -> [String] {
        var out: [String] = []
        if schema.columns.isEmpty { out.append("schema: no columns") }
        var seen: [String: Int] = [:]
        for (i, column) in schema.columns.enumerated() {
            let field = "schema[\(i)]"
            if column.name.isEmpty { out.append("\(field).name: empty") }
            if let first = seen[column.name] {
                out.append("\(field).name: '\(column.name)' is already schema[\(first)]")
            } else {
                seen[column.name] = i
            }
            if case .category(let values) = column.type {
                if values.isEmpty { out.append("\(field).categories: empty") }
                if let dup = Self.firstDuplicate(values) { out.append("\(field).categories: '\(dup)' is listed twice") }
            }
            for (key, bound) in [("min", column.min), ("max", column.max)] {
                guard let bound else { continue }
                if !column.type.isNumeric { out.append("\(field).\(key): only int and float columns have bounds") }
                if !bound.isFinite { out.append("\(field).\(key): not a finite number") }
            }
            if let lo = column.min, let hi = column.max, lo > hi {
                out.append("\(field): min \(CanonicalJSON.format(lo)) is greater than max \(CanonicalJSON.format(hi))")
            }
        }
        return out
    }

    static func list(_ values: [String]) -> String {
        "[" + values.map { "'\($0)'" }.joined(separator: ", ") + "]"
    }

    static func firstDuplicate(_ values: [String]) -> String? {
        var seen: Set<String> = []
        for v in values where !seen.insert(v).inserted { return v }
        return nil
    }
}

extension FittedTransform.ColumnTransform {
    /// The feature names this step makes, as `FeatureBuilder` names them.
    var featureNames: [String] {
        switch kind {
        case "one_hot": (categories ?? []).map { "\(column)=\($0)" }
        case "buckets": FeatureBuilder.bucketNames(column, boundaries ?? [])
        default: [column]
        }
    }

    /// Problems of this step against its schema column, each starting with the field's key.
    func problems(column: ColumnSpec) -> [String] {
        var out: [String] = []
        let type = column.type
        switch kind {
        case "numeric", "buckets":
            if !type.isNumeric { out.append("kind: '\(kind)' applies to int and float columns; '\(column.name)' is \(type.name)") }
        case "bool":
            if type != .bool { out.append("kind: 'bool' applies to bool columns; '\(column.name)' is \(type.name)") }
        case "one_hot":
            if !type.isDictionaryEncoded { out.append("kind: 'one_hot' applies to category and string columns; '\(column.name)' is \(type.name)") }
        default:
            out.append("kind: unknown kind '\(kind)' (expected numeric, bool, one_hot or buckets)")
            return out
        }

        // Numbers that enter every row must be finite.
        if let imputeValue, !imputeValue.isFinite { out.append("impute_value: not a finite number") }
        if imputeValue != nil, kind == "one_hot" { out.append("impute_value: a one_hot step imputes text (impute_text)") }
        if imputeText != nil, kind != "one_hot" { out.append("impute_text: only one_hot steps impute text") }
        if log1p, kind != "numeric", kind != "buckets" { out.append("log1p: only numeric and buckets steps take log1p") }

        // Scaling: both numbers or neither, and only for numeric steps.
        switch (scaling, kind) {
        case (nil, _):
            if center != nil || scale != nil { out.append("center, scale: given without scaling") }
        case ("standardize", "numeric"), ("minmax", "numeric"):
            if let center, let scale {
                if !center.isFinite { out.append("center: not a finite number") }
                if !(scale.isFinite && scale > 0) { out.append("scale: \(CanonicalJSON.format(scale)) is not a finite number > 0") }
            } else {
                out.append("\(center == nil ? "center" : "scale"): missing (scaling '\(scaling ?? "")' needs center and scale)")
            }
        case (let s?, "numeric"):
            out.append("scaling: unknown scaling '\(s)' (expected standardize or minmax)")
        case (_?, _):
            out.append("scaling: only numeric steps are scaled")
        }

        // One-hot categories: a category column's declared list in declared order (the order of
        // the model's features); a string column's distinct values, each once.
        if kind == "one_hot" {
            if let categories {
                if let dup = FittedTransform.firstDuplicate(categories) { out.append("categories: '\(dup)' is listed twice") }
                if case .category(let declared) = type, categories != declared {
                    out.append("categories: \(FittedTransform.list(categories)) differ from the schema's declared categories of '\(column.name)' \(FittedTransform.list(declared))")
                }
            } else {
                out.append("categories: missing (a one_hot step lists its categories)")
            }
            if let imputeText, case .category(let declared) = type, !declared.contains(imputeText) {
                out.append("impute_text: '\(imputeText)' is not a declared category of '\(column.name)'")
            }
        } else if categories != nil {
            out.append("categories: only one_hot steps have categories")
        }

        // Bucket boundaries: finite and strictly increasing.
        if kind == "buckets" {
            if let boundaries {
                if boundaries.isEmpty { out.append("boundaries: empty") }
                if let k = boundaries.firstIndex(where: { !$0.isFinite }) {
                    out.append("boundaries[\(k)]: not a finite number")
                } else if let k = boundaries.indices.dropFirst().first(where: { !(boundaries[$0 - 1] < boundaries[$0]) }) {
                    out.append("boundaries[\(k)]: \(CanonicalJSON.format(boundaries[k])) is not above boundaries[\(k - 1)] \(CanonicalJSON.format(boundaries[k - 1])) (boundaries must increase)")
                }
            } else {
                out.append("boundaries: missing (a buckets step lists its boundaries)")
            }
        } else if boundaries != nil {
            out.append("boundaries: only buckets steps have boundaries")
        }
        return out
    }
}
