/// Checks raw CSV bytes are UTF-8 before they become `String`s.
///
/// `String(decoding:as:)` replaces every invalid sequence with U+FFFD, so two different byte
/// strings (`caf\xE9` and `caf\xE8`, Latin-1 text) would become the same value after passing a
/// byte-level `unique` check. Text cells are checked instead and an invalid one is an error naming
/// the file, line and column. Valid means well-formed UTF-8 as Unicode defines it: no overlong
/// forms, no surrogates, nothing above U+10FFFF.
enum UTF8Check {
    /// The offset of the first byte of the first invalid sequence, or nil when `bytes` is UTF-8.
    static func firstInvalidOffset(_ bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        guard let p = bytes.baseAddress else { return nil }
        let n = bytes.count
        var i = 0
        while i < n {
            // ASCII fast path, eight bytes at a time.
            while i + 8 <= n, UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self) & 0x8080_8080_8080_8080 == 0 { i += 8 }
            guard i < n else { return nil }
            let b = p[i]
            if b < 0x80 {
                i += 1
                continue
            }
            var lo: UInt8 = 0x80
            var hi: UInt8 = 0xBF
            let length: Int
            switch b {
            case 0xC2 ... 0xDF: length = 2
            case 0xE0: length = 3; lo = 0xA0
            case 0xE1 ... 0xEC, 0xEE ... 0xEF: length = 3
            case 0xED: length = 3; hi = 0x9F
            case 0xF0: length = 4; lo = 0x90
            case 0xF1 ... 0xF3: length = 4
            case 0xF4: length = 4; hi = 0x8F
            default: return i
            }
            guard i + length <= n, p[i + 1] >= lo, p[i + 1] <= hi else { return i }
            for k in 2 ..< length where p[i + k] & 0xC0 != 0x80 { return i }
            i += length
        }
        return nil
    }

    static func isValid(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool { firstInvalidOffset(bytes) == nil }

    /// The bytes as they go into a message: valid UTF-8 as is, each byte of an invalid sequence as
    /// `\xNN`, control characters escaped, and cut after `limit` characters with the total size.
    static func shown(_ bytes: UnsafeBufferPointer<UInt8>, limit: Int = 80) -> String {
        // `limit` characters take at most 4 bytes each: a huge cell is never scanned whole.
        let window = UnsafeBufferPointer(rebasing: bytes[..<min(bytes.count, 4 * limit + 4)])
        var out = ""
        var shownCount = 0
        var i = 0
        while i < window.count, shownCount < limit {
            let rest = UnsafeBufferPointer(rebasing: window[i...])
            let bad = firstInvalidOffset(rest) ?? rest.count
            guard bad > 0 else {
                out += "\\x" + hex(rest[0])
                i += 1
                shownCount += 1
                continue
            }
            for scalar in String(decoding: UnsafeBufferPointer(rebasing: rest[..<bad]), as: UTF8.self).unicodeScalars {
                if shownCount == limit { break }
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    out += "\\x" + hex(UInt8(scalar.value))
                } else {
                    out.unicodeScalars.append(scalar)
                }
                i += UTF8.width(scalar)
                shownCount += 1
            }
        }
        if i < bytes.count { out += "… (\(bytes.count) bytes)" }
        return out
    }

    /// Where `bytes` stops being UTF-8, for messages: `byte 0xE9 at offset 3`.
    static func problem(_ bytes: UnsafeBufferPointer<UInt8>, at offset: Int) -> String {
        "byte 0x\(hex(bytes[offset])) at offset \(offset)"
    }

    private static func hex(_ b: UInt8) -> String {
        let digits = Array("0123456789ABCDEF")
        return String(digits[Int(b >> 4)]) + String(digits[Int(b & 0xF)])
    }
}
