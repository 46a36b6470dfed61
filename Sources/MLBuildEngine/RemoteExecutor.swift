import MLBuildCache
import MLBuildCore
import Synchronization

/// Runs a target's action on a remote execution service (REAPI `Execute`; see MLBuildREAPI).
/// The engine says what to run and with which inputs; the executor uploads what the service
/// lacks, executes, checks the answer against the declared outputs and every downloaded blob
/// against its digest, and puts the output blobs into the local content store. Only then does
/// the engine restore them into the workspace, as it restores a cache hit.
public protocol RemoteExecutor: Sendable {
    /// `grpc://host:port` (no credentials): for messages.
    var endpointDescription: String { get }
    func execute(_ action: RemoteAction, store: ContentStore) async -> RemoteExecution
}

/// One target as a remote action.
public struct RemoteAction: Sendable {
    public var target: TargetReference
    /// argv; the first word is looked up in the input root when relative.
    public var arguments: [String]
    /// The command's whole environment, sorted by name.
    public var environment: [(name: String, value: String)]
    /// The declared outputs, workspace-relative.
    public var outputPaths: [String]
    /// Files, links and empty directories of the input root, by workspace-relative path.
    public var inputs: [RemoteInput]
    /// Platform properties, sorted by name (`OSFamily`, `ISA`, a target's `exec_properties`).
    public var platform: [(name: String, value: String)]
    /// nil: the service's default.
    public var timeout: Duration?
    public var declared: DeclaredOutputs

    public init(target: TargetReference, arguments: [String], environment: [(name: String, value: String)], outputPaths: [String],
                inputs: [RemoteInput], platform: [(name: String, value: String)], timeout: Duration?, declared: DeclaredOutputs) {
        self.target = target
        self.arguments = arguments
        self.environment = environment
        self.outputPaths = outputPaths
        self.inputs = inputs
        self.platform = platform
        self.timeout = timeout
        self.declared = declared
    }
}

/// An entry of a remote action's input root.
public enum RemoteInput: Sendable, Hashable {
    /// A file whose bytes are read from `source` (an absolute or workspace-relative path: a
    /// source file or a blob of the local store) when the service lacks them.
    case file(path: String, digest: ContentDigest, size: UInt64, executable: Bool, source: String)
    /// Bytes made for this action (the rule spec of `mlbuild exec-rule`).
    case bytes(path: String, content: [UInt8], executable: Bool)
    case symlink(path: String, target: String)
    case directory(path: String)

    public var path: String {
        switch self {
        case let .file(path, _, _, _, _), let .bytes(path, _, _), let .symlink(path, _), let .directory(path): return path
        }
    }
}

/// How a remote execution ended.
public enum RemoteExecution: Sendable {
    /// The action ran (or the service had its result cached) and exited 0; every output blob
    /// is in the local store and verified, and the result matches the declared outputs.
    case completed(RemoteCompletion)
    /// The action ran and exited non-zero (its output says why).
    case failed(exitCode: Int32, output: String, worker: String?)
    /// The service could not be used (unreachable, refused credentials, retries exhausted):
    /// the target may run locally instead. Said once per build by the executor.
    case unavailable(String)
    /// The answer broke a trust rule (an undeclared output, a blob that is not its digest, a
    /// missing blob): nothing of it reaches the workspace.
    case refused(String)
}

public struct RemoteCompletion: Sendable {
    public var result: ActionResult
    /// stdout and stderr of the action, as a local run shows them.
    public var output: String
    /// The worker that ran it, as the service names it (nil when it does not say).
    public var worker: String?
    /// The service answered from its action cache without running anything.
    public var cached: Bool

    public init(result: ActionResult, output: String, worker: String?, cached: Bool) {
        self.result = result
        self.output = output
        self.worker = worker
        self.cached = cached
    }
}

/// How a build uses a remote executor: `--remote-jobs`, `--remote-only`, and where the
/// `mlbuild` binary that built-in kinds run on a worker is.
public struct RemoteExecutionOptions: Sendable {
    public var executor: any RemoteExecutor
    /// Remote actions in flight at once, apart from `-j`.
    public var jobs: Int
    /// Fail a target instead of running it locally when the executor cannot be used.
    public var remoteOnly: Bool
    /// The running mlbuild binary, shipped in the input root of built-in kinds.
    public var binary: RemoteBinary

    public init(executor: any RemoteExecutor, jobs: Int, remoteOnly: Bool, binary: RemoteBinary) {
        self.executor = executor
        self.jobs = max(1, jobs)
        self.remoteOnly = remoteOnly
        self.binary = binary
    }
}

/// A binary's path and digest, hashed on first use (a build that runs nothing remotely, such
/// as a no-op, never reads it).
public final class RemoteBinary: Sendable {
    public typealias Value = (path: String, digest: ContentDigest, size: UInt64)
    private let locate: @Sendable () -> Value?
    private let cached = Mutex<Value??>(nil)

    public init(_ locate: @escaping @Sendable () -> Value?) {
        self.locate = locate
    }

    public var value: Value? {
        cached.withLock { cached in
            if let known = cached { return known }
            let found = locate()
            cached = .some(found)
            return found
        }
    }
}
