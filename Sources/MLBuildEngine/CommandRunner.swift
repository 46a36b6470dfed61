import Foundation
import MLBuildBasics
import MLBuildCore
#if canImport(Glibc)
import Glibc
#endif

/// Runs shell commands for rules. A protocol so that the engine can be tested without processes;
/// `ProcessCommandRunner` is the real one.
public protocol CommandRunner: Sendable {
    /// Runs `command` with `/bin/sh -c` in the working directory with exactly `environment`,
    /// appending stdout and stderr to `output`. Returns the exit status (128+N for signal N).
    func run(command: String, environment: [String: String], output: OutputSink) async throws -> Int32
}

/// `ChildProcess` (posix_spawn), waited for on a thread of the build's `WorkBudget` (a child is
/// rule work: under `-j 1` one child at a time, and Swift's cooperative pool never blocks on it).
/// Each child leads its own process group; when the task running it is cancelled (SIGINT or
/// SIGTERM to mlbuild), the whole group gets SIGTERM, then SIGKILL after a grace period.
public struct ProcessCommandRunner: CommandRunner {
    public init() {}

    public func run(command: String, environment: [String: String], output: OutputSink) async throws -> Int32 {
        let child = ProcessGroupHandle()
        return try await withTaskCancellationHandler {
            try await Blocking.run {
                try Self.spawnAndWait(command: command, environment: environment, output: output, child: child)
            }
        } onCancel: {
            child.stop()
        }
    }

    static func spawnAndWait(command: String, environment: [String: String], output: OutputSink,
                             child: ProcessGroupHandle = ProcessGroupHandle()) throws -> Int32 {
        // Streamed into the sink, which bounds what stays in memory (see OutputSink).
        try ChildProcess.run("/bin/sh", ["-c", command], environment: environment, mergeOutput: true, ownProcessGroup: true,
                             onStart: { child.started($0) }) { _, bytes in
            output.append(bytes)
        }
    }
}

/// Runs blocking work (processes, big file copies, hashing) on a thread of the current
/// `WorkBudget` (the build's, see `Builder.build`) and awaits it.
public enum Blocking {
    public static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await WorkBudget.current.run(body)
    }
}
