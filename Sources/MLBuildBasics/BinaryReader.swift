/// Reads what `BinaryWriter` wrote. Every read is bounds-checked and throws `Malformed` on
/// truncation (naming what was being read and where), so a damaged file is detected, never
/// trusted; callers put their file's name in front.
public struct BinaryReader {
    // `what` names the value for the error message only; it is an autoclosure so that reading a
    // million dictionary entries does not format a million messages nobody sees.
    public struct Malformed: Error, CustomStringConvertible {
        public var detail: String
        public init(_ detail: String = "malformed or truncated file") { self.detail = detail }
        public var description: String { detail }
    }

    public let bytes: [UInt8]
    public private(set) var offset = 0

    public init(bytes: [UInt8]) { self.bytes = bytes }

    /// Fails unless `bytes` starts with `magic` followed by `version` (8 bytes).
    public init(bytes: [UInt8], magic: String, version: UInt32) throws {
        self.bytes = bytes
        let m = Array(magic.utf8)
        guard bytes.count >= m.count, Array(bytes[0..<m.count]) == m else { throw Malformed("bad magic") }
        offset = m.count
        guard try readUInt64() == UInt64(version) else { throw Malformed("unsupported version") }
    }

    public var isAtEnd: Bool { offset == bytes.count }

    private func need(_ n: Int, _ what: @autoclosure () -> String) throws {
        if n < 0 || n > bytes.count - offset { throw Malformed("truncated file: cannot read \(what()) at byte \(offset)") }
    }

    // MARK: Sized values (binary artifacts)

    public mutating func raw(_ n: Int, _ what: @autoclosure () -> String) throws -> ArraySlice<UInt8> {
        try need(n, what())
        defer { offset += n }
        return bytes[offset ..< offset + n]
    }

    public mutating func u8(_ what: @autoclosure () -> String) throws -> UInt8 {
        try need(1, what())
        defer { offset += 1 }
        return bytes[offset]
    }

    public mutating func u32(_ what: @autoclosure () -> String) throws -> UInt32 {
        try need(4, what())
        defer { offset += 4 }
        return bytes.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: UInt32.self)) }
    }

    public mutating func u64(_ what: @autoclosure () -> String) throws -> UInt64 {
        try need(8, what())
        defer { offset += 8 }
        return bytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) }
    }

    /// UTF-8 with a 4-byte length.
    public mutating func string(_ what: @autoclosure () -> String) throws -> String {
        let n = Int(try u32("\(what()) length"))
        return String(decoding: try raw(n, what()), as: UTF8.self)
    }

    public mutating func array<T: FixedWidthInteger>(_ type: T.Type, count: Int, _ what: @autoclosure () -> String) throws -> [T] {
        let size = MemoryLayout<T>.size
        guard count >= 0, count <= (bytes.count - offset) / size else {
            throw Malformed("truncated file: cannot read \(what()) at byte \(offset)")
        }
        let start = offset
        offset += count * size
        return bytes.withUnsafeBytes { raw in
            [T](unsafeUninitializedCapacity: count) { buf, n in
                LargeArray.advise(UnsafeMutableRawBufferPointer(buf))
                #if _endian(little)
                // One copy: this generic function is not specialized across modules, and a
                // per-element generic load was a tenth of the features step (data.bin's codes).
                if let source = raw.baseAddress, count > 0 {
                    UnsafeMutableRawBufferPointer(buf).copyMemory(from: UnsafeRawBufferPointer(start: source + start, count: count * size))
                }
                #else
                for i in 0 ..< count {
                    buf[i] = T(littleEndian: raw.loadUnaligned(fromByteOffset: start + i * size, as: T.self))
                }
                #endif
                n = count
            }
        }
    }

    public mutating func doubles(count: Int, _ what: @autoclosure () -> String) throws -> [Double] {
        #if _endian(little)
        // Straight into the result (a train.bin's 230 MB of values once, not via a UInt64 copy).
        guard count >= 0, count <= (bytes.count - offset) / 8 else {
            throw Malformed("truncated file: cannot read \(what()) at byte \(offset)")
        }
        let start = offset
        offset += count * 8
        return bytes.withUnsafeBytes { raw in
            [Double](unsafeUninitializedCapacity: count) { buf, n in
                LargeArray.advise(UnsafeMutableRawBufferPointer(buf))
                if let source = raw.baseAddress, count > 0 {
                    UnsafeMutableRawBufferPointer(buf).copyMemory(from: UnsafeRawBufferPointer(start: source + start, count: count * 8))
                }
                n = count
            }
        }
        #else
        return try array(UInt64.self, count: count, what()).map { Double(bitPattern: $0) }
        #endif
    }

    public func expectEnd() throws {
        if offset != bytes.count { throw Malformed("\(bytes.count - offset) unexpected bytes after the last section") }
    }

    // MARK: Word-sized values (state files)

    public mutating func readUInt64() throws -> UInt64 { try u64("a number") }
    public mutating func readInt64() throws -> Int64 { Int64(bitPattern: try readUInt64()) }
    public mutating func readInt() throws -> Int { Int(try readInt64()) }
    public mutating func readBool() throws -> Bool { try u8("a flag") != 0 }

    /// UTF-8 with an 8-byte length.
    public mutating func readString() throws -> String {
        let count = try readUInt64()
        guard count <= UInt64(bytes.count - offset) else { throw Malformed("truncated file: cannot read a string at byte \(offset)") }
        return String(decoding: try raw(Int(count), "a string"), as: UTF8.self)
    }

    /// A string's bytes as they are stored, without decoding them (to compare names without
    /// making a String of every one).
    public mutating func readStringBytes() throws -> ArraySlice<UInt8> {
        let count = try readUInt64()
        guard count <= UInt64(bytes.count - offset) else { throw Malformed("truncated file: cannot read a string at byte \(offset)") }
        return try raw(Int(count), "a string")
    }

    public mutating func readDigest() throws -> ContentDigest {
        ContentDigest(words: (try readUInt64(), try readUInt64(), try readUInt64(), try readUInt64()))
    }

    /// A count that must fit in the remaining bytes (each item takes at least `minimumItemSize`).
    public mutating func readCount(minimumItemSize: Int = 1) throws -> Int {
        let n = try readUInt64()
        guard n <= UInt64((bytes.count - offset) / max(1, minimumItemSize)) else { throw Malformed("count \(n) exceeds the file size") }
        return Int(n)
    }
}
