import Foundation
import MLBuildTestSupport
import Testing

/// A chain of 20,000 tasks declared top first (t0 needs t1, … needs t19999), so that every
/// walk from the first declared target goes 20,000 deep: the recursive cycle search and
/// closure crashed every command with SIGSEGV.
@Suite("a 20,000-task dependency chain")
struct DeepChainTests {
    static let count = 20_000

    /// `cycle`: t19999 needs t19997, closing a cycle at the bottom of the chain.
    static func mlfile(cycle: Bool = false) -> String {
        var text = ""
        text.reserveCapacity(count * 48)
        for i in 0..<(count - 1) { text += "task t\(i): task:t\(i + 1)\n    run = true\n" }
        text += "task t\(count - 1)\(cycle ? ": task:t\(count - 3)" : "")\n    run = exit 3\n"
        return text
    }

    enum Command: String, CaseIterable, Sendable { case dryRun, graph, status, clean, build, cycle }

    @Test(.timeLimit(.minutes(5)), arguments: Command.allCases)
    func everyCommandWalksTheWholeChain(_ command: Command) throws {
        let ws = try MLBuildWorkspace(mlfile: Self.mlfile(cycle: command == .cycle))
        let last = Self.count - 1
        switch command {
        case .dryRun:
            let run = try ws.run(["-n"])
            #expect(run.status == 0, "\(run.stderr.suffix(500))")
            let lines = run.stdout.split(separator: "\n")
            #expect(lines.count == Self.count)
            #expect(lines.first == "build    task:t\(last): no cache entry")
            #expect(lines.last == "build    task:t0: waiting for dependency task:t1")
        case .graph:
            let run = try ws.run(["graph"])
            #expect(run.status == 0, "\(run.stderr.suffix(500))")
            #expect(run.stdout.split(separator: "\n").count == 3 + Self.count + (Self.count - 1) + 1)
            #expect(run.stdout.contains("  \"task:t\(last)\" -> \"task:t\(last - 1)\";\n"))
        case .status:
            let run = try ws.run(["status"])
            #expect(run.status == 0, "\(run.stderr.suffix(500))")
            #expect(run.stdout.hasSuffix("\(Self.count) targets: 0 fresh, 0 restorable, \(Self.count) stale\n"))
        case .clean:
            let run = try ws.run(["clean"])
            #expect(run.status == 0, "\(run.stderr.suffix(500))")
            #expect(run.stdout == "mlbuild: removed 0 outputs of \(Self.count) targets (cache kept)\n")
        case .build:
            // The deepest task fails, so the build walks, schedules and skips all the others
            // without starting 20,000 shells.
            let run = try ws.run(["-j", "2"])
            #expect(run.status == 1)
            #expect(run.stderr.contains("error: task:t\(last): command exited with status 3"))
            #expect(run.stderr.contains("mlbuild: \(Self.count) targets: 0 built, 0 restored, 0 fresh, 1 failed, \(Self.count - 1) skipped"))
        case .cycle:
            let run = try ws.run(["-n"])
            #expect(run.status == 2)
            #expect(run.stderr.hasPrefix(
                "Mlfile:\(2 * Self.count - 1):\(9 + String(last).count): error: dependency cycle: task:t\(last - 2) -> task:t\(last - 1) -> task:t\(last) -> task:t\(last - 2)"))
        }
    }
}
