import ArgumentParser
import Foundation
import MLBuildCache
import MLBuildCore
import MLBuildEngine
import MLBuildRules
#if canImport(Glibc)
import Glibc
#endif

/// Options every command that reads the workspace shares.
public struct WorkspaceOptions: ParsableArguments {
    @Option(name: .shortAndLong, help: ArgumentHelp("The Mlfile to read.", valueName: "FILE"))
    var file: String = "Mlfile"

    @Option(name: .customShort("C"), help: ArgumentHelp("Change to DIR before doing anything (the workspace root).", valueName: "DIR"))
    var directory: String?

    @Option(name: .customLong("cache-dir"), help: ArgumentHelp("The local cache directory (default: $MLBUILD_CACHE_DIR, else ./cache).", valueName: "DIR"))
    var cacheDirectory: String?

    @Option(help: ArgumentHelp("Override the Mlfile's seed.", valueName: "N"))
    var seed: UInt64?

    public init() {}

    var environment: [String: String] { ProcessInfo.processInfo.environment }

    /// Enters the workspace directory and returns its description.
    func workspace() throws -> Workspace {
        if let directory {
            guard chdir(directory) == 0 else {
                throw CLIError.usage("cannot change to directory '\(directory)': \(String(cString: strerror(errno)))")
            }
        }
        let root = FileManager.default.currentDirectoryPath
        let cache = cacheDirectory ?? environment["MLBUILD_CACHE_DIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "cache"
        let workspace = Workspace(root: root, cacheDirectory: cache, environment: environment)
        // Deploy targets with a canary read the release database (`--history` re-installs it).
        ReleaseChannelReader.install(history: nil, workspace: workspace)
        return workspace
    }

    /// Reads, parses and configures the Mlfile.
    /// `bytes`: the Mlfile as already read by the caller, so that what is parsed is exactly what
    /// the caller hashed (the no-op manifest records that digest).
    func project(in workspace: Workspace, bytes: [UInt8]? = nil) throws -> Project {
        guard let stat = FileStat.of(file), stat.isRegularFile else {
            throw CLIError.mlfile("no Mlfile at '\(file)' in \(workspace.root) (use -f FILE or -C DIR)")
        }
        let contents: [UInt8]
        do { contents = try bytes ?? FileSystem.readBytes(file) } catch { throw CLIError.mlfile("\(error)") }
        do {
            let mlfile = try Mlfile.load(path: file, bytes: contents, environment: environment)
            return try Project.load(mlfile: mlfile, registry: BuiltinRules.registry, seedOverride: seed,
                                    cacheDirectory: workspace.relativePath(of: workspace.cache.root))
        } catch let diagnostic as Diagnostic {
            throw CLIError.diagnostics(DiagnosticList([diagnostic]))
        } catch let list as DiagnosticList {
            throw CLIError.diagnostics(list)
        }
    }
}

/// Errors the commands report themselves, with their exit codes.
enum CLIError: Error {
    /// Bad command line: exit 2.
    case usage(String)
    /// Mlfile missing or unreadable: exit 2.
    case mlfile(String)
    /// Mlfile errors: exit 2.
    case diagnostics(DiagnosticList)
    /// The build (or check) failed and said so already: exit 1.
    case failed
    /// A failure to report: exit 1.
    case message(String)
}
