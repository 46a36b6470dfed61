/// The byte-level pieces of RFC 8259 that both request readers (`RequestJSON`, `DirectJSONRows`)
/// scan the same way: whitespace, the literals, and the number grammar.
enum JSONGrammar {
    /// Where a number's parts end; the caller decides what to do with its text.
    struct NumberSpan {
        var end: Int
        /// Digits before the fraction (1 for a leading `0`).
        var integerDigits: Int
        var hasFraction: Bool
        var hasExponent: Bool
        /// The end of the digits before any exponent.
        var mantissaEnd: Int
    }

    static func skipWhitespace(_ bytes: UnsafeBufferPointer<UInt8>, _ index: inout Int) {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    /// Takes `word` at `index` when it is there.
    static func literal(_ word: StaticString, _ bytes: UnsafeBufferPointer<UInt8>, _ index: inout Int) -> Bool {
        let count = word.utf8CodeUnitCount
        guard bytes.count - index >= count else { return false }
        for k in 0 ..< count where bytes[index + k] != word.utf8Start[k] { return false }
        index += count
        return true
    }

    /// The number at `start` (which holds `-` or a digit) in RFC 8259's grammar, or nil when the
    /// bytes there are not one (a leading zero followed by digits, a bare `-`, `1.`, `1e`).
    static func number(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> NumberSpan? {
        var index = start
        func digits() -> Int {
            let from = index
            while index < bytes.count, (UInt8(ascii: "0") ... UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
            return index - from
        }
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        guard index < bytes.count else { return nil }
        var integerDigits = 1
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
        } else {
            integerDigits = digits()
            guard integerDigits > 0 else { return nil }
        }
        var hasFraction = false
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard digits() > 0 else { return nil }
            hasFraction = true
        }
        let mantissaEnd = index
        let hasExponent = index < bytes.count && (bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E"))
        if hasExponent {
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard digits() > 0 else { return nil }
        }
        return NumberSpan(end: index, integerDigits: integerDigits, hasFraction: hasFraction, hasExponent: hasExponent, mantissaEnd: mantissaEnd)
    }

    /// Non-zero digits in `bytes[range]`: a number that reads as zero despite them underflowed.
    static func hasNonZeroDigit(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Bool {
        bytes[range].contains { (UInt8(ascii: "1") ... UInt8(ascii: "9")).contains($0) }
    }

    /// Advances `index` over string bytes that need no unescaping: it stops at a quote, a
    /// backslash, a control character or the end. Returns whether every byte passed was ASCII.
    static func skipPlainStringBytes(_ bytes: UnsafeBufferPointer<UInt8>, _ index: inout Int) -> Bool {
        var ascii = true
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte < 0x20 { break }
            if byte >= 0x80 { ascii = false }
            index += 1
        }
        return ascii
    }
}
