import Foundation
import MLBuildCore

/// What an action produced: the document stored under `ac/<action key>` locally and remotely.
///
/// Format 2 (JSON, keys sorted, UTF-8), one entry per file, symbolic link or empty directory:
///
///     {"format":2,"outputs":[
///       {"digest":"<sha256 hex>","executable":false,"path":"work/clean.csv","size":123},
///       {"path":"work/latest","symlink":"clean.csv"},
///       {"directory":true,"path":"work/empty"}]}
///
/// - A file entry has `digest` (64 lowercase hex; a typed `ContentDigest` in memory), `size` and
///   `executable`, and nothing else.
/// - A symlink entry (`symlink`: the link's target, relative, as `readlink` gives it) has no blob:
///   links inside outputs are stored as links, never followed.
/// - A directory entry stands for an empty directory (a declared output directory with nothing in
///   it, or an empty directory below one), so that every declared output is covered by at least
///   one entry and an empty `outputs` list never covers anything.
///
/// `path` is workspace-relative and canonical (`/` separators; no `.`, `..` or empty component;
/// no leading or trailing `/`; no NUL), outputs are sorted by path, and nothing else (no time,
/// no host) is recorded, so that two runners computing one action write one document. Format 1
/// (file entries only) is still read. A document is checked here for form only; whether it
/// matches the target's declared outputs is checked where it enters the build (the engine's
/// `DeclaredOutputs`).
public struct ActionResult: Sendable, Hashable, Codable {
    public struct Output: Sendable, Hashable, Codable {
        public enum Kind: Sendable, Hashable {
            case file
            /// A symbolic link with this (relative) target.
            case symlink(String)
            /// An empty directory.
            case directory
        }

        public var path: String
        public var kind: Kind
        /// The blob of a file entry (its content's SHA-256); nil for other kinds.
        public var digest: ContentDigest?
        public var size: UInt64
        public var executable: Bool

        public init(path: String, digest: ContentDigest, size: UInt64, executable: Bool) {
            self.path = path
            kind = .file
            self.digest = digest
            self.size = size
            self.executable = executable
        }

        public static func symlink(path: String, target: String) -> Output {
            Output(path: path, kind: .symlink(target))
        }

        public static func directory(path: String) -> Output {
            Output(path: path, kind: .directory)
        }

        private init(path: String, kind: Kind) {
            self.path = path
            self.kind = kind
            digest = nil
            size = 0
            executable = false
        }

        public var isFile: Bool { if case .file = kind { return true } else { return false } }

        /// The link target of a symlink entry.
        public var symlinkTarget: String? { if case let .symlink(target) = kind { return target } else { return nil } }

        private enum CodingKeys: String, CodingKey { case path, digest, size, executable, symlink, directory }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            path = try c.decode(String.self, forKey: .path)
            let symlink = try c.decodeIfPresent(String.self, forKey: .symlink)
            let directory = try c.decodeIfPresent(Bool.self, forKey: .directory)
            let hasFileFields = c.contains(.digest) || c.contains(.size) || c.contains(.executable)
            switch (symlink, directory) {
            case (nil, nil):
                kind = .file
                // 64 lowercase hex digits, the one spelling `encode` writes.
                let hex = try c.decode(String.self, forKey: .digest)
                guard let parsed = ContentDigest(hex: hex), parsed.hex == hex else {
                    throw DecodingError.dataCorruptedError(forKey: .digest, in: c, debugDescription: "not a lowercase SHA-256: '\(hex)'")
                }
                digest = parsed
                size = try c.decode(UInt64.self, forKey: .size)
                executable = try c.decode(Bool.self, forKey: .executable)
                return
            case let (target?, nil) where !hasFileFields:
                kind = .symlink(target)
            case (nil, true?) where !hasFileFields:
                kind = .directory
            default:
                throw DecodingError.dataCorrupted(.init(codingPath: c.codingPath,
                                                        debugDescription: "an entry is one of a file, a symlink or a directory"))
            }
            digest = nil
            size = 0
            executable = false
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(path, forKey: .path)
            switch kind {
            case .file:
                try c.encode(digest?.hex ?? "", forKey: .digest)
                try c.encode(size, forKey: .size)
                try c.encode(executable, forKey: .executable)
            case let .symlink(target):
                try c.encode(target, forKey: .symlink)
            case .directory:
                try c.encode(true, forKey: .directory)
            }
        }
    }

    public static let currentFormat = 2
    /// Formats `decode` accepts (format 1: file entries only, same fields).
    public static let readableFormats = 1...2

    public var format: Int
    public var outputs: [Output]

    public init(outputs: [Output]) {
        format = Self.currentFormat
        self.outputs = outputs.sorted { $0.path < $1.path }
    }

    public func encoded() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? Array(encoder.encode(self))) ?? []
    }

    /// Decodes and checks a document's form; nil for anything malformed (a broken entry is a miss).
    public static func decode(_ bytes: [UInt8]) -> ActionResult? {
        guard let decoded = try? JSONDecoder().decode(ActionResult.self, from: Data(bytes)),
              readableFormats.contains(decoded.format),
              decoded.outputs.allSatisfy(isWellFormed)
        else { return nil }
        // Read as the current format: the entries are sorted again, whatever the sender did.
        let result = ActionResult(outputs: decoded.outputs)
        return result
    }

    /// One entry's form: a canonical path, and a lowercase SHA-256 for a file, or a relative
    /// non-empty target for a symlink.
    public static func isWellFormed(_ output: Output) -> Bool {
        guard isCanonicalRelativePath(output.path) else { return false }
        switch output.kind {
        case .file:
            return output.digest != nil && output.size <= UInt64(Int64.max)
        case let .symlink(target):
            return !target.isEmpty && !target.hasPrefix("/") && !target.utf8.contains(0)
        case .directory:
            return true
        }
    }

    /// The digest that stands for all outputs at once: what dependents hash into their keys.
    public var manifestDigest: ContentDigest {
        var hasher = StableHasher(domain: "mlbuild-outputs-v1")
        hasher.appendCount(outputs.count)
        for output in outputs {
            hasher.append(output.path)
            switch output.kind {
            case .file:
                // The hex string, as when the digest was stored as text: keys did not move.
                hasher.append(output.digest?.hex ?? "")
                hasher.append(output.executable)
            case let .symlink(target):
                // A string where a file has a bool: never the same encoding as a file entry.
                hasher.append("symlink")
                hasher.append(target)
            case .directory:
                hasher.append("directory")
                hasher.appendCount(0)
            }
        }
        return hasher.finalize()
    }

    /// A workspace-relative path in its one spelling: not empty, no leading or trailing `/`,
    /// no empty, `.` or `..` component, no NUL. Anything else could name the workspace root
    /// (`.`, `dir/..`) or a path outside it, or be truncated on its way to the kernel.
    public static func isCanonicalRelativePath(_ path: String) -> Bool {
        !path.utf8.contains(0) && WorkspacePath.problem(path) == nil
    }
}
