/// Little-endian, length-prefixed binary encoding for mlbuild's own state files (stat cache,
/// build state): fast to load on the no-op path, where JSON parsing would dominate.
public struct BinaryWriter {
    public private(set) var bytes: [UInt8] = []

    public init(magic: String, version: UInt32) {
        bytes.append(contentsOf: Array(magic.utf8))
        write(UInt64(version))
    }

    public mutating func write(_ value: UInt64) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    public mutating func write(_ value: Int64) { write(UInt64(bitPattern: value)) }
    public mutating func write(_ value: Int) { write(UInt64(bitPattern: Int64(value))) }
    public mutating func write(_ value: UInt32) { write(UInt64(value)) }
    public mutating func write(_ value: Bool) { bytes.append(value ? 1 : 0) }

    public mutating func write(_ string: String) {
        var s = string
        s.withUTF8 { utf8 in
            write(UInt64(utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }

    public mutating func write(_ digest: ContentDigest) {
        write(digest.words.0)
        write(digest.words.1)
        write(digest.words.2)
        write(digest.words.3)
    }
}

/// Reads what `BinaryWriter` wrote; every read is bounds-checked and throws on truncation, so a
/// damaged state file is detected and discarded, never trusted.
public struct BinaryReader {
    public struct Malformed: Error, CustomStringConvertible {
        public init() {}
        public var description: String { "malformed or truncated state file" }
    }

    private let bytes: [UInt8]
    private var offset = 0

    /// Fails unless `bytes` starts with `magic` followed by `version`.
    public init(bytes: [UInt8], magic: String, version: UInt32) throws {
        self.bytes = bytes
        let m = Array(magic.utf8)
        guard bytes.count >= m.count, Array(bytes[0..<m.count]) == m else { throw Malformed() }
        offset = m.count
        guard try readUInt64() == UInt64(version) else { throw Malformed() }
    }

    public var isAtEnd: Bool { offset == bytes.count }

    public mutating func readUInt64() throws -> UInt64 {
        guard offset + 8 <= bytes.count else { throw Malformed() }
        var v: UInt64 = 0
        for i in 0..<8 { v |= UInt64(bytes[offset + i]) << UInt64(8 * i) }
        offset += 8
        return v
    }

    public mutating func readInt64() throws -> Int64 { Int64(bitPattern: try readUInt64()) }

    public mutating func readInt() throws -> Int {
        let v = try readInt64()
        return Int(v)
    }

    public mutating func readBool() throws -> Bool {
        guard offset < bytes.count else { throw Malformed() }
        defer { offset += 1 }
        return bytes[offset] != 0
    }

    public mutating func readString() throws -> String {
        let count = try readUInt64()
        guard count <= UInt64(bytes.count - offset) else { throw Malformed() }
        let n = Int(count)
        defer { offset += n }
        return String(decoding: bytes[offset..<(offset + n)], as: UTF8.self)
    }

    public mutating func readDigest() throws -> ContentDigest {
        ContentDigest(words: (try readUInt64(), try readUInt64(), try readUInt64(), try readUInt64()))
    }

    /// A count that must fit in the remaining bytes (each item takes at least `minimumItemSize`).
    public mutating func readCount(minimumItemSize: Int = 1) throws -> Int {
        let n = try readUInt64()
        guard n <= UInt64((bytes.count - offset) / max(1, minimumItemSize)) else { throw Malformed() }
        return Int(n)
    }
}
