import Foundation
import MLBuildTestSupport
import Testing

@Suite("console output")
struct ConsoleOutputTests {
    static let mlfile = """
    task a
        outputs = a.txt
        run = sleep 0.2; echo a > a.txt
    task b: task:a
        outputs = b.txt
        run = cat a.txt > b.txt
    """

    @Test
    func aTerminalGetsALiveProgressLine() throws {
        // The tool comes with Debian's base system: missing, the test fails rather than skips.
        try #require(ProcessRunner.which("script") != nil, "needs script(1) from bsdutils for a pseudo-terminal")
        let ws = try MLBuildWorkspace(mlfile: Self.mlfile)
        let run = try ProcessRunner.run("/usr/bin/script", ["-qc", "\(MLBuildBinary.path) --cache-dir cache", "/dev/null"],
                                        in: ws.path, environment: ["CI": nil, "TERM": "xterm"])
        #expect(run.status == 0, "\(run.output)")
        #expect(run.stdout.contains("\r\u{1B}[K[0/2] running task:a"))
        #expect(run.stdout.contains("mlbuild: 2 targets: 2 built"))
    }

    @Test func ciGetsPlainLinesAndASummary() throws {
        let ws = try MLBuildWorkspace(mlfile: Self.mlfile)
        let run = try ws.run([])
        #expect(run.status == 0)
        #expect(!run.stderr.contains("\u{1B}["))
        let lines = run.stderr.split(separator: "\n").map(String.init)
        #expect(lines.count == 3, "\(lines)")
        #expect(lines.first?.hasPrefix("[1/2] built task:a (") == true)
        #expect(lines.last?.hasPrefix("mlbuild: 2 targets: 2 built, 0 restored, 0 fresh, 0 failed, 0 skipped in ") == true)
    }
}
