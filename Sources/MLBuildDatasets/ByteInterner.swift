/// Maps byte strings to dense codes 0, 1, 2… in first-seen order without allocating a String per
/// lookup: open addressing over one byte arena. Each slot packs the FNV-1a hash's top 32 bits
/// with code + 1 (0 = empty), so a probe costs one memory access (a 1M-value id column makes
/// every probe a cache miss).
struct ByteInterner {
    private(set) var arena: [UInt8] = []
    private var offsets: [Int] = [0]
    private var table: [UInt64] = Array(repeating: 0, count: 64)

    var count: Int { offsets.count - 1 }

    /// The code of `bytes`, adding it if new; `isNew` tells which.
    @inline(__always)
    mutating func intern(_ bytes: UnsafeBufferPointer<UInt8>) -> (code: Int, isNew: Bool) {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        let tag = h & 0xFFFF_FFFF_0000_0000
        let mask = table.count - 1
        var slot = Int(truncatingIfNeeded: h) & mask
        while true {
            let entry = table[slot]
            if entry == 0 { break }
            if entry & 0xFFFF_FFFF_0000_0000 == tag {
                let code = Int(entry & 0xFFFF_FFFF) - 1
                if equal(code, bytes) { return (code, false) }
            }
            slot = (slot + 1) & mask
        }
        let code = count
        table[slot] = tag | UInt64(code + 1)
        arena.append(contentsOf: bytes)
        offsets.append(arena.count)
        if count * 2 > table.count { grow() }
        return (code, true)
    }

    func string(_ code: Int) -> String {
        String(decoding: arena[offsets[code] ..< offsets[code + 1]], as: UTF8.self)
    }

    var strings: [String] { (0 ..< count).map(string) }

    private func equal(_ code: Int, _ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        let s = offsets[code]
        let n = offsets[code + 1] - s
        guard n == bytes.count else { return false }
        for i in 0 ..< n where arena[s + i] != bytes[i] { return false }
        return true
    }

    /// Doubles the table; slots are re-placed by rehashing each value's bytes (the low hash bits
    /// pick the slot and only the high ones are stored).
    private mutating func grow() {
        var bigger = [UInt64](repeating: 0, count: table.count * 2)
        let mask = bigger.count - 1
        arena.withUnsafeBufferPointer { a in
            for code in 0 ..< count {
                var h: UInt64 = 0xCBF2_9CE4_8422_2325
                for i in offsets[code] ..< offsets[code + 1] { h = (h ^ UInt64(a[i])) &* 0x0000_0100_0000_01B3 }
                var slot = Int(truncatingIfNeeded: h) & mask
                while bigger[slot] != 0 { slot = (slot + 1) & mask }
                bigger[slot] = (h & 0xFFFF_FFFF_0000_0000) | UInt64(code + 1)
            }
        }
        table = bigger
    }
}
