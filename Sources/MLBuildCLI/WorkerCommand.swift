import ArgumentParser
import Foundation
import MLBuildCache
import MLBuildCore
import MLBuildREAPI

/// `mlbuild worker --scheduler grpc://HOST:PORT`: a Remote Workers API bot for BuildGrid (or any
/// scheduler speaking google.devtools.remoteworkers.v1test2), running the leases it is given
/// directly or in buildbox-run's bubblewrap sandbox and uploading their outputs to the CAS.
struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Run remote actions for a BuildGrid farm (a Remote Workers API bot).",
        discussion: """
        Joins the scheduler's bot pool with the platform properties given by --property (always OSFamily=linux and \
        ISA=x86-64), runs one lease at a time, and uploads outputs to the scheduler's CAS. Stops on SIGINT or \
        SIGTERM; the scheduler gives a lease that was running to another worker.
        """
    )

    @Option(help: ArgumentHelp("The scheduler's Bots service, grpc://HOST:PORT (grpcs:// for TLS); its CAS too.", valueName: "URL"))
    var scheduler: String

    @Option(help: ArgumentHelp("The instance name on the scheduler (default: none).", valueName: "NAME"))
    var instance: String = ""

    @Option(help: ArgumentHelp("How to run each action: 'none' (directly, in a fresh directory) or 'buildbox-run' (bubblewrap sandbox; a path to the runner also works).", valueName: "RUNNER"))
    var sandbox: String = "none"

    @Option(name: .customLong("sandbox-mount"), help: ArgumentHelp("A host path bound read-only into the sandbox, HOST[:PATH] (repeatable; default: /usr, and /bin, /lib, /lib64 from it).", valueName: "MOUNT"))
    var sandboxMounts: [String] = []

    @Option(name: .customLong("property"), help: ArgumentHelp("A platform property this worker offers, NAME=VALUE (repeatable), e.g. gpu=1, cores=8.", valueName: "NAME=VALUE"))
    var properties: [String] = []

    @Option(name: .customLong("bot-id"), help: ArgumentHelp("The bot's name in the farm (default: mlbuild-HOST-PID).", valueName: "ID"))
    var botID: String?

    @Option(name: .customLong("work-dir"), help: ArgumentHelp("Where inputs are staged and cached (default: a directory under $TMPDIR).", valueName: "DIR"))
    var workDirectory: String?

    @Option(name: .customLong("remote-header-file"), help: ArgumentHelp("A file with one 'Name: value' header sent with every request (credentials; never printed). Default: $MLBUILD_REMOTE_HEADER_FILE or $MLBUILD_REMOTE_HEADER.", valueName: "FILE"))
    var headerFile: String?

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let endpoint: REAPIEndpoint
        do {
            endpoint = try REAPIEndpoint(parsing: scheduler)
        } catch {
            throw CLIError.usage("--scheduler: \(error)")
        }
        var offered: [String: String] = ["OSFamily": "linux", "ISA": "x86-64"]
        for item in properties {
            let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty else { throw CLIError.usage("--property must be NAME=VALUE, not '\(item)'") }
            offered[String(parts[0])] = String(parts[1])
        }
        let mode: REAPIWorker.Configuration.Sandbox
        switch sandbox {
        case "none":
            mode = .none
        default:
            let runner = sandbox.contains("/") ? sandbox : Self.which(sandbox, environment: environment)
            guard let runner, FileManager.default.isExecutableFile(atPath: runner), sandbox.hasSuffix("buildbox-run") else {
                throw CLIError.usage("--sandbox must be 'none' or 'buildbox-run' (on PATH, or its path), not '\(sandbox)'")
            }
            mode = .buildboxRun(executable: runner, mounts: sandboxMounts.isEmpty ? Self.defaultMounts() : sandboxMounts.map { $0.contains(":") ? $0 : "\($0):\($0)" })
        }
        let header: RemoteCacheHeader?
        do {
            if let file = headerFile ?? environment["MLBUILD_REMOTE_HEADER_FILE"].flatMap({ $0.isEmpty ? nil : $0 }) {
                header = try RemoteCacheConfiguration.readHeader(fromFile: URL(fileURLWithPath: file))
            } else if let value = environment["MLBUILD_REMOTE_HEADER"], !value.isEmpty {
                header = try RemoteCacheConfiguration.parseHeader(value)
            } else {
                header = nil
            }
        } catch {
            throw CLIError.usage("remote header: \(error)")
        }
        let bot = botID ?? "mlbuild-\(ProcessInfo.processInfo.hostName)-\(getpid())"
        let directory = workDirectory ?? (NSTemporaryDirectory() + "mlbuild-worker-\(bot)")
        let configuration = REAPIWorker.Configuration(
            scheduler: endpoint, instance: instance, header: header, botID: bot,
            properties: offered.keys.sorted().map { ($0, offered[$0] ?? "") }, sandbox: mode, workDirectory: directory)
        let worker = try REAPIWorker(configuration: configuration) { line in MLBuildMain.printError(line) }
        let (failure, signal) = await BuildCancellation.watch { () -> String? in
            do {
                try await worker.run()
                return nil
            } catch {
                return "\(error)"
            }
        }
        if let signal { MLBuildMain.printError("mlbuild worker: stopped (\(BuildCancellation.name(of: signal)))") }
        if let failure { throw CLIError.usage("worker: \(failure)") }
    }

    static func which(_ name: String, environment: [String: String]) -> String? {
        for directory in (environment["PATH"] ?? "").split(separator: ":") {
            let path = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }

    /// The system, read-only: /usr, and (merged /usr) /bin, /lib and /lib64 from it.
    static func defaultMounts() -> [String] {
        var mounts = ["/usr:/usr", "/usr/bin:/bin", "/usr/lib:/lib"]
        if FileManager.default.fileExists(atPath: "/usr/lib64") { mounts.append("/usr/lib64:/lib64") }
        return mounts
    }
}
