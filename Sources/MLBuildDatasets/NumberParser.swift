#if canImport(Glibc)
import Glibc
#endif

/// Parses numbers from raw field bytes without building a String.
///
/// Doubles: the syntax `[+-]digits[.digits][(e|E)[+-]digits]` (also `.5` and `5.`) is checked
/// here; values whose decimal significand fits 19 digits, is at most 2^53, and whose decimal
/// exponent is within ±22 are computed exactly as one multiply or divide by an exact power of
/// ten (Clinger's fast path, correctly rounded); the rest go to strtod on a NUL-terminated
/// copy. Either way the result is the correctly rounded double, so it equals `Double(String)`.
/// `nan`, `inf` and hex floats are rejected: a feature value must be a finite decimal.
enum NumberParser {
    @inline(__always)
    static func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 }

    /// The bytes without leading/trailing spaces and tabs.
    @inline(__always)
    static func trimmed(_ b: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8> {
        guard let base = b.baseAddress else { return b }
        var s = 0
        var e = b.count
        while s < e, isSpace(base[s]) { s += 1 }
        while e > s, isSpace(base[e - 1]) { e -= 1 }
        return UnsafeBufferPointer(start: base + s, count: e - s)
    }

    static func parseInt(_ b: UnsafeBufferPointer<UInt8>) -> Int64? {
        guard let base = b.baseAddress, b.count > 0 else { return nil }
        var i = 0
        var negative = false
        if base[0] == UInt8(ascii: "-") || base[0] == UInt8(ascii: "+") {
            negative = base[0] == UInt8(ascii: "-")
            i = 1
        }
        guard i < b.count else { return nil }
        var value: UInt64 = 0
        while i < b.count {
            let d = base[i] &- 48
            guard d < 10 else { return nil }
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(UInt64(d))
            if o1 || o2 { return nil }
            value = a
            i += 1
        }
        if negative {
            if value > UInt64(Int64.max) + 1 { return nil }
            return value == UInt64(Int64.max) + 1 ? Int64.min : -Int64(value)
        }
        return value > UInt64(Int64.max) ? nil : Int64(value)
    }

    static func parseDouble(_ b: UnsafeBufferPointer<UInt8>) -> Double? {
        guard let base = b.baseAddress, b.count > 0 else { return nil }
        let n = b.count
        var i = 0
        var negative = false
        if base[0] == UInt8(ascii: "-") || base[0] == UInt8(ascii: "+") {
            negative = base[0] == UInt8(ascii: "-")
            i = 1
        }
        // Digits wrap silently past 19; such long significands take the slow path below.
        var mantissa: UInt64 = 0
        let intStart = i
        while i < n {
            let d = base[i] &- 48
            if d >= 10 { break }
            mantissa = mantissa &* 10 &+ UInt64(d)
            i += 1
        }
        let intDigits = i - intStart
        var fracDigits = 0
        if i < n, base[i] == UInt8(ascii: ".") {
            i += 1
            let fracStart = i
            while i < n {
                let d = base[i] &- 48
                if d >= 10 { break }
                mantissa = mantissa &* 10 &+ UInt64(d)
                i += 1
            }
            fracDigits = i - fracStart
        }
        guard intDigits + fracDigits > 0 else { return nil }
        var exp10 = 0
        if i < n, base[i] | 0x20 == UInt8(ascii: "e") {
            i += 1
            var expNegative = false
            if i < n, base[i] == UInt8(ascii: "-") || base[i] == UInt8(ascii: "+") {
                expNegative = base[i] == UInt8(ascii: "-")
                i += 1
            }
            let expStart = i
            var e = 0
            while i < n {
                let d = base[i] &- 48
                if d >= 10 { break }
                if e < 100_000 { e = e &* 10 &+ Int(d) }
                i += 1
            }
            guard i > expStart else { return nil }
            exp10 = expNegative ? -e : e
        }
        guard i == n else { return nil }
        exp10 -= fracDigits
        if intDigits + fracDigits <= 19, mantissa <= 1 << 53, exp10 >= -22, exp10 <= 22 {
            let m = Double(mantissa)
            let v = exp10 >= 0 ? m * pow10(exp10) : m / pow10(-exp10)
            return negative ? -v : v
        }
        let v = slowPath(b)
        return v.isFinite ? v : nil
    }

    /// Exact powers of ten 10^0 ... 10^22 (all representable as doubles).
    @inline(__always)
    private static func pow10(_ k: Int) -> Double {
        switch k {
        case 0: 1e0
        case 1: 1e1
        case 2: 1e2
        case 3: 1e3
        case 4: 1e4
        case 5: 1e5
        case 6: 1e6
        case 7: 1e7
        case 8: 1e8
        case 9: 1e9
        case 10: 1e10
        case 11: 1e11
        case 12: 1e12
        case 13: 1e13
        case 14: 1e14
        case 15: 1e15
        case 16: 1e16
        case 17: 1e17
        case 18: 1e18
        case 19: 1e19
        case 20: 1e20
        case 21: 1e21
        default: 1e22
        }
    }

    /// strtod on a NUL-terminated copy (syntax already checked above).
    private static func slowPath(_ b: UnsafeBufferPointer<UInt8>) -> Double {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: b.count + 1) { tmp in
            for i in 0 ..< b.count { tmp[i] = CChar(bitPattern: b[i]) }
            tmp[b.count] = 0
            guard let p = tmp.baseAddress else { return .nan }
            return strtod(p, nil)
        }
    }
}
