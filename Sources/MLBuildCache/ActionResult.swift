import Foundation
import MLBuildCore

/// What an action produced: the document stored under `ac/<action key>` locally and remotely.
///
/// Format (JSON, keys sorted, UTF-8):
///
///     {"format":1,"outputs":[{"digest":"<sha256 hex>","executable":false,"path":"work/clean.csv","size":123}]}
///
/// `path` is workspace-relative with `/` separators, outputs are sorted by path, and nothing else
/// (no time, no host) is recorded, so that two runners computing one action write one document.
public struct ActionResult: Sendable, Hashable, Codable {
    public struct Output: Sendable, Hashable, Codable {
        public var path: String
        public var digest: String
        public var size: UInt64
        public var executable: Bool

        public init(path: String, digest: ContentDigest, size: UInt64, executable: Bool) {
            self.path = path
            self.digest = digest.hex
            self.size = size
            self.executable = executable
        }

        public var contentDigest: ContentDigest? { ContentDigest(hex: digest) }
    }

    public static let currentFormat = 1

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

    /// Decodes and checks a document; nil for anything malformed (a broken entry is a miss).
    public static func decode(_ bytes: [UInt8]) -> ActionResult? {
        guard let result = try? JSONDecoder().decode(ActionResult.self, from: Data(bytes)),
              result.format == currentFormat,
              result.outputs.allSatisfy({ $0.contentDigest != nil && Self.isSafeRelativePath($0.path) })
        else { return nil }
        return result
    }

    /// The digest that stands for all outputs at once: what dependents hash into their keys.
    public var manifestDigest: ContentDigest {
        var hasher = StableHasher(domain: "mlbuild-outputs-v1")
        hasher.appendCount(outputs.count)
        for output in outputs {
            hasher.append(output.path)
            hasher.append(output.digest)
            hasher.append(output.executable)
        }
        return hasher.finalize()
    }

    /// Rejects absolute paths and `..` so a hostile cache entry cannot write outside the workspace.
    public static func isSafeRelativePath(_ path: String) -> Bool {
        !path.isEmpty && !path.hasPrefix("/") && !path.split(separator: "/", omittingEmptySubsequences: false).contains { $0 == ".." || $0.isEmpty }
    }
}
