import ArgumentParser
import Foundation
import MLBuildCache
import MLBuildCore
import MLBuildEngine
import MLBuildREAPI

/// `--remote-executor`, `--remote-jobs`, `--remote-only` and their environment twins: targets
/// run on a Remote Execution API service (BuildGrid, Buildbarn, BuildBuddy, NativeLink,
/// buildbox-casd). The instance, credential header and timeout are the remote cache's options.
struct RemoteExecutorOptions: ParsableArguments {
    @Option(name: .customLong("remote-executor"), help: ArgumentHelp(
        "Run targets on a Remote Execution API service at grpc://HOST:PORT (grpcs:// for TLS); its action cache and CAS are the remote cache unless --remote-cache names another. Default: $MLBUILD_REMOTE_EXECUTOR.",
        valueName: "URL"))
    var remoteExecutor: String?

    @Option(name: .customLong("remote-jobs"), help: ArgumentHelp(
        "Remote actions in flight at once, apart from -j. Default: $MLBUILD_REMOTE_JOBS, else 32.", valueName: "N"))
    var remoteJobs: Int?

    @Flag(name: .customLong("remote-only"), help: "Fail a target that cannot run on the remote executor instead of building it locally (also $MLBUILD_REMOTE_ONLY=1).")
    var remoteOnly = false

    /// The configured executor address, or nil.
    func configuredExecutor(_ environment: [String: String]) -> String? {
        guard let text = remoteExecutor ?? environment["MLBUILD_REMOTE_EXECUTOR"], !text.isEmpty else { return nil }
        return text
    }

    func jobs(environment: [String: String]) throws -> Int {
        if let remoteJobs {
            guard remoteJobs >= 1 else { throw CLIError.usage("--remote-jobs must be at least 1, not \(remoteJobs)") }
            return remoteJobs
        }
        guard let text = environment["MLBUILD_REMOTE_JOBS"], !text.isEmpty else { return 32 }
        guard let n = Int(text), n >= 1 else { throw CLIError.usage("MLBUILD_REMOTE_JOBS must be a whole number of at least 1, not '\(text)'") }
        return n
    }

    func isRemoteOnly(environment: [String: String]) -> Bool {
        remoteOnly || ["1", "true", "yes"].contains(environment["MLBUILD_REMOTE_ONLY"]?.lowercased() ?? "")
    }

    /// The build's remote cache and remote execution. Without an executor, the cache alone
    /// (`RemoteOptions.backend`). With one, its server is also the remote cache unless
    /// `--remote-cache` names another; nothing connects before the build asks.
    func configure(cache: RemoteOptions, environment: [String: String], onWarning: @escaping @Sendable (String) -> Void) throws
        -> (cache: (any RemoteCacheBackend)?, execution: RemoteExecutionOptions?) {
        guard let text = configuredExecutor(environment) else {
            if isRemoteOnly(environment: environment) {
                throw CLIError.usage("--remote-only needs a remote executor (--remote-executor grpc://HOST:PORT or $MLBUILD_REMOTE_EXECUTOR)")
            }
            if remoteJobs != nil { throw CLIError.usage("--remote-jobs needs a remote executor (--remote-executor grpc://HOST:PORT)") }
            return (try cache.backend(environment: environment, onWarning: onWarning), nil)
        }
        let jobs = try jobs(environment: environment)
        let endpoint: REAPIEndpoint
        do {
            endpoint = try REAPIEndpoint(parsing: text)
        } catch {
            throw CLIError.usage("remote executor: \(error)")
        }
        let connection: REAPICacheBackend
        do {
            connection = try REAPICacheBackend(endpoint: endpoint, instance: cache.instance(environment: environment),
                                               header: try cache.header(environment: environment),
                                               requestTimeout: try cache.requestTimeout(environment: environment),
                                               uploadEnabled: try cache.upload(environment: environment), role: .executor,
                                               onWarning: onWarning)
        } catch let error as CLIError {
            throw error
        } catch {
            throw CLIError.usage("remote executor: \(error)")
        }
        let separateCache = cache.configuredCache(environment) == nil ? nil : try cache.backend(environment: environment, onWarning: onWarning)
        let execution = RemoteExecutionOptions(executor: REAPIExecutor(connection: connection), jobs: jobs,
                                               remoteOnly: isRemoteOnly(environment: environment), binary: RemoteBinary { Self.runningBinary() })
        return (separateCache ?? connection, execution)
    }

    /// The running mlbuild (what `mlbuild exec-rule` on a worker must be, so that a built-in
    /// kind's result is bit-identical to a local build), hashed once; nil when it cannot be
    /// read (built-in kinds then run locally).
    static func runningBinary() -> (path: String, digest: ContentDigest, size: UInt64)? {
        guard let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"),
              let (digest, size) = try? FileHashing.digest(ofFileAt: path) else { return nil }
        return (path, digest, size)
    }
}
