import Foundation
import MLBuildCore
import MLBuildTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Remote execution on a real BuildGrid 0.9.1 farm (PostgreSQL scheduler) on loopback, with
/// `mlbuild worker` processes as its bots, against the real binary.
@Suite("remote execution on BuildGrid with mlbuild workers", .serialized)
struct REAPIBuildGridTests {
    func farm(keepalive: Int = 6) throws -> BuildGridFarm {
        try BuildGridFarm(bgd: BuildGridFarm.bgd(packageRoot: MLFixtures.repositoryRoot), keepalive: keepalive)
    }

    /// dataset → features → `count` independent gradient-boosting models.
    static func training(models count: Int) -> String {
        var text = MLFixtures.mlfile()
        for index in 1...count {
            text += """

            model m\(index)
                features = features:rows
                algorithm = gradient_boosting
                trees = 30
                learning_rate = 0.\(index)

            """
        }
        return text
    }

    func placements(_ run: BuildRun) -> [String: (String, String?)] {
        var out: [String: (String, String?)] = [:]
        for event in run.events where event["type"] as? String == "target" {
            if let target = event["target"] as? String, let executed = event["executed"] as? String {
                out[target] = (executed, event["worker"] as? String)
            }
        }
        return out
    }

    /// `mlbuild ARGUMENTS` in `ws`, started now and waited for by `finish`.
    final class BackgroundBuild: @unchecked Sendable {
        let process = Process()
        let output: URL
        let events: String

        init(_ ws: MLBuildWorkspace, _ arguments: [String]) throws {
            output = URL(fileURLWithPath: "\(ws.path)/.background-output")
            events = "\(ws.path)/.background-events.jsonl"
            FileManager.default.createFile(atPath: output.path, contents: nil)
            let handle = try FileHandle(forWritingTo: output)
            process.executableURL = URL(fileURLWithPath: MLBuildBinary.path)
            process.arguments = arguments + ["--events", events]
            process.currentDirectoryURL = URL(fileURLWithPath: ws.path)
            var environment = ProcessInfo.processInfo.environment
            environment["CI"] = "true"
            process.environment = environment
            process.standardOutput = handle
            process.standardError = handle
            try process.run()
        }

        func finish() -> (status: Int32, output: String, events: String) {
            process.waitUntilExit()
            return (process.terminationStatus, (try? String(contentsOf: output, encoding: .utf8)) ?? "",
                    (try? String(contentsOfFile: events, encoding: .utf8)) ?? "")
        }
    }

    /// Waits (up to `seconds`) until `condition` holds.
    func waitUntil(_ seconds: Double, _ condition: () -> Bool) -> Bool {
        let start = Date()
        while Date().timeIntervalSince(start) < seconds {
            if condition() { return true }
            usleep(100_000)
        }
        return condition()
    }

    @Test func eightTrainingTargetsAreSpreadOverBothWorkersAndASecondWorkspaceExecutesNothing() throws {
        let farm = try farm()
        try farm.startWorker("w1")
        try farm.startWorker("w2")
        let mlfile = Self.training(models: 8)
        let local = try MLFixtures.workspace(mlfile: mlfile)
        let reference = try local.build(["-j", "2"])
        #expect(reference.result.status == 0, "\(reference.result.output)")

        let ws = try MLFixtures.workspace(mlfile: mlfile)
        let run = try ws.build(["--remote-executor", farm.url, "-j", "2"])
        #expect(run.result.status == 0, "\(run.result.output)\n\(farm.workerLog("w1"))\n\(farm.workerLog("w2"))")
        let placed = placements(run)
        let models = (1...8).map { "model:m\($0)" }
        #expect(models.allSatisfy { placed[$0]?.0 == "remote" }, "\(run.eventsText)")
        #expect(Set(models.compactMap { placed[$0]?.1 }) == ["w1", "w2"], "\(run.eventsText)")
        #expect(run.keys == reference.keys)
        for index in 1...8 {
            let path = "build/model/m\(index)/model.json"
            #expect(try MLFixtures.bytes(ws, path) == MLFixtures.bytes(local, path), "\(path)")
        }

        let second = try MLFixtures.workspace(mlfile: mlfile)
        let again = try second.build(["--remote-executor", farm.url])
        #expect(again.result.status == 0, "\(again.result.output)")
        #expect(again.targets("built").isEmpty, "\(again.result.output)")
        #expect(again.targets("restored").count == reference.statuses.count, "\(again.result.output)")
        #expect(placements(again).isEmpty, "nothing executed: \(again.eventsText)")
    }

    @Test func aWorkerKilledMidActionHasItsActionRunAgainElsewhere() throws {
        let farm = try farm(keepalive: 4)
        try farm.startWorker("doomed")
        let ws = try MLBuildWorkspace(mlfile: """
        task slow
            outputs = out/slow.txt
            run = sleep 3 && echo done > out/slow.txt
        """)
        let build = try BackgroundBuild(ws, ["--remote-executor", farm.url])
        #expect(waitUntil(60) { farm.workerLog("doomed").contains(": running") }, "\(farm.workerLog("doomed"))")
        farm.killWorker("doomed")
        try farm.startWorker("rescuer")
        let (status, output, events) = build.finish()
        #expect(status == 0, "\(output)\n\(farm.workerLog("rescuer"))")
        #expect(try ws.read("out/slow.txt") == "done\n")
        #expect(events.contains("\"executed\":\"remote\",\"worker\":\"rescuer\""), "\(events)")
        #expect(!output.contains("warning"), "\(output)")
    }

    @Test func aServerStoppedMidBuildIsOneWarningAndTheBuildFinishesLocally() throws {
        let farm = try farm()
        try farm.startWorker("w1")
        let ws = try MLBuildWorkspace(mlfile: """
        task a
            outputs = out/a.txt
            run = sleep 6 && echo a > out/a.txt

        task b: task:a
            inputs = out/a.txt
            outputs = out/b.txt
            run = cat out/a.txt out/a.txt > out/b.txt

        task c: task:b
            inputs = out/b.txt
            outputs = out/c.txt
            run = cat out/b.txt out/b.txt > out/c.txt
        """)
        let build = try BackgroundBuild(ws, ["--remote-executor", farm.url, "--remote-timeout", "5"])
        #expect(waitUntil(60) { farm.workerLog("w1").contains(": running") }, "\(farm.workerLog("w1"))")
        farm.stopServer()
        let (status, output, events) = build.finish()
        #expect(status == 0, "\(output)")
        #expect(try ws.read("out/c.txt") == "a\na\na\na\n")
        let warnings = output.components(separatedBy: "\n").filter { $0.contains("warning:") }
        #expect(warnings.count == 1, "\(output)")
        #expect(warnings.first?.contains("warning: remote executor \(farm.url) unavailable (") == true, "\(output)")
        for target in ["task:a", "task:b", "task:c"] {
            #expect(events.contains("\"target\":\"\(target)\"") && !events.contains("\"worker\""), "\(events)")
        }
        #expect(events.components(separatedBy: "\"executed\":\"local\"").count - 1 == 3, "\(events)")
    }

    @Test func aSandboxedWorkerBuildsTheMLTargetsBitIdentical() throws {
        let farm = try farm()
        let runner = BuildboxCasdServer.runner(packageRoot: MLFixtures.repositoryRoot)
        try farm.startWorker("boxed", arguments: ["--sandbox", runner] + BuildboxCasdServer.sandboxMounts().flatMap { ["--sandbox-mount", $0] }
            + ["--property", "gpu=0"])
        let local = try MLFixtures.workspace()
        #expect(try local.build([]).result.status == 0)
        let ws = try MLFixtures.workspace()
        let run = try ws.build(["--remote-executor", farm.url])
        #expect(run.result.status == 0, "\(run.result.output)\n\(farm.workerLog("boxed"))")
        #expect(Set(placements(run).values.map { "\($0.0) \($0.1 ?? "-")" }) == ["remote boxed"], "\(run.eventsText)")
        for path in ["build/model/lr/model.json", "build/model/gbt/model.json", "build/dataset/rows/stats.json"] {
            #expect(try MLFixtures.bytes(ws, path) == MLFixtures.bytes(local, path), "\(path)")
        }
    }

    @Test func ctrlCCancelsTheRemoteOperationAndTheWorkerStopsIt() throws {
        let farm = try farm()
        try farm.startWorker("w1")
        let ws = try MLBuildWorkspace(mlfile: """
        task long
            outputs = out/long.txt
            run = sleep 60 && echo never > out/long.txt
        """)
        let build = try BackgroundBuild(ws, ["--remote-executor", farm.url])
        #expect(waitUntil(60) { farm.workerLog("w1").contains(": running") }, "\(farm.workerLog("w1"))")
        build.process.interrupt()
        let (status, output, _) = build.finish()
        #expect(status == 130, "\(output)")
        #expect(output.contains("build cancelled (SIGINT)"), "\(output)")
        #expect(!ws.exists("out/long.txt"))
        // CancelOperation reached the farm: it cancels the lease, and the worker stops the command.
        #expect(waitUntil(30) { farm.workerLog("w1").contains("cancelled by the server") }, "\(farm.workerLog("w1"))")
    }

    @Test func execPropertiesSendATargetOnlyToAWorkerThatOffersThem() throws {
        let farm = try farm()
        try farm.startWorker("cpu")
        try farm.startWorker("gpu", arguments: ["--property", "gpu=1"])
        var mlfile = ""
        for index in 1...4 {
            mlfile += """
            task g\(index)
                outputs = out/g\(index).txt
                exec_properties = gpu=1
                run = echo \(index) > out/g\(index).txt

            """
        }
        let ws = try MLBuildWorkspace(mlfile: mlfile)
        let run = try ws.build(["--remote-executor", farm.url])
        #expect(run.result.status == 0, "\(run.result.output)")
        let workers = placements(run).values.map { "\($0.0) \($0.1 ?? "-")" }
        #expect(workers == Array(repeating: "remote gpu", count: 4), "\(run.eventsText)")
    }

    @Test func aServerRestartedMidActionIsFollowedByWaitExecution() throws {
        let farm = try farm(keepalive: 30)
        try farm.startWorker("w1")
        let ws = try MLBuildWorkspace(mlfile: """
        task a
            outputs = out/a.txt
            run = sleep 4 && echo a > out/a.txt
        """)
        let build = try BackgroundBuild(ws, ["--remote-executor", farm.url])
        #expect(waitUntil(60) { farm.workerLog("w1").contains(": running") }, "\(farm.workerLog("w1"))")
        try farm.restartServer()
        let (status, output, events) = build.finish()
        #expect(status == 0, "\(output)\n\(farm.serverLog)")
        #expect(try ws.read("out/a.txt") == "a\n")
        // The broken Execute stream was resumed by the operation's name: the action ran once, remotely.
        #expect(events.contains("\"executed\":\"remote\",\"worker\":\"w1\""), "\(events)\n\(output)")
        #expect(!output.contains("warning"), "\(output)")
        #expect(farm.workerLog("w1").components(separatedBy: ": running").count - 1 == 1, "\(farm.workerLog("w1"))")
    }
}
