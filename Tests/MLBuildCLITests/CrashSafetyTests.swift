import Foundation
import MLBuildTestSupport
import MLBuildTraining
import Testing

/// A build killed with SIGKILL, then a normal build: the outputs must be right, a third build
/// all `fresh`, and `cache verify` clean. The kill points are chosen by a seeded generator and
/// reached by condition, not by time: a target's command, at a marked point, waits until the
/// kill comes, so every run is killed exactly there whatever the machine's speed (the other
/// targets running beside it, at -j 4, are wherever they are). bench/crash runs a similar
/// workspace with random kill delays, longer.
@Suite("crash safety: SIGKILL at chosen points")
struct CrashSafetyTests {
    static let targets = 20

    /// Where a kill lands in target tI's command: after its first write (a.txt half written),
    /// or after its last (both outputs complete, not yet stored in the cache or the state).
    enum Point: String, CaseIterable {
        case mid, end
    }

    /// A command at point P of target I, when `hold/I.P` exists, creates `reached/I.P` and waits
    /// (at most 60 s, so that a broken test fails instead of hanging) for the kill. Neither
    /// directory is an input or an output, and the command text is the same in every run, so
    /// the keys do not depend on where the kill is.
    static func pause(_ i: Int, _ point: Point) -> String {
        "if [ -e hold/\(i).\(point) ]; then touch reached/\(i).\(point); n=0; "
            + "while [ $$n -lt 6000 ]; do sleep 0.01; n=$$((n + 1)); done; fi"
    }

    /// 20 tasks in five chains of four; each writes two files in several steps, with the two
    /// pause points between them.
    static var mlfile: String {
        var text = ""
        for i in 0..<targets {
            let chained = i % 4 != 0
            text += "task t\(i)\(chained ? ": task:t\(i - 1)" : "")\n"
            text += "    inputs = src/\(i).txt\n"
            text += "    outputs = out/t\(i)/a.txt, out/t\(i)/b.txt\n"
            text += "    run = mkdir -p out/t\(i) && printf 'head \(i)\\n' > out/t\(i)/a.txt && { \(pause(i, .mid)); }"
            text += " && cat src/\(i).txt >> out/t\(i)/a.txt"
            text += chained ? " && cat out/t\(i - 1)/b.txt >> out/t\(i)/a.txt\n" : "\n"
            text += "          && printf 'tail \(i)\\n' >> out/t\(i)/a.txt && printf 'done \(i)\\n' > out/t\(i)/b.txt"
            text += " && { \(pause(i, .end)); }\n\n"
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

    /// Starts a build in its own process group, waits until target `target`'s command reaches
    /// `point`, SIGKILLs the group there (mlbuild and the commands it runs, as a cancelled CI
    /// job or a power cut would), and returns whether it did: false when the build ended first
    /// (or nothing arrived within 60 s).
    static func killedBuild(_ ws: MLBuildWorkspace, target: Int, at point: Point) throws -> Bool {
        for directory in ["hold", "reached"] where ws.exists(directory) { try ws.directory.remove(directory) }
        try ws.write("hold/\(target).\(point)", "")
        try ws.write("reached/.keep", "")
        // bash, not sh: dash's `kill` does not take `--` before a negative process group id.
        let result = try ProcessRunner.run("/bin/bash", ["-c", """
        setsid "\(MLBuildBinary.path)" -j 4 > killed.log 2>&1 & pid=$!
        for i in $(seq 1 6000); do
            [ -e reached/\(target).\(point) ] && break
            kill -0 $pid 2>/dev/null || break
            sleep 0.01
        done
        if [ -e reached/\(target).\(point) ] && kill -KILL -- -$pid 2>/dev/null; then echo killed; fi
        wait $pid 2>/dev/null
        exit 0
        """], in: ws.path, environment: ["CI": "true", "MLBUILD_CACHE_DIR": ws.cacheDirectory])
        try ws.directory.remove("hold")
        try ws.directory.remove("reached")
        return result.stdout.contains("killed")
    }

    @Test(.timeLimit(.minutes(5)))
    func killedBuildsAreRepairedByTheNextBuild() throws {
        // The tool comes with Debian's base system: missing, the test fails rather than skips.
        try #require(ProcessRunner.which("setsid") != nil && ProcessRunner.which("bash") != nil, "needs setsid (util-linux) and bash")
        let ws = try MLBuildWorkspace(mlfile: Self.mlfile)
        try Self.writeSources(ws)
        let cold = try ws.build(["-j", "4"])
        #expect(cold.result.status == 0, "\(cold.result.output)")
        #expect(cold.targets("built").count == Self.targets)
        #expect(Self.wrongOutputs(ws) == [])

        var rng = SplitMix64(seed: 20_241_126)
        var log: [String] = []
        for run in 1...8 {
            if run % 3 == 0 {
                for path in ["out", "cache", ".mlbuild"] where ws.exists(path) { try ws.directory.remove(path) }
            } else {
                // New sources everywhere: the killed build has a full build's work to do against
                // a cache that holds the previous version (which the next build restores).
                try Self.writeSources(ws, extra: Dictionary(uniqueKeysWithValues: (0..<Self.targets).map { ($0, "# run \(run)\n") }))
            }
            // Every target runs in the killed build (new sources, or nothing built at all), so
            // its command reaches the point.
            let target = Int(rng.next() % UInt64(Self.targets))
            let point = Point.allCases[Int(rng.next() % UInt64(Point.allCases.count))]
            let place = "run \(run): killed at t\(target) \(point)"
            log.append(place)
            #expect(try Self.killedBuild(ws, target: target, at: point), "\(place): the build ended before the kill point")
            try Self.writeSources(ws)

            let second = try ws.build(["-j", "4"])
            #expect(second.result.status == 0, "\(place): \(second.result.output)")
            #expect(Self.wrongOutputs(ws) == [], "\(place)")
            let third = try ws.build(["-j", "4"])
            #expect(third.result.status == 0)
            #expect(third.targets("fresh").count == Self.targets, "\(place): \(third.statuses)")
            let verify = try ws.run(["cache", "verify"])
            #expect(verify.status == 0, "\(place): \(verify.output)")
            #expect(verify.stdout.contains(" 0 corrupt, 0 malformed action entries"))
        }
        print("CrashSafetyTests: \(log.joined(separator: "; "))")
    }
}
