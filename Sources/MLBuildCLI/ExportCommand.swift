import ArgumentParser
import Foundation
import MLBuildCore
import MLBuildDatasets
import MLBuildONNX
import MLBuildRules
#if canImport(Glibc)
import Glibc
#endif

/// `mlbuild export model:NAME --format onnx [-o FILE] [--json]`: writes a built model as one
/// ONNX graph from the raw input columns (MLBuildONNX). Builds nothing, like `predict`: it reads
/// `build/model/NAME/model.json` (or a model.json given by path).
struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a built model in another format (ONNX) for other runtimes.",
        discussion: """
        The ONNX model takes one input per feature column of the model's schema, named after the \
        column: [N,1] double for numbers and bools (1/0; NaN = null), [N,1] string for string and \
        category columns ("" = null). It runs the fitted transform and the model, and returns \
        `label` (the class `mlbuild predict` prints) and `probabilities` [N,K] for classifiers, \
        `variable` [N,1] for regressors. Default output: NAME.onnx in the current directory \
        (after -C), NAME being the model's name. See docs/ml.md, "ONNX export".
        """
    )

    @Option(name: .customShort("C"), help: ArgumentHelp("Change to DIR before doing anything (the workspace root).", valueName: "DIR"))
    var directory: String?

    @Option(name: .shortAndLong, help: ArgumentHelp("The Mlfile the model is built from (only named in the hint when the model is not built yet: export builds nothing).", valueName: "FILE"))
    var file: String?

    @Argument(help: ArgumentHelp("model:NAME (reads build/model/NAME/model.json) or a path to a model.json.", valueName: "MODEL"))
    var model: String

    @Option(help: ArgumentHelp("The format to write: onnx.", valueName: "FORMAT"))
    var format: String

    @Option(name: .shortAndLong, help: ArgumentHelp("Where to write the model (default: NAME.onnx in the current directory).", valueName: "FILE"))
    var output: String?

    @Flag(help: "Print {\"bytes\", \"path\", \"sha256\"} of the written file as one JSON line.")
    var json = false

    static let formats = ["onnx"]

    func validate() throws {
        guard Self.formats.contains(format) else {
            throw ValidationError("unknown format '\(format)' (formats: \(Self.formats.joined(separator: ", ")))")
        }
    }

    func run() async throws {
        if let directory, chdir(directory) != 0 {
            throw CLIError.usage("cannot change to directory '\(directory)': \(String(cString: strerror(errno)))")
        }
        let location = try ModelLocation(model, mlfile: file)
        let path = output ?? "\(location.name).onnx"
        let bytes: [UInt8]
        do {
            let artifact = try ModelArtifact.read(from: location.path)
            bytes = try ModelONNX.bytes(of: artifact, graphName: "\(ModelRule.kind):\(location.name)")
        } catch let error as ModelArtifactError {
            throw CLIError.message(error.description)
        } catch let error as ONNXExportError {
            throw CLIError.message("\(location.path): cannot export as ONNX: \(error.description)")
        }
        do {
            try AtomicFile.write(Data(bytes), to: URL(fileURLWithPath: path))
        } catch {
            throw CLIError.message("cannot write \(path): \(error)")
        }
        if json {
            print(CanonicalJSON.line(.object([
                "path": .string(path), "bytes": .number(Double(bytes.count)), "sha256": .string(ContentDigest.of(bytes).hex),
            ])))
        } else {
            print("wrote \(path) (\(counted(bytes.count, "byte")), onnx)")
        }
    }
}
