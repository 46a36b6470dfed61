import Foundation
@testable import MLBuildServe
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `LineWriter`, the thread `serve`'s log lines go through: every line arrives whole, each
/// thread's lines in its order, nothing is lost when the buffer is full, and `flush` waits.
@Suite("log line writer")
struct LineWriterTests {
    @Test("lines from many threads arrive whole and in order, through a buffer smaller than them", arguments: [64, 8 << 20])
    func linesArriveWhole(limit: Int) throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("line-writer-\(UUID().uuidString).log").path
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        try #require(fd >= 0)
        defer { close(fd); unlink(path) }
        let writer = LineWriter(fd: fd, limit: limit)
        let threads = 4, perThread = 500
        DispatchQueue.concurrentPerform(iterations: threads) { t in
            for i in 0 ..< perThread {
                writer.write(Array("{\"thread\":\(t),\"line\":\(i),\"pad\":\"\(String(repeating: "x", count: i % 97))\"}\n".utf8))
            }
        }
        writer.flush()
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        #expect(text.hasSuffix("\n"))
        #expect(lines.count == threads * perThread)
        var next = [Int](repeating: 0, count: threads)
        for line in lines {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "\(line)")
            let t = try #require(object["thread"] as? Int), i = try #require(object["line"] as? Int)
            #expect(i == next[t], "thread \(t): line \(i) after \(next[t] - 1)")
            #expect((object["pad"] as? String)?.count == i % 97)
            next[t] = i + 1
        }
        #expect(next == [Int](repeating: perThread, count: threads))
    }
}
