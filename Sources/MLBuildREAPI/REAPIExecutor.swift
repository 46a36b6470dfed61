import Foundation
import GRPCCore
import GRPCProtobuf
import MLBuildCache
import MLBuildCore
import MLBuildEngine
import SwiftProtobuf
import Synchronization

/// The engine's remote executor on a Remote Execution API v2 server (`--remote-executor
/// grpc://…`): BuildGrid, Buildbarn, BuildBuddy, NativeLink, or buildbox-casd with a runner.
///
/// Per action: GetCapabilities (once per build, shared with the cache), the input root's
/// Merkle tree, FindMissingBlobs and the uploads the server lacks, then `Execute`, following
/// the operation's stream to its end. A broken stream is resumed with `WaitExecution` on the
/// operation's name; UNAVAILABLE, RESOURCE_EXHAUSTED and DEADLINE_EXCEEDED are retried with
/// exponential backoff (`retryDelays`, about 16 s in all), after which the server is off for the build (one
/// warning) and targets run locally. A cancelled build sends `CancelOperation`.
///
/// The answer is checked like a remote cache hit: the outputs must be exactly the declared
/// ones, in the shapes mlbuild records (files, relative links inside the workspace, empty
/// directories), and every blob is hashed as it arrives before it enters the local store.
public final class REAPIExecutor: RemoteExecutor {
    public let connection: REAPICacheBackend
    /// Waits before each retry of a transient failure (then the server is given up).
    let retryDelays: [Duration]
    /// Said once: the server has a CAS but no execution service.
    private let noExecutionSaid = Mutex(false)

    /// The largest stdout/stderr shown (a longer one is cut, with a note).
    static let maxOutputBytes: Int64 = 4 << 20

    public init(connection: REAPICacheBackend, retryDelays: [Duration] = REAPICacheBackend.retryDelays) {
        self.connection = connection
        self.retryDelays = retryDelays
    }

    public var endpointDescription: String { connection.endpoint.description }

    private var instance: String { connection.instance }

    public func execute(_ action: RemoteAction, store: ContentStore) async -> RemoteExecution {
        guard let capabilities = await connection.capabilities() else {
            return .unavailable(connection.disabledReason ?? "unreachable")
        }
        guard capabilities.executionEnabled else {
            let first = noExecutionSaid.withLock { said in
                defer { said = true }
                return !said
            }
            if first { connection.warn("warning: \(endpointDescription) does not offer remote execution (its capabilities say so); building locally") }
            return .unavailable("no execution service")
        }
        let prepared: (request: Build_Bazel_Remote_Execution_V2_ExecuteRequest, blobs: [String: (digest: REDigest, content: REAPIMerkleTree.Content)])
        do {
            prepared = try prepare(action)
        } catch {
            return .refused("its input root cannot be described: \(error)")
        }
        do {
            try await connection.uploadMissing(prepared.blobs, capabilities: capabilities)
        } catch let refused as REAPIActionMapping.Refused {
            return .refused(refused.description)
        } catch {
            if Task.isCancelled { return .unavailable("cancelled") }
            connection.fail(error)
            return .unavailable(connection.disabledReason ?? "\(error)")
        }
        var response: Build_Bazel_Remote_Execution_V2_ExecuteResponse
        var attempt = 0
        while true {
            switch await run(prepared.request) {
            case let .success(answer): response = answer
            case let .failure(outcome): return outcome.execution
            }
            // A service too busy to take the action says so in the response: asked again later.
            let code = REAPICacheBackend.code(response.status.code)
            guard response.status.code != 0, code == .unavailable || code == .resourceExhausted, attempt < retryDelays.count else { break }
            try? await Task.sleep(for: retryDelays[attempt])
            attempt += 1
            if Task.isCancelled { return .unavailable("cancelled") }
        }
        // Some services cache failed runs (buildbox-casd does by default): a failure is never
        // taken from a cache, the action runs again.
        if response.cachedResult, response.status.code != 0 || response.result.exitCode != 0 {
            var again = prepared.request
            again.skipCacheLookup = true
            switch await run(again) {
            case let .success(answer): response = answer
            case let .failure(outcome): return outcome.execution
            }
        }
        return await interpret(response, action: action, store: store)
    }

    // MARK: The action

    /// The request and every blob it names (command, action, directories, input files).
    func prepare(_ action: RemoteAction) throws
        -> (request: Build_Bazel_Remote_Execution_V2_ExecuteRequest, blobs: [String: (digest: REDigest, content: REAPIMerkleTree.Content)]) {
        let tree = try REAPIMerkleTree(action.inputs)
        var platform = Build_Bazel_Remote_Execution_V2_Platform()
        platform.properties = action.platform.map { name, value in
            var property = Build_Bazel_Remote_Execution_V2_Platform.Property()
            property.name = name
            property.value = value
            return property
        }
        var command = Build_Bazel_Remote_Execution_V2_Command()
        command.arguments = action.arguments
        command.environmentVariables = action.environment.map { name, value in
            var variable = Build_Bazel_Remote_Execution_V2_Command.EnvironmentVariable()
            variable.name = name
            variable.value = value
            return variable
        }
        command.outputPaths = action.outputPaths
        // Servers before v2.2 read the platform from the command.
        command.platform = platform
        let commandBytes = try REAPIActionMapping.serialize(command)
        var message = Build_Bazel_Remote_Execution_V2_Action()
        message.commandDigest = REAPIActionMapping.digest(of: commandBytes)
        message.inputRootDigest = tree.root
        message.platform = platform
        if let timeout = action.timeout {
            var duration = SwiftProtobuf.Google_Protobuf_Duration()
            duration.seconds = timeout.components.seconds
            message.timeout = duration
        }
        let actionBytes = try REAPIActionMapping.serialize(message)
        var blobs = tree.blobs
        blobs[message.commandDigest.hash] = (message.commandDigest, .bytes(commandBytes))
        let actionDigest = REAPIActionMapping.digest(of: actionBytes)
        blobs[actionDigest.hash] = (actionDigest, .bytes(actionBytes))
        var request = Build_Bazel_Remote_Execution_V2_ExecuteRequest()
        request.instanceName = instance
        request.actionDigest = actionDigest
        return (request, blobs)
    }

    // MARK: Execute, WaitExecution, CancelOperation

    static func isTransient(_ code: RPCError.Code) -> Bool {
        code == .unavailable || code == .resourceExhausted || code == .deadlineExceeded
    }

    /// Executes until the operation is done: retries transient failures, resumes a broken
    /// stream by the operation's name, cancels the operation when the build is cancelled.
    private func run(_ request: Build_Bazel_Remote_Execution_V2_ExecuteRequest) async
        -> Result<Build_Bazel_Remote_Execution_V2_ExecuteResponse, Outcome> {
        let name = OperationName()
        var attempt = 0
        while true {
            do {
                let operation: Google_Longrunning_Operation?
                if let known = name.withLock({ $0 }) {
                    operation = try await wait(known, name: name)
                } else {
                    operation = try await start(request, name: name)
                }
                guard let operation else {
                    // The stream ended before the operation did: follow it by name.
                    throw RPCError(code: .unavailable, message: "the operation stream ended before the operation was done")
                }
                switch operation.result {
                case let .response(any)?:
                    return .success(try Build_Bazel_Remote_Execution_V2_ExecuteResponse(unpackingAny: any))
                case let .error(status)?:
                    throw RPCError(code: REAPICacheBackend.code(status.code), message: status.message)
                case nil:
                    throw RPCError(code: .internalError, message: "the operation is done without a result")
                }
            } catch {
                if Task.isCancelled {
                    if let known = name.withLock({ $0 }) { await cancel(known) }
                    return .failure(Outcome(.unavailable("cancelled")))
                }
                if let rpc = error as? RPCError {
                    // WaitExecution on an operation the server forgot: execute again.
                    if rpc.code == .notFound, name.withLock({ $0 }) != nil {
                        name.withLock { $0 = nil }
                    } else if !Self.isTransient(rpc.code) || attempt >= retryDelays.count {
                        connection.fail(error)
                        return .failure(Outcome(.unavailable(connection.disabledReason ?? "\(error)")))
                    }
                } else if !(error is SwiftProtobuf.AnyUnpackError) && !(error is SwiftProtobuf.BinaryDecodingError) {
                    connection.fail(error)
                    return .failure(Outcome(.unavailable(connection.disabledReason ?? "\(error)")))
                } else {
                    return .failure(Outcome(.refused("the operation's result is not an ExecuteResponse (\(error))")))
                }
                if attempt < retryDelays.count {
                    try? await Task.sleep(for: retryDelays[attempt])
                }
                attempt += 1
            }
        }
    }

    /// The name of the operation being followed, once the server has said it.
    final class OperationName: Sendable {
        private let value = Mutex<String?>(nil)
        func withLock<T>(_ body: (inout String?) -> T) -> T { value.withLock { body(&$0) } }
    }

    struct Outcome: Error {
        var execution: RemoteExecution
        init(_ execution: RemoteExecution) { self.execution = execution }
    }

    /// Options of a call that lasts as long as the action: no deadline of its own (the
    /// action's `timeout` is the server's to enforce).
    private var longCallOptions: CallOptions {
        var options = CallOptions.defaults
        options.timeout = nil
        return options
    }

    /// The last operation of an Execute stream once it is done; nil when the stream ended before.
    private func start(_ request: Build_Bazel_Remote_Execution_V2_ExecuteRequest, name: OperationName) async throws
        -> Google_Longrunning_Operation? {
        let service = Build_Bazel_Remote_Execution_V2_Execution.Client(wrapping: connection.client)
        return try await service.execute(request, metadata: connection.metadata, options: longCallOptions) { response in
            try await Self.follow(response, name: name)
        }
    }

    private func wait(_ operation: String, name: OperationName) async throws -> Google_Longrunning_Operation? {
        var request = Build_Bazel_Remote_Execution_V2_WaitExecutionRequest()
        request.name = operation
        let service = Build_Bazel_Remote_Execution_V2_Execution.Client(wrapping: connection.client)
        return try await service.waitExecution(request, metadata: connection.metadata, options: longCallOptions) { response in
            try await Self.follow(response, name: name)
        }
    }

    private static func follow(_ response: StreamingClientResponse<Google_Longrunning_Operation>, name: OperationName) async throws
        -> Google_Longrunning_Operation? {
        for try await operation in response.messages {
            if !operation.name.isEmpty { name.withLock { $0 = operation.name } }
            if operation.done { return operation }
        }
        return nil
    }

    /// Best effort, bounded: the build is stopping.
    private func cancel(_ operation: String) async {
        var request = Google_Longrunning_CancelOperationRequest()
        request.name = operation
        var options = CallOptions.defaults
        options.timeout = .seconds(3)
        let operations = Google_Longrunning_Operations.Client(wrapping: connection.client)
        let metadata = connection.metadata
        // A detached task: this one is cancelled, and its calls would be too.
        await Task.detached {
            _ = try? await operations.cancelOperation(request, metadata: metadata, options: options)
        }.value
    }

    // MARK: The answer

    private func interpret(_ response: Build_Bazel_Remote_Execution_V2_ExecuteResponse, action: RemoteAction,
                           store: ContentStore) async -> RemoteExecution {
        let result = response.result
        let worker = result.executionMetadata.worker.isEmpty ? nil : result.executionMetadata.worker
        if response.status.code != 0 {
            let code = REAPICacheBackend.code(response.status.code)
            if code == .deadlineExceeded {
                return .failed(exitCode: result.exitCode == 0 ? -1 : result.exitCode,
                               output: "mlbuild: the remote action timed out (\(response.status.message))\n", worker: worker)
            }
            // The service could not run it (a staging error, a missing input): said, and built here.
            return .refused("the executor could not run it (\(REAPICacheBackend.name(of: code)): \(response.status.message))")
        }
        // The log and the outputs' trees and blobs at the same time: each is a round trip.
        async let log = try text(raw: result.stdoutRaw, digest: result.hasStdoutDigest ? result.stdoutDigest : nil)
            + text(raw: result.stderrRaw, digest: result.hasStderrDigest ? result.stderrDigest : nil)
        if result.exitCode != 0 {
            let output = (try? await log) ?? ""
            return .failed(exitCode: result.exitCode, output: output, worker: worker)
        }
        let local: ActionResult
        do {
            local = try await outputs(of: result)
        } catch let refused as REAPIActionMapping.Refused {
            return .refused(refused.description)
        } catch {
            return .refused("\(error)")
        }
        let output: String
        do {
            output = try await log
        } catch {
            return .refused("its output log: \(error)")
        }
        if let mismatch = action.declared.mismatch(in: local) { return .refused(mismatch) }
        var sizes: [ContentDigest: UInt64] = [:]
        for entry in local.outputs { if let digest = entry.digest { sizes[digest] = entry.size } }
        let missing = sizes.keys.filter { !store.contains($0) }.sorted()
        let connection = self.connection
        let notFetched = await withTaskGroup(of: ContentDigest?.self) { group in
            for digest in missing {
                let size = sizes[digest] ?? 0
                group.addTask { await connection.fetchBlob(digest, size: size, into: store) ? nil : digest }
            }
            var failed: [ContentDigest] = []
            for await digest in group { if let digest { failed.append(digest) } }
            return failed.sorted().first
        }
        if let notFetched { return .refused("output blob \(notFetched.hex) could not be fetched or did not verify") }
        return .completed(RemoteCompletion(result: local, output: output, worker: worker, cached: response.cachedResult))
    }

    /// stdout or stderr: inline, or a blob (verified), cut at `maxOutputBytes`.
    private func text(raw: Data, digest: REDigest?) async throws -> String {
        if !raw.isEmpty { return String(decoding: raw, as: UTF8.self) }
        guard let digest, digest.sizeBytes > 0 else { return "" }
        let (content, size) = try REAPIActionMapping.content(of: digest)
        guard Int64(size) <= Self.maxOutputBytes else {
            return "mlbuild: the action's output is \(size) bytes, more than shown here\n"
        }
        guard let data = try await connection.readData(content, size: size) else {
            throw REAPIActionMapping.Refused(description: "blob \(content.hex) is missing")
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// The REAPI result's outputs as mlbuild records them: output directories walked through
    /// their `Tree`s into files, links and empty directories.
    func outputs(of result: REActionResult) async throws -> ActionResult {
        var entries: [ActionResult.Output] = []
        for file in result.outputFiles {
            let (content, size) = try REAPIActionMapping.content(of: file.digest)
            entries.append(ActionResult.Output(path: file.path, digest: content, size: size, executable: file.isExecutable))
        }
        for link in result.outputSymlinks + result.outputFileSymlinks + result.outputDirectorySymlinks {
            entries.append(.symlink(path: link.path, target: link.target))
        }
        for directory in result.outputDirectories {
            let (content, size) = try REAPIActionMapping.content(of: directory.treeDigest)
            guard size <= 64 << 20 else { throw REAPIActionMapping.Refused(description: "the tree of '\(directory.path)' is \(size) bytes") }
            guard let data = try await connection.readData(content, size: size) else {
                throw REAPIActionMapping.Refused(description: "the tree of output directory '\(directory.path)' is missing")
            }
            let tree = try Build_Bazel_Remote_Execution_V2_Tree(serializedBytes: data)
            entries += try Self.walk(tree, at: directory.path)
        }
        return ActionResult(outputs: entries)
    }

    /// A `Tree`'s entries below `path`. Children are found by the digest of their encoding; a
    /// tree that names a child it does not hold, or nests too deep, is refused.
    static func walk(_ tree: Build_Bazel_Remote_Execution_V2_Tree, at path: String) throws -> [ActionResult.Output] {
        var children: [String: Build_Bazel_Remote_Execution_V2_Directory] = [:]
        for child in tree.children {
            children[REAPIActionMapping.digest(of: try REAPIActionMapping.serialize(child)).hash] = child
        }
        var entries: [ActionResult.Output] = []
        var pending: [(Build_Bazel_Remote_Execution_V2_Directory, String, Int)] = [(tree.root, path, 0)]
        while let (directory, at, depth) = pending.popLast() {
            guard depth < 256 else { throw REAPIActionMapping.Refused(description: "output directory '\(path)' nests deeper than 256 levels") }
            if directory.files.isEmpty, directory.symlinks.isEmpty, directory.directories.isEmpty {
                entries.append(.directory(path: at))
                continue
            }
            for file in directory.files {
                try checkName(file.name, in: at)
                let (content, size) = try REAPIActionMapping.content(of: file.digest)
                entries.append(ActionResult.Output(path: "\(at)/\(file.name)", digest: content, size: size, executable: file.isExecutable))
            }
            for link in directory.symlinks {
                try checkName(link.name, in: at)
                entries.append(.symlink(path: "\(at)/\(link.name)", target: link.target))
            }
            for node in directory.directories {
                try checkName(node.name, in: at)
                guard let child = children[node.digest.hash] else {
                    throw REAPIActionMapping.Refused(description: "the tree of '\(path)' lacks directory '\(at)/\(node.name)'")
                }
                pending.append((child, "\(at)/\(node.name)", depth + 1))
            }
        }
        return entries
    }

    private static func checkName(_ name: String, in directory: String) throws {
        guard !name.isEmpty, name != ".", name != "..", !name.contains("/"), !name.utf8.contains(0) else {
            throw REAPIActionMapping.Refused(description: "an entry of '\(directory)' has the name '\(name.prefix(80))'")
        }
    }
}
