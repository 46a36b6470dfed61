/// Maps byte strings to dense codes 0, 1, 2… in first-seen order without allocating a String per
/// lookup: an open-addressing hash table (FNV-1a) over one byte arena.
struct ByteInterner {
    private(set) var arena: [UInt8] = []
    private var offsets: [Int] = [0]
    private var table: [Int32] = Array(repeating: -1, count: 64)
    private var hashes: [UInt64] = []

    var count: Int { offsets.count - 1 }

    /// The code of `bytes`, adding it if new; `isNew` tells which.
    @inline(__always)
    mutating func intern(_ bytes: UnsafeBufferPointer<UInt8>) -> (code: Int, isNew: Bool) {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        let mask = table.count - 1
        var slot = Int(truncatingIfNeeded: h) & mask
        while true {
            let code = Int(table[slot])
            if code < 0 { break }
            if hashes[code] == h, equal(code, bytes) { return (code, false) }
            slot = (slot + 1) & mask
        }
        let code = count
        table[slot] = Int32(code)
        hashes.append(h)
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

    private mutating func grow() {
        table = Array(repeating: -1, count: table.count * 2)
        let mask = table.count - 1
        for code in 0 ..< count {
            var slot = Int(truncatingIfNeeded: hashes[code]) & mask
            while table[slot] >= 0 { slot = (slot + 1) & mask }
            table[slot] = Int32(code)
        }
    }
}
