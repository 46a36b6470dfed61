import Foundation
import MLBuildTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// What a task's process can reach and hold: only descriptors 0–2, and a process it leaves
/// in the background must not keep the build (or a sibling's capture) waiting.
@Suite("task processes")
struct ChildProcessIsolationTests {
    @Test(.timeLimit(.minutes(5)))
    func aBackgroundProcessHoldingStdoutDoesNotHangTheBuild() throws {
        let ws = try MLBuildWorkspace(mlfile: """
        task daemon
            outputs = daemon.pid
            run = sleep 90 & echo $! > daemon.pid; echo started
        task sibling
            outputs = sibling.txt
            run = echo sibling > sibling.txt; echo sibling done
        """)
        let started = ContinuousClock.now
        let run = try ws.build(["-j", "2"])
        let elapsed = ContinuousClock.now - started
        if let pid = pid_t((try? ws.read("daemon.pid"))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") { kill(pid, SIGTERM) }
        #expect(run.result.status == 0, "\(run.result.output)")
        #expect(run.targets("built") == ["task:daemon", "task:sibling"])
        #expect(run.result.stderr.contains("started\n"))
        #expect(run.result.stderr.contains("sibling done\n"))
        // A hang detector (the background sleep holds the task's stdout for 90 s), not a timing test.
        #expect(elapsed < .seconds(60))
    }

    @Test func aTaskSeesOnlyDescriptorsZeroToTwo() throws {
        let ws = try MLBuildWorkspace(mlfile: """
        task fds
            outputs = fds.txt
            run = ls /proc/self/fd > fds.txt
        """)
        // mlbuild itself starts with descriptor 7 open (inherited, not close-on-exec).
        let run = try ProcessRunner.run("/bin/sh", ["-c", "exec 7</dev/null; exec \"$0\" \"$@\"", MLBuildBinary.path, "-j", "1"],
                                        in: ws.path, environment: ["CI": "true", "MLBUILD_CACHE_DIR": ws.cacheDirectory])
        #expect(run.status == 0, "\(run.output)")
        // ls's own directory handle takes the lowest free descriptor, 3.
        #expect(try ws.read("fds.txt") == "0\n1\n2\n3\n")
    }

    @Test func hugeOutputSpillsToALogAndOnlyItsEndsAreKept() throws {
        let ws = try MLBuildWorkspace(mlfile: """
        task big
            outputs = big.txt
            run = yes 'line of output' | head -c 60000007; echo; echo LAST LINE; grep VmHWM /proc/$PPID/status; exit 4
        """)
        let run = try ws.run(["-j", "1"])
        #expect(run.status == 1)
        let log = "\(ws.path)/.mlbuild/logs/task-big.log"
        let size = try #require(try FileManager.default.attributesOfItem(atPath: log)[.size] as? Int)
        let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: log))
        try handle.seek(toOffset: UInt64(max(0, size - 200)))
        let tail = String(decoding: try handle.readToEnd() ?? Data(), as: UTF8.self)
        try handle.close()
        #expect(size > 60_000_000)
        #expect(tail.contains("\nline of\nLAST LINE\nVmHWM:"))
        #expect(try FileSystemListing.names(in: "\(ws.path)/.mlbuild/logs") == ["task-big.log"], "no temp file left")
        // What is shown: the first and last 64 KiB around a line naming the log, and the error says where it is.
        #expect(run.stderr.utf8.count < 200_000)
        #expect(run.stderr.contains("[… \(size - 2 * 65536) bytes of output not shown (\(size) in all); "
            + "the full output is in .mlbuild/logs/task-big.log …]\n"))
        #expect(run.stderr.contains("\nline of\nLAST LINE\nVmHWM:"))
        #expect(run.stderr.contains("error: task:big: command exited with status 4 (its full output is in .mlbuild/logs/task-big.log)"))
        // mlbuild's own peak memory, reported by the task: far below the 60 MB it printed.
        let peak = run.stderr.split(separator: "\n").first { $0.hasPrefix("VmHWM:") }
            .flatMap { Int($0.dropFirst(6).trimmingCharacters(in: .whitespaces).dropLast(3)) }
        #expect(try #require(peak) < 64_000, "peak RSS \(peak ?? 0) kB")

        // A later run that prints little removes the stale log.
        try ws.write("Mlfile", "task big\n    outputs = big.txt\n    run = echo small; exit 4\n")
        let small = try ws.run(["-j", "1"])
        #expect(small.stderr.contains("small\nerror: task:big: command exited with status 4\n"))
        #expect(try FileSystemListing.names(in: "\(ws.path)/.mlbuild/logs") == [])
    }

    @Test func secretsAreMaskedByBytesWhateverTheirLength() throws {
        let ws = try MLBuildWorkspace(mlfile: """
        task leak
            outputs = leak.txt
            run = echo "short=${secret:SHORT} one=${secret:ONE}"; printf 'marked=%s\\314\\201\\n' "${secret:MARKED}"; touch leak.txt
        """)
        let run = try ws.run([], environment: ["SHORT": "Zq", "ONE": "#", "MARKED": "Kw9x"])
        #expect(run.status == 0, "\(run.output)")
        #expect(run.stderr.contains("short=*** one=***\n"))
        #expect(run.stderr.contains("marked=***\u{0301}\n"))
        #expect(!run.output.contains("Zq") && !run.output.contains("Kw9x") && !run.output.contains("#"))
    }
}

enum FileSystemListing {
    static func names(in directory: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
    }
}
