import Crypto
import Foundation

/// A SHA-256 digest: the name of every blob, action, output, image layer and manifest in mlbuild.
/// The one digest type of every module (the engine's keys and the OCI packer's descriptors alike).
///
/// `hex` is the bare 64-digit form (cache paths, keys); `prefixed` is the OCI form
/// `sha256:<hex>` (descriptors, annotations), which is also how it is encoded as JSON.
/// `description` is the bare hex; say `prefixed` where the OCI form is meant.
public struct ContentDigest: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The 32 bytes as four big-endian words (cheap to compare, hash and store).
    public let words: (UInt64, UInt64, UInt64, UInt64)

    public init(bytes: some Sequence<UInt8>) {
        if let fast = bytes.withContiguousStorageIfAvailable({ ContentDigest(buffer: UnsafeRawBufferPointer($0)) }) {
            self = fast
            return
        }
        self.init(buffer: Array(bytes))
    }

    /// The first 32 bytes of `buffer` as four big-endian words (as the byte-wise form reads them).
    /// The hot path: every key and output manifest ends here, so no generic iteration.
    public init(buffer: UnsafeRawBufferPointer) {
        var w: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        let n = min(buffer.count, 32)
        for i in 0..<n {
            let b = UInt64(buffer[i])
            switch i >> 3 {
            case 0: w.0 = w.0 << 8 | b
            case 1: w.1 = w.1 << 8 | b
            case 2: w.2 = w.2 << 8 | b
            default: w.3 = w.3 << 8 | b
            }
        }
        words = w
    }

    private init(buffer array: [UInt8]) {
        self = array.withUnsafeBytes { ContentDigest(buffer: $0) }
    }

    public init(words: (UInt64, UInt64, UInt64, UInt64)) { self.words = words }

    public init(_ digest: SHA256.Digest) { self = digest.withUnsafeBytes { ContentDigest(buffer: $0) } }

    /// Parses 64 hex digits (either case); nil for anything else.
    public init?(hex: some StringProtocol) {
        var w: [UInt64] = [0, 0, 0, 0]
        var count = 0
        for c in hex.utf8 {
            guard count < 64 else { return nil }
            let v: UInt8
            switch c {
            case 48...57: v = c - 48
            case 97...102: v = c - 87
            case 65...70: v = c - 55
            default: return nil
            }
            w[count / 16] = w[count / 16] << 4 | UInt64(v)
            count += 1
        }
        guard count == 64 else { return nil }
        words = (w[0], w[1], w[2], w[3])
    }

    /// Parses the OCI form `sha256:<64 lowercase hex>`; nil for any other algorithm or spelling
    /// (refusing others keeps blob paths such as `blobs/sha256/<hex>` free of surprises).
    public init?(prefixed string: some StringProtocol) {
        guard string.hasPrefix("sha256:") else { return nil }
        let hex = string.dropFirst("sha256:".count)
        guard !hex.utf8.contains(where: { (65...70).contains($0) }) else { return nil }
        self.init(hex: hex)
    }

    public var bytes: [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(32)
        for word in [words.0, words.1, words.2, words.3] {
            for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: word >> UInt64(shift))) }
        }
        return out
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    public var hex: String {
        String(unsafeUninitializedCapacity: 64) { out in
            var i = 0
            for word in [words.0, words.1, words.2, words.3] {
                for shift in stride(from: 60, through: 0, by: -4) {
                    out[i] = Self.hexDigits[Int(word >> UInt64(shift) & 0xF)]
                    i += 1
                }
            }
            return 64
        }
    }

    /// `sha256:<hex>`, the OCI and in-toto spelling.
    public var prefixed: String { "sha256:" + hex }

    public var description: String { hex }

    public static func == (a: ContentDigest, b: ContentDigest) -> Bool {
        a.words.0 == b.words.0 && a.words.1 == b.words.1 && a.words.2 == b.words.2 && a.words.3 == b.words.3
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(words.0)
        hasher.combine(words.1)
    }

    public static func < (a: ContentDigest, b: ContentDigest) -> Bool {
        (a.words.0, a.words.1, a.words.2, a.words.3) < (b.words.0, b.words.1, b.words.2, b.words.3)
    }

    /// SHA-256 of a byte buffer.
    public static func of(_ bytes: some DataProtocol) -> ContentDigest {
        ContentDigest(SHA256.hash(data: bytes))
    }

    public static func of(_ string: String) -> ContentDigest { of(Array(string.utf8)) }

    /// The digest of empty content.
    public static let empty = ContentDigest.of([UInt8]())
}

/// JSON (OCI descriptors, config diff_ids, provenance): the `sha256:<hex>` string.
extension ContentDigest: Codable {
    public struct Invalid: Error, CustomStringConvertible {
        public let text: String
        public var description: String {
            text.hasPrefix("sha256:") ? "invalid sha256 digest '\(text)'" : "unsupported digest '\(text)': only sha256 is supported"
        }
    }

    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let digest = ContentDigest(prefixed: text) else { throw Invalid(text: text) }
        self = digest
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(prefixed)
    }
}
