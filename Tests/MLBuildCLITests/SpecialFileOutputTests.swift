import Foundation
import MLBuildTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `--events PATH` where PATH is a FIFO or a device (`/dev/null`, `/dev/stdout`) is written in
/// place. It used to be written to PATH.tmp and renamed over PATH: `--events /dev/null`, run as
/// root, replaced the machine's /dev/null by a regular file.
@Suite("writing to a FIFO or device")
struct SpecialFileOutputTests {
    @Test("--events into a FIFO: the reader gets the events, the FIFO stays a FIFO", arguments: [false, true])
    func eventsIntoAFIFO(secondBuildIsNoop: Bool) throws {
        let ws = try Fixtures.diamondWorkspace()
        if secondBuildIsNoop {
            // Settled, so the build below is answered by the no-op fast path (its own EventLog).
            _ = try ws.run([])
            Thread.sleep(forTimeInterval: 0.25)
            _ = try ws.run([])
            #expect(ws.exists(".mlbuild/noop"), "a clean no-op build writes the manifest")
        }
        let fifo = "\(ws.path)/events.fifo"
        try #require(mkfifo(fifo, 0o600) == 0)
        let captured = "\(ws.path)/captured.jsonl"
        let reader = Process()
        reader.executableURL = URL(fileURLWithPath: "/bin/sh")
        reader.arguments = ["-c", "cat \"$0\" > \"$1\"", fifo, captured]
        try reader.run()
        let run = try ws.run(["--events", fifo])
        // A build that renamed a file over the FIFO never opened it: the reader would wait forever.
        let deadline = Date().addingTimeInterval(30)
        while reader.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if reader.isRunning {
            reader.terminate()
            Issue.record("nothing was written to the FIFO")
        }
        reader.waitUntilExit()
        #expect(run.status == 0, "\(run.output)")
        var status = stat()
        #expect(lstat(fifo, &status) == 0 && status.st_mode & S_IFMT == S_IFIFO, "the FIFO was replaced")
        #expect(!FileManager.default.fileExists(atPath: fifo + ".tmp"))
        let text = try String(contentsOfFile: captured, encoding: .utf8)
        #expect(text.contains("\"type\":\"summary\""), "\(text)")
        #expect(text.contains("\"noop_fast_path\":\(secondBuildIsNoop)"), "\(text)")
    }
}
