/// The byte-level CSV tokenizer behind `CSVSource` (format described there).
///
/// Field spans go into one preallocated buffer of `batchSize` records; a full buffer is handed
/// out as a `RecordBatch` and reused.
struct CSVParser {
    private let buf: UnsafeMutableBufferPointer<UInt8>
    private let name: String
    /// Drops consumed bytes (a mapped file's pages), when the source can.
    private let release: ((Int) -> Void)?
    static let batchSize = 512

    private static let comma = UInt8(ascii: ",")
    private static let quote = UInt8(ascii: "\"")
    private static let lf = UInt8(ascii: "\n")
    private static let cr = UInt8(ascii: "\r")

    init(buffer: UnsafeMutableBufferPointer<UInt8>, name: String, release: ((Int) -> Void)? = nil) {
        self.buf = buffer
        self.name = name
        self.release = release
    }

    func run(header: ([String]) throws -> Void, batch: (RecordBatch) throws -> Void) throws {
        guard let base = buf.baseAddress, buf.count > 0 else {
            throw DatasetError.csv(path: name, line: 1, message: "empty file: expected a header row")
        }
        let end = buf.count
        var p = 0
        if end >= 3, base[0] == 0xEF, base[1] == 0xBB, base[2] == 0xBF { p = 3 }
        var line = 1

        // The header is parsed with a generous field limit; records after it with exactly its width.
        var capacity = 1024
        var spans = UnsafeMutablePointer<FieldSpan>.allocate(capacity: capacity)
        defer { spans.deallocate() }
        let lines = UnsafeMutablePointer<Int>.allocate(capacity: Self.batchSize)
        defer { lines.deallocate() }
        var fieldCount = -1
        var records = 0
        var used = 0  // spans used in the current batch
        var total = 0  // records handed out in earlier batches
        let mark = ConsumedMark()

        func flush() throws {
            if records > 0 {
                var b = RecordBatch(count: records, fieldCount: fieldCount, base: UnsafePointer(base), spans: spans, lines: lines)
                // Records so far over bytes so far, scaled to the file: exact for uniform rows.
                b.estimatedTotalCount = Int(Double(total + records) * Double(end) / Double(max(p, 1)))
                b.endOffset = p
                b.consumed = mark
                total += records
                try batch(b)
                if let release, mark.offset > 0 { release(mark.offset) }
            }
            records = 0
            used = 0
        }

        while p < end {
            // Blank line (LF or CRLF): skipped.
            let first = base[p]
            if first == Self.lf {
                p += 1
                line += 1
                continue
            }
            if first == Self.cr, p + 1 < end, base[p + 1] == Self.lf {
                p += 2
                line += 1
                continue
            }
            let recordLine = line
            let recordStart = used
            fields: while true {
                if used - recordStart == (fieldCount < 0 ? capacity : fieldCount) {
                    if fieldCount < 0 {
                        let bigger = UnsafeMutablePointer<FieldSpan>.allocate(capacity: capacity * 2)
                        bigger.update(from: spans, count: used)
                        spans.deallocate()
                        spans = bigger
                        capacity *= 2
                    } else {
                        throw DatasetError.csv(path: name, line: recordLine, message: "expected \(fieldCount) fields (as in the header), found more")
                    }
                }
                if p < end, base[p] == Self.quote {
                    var r = p + 1
                    var w = r
                    let start = r
                    var closed = false
                    while r < end {
                        let c = base[r]
                        if c == Self.quote {
                            if r + 1 < end, base[r + 1] == Self.quote {
                                base[w] = Self.quote
                                w += 1
                                r += 2
                                continue
                            }
                            r += 1
                            closed = true
                            break
                        }
                        if c == Self.lf { line += 1 }
                        if w != r { base[w] = c }
                        w += 1
                        r += 1
                    }
                    if !closed {
                        throw DatasetError.csv(path: name, line: recordLine, message: "unterminated quoted field (opened on this line)")
                    }
                    spans[used] = FieldSpan(start: start, length: w - start)
                    used += 1
                    p = r
                    if p == end { break fields }
                    let c = base[p]
                    if c == Self.comma {
                        p += 1
                        continue fields
                    }
                    if c == Self.lf {
                        p += 1
                        line += 1
                        break fields
                    }
                    if c == Self.cr, p + 1 < end, base[p + 1] == Self.lf {
                        p += 2
                        line += 1
                        break fields
                    }
                    if c == Self.cr { throw Self.crOnly(name, line: line) }
                    throw DatasetError.csv(
                        path: name, line: line,
                        message: "unexpected character '\(Self.printable(c))' after a closing quote (field \(used - recordStart))")
                } else {
                    let s = p
                    while p < end {
                        let c = base[p]
                        if c == Self.comma || c == Self.lf { break }
                        p += 1
                    }
                    var e = p
                    if e > s, base[e - 1] == Self.cr, p == end || base[p] == Self.lf { e -= 1 }
                    spans[used] = FieldSpan(start: s, length: e - s)
                    used += 1
                    if p == end { break fields }
                    if base[p] == Self.comma {
                        p += 1
                        continue fields
                    }
                    p += 1
                    line += 1
                    break fields
                }
            }
            let found = used - recordStart
            if fieldCount < 0 {
                fieldCount = found
                var names: [String] = []
                for i in 0 ..< found {
                    let s = spans[i]
                    let bytes = UnsafeBufferPointer(start: UnsafePointer(base + s.start), count: s.length)
                    // A CR left inside a header field means the lines end with CR alone: the whole
                    // file then reads as one huge header.
                    if Self.hasBareCR(bytes) { throw Self.crOnly(name, line: recordLine) }
                    if let offset = UTF8Check.firstInvalidOffset(bytes) {
                        throw DatasetError.csv(
                            path: name, line: recordLine,
                            message: "header field \(i + 1) '\(UTF8Check.shown(bytes))' is not UTF-8 (\(UTF8Check.problem(bytes, at: offset))); re-encode the file as UTF-8")
                    }
                    names.append(String(decoding: bytes, as: UTF8.self))
                }
                try header(names)
                if capacity < Self.batchSize * fieldCount {
                    spans.deallocate()
                    capacity = Self.batchSize * fieldCount
                    spans = UnsafeMutablePointer<FieldSpan>.allocate(capacity: capacity)
                }
                used = 0
                continue
            }
            if found != fieldCount {
                throw DatasetError.csv(
                    path: name, line: recordLine,
                    message: "expected \(fieldCount) fields (as in the header), found \(found)")
            }
            lines[records] = recordLine
            records += 1
            if records == Self.batchSize { try flush() }
        }
        if fieldCount < 0 {
            throw DatasetError.csv(path: name, line: 1, message: "empty file: expected a header row")
        }
        try flush()
    }

    /// A CR not followed by LF.
    static func hasBareCR(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        for (j, c) in bytes.enumerated() where c == cr && (j + 1 == bytes.count || bytes[j + 1] != lf) { return true }
        return false
    }

    static func crOnly(_ name: String, line: Int) -> DatasetError {
        .csv(path: name, line: line, message: "lines end with CR only (classic Mac line endings); convert the file to LF or CRLF line endings")
    }

    private static func printable(_ c: UInt8) -> String {
        c >= 0x20 && c < 0x7F ? String(UnicodeScalar(c)) : "\\x" + String(c, radix: 16)
    }
}
