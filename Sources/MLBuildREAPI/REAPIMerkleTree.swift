import Foundation
import MLBuildCore
import MLBuildEngine

/// An action's input root as REAPI `Directory` messages: one per directory, entries sorted by
/// name, each serialized deterministically and named by its digest (the Merkle tree the
/// service stages). Made from the engine's flat list of `RemoteInput`s.
struct REAPIMerkleTree {
    /// Where a blob's bytes come from when the service lacks it.
    enum Content {
        case bytes(Data)
        case file(String)
    }

    let root: REDigest
    /// Every blob the tree names (directories, files, the spec), one entry per digest.
    let blobs: [String: (digest: REDigest, content: Content)]

    struct Conflict: Error, CustomStringConvertible {
        var description: String
    }

    private final class Node {
        var files: [String: Build_Bazel_Remote_Execution_V2_FileNode] = [:]
        var symlinks: [String: Build_Bazel_Remote_Execution_V2_SymlinkNode] = [:]
        var directories: [String: Node] = [:]
    }

    init(_ inputs: [RemoteInput]) throws {
        let top = Node()
        var blobs: [String: (digest: REDigest, content: Content)] = [:]
        func directory(for components: ArraySlice<Substring>) throws -> Node {
            var node = top
            for name in components {
                let key = String(name)
                if node.files[key] != nil || node.symlinks[key] != nil {
                    throw Conflict(description: "'\(key)' is both a file and a directory in the input root")
                }
                if let next = node.directories[key] {
                    node = next
                } else {
                    let next = Node()
                    node.directories[key] = next
                    node = next
                }
            }
            return node
        }
        for input in inputs {
            let components = input.path.split(separator: "/")
            guard let last = components.last else { continue }
            if case .directory = input {
                _ = try directory(for: components[...])
                continue
            }
            let parent = try directory(for: components.dropLast())
            let name = String(last)
            if parent.directories[name] != nil {
                throw Conflict(description: "'\(input.path)' is both a file and a directory in the input root")
            }
            switch input {
            case let .file(_, digest, size, executable, source):
                var file = Build_Bazel_Remote_Execution_V2_FileNode()
                file.name = name
                file.digest = REAPIActionMapping.digest(digest, size: size)
                file.isExecutable = executable
                parent.files[name] = file
                if blobs[digest.hex] == nil { blobs[digest.hex] = (file.digest, .file(source)) }
            case let .bytes(_, content, executable):
                let data = Data(content)
                var file = Build_Bazel_Remote_Execution_V2_FileNode()
                file.name = name
                file.digest = REAPIActionMapping.digest(of: data)
                file.isExecutable = executable
                parent.files[name] = file
                blobs[file.digest.hash] = (file.digest, .bytes(data))
            case let .symlink(_, target):
                var link = Build_Bazel_Remote_Execution_V2_SymlinkNode()
                link.name = name
                link.target = target
                parent.symlinks[name] = link
            case .directory:
                break
            }
        }
        func seal(_ node: Node) throws -> REDigest {
            var message = Build_Bazel_Remote_Execution_V2_Directory()
            message.files = node.files.keys.sorted().compactMap { node.files[$0] }
            message.symlinks = node.symlinks.keys.sorted().compactMap { node.symlinks[$0] }
            for name in node.directories.keys.sorted() {
                guard let child = node.directories[name] else { continue }
                var entry = Build_Bazel_Remote_Execution_V2_DirectoryNode()
                entry.name = name
                entry.digest = try seal(child)
                message.directories.append(entry)
            }
            let bytes = try REAPIActionMapping.serialize(message)
            let digest = REAPIActionMapping.digest(of: bytes)
            blobs[digest.hash] = (digest, .bytes(bytes))
            return digest
        }
        root = try seal(top)
        self.blobs = blobs
    }
}
