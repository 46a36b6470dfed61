/// The CSV parse behind `CSVSource` (format described there): the header on the calling
/// thread, then the body in chunks cut at line ends (`ChunkedTokenizer`, `CSVTokens`), handed
/// out in file order as `RecordBatch`es of at most `batchSize` records.
///
/// Parallel and serial parses give the same records, lines and errors: a chunk tokenized ahead
/// on a helper is used only when it starts exactly where the previous chunk's records ended (a
/// line end inside a quoted field makes a wrong guess, and that chunk is tokenized again here),
/// and the first error in file order is the one thrown.
struct CSVParser {
    private let buf: UnsafeMutableBufferPointer<UInt8>
    private let name: String
    /// Drops consumed bytes (a mapped file's pages), when the source can.
    private let release: ((Int) -> Void)?
    private let chunkBytes: Int
    static let batchSize = 512
    /// 1 MiB: small enough that a few chunks in flight cost little memory, large enough that
    /// handing them between threads costs nothing measurable.
    static let defaultChunkBytes = 1 << 20

    private static let cr = UInt8(ascii: "\r")
    private static let lf = UInt8(ascii: "\n")

    init(buffer: UnsafeMutableBufferPointer<UInt8>, name: String, release: ((Int) -> Void)? = nil, chunkBytes: Int = defaultChunkBytes) {
        self.buf = buffer
        self.name = name
        self.release = release
        self.chunkBytes = max(1, chunkBytes)
    }

    func run(header: ([String]) throws -> Void, batch: (RecordBatch) throws -> Void) throws {
        guard let base = buf.baseAddress, buf.count > 0 else {
            throw DatasetError.csv(path: name, line: 1, message: "empty file: expected a header row")
        }
        let end = buf.count
        var p = 0
        if end >= 3, base[0] == 0xEF, base[1] == 0xBB, base[2] == 0xBF { p = 3 }

        // The header: the first record, any width.
        var head = CSVTokens.tokenize(base, from: p, limit: end, end: end, fieldCount: nil, maxRecords: 1)
        if let failure = head.failure { throw DatasetError.csv(path: name, line: 1 + failure.line, message: failure.message) }
        guard let headerLine = head.lines.first.map({ 1 + $0 }) else {
            throw DatasetError.csv(path: name, line: 1, message: "empty file: expected a header row")
        }
        head.unescape(base)
        var names: [String] = []
        for (i, s) in head.spans.enumerated() {
            let bytes = UnsafeBufferPointer(start: UnsafePointer(base + s.start), count: s.length)
            // A CR left inside a header field means the lines end with CR alone: the whole
            // file then reads as one huge header.
            if Self.hasBareCR(bytes) { throw Self.crOnly(name, line: headerLine) }
            if let offset = UTF8Check.firstInvalidOffset(bytes) {
                throw DatasetError.csv(
                    path: name, line: headerLine,
                    message: "header field \(i + 1) '\(UTF8Check.shown(bytes))' is not UTF-8 (\(UTF8Check.problem(bytes, at: offset))); re-encode the file as UTF-8")
            }
            names.append(String(decoding: bytes, as: UTF8.self))
        }
        try header(names)
        let fieldCount = head.spans.count
        p = head.end
        var line = 1 + head.lineCount

        // The body, chunk by chunk in file order; helpers tokenize chunks ahead (see
        // `ChunkedTokenizer`), and a chunk whose guessed start was wrong is tokenized again here.
        let chunks = ChunkedTokenizer(base: UnsafePointer(base), from: p, end: end, fieldCount: fieldCount, chunkBytes: chunkBytes)
        chunks.startHelpers()
        defer { chunks.stop() }
        let mark = ConsumedMark()
        let lineBuffer = UnsafeMutablePointer<Int>.allocate(capacity: Self.batchSize)
        defer { lineBuffer.deallocate() }
        var total = 0
        var i = 0
        while i < chunks.count {
            if chunks.bound(i + 1) <= p {
                // Swallowed by a quoted field of the previous chunk.
                chunks.discard(i)
                i += 1
                continue
            }
            var t: CSVTokens
            if let done = chunks.take(i), done.start == p {
                t = done
            } else {
                t = CSVTokens.tokenize(UnsafePointer(base), from: p, limit: chunks.bound(i + 1), end: end, fieldCount: fieldCount)
            }
            // A record running past the chunk's end means the next chunks were guessed wrong
            // and a helper may still be reading those bytes: wait before unescaping in place.
            var j = i + 1
            while j < chunks.count, chunks.bound(j) < t.end {
                chunks.waitUntilIdle(j)
                j += 1
            }
            t.unescape(base)
            var r = 0
            while r < t.recordCount {
                let n = min(Self.batchSize, t.recordCount - r)
                for k in 0 ..< n { lineBuffer[k] = line + t.lines[r + k] }
                try t.spans.withUnsafeBufferPointer { spans in
                    guard let spanBase = spans.baseAddress else { return }
                    var b = RecordBatch(
                        count: n, fieldCount: fieldCount, base: UnsafePointer(base), spans: spanBase + r * fieldCount,
                        lines: UnsafePointer(lineBuffer))
                    // Records so far over bytes so far (within the chunk, in proportion), scaled to
                    // the file: exact for uniform rows.
                    let through = t.start + Int(Double(t.end - t.start) * Double(r + n) / Double(t.recordCount))
                    b.estimatedTotalCount = Int(Double(total + n) * Double(end) / Double(max(through, 1)))
                    // Bytes before this chunk belong to batches already handed out.
                    b.endOffset = r + n == t.recordCount ? t.end : t.start
                    b.consumed = mark
                    total += n
                    try batch(b)
                }
                if let release, mark.offset > 0 { release(mark.offset) }
                r += n
            }
            if let failure = t.failure { throw DatasetError.csv(path: name, line: line + failure.line, message: failure.message) }
            p = t.end
            line += t.lineCount
            i += 1
        }
    }

    /// A CR not followed by LF.
    static func hasBareCR(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        for (j, c) in bytes.enumerated() where c == cr && (j + 1 == bytes.count || bytes[j + 1] != lf) { return true }
        return false
    }

    static let crOnlyMessage = "lines end with CR only (classic Mac line endings); convert the file to LF or CRLF line endings"

    static func crOnly(_ name: String, line: Int) -> DatasetError {
        .csv(path: name, line: line, message: crOnlyMessage)
    }
}
