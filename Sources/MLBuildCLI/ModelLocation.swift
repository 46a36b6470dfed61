import MLBuildCore
import MLBuildRules

/// Where `predict` and `serve` find a model: `model:NAME` is `build/model/NAME/model.json` (the
/// model must be built: neither command builds), anything else is a path to a model.json.
struct ModelLocation {
    /// The name the model is served under: NAME of `model:NAME`; for a path, its directory's
    /// name when the file is `model.json` (build/model/churn/model.json → churn), else the
    /// file name without `.json`.
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
            if file == "model.json", components.count >= 2 {
                name = components[components.count - 2]
            } else {
                name = file.hasSuffix(".json") ? String(file.dropLast(5)) : file
            }
        }
    }
}
