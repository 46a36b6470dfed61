import MLBuildBasics
import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A `LayerSpec` expanded into the exact, sorted list of tar entries it produces, plus the cache
/// key derived from that list. Parent directories are explicit entries.
struct LayerPlan {
    struct Item: Codable, Equatable {
        enum Kind: String, Codable { case directory, file }
        /// Path in the tar: relative, no leading "/" or "./", no trailing "/".
        var path: String
        var kind: Kind
        var mode: UInt32
        var size: Int64
        /// Content digest of a file (hex); nil for directories.
        var digest: String?
        /// Host file to stream from; not part of the key.
        var source: URL?

        enum CodingKeys: String, CodingKey { case path, kind, mode, size, digest }
    }

    /// Bumped whenever the bytes we produce for the same items change (v2: gzip in independent
    /// 128 KiB blocks, and the compression named in the key; v3: gzip members by libdeflate).
    static let formatVersion = "mlbuild-oci-layer-v3"

    let name: String
    /// `var` for tests that hand the writer an item it would never be given.
    var items: [Item]
    /// By item path, the stamp of each file this plan hashed whose stamp binds the digest
    /// (`SourceStamp`): a file whose stamp is the same when it is tarred is not hashed again.
    /// Files with a digest from the caller have none. Not part of the key.
    var stamps: [String: SourceStamp] = [:]
    /// The layer cache's key: nil for a plan made without one (`keyed` false).
    let cacheKey: String?

    /// `keyed`: whether the layer is looked up in (and stored to) a layer cache. Only the key
    /// needs the files' digests before they are tarred; an unkeyed plan hashes nothing, and its
    /// layer's bytes are fixed by the diff_id computed while they are written.
    init(spec: LayerSpec, compression: LayerCompression = .gzip, compressionLevel: Int32, keyed: Bool = true) throws {
        var byPath: [String: (item: Item, origin: String)] = [:]
        // Files whose digest the caller did not give: hashed together below, in parallel.
        var unhashed: [String] = []
        func add(_ item: Item, origin: String) throws {
            if let existing = byPath[item.path] {
                if existing.item.kind == .directory && item.kind == .directory { return }
                throw OCIError(
                    "layer '\(spec.name)': image path '/\(item.path)' comes from both \(existing.origin) and \(origin)")
            }
            byPath[item.path] = (item, origin)
            if item.kind == .file && item.digest == nil { unhashed.append(item.path) }
        }
        for entry in spec.entries {
            guard let entrySource = entry.source else {
                let target = try Self.normalize(entry.imagePath, layer: spec.name)
                guard !target.isEmpty else { throw OCIError("layer '\(spec.name)': the image root '/' cannot be an entry") }
                for parent in Self.parents(of: target) {
                    try add(Item(path: parent, kind: .directory, mode: 0o755, size: 0), origin: "a parent directory")
                }
                try add(Item(path: target, kind: .directory, mode: entry.mode ?? 0o755, size: 0), origin: "an empty directory")
                continue
            }
            let source = entrySource.standardizedFileURL
            var info = stat()
            guard stat(source.path, &info) == 0 else {
                throw OCIError("layer '\(spec.name)': cannot read source '\(entrySource.path)': \(String(cString: strerror(errno)))")
            }
            var target = try Self.normalize(entry.imagePath, layer: spec.name)
            let isDirectory = (info.st_mode & S_IFMT) == S_IFDIR
            if !isDirectory && entry.imagePath.hasSuffix("/") {
                target = target.isEmpty ? source.lastPathComponent : target + "/" + source.lastPathComponent
            }
            guard !target.isEmpty || isDirectory else {
                throw OCIError("layer '\(spec.name)': a file cannot be placed at the image root '/'")
            }
            for parent in Self.parents(of: target) {
                try add(Item(path: parent, kind: .directory, mode: 0o755, size: 0), origin: "a parent directory")
            }
            if isDirectory {
                if !target.isEmpty {
                    try add(Item(path: target, kind: .directory, mode: 0o755, size: 0), origin: "'\(source.path)'")
                }
                try Self.walk(directory: source, imagePath: target, mode: entry.mode, layer: spec.name, known: spec.knownDigests) {
                    try add($0, origin: "'\($0.source?.path ?? source.path)'")
                }
            } else if (info.st_mode & S_IFMT) == S_IFREG {
                try add(Self.fileItem(source, info: info, path: target, mode: entry.mode, known: spec.knownDigests), origin: "'\(source.path)'")
            } else {
                throw OCIError("layer '\(spec.name)': source '\(source.path)' is neither a file nor a directory")
            }
        }
        if keyed { stamps = try Self.hash(unhashed, in: &byPath) }
        // Byte order of UTF-8 paths: a parent ("a") sorts before its children ("a/b").
        let items = byPath.values.map(\.item).sorted { Array($0.path.utf8).lexicographicallyPrecedes(Array($1.path.utf8)) }
        self.name = spec.name
        self.items = items
        guard keyed else {
            cacheKey = nil
            return
        }
        var hasher = SHA256()
        hasher.update(data: Array("\(Self.formatVersion)\n\(compression.rawValue):\(compressionLevel)\n".utf8))
        hasher.update(data: try OCIJSON.encode(items))
        self.cacheKey = ContentDigest(hasher.finalize()).hex
    }

    /// "/model/" -> "model"; refuses "..", NUL and other surprises.
    static func normalize(_ imagePath: String, layer: String) throws -> String {
        var parts: [Substring] = []
        for component in imagePath.split(separator: "/", omittingEmptySubsequences: true) {
            if component == "." { continue }
            guard component != "..", !component.utf8.contains(0) else {
                throw OCIError("layer '\(layer)': invalid image path '\(imagePath)'")
            }
            parts.append(component)
        }
        return parts.joined(separator: "/")
    }

    static func parents(of path: String) -> [String] {
        let parts = path.split(separator: "/")
        guard parts.count > 1 else { return [] }
        return (1..<parts.count).map { parts[0..<$0].joined(separator: "/") }
    }

    /// A file's item; its digest from `known` (by path) when the caller has it, else nil until
    /// `hash` fills it. A known digest is checked all the same: the bytes are hashed as they are
    /// tarred (`LayerBlobWriter`), and a file whose bytes differ fails the layer.
    private static func fileItem(_ url: URL, info: stat, path: String, mode: UInt32?, known: [String: String]) throws -> Item {
        let executable = info.st_mode & (S_IXUSR | S_IXGRP | S_IXOTH) != 0
        return Item(
            path: path, kind: .file, mode: mode ?? (executable ? 0o755 : 0o644), size: Int64(info.st_size),
            digest: known[url.path], source: url)
    }

    /// Hashes the files at `paths` on the threads of the work budget (a model's shards are
    /// hashed side by side); the first failure in `paths` order is the one reported. Returns the
    /// stamps that bind the digests.
    private static func hash(_ paths: [String], in byPath: inout [String: (item: Item, origin: String)]) throws -> [String: SourceStamp] {
        let sources = paths.map { byPath[$0]?.item.source }
        var stamps: [String: SourceStamp] = [:]
        var results = [Result<(digest: ContentDigest, size: Int64, stamp: SourceStamp?), Error>?](repeating: nil, count: paths.count)
        results.withUnsafeMutableBufferPointer { slots in
            WorkBudget.current.parallelFor(paths.count) { i in
                guard let source = sources[i] else { return }
                slots[i] = Result { try ContentDigest.ofFileStamped(source) }
            }
        }
        for (i, path) in paths.enumerated() {
            guard let entry = byPath[path], let source = entry.item.source, let result = results[i] else {
                throw OCIError("file '\(path)' has no source to hash")
            }
            let (digest, size, stamp) = try result.get()
            guard size == entry.item.size else { throw OCIError("file '\(source.path)' changed size while being hashed") }
            byPath[path]?.item.digest = digest.hex
            if let stamp { stamps[path] = stamp }
        }
        return stamps
    }

    private static func walk(
        directory: URL, imagePath: String, mode: UInt32?, layer: String, known: [String: String], add: (Item) throws -> Void
    ) throws {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        } catch {
            throw OCIError("layer '\(layer)': cannot list '\(directory.path)': \(error)")
        }
        for name in names {
            let url = directory.appendingPathComponent(name)
            let path = imagePath.isEmpty ? name : imagePath + "/" + name
            var info = stat()
            guard lstat(url.path, &info) == 0 else {
                throw OCIError("layer '\(layer)': cannot stat '\(url.path)': \(String(cString: strerror(errno)))")
            }
            var type = info.st_mode & S_IFMT
            if type == S_IFLNK {
                guard stat(url.path, &info) == 0 else {
                    throw OCIError("layer '\(layer)': dangling symlink '\(url.path)'")
                }
                type = info.st_mode & S_IFMT
                guard type == S_IFREG else {
                    throw OCIError("layer '\(layer)': symlink '\(url.path)' points to a directory or special file; only file symlinks are followed")
                }
            }
            switch type {
            case S_IFDIR:
                try add(Item(path: path, kind: .directory, mode: 0o755, size: 0))
                try walk(directory: url, imagePath: path, mode: mode, layer: layer, known: known, add: add)
            case S_IFREG:
                try add(fileItem(url, info: info, path: path, mode: mode, known: known))
            default:
                throw OCIError("layer '\(layer)': '\(url.path)' is not a regular file, directory or symlink")
            }
        }
    }
}
