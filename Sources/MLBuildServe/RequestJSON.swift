import MLBuildDatasets

/// A strict, allocation-light JSON reader for request bodies, tried before Foundation's
/// `JSONDecoder`.
///
/// Why: decoding `JSONValue` through `JSONDecoder` (a `try?` chain per value, a coding path per
/// container) took about 70% of the CPU of a 100-row JSON predict request (bench/serve's
/// profile); this reader does the same body in a small fraction of that.
///
/// It accepts a subset of what `JSONDecoder` accepts and yields the same `JSONValue` for it
/// (numbers go through `Double(_:)`, correctly rounded as Foundation's parser is). Anything it
/// does not take answers nil, and the caller decodes with `JSONDecoder`, whose error then says
/// what is wrong: invalid JSON, but also inputs whose meaning this reader does not want to
/// guess — duplicate keys, numbers outside Double's range (overflow, underflow, a zero with an exponent), lone surrogate escapes, invalid
/// UTF-8, a byte-order mark, nesting deeper than `maxDepth`.
enum RequestJSON {
    static let maxDepth = 64

    static func parse(_ body: [UInt8]) -> JSONValue? {
        body.withUnsafeBufferPointer { buffer in
            var reader = Reader(bytes: buffer)
            guard let value = reader.value(depth: 0) else { return nil }
            reader.skipWhitespace()
            return reader.index == buffer.count ? value : nil
        }
    }

    private struct Reader {
        let bytes: UnsafeBufferPointer<UInt8>
        var index = 0

        init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

        mutating func skipWhitespace() { JSONGrammar.skipWhitespace(bytes, &index) }

        mutating func value(depth: Int) -> JSONValue? {
            skipWhitespace()
            guard index < bytes.count, depth <= RequestJSON.maxDepth else { return nil }
            switch bytes[index] {
            case UInt8(ascii: "{"): return object(depth: depth)
            case UInt8(ascii: "["): return array(depth: depth)
            case UInt8(ascii: "\""): return string().map { .string($0) }
            case UInt8(ascii: "t"): return literal("true") ? .bool(true) : nil
            case UInt8(ascii: "f"): return literal("false") ? .bool(false) : nil
            case UInt8(ascii: "n"): return literal("null") ? .null : nil
            case UInt8(ascii: "-"), UInt8(ascii: "0") ... UInt8(ascii: "9"): return number().map { .number($0) }
            default: return nil
            }
        }

        mutating func literal(_ word: StaticString) -> Bool { JSONGrammar.literal(word, bytes, &index) }

        mutating func object(depth: Int) -> JSONValue? {
            index += 1  // {
            var members: [String: JSONValue] = [:]
            skipWhitespace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
                index += 1
                return .object(members)
            }
            while true {
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: "\""), let key = string() else { return nil }
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { return nil }
                index += 1
                guard let member = value(depth: depth + 1), members.updateValue(member, forKey: key) == nil else { return nil }
                skipWhitespace()
                guard index < bytes.count else { return nil }
                switch bytes[index] {
                case UInt8(ascii: ","): index += 1
                case UInt8(ascii: "}"):
                    index += 1
                    return .object(members)
                default: return nil
                }
            }
        }

        mutating func array(depth: Int) -> JSONValue? {
            index += 1  // [
            var items: [JSONValue] = []
            skipWhitespace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
                index += 1
                return .array(items)
            }
            while true {
                guard let item = value(depth: depth + 1) else { return nil }
                items.append(item)
                skipWhitespace()
                guard index < bytes.count else { return nil }
                switch bytes[index] {
                case UInt8(ascii: ","): index += 1
                case UInt8(ascii: "]"):
                    index += 1
                    return .array(items)
                default: return nil
                }
            }
        }

        /// RFC 8259 number grammar only; the text is then read by `Double(_:)`.
        mutating func number() -> Double? {
            let start = index
            guard let span = JSONGrammar.number(bytes, from: start) else { return nil }
            index = span.end
            let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start ..< index]), as: UTF8.self)
            guard let value = Double(text), value.isFinite else { return nil }
            // A zero written with an exponent, or non-zero digits that underflowed to zero, are
            // left to Foundation, as overflow is (it refuses some of them, e.g. `-0.0e5`).
            if value == 0, span.hasExponent || JSONGrammar.hasNonZeroDigit(bytes, start ..< span.mantissaEnd) {
                return nil
            }
            return value
        }

        /// A string at `index` (which holds its opening quote), escapes undone.
        mutating func string() -> String? {
            index += 1  // "
            let start = index
            // The common case: no escapes, so the bytes are the string.
            _ = JSONGrammar.skipPlainStringBytes(bytes, &index)
            if index < bytes.count, bytes[index] == UInt8(ascii: "\"") {
                let text = UnsafeBufferPointer(rebasing: bytes[start ..< index])
                index += 1
                return String(validating: text, as: UTF8.self)
            }
            if index < bytes.count, bytes[index] < 0x20 { return nil }
            var out = Array(UnsafeBufferPointer(rebasing: bytes[start ..< index]))
            while index < bytes.count {
                let byte = bytes[index]
                switch byte {
                case UInt8(ascii: "\""):
                    index += 1
                    return String(validating: out, as: UTF8.self)
                case UInt8(ascii: "\\"):
                    index += 1
                    guard index < bytes.count else { return nil }
                    let escape = bytes[index]
                    index += 1
                    switch escape {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(escape)
                    case UInt8(ascii: "b"): out.append(0x08)
                    case UInt8(ascii: "f"): out.append(0x0C)
                    case UInt8(ascii: "n"): out.append(0x0A)
                    case UInt8(ascii: "r"): out.append(0x0D)
                    case UInt8(ascii: "t"): out.append(0x09)
                    case UInt8(ascii: "u"):
                        guard var code = hex4() else { return nil }
                        if (0xD800 ... 0xDBFF).contains(code) {
                            // A high surrogate must be followed by an escaped low one.
                            guard bytes.count - index >= 2, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else { return nil }
                            index += 2
                            guard let low = hex4(), (0xDC00 ... 0xDFFF).contains(low) else { return nil }
                            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                        } else if (0xDC00 ... 0xDFFF).contains(code) {
                            return nil
                        }
                        guard let scalar = Unicode.Scalar(code) else { return nil }
                        out.append(contentsOf: UTF8.encode(scalar).map { Array($0) } ?? [])
                    default: return nil
                    }
                default:
                    if byte < 0x20 { return nil }
                    out.append(byte)
                    index += 1
                }
            }
            return nil
        }

        mutating func hex4() -> UInt32? {
            guard bytes.count - index >= 4 else { return nil }
            var code: UInt32 = 0
            for _ in 0 ..< 4 {
                let byte = bytes[index]
                let digit: UInt8
                switch byte {
                case UInt8(ascii: "0") ... UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
                case UInt8(ascii: "a") ... UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A") ... UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
                default: return nil
                }
                code = code << 4 | UInt32(digit)
                index += 1
            }
            return code
        }
    }
}
