import MLBuildDatasets

/// What the endpoint needs to know about a request CSV before scoring it: how many records it
/// holds (for `--max-rows`), which physical line each starts on (row errors are reported by
/// line, clients want the row index), and the same CSV with some records left out (for
/// `?partial=true`).
enum CSVRecords {
    /// The line each record starts on, in record order; nil when the CSV does not scan (the
    /// scorer then says why, with the line).
    static func lines(_ csv: [UInt8]) -> [Int]? {
        var lines: [Int] = []
        do {
            try CSVSource(name: "request body", bytes: csv).scan(header: { _ in }, batch: { batch in
                for r in 0 ..< batch.count { lines.append(batch.line(r)) }
            })
        } catch {
            return nil
        }
        return lines
    }

    /// The CSV without the records whose index is in `dropped`, and the original index of each
    /// record kept. Cells are carried over byte for byte (quoted when they must be, RFC 4180),
    /// so a kept record is mapped and scored exactly as in the original request: rows are
    /// scored independently of each other.
    static func keeping(_ csv: [UInt8], without dropped: Set<Int>) throws -> (csv: [UInt8], rows: [Int]) {
        var out: [UInt8] = []
        var kept: [Int] = []
        var next = 0
        try CSVSource(name: "request body", bytes: csv).scan(header: { names in
            for (i, name) in names.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                append(Array(name.utf8), to: &out)
            }
            out.append(UInt8(ascii: "\n"))
        }, batch: { batch in
            for r in 0 ..< batch.count {
                defer { next += 1 }
                if dropped.contains(next) { continue }
                kept.append(next)
                for f in 0 ..< batch.fieldCount {
                    if f > 0 { out.append(UInt8(ascii: ",")) }
                    append(Array(batch.bytes(r, f)), to: &out)
                }
                out.append(UInt8(ascii: "\n"))
            }
        })
        return (out, kept)
    }

    private static func append(_ field: [UInt8], to out: inout [UInt8]) {
        let special: Set<UInt8> = [UInt8(ascii: ","), UInt8(ascii: "\""), UInt8(ascii: "\n"), UInt8(ascii: "\r")]
        guard field.contains(where: special.contains) else {
            out += field
            return
        }
        out.append(UInt8(ascii: "\""))
        for byte in field {
            if byte == UInt8(ascii: "\"") { out.append(byte) }
            out.append(byte)
        }
        out.append(UInt8(ascii: "\""))
    }
}
