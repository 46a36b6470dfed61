import Crypto
import Foundation

/// A validated `sha256:<64 lowercase hex>` digest. Only sha256 is supported: it is what we write,
/// and refusing others keeps blob paths (`blobs/sha256/<hex>`) free of surprises.
public struct ContentDigest: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    public let hex: String

    public init(hex: String) throws {
        guard hex.utf8.count == 64, hex.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) })
        else { throw OCIError("invalid sha256 hex '\(hex)'") }
        self.hex = hex
    }

    public init(parsing string: String) throws {
        guard string.hasPrefix("sha256:") else {
            throw OCIError("unsupported digest '\(string)': only sha256 is supported")
        }
        try self.init(hex: String(string.dropFirst("sha256:".count)))
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    init(_ digest: SHA256.Digest) {
        var utf8: [UInt8] = []
        utf8.reserveCapacity(64)
        for byte in digest {
            utf8.append(Self.hexDigits[Int(byte >> 4)])
            utf8.append(Self.hexDigits[Int(byte & 0x0f)])
        }
        self.hex = String(decoding: utf8, as: UTF8.self)
    }

    public static func of(_ bytes: [UInt8]) -> ContentDigest {
        ContentDigest(SHA256.hash(data: bytes))
    }

    /// Streams a file through SHA-256.
    public static func ofFile(_ url: URL) throws -> (digest: ContentDigest, size: Int64) {
        var hasher = SHA256()
        let size = try FileReader.forEachChunk(of: url) { hasher.update(bufferPointer: $0) }
        return (ContentDigest(hasher.finalize()), size)
    }

    public var description: String { "sha256:" + hex }

    public static func < (lhs: ContentDigest, rhs: ContentDigest) -> Bool { lhs.hex < rhs.hex }

    public init(from decoder: Decoder) throws {
        try self.init(parsing: decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
