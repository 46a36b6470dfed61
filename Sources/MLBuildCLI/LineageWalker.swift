import Foundation
import MLBuildCore
import MLBuildDatasets
import MLBuildEngine
import MLBuildOCI
import MLBuildRules

/// Builds `mlbuild lineage`'s tree (JSON) from the project graph and the build state.
///
///     {"target", "kind", "status": "built" | "stale" | "not built", "action_key", "outputs_digest",
///      "parameters": {…}, "seed", "metrics": {…} (models), "image": {"digest", "layers"} (containers),
///      "sources": [{"path", "sha256"}], "dependencies": [nodes]}
struct LineageWalker {
    let project: Project
    let state: BuildState
    let actions: [TargetReference: PlannedTarget.Action]

    func node(_ target: TargetReference) -> JSONValue {
        var fields: [String: JSONValue] = ["target": .string(target.description), "kind": .string(target.kind)]
        let record = state.records[target]
        switch (record, actions[target]) {
        case (nil, _): fields["status"] = .string("not built")
        case (_?, .fresh?): fields["status"] = .string("built")
        default: fields["status"] = .string("stale")
        }
        if let record {
            fields["action_key"] = .string(record.key.hex)
            fields["outputs_digest"] = .string(record.result.manifestDigest.hex)
            fields["sources"] = .array(record.summary.inputs.map { .object(["path": .string($0.0), "sha256": .string($0.1.hex)]) })
        } else if let rule = project.rules[target] {
            // Not built: the declared inputs as they are now.
            fields["sources"] = .array(rule.inputs.compactMap { input -> JSONValue? in
                guard let digest = try? FileHashing.digest(ofFileAt: input.pattern).digest else { return nil }
                return .object(["path": .string(input.pattern), "sha256": .string(digest.hex)])
            })
        }
        if let configuration = project.configurations[target], let parameters = try? configuration.canonicalParameters() {
            var object: [String: JSONValue] = [:]
            for (name, value) in parameters { object[name] = .string(value.replacingOccurrences(of: "\u{1F}", with: ", ")) }
            fields["parameters"] = .object(object)
        }
        if let rule = project.rules[target], type(of: rule).usesSeed, let seed = project.configurations[target]?.seed {
            fields["seed"] = .string(String(seed))
        }
        if let directory = project.rules[target]?.outputs.first.map(PathNormalizer.normalize) {
            if target.kind == "model", let metrics = Self.readJSON("\(directory)/metrics.json"), case .object(let object) = metrics {
                fields["metrics"] = object["metrics"] ?? .null
            }
        }
        if let container = project.rules[target] as? ContainerRule, FileManager.default.fileExists(atPath: container.imagePath),
           let read = try? ImageAnnotations.read(archive: URL(fileURLWithPath: container.imagePath)) {
            fields["image"] = .object([
                "digest": .string(read.manifest.prefixed),
                "layers": .array(read.layers.map { .object(["digest": .string($0.digest.prefixed), "size": .number(Double($0.size))]) }),
            ])
        }
        fields["dependencies"] = .array(project.graph.dependencies(of: target).map(node))
        return .object(fields)
    }

    static func readJSON(_ path: String) -> JSONValue? {
        guard let bytes = try? FileSystem.readBytes(path) else { return nil }
        return try? JSONDecoder().decode(JSONValue.self, from: Data(bytes))
    }

    /// A model node rebuilt from model.json's `lineage` section (an image's annotations):
    /// the model, its features, and the datasets with their sources.
    static func fromModelLineage(_ lineage: [String: JSONValue], metrics: JSONValue) -> JSONValue {
        var model: [String: JSONValue] = ["kind": .string("model"), "status": .string("built"), "metrics": metrics]
        for key in ["target", "action_key", "seed", "parameters"] { if let value = lineage[key] { model[key] = value } }
        var datasets: [JSONValue] = []
        if case .array(let list)? = lineage["datasets"] {
            for case .object(let dataset) in list {
                var node: [String: JSONValue] = ["kind": .string("dataset"), "status": .string("built"), "dependencies": .array([])]
                node["target"] = dataset["target"] ?? .string("dataset")
                node["outputs_digest"] = dataset["outputs_digest"]
                node["sources"] = dataset["sources"] ?? .array([])
                datasets.append(.object(node))
            }
        }
        var features: [String: JSONValue] = ["kind": .string("features"), "status": .string("built"), "dependencies": .array(datasets)]
        if case .object(let f)? = lineage["features"] {
            features["target"] = f["target"] ?? .string("features")
            features["outputs_digest"] = f["outputs_digest"]
        }
        model["dependencies"] = .array([.object(features)])
        return .object(model)
    }
}

/// The text form of a lineage tree.
enum LineageText {
    static func render(_ node: JSONValue, indent: String = "", continuation: String = "") -> String {
        guard case .object(let fields) = node else { return "" }
        func text(_ key: String) -> String? { if case .string(let s)? = fields[key] { return s } else { return nil } }
        var line = indent + (text("target") ?? "?")
        if let status = text("status"), status != "built" { line += " [\(status)]" }
        if let key = text("action_key") { line += "  key \(key.prefix(12))" }
        if let outputs = text("outputs_digest") { line += "  outputs \(outputs.prefix(12))" }
        if let seed = text("seed") { line += "  seed \(seed)" }
        var out = line + "\n"
        var details: [String] = []
        if case .object(let image)? = fields["image"], case .string(let digest)? = image["digest"] {
            var layers = 0
            if case .array(let list)? = image["layers"] { layers = list.count }
            details.append("image \(digest) (\(layers) layer\(layers == 1 ? "" : "s"))")
        }
        if case .object(let metrics)? = fields["metrics"], !metrics.isEmpty {
            let shown = metrics.keys.sorted().compactMap { key -> String? in
                if case .number(let x)? = metrics[key] { return "\(key) \(CanonicalJSON.format((x * 10_000).rounded() / 10_000))" }
                return nil
            }
            if !shown.isEmpty { details.append("metrics: " + shown.joined(separator: ", ")) }
        }
        if case .object(let parameters)? = fields["parameters"], !parameters.isEmpty {
            details.append("params: " + parameters.keys.sorted().map { key in
                switch parameters[key] {
                case .string(let v)?: return "\(key)=\(v)"
                case .number(let x)?: return "\(key)=\(CanonicalJSON.format(x))"
                default: return "\(key)=…"
                }
            }.joined(separator: ", "))
        }
        var children: [JSONValue] = []
        if case .array(let sources)? = fields["sources"] { children += sources.map { .object(["__source": $0]) } }
        if case .array(let dependencies)? = fields["dependencies"] { children += dependencies }
        let pad = continuation + (children.isEmpty ? "   " : "│  ")
        for detail in details { out += pad + detail + "\n" }
        for (i, child) in children.enumerated() {
            let last = i == children.count - 1
            if case .object(let wrapper) = child, case .object(let source)? = wrapper["__source"] {
                var path = "?", sha = "?"
                if case .string(let p)? = source["path"] { path = p }
                if case .string(let s)? = source["sha256"] { sha = s }
                out += continuation + (last ? "└─ " : "├─ ") + "\(path)  sha256:\(sha)\n"
            } else {
                out += render(child, indent: continuation + (last ? "└─ " : "├─ "), continuation: continuation + (last ? "   " : "│  "))
            }
        }
        return out
    }
}

/// Annotations flattened by `ContainerAnnotations.flatten` back into a JSON tree: `a.b.0.c`
/// keys become objects and arrays (an all-digit segment is an array index).
enum Unflatten {
    static func tree(_ annotations: [String: String], prefix: String) -> JSONValue {
        var root: JSONValue = .null
        for key in annotations.keys.sorted() where key.hasPrefix(prefix) {
            let path = key.dropFirst(prefix.count).split(separator: ".").map(String.init)
            guard let value = annotations[key] else { continue }
            insert(&root, path: path[...], value: scalar(value))
        }
        return root
    }

    private static func scalar(_ text: String) -> JSONValue {
        if let x = Double(text), x.isFinite, !text.hasPrefix("0") || text == "0" || text.hasPrefix("0.") { return .number(x) }
        return .string(text)
    }

    private static func insert(_ node: inout JSONValue, path: ArraySlice<String>, value: JSONValue) {
        guard let head = path.first else {
            node = value
            return
        }
        let rest = path.dropFirst()
        if let index = Int(head), index >= 0, index < 100_000 {
            var items: [JSONValue]
            if case .array(let existing) = node { items = existing } else { items = [] }
            while items.count <= index { items.append(.null) }
            insert(&items[index], path: rest, value: value)
            node = .array(items)
        } else {
            var fields: [String: JSONValue]
            if case .object(let existing) = node { fields = existing } else { fields = [:] }
            var child = fields[head] ?? .null
            insert(&child, path: rest, value: value)
            fields[head] = child
            node = .object(fields)
        }
    }
}
