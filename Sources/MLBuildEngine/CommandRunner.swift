import Foundation
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

/// `ChildProcess` (posix_spawn) on a dedicated waiting thread per child, so that any number of `-j` children wait
/// without occupying Swift's cooperative thread pool (2 threads on a 2-core machine).
public struct ProcessCommandRunner: CommandRunner {
    public init() {}

    public func run(command: String, environment: [String: String], output: OutputSink) async throws -> Int32 {
        try await Blocking.run {
            try Self.spawnAndWait(command: command, environment: environment, output: output)
        }
    }

    static func spawnAndWait(command: String, environment: [String: String], output: OutputSink) throws -> Int32 {
        // Streamed into the sink, which bounds what stays in memory (see OutputSink).
        try ChildProcess.run("/bin/sh", ["-c", command], environment: environment, mergeOutput: true) { _, bytes in
            output.append(bytes)
        }
    }
}

/// Runs blocking work (processes, big file copies, hashing) on a fresh thread and awaits it.
public enum Blocking {
    public static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                do { continuation.resume(returning: try body()) } catch { continuation.resume(throwing: error) }
            }
            thread.stackSize = 1 << 22
            thread.start()
        }
    }
}
