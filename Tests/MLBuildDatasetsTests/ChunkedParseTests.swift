import Foundation
import MLBuildBasics
import MLBuildTraining
import Testing
@testable import MLBuildDatasets

/// The chunked parse (`CSVParser`, `ChunkedTokenizer`): whatever the chunk size and however
/// many helpers tokenize ahead, the records, their line numbers and the first error are those
/// of the one-thread parse. Tiny chunks put boundaries inside quoted fields, on CRLF pairs,
/// in blank lines and inside escaped quotes.
@Suite struct ChunkedParseTests {
    /// What a scan saw: the header, every record with its line, or the error text.
    struct Outcome: Equatable, CustomStringConvertible {
        var header: [String] = []
        var records: [[String]] = []
        var lines: [Int] = []
        var error: String?
        var description: String { error ?? "\(records.count) records, lines \(lines.prefix(8))…" }
    }

    static func scan(_ bytes: [UInt8], chunkBytes: Int, threads: Int) async -> Outcome {
        let budget = WorkBudget(threads: threads)
        do {
            return try await budget.run {
                var source = CSVSource(name: "t.csv", bytes: bytes)
                source.chunkBytes = chunkBytes
                var out = Outcome()
                do {
                    try source.scan(header: { out.header = $0 }) { b in
                        for r in 0 ..< b.count {
                            out.records.append((0 ..< b.fieldCount).map { b.string(r, $0) })
                            out.lines.append(b.line(r))
                        }
                    }
                } catch {
                    // Records handed out before the error are not part of the outcome: a
                    // failed parse is its error.
                    return Outcome(error: "\(error)")
                }
                return out
            }
        } catch {
            return Outcome(error: "budget: \(error)")
        }
    }

    static let tricky: String = {
        var t = "\u{FEFF}name,note,n\r\n"
        for i in 0 ..< 300 {
            switch i % 6 {
            case 0: t += "a\(i),\"multi\nline \(i)\",\(i)\n"
            case 1: t += "b\(i),\"say \"\"hi\"\", \"\"\"\"\",\(i)\r\n"
            case 2: t += "\n\nc\(i),plain,\(i)\n"
            case 3: t += "d\(i),\"crlf\r\ninside\r\n\",\(i)\n"
            case 4: t += "\"e,\(i)\",\"\",\(i)\n"
            default: t += "f\(i),x\"y,\(i)\r\n\r\n"
            }
        }
        return t + "last,\"no line end\",1"
    }()

    @Test func trickyRecordsAndLinesMatchTheSerialParseForEveryChunkSize() async throws {
        let bytes = Array(Self.tricky.utf8)
        let reference = await Self.scan(bytes, chunkBytes: CSVParser.defaultChunkBytes, threads: 1)
        #expect(reference.error == nil)
        #expect(reference.records.count == 301)
        #expect(reference.records[1] == ["b1", "say \"hi\", \"\"", "1"])
        #expect(reference.records[3] == ["d3", "crlf\r\ninside\r\n", "3"])
        #expect(reference.lines.prefix(4) == [2, 4, 7, 8])
        for chunk in [1, 2, 3, 5, 7, 13, 64, 500] {
            for threads in [1, 4, 8] {
                let outcome = await Self.scan(bytes, chunkBytes: chunk, threads: threads)
                #expect(outcome == reference, "chunk \(chunk) bytes, \(threads) threads")
            }
        }
    }

    @Test func theFirstErrorInFileOrderIsReportedWithItsLine() async throws {
        let body = (0 ..< 200).map { "r\($0),\"q\n\($0)\",\($0)\n" }.joined()
        let cases: [(String, String)] = [
            (body + "bad,\"open\nnever closed\n", "t.csv:402: unterminated quoted field (opened on this line)"),
            (body + "x,y\n" + body + "z\n", "t.csv:402: expected 3 fields (as in the header), found 2"),
            (body + "a,\"b\"c,d\n", "t.csv:402: unexpected character 'c' after a closing quote (field 2)"),
            (body + "a,b,c,d\n", "t.csv:402: expected 3 fields (as in the header), found more"),
            (body + "a,\"b\"\rc\n", "t.csv:402: lines end with CR only (classic Mac line endings); convert the file to LF or CRLF line endings"),
        ]
        for (text, message) in cases {
            let bytes = Array(("h1,h2,h3\n" + text).utf8)
            for chunk in [1, 4, 9, 100, CSVParser.defaultChunkBytes] {
                for threads in [1, 8] {
                    let outcome = await Self.scan(bytes, chunkBytes: chunk, threads: threads)
                    #expect(outcome.error == message, "chunk \(chunk), \(threads) threads")
                }
            }
        }
    }

    /// Seeded random CSV-ish bytes (quotes, commas, CR, LF, blank lines): the chunked,
    /// multi-threaded parse agrees with the serial one on every input, valid or not.
    @Test func randomInputsParseTheSameChunkedAndSerial() async throws {
        var rng = SplitMix64(seed: 14)
        let alphabet: [String] = ["a", "bc", ",", ",", "\"", "\"\"", "\n", "\n", "\r\n", "\r", "é", " "]
        var disagreements = 0
        for _ in 0 ..< 300 {
            var text = "x,y\n"
            let length = Int(rng.next() % 60)
            for _ in 0 ..< length { text += alphabet[Int(rng.next() % UInt64(alphabet.count))] }
            let bytes = Array(text.utf8)
            let serial = await Self.scan(bytes, chunkBytes: CSVParser.defaultChunkBytes, threads: 1)
            for chunk in [1, 3, 8] {
                let chunked = await Self.scan(bytes, chunkBytes: chunk, threads: 8)
                if chunked != serial {
                    disagreements += 1
                    Issue.record("chunk \(chunk): \(chunked) vs serial \(serial) for \(text.debugDescription)")
                }
            }
        }
        #expect(disagreements == 0)
    }

    /// A file large enough for real helpers, scanned from a mapping: the same table on one,
    /// four and eight threads (the helpers get a quarter of the budget).
    @Test func aMappedFileIngestsTheSameWithHelpers() async throws {
        let schema = try Schema(parsing: IngestShareAndReleaseTests.schema)
        let bytes = IngestShareAndReleaseTests.csv(rows: 40_000)
        try await withTempDirectoryAsync { dir in
            let url = dir.appendingPathComponent("t.csv")
            try Data(bytes).write(to: url)
            var tables: [ColumnarTable] = []
            for threads in [1, 4, 8] {
                let budget = WorkBudget(threads: threads)
                tables.append(try await budget.run {
                    var source = CSVSource(url: url, name: "t.csv")
                    source.chunkBytes = 4096
                    return try DatasetIngester.ingest(source, schema: schema).table
                })
            }
            #expect(tables[0].rowCount == 40_000)
            #expect(tables[1] == tables[0])
            #expect(tables[2] == tables[0])
        }
    }

    /// The helpers really tokenize ahead: a slow consumer finds chunks already done, each
    /// starting on the boundary it was cut at; and `stop()` leaves no helper running.
    @Test func helpersTokenizeChunksAheadOfASlowConsumer() async throws {
        let text = "a,b\n" + (0 ..< 2_000).map { "\($0),\"v \($0)\"\n" }.joined()
        let budget = WorkBudget(threads: 8)
        let fromHelpers = try await budget.run {
            var bytes = Array(text.utf8)
            return bytes.withUnsafeMutableBufferPointer { buffer -> Int in
                guard let base = buffer.baseAddress else { return -1 }
                let chunks = ChunkedTokenizer(base: UnsafePointer(base), from: 4, end: buffer.count, fieldCount: 2, chunkBytes: 512)
                chunks.startHelpers()
                defer { chunks.stop() }
                var made = 0
                for i in 0 ..< chunks.count {
                    if i < 4 { usleep(20_000) }
                    if let t = chunks.take(i) {
                        made += 1
                        #expect(t.start == chunks.bound(i))
                        #expect(t.failure == nil)
                    }
                }
                return made
            }
        }
        #expect(fromHelpers > 0)
    }
}
