import ArgumentParser
import Foundation
import MLBuildCore
import MLBuildRules

/// `mlbuild`: the root command. `build` is the default subcommand, so `mlbuild model:churn`
/// builds that target.
public struct MLBuildCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "mlbuild",
        abstract: "An incremental, content-addressed build system for ML artifacts.",
        discussion: """
        Targets are KIND:NAME (task:clean_rows, dataset:churn, model:churn). Staleness is decided \
        by content hashes, never by mtimes; results are restored from the cache in cache/ when \
        their action key has been built before. Exit codes: 0 success, 1 a target failed, \
        2 bad command line or Mlfile.
        """,
        version: MLBuildVersion.current,
        subcommands: [BuildCommand.self, GraphCommand.self, StatusCommand.self, CleanCommand.self, CacheCommand.self, HashCommand.self, ContainerCommand.self, PredictCommand.self, ExportCommand.self, ServeCommand.self, SchemaCommand.self, RunsCommand.self, MetricsCommand.self, ParamsCommand.self, ExperimentCommand.self, ReportCommand.self, PushCommand.self, ExecRuleCommand.self, WorkerCommand.self, KeygenCommand.self, ProvenanceCommand.self, ReleaseCommand.self, ApproveCommand.self, ReleasesCommand.self, PromoteCommand.self, RollbackCommand.self, AuditCommand.self, LineageCommand.self, MonitorCommand.self],
        defaultSubcommand: BuildCommand.self
    )

    public init() {}
}

public enum MLBuildVersion {
    public static let current = MLBuildRulesVersion.current
}

/// The program: parses, runs, maps errors to exit codes. Kept out of `main.swift` so tests can
/// call it in-process.
public enum MLBuildMain {
    public static func run(_ arguments: [String]) async -> Int32 {
        let arguments = GlobalOptions.reordered(arguments)
        if let status = NoopFastPath.runBeforeParsing(arguments) { return status }
        let command: ParsableCommand
        do {
            command = try MLBuildCommand.parseAsRoot(arguments)
        } catch {
            let code = MLBuildCommand.exitCode(for: error)
            let message = MLBuildCommand.fullMessage(for: error)
            if code == .success {
                print(message)
                return 0
            }
            printError(message)
            return 2
        }
        do {
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                var syncCommand = command
                try syncCommand.run()
            }
            return 0
        } catch let error as CLIError {
            switch error {
            case let .usage(message), let .mlfile(message):
                printError("error: \(message)")
                return 2
            case let .diagnostics(list):
                printError(list.description)
                return 2
            case .failed:
                return 1
            case let .message(message):
                printError("error: \(message)")
                return 1
            }
        } catch let code as ExitCode {
            return code.rawValue
        } catch {
            // Help requested late, validation errors and anything else the parser owns.
            let code = MLBuildCommand.exitCode(for: error)
            let message = MLBuildCommand.fullMessage(for: error)
            if code == .success {
                print(message)
                return 0
            }
            printError(message.isEmpty ? "error: \(error)" : message)
            return code == .validationFailure ? 2 : 1
        }
    }

    static func printError(_ text: String) {
        FileHandle.standardError.write(Data((text.hasSuffix("\n") ? text : text + "\n").utf8))
    }
}
