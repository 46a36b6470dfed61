import ArgumentParser
import MLBuildCore
import MLBuildEngine

/// `mlbuild graph [--format dot|mermaid] [TARGET...]`.
struct GraphCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "graph",
        abstract: "Print the target graph as Graphviz dot or Mermaid."
    )

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case dot, mermaid
    }

    @OptionGroup var workspaceOptions: WorkspaceOptions

    @Option(help: "Output format: dot or mermaid.")
    var format: Format = .dot

    @Argument(help: ArgumentHelp("Show only these targets and what they need.", valueName: "TARGET"))
    var targets: [String] = []

    func run() async throws {
        let workspace = try workspaceOptions.workspace()
        let project = try workspaceOptions.project(in: workspace)
        let roots = targets.isEmpty ? project.graph.nodes : try project.resolveTargets(targets)
        print(Self.render(project.graph, nodes: project.graph.closure(of: roots), format: format), terminator: "")
    }

    static func render(_ graph: BuildGraph, nodes: [TargetReference], format: Format) -> String {
        var ids: [TargetReference: String] = [:]
        for (i, node) in nodes.enumerated() { ids[node] = "n\(i)" }
        var out = ""
        switch format {
        case .dot:
            out += "digraph mlbuild {\n  rankdir=LR;\n  node [shape=box];\n"
            for node in nodes { out += "  \"\(node)\";\n" }
            for node in nodes {
                for dependency in graph.dependencies(of: node) { out += "  \"\(dependency)\" -> \"\(node)\";\n" }
            }
            out += "}\n"
        case .mermaid:
            out += "graph LR\n"
            for node in nodes { out += "  \(ids[node] ?? "")[\"\(node)\"]\n" }
            for node in nodes {
                for dependency in graph.dependencies(of: node) { out += "  \(ids[dependency] ?? "") --> \(ids[node] ?? "")\n" }
            }
        }
        return out
    }
}
