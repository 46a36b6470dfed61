import Crypto

/// Builds a SHA-256 over a type-tagged, length-prefixed encoding (as SwiftPM's QueryEngine does),
/// so that no two different field sequences can produce the same byte stream, and so that nothing
/// depends on `hashValue` (seeded per process) or on dictionary order.
///
/// Encoding: each field is one tag byte, then for strings and byte strings a little-endian
/// UInt64 length and the bytes, for integers 8 little-endian bytes, for digests 32 bytes.
public struct StableHasher {
    private var hasher = SHA256()
    /// Small fields collect here and reach SHA-256 in blocks: one `update` per tag byte cost
    /// more than the hashing itself when a key has hundreds of fields.
    private var pending: [UInt8] = []
    private static let flushAt = 4096

    public init(domain: String) {
        pending.reserveCapacity(512)
        append(domain)
    }

    private mutating func flushIfFull() {
        if pending.count >= Self.flushAt { flush() }
    }

    private mutating func flush() {
        guard !pending.isEmpty else { return }
        pending.withUnsafeBytes { hasher.update(bufferPointer: $0) }
        pending.removeAll(keepingCapacity: true)
    }

    private enum Tag: UInt8 { case string = 1, integer = 2, digest = 3, count = 4, bool = 5 }

    private mutating func raw(_ value: UInt64) {
        withUnsafeBytes(of: value.littleEndian) { pending.append(contentsOf: $0) }
        flushIfFull()
    }

    private mutating func tag(_ tag: Tag) {
        pending.append(tag.rawValue)
    }

    public mutating func append(_ string: String) {
        tag(.string)
        var s = string
        s.withUTF8 { utf8 in
            raw(UInt64(utf8.count))
            if utf8.count >= Self.flushAt {
                flush()
                hasher.update(bufferPointer: UnsafeRawBufferPointer(utf8))
            } else {
                pending.append(contentsOf: utf8)
                flushIfFull()
            }
        }
    }

    public mutating func append(_ value: UInt64) {
        tag(.integer)
        raw(value)
    }

    public mutating func append(_ value: Int) { append(UInt64(bitPattern: Int64(value))) }

    public mutating func append(_ value: Bool) {
        tag(.bool)
        raw(value ? 1 : 0)
    }

    public mutating func append(_ digest: ContentDigest) {
        tag(.digest)
        raw(digest.words.0)
        raw(digest.words.1)
        raw(digest.words.2)
        raw(digest.words.3)
    }

    /// Marks the start of a list of `count` items so list boundaries are part of the encoding.
    public mutating func appendCount(_ count: Int) {
        tag(.count)
        raw(UInt64(count))
    }

    public func finalize() -> ContentDigest {
        var copy = self
        copy.flush()
        return ContentDigest(copy.hasher.finalize())
    }
}
