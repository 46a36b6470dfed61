/// Decides what one raw cell means: null, a bool, or bytes to parse as the column's type.
///
/// Null: empty or whitespace-only (spaces, tabs) cells, or a cell whose trimmed text equals one
/// of `null_values` exactly (case-sensitive, so `NA` does not swallow the category `na`).
/// Bool: the trimmed text matches a true or false spelling case-insensitively.
struct CellReader: Sendable {
    private let nullSpellings: [[UInt8]]
    private let trueSpellings: [[UInt8]]
    private let falseSpellings: [[UInt8]]

    init(options: DatasetOptions) {
        nullSpellings = options.nullValues.map { Array($0.utf8) }
        trueSpellings = (DatasetOptions.defaultTrueValues + options.trueValues).map { Array($0.lowercased().utf8) }
        falseSpellings = (DatasetOptions.defaultFalseValues + options.falseValues).map { Array($0.lowercased().utf8) }
    }

    /// True when the (already trimmed) cell is null.
    @inline(__always)
    func isNull(_ t: UnsafeBufferPointer<UInt8>) -> Bool {
        if t.count == 0 { return true }
        if nullSpellings.isEmpty { return false }
        for s in nullSpellings where s.count == t.count {
            if s.withUnsafeBufferPointer({ memcmpEqual($0, t) }) { return true }
        }
        return false
    }

    /// The bool a trimmed cell spells, or nil.
    func bool(_ t: UnsafeBufferPointer<UInt8>) -> Bool? {
        if matches(trueSpellings, t) { return true }
        if matches(falseSpellings, t) { return false }
        return nil
    }

    private func matches(_ spellings: [[UInt8]], _ t: UnsafeBufferPointer<UInt8>) -> Bool {
        outer: for s in spellings where s.count == t.count {
            for i in 0 ..< s.count {
                var c = t[i]
                if c >= 0x41, c <= 0x5A { c |= 0x20 }
                if c != s[i] { continue outer }
            }
            return true
        }
        return false
    }

    @inline(__always)
    private func memcmpEqual(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Bool {
        for i in 0 ..< a.count where a[i] != b[i] { return false }
        return true
    }
}
