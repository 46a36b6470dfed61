import ArgumentParser
import Foundation
import MLBuildCore
import MLBuildDatasets
import MLBuildEngine

/// `mlbuild exp apply EXP`: writes a variant's values into the Mlfile, one line per parameter
/// (`MlfileValueEdit`: the Mlfile is parsed again and each value found where it is now; every
/// other byte is kept). The result must configure without errors, or nothing is written.
struct ExperimentApplyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply",
        abstract: "Write a variant's parameter values into the Mlfile (one line changed per parameter)."
    )

    @OptionGroup var workspaceOptions: WorkspaceOptions

    @Argument(help: ArgumentHelp("The variant, as exp show lists it (exp-…).", valueName: "EXP"))
    var experiment: String

    @Flag(help: "Print what was written as JSON (file, experiment, changed, and each change's target, key and value).")
    var json = false

    func run() async throws {
        let workspace = try workspaceOptions.workspace()
        let known = ExperimentRecord.knownIDs()
        guard known.contains(experiment) else {
            throw CLIError.usage(known.isEmpty
                ? "unknown experiment '\(experiment)': none recorded under \(ExperimentRecord.directory)/ (run mlbuild exp run first)"
                : "unknown experiment '\(experiment)'\(Suggestion.hint(for: experiment, among: known)); known: \(known.joined(separator: ", "))")
        }
        let record = try ExperimentRecord.read(experiment)
        var changes: [MlfileValueEdit.Change] = []
        for name in record.parameters.keys.sorted() {
            guard let dot = name.lastIndex(of: "."), let target = TargetReference(parsing: String(name[..<dot])),
                  let value = record.parameters[name] else {
                throw CLIError.message("\(ExperimentRecord.path(of: experiment)): bad parameter name '\(name)'")
            }
            changes.append(MlfileValueEdit.Change(target: target, key: String(name[name.index(after: dot)...]), value: value))
        }
        let file = workspaceOptions.file
        let bytes: [UInt8]
        do { bytes = try FileSystem.readBytes(file) } catch {
            throw CLIError.mlfile("no Mlfile at '\(file)' in \(workspace.root) (use -f FILE or -C DIR)")
        }
        let edited: [UInt8]
        do { edited = try MlfileValueEdit.apply(changes, to: bytes, path: file) } catch let failure as MlfileValueEdit.Failure {
            throw CLIError.mlfile("cannot apply \(experiment): \(failure.description)")
        }
        do { _ = try ExperimentRunCommand.load(edited, path: file, workspace: workspace) } catch {
            throw CLIError.mlfile("cannot apply \(experiment): the edited \(file) would not load: \(ExperimentRunCommand.message(error))")
        }
        if edited != bytes { try FileSystem.writeAtomically(edited, to: file) }
        if json {
            let list = changes.map { change -> JSONValue in
                .object(["target": .string(change.target.description), "key": .string(change.key), "value": .string(change.value)])
            }
            let document: JSONValue = .object(["file": .string(file), "experiment": .string(experiment),
                                               "changed": .bool(edited != bytes), "changes": .array(list)])
            print(String(decoding: CanonicalJSON.serialize(document), as: UTF8.self), terminator: "")
            return
        }
        for change in changes { print("\(file): \(change.target) \(change.key) = \(change.value)") }
    }
}
