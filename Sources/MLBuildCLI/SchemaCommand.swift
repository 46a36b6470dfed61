import ArgumentParser
import Foundation
import MLBuildDatasets

/// `mlbuild schema infer data.csv`: prints a `schema = …` block to paste into a dataset target.
struct SchemaCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schema",
        abstract: "Work with dataset schemas.",
        subcommands: [Infer.self]
    )

    struct Infer: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "infer",
            abstract: "Print a schema block for a CSV, ready to paste into a dataset target's body.",
            discussion: """
            Per column: all integers -> int; all decimals -> float; all bool spellings -> bool; at most \
            20 distinct values -> category(...); else string; any blank or null cell -> nullable. \
            No id, unique or min/max are guessed: add them yourself.
            """
        )

        @Argument(help: ArgumentHelp("The CSV file (with a header row).", valueName: "CSV"))
        var csv: String

        @Option(name: .customLong("null-values"), help: ArgumentHelp("Extra null spellings, comma-separated (as the dataset's null_values).", valueName: "LIST"))
        var nullValues: String?

        @Option(name: .customLong("true-values"), help: ArgumentHelp("Extra true spellings, comma-separated.", valueName: "LIST"))
        var trueValues: String?

        @Option(name: .customLong("false-values"), help: ArgumentHelp("Extra false spellings, comma-separated.", valueName: "LIST"))
        var falseValues: String?

        func run() async throws {
            guard FileManager.default.isReadableFile(atPath: csv) else {
                throw CLIError.message("cannot read '\(csv)'")
            }
            var raw: [String: String] = [:]
            raw["null_values"] = nullValues
            raw["true_values"] = trueValues
            raw["false_values"] = falseValues
            do {
                let options = try DatasetOptions(options: raw)
                let schema = try SchemaInferrer.infer(CSVSource(url: URL(fileURLWithPath: csv), name: csv), options: options)
                // Indented for a target body (4 spaces), continuation lines deeper (8).
                print("    " + SchemaInferrer.mlfileBlock(schema, indent: "        "), terminator: "")
            } catch let error as DatasetError {
                throw CLIError.message(error.description)
            }
        }
    }
}
