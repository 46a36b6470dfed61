import Foundation
import GRPCCore
import MLBuildCache
import MLBuildCore
import SwiftProtobuf
#if canImport(Glibc)
import Glibc
#endif

/// Runs one REAPI action for `mlbuild worker`: fetches the command and the input root from the
/// CAS (blobs verified as they arrive, kept in the worker's own content store so that a large
/// input such as the mlbuild binary comes over the network once), stages it in a fresh
/// directory, runs the command there (directly, or in buildbox-run's bubblewrap sandbox),
/// uploads the outputs it names and answers with an `ActionResult`.
struct REAPILeaseRunner {
    enum Sandbox: Sendable {
        case none
        /// buildbox-run (bubblewrap), with host paths bound read-only into the sandbox (`HOST:PATH`).
        case buildboxRun(executable: String, mounts: [String])
    }

    let connection: REAPICacheBackend
    let store: ContentStore
    let workDirectory: String
    let botID: String
    let sandbox: Sandbox
    /// A file holding the bearer token buildbox-run sends (the worker's credential header), or nil.
    var tokenFile: String? = nil

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// The action named by `payload` (an `Action`, or the `Digest` of one), run to an `ActionResult`.
    func run(payload: Google_Protobuf_Any, leaseID: String) async throws -> REActionResult {
        let action: Build_Bazel_Remote_Execution_V2_Action
        if payload.isA(Build_Bazel_Remote_Execution_V2_Action.self) {
            action = try Build_Bazel_Remote_Execution_V2_Action(unpackingAny: payload)
        } else if payload.isA(REDigest.self) {
            let digest = try REDigest(unpackingAny: payload)
            action = try Build_Bazel_Remote_Execution_V2_Action(serializedBytes: try await message(digest))
        } else {
            throw Failure(description: "lease \(leaseID) carries a \(payload.typeURL), not an Action")
        }
        // The command and the input root's top directory in parallel: one round trip, not two.
        async let rootDirectory = message(action.inputRootDigest)
        let command = try Build_Bazel_Remote_Execution_V2_Command(serializedBytes: try await message(action.commandDigest))
        let top = try await rootDirectory
        let root = "\(workDirectory)/leases/\(UUID().uuidString.lowercased())"
        try FileSystem.createDirectories(root)
        defer { try? FileSystem.removeTree(root) }
        switch sandbox {
        case .none:
            return try await runDirectly(action: action, command: command, root: root, top: top)
        case let .buildboxRun(executable, mounts):
            return try await runInSandbox(action: action, root: root, runner: executable, mounts: mounts)
        }
    }

    /// A small message blob (an action, a command, a directory), verified.
    private func message(_ digest: REDigest) async throws -> Data {
        let (content, size) = try REAPIActionMapping.content(of: digest)
        guard size <= 64 << 20 else { throw Failure(description: "message blob \(content.hex) is \(size) bytes") }
        guard let data = try await connection.readData(content, size: size) else {
            throw RPCError(code: .failedPrecondition, message: "blob \(content.hex)/\(size) is missing from the CAS")
        }
        return data
    }

    // MARK: Direct

    private func runDirectly(action: Build_Bazel_Remote_Execution_V2_Action, command: Build_Bazel_Remote_Execution_V2_Command,
                             root: String, top: Data) async throws -> REActionResult {
        try await stage(action.inputRootDigest, at: root, depth: 0, fetched: top)
        let workingDirectory = command.workingDirectory.isEmpty ? root : "\(root)/\(command.workingDirectory)"
        // Output parents exist before the command runs (REAPI: the worker makes them).
        for path in outputPaths(command) {
            try Self.checkRelative(path)
            try FileSystem.createDirectories(FileSystem.parent(of: "\(workingDirectory)/\(path)"))
        }
        var environment: [String: String] = [:]
        for variable in command.environmentVariables { environment[variable.name] = variable.value }
        guard let program = command.arguments.first else { throw Failure(description: "the command has no arguments") }
        let timeout: Duration? = action.hasTimeout && action.timeout.seconds > 0 ? .seconds(action.timeout.seconds) : nil
        let started = Date()
        let (status, output, timedOut) = try await Self.spawn(program, Array(command.arguments.dropFirst()), environment: environment,
                                                               directory: workingDirectory, timeout: timeout)
        var result = REActionResult()
        result.exitCode = status
        var log = output
        if timedOut { log += Array("mlbuild worker: the action ran past its timeout and was stopped\n".utf8) }
        var blobs: [String: (digest: REDigest, content: REAPIMerkleTree.Content)] = [:]
        if !log.isEmpty {
            let data = Data(log)
            let digest = REAPIActionMapping.digest(of: data)
            blobs[digest.hash] = (digest, .bytes(data))
            result.stdoutDigest = digest
        }
        if !timedOut { try collect(command, in: workingDirectory, into: &result, blobs: &blobs) }
        // The log and the outputs in one upload (FindMissingBlobs, then what is missing).
        try await connection.uploadMissing(blobs, capabilities: try await capabilities())
        result.executionMetadata.worker = botID
        result.executionMetadata.workerStartTimestamp = Google_Protobuf_Timestamp(date: started)
        result.executionMetadata.workerCompletedTimestamp = Google_Protobuf_Timestamp(date: Date())
        if timedOut { throw TimedOut(result: result) }
        return result
    }

    /// The action outlived its timeout; `result` holds what it printed.
    struct TimedOut: Error {
        var result: REActionResult
    }

    private func capabilities() async throws -> REAPICacheBackend.Capabilities {
        guard let capabilities = await connection.capabilities() else {
            throw RPCError(code: .unavailable, message: connection.disabledReason ?? "the CAS is unavailable")
        }
        return capabilities
    }

    private func outputPaths(_ command: Build_Bazel_Remote_Execution_V2_Command) -> [String] {
        command.outputPaths.isEmpty ? command.outputFiles + command.outputDirectories : command.outputPaths
    }

    /// A path from the server: relative, no `..`, no empty component.
    static func checkRelative(_ path: String) throws {
        guard WorkspacePath.problem(path) == nil, !path.utf8.contains(0) else {
            throw Failure(description: "path '\(path.prefix(200))' is not a plain relative path")
        }
    }

    /// Writes the tree `digest` at `directory`: files from the local store (fetched when
    /// missing), links as they are, directories recursively.
    private func stage(_ digest: REDigest, at directory: String, depth: Int, fetched: Data? = nil) async throws {
        guard depth < 256 else { throw Failure(description: "the input root nests deeper than 256 levels") }
        let bytes: Data
        if let fetched { bytes = fetched } else { bytes = try await message(digest) }
        let node = try Build_Bazel_Remote_Execution_V2_Directory(serializedBytes: bytes)
        try FileSystem.createDirectories(directory)
        for file in node.files {
            try Self.checkName(file.name)
            let (content, size) = try REAPIActionMapping.content(of: file.digest)
            if !store.contains(content) {
                guard await connection.fetchBlob(content, size: size, into: store) else {
                    throw RPCError(code: .failedPrecondition, message: "input blob \(content.hex)/\(size) is missing from the CAS or did not verify")
                }
            }
            try store.materialize(content, to: "\(directory)/\(file.name)", executable: file.isExecutable, verified: true)
        }
        for link in node.symlinks {
            try Self.checkName(link.name)
            guard symlink(link.target, "\(directory)/\(link.name)") == 0 else {
                throw FileSystem.Failure("create the symbolic link", "\(directory)/\(link.name)")
            }
        }
        for child in node.directories {
            try Self.checkName(child.name)
            try await stage(child.digest, at: "\(directory)/\(child.name)", depth: depth + 1)
        }
    }

    static func checkName(_ name: String) throws {
        guard !name.isEmpty, name != ".", name != "..", !name.contains("/"), !name.utf8.contains(0) else {
            throw Failure(description: "an input entry is named '\(name.prefix(80))'")
        }
    }

    /// Runs the command in its own process group, output merged; stopped (SIGTERM, then
    /// SIGKILL) past `timeout` or when the task is cancelled.
    static func spawn(_ program: String, _ arguments: [String], environment: [String: String], directory: String,
                      timeout: Duration?) async throws -> (status: Int32, output: [UInt8], timedOut: Bool) {
        let watch = ProcessGroupHandle()
        let watchdog = timeout.map { limit in
            Task {
                try await Task.sleep(for: limit)
                watch.stop()
            }
        }
        defer { watchdog?.cancel() }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                Thread.detachNewThread {
                    do {
                        var output: [UInt8] = []
                        let status = try ChildProcess.run(program, arguments, environment: environment, directory: directory,
                                                          mergeOutput: true, ownProcessGroup: true,
                                                          onStart: { pid in watch.started(pid) }) { _, bytes in
                            if output.count < 16 << 20 { output.append(contentsOf: bytes) }
                        }
                        continuation.resume(returning: (status, output, watch.wasStopped))
                    } catch {
                        continuation.resume(throwing: error)
                    }
                }
            }
        } onCancel: {
            watch.stop()
        }
    }

    /// Lists what the command left at its output paths in `result` (files, links, directories
    /// as `Tree`s) and their blobs in `blobs`, to upload. A path it did not make is left out
    /// (REAPI's rule).
    private func collect(_ command: Build_Bazel_Remote_Execution_V2_Command, in directory: String,
                         into result: inout REActionResult,
                         blobs: inout [String: (digest: REDigest, content: REAPIMerkleTree.Content)]) throws {
        func file(_ path: String) throws -> REDigest {
            let (digest, size) = try store.insert(fileAt: path)
            let remote = REAPIActionMapping.digest(digest, size: size)
            blobs[remote.hash] = (remote, .file(store.path(of: digest)))
            return remote
        }
        func directoryMessage(_ path: String, children: inout [Build_Bazel_Remote_Execution_V2_Directory], depth: Int) throws
            -> Build_Bazel_Remote_Execution_V2_Directory {
            guard depth < 256 else { throw Failure(description: "output '\(path)' nests deeper than 256 levels") }
            var message = Build_Bazel_Remote_Execution_V2_Directory()
            for name in try FileManager.default.contentsOfDirectory(atPath: path).sorted() {
                let entry = "\(path)/\(name)"
                guard let stat = FileStat.of(entry, followLinks: false) else { continue }
                if stat.isSymbolicLink {
                    var link = Build_Bazel_Remote_Execution_V2_SymlinkNode()
                    link.name = name
                    link.target = try FileSystem.readLink(entry)
                    message.symlinks.append(link)
                } else if stat.isDirectory {
                    let child = try directoryMessage(entry, children: &children, depth: depth + 1)
                    children.append(child)
                    var node = Build_Bazel_Remote_Execution_V2_DirectoryNode()
                    node.name = name
                    node.digest = REAPIActionMapping.digest(of: try REAPIActionMapping.serialize(child))
                    message.directories.append(node)
                } else if stat.isRegularFile {
                    var node = Build_Bazel_Remote_Execution_V2_FileNode()
                    node.name = name
                    node.digest = try file(entry)
                    node.isExecutable = stat.isExecutable
                    message.files.append(node)
                }
            }
            return message
        }
        for path in outputPaths(command).sorted() {
            let absolute = "\(directory)/\(path)"
            guard let stat = FileStat.of(absolute, followLinks: false) else { continue }
            if stat.isSymbolicLink {
                var link = Build_Bazel_Remote_Execution_V2_OutputSymlink()
                link.path = path
                link.target = try FileSystem.readLink(absolute)
                result.outputSymlinks.append(link)
            } else if stat.isDirectory {
                var children: [Build_Bazel_Remote_Execution_V2_Directory] = []
                var tree = Build_Bazel_Remote_Execution_V2_Tree()
                tree.root = try directoryMessage(absolute, children: &children, depth: 0)
                tree.children = children
                let bytes = try REAPIActionMapping.serialize(tree)
                let digest = REAPIActionMapping.digest(of: bytes)
                blobs[digest.hash] = (digest, .bytes(bytes))
                var output = Build_Bazel_Remote_Execution_V2_OutputDirectory()
                output.path = path
                output.treeDigest = digest
                result.outputDirectories.append(output)
            } else if stat.isRegularFile {
                var output = Build_Bazel_Remote_Execution_V2_OutputFile()
                output.path = path
                output.digest = try file(absolute)
                output.isExecutable = stat.isExecutable
                result.outputFiles.append(output)
            }
        }
    }

    // MARK: Sandboxed

    /// buildbox-run stages the input root from the CAS itself, runs the command under
    /// bubblewrap and uploads the outputs; its `ActionResult` is the answer.
    private func runInSandbox(action: Build_Bazel_Remote_Execution_V2_Action, root: String, runner: String,
                              mounts: [String]) async throws -> REActionResult {
        let actionPath = "\(root)/action.bin", resultPath = "\(root)/result.bin", stage = "\(root)/stage"
        try FileSystem.createDirectories(stage)
        try REAPIActionMapping.serialize(action).write(to: URL(fileURLWithPath: actionPath))
        var arguments = ["--action=\(actionPath)", "--action-result=\(resultPath)", "--disable-localcas",
                         "--remote=\(connection.endpoint.plainURL)", "--workspace-path=\(stage)", "--log-level=warning"]
        if !connection.instance.isEmpty { arguments.append("--instance=\(connection.instance)") }
        if let tokenFile { arguments.append("--access-token=\(tokenFile)") }
        arguments += mounts.map { "--ro-bind-mount=\($0)" }
        let environment = ["PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
        let (status, output, _) = try await Self.spawn(runner, arguments, environment: environment, directory: root, timeout: nil)
        guard status == 0, let data = FileManager.default.contents(atPath: resultPath) else {
            throw Failure(description: "buildbox-run exited with status \(status): \(String(decoding: output.suffix(2000), as: UTF8.self))")
        }
        var result = try REActionResult(serializedBytes: data)
        result.executionMetadata.worker = botID
        return result
    }
}
