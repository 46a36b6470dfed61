import Foundation
import MLBuildCache
import MLBuildCore
import SwiftProtobuf

typealias REDigest = Build_Bazel_Remote_Execution_V2_Digest
typealias REActionResult = Build_Bazel_Remote_Execution_V2_ActionResult

/// How mlbuild's cache entries look on a Remote Execution API server.
///
/// An action key becomes the digest of an REAPI `Action` whose `Command` names the key
/// (`mlbuild action <key>`) over an empty input root: deterministic bytes, so every mlbuild
/// that computes the key asks for the same action digest. Outputs map one to one: files to
/// `output_files`, symbolic links to `output_symlinks`, empty directories to `output_directories`
/// whose tree is the empty `Tree`. An answer is believed only when it has that shape (exit code
/// 0, well-formed digests, no directory with content); the engine then checks it against the
/// target's declared outputs and every blob against its digest, as for the HTTP cache.
enum REAPIActionMapping {
    /// The `Command` that stands for action `key`.
    static func command(for key: ContentDigest) -> Build_Bazel_Remote_Execution_V2_Command {
        var command = Build_Bazel_Remote_Execution_V2_Command()
        command.arguments = ["mlbuild", "action", key.hex]
        return command
    }

    static let emptyDirectory = Build_Bazel_Remote_Execution_V2_Directory()

    /// The `Tree` of an empty output directory, serialized once, and its digest.
    static let emptyTree: (bytes: Data, digest: REDigest) = {
        var tree = Build_Bazel_Remote_Execution_V2_Tree()
        tree.root = emptyDirectory
        let bytes = (try? serialize(tree)) ?? Data()
        return (bytes, digest(of: bytes))
    }()

    /// The messages (serialized) an action key stands for: its action, command and empty input
    /// root, each with its digest. Uploaded with a result so that servers that check find them.
    static func actionBlobs(for key: ContentDigest) throws -> (action: REDigest, blobs: [(REDigest, Data)]) {
        let commandBytes = try serialize(command(for: key))
        let rootBytes = try serialize(emptyDirectory)
        var action = Build_Bazel_Remote_Execution_V2_Action()
        action.commandDigest = digest(of: commandBytes)
        action.inputRootDigest = digest(of: rootBytes)
        let actionBytes = try serialize(action)
        let actionDigest = digest(of: actionBytes)
        return (actionDigest, [(actionDigest, actionBytes), (action.commandDigest, commandBytes), (action.inputRootDigest, rootBytes)])
    }

    /// Deterministic wire bytes (the same message, the same bytes: digests depend on it).
    static func serialize(_ message: some SwiftProtobuf.Message) throws -> Data {
        var options = BinaryEncodingOptions()
        options.useDeterministicOrdering = true
        return try message.serializedData(options: options)
    }

    static func digest(of bytes: Data) -> REDigest {
        var digest = REDigest()
        digest.hash = ContentDigest.of(bytes).hex
        digest.sizeBytes = Int64(bytes.count)
        return digest
    }

    static func digest(_ content: ContentDigest, size: UInt64) -> REDigest {
        var digest = REDigest()
        digest.hash = content.hex
        digest.sizeBytes = Int64(clamping: size)
        return digest
    }

    struct Refused: Error, CustomStringConvertible {
        var description: String
    }

    /// A digest as the server wrote it, checked: 64 lowercase hex digits and a size ≥ 0.
    static func content(of digest: REDigest) throws -> (ContentDigest, UInt64) {
        guard digest.hash.utf8.count == 64, digest.hash.utf8.allSatisfy({ (48 ... 57).contains($0) || (97 ... 102).contains($0) }),
              let content = ContentDigest(hex: digest.hash) else {
            throw Refused(description: "digest '\(digest.hash.prefix(80))' is not a lowercase SHA-256")
        }
        guard digest.sizeBytes >= 0 else { throw Refused(description: "digest \(digest.hash) has a negative size") }
        return (content, UInt64(digest.sizeBytes))
    }

    /// mlbuild's result as an REAPI `ActionResult` (plus the empty tree's bytes when a directory
    /// output needs it).
    static func remote(_ result: ActionResult) throws -> (REActionResult, extraBlobs: [(REDigest, Data)]) {
        var remote = REActionResult()
        var extra: [(REDigest, Data)] = []
        for output in result.outputs {
            switch output.kind {
            case .file:
                var file = Build_Bazel_Remote_Execution_V2_OutputFile()
                file.path = output.path
                file.digest = digest(output.digest ?? .empty, size: output.size)
                file.isExecutable = output.executable
                remote.outputFiles.append(file)
            case let .symlink(target):
                var link = Build_Bazel_Remote_Execution_V2_OutputSymlink()
                link.path = output.path
                link.target = target
                remote.outputSymlinks.append(link)
            case .directory:
                let (treeBytes, treeDigest) = emptyTree
                var directory = Build_Bazel_Remote_Execution_V2_OutputDirectory()
                directory.path = output.path
                directory.treeDigest = treeDigest
                remote.outputDirectories.append(directory)
                if !extra.contains(where: { $0.0 == treeDigest }) { extra.append((treeDigest, treeBytes)) }
            }
        }
        return (remote, extra)
    }

    /// An REAPI `ActionResult` as mlbuild's, or why it is refused. Outputs sorted by path.
    static func local(_ remote: REActionResult) throws -> ActionResult {
        guard remote.exitCode == 0 else { throw Refused(description: "the action exited with \(remote.exitCode)") }
        var outputs: [ActionResult.Output] = []
        for file in remote.outputFiles {
            let (content, size) = try content(of: file.digest)
            outputs.append(ActionResult.Output(path: file.path, digest: content, size: size, executable: file.isExecutable))
        }
        for link in remote.outputSymlinks + remote.outputFileSymlinks + remote.outputDirectorySymlinks {
            outputs.append(.symlink(path: link.path, target: link.target))
        }
        for directory in remote.outputDirectories {
            guard directory.treeDigest == emptyTree.digest else {
                throw Refused(description: "output directory '\(directory.path)' has content (mlbuild records only empty directories)")
            }
            outputs.append(.directory(path: directory.path))
        }
        outputs.sort { $0.path < $1.path }
        return ActionResult(outputs: outputs)
    }
}
