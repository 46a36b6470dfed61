/// Little-endian byte output for the binary artifacts (`data.bin`, `train.bin`).
struct BinaryWriter {
    var bytes: [UInt8] = []

    mutating func reserve(_ n: Int) { bytes.reserveCapacity(n) }

    mutating func raw(_ b: [UInt8]) { bytes.append(contentsOf: b) }

    mutating func u8(_ v: UInt8) { bytes.append(v) }

    mutating func u32(_ v: UInt32) {
        withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func u64(_ v: UInt64) {
        withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func string(_ s: String) {
        let utf8 = Array(s.utf8)
        u32(UInt32(utf8.count))
        bytes.append(contentsOf: utf8)
    }

    /// Bulk copy of fixed-width values (the host is little-endian on every platform we build for;
    /// big-endian hosts swap per element).
    mutating func array<T: FixedWidthInteger>(_ values: [T]) {
        #if _endian(little)
        values.withUnsafeBytes { bytes.append(contentsOf: $0) }
        #else
        for v in values { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
        #endif
    }

    mutating func doubles(_ values: [Double]) {
        #if _endian(little)
        values.withUnsafeBytes { bytes.append(contentsOf: $0) }
        #else
        for v in values { u64(v.bitPattern) }
        #endif
    }
}

/// Bounds-checked little-endian reads; every failure names the file and what was being read.
struct BinaryReader {
    let bytes: [UInt8]
    let path: String
    var offset = 0

    init(bytes: [UInt8], path: String) {
        self.bytes = bytes
        self.path = path
    }

    private func need(_ n: Int, _ what: String) throws {
        if n < 0 || offset + n > bytes.count {
            throw DatasetError.format(path: path, message: "truncated file: cannot read \(what) at byte \(offset)")
        }
    }

    mutating func raw(_ n: Int, _ what: String) throws -> ArraySlice<UInt8> {
        try need(n, what)
        defer { offset += n }
        return bytes[offset ..< offset + n]
    }

    mutating func u8(_ what: String) throws -> UInt8 {
        try need(1, what)
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func u32(_ what: String) throws -> UInt32 {
        try need(4, what)
        defer { offset += 4 }
        return bytes.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: UInt32.self)) }
    }

    mutating func u64(_ what: String) throws -> UInt64 {
        try need(8, what)
        defer { offset += 8 }
        return bytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) }
    }

    mutating func string(_ what: String) throws -> String {
        let n = Int(try u32("\(what) length"))
        return String(decoding: try raw(n, what), as: UTF8.self)
    }

    mutating func array<T: FixedWidthInteger>(_ type: T.Type, count: Int, _ what: String) throws -> [T] {
        let size = MemoryLayout<T>.size
        guard count >= 0, count <= (bytes.count - offset) / size else {
            throw DatasetError.format(path: path, message: "truncated file: cannot read \(what) at byte \(offset)")
        }
        let start = offset
        offset += count * size
        return bytes.withUnsafeBytes { raw in
            [T](unsafeUninitializedCapacity: count) { buf, n in
                for i in 0 ..< count {
                    buf[i] = T(littleEndian: raw.loadUnaligned(fromByteOffset: start + i * size, as: T.self))
                }
                n = count
            }
        }
    }

    mutating func doubles(count: Int, _ what: String) throws -> [Double] {
        try array(UInt64.self, count: count, what).map { Double(bitPattern: $0) }
    }

    func expectEnd() throws {
        if offset != bytes.count {
            throw DatasetError.format(path: path, message: "\(bytes.count - offset) unexpected bytes after the last section")
        }
    }
}
