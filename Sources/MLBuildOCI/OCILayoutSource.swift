import MLBuildBasics
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Read access to an OCI image layout that came from an untrusted place: an `oci-archive` tar
/// (extracted into a scratch directory) or a layout directory on disk.
///
/// Extraction refuses, naming the entry: absolute paths, `..` components, device/FIFO entries,
/// symlinks that are absolute or whose target leaves the root, hard links to paths outside the
/// root. Links are never created on disk: they are kept as aliases and resolved lexically when a
/// blob is looked up, so no later entry can be written through a link.
struct OCILayoutSource {
    let root: URL
    /// archive path -> archive path it aliases (symlinks resolved against their directory).
    private let aliases: [String: String]
    private let fromArchive: Bool
    let description: String

    /// Opens `url`: a directory is read in place, anything else is read as a tar archive and
    /// extracted into `scratch` (which must not exist yet).
    static func open(_ url: URL, scratch: URL) throws -> OCILayoutSource {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw OCIError("OCI image '\(url.relativePath)' does not exist")
        }
        if isDirectory.boolValue {
            return OCILayoutSource(root: url.standardizedFileURL, aliases: [:], fromArchive: false, description: url.relativePath)
        }
        return try extract(archive: url, into: scratch)
    }

    /// Lexically normalizes an archive entry path; nil for the root itself.
    static func normalizeEntry(_ raw: String, archive: String) throws -> String? {
        guard !raw.hasPrefix("/") else {
            throw OCIError("OCI archive '\(archive)': entry '\(raw)' has an absolute path")
        }
        var parts: [Substring] = []
        for component in raw.split(separator: "/", omittingEmptySubsequences: true) {
            if component == "." { continue }
            guard component != ".." else {
                throw OCIError("OCI archive '\(archive)': entry '\(raw)' contains '..' (path traversal)")
            }
            parts.append(component)
        }
        return parts.isEmpty ? nil : parts.joined(separator: "/")
    }

    /// Resolves a link target relative to `directory` (both archive paths); nil if it escapes.
    static func resolveLink(_ target: String, from directory: [Substring]) -> String? {
        guard !target.hasPrefix("/") else { return nil }
        var parts = directory
        for component in target.split(separator: "/", omittingEmptySubsequences: true) {
            if component == "." { continue }
            if component == ".." {
                guard !parts.isEmpty else { return nil }
                parts.removeLast()
            } else {
                parts.append(component)
            }
        }
        return parts.joined(separator: "/")
    }

    private static func extract(archive url: URL, into scratch: URL) throws -> OCILayoutSource {
        // As the caller wrote it (a relative path stays relative in messages).
        let name = url.relativePath
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        let reader: ArchiveReader
        do {
            reader = try ArchiveReader(file: url)
        } catch {
            throw OCIError("cannot read OCI archive '\(name)': \(error)")
        }
        var aliases: [String: String] = [:]
        var files = Set<String>()
        while let entry = try reader.next() {
            guard let path = try normalizeEntry(entry.path, archive: name) else { continue }
            let directoryParts = Array(path.split(separator: "/").dropLast())
            switch entry.kind {
            case .directory:
                try FileManager.default.createDirectory(
                    at: scratch.appendingPathComponent(path), withIntermediateDirectories: true)
            case .regular:
                guard aliases[path] == nil, !files.contains(path) else {
                    throw OCIError("OCI archive '\(name)': entry '\(entry.path)' appears twice")
                }
                let destination = scratch.appendingPathComponent(path)
                try FileManager.default.createDirectory(
                    at: destination.deletingLastPathComponent(), withIntermediateDirectories: true)
                let fd = Glibc.open(destination.path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
                guard fd >= 0 else {
                    throw OCIError("OCI archive '\(name)': cannot extract entry '\(entry.path)': \(String(cString: strerror(errno)))")
                }
                _ = Glibc.close(fd)
                let sink = try FileSink(url: destination)
                try reader.readData { try sink.write($0) }
                try sink.close()
                files.insert(path)
            case .symlink:
                guard let target = entry.linkTarget,
                    let resolved = resolveLink(target, from: directoryParts)
                else {
                    throw OCIError(
                        "OCI archive '\(name)': symlink '\(entry.path)' -> '\(entry.linkTarget ?? "")' escapes the archive root")
                }
                aliases[path] = resolved
            case .hardlink:
                guard let target = entry.linkTarget,
                    let resolved = try? normalizeEntry(target, archive: name)
                else {
                    throw OCIError(
                        "OCI archive '\(name)': hard link '\(entry.path)' -> '\(entry.linkTarget ?? "")' escapes the archive root")
                }
                aliases[path] = resolved
            case .other(let type):
                throw OCIError("OCI archive '\(name)': entry '\(entry.path)' has unsupported type 0o\(String(type, radix: 8))")
            }
        }
        try reader.finish()
        return OCILayoutSource(root: scratch, aliases: aliases, fromArchive: true, description: name)
    }

    /// The host file holding archive path `path`, following aliases (at most 40 hops).
    func file(_ path: String) throws -> URL {
        var current = path
        for _ in 0..<40 {
            let candidate = root.appendingPathComponent(current)
            if fromArchive {
                var info = stat()
                if lstat(candidate.path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG { return candidate }
                // Longest aliased prefix of the path.
                let parts = current.split(separator: "/")
                var replaced = false
                for length in stride(from: parts.count, through: 1, by: -1) {
                    let prefix = parts[0..<length].joined(separator: "/")
                    if let target = aliases[prefix] {
                        let rest = parts[length...].joined(separator: "/")
                        current = rest.isEmpty ? target : (target.isEmpty ? rest : target + "/" + rest)
                        replaced = true
                        break
                    }
                }
                if !replaced { throw OCIError("OCI image '\(description)': '\(path)' is missing") }
            } else {
                // A directory on disk: resolve symlinks for real and require the result inside the root.
                guard let rootReal = realpath(root.path, nil) else {
                    throw OCIError("OCI image '\(description)': cannot resolve the layout directory")
                }
                defer { free(rootReal) }
                guard let real = realpath(candidate.path, nil) else {
                    throw OCIError("OCI image '\(description)': '\(path)' is missing")
                }
                defer { free(real) }
                let rootPath = String(cString: rootReal)
                let realPath = String(cString: real)
                guard realPath.hasPrefix(rootPath.hasSuffix("/") ? rootPath : rootPath + "/") else {
                    throw OCIError("OCI image '\(description)': '\(path)' is a link escaping the layout root")
                }
                var info = stat()
                guard stat(realPath, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
                    throw OCIError("OCI image '\(description)': '\(path)' is not a regular file")
                }
                return URL(fileURLWithPath: realPath)
            }
        }
        throw OCIError("OCI image '\(description)': too many links resolving '\(path)'")
    }

    func blob(_ digest: ContentDigest) throws -> URL {
        try file("blobs/sha256/" + digest.hex)
    }

    /// Reads a small JSON file whole.
    func readSmall(_ url: URL, what: String, limit: Int64 = 16 << 20) throws -> [UInt8] {
        var bytes: [UInt8] = []
        try FileReader.forEachChunk(of: url) { chunk in
            guard Int64(bytes.count + chunk.count) <= limit else {
                throw OCIError("OCI image '\(description)': \(what) is larger than \(limit) bytes")
            }
            bytes.append(contentsOf: chunk)
        }
        return bytes
    }

    /// A blob whose digest and size are checked against its descriptor.
    func verifiedBlob(_ descriptor: Descriptor, what: String) throws -> URL {
        let url: URL
        do {
            url = try blob(descriptor.digest)
        } catch {
            throw OCIError("OCI image '\(description)': \(what) blob \(descriptor.digest.prefixed) is missing")
        }
        let (digest, size) = try ContentDigest.ofFile(url)
        guard size == descriptor.size else {
            throw OCIError(
                "OCI image '\(description)': \(what) blob \(descriptor.digest.prefixed) has size \(size), descriptor says \(descriptor.size)")
        }
        guard digest == descriptor.digest else {
            throw OCIError("OCI image '\(description)': \(what) blob \(descriptor.digest.prefixed): digest did not match (content is \(digest.prefixed))")
        }
        return url
    }

    func verifiedJSON<T: Decodable>(_ type: T.Type, _ descriptor: Descriptor, what: String) throws -> T {
        let url = try verifiedBlob(descriptor, what: what)
        return try OCIJSON.decode(type, from: readSmall(url, what: what), what: "\(what) blob \(descriptor.digest.prefixed)")
    }

    /// `oci-layout` and `index.json`, checked.
    func readIndex() throws -> Index {
        let layoutBytes: [UInt8]
        do {
            layoutBytes = try readSmall(file("oci-layout"), what: "oci-layout")
        } catch {
            throw OCIError("OCI image '\(description)': missing 'oci-layout' file (not an OCI image layout)")
        }
        let layout = try OCIJSON.decode(ImageLayout.self, from: layoutBytes, what: "'\(description)': oci-layout")
        guard layout.imageLayoutVersion.hasPrefix("1.") else {
            throw OCIError("OCI image '\(description)': unsupported imageLayoutVersion '\(layout.imageLayoutVersion)'")
        }
        let indexURL: URL
        do {
            indexURL = try file("index.json")
        } catch {
            throw OCIError("OCI image '\(description)': missing 'index.json'")
        }
        let index = try OCIJSON.decode(Index.self, from: readSmall(indexURL, what: "index.json"), what: "'\(description)': index.json")
        guard index.schemaVersion == 2 else {
            throw OCIError("OCI image '\(description)': index.json schemaVersion \(index.schemaVersion) is not 2")
        }
        return index
    }
}
