import Foundation
import MLBuildTestSupport
import Testing

/// The chunked CSV parse end to end: a 3.5 MB file whose 1 MiB chunk boundaries fall inside
/// multi-line quoted fields builds the same data.bin and stats.json at `-j 1` (one thread
/// tokenizes), `-j 4` and `-j 8` (helpers tokenize ahead), and a malformed record late in the
/// file fails with the same message and line whatever the thread count.
@Suite("Parallel CSV ingest")
struct ParallelIngestTests {
    static let mlfile = """
        dataset d
            source = d.csv
            schema = id: string id, note: string nullable, n: float, c: category(a, b)

        """

    /// Every third row carries a long quoted note of many lines with escaped quotes, so most
    /// of the file's line feeds are inside quoted fields.
    static func csv(rows: Int) -> String {
        var out = "id,note,n,c\n"
        let paragraph = (0 ..< 40).map { "line \($0) of a \"\"quoted\"\" note, with commas" }.joined(separator: "\n")
        for r in 0 ..< rows {
            let note = r % 3 == 0 ? "\"\(r): \(paragraph)\"" : r % 3 == 1 ? "" : "plain \(r)"
            out += "r\(r),\(note),\(Double(r) / 8),\(r % 2 == 0 ? "a" : "b")\n"
        }
        return out
    }

    func build(_ csv: String, jobs: Int) throws -> (status: Int32, stderr: String, data: Data?, stats: Data?) {
        let ws = try MLBuildWorkspace(mlfile: Self.mlfile)
        try ws.write("d.csv", csv)
        let result = try ws.run(["dataset:d", "-j", String(jobs)])
        let data = try? Data(contentsOf: URL(fileURLWithPath: "\(ws.path)/build/dataset/d/data.bin"))
        let stats = try? Data(contentsOf: URL(fileURLWithPath: "\(ws.path)/build/dataset/d/stats.json"))
        return (result.status, result.stderr, data, stats)
    }

    @Test func theTableIsTheSameOnOneFourAndEightThreads() throws {
        let csv = Self.csv(rows: 6_000)
        #expect(csv.utf8.count > 3_000_000)
        let one = try build(csv, jobs: 1)
        #expect(one.status == 0, "\(one.stderr)")
        #expect((one.data?.count ?? 0) > 1_000_000)
        for jobs in [4, 8] {
            let many = try build(csv, jobs: jobs)
            #expect(many.status == 0, "\(many.stderr)")
            #expect(many.data == one.data, "data.bin at -j \(jobs)")
            #expect(many.stats == one.stats, "stats.json at -j \(jobs)")
        }
    }

    @Test func aLateMalformedRecordFailsTheSameOnEveryThreadCount() throws {
        // The error's line: 6,000 records of 1 line, plus 39 more for each of the 2,000 notes.
        let csv = Self.csv(rows: 6_000) + "bad,\"never closed,1,a\n" + "r9,plain,1,a\nr10,,2,b\n"
        var messages: [String] = []
        for jobs in [1, 4, 8] {
            let run = try build(csv, jobs: jobs)
            #expect(run.status == 1)
            #expect(run.data == nil, "nothing written at -j \(jobs)")
            messages.append(run.stderr.split(separator: "\n").first { $0.contains("d.csv:") }.map(String.init) ?? run.stderr)
        }
        #expect(Set(messages).count == 1, "\(messages)")
        let line = 1 + 6_000 + 2_000 * 39 + 1
        #expect(messages.first?.contains("d.csv:\(line): unterminated quoted field (opened on this line)") == true, "\(messages)")
    }
}
