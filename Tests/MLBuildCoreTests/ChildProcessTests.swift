import Foundation
import MLBuildCore
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Children get only descriptors 0–2, and a background process a child leaves behind holding
/// its output pipe does not keep `run` waiting.
@Suite("child processes")
struct ChildProcessTests {
    @Test(.timeLimit(.minutes(5)))
    func aBackgroundProcessHoldingThePipeDoesNotKeepRunWaiting() throws {
        let started = ContinuousClock.now
        let result = try ChildProcess.run("/bin/sh", ["-c", "echo before; sleep 90 & echo $!; echo after"],
                                          environment: ["PATH": "/usr/bin:/bin"])
        let lines = String(decoding: result.stdout, as: UTF8.self).split(separator: "\n")
        if lines.count == 3, let pid = pid_t(lines[1]) { kill(pid, SIGTERM) }
        #expect(result.status == 0)
        #expect(lines.count == 3 && lines[0] == "before" && lines[2] == "after")
        // A hang detector, not a timing test: the background sleep holds the pipe for 90 s.
        #expect(ContinuousClock.now - started < .seconds(60))
    }

    @Test func everythingWrittenBeforeExitIsRead() throws {
        // More than a pipe holds, then exit while a background child keeps the pipe open.
        let result = try ChildProcess.run("/bin/sh", ["-c", "sleep 30 & p=$!; head -c 1000000 /dev/zero | tr '\\0' x; echo; echo $p >&2"],
                                          environment: ["PATH": "/usr/bin:/bin"])
        if let pid = pid_t(String(decoding: result.stderr, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) { kill(pid, SIGTERM) }
        #expect(result.stdout.count == 1_000_001)
        #expect(result.stderr.last == 10 && result.stderr.count > 1)
    }

    @Test func aChildSeesOnlyDescriptorsZeroToTwo() throws {
        // A descriptor this process has open without O_CLOEXEC, as one inherited from a parent.
        let leaked = open("/dev/null", O_RDONLY)
        #expect(leaked > 2)
        defer { close(leaked) }
        let result = try ChildProcess.run("/bin/ls", ["/proc/self/fd"], environment: [:])
        // ls's own directory handle is the lowest free descriptor: 3.
        #expect(String(decoding: result.stdout, as: UTF8.self).split(separator: "\n") == ["0", "1", "2", "3"])
    }

    @Test func statusesAndStreamsAreKeptApart() throws {
        let result = try ChildProcess.run("/bin/sh", ["-c", "echo out; echo err >&2; exit 7"], environment: [:])
        #expect(result.status == 7)
        #expect(String(decoding: result.stdout, as: UTF8.self) == "out\n")
        #expect(String(decoding: result.stderr, as: UTF8.self) == "err\n")
        let killed = try ChildProcess.run("/bin/sh", ["-c", "kill -TERM $$"], environment: [:])
        #expect(killed.status == 128 + SIGTERM)
    }
}
