import ArgumentParser
import Foundation
import MLBuildEngine

/// `--history FILE`: where the run history is (default `$MLBUILD_HISTORY`, else
/// `.mlbuild/history.sqlite` in the workspace). A relative path is taken from the workspace root.
struct HistoryOptions: ParsableArguments {
    @Option(name: .customLong("history"),
            help: ArgumentHelp("The run history database (default: $MLBUILD_HISTORY, else .mlbuild/history.sqlite).", valueName: "FILE"))
    var history: String?

    func path(in workspace: Workspace) -> String {
        Self.path(option: history, workspace: workspace)
    }

    static func path(option: String?, workspace: Workspace) -> String {
        let chosen = option ?? workspace.environment["MLBUILD_HISTORY"].flatMap { $0.isEmpty ? nil : $0 }
        guard let chosen else { return "\(workspace.stateDirectory)/history.sqlite" }
        return chosen.hasPrefix("/") ? chosen : "\(workspace.root)/\(chosen)"
    }
}
