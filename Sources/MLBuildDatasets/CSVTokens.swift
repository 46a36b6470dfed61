/// The records of one stretch of a CSV buffer, as field spans: the unit of the chunked parse
/// (`CSVParser`). Tokenizing never writes to the buffer, so a chunk may be tokenized from a
/// guessed start on another thread and thrown away when the guess was wrong; quoted fields that
/// hold `""` are listed in `escaped` and unescaped in place only once the chunk is confirmed.
struct CSVTokens {
    /// `records × fieldCount` spans, record-major. An `escaped` span still covers the raw
    /// content between the quotes (with its doubled quotes).
    var spans: [FieldSpan] = []
    /// Each record's first line, counted from the chunk's first line (0).
    var lines: [Int] = []
    /// Indices into `spans` of quoted fields holding `""`.
    var escaped: [Int] = []
    var start = 0
    /// Just past the last record (or the blank lines after it): where the next chunk starts.
    var end = 0
    /// Line breaks between `start` and `end`.
    var lineCount = 0
    /// The first structural error: its line (relative, like `lines`) and message.
    var failure: (line: Int, message: String)?

    var recordCount: Int { lines.count }

    private static let comma = UInt8(ascii: ",")
    private static let quote = UInt8(ascii: "\"")
    private static let lf = UInt8(ascii: "\n")
    private static let cr = UInt8(ascii: "\r")

    /// Tokenizes the records that start in `start ..< limit`; the last may run on past `limit`
    /// (up to `end`, the buffer's end). `fieldCount` nil: the header (one record, any width).
    /// Blank lines (LF or CRLF) are skipped. Stops at the first malformed record.
    static func tokenize(
        _ base: UnsafePointer<UInt8>, from start: Int, limit: Int, end: Int, fieldCount: Int?, maxRecords: Int = .max
    ) -> CSVTokens {
        var t = CSVTokens()
        t.start = start
        let width = fieldCount ?? .max
        if let fieldCount, fieldCount > 0 {
            // About one field per 8 bytes (numbers, short codes), rounded to whole records.
            let guess = max(1, (limit - start) / 8 / fieldCount + 1)
            t.spans.reserveCapacity(guess * fieldCount)
            t.lines.reserveCapacity(guess)
        }
        var p = start
        var line = 0
        records: while p < limit, t.lines.count < maxRecords {
            let first = base[p]
            if first == lf {
                p += 1
                line += 1
                continue
            }
            if first == cr, p + 1 < end, base[p + 1] == lf {
                p += 2
                line += 1
                continue
            }
            let recordLine = line
            let recordStart = t.spans.count
            fields: while true {
                if t.spans.count - recordStart == width {
                    t.failure = (recordLine, "expected \(width) fields (as in the header), found more")
                    break records
                }
                if p < end, base[p] == quote {
                    let s = p + 1
                    var r = s
                    var closed = false
                    var doubled = false
                    while r < end {
                        let c = base[r]
                        if c == quote {
                            if r + 1 < end, base[r + 1] == quote {
                                doubled = true
                                r += 2
                                continue
                            }
                            closed = true
                            break
                        }
                        if c == lf { line += 1 }
                        r += 1
                    }
                    if !closed {
                        t.failure = (recordLine, "unterminated quoted field (opened on this line)")
                        break records
                    }
                    if doubled { t.escaped.append(t.spans.count) }
                    t.spans.append(FieldSpan(start: s, length: r - s))
                    p = r + 1
                    if p == end { break fields }
                    let c = base[p]
                    if c == comma {
                        p += 1
                        continue fields
                    }
                    if c == lf {
                        p += 1
                        line += 1
                        break fields
                    }
                    if c == cr, p + 1 < end, base[p + 1] == lf {
                        p += 2
                        line += 1
                        break fields
                    }
                    t.failure = c == cr
                        ? (line, CSVParser.crOnlyMessage)
                        : (line, "unexpected character '\(printable(c))' after a closing quote (field \(t.spans.count - recordStart))")
                    break records
                } else {
                    let s = p
                    while p < end {
                        let c = base[p]
                        if c == comma || c == lf { break }
                        p += 1
                    }
                    var e = p
                    if e > s, base[e - 1] == cr, p == end || base[p] == lf { e -= 1 }
                    t.spans.append(FieldSpan(start: s, length: e - s))
                    if p == end { break fields }
                    if base[p] == comma {
                        p += 1
                        continue fields
                    }
                    p += 1
                    line += 1
                    break fields
                }
            }
            if let fieldCount, t.spans.count - recordStart != fieldCount {
                t.failure = (recordLine, "expected \(fieldCount) fields (as in the header), found \(t.spans.count - recordStart)")
                break records
            }
            t.lines.append(recordLine)
        }
        t.end = p
        t.lineCount = line
        return t
    }

    /// Turns each `escaped` span's `""` into `"` in place (the span shrinks). Only for a chunk
    /// known to start on a record boundary, once no other thread reads its bytes.
    mutating func unescape(_ base: UnsafeMutablePointer<UInt8>) {
        for i in escaped {
            let s = spans[i]
            var r = s.start
            var w = s.start
            let e = s.start + s.length
            while r < e {
                let c = base[r]
                base[w] = c
                w += 1
                r += c == Self.quote ? 2 : 1
            }
            spans[i].length = w - s.start
        }
        escaped = []
    }

    private static func printable(_ c: UInt8) -> String {
        c >= 0x20 && c < 0x7F ? String(UnicodeScalar(c)) : "\\x" + String(c, radix: 16)
    }
}
