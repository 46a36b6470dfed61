import Foundation
import MLBuildCore
@testable import MLBuildREAPI
import MLBuildTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `--remote-executor grpc://…`: targets run on a Remote Execution API service, here a real
/// buildbox-casd on loopback executing each action with buildbox-run in a bubblewrap sandbox,
/// against the real binary.
@Suite("remote execution over the Remote Execution API (buildbox-casd + buildbox-run)", .serialized)
struct REAPIRemoteExecutionTests {
    /// The ML fixture (dataset → features → two models) and a task reading the dataset's source.
    /// (Its link is inside an output directory: buildbox-run 1.4 cannot capture a link that is
    /// itself an output path.)
    static let mlfile = MLFixtures.mlfile() + """

    task count
        inputs = data/rows.csv
        outputs = out/count.txt, out/tool.sh, out/empty, out/links
        run = mkdir -p out/empty && wc -l < data/rows.csv > out/count.txt && printf '#!/bin/sh\\necho hi\\n' > out/tool.sh && chmod +x out/tool.sh && mkdir -p out/links && ln -s ../count.txt out/links/count && echo "counted on $MLBUILD_TARGET"
    """

    func executor() throws -> BuildboxCasdServer {
        try BuildboxCasdServer(executable: BuildboxCasdServer.executable(packageRoot: MLFixtures.repositoryRoot),
                               runner: BuildboxCasdServer.runner(packageRoot: MLFixtures.repositoryRoot))
    }

    func workspace(_ mlfile: String = Self.mlfile) throws -> MLBuildWorkspace {
        try MLFixtures.workspace(mlfile: mlfile)
    }

    /// `executed` of each target event that has one.
    func placements(_ run: BuildRun) -> [String: String] {
        var out: [String: String] = [:]
        for event in run.events where event["type"] as? String == "target" {
            if let target = event["target"] as? String, let executed = event["executed"] as? String { out[target] = executed }
        }
        return out
    }

    /// Every file below `root` (links as their targets, directories as "dir"), with the executable bit.
    func tree(_ ws: MLBuildWorkspace, _ root: String) throws -> [String: String] {
        var out: [String: String] = [:]
        let base = "\(ws.path)/\(root)"
        for name in try FileManager.default.subpathsOfDirectory(atPath: base).sorted() {
            let path = "\(base)/\(name)"
            if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: path) {
                out[name] = "-> \(target)"
            } else if (try? FileManager.default.contentsOfDirectory(atPath: path)) != nil {
                out[name] = "dir"
            } else {
                let data = try Data(contentsOf: URL(fileURLWithPath: path))
                out[name] = (FileManager.default.isExecutableFile(atPath: path) ? "x " : "") + ContentDigest.of(data).hex
            }
        }
        return out
    }

    @Test func aTaskADatasetFeaturesAndModelsRunRemotelyBitIdenticalToALocalBuild() throws {
        let casd = try executor()
        let local = try workspace()
        let reference = try local.build([])
        #expect(reference.result.status == 0, "\(reference.result.output)")
        #expect(Set(placements(reference).values) == ["local"])

        let remote = try workspace()
        let run = try remote.build(["--remote-executor", casd.url, "-j", "2"])
        #expect(run.result.status == 0, "\(run.result.output)\n\(casd.log)")
        let expected = ["dataset:rows", "features:rows", "model:gbt", "model:lr", "task:count"]
        #expect(run.targets("built") == expected, "\(run.result.output)")
        #expect(placements(run) == Dictionary(uniqueKeysWithValues: expected.map { ($0, "remote") }), "\(run.eventsText)")
        #expect(run.keys == reference.keys)
        // What the action printed is shown as for a local run.
        #expect(run.result.output.contains("counted on task:count"), "\(run.result.output)")
        #expect(run.result.output.contains("built task:count ("), "\(run.result.output)")
        #expect(run.result.output.contains(", remote)"), "\(run.result.output)")
        #expect(try tree(remote, "build") == tree(local, "build"))
        #expect(try tree(remote, "out") == tree(local, "out"))
        #expect(try tree(remote, "out")["tool.sh"]?.hasPrefix("x ") == true && tree(remote, "out")["links/count"] == "-> ../count.txt")
        #expect(try MLFixtures.bytes(remote, "build/model/lr/model.json") == MLFixtures.bytes(local, "build/model/lr/model.json"))

        // A clean workspace: everything from the service's action cache, nothing executed.
        let second = try workspace()
        let restored = try second.build(["--remote-executor", casd.url])
        #expect(restored.result.status == 0, "\(restored.result.output)")
        #expect(restored.targets("restored") == expected, "\(restored.result.output)")
        #expect(placements(restored).isEmpty, "\(restored.eventsText)")
        #expect(try tree(second, "build") == tree(local, "build"))
        // And the farm's cache serves a cache-only client too (the results are filed under mlbuild's keys).
        let third = try workspace()
        let cacheOnly = try third.build(["--remote-cache", casd.url])
        #expect(cacheOnly.targets("restored") == expected, "\(cacheOnly.result.output)")
    }

    @Test func aFailingActionFailsItsTargetWithItsOutput() throws {
        let casd = try executor()
        let mlfile = """
        task fails
            outputs = out/never.txt
            run = echo "about to fail"; exit 3
        """
        let ws = try workspace(mlfile)
        for attempt in 1...2 {
            // The second time too: a failure is never taken from the service's cache.
            let run = try ws.build(["--remote-executor", casd.url])
            #expect(run.result.status == 1, "attempt \(attempt): \(run.result.output)")
            #expect(run.result.output.contains("about to fail"), "\(run.result.output)")
            #expect(run.result.output.contains("error: task:fails: command exited with status 3 on the remote executor"), "\(run.result.output)")
            #expect(placements(run) == ["task:fails": "remote"])
            #expect(!ws.exists("out/never.txt"))
        }
    }

    @Test func anUnreachableExecutorIsOneWarningAndTheBuildGoesOnLocally() throws {
        let port = try MLflowServer.unusedPort()
        let ws = try workspace()
        let run = try ws.build(["--remote-executor", "grpc://127.0.0.1:\(port)", "--remote-timeout", "5"],
                               environment: ["MLBUILD_REMOTE_HEADER": "Authorization: Bearer s3cret-token"])
        #expect(run.result.status == 0, "\(run.result.output)")
        let warnings = run.result.stderr.components(separatedBy: "\n").filter { $0.contains("warning: remote") }
        #expect(warnings.count == 1, "\(run.result.stderr)")
        #expect(warnings.first?.hasPrefix("warning: remote executor grpc://127.0.0.1:\(port) unavailable (") == true, "\(run.result.stderr)")
        #expect(warnings.first?.hasSuffix("; building locally") == true, "\(run.result.stderr)")
        #expect(Set(placements(run).values) == ["local"])
        #expect(!run.result.output.contains("s3cret-token"))

        // --remote-only: the targets fail instead.
        let strict = try workspace()
        let refused = try strict.build(["--remote-executor", "grpc://127.0.0.1:\(port)", "--remote-only", "--remote-timeout", "5", "task:count"])
        #expect(refused.result.status == 1, "\(refused.result.output)")
        #expect(refused.result.output.contains("cannot be used (") && refused.result.output.contains("and --remote-only is set"),
                "\(refused.result.output)")
        #expect(!strict.exists("out/count.txt"))
    }

    @Test func executionLocalStaysHereAndExecutionRemoteNeedsAnExecutor() throws {
        let casd = try executor()
        let mlfile = """
        task here
            outputs = out/here.txt
            execution = local
            run = echo here > out/here.txt

        task there
            outputs = out/there.txt
            execution = remote
            exec_properties = cores=1
            timeout = 60s
            run = echo there > out/there.txt
        """
        let ws = try workspace(mlfile)
        let run = try ws.build(["--remote-executor", casd.url])
        #expect(run.result.status == 0, "\(run.result.output)\n\(casd.log)")
        #expect(placements(run) == ["task:here": "local", "task:there": "remote"])
        // The target built here was written to the farm's cache too (UpdateActionResult).
        let other = try workspace(mlfile)
        let restored = try other.build(["--remote-cache", casd.url])
        #expect(restored.targets("restored") == ["task:here", "task:there"], "\(restored.result.output)")

        let without = try workspace(mlfile)
        let failed = try without.build(["-k"])
        #expect(failed.result.status == 1)
        #expect(failed.statuses == ["task:here": "built", "task:there": "failed"], "\(failed.result.output)")
        #expect(failed.result.output.contains("task:there says 'execution = remote', but no remote executor is configured"), "\(failed.result.output)")
    }

    @Test func placementKeysAreCheckedAndStayOutOfTheKey() throws {
        let bad = """
        task a
            outputs = out/a.txt
            execution = sometimes
            exec_properties = cores
            timeout = soon
            run = true

        container c: task:a
            execution = remote
        """
        let ws = try workspace(bad)
        let run = try ws.run(["status"])
        #expect(run.status != 0)
        #expect(run.stderr.contains("Mlfile:3:17: error: 'execution' must be local, remote or auto, not 'sometimes'"), "\(run.stderr)")
        #expect(run.stderr.contains("Mlfile:4:23: error: an exec_properties item must be NAME=VALUE, not 'cores'"), "\(run.stderr)")
        #expect(run.stderr.contains("Mlfile:5:15: error: 'timeout' must be a positive duration such as 90, 90s, 15m or 2h, not 'soon'"), "\(run.stderr)")
        #expect(run.stderr.contains("container targets always run locally"), "\(run.stderr)")

        let secret = """
        task s
            outputs = out/s.txt
            execution = remote
            run = echo ${secret:TOKEN} > /dev/null && touch out/s.txt
        """
        let secretRun = try workspace(secret).run(["status"])
        #expect(secretRun.stderr.contains("a target that uses ${secret:…} always runs locally"), "\(secretRun.stderr)")

        // Where a target runs is not what it makes: the key does not move.
        let plain = try workspace("task a\n    outputs = out/a.txt\n    run = echo a > out/a.txt\n").build([])
        let placed = try workspace("task a\n    outputs = out/a.txt\n    execution = local\n    exec_properties = gpu=1\n    timeout = 2h\n    run = echo a > out/a.txt\n").build([])
        #expect(plain.keys == placed.keys && plain.keys.count == 1)
    }

    /// The executed action's entry in the service's action cache (not the one filed under
    /// mlbuild's key), poisoned by `edit`: a later Execute of the same action gets it as a
    /// cached answer.
    func poisonExecutedResult(_ casd: BuildboxCasdServer, keys: [String: String], edit: (inout REActionResult) -> Void) throws {
        var mapped: Set<String> = []
        for hex in keys.values {
            let key = try #require(ContentDigest(prefixed: hex) ?? ContentDigest(hex: hex))
            mapped.insert(try REAPIActionMapping.actionBlobs(for: key).action.hash)
        }
        var poisoned = 0
        for entry in casd.actionCacheEntries() {
            let name = entry.deletingLastPathComponent().lastPathComponent + entry.lastPathComponent
            chmod(entry.path, 0o644)
            if mapped.contains(name) {
                // Forget the entry by key, so the build asks the executor again.
                try FileManager.default.removeItem(at: entry)
                continue
            }
            var result = try REActionResult(serializedBytes: Data(contentsOf: entry))
            edit(&result)
            try REAPIActionMapping.serialize(result).write(to: entry)
            poisoned += 1
        }
        #expect(poisoned >= 1)
    }

    @Test(arguments: ["undeclared output", "wrong digest", "missing blob"])
    func aHostileExecutorAnswerNeverReachesTheWorkspace(_ lie: String) throws {
        let casd = try executor()
        let mlfile = """
        task gen
            outputs = out/gen.txt
            run = echo genuine > out/gen.txt
        """
        let first = try workspace(mlfile)
        let built = try first.build(["--remote-executor", casd.url])
        #expect(built.result.status == 0, "\(built.result.output)\n\(casd.log)")
        #expect(placements(built) == ["task:gen": "remote"])
        let genuine = REAPIActionMapping.digest(of: Data("genuine\n".utf8))
        func lieAgain() throws {
            try poisonExecutedResult(casd, keys: built.keys) { result in
                guard var file = result.outputFiles.first else { return }
                switch lie {
                case "undeclared output":
                    file.path = "out/evil.txt"
                    result.outputFiles.append(file)
                case "missing blob":
                    file.digest = REAPIActionMapping.digest(of: Data("a blob nobody uploaded\n".utf8))
                    result.outputFiles = [file]
                default:
                    break
                }
            }
            if lie == "wrong digest" {
                // The store serves other bytes under gen.txt's digest.
                let blob = try #require(casd.casBlobs().first { $0.deletingLastPathComponent().lastPathComponent + $0.lastPathComponent == genuine.hash })
                chmod(blob.path, 0o644)
                try Data("evil!!!\n".utf8).write(to: blob)
            }
        }
        // --remote-only: the lie fails the target.
        try lieAgain()
        let strict = try workspace(mlfile)
        let refused = try strict.build(["--remote-executor", casd.url, "--remote-only"])
        #expect(!strict.exists("out/evil.txt"))
        if lie != "missing blob" {
            #expect(refused.result.status == 1, "\(refused.result.output)")
            #expect(refused.result.output.contains("the remote executor's answer was refused: ") && refused.result.output.contains("(--remote-only is set)"),
                    "\(refused.result.output)")
            #expect(!strict.exists("out/gen.txt"))
        } else {
            // casd checks a cached answer's blobs itself: one it lacks is a miss, and the action
            // runs again, genuinely (mlbuild's own check of a missing blob is the cache tests').
            #expect(refused.result.status == 0, "\(refused.result.output)")
            #expect(placements(refused) == ["task:gen": "remote"], "\(refused.eventsText)")
            #expect(try strict.read("out/gen.txt") == "genuine\n")
        }
        // Otherwise: one warning, and the target is built here.
        try lieAgain()
        let victim = try workspace(mlfile)
        let run = try victim.build(["--remote-executor", casd.url])
        #expect(run.result.status == 0, "\(run.result.output)")
        #expect(try victim.read("out/gen.txt") == "genuine\n")
        #expect(!victim.exists("out/evil.txt"))
        if lie != "missing blob" {
            #expect(run.result.stderr.contains("warning: remote executor \(casd.url): answer for task:gen refused ("), "\(run.result.stderr)")
            #expect(placements(run) == ["task:gen": "local"], "\(run.eventsText)")
        }
        if lie == "undeclared output" {
            #expect(run.result.stderr.contains("'out/evil.txt' is not a declared output"), "\(run.result.stderr)")
        }
        if lie == "wrong digest" {
            #expect(run.result.stderr.contains("(its content has another SHA-256)"), "\(run.result.stderr)")
        }
    }

    @Test func remoteJobsBoundsTheActionsInFlightApartFromJ() throws {
        let casd = try executor()
        // Each task notes when it started and ended (the sandbox's clock is the host's).
        var mlfile = ""
        for index in 1...3 {
            mlfile += """
            task t\(index)
                outputs = out/t\(index).txt
                run = date +%s%N > out/t\(index).txt && sleep 1 && date +%s%N >> out/t\(index).txt

            """
        }
        func intervals(_ ws: MLBuildWorkspace) throws -> [(Int, Int)] {
            try (1...3).map { index in
                let lines = try ws.read("out/t\(index).txt").split(separator: "\n").compactMap { Int($0) }
                return (lines.first ?? 0, lines.last ?? 0)
            }.sorted { $0.0 < $1.0 }
        }
        let one = try workspace(mlfile)
        let serial = try one.build(["--remote-executor", casd.url, "--remote-jobs", "1", "-j", "4"])
        #expect(serial.result.status == 0, "\(serial.result.output)")
        #expect(Set(placements(serial).values) == ["remote"])
        let spans = try intervals(one)
        #expect(zip(spans, spans.dropFirst()).allSatisfy { $0.1 <= $1.0 }, "one at a time: \(spans)")

        // -j 1 does not hold remote actions back: three run at once on the executor.
        let many = try workspace(mlfile.replacingOccurrences(of: "date +%s%N >", with: "echo again > /dev/null && date +%s%N >"))
        let parallel = try many.build(["--remote-executor", casd.url, "-j", "1"])
        #expect(parallel.result.status == 0, "\(parallel.result.output)")
        let overlapping = try intervals(many)
        #expect(overlapping[1].0 < overlapping[0].1 && overlapping[2].0 < overlapping[0].1, "together: \(overlapping)")

        let bad = try one.run(["--remote-executor", casd.url, "--remote-jobs", "0"])
        #expect(bad.status == 2 && bad.stderr.contains("--remote-jobs must be at least 1"), "\(bad.stderr)")
        let without = try one.run(["--remote-only"])
        #expect(without.status == 2 && without.stderr.contains("--remote-only needs a remote executor"), "\(without.stderr)")
    }

    @Test func anActionPastItsTimeoutFailsItsTarget() throws {
        let casd = try executor()
        let ws = try workspace("""
        task slow
            outputs = out/slow.txt
            timeout = 2s
            run = sleep 30 && echo late > out/slow.txt
        """)
        let started = Date()
        let run = try ws.build(["--remote-executor", casd.url])
        #expect(Date().timeIntervalSince(started) < 25, "stopped at its timeout")
        #expect(run.result.status == 1, "\(run.result.output)\n\(casd.log)")
        #expect(placements(run) == ["task:slow": "remote"], "\(run.eventsText)")
        #expect(run.result.output.contains("the remote action timed out") || run.result.output.contains("command exited with status"),
                "\(run.result.output)")
        #expect(!ws.exists("out/slow.txt"))
    }

    @Test func crossValidationFoldsRunRemotelyToo() throws {
        let casd = try executor()
        let mlfile = MLFixtures.mlfile(extraModel: """

        model cvm
            features = features:rows
            algorithm = logistic_regression
            cv = 3
        """)
        let local = try workspace(mlfile)
        #expect(try local.build(["model:cvm"]).result.status == 0)
        let remote = try workspace(mlfile)
        let run = try remote.build(["--remote-executor", casd.url, "model:cvm"])
        #expect(run.result.status == 0, "\(run.result.output)\n\(casd.log)")
        let placed = placements(run)
        #expect(["cv:cvm.fold-1", "cv:cvm.fold-2", "cv:cvm.fold-3", "model:cvm"].allSatisfy { placed[$0] == "remote" }, "\(run.eventsText)")
        for path in ["build/model/cvm/metrics.json", "build/model/cvm/model.json", "build/cv/cvm/fold-2/metrics.json"] {
            #expect(try MLFixtures.bytes(remote, path) == MLFixtures.bytes(local, path), "\(path)")
        }
    }
}
