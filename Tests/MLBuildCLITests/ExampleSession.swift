import Foundation
import MLBuildTestSupport

/// Where one document's examples run: a temp copy of the repository's example (Mlfile.example
/// and data/, as in a checkout), in which the commands run in document order with `/bin/sh`,
/// `mlbuild` on PATH being the built binary. Output is plain (`CI=true`), stderr joined to
/// stdout in the order written, the workspace's absolute path shown as `$PWD`, and no
/// MLBUILD_* or SOURCE_DATE_EPOCH setting of the environment running the tests leaks in.
final class ExampleSession {
    let workspace: TemporaryDirectory
    /// Holds the `mlbuild` link put first on PATH (outside the workspace, which the docs show).
    private let tools: TemporaryDirectory

    init(repositoryRoot: URL) throws {
        workspace = try TemporaryDirectory(prefix: "mlbuild-docs")
        tools = try TemporaryDirectory(prefix: "mlbuild-docs-bin")
        let files = FileManager.default
        for item in ["Mlfile.example", "data"] {
            try files.copyItem(atPath: repositoryRoot.appendingPathComponent(item).path, toPath: "\(workspace.path)/\(item)")
        }
        var binary = MLBuildBinary.path
        if !binary.hasPrefix("/") { binary = files.currentDirectoryPath + "/" + binary }
        try files.createSymbolicLink(atPath: "\(tools.path)/mlbuild", withDestinationPath: binary)
    }

    /// A server a console block asks for with `server=KIND`, and the name (`$CACHE`) its URL has
    /// in the block's commands and output.
    final class Server {
        static let variable = "CACHE"
        /// The bearer token the nginx cache of docs/ci.md checks.
        static let token = "Bearer CHANGE-ME"
        let url: String
        private let nginx: NginxServer

        init(kind: String, at location: String) throws {
            guard kind == "nginx" else {
                throw MarkdownExamples.Failure(description: "\(location): unknown server=\(kind) (known: nginx)")
            }
            nginx = try NginxServer(requiredHeader: (name: "Authorization", value: Self.token))
            url = nginx.baseURL.absoluteString
        }

        deinit { nginx.stop() }
    }

    /// Runs one command line; returns its output as documented lines (ExpectedOutput.lines).
    func run(_ command: String, server: Server?) throws -> [String] {
        var environment: [String: String?] = [:]
        for name in ProcessInfo.processInfo.environment.keys where name.hasPrefix("MLBUILD_") {
            environment.updateValue(nil, forKey: name)
        }
        environment.updateValue(nil, forKey: "SOURCE_DATE_EPOCH")
        environment["CI"] = "true"
        environment["TZ"] = "UTC"
        environment["PATH"] = tools.path + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        if let server { environment[Server.variable] = server.url }
        let result = try ProcessRunner.run("/bin/sh", ["-c", "exec 2>&1\n" + command], in: workspace.path, environment: environment)
        var output = result.stdout + result.stderr
        if let server { output = output.replacingOccurrences(of: server.url, with: "$" + Server.variable) }
        // The temp directory's name changes on every run; the shell calls it $PWD too.
        output = output.replacingOccurrences(of: workspace.path, with: "$PWD")
        return ExpectedOutput.lines(of: output, status: result.status)
    }
}
