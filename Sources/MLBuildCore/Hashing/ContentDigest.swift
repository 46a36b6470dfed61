import Crypto
import Foundation

/// A SHA-256 digest: the name of every blob, action and output in mlbuild.
public struct ContentDigest: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The 32 bytes as four big-endian words (cheap to compare, hash and store).
    public let words: (UInt64, UInt64, UInt64, UInt64)

    public init(bytes: some Sequence<UInt8>) {
        var w: [UInt64] = [0, 0, 0, 0]
        for (i, b) in bytes.enumerated() where i < 32 { w[i / 8] = w[i / 8] << 8 | UInt64(b) }
        words = (w[0], w[1], w[2], w[3])
    }

    public init(words: (UInt64, UInt64, UInt64, UInt64)) { self.words = words }

    /// Parses 64 lowercase or uppercase hex digits; nil for anything else.
    public init?(hex: some StringProtocol) {
        let utf8 = Array(hex.utf8)
        guard utf8.count == 64 else { return nil }
        var w: [UInt64] = [0, 0, 0, 0]
        for (i, c) in utf8.enumerated() {
            let v: UInt8
            switch c {
            case 48...57: v = c - 48
            case 97...102: v = c - 87
            case 65...70: v = c - 55
            default: return nil
            }
            w[i / 16] = w[i / 16] << 4 | UInt64(v)
        }
        words = (w[0], w[1], w[2], w[3])
    }

    public var bytes: [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(32)
        for word in [words.0, words.1, words.2, words.3] {
            for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: word >> UInt64(shift))) }
        }
        return out
    }

    public var hex: String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(64)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }

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
        ContentDigest(bytes: SHA256.hash(data: bytes))
    }

    public static func of(_ string: String) -> ContentDigest { of(Array(string.utf8)) }

    /// The digest of empty content.
    public static let empty = ContentDigest.of([UInt8]())
}
