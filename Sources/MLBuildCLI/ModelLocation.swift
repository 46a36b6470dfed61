import Foundation
import MLBuildCore
import MLBuildRules

/// Where `predict` and `serve` find a model: `model:NAME` is `build/model/NAME/model.json` (the
/// model must be built: neither command builds), anything else is a path to a model.json.
struct ModelLocation {
    /// The name the model is served under: NAME of `model:NAME`; for a path to a `model.json`,
    /// the NAME of the `model:NAME` its lineage records (so an image's /model/model.json is
    /// served under the model's own name), else its directory's name
    /// (build/model/churn/model.json → churn); for another file, its name without `.json`.
    var name: String
    var path: String

    /// - Parameter mlfile: the `-f` option, named only in the "build it first" hint.
    init(_ argument: String, mlfile: String?) throws {
        if let reference = TargetReference(parsing: argument), !argument.hasSuffix(".json") {
            guard reference.kind == ModelRule.kind else {
                throw CLIError.usage("'\(argument)' is not a model target (expected model:NAME or a path to a model.json)")
            }
            path = ModelRule.directory(reference.name) + "/model.json"
            name = reference.name
            guard FileStat.of(path)?.isRegularFile == true else {
                throw CLIError.message("\(path) does not exist: build the model first (mlbuild \(mlfile.map { "-f \($0) " } ?? "")\(argument))")
            }
        } else {
            path = argument
            guard FileStat.of(path)?.isRegularFile == true else {
                throw CLIError.message("no model file at '\(argument)' (expected model:NAME or a path to a model.json)")
            }
            let components = argument.split(separator: "/").map(String.init)
            let file = components.last ?? argument
            if file == "model.json", let target = Self.lineageTarget(path) {
                name = target
            } else if file == "model.json", components.count >= 2 {
                name = components[components.count - 2]
            } else {
                name = file.hasSuffix(".json") ? String(file.dropLast(5)) : file
            }
        }
    }

    /// NAME of the `lineage.target` (`model:NAME`) a model.json records; nil when it has none
    /// or does not parse (loading it then reports the problem).
    static func lineageTarget(_ path: String) -> String? {
        struct Identity: Decodable {
            struct Lineage: Decodable { var target: String? }
            var lineage: Lineage?
        }
        guard let bytes = try? FileSystem.readBytes(path),
              let identity = try? JSONDecoder().decode(Identity.self, from: Data(bytes)),
              let text = identity.lineage?.target, let reference = TargetReference(parsing: text),
              reference.kind == ModelRule.kind else { return nil }
        return reference.name
    }
}
