/// The one little-endian binary encoding of mlbuild: its own state files (stat cache, build
/// state; `init(magic:version:)` and the `write` family, every integer 8 bytes, strings with an
/// 8-byte length) and the binary artifacts (`data.bin`, `train.bin`; the sized `u8`/`u32`/`u64`
/// family, strings with a 4-byte length, bulk arrays). Each format's header comment says which
/// widths it uses; `BinaryReader` reads both.
public struct BinaryWriter {
    public private(set) var bytes: [UInt8] = []

    public init() {}

    /// A state-file header: the magic's bytes, then `version` as 8 bytes.
    public init(magic: String, version: UInt32) {
        bytes.append(contentsOf: Array(magic.utf8))
        write(UInt64(version))
    }

    public mutating func reserve(_ n: Int) { bytes.reserveCapacity(n) }

    // MARK: Sized values (binary artifacts)

    public mutating func raw(_ b: [UInt8]) { bytes.append(contentsOf: b) }
    public mutating func u8(_ v: UInt8) { bytes.append(v) }

    public mutating func u32(_ v: UInt32) {
        withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) }
    }

    public mutating func u64(_ v: UInt64) {
        withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// UTF-8 with a 4-byte length.
    public mutating func string(_ s: String) {
        let utf8 = Array(s.utf8)
        u32(UInt32(utf8.count))
        bytes.append(contentsOf: utf8)
    }

    /// Bulk copy of fixed-width values (the host is little-endian on every platform we build for;
    /// big-endian hosts swap per element).
    public mutating func array<T: FixedWidthInteger>(_ values: [T]) {
        #if _endian(little)
        values.withUnsafeBytes { bytes.append(contentsOf: $0) }
        #else
        for v in values { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
        #endif
    }

    public mutating func doubles(_ values: [Double]) {
        #if _endian(little)
        values.withUnsafeBytes { bytes.append(contentsOf: $0) }
        #else
        for v in values { u64(v.bitPattern) }
        #endif
    }

    // MARK: Word-sized values (state files)

    public mutating func write(_ value: UInt64) { u64(value) }
    public mutating func write(_ value: Int64) { write(UInt64(bitPattern: value)) }
    public mutating func write(_ value: Int) { write(UInt64(bitPattern: Int64(value))) }
    public mutating func write(_ value: UInt32) { write(UInt64(value)) }
    public mutating func write(_ value: Bool) { bytes.append(value ? 1 : 0) }

    /// UTF-8 with an 8-byte length.
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
