import ArgumentParser
import Foundation
import MLBuildCore
import MLBuildDatasets
import MLBuildRules
#if canImport(Glibc)
import Glibc
#endif

/// `mlbuild predict model:NAME --input rows.csv [--output preds.csv]`: scores raw rows with a
/// built model. Builds nothing: it reads `build/model/NAME/model.json` (or any model.json given
/// by path, e.g. a known-good one restored from the cache) and applies its embedded transform
/// and model. A row that breaks the model's input schema fails the call with its line number and
/// no output file is written.
struct PredictCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Score raw CSV rows with a built model (model:NAME or a path to a model.json).",
        discussion: """
        Output columns: the id column (when the schema names one), `prediction`, and `probability` \
        (classifiers: the probability of the second class). Rows are scored in input order. The \
        label column may be absent from the input. Unknown values of string columns map to all-zero \
        one-hot features; values outside a category column's declared list are errors.
        """
    )

    @Option(name: .customShort("C"), help: ArgumentHelp("Change to DIR before doing anything (the workspace root).", valueName: "DIR"))
    var directory: String?

    @Option(name: .shortAndLong, help: ArgumentHelp("The Mlfile the model is built from (only named in the hint when the model is not built yet: predict builds nothing).", valueName: "FILE"))
    var file: String?

    @Argument(help: ArgumentHelp("model:NAME (reads build/model/NAME/model.json) or a path to a model.json.", valueName: "MODEL"))
    var model: String

    @Option(name: .shortAndLong, help: ArgumentHelp("The CSV of raw rows to score.", valueName: "FILE"))
    var input: String

    @Option(name: .shortAndLong, help: ArgumentHelp("Where to write the predictions (default: standard output).", valueName: "FILE"))
    var output: String?

    func run() async throws {
        if let directory, chdir(directory) != 0 {
            throw CLIError.usage("cannot change to directory '\(directory)': \(String(cString: strerror(errno)))")
        }
        let modelPath = try ModelLocation(model, mlfile: file).path
        guard FileStat.of(input)?.isRegularFile == true else {
            throw CLIError.message("no input file at '\(input)'")
        }
        let text: [UInt8]
        do {
            let artifact = try ModelArtifact.read(from: modelPath)
            text = try ModelPredictor.predictBytes(artifact, csv: input, name: input)
        } catch let error as ModelPredictor.Failure {
            throw CLIError.message(error.description)
        } catch let error as ModelArtifactError {
            throw CLIError.message(error.description)
        } catch {
            throw CLIError.message("\(input): \(error)")
        }
        if let output {
            do {
                try AtomicFile.write(text, to: output)
            } catch {
                throw CLIError.message("cannot write \(output): \(error)")
            }
        } else {
            FileHandle.standardOutput.write(Data(text))
        }
    }
}
