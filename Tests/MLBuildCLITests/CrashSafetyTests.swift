import Foundation
import MLBuildTestSupport
import MLBuildTraining
import Testing

/// A build killed with SIGKILL at a random point, then a normal build: the outputs must be right,
/// a third build all `fresh`, and `cache verify` clean. bench/crash runs the same loop longer.
@Suite("crash safety: SIGKILL at random points")
struct CrashSafetyTests {
    static let targets = 20

    /// 20 tasks in five chains of four; each writes two files in several steps with sleeps in
    /// between, so that kills land mid-write. Same workspace as bench/crash.
    static var mlfile: String {
        var text = ""
        for i in 0..<targets {
            let chained = i % 4 != 0
            text += "task t\(i)\(chained ? ": task:t\(i - 1)" : "")\n"
            text += "    inputs = src/\(i).txt\n"
            text += "    outputs = out/t\(i)/a.txt, out/t\(i)/b.txt\n"
            text += "    run = mkdir -p out/t\(i) && printf 'head \(i)\\n' > out/t\(i)/a.txt && sleep 0.05 && cat src/\(i).txt >> out/t\(i)/a.txt"
            text += chained ? " && cat out/t\(i - 1)/b.txt >> out/t\(i)/a.txt\n" : "\n"
            text += "          && sleep 0.05 && printf 'tail \(i)\\n' >> out/t\(i)/a.txt && printf 'done \(i)\\n' > out/t\(i)/b.txt\n\n"
        }
        return text
    }

    static func expectedA(_ i: Int) -> String {
        "head \(i)\nsource \(i)\n" + (i % 4 != 0 ? "done \(i - 1)\n" : "") + "tail \(i)\n"
    }

    /// Output files whose bytes are wrong (or missing).
    static func wrongOutputs(_ ws: MLBuildWorkspace) -> [String] {
        var wrong: [String] = []
        for i in 0..<targets {
            if (try? ws.read("out/t\(i)/a.txt")) != expectedA(i) { wrong.append("out/t\(i)/a.txt") }
            if (try? ws.read("out/t\(i)/b.txt")) != "done \(i)\n" { wrong.append("out/t\(i)/b.txt") }
        }
        return wrong
    }

    static func writeSources(_ ws: MLBuildWorkspace, extra: [Int: String] = [:]) throws {
        for i in 0..<targets { try ws.write("src/\(i).txt", "source \(i)\n" + (extra[i] ?? "")) }
    }

    /// Starts a build in its own process group, SIGKILLs the group after `milliseconds`
    /// (mlbuild and the commands it runs, as a cancelled CI job or a power cut would), and
    /// returns whether the build was still running when the kill came.
    static func killedBuild(_ ws: MLBuildWorkspace, afterMilliseconds milliseconds: Int) throws -> Bool {
        // bash, not sh: dash's `kill` does not take `--` before a negative process group id.
        let result = try ProcessRunner.run("/bin/bash", ["-c", """
        setsid "\(MLBuildBinary.path)" -j 4 > killed.log 2>&1 & pid=$!
        sleep \(Double(milliseconds) / 1000)
        if kill -0 $pid 2>/dev/null && kill -KILL -- -$pid; then echo killed; fi
        wait $pid 2>/dev/null
        exit 0
        """], in: ws.path, environment: ["CI": "true", "MLBUILD_CACHE_DIR": ws.cacheDirectory])
        return result.stdout.contains("killed")
    }

    @Test(.timeLimit(.minutes(3)))
    func killedBuildsAreRepairedByTheNextBuild() throws {
        // The tool comes with Debian's base system: missing, the test fails rather than skips.
        try #require(ProcessRunner.which("setsid") != nil && ProcessRunner.which("bash") != nil, "needs setsid (util-linux) and bash")
        let ws = try MLBuildWorkspace(mlfile: Self.mlfile)
        try Self.writeSources(ws)
        let clock = ContinuousClock()
        let start = clock.now
        let cold = try ws.build(["-j", "4"])
        let coldMilliseconds = Int((clock.now - start).components.seconds * 1000
                                   + (clock.now - start).components.attoseconds / 1_000_000_000_000_000)
        #expect(cold.result.status == 0, "\(cold.result.output)")
        #expect(cold.targets("built").count == Self.targets)
        #expect(Self.wrongOutputs(ws) == [])

        var rng = SplitMix64(seed: 20_241_126)
        var killedMidBuild = 0
        var log: [String] = ["cold build \(coldMilliseconds) ms"]
        for run in 1...8 {
            if run % 3 == 0 {
                for path in ["out", "cache", ".mlbuild"] where ws.exists(path) { try ws.directory.remove(path) }
            } else {
                // New sources everywhere: the killed build has a full build's work to do against
                // a cache that holds the previous version (which the next build restores).
                try Self.writeSources(ws, extra: Dictionary(uniqueKeysWithValues: (0..<Self.targets).map { ($0, "# run \(run)\n") }))
            }
            // Up to three quarters of a cold build: later builds start faster than the first.
            let delay = Int(rng.next() % UInt64(max(1, coldMilliseconds * 3 / 4)))
            let killed = try Self.killedBuild(ws, afterMilliseconds: delay)
            if killed { killedMidBuild += 1 }
            log.append("run \(run): kill after \(delay) ms\(killed ? "" : " (already done)")")
            try Self.writeSources(ws)

            let second = try ws.build(["-j", "4"])
            #expect(second.result.status == 0, "run \(run), kill after \(delay) ms: \(second.result.output)")
            #expect(Self.wrongOutputs(ws) == [], "run \(run), kill after \(delay) ms")
            let third = try ws.build(["-j", "4"])
            #expect(third.result.status == 0)
            #expect(third.targets("fresh").count == Self.targets, "run \(run): \(third.statuses)")
            let verify = try ws.run(["cache", "verify"])
            #expect(verify.status == 0, "run \(run): \(verify.output)")
            #expect(verify.stdout.contains(" 0 corrupt, 0 malformed action entries"))
        }
        // Most kills must land while the build runs, or the test proves nothing.
        print("CrashSafetyTests: \(log.joined(separator: "; "))")
        #expect(killedMidBuild >= 4, "\(log)")
    }
}
