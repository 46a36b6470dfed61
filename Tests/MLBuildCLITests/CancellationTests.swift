import Foundation
import MLBuildTestSupport
import Testing

/// SIGINT and SIGTERM stop a build (Ctrl-C, a cancelled CI job): the running command and what
/// it left in the background are stopped by process group, its half-written output is removed
/// and never cached, the targets that finished keep their records (fresh next time), the build
/// exits 130 with one line, and the next build builds what was cut short.
@Suite("cancellation: SIGINT and SIGTERM", .serialized)
struct CancellationTests {
    /// `done` was built by an earlier build; `first` builds in the cancelled one; `slow` (after
    /// `first`) writes half its output, starts a background `sleep` (its pid in
    /// grandchild.pid), and, while `hold` exists, marks `reached` and sleeps; `later` waits for
    /// `slow`. Neither `hold` nor `reached` is an input or output, so keys do not depend on them.
    static let mlfile = """
    task done
        outputs = out/done.txt
        run = echo done > out/done.txt

    task first
        outputs = out/first.txt
        run = echo first > out/first.txt

    task slow: task:first
        outputs = out/slow.txt
        run = echo partial > out/slow.txt && { sleep 300 & echo $$! > grandchild.pid; }
              && if [ -e hold ]; then touch reached; sleep 300; fi && echo rest >> out/slow.txt

    task later: task:slow
        outputs = out/later.txt
        run = cat out/slow.txt > out/later.txt
    """

    /// Starts a build, waits until `slow` is running, sends `signal` to mlbuild only (not to
    /// its children: they must be stopped by mlbuild), and returns its exit status and output.
    static func cancelledBuild(_ ws: MLBuildWorkspace, signal: String) throws -> (status: Int32, output: String) {
        try ws.write("hold", "")
        let result = try ProcessRunner.run("/bin/bash", ["-c", """
        "\(MLBuildBinary.path)" -j 2 --events cancelled.jsonl > cancelled.log 2>&1 & pid=$!
        for i in $(seq 1 6000); do
            [ -e reached ] && break
            kill -0 $pid 2>/dev/null || break
            sleep 0.01
        done
        [ -e reached ] || { echo "never reached"; kill -KILL $pid; }
        kill -\(signal) $pid
        wait $pid
        echo "status $?"
        """], in: ws.path, environment: ["CI": "true", "MLBUILD_CACHE_DIR": ws.cacheDirectory])
        try ws.directory.remove("hold")
        let line = result.stdout.split(separator: "\n").last { $0.hasPrefix("status ") } ?? ""
        return (Int32(line.dropFirst("status ".count)) ?? -1, (try? ws.read("cancelled.log")) ?? "")
    }

    /// Whether process `pid` still runs (a zombie waiting for its parent to reap it does not).
    static func isRunning(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        let state = stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).first
        return state != "Z" && state != "X"
    }

    /// Names of the action-cache entries (their keys).
    static func actionKeys(_ ws: MLBuildWorkspace) -> Set<String> {
        let root = "\(ws.cacheDirectory)/ac"
        var keys: Set<String> = []
        for shard in (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? [] {
            for name in (try? FileManager.default.contentsOfDirectory(atPath: "\(root)/\(shard)")) ?? [] { keys.insert(name) }
        }
        return keys
    }

    func check(signal: String) throws {
        let ws = try MLBuildWorkspace(mlfile: Self.mlfile)
        let before = try ws.build(["task:done"])
        #expect(before.result.status == 0, "\(before.result.output)")

        let started = ContinuousClock.now
        let (status, output) = try Self.cancelledBuild(ws, signal: signal)
        #expect(status == 130, "\(output)")
        #expect(output.contains("mlbuild: build cancelled (SIG\(signal)): 2 targets finished, 1 interrupted, 1 not started"), "\(output)")
        // One signal was enough: no waiting for the 300 s sleeps.
        #expect(ContinuousClock.now - started < .seconds(30))

        let grandchild = try #require(Int32(try ws.read("grandchild.pid").trimmingCharacters(in: .whitespacesAndNewlines)))
        // SIGTERM ends `sleep` at once; allow the 2 s grace before SIGKILL and some slack.
        let deadline = ContinuousClock.now + .seconds(5)
        while Self.isRunning(grandchild), ContinuousClock.now < deadline { usleep(50_000) }
        #expect(!Self.isRunning(grandchild), "the background sleep (pid \(grandchild)) of the cancelled command survived")

        #expect(!ws.exists("out/slow.txt"), "the half-written output of the cancelled target is still there")
        #expect(!ws.exists("out/later.txt"))
        #expect(try ws.read("out/first.txt") == "first\n")
        let events = (try? ws.read("cancelled.jsonl")) ?? ""
        #expect(events.split(separator: "\n").last?.contains("\"cancelled\":true") == true, "\(events)")
        let keysAfterCancel = Self.actionKeys(ws)
        // The run history says how the run ended: 130, as the shell saw it.
        let runs = try ws.run(["runs", "--json"])
        let document = try JSONSerialization.jsonObject(with: Data(runs.stdout.utf8)) as? [String: Any]
        let statuses = (document?["runs"] as? [[String: Any]])?.compactMap { $0["exit_status"] as? Int }
        #expect(statuses?.contains(130) == true, "\(runs.stdout)")

        try ws.write("grandchild.pid", "")
        let next = try ws.build()
        #expect(next.result.status == 0, "\(next.result.output)")
        #expect(next.statuses == ["task:done": "fresh", "task:first": "fresh", "task:slow": "built", "task:later": "built"])
        #expect(try ws.read("out/slow.txt") == "partial\nrest\n")
        let slowKey = try #require(next.keys["task:slow"])
        #expect(!keysAfterCancel.contains(slowKey), "the cancelled target left an action-cache entry")
        if let pid = Int32(try ws.read("grandchild.pid").trimmingCharacters(in: .whitespacesAndNewlines)) { kill(pid, SIGKILL) }
    }

    @Test(.timeLimit(.minutes(2)))
    func sigintStopsTheBuildAndTheNextOneContinues() throws {
        try check(signal: "INT")
    }

    @Test(.timeLimit(.minutes(2)))
    func sigtermStopsTheBuildAndTheNextOneContinues() throws {
        try check(signal: "TERM")
    }
}

/// `exp run` stops on SIGINT as a build does: the running command is stopped by process group,
/// nothing is recorded for a variant that did not finish, one line, exit 130.
@Suite("cancellation: exp run")
struct ExperimentCancellationTests {
    @Test(.timeLimit(.minutes(2)))
    func sigintStopsAnExperimentRun() throws {
        // The shared dataset waits for `slow`, which marks `reached` and sleeps.
        let mlfile = MLFixtures.mlfile().replacingOccurrences(of: "dataset rows\n", with: "dataset rows: task:slow\n") + """

        task slow
            outputs = out/slow.txt
            run = touch reached && sleep 300 && echo done > out/slow.txt
        """
        let ws = try MLFixtures.workspace(mlfile: mlfile)
        let result = try ProcessRunner.run("/bin/bash", ["-c", """
        "\(MLBuildBinary.path)" exp run --set model:lr.l2=0.1,1,10 > exp.log 2>&1 & pid=$!
        for i in $(seq 1 6000); do
            [ -e reached ] && break
            kill -0 $pid 2>/dev/null || break
            sleep 0.01
        done
        [ -e reached ] || { echo "never reached"; kill -KILL $pid; }
        kill -INT $pid
        wait $pid
        echo "status $?"
        """], in: ws.path, environment: ["CI": "true", "MLBUILD_CACHE_DIR": ws.cacheDirectory])
        let output = (try? ws.read("exp.log")) ?? ""
        #expect(result.stdout.contains("status 130"), "\(result.stdout)\n\(output)")
        #expect(output.contains("mlbuild: exp run cancelled (SIGINT): 0 of 3 variants finished"), "\(output)")
        #expect(!ws.exists("out/slow.txt"))
        #expect(!ws.exists("build/exp"), "a cancelled exp run left variant trees behind")
    }
}
